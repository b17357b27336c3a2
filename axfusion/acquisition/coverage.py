r"""Coverage slots: exploration that does not follow the model, for a stalled closed pool.

The exploration slots score candidates by ``mean + 2 std`` of the reservoir
(:meth:`~axfusion.acquisition.FusionAcquisition.exploration`). When the measured rows all
lie on one smooth trend, every family fits it well, the out-of-bag error that widens the
std is small and the trend's extrapolation ranks the rest of the pool: a region whose
rows the trend predicts poorly is never measured, however large the pool and however long
the campaign -- and a good region the trend points away from is never found. A Gaussian
process avoids this by reverting to its prior far from the data; the tree, k-NN and linear
members do not.

Coverage slots ignore the model: each takes the candidate farthest from every measured row
and every earlier pick of the batch (a maximin, space-filling design) in Stage 2's
embedding, its distance weighted by the candidate's density ``1 - u_tail``
(:mod:`axfusion.structure.weights`: 1 in the denser half of the pool, falling to 0 in its
sparsest tail), so that the slots visit the unmeasured regions where the pool's rows are,
not its outliers. A campaign that keeps stalling thus measures every populated region in
turn, nearest the most unexplored first. The loop uses them after
``stage3.batch.stall_batches`` batches without improvement when
``stage3.batch.stall_coverage`` is on (docs/method.md).

Lead slots follow such a visit up. A measured row far better than the rest of the data
predicts -- its out-of-bag residual (the members that did not see it predicting it from
the others) :data:`LEAD_Z` or more robust standard deviations above the residuals' median
-- is a *lead*: evidence of a region the model does not know. One row is too little for
the members to lift its neighbourhood above the trend, so the coverage slots would move on
and the lead would stay unexplored; instead, before any coverage slot, the lead's nearest
unmeasured neighbours are measured, until :data:`LEAD_SETTLED` of its
:data:`LEAD_NEIGHBOURS` nearest rows are measured (then the model has the region's
evidence and the lead stops being one, or it was an isolated row). The loop takes them
first among a stalled pool's exploration slots with ``stage3.batch.stall_leads``.

In a prefiltered pool (10^5 rows or more) the working set holds a few per cent of the rows,
so the candidates nearest a lead may lie far from it: the pool source adds the
:data:`LEAD_NEIGHBOURS` nearest available rows of every lead (:func:`lead_rows`) to the working
set (:func:`~axfusion.candidates.prefilter.nearest_rows`).

Shapes: ``k`` candidates, ``n`` measured rows, ``p`` embedding dimensions, ``m`` targets.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from axfusion.acquisition.hedge import sequential_slots

__all__ = [
    "LEAD_NEIGHBOURS", "LEAD_SETTLED", "LEAD_Z", "coverage_slots", "lead_rows", "lead_slots", "robust_z", "surprise",
]

#: A measured row is a lead when its out-of-bag surprise is this many robust standard deviations above the median.
LEAD_Z = 3.0
#: A lead's neighbourhood: its nearest rows of the pool (measured or not).
LEAD_NEIGHBOURS = 10
#: A lead is followed up until this many rows of its neighbourhood are measured.
LEAD_SETTLED = 3


def coverage_slots(
    Z: np.ndarray,
    Z_measured: np.ndarray,
    density: np.ndarray,
    utility: np.ndarray,
    n_slots: int,
) -> list[np.ndarray]:
    r"""Per coverage slot, ``k`` scores (larger is better): the density-weighted distance to
    the measured rows and to the earlier slots' picks.

    Args:
        Z: ``k x p`` candidates (embedding).
        Z_measured: ``n x p`` measured rows in the same embedding (``n`` may be 0).
        density: ``k`` weights in ``[0, 1]`` (``1 - u_tail``).
        utility: ``k`` fused utilities; ``-inf`` marks a candidate no slot may take. Their
            rank breaks ties.
        n_slots: Number of slots ``s``.

    Returns:
        ``s`` arrays of ``k`` scores; ``-inf`` where ``utility`` is ``-inf``.
    """
    from scipy.spatial import cKDTree

    Z = np.asarray(Z, dtype=np.float64)
    Zm = np.asarray(Z_measured, dtype=np.float64).reshape(-1, Z.shape[1])
    utility = np.asarray(utility, dtype=np.float64)
    free = np.isfinite(utility)
    if Zm.shape[0]:
        dist = cKDTree(Zm).query(Z, k=1)[0]
    else:
        dist = np.full(Z.shape[0], np.inf)
    weight = np.clip(np.asarray(density, dtype=np.float64), 0.0, 1.0)
    order = np.argsort(np.argsort(np.where(free, utility, -np.inf), kind="stable"), kind="stable")
    tie = 1e-9 * (1.0 + order / max(len(order), 1))  # the utility's rank, below any real distance
    state = {"dist": dist}

    def score() -> np.ndarray:
        d = state["dist"]
        finite = np.where(np.isfinite(d), d, np.finfo(np.float64).max / 4.0)
        return np.where(free, finite * weight + tie, -np.inf)

    def take(row: int) -> None:
        state["dist"] = np.minimum(state["dist"], np.linalg.norm(Z - Z[row], axis=1))

    return sequential_slots(n_slots, score, take)


def surprise(residuals: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    r"""``n`` oriented out-of-bag surprises: the ``n x m`` residuals (measured minus the
    out-of-bag prediction) with minimised targets' signs flipped, averaged over the maximised
    and minimised targets (``NaN`` where none is known; all ``NaN`` when every target is a
    ``value`` or ``window`` target, whose residual has no better side).

    Args:
        residuals: ``n x m`` out-of-bag residuals (:meth:`~axfusion.models.ReservoirModel.oob_residuals`).
        kinds: ``m`` target kinds (``"maximize"``, ``"minimize"``, ``"value"``, ``"window"``).
    """
    sign = np.array([{"maximize": 1.0, "minimize": -1.0}.get(k, 0.0) for k in kinds])
    R = np.asarray(residuals, dtype=np.float64).reshape(-1, sign.size)
    if not sign.any():
        return np.full(R.shape[0], np.nan)
    oriented = R[:, sign != 0] * sign[sign != 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row in every member's bag: NaN
        return np.nanmean(oriented, axis=1)


def lead_rows(surprise_values: np.ndarray, threshold: float = LEAD_Z) -> np.ndarray:
    r"""Indices of the leads among ``n`` measured rows: robust z-score (:func:`robust_z`) of
    their surprise at least ``threshold``, most surprising first."""
    z = robust_z(surprise_values)
    order = np.argsort(-np.nan_to_num(z, nan=-np.inf), kind="stable")
    return order[z[order] >= threshold]


def robust_z(values: np.ndarray) -> np.ndarray:
    r"""``n`` robust z-scores ``(v - median) / (1.4826 MAD)`` (the standard deviation when the
    MAD is 0); ``NaN`` where ``values`` is not finite, all ``NaN`` when fewer than 5 values are
    finite or they do not vary."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = np.isfinite(v)
    out = np.full(v.shape, np.nan)
    if ok.sum() < 5:
        return out
    med = float(np.median(v[ok]))
    scale = 1.4826 * float(np.median(np.abs(v[ok] - med)))
    if not scale > 0.0:
        scale = float(v[ok].std())
    if not scale > 0.0:
        return out
    out[ok] = (v[ok] - med) / scale
    return out


