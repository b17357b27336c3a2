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

Shapes: ``k`` candidates, ``n`` measured rows, ``p`` embedding dimensions.
"""

from __future__ import annotations

import numpy as np

from axfusion.acquisition.hedge import sequential_slots

__all__ = ["coverage_slots"]


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