def lead_slots(
    Z: np.ndarray,
    Z_measured: np.ndarray,
    surprise_values: np.ndarray,
    utility: np.ndarray,
    n_slots: int,
    *,
    threshold: float = LEAD_Z,
    neighbours: int = LEAD_NEIGHBOURS,
    settled: int = LEAD_SETTLED,
) -> list[np.ndarray]:
    r"""Per lead slot, ``k`` scores (larger is better), finite on the unmeasured neighbours
    of the lead it follows up only: ``0`` on the neighbour it is given, minus one minus the
    distance to the lead on the others (taken when a pick before the slot took its own).

    Leads are taken in decreasing surprise: a measured row whose robust z-score of
    ``surprise_values`` (:func:`lead_rows`) is at least ``threshold`` and of whose ``neighbours``
    nearest rows (measured rows and candidates, in the embedding) fewer than ``settled`` are
    measured gets ``settled`` minus that many slots (at most its free neighbours), until
    ``n_slots`` slots are given; each of its slots is given its nearest free neighbour not
    given yet (the batch rule takes every slot's best unchosen candidate).

    Args:
        Z: ``k x p`` candidates (embedding).
        Z_measured: ``n x p`` measured rows in the same embedding.
        surprise_values: ``n`` oriented out-of-bag residuals of the measured rows
            (:func:`surprise`; larger: better than predicted); ``NaN`` where unknown.
        utility: ``k`` fused utilities; ``-inf`` marks a candidate no slot may take.
        n_slots: Most slots to give.
        threshold, neighbours, settled: :data:`LEAD_Z`, :data:`LEAD_NEIGHBOURS`,
            :data:`LEAD_SETTLED`.

    Returns:
        Up to ``n_slots`` arrays of ``k`` scores; empty when no measured row is a lead.
    """
    from scipy.spatial import cKDTree

    Z = np.asarray(Z, dtype=np.float64)
    Zm = np.asarray(Z_measured, dtype=np.float64).reshape(-1, Z.shape[1])
    n, k = Zm.shape[0], Z.shape[0]
    leads = lead_rows(surprise_values, threshold)
    if n_slots <= 0 or n == 0 or k == 0 or leads.size == 0:
        return []
    free = np.isfinite(np.asarray(utility, dtype=np.float64))
    tree = cKDTree(np.vstack([Zm, Z]))  # measured rows first, then the candidates
    taken = np.zeros(k, dtype=bool)
    slots: list[np.ndarray] = []
    for lead in leads:
        if len(slots) >= n_slots:
            break
        dist, near = tree.query(Zm[lead], k=min(neighbours + 1, n + k))
        dist, near = np.atleast_1d(dist), np.atleast_1d(near)
        keep = near != lead
        dist, near = dist[keep][:neighbours], near[keep][:neighbours]
        mine = (near >= n) & free[np.clip(near - n, 0, k - 1)]
        rows, dist = near[mine] - n, dist[mine]
        room = min(settled - int((near < n).sum()), int((~taken[rows]).sum()), n_slots - len(slots))
        base = np.full(k, -np.inf)
        base[rows] = -1.0 - dist
        for row in rows[~taken[rows]][: max(room, 0)]:
            score = base.copy()
            score[row] = 0.0
            taken[row] = True
            slots.append(score)
    return slots
