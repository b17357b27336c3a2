r"""Cluster-aware batch selection (Stage 3, last step; docs/method.md "Batch selection").

Given the final utility ``U`` of every candidate (higher is better, ``-inf`` for rows
that must not be chosen), the candidates' coordinates in a standardised or embedded
space, their cluster labels and the evaluated points in the same space,
:func:`select_batch` picks ``q`` distinct candidates.  It is pure numpy and knows
nothing of the models.  Distances are Euclidean in the given feature space.

Notation: ``C`` the candidates with a finite score, ``E`` the ``n`` evaluated points,
``T`` the top ``max(top_factor * q, min_top)`` candidates of ``C`` by ``U`` (all of
``C`` if it is smaller), "group" a cluster label, the noise label ``-1`` being one more
group.  Ties in ``U`` are broken by a seeded random permutation (never by row order,
which can carry information in sorted data sets).

**Near-duplicates.**  ``scale = sqrt(sum_j Var_j)`` (the root of the total variance of
the stacked rows of ``C`` and ``E``; 1 if that is 0) and ``tol = duplicate_tol * scale``.
A candidate at distance ``<= tol`` from an evaluated point is never eligible; once a
candidate is chosen, every candidate within ``tol`` of it stops being eligible.

**(i) Diversity check** (code), on ``T`` against ``E`` (all three are ``nan`` and the
check is off when ``n = 0``):

- *local density ratio*: with ``r(x)`` the mean distance from ``x`` to its
  ``min(n_neighbors, n)`` nearest evaluated points,
  ``density_ratio = median_{x in C} r(x) / median_{x in T} r(x)``.  Under a k-NN
  density model in the ``p``-dimensional space, ``r`` scales as (density of ``E``
  around ``x``)^(-1/p), so this is the density of evaluated points around the top
  candidates relative to that around a typical candidate, in per-axis units.
  ``> density_ratio_threshold`` (1.5): the leading candidates crowd around what was
  already measured.  (``inf`` when the top median is 0 but the overall one is not; 1
  when both are 0.)
- *2-D PCA grid coverage*: project ``T ∪ E`` on its first two principal axes (centred
  SVD; the second coordinate is 0 when ``p = 1``), lay a ``g × g`` grid over the
  bounding box of the projection, ``g = grid_size`` or ``ceil(sqrt(|T|))`` by default
  (so that ``T`` could fill every cell); ``coverage = (#cells holding a point of T) /
  (#cells holding a point of T ∪ E)``.  ``< coverage_threshold`` (0.2): the leading
  candidates occupy a small corner of the explored plane.
- *histogram KL*: along the first principal axis of the same projection, histograms
  of ``T`` and of ``E`` on ``g`` common bins over the joint range, probabilities
  ``P = (counts / total + eps) / (1 + g * eps)`` with ``eps = 1e-10``;
  ``kl = KL(P_T || P_E) = sum P_T log(P_T / P_E)``.  ``< kl_threshold`` (0.05): the
  leading candidates are distributed like the evaluated set, i.e. they go nowhere new.

Any one of the three triggers diversification.

**(ii) Selection.**  Without diversification the batch is chosen greedily by ``U``,
skipping near-duplicates.  With diversification, inside every group that holds a
candidate of ``T`` (and every group taking part in the bandwidth rule below), the
utility is re-weighted like the code's target-biased bootstrap:
``s_i = max(U_i - median_c U, 0) / IQR_c`` (``IQR_c`` over the group's finite scores;
its std if the IQR is 0; 1 if that is 0 too) and ``base_i = exp(s_i - max_c s)``;
the other candidates get ``base = 0`` (chosen only to fill the batch, by ``U``).
The greedy step then picks the eligible candidate maximising

.. math::

    \mathrm{base}_i \cdot \bigl(f + (1 - f)\min(1, d_i / P_{90}(d))\bigr),

``f = min_distance_factor = 0.05``, ``d_i`` the distance to the nearest evaluated or
already chosen point, ``P_90`` the ``distance_quantile`` (0.9) quantile of ``d`` over
the eligible candidates with ``base > 0``, recomputed at each step (the factor is 1 when
there is no evaluated or chosen point yet).  Ties: larger ``U``, then the seeded order.

**(iii) Cluster bandwidth** (the paper; ``cluster_bandwidth=False`` reproduces the
code, which has no such rule).  Over the eligible candidates (finite, not a duplicate of
an evaluated point) let ``B_c`` be group ``c``'s best ``U``, ``ref`` the median of
``U``, ``leader`` the group of the best candidate and

.. math::

    e_c = \frac{\max(B_c - \mathrm{ref}, 0)}{B_{leader} - \mathrm{ref}}, \quad
    g_c = \frac{\max(\mathrm{imp}_c, 0)}{\max_{c'} \max(\mathrm{imp}_{c'}, 0)}, \quad
    w_c = e_c\,(1 + g_c),

(``e_c = [B_c >= B_leader]`` when ``B_leader = ref``; ``g = 0`` when no group
improved; ``imp_c`` from ``recent_improvement``, 0 when missing).  Group ``c !=
leader`` is *competitive* when ``w_c > 0`` and ``w_c >= competitive_ratio *
w_leader``.  The excess over the median makes the ratio invariant to shifting ``U``
and to scaling it by a positive factor; when most ``U`` are 0 it is the plain ratio of
best scores.
``competitive_ratio = 0.8``: a group whose best candidate stands at least 80 % as far
above the typical candidate as the leader's (or that is close and improving) deserves
a share of the batch; lower values spread the batch over more groups.  Slots: with
``q >= 2`` and at least one competitive group, the leader and the strongest competitive
group get one slot each and the remaining ``q - 2`` go one by one to the participant
(leader or competitive) with the largest Sainte-Laguë quotient ``w_c / (2 a_c + 1)``
(``a_c`` its slots so far; ties to the stronger, then better-scoring, then lower label),
never beyond a group's number of eligible candidates; otherwise the leader gets all
``q``.  The selection of (ii) then picks only from groups below their quota; once no
such group has an eligible candidate left (a group ran out of distinct candidates),
the remaining slots are filled by (ii) without quotas.

**(iv) Extra slots** (axfusion; ``slot_scores``, e.g. the exploration and family slots
of :mod:`axfusion.acquisition.hedge`).  Rules (i)-(iii) choose ``q - s`` designs for
``s`` extra score vectors; then each extra slot in turn takes the eligible, unchosen
candidate of largest slot score (ties by the ``U`` order), dropping its near-duplicates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from axfusion.settings import BatchSettings, resolve

__all__ = [
    "BatchDecision",
    "BatchSelectionError",
    "LevelCap",
    "allocate_bandwidth",
    "cluster_reweight",
    "grid_coverage",
    "histogram_kl",
    "local_density_ratio",
    "pca_plane",
    "select_batch",
]

_DISTANCE_BLOCK = 4_000_000  # entries of one (rows x n) distance block


class BatchSelectionError(ValueError):
    r"""No batch of the asked size exists: too few candidates differ from the measured designs."""


_NOTHING_NEW = (
    "Ask for fewer rows, or add candidates whose features differ from the measured designs (a pool whose "
    "features are all constant, or whose unmeasured rows repeat measured ones, has nothing new to suggest)."
)


@dataclass(frozen=True, eq=False)
class BatchDecision:
    r"""The chosen batch and the diagnostics of the decision.

    Attributes:
        indices: ``(q,)`` int64 positions into the candidate arrays, in pick order.
        diversified: Whether the diversity check triggered diversification.
        checks: The diversity-check values ``density_ratio``, ``grid_coverage``,
            ``histogram_kl`` (``nan`` when there is no evaluated point), their
            thresholds, and ``n_top`` (the size of the compared top set).
        cluster_bandwidth: Slots per group label in the chosen batch (noise is ``-1``).
        leading_cluster: Label of the group holding the best eligible candidate
            (``-1`` when that candidate is a noise point).
        intra_batch_distance: Mean pairwise distance within the batch (0 when ``q = 1``).
        cluster_best: Best ``U`` per group among the eligible candidates.
        competitive_clusters: Groups found competitive with the leader (reported even
            when the bandwidth rule is off).
        quotas: Slots each group was granted by the bandwidth rule (empty when off).
        extra_slots: The last picks that followed ``slot_scores`` (e.g. family slots).
    """

    indices: np.ndarray
    diversified: bool
    checks: dict[str, float]
    cluster_bandwidth: dict[int, int]
    leading_cluster: int | None
    intra_batch_distance: float
    cluster_best: dict[int, float] = field(default_factory=dict)
    competitive_clusters: tuple[int, ...] = ()
    quotas: dict[int, int] = field(default_factory=dict)
    extra_slots: int = 0

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-serialisable view (``json.dumps(..., allow_nan=False)`` accepts it).

        Non-finite floats become ``None``; dictionary keys (group labels) become strings.
        """
        return {
            "indices": [int(i) for i in self.indices],
            "diversified": bool(self.diversified),
            "checks": {str(k): _json_float(v) for k, v in self.checks.items()},
            "cluster_bandwidth": {str(k): int(v) for k, v in self.cluster_bandwidth.items()},
            "leading_cluster": None if self.leading_cluster is None else int(self.leading_cluster),
            "intra_batch_distance": _json_float(self.intra_batch_distance),
            "cluster_best": {str(k): _json_float(v) for k, v in self.cluster_best.items()},
            "competitive_clusters": [int(c) for c in self.competitive_clusters],
            "quotas": {str(k): int(v) for k, v in self.quotas.items()},
            "extra_slots": int(self.extra_slots),
        }


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- geometry


def _knn_distances(points: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    r"""Sorted distances from each of ``(m, p)`` points to its ``k`` nearest of ``(n, p)``.

    Exact Euclidean distances (``cdist``), computed in row blocks so that memory stays
    bounded.  Returns an ``(m, k)`` array, nearest first.
    """
    m, n = points.shape[0], reference.shape[0]
    out = np.empty((m, k))
    step = max(1, _DISTANCE_BLOCK // max(n, 1))
    for start in range(0, m, step):
        block = cdist(points[start : start + step], reference)
        if k < n:
            block = np.partition(block, k - 1, axis=1)[:, :k]
        out[start : start + step] = np.sort(block, axis=1)[:, :k]
    return out


def pca_plane(points: np.ndarray) -> np.ndarray:
    r"""Coordinates of ``(m, p)`` points on their first two principal axes.

    Centred SVD; the second coordinate is 0 when ``p = 1`` or the points span a line.

    Returns:
        ``(m, 2)`` projected coordinates.
    """
    points = np.asarray(points, dtype=np.float64)
    centred = points - points.mean(axis=0)
    out = np.zeros((points.shape[0], 2))
    if points.shape[0] < 2 or not np.any(centred):
        return out
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    n_axes = min(2, vt.shape[0])
    out[:, :n_axes] = centred @ vt[:n_axes].T
    return out


def local_density_ratio(
    reference_r: np.ndarray,
    top_r: np.ndarray,
) -> float:
    r"""``median(reference_r) / median(top_r)`` of k-NN distances to the evaluated set.

    Args:
        reference_r: ``(m,)`` mean k-NN distances to the evaluated points of all
            candidates.
        top_r: ``(t,)`` the same for the top candidates.

    Returns:
        The ratio; ``inf`` when only the top median is 0, 1 when both are 0.
    """
    num = float(np.median(reference_r))
    den = float(np.median(top_r))
    if den > 0:
        return num / den
    return math.inf if num > 0 else 1.0


def grid_coverage(plane_top: np.ndarray, plane_evaluated: np.ndarray, grid_size: int) -> float:
    r"""Share of the occupied grid cells of ``top ∪ evaluated`` that the top set occupies.

    Args:
        plane_top: ``(t, 2)`` top candidates on the 2-D PCA plane.
        plane_evaluated: ``(n, 2)`` evaluated points on the same plane.
        grid_size: Cells per axis ``g``; the grid spans the bounding box of both sets.

    Returns:
        ``#cells(top) / #cells(top ∪ evaluated)`` in ``(0, 1]``.
    """
    if grid_size < 1:
        raise ValueError(f"grid_size must be >= 1, got {grid_size}")
    both = np.vstack([plane_top, plane_evaluated])
    lo, hi = both.min(axis=0), both.max(axis=0)
    width = np.where(hi > lo, hi - lo, 1.0)
    cells = np.clip(np.floor((both - lo) / width * grid_size), 0, grid_size - 1).astype(np.int64)
    flat = cells[:, 0] * grid_size + cells[:, 1]
    t = plane_top.shape[0]
    return float(np.unique(flat[:t]).size / np.unique(flat).size)


def histogram_kl(
    axis_top: np.ndarray,
    axis_evaluated: np.ndarray,
    n_bins: int,
    *,
    epsilon: float = 1e-10,
) -> float:
    r"""``KL(P_top || P_evaluated)`` of histograms on common bins over the joint range.

    Args:
        axis_top: ``(t,)`` coordinates of the top candidates on the first principal axis.
        axis_evaluated: ``(n,)`` coordinates of the evaluated points, ``n >= 1``.
        n_bins: Number of equal-width bins.
        epsilon: Added to every bin probability before renormalising (empty bins).

    Returns:
        The Kullback-Leibler divergence in nats (0 for identical histograms).
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    both = np.concatenate([axis_top, axis_evaluated])
    lo, hi = float(both.min()), float(both.max())
    if not hi > lo:
        return 0.0
    edges = np.linspace(lo, hi, n_bins + 1)
    p = np.histogram(axis_top, bins=edges)[0] / axis_top.size
    r = np.histogram(axis_evaluated, bins=edges)[0] / axis_evaluated.size
    p = (p + epsilon) / (1.0 + n_bins * epsilon)
    r = (r + epsilon) / (1.0 + n_bins * epsilon)
    return float(max(0.0, np.sum(p * np.log(p / r))))


# ------------------------------------------------------------------ re-weighting, slots


def cluster_reweight(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    r"""The code's within-cluster re-weighting ``exp(s - max_c s)`` of the utility.

    ``s_i = max(U_i - median_c U, 0) / IQR_c`` over the finite scores of group ``c``
    (``IQR_c`` falls back to the std, then 1, when 0).

    Args:
        scores: ``(k,)`` utilities; non-finite rows get weight 0.
        labels: ``(k,)`` group labels.
        groups: Labels to re-weight; rows of other groups get weight 0.

    Returns:
        ``(k,)`` weights in ``[0, 1]``; every listed group's best row gets 1.
    """
    base = np.zeros(scores.shape[0])
    finite = np.isfinite(scores)
    for c in np.unique(groups):
        idx = np.flatnonzero((labels == c) & finite)
        if idx.size == 0:
            continue
        u = scores[idx]
        scale = float(np.subtract(*np.percentile(u, [75, 25])))
        if not scale > 0:
            scale = float(u.std())
        if not scale > 0:
            scale = 1.0
        s = np.maximum(u - np.median(u), 0.0) / scale
        base[idx] = np.exp(s - s.max())
    return base


def allocate_bandwidth(
    cluster_best: Mapping[int, float],
    capacity: Mapping[int, int],
    q: int,
    *,
    leader: int,
    reference: float,
    recent_improvement: Mapping[int, float] | None = None,
    competitive_ratio: float = 0.8,
) -> tuple[dict[int, int], tuple[int, ...], dict[int, float]]:
    r"""The paper's cluster bandwidth: slots per group (see the module docstring, (iii)).

    Args:
        cluster_best: Best utility ``B_c`` per group.
        capacity: Eligible candidates per group (a group never gets more slots).
        q: Batch size.
        leader: The group of the best candidate.
        reference: The typical utility ``ref`` (median over the eligible candidates).
        recent_improvement: Recent improvement of each group's best value (missing: 0).
        competitive_ratio: A group is competitive when its weight reaches this share
            of the leader's.

    Returns:
        ``(quotas, competitive, weights)``: slots per participating group (summing to
        at most ``q``), the competitive groups (strongest first), and the weight ``w_c``
        of every group.
    """
    if leader not in cluster_best:
        raise ValueError(f"leader {leader} has no best score")
    groups = sorted(cluster_best)
    lead_excess = cluster_best[leader] - reference
    excess: dict[int, float] = {}
    for c in groups:
        if lead_excess > 0:
            excess[c] = max(cluster_best[c] - reference, 0.0) / lead_excess
        else:
            excess[c] = 1.0 if cluster_best[c] >= cluster_best[leader] else 0.0
    improvement = {c: 0.0 for c in groups}
    if recent_improvement is not None:
        for c, value in recent_improvement.items():
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"recent_improvement[{c}] must be finite, got {value}")
            if int(c) in improvement:
                improvement[int(c)] = max(value, 0.0)
    top_improvement = max(improvement.values())
    weights = {
        c: excess[c] * (1.0 + (improvement[c] / top_improvement if top_improvement > 0 else 0.0))
        for c in groups
    }
    competitive = [
        c
        for c in groups
        if c != leader and weights[c] > 0 and weights[c] >= competitive_ratio * weights[leader]
    ]
    competitive.sort(key=lambda c: (-weights[c], -cluster_best[c], c))
    quotas = {leader: min(q, capacity.get(leader, 0))}
    if q < 2 or not competitive:
        return quotas, tuple(competitive), weights
    participants = [leader, *competitive]
    quotas = {c: 0 for c in participants}
    quotas[leader] = min(1, capacity.get(leader, 0))
    quotas[competitive[0]] = min(1, capacity.get(competitive[0], 0))
    ranked = sorted(participants, key=lambda c: (-weights[c], -cluster_best[c], c))
    order = {c: i for i, c in enumerate(ranked)}
    for _ in range(q - sum(quotas.values())):
        open_groups = [c for c in participants if quotas[c] < capacity.get(c, 0)]
        if not open_groups:
            break
        best = max(open_groups, key=lambda c: (weights[c] / (2 * quotas[c] + 1), -order[c]))
        quotas[best] += 1
    return {c: a for c, a in quotas.items() if a > 0}, tuple(competitive), weights


# ------------------------------------------------------------------------- selection


def _check_inputs(
    scores: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    evaluated: np.ndarray,
    q: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Validate and convert: ``(k,)`` float scores, ``(k, p)`` features, ``(k,)`` int64
    labels and ``(n, p)`` evaluated points (an empty input becomes ``(0, p)``)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or features.shape[0] != scores.size:
        raise ValueError(
            f"features must be a ({scores.size}, p) array matching scores, "
            f"got shape {features.shape}"
        )
    p = features.shape[1]
    labels_arr = np.asarray(labels).reshape(-1)
    if labels_arr.size != scores.size:
        raise ValueError(f"labels has {labels_arr.size} entries but scores has {scores.size}")
    if labels_arr.dtype.kind == "f":
        if not np.all(np.isfinite(labels_arr)) or np.any(labels_arr != np.round(labels_arr)):
            raise ValueError("labels must be integers")
    elif labels_arr.dtype.kind not in "iub":
        raise TypeError(f"labels must be integers, got dtype {labels_arr.dtype}")
    labels_arr = labels_arr.astype(np.int64)
    evaluated = np.asarray(evaluated, dtype=np.float64)
    if evaluated.size == 0:
        evaluated = evaluated.reshape(0, p)
    if evaluated.ndim == 1 and p == 1:
        evaluated = evaluated[:, None]
    if evaluated.ndim != 2 or evaluated.shape[1] != p:
        raise ValueError(f"evaluated must be an (n, {p}) array, got shape {evaluated.shape}")
    if np.any(np.isnan(scores)) or np.any(scores == np.inf):
        raise ValueError("scores must be finite or -inf (excluded rows); found nan or +inf")
    if not np.all(np.isfinite(features)):
        raise ValueError("features must be finite")
    if not np.all(np.isfinite(evaluated)):
        raise ValueError("evaluated must be finite")
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
        raise ValueError(f"q must be a positive integer, got {q!r}")
    k = scores.size
    if q > k:
        raise ValueError(f"cannot choose a batch of q={q} from only k={k} candidates")
    n_finite = int(np.isfinite(scores).sum())
    if n_finite < q:
        raise ValueError(
            f"cannot choose a batch of q={q}: only {n_finite} of the {k} candidates have a "
            "finite score (-inf rows are excluded)"
        )
    return scores, features, labels_arr, evaluated


def _diversity_checks(
    features: np.ndarray,
    r: np.ndarray,
    finite_idx: np.ndarray,
    top_idx: np.ndarray,
    evaluated: np.ndarray,
    *,
    grid_size: int | None,
) -> dict[str, float]:
    r"""The three diversity-check values of the top rows ``top_idx`` (module docstring).

    ``r`` is the ``(k,)`` mean k-NN distance of every row to the evaluated points
    (only its ``finite_idx`` rows are read).
    """
    if evaluated.shape[0] == 0:
        return {"density_ratio": math.nan, "grid_coverage": math.nan, "histogram_kl": math.nan}
    r_all = r[finite_idx]
    r_top = r[top_idx]
    g = grid_size if grid_size is not None else max(1, math.ceil(math.sqrt(top_idx.size)))
    plane = pca_plane(np.vstack([features[top_idx], evaluated]))
    t = top_idx.size
    return {
        "density_ratio": local_density_ratio(r_all, r_top),
        "grid_coverage": grid_coverage(plane[:t], plane[t:], g),
        "histogram_kl": histogram_kl(plane[:t, 0], plane[t:, 0], g),
    }


def select_batch(
    scores: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    evaluated: np.ndarray,
    q: int,
    *,
    recent_improvement: Mapping[int, float] | None = None,
    settings: BatchSettings | None = None,
    seed: int = 0,
    slot_scores: Sequence[np.ndarray] = (),
    levels: np.ndarray | None = None,
    **options: Any,
) -> BatchDecision:
    r"""Choose ``q`` distinct candidates from their utilities and geometry.

    The rules, with the exact definitions of the checks, are in the module docstring.

    Args:
        scores: ``(k,)`` utility ``U`` (higher is better); ``-inf`` marks excluded rows.
        features: ``(k, p)`` candidate coordinates in a standardised/embedded space.
        labels: ``(k,)`` integer cluster labels (``-1`` = noise, treated as one group).
        evaluated: ``(n, p)`` evaluated points in the same space; ``n`` may be 0.
        q: Batch size, ``1 <= q <= k``.
        recent_improvement: Per group label, the recent improvement of its best value
            (feeds the bandwidth rule; missing labels count as 0).
        settings: :class:`~axfusion.settings.BatchSettings`: the diversity check and its
            thresholds, the greedy distance rule, the cluster bandwidth rule, the
            near-duplicate tolerance (docs/method.md, Stage 3 "Batch selection").
        **options: Fields of :class:`~axfusion.settings.BatchSettings` overriding
            ``settings`` (e.g. ``cluster_bandwidth=False``).
        seed: Seeds the random permutation that breaks ties in ``U``.
        slot_scores: Scores of extra slots (``(k,)`` each, higher is better; e.g. the
            family slots of :mod:`axfusion.acquisition.hedge`): the first
            ``q - len(slot_scores)`` picks follow the rules above, then each extra slot in
            turn takes the eligible candidate of largest score (at most ``q - 1`` extra
            slots; none by default).
        levels: ``(k, J)`` integer codes of the candidates' categorical levels, ``-1``
            where a value is not capped (:func:`~axfusion.acquisition.levels.level_codes`);
            with ``level_cap > 0`` no code is shared by more than ``ceil(level_cap q)``
            picks while another pick is possible (:class:`LevelCap`). ``None``: no cap.

    Returns:
        The :class:`BatchDecision`.

    Raises:
        ValueError: If ``q > k``, fewer than ``q`` candidates have a finite score, fewer
            than ``q`` distinct candidates remain after dropping near-duplicates, or an
            input is malformed.
    """
    cfg = resolve(BatchSettings, settings, options, "select_batch")
    scores, features, labels, evaluated = _check_inputs(scores, features, labels, evaluated, q)
    extra = [np.asarray(v, dtype=np.float64).reshape(-1) for v in slot_scores]
    if len(extra) >= q or any(v.shape != scores.shape for v in extra):
        raise ValueError(f"slot_scores needs fewer than q={q} arrays of {scores.size} scores each.")
    q_all, q = int(q), int(q) - len(extra)
    top_factor, min_top, n_neighbors, grid_size = cfg.top_factor, cfg.min_top, cfg.n_neighbors, cfg.grid_size
    duplicate_tol, distance_quantile = cfg.duplicate_tol, cfg.distance_quantile

    k = scores.size
    n = evaluated.shape[0]
    finite = np.isfinite(scores)
    finite_idx = np.flatnonzero(finite)

    # Order by U, ties broken by a seeded permutation; rank[i] = position of row i.
    tiebreak = np.random.default_rng(seed).permutation(k)
    sort_key = np.where(finite, -scores, np.inf)
    order = np.lexsort((tiebreak, sort_key))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)

    # Near-duplicate tolerance and distance to the evaluated set.
    stacked = np.vstack([features[finite_idx], evaluated])
    scale = float(np.sqrt(stacked.var(axis=0).sum())) if stacked.shape[0] > 1 else 0.0
    tol = duplicate_tol * (scale if scale > 0 else 1.0)
    d = np.full(k, np.inf)
    r = np.full(k, np.inf)
    if n > 0:
        knn = _knn_distances(features[finite_idx], evaluated, min(int(n_neighbors), n))
        d[finite_idx] = knn[:, 0]
        r[finite_idx] = knn.mean(axis=1)
    eligible = finite & (d > tol)
    n_eligible = int(eligible.sum())
    if n_eligible < q_all:
        raise BatchSelectionError(
            f"cannot choose a batch of q={q_all}: only {n_eligible} of the {k} remaining candidates differ from "
            "the measured designs (the others repeat a measured design's features). " + _NOTHING_NEW
        )

    # (i) diversity check on the top candidates.
    n_top = min(max(int(top_factor) * q, int(min_top)), finite_idx.size)
    top_idx = order[:n_top]
    values = _diversity_checks(
        features, r, finite_idx, top_idx, evaluated,
        grid_size=None if grid_size is None else int(grid_size),
    )
    diversified = cfg.diversity_check and bool(
        values["density_ratio"] > cfg.density_ratio_threshold
        or values["grid_coverage"] < cfg.coverage_threshold
        or values["histogram_kl"] < cfg.kl_threshold
    )
    checks = {
        **values,
        "density_ratio_threshold": float(cfg.density_ratio_threshold),
        "coverage_threshold": float(cfg.coverage_threshold),
        "kl_threshold": float(cfg.kl_threshold),
        "n_top": float(n_top),
    }

    # (iii) cluster bandwidth over the eligible candidates.
    eligible_idx = np.flatnonzero(eligible)
    groups, inverse = np.unique(labels[eligible_idx], return_inverse=True)
    best_per_group = np.full(groups.size, -np.inf)
    np.maximum.at(best_per_group, inverse, scores[eligible_idx])
    cluster_best = {int(c): float(b) for c, b in zip(groups, best_per_group)}
    capacity = {int(c): int(m) for c, m in zip(groups, np.bincount(inverse, minlength=groups.size))}
    leader = int(labels[eligible_idx[np.argmin(rank[eligible_idx])]])
    quotas, competitive, _ = allocate_bandwidth(
        cluster_best, capacity, q,
        leader=leader, reference=float(np.median(scores[eligible_idx])),
        recent_improvement=recent_improvement, competitive_ratio=cfg.competitive_ratio,
    )
    if not cfg.cluster_bandwidth:
        quotas = {}

    # (ii) greedy selection.
    if diversified:
        leading = np.union1d(np.unique(labels[top_idx]), np.asarray(list(quotas), dtype=np.int64))
        base = cluster_reweight(scores, labels, leading)
        f = float(cfg.min_distance_factor)

        def utility(dist: np.ndarray, mask: np.ndarray) -> np.ndarray:
            pool = mask & (base > 0)
            if not pool.any() or not np.isfinite(dist[pool]).all():
                return base.copy()
            far = float(np.quantile(dist[pool], distance_quantile))
            ratio = np.minimum(1.0, dist / far) if far > 0 else np.ones_like(dist)
            return base * (f + (1.0 - f) * ratio)

    else:

        def utility(dist: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return scores

    cap = None
    if levels is not None and cfg.level_cap > 0:
        cap = LevelCap(levels, max(1, int(np.ceil(cfg.level_cap * q_all))))
    chosen = _greedy(features, labels, rank, d, eligible, q, quotas, tol, utility, cap)
    if extra:
        chosen = _slot_picks(features, rank, eligible, chosen, extra, tol, cap)
    q = chosen.size
    chosen_labels = labels[chosen]
    bandwidth = {int(c): int(m) for c, m in zip(*np.unique(chosen_labels, return_counts=True))}
    if q > 1:
        pair = cdist(features[chosen], features[chosen])
        intra = float(pair[np.triu_indices(q, 1)].mean())
    else:
        intra = 0.0
    return BatchDecision(
        indices=chosen,
        diversified=diversified,
        checks=checks,
        cluster_bandwidth=bandwidth,
        leading_cluster=leader,
        intra_batch_distance=intra,
        cluster_best=cluster_best,
        competitive_clusters=tuple(int(c) for c in competitive),
        quotas={int(c): int(a) for c, a in quotas.items()},
        extra_slots=len(extra),
    )


def _slot_picks(
    features: np.ndarray,
    rank: np.ndarray,
    eligible: np.ndarray,
    chosen: np.ndarray,
    extra: Sequence[np.ndarray],
    tol: float,
    cap: LevelCap | None = None,
) -> np.ndarray:
    r"""``chosen`` followed by one pick per extra slot: the eligible row of largest slot
    score (ties by ``rank``), dropping near-duplicates of every pick (and, with ``cap``,
    rows whose level the batch holds ``cap.limit`` times, while another row is left)."""
    free = eligible.copy()
    picks = [int(i) for i in chosen]
    for i in picks:
        free &= _distance_to(features, i) > tol
    for values in extra:
        open_ = cap.allowed(free) if cap is not None else free
        idx = np.flatnonzero(open_ & np.isfinite(values))
        if idx.size == 0:
            idx = np.flatnonzero(free & np.isfinite(values))
        if idx.size == 0:
            idx = np.flatnonzero(free)
            values = np.zeros_like(values)
        if idx.size == 0:
            raise BatchSelectionError(
                f"cannot choose a batch of q={len(chosen) + len(extra)}: only {len(picks)} distinct "
                "candidates remain after dropping near-duplicates. " + _NOTHING_NEW
            )
        top = values[idx]
        best = idx[top == top.max()]
        pick = int(best[np.argmin(rank[best])])
        picks.append(pick)
        if cap is not None:
            cap.add(pick)
        free &= _distance_to(features, pick) > tol
    return np.asarray(picks, dtype=np.int64)


class LevelCap:
    r"""At most ``limit`` picks of a batch share one categorical level.

    Args:
        codes: ``(k, J)`` integer level codes of the ``k`` candidates in ``J`` columns;
            ``-1``: a value that is not capped (:func:`~axfusion.acquisition.levels.level_codes`).
        limit: Picks allowed per code and column.
    """

    def __init__(self, codes: np.ndarray, limit: int) -> None:
        self.codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
        self.limit = int(limit)
        self.counts = [np.zeros(int(c.max()) + 2, dtype=np.int64) for c in self.codes.T]

    def allowed(self, mask: np.ndarray) -> np.ndarray:
        r"""``mask`` less the rows with a level the batch already holds ``limit`` times."""
        out = mask.copy()
        for j, counts in enumerate(self.counts):
            c = self.codes[:, j]
            out &= ~((c >= 0) & (counts[c] >= self.limit))
        return out

    def add(self, row: int) -> None:
        r"""Count the levels of a picked row."""
        for j, counts in enumerate(self.counts):
            if self.codes[row, j] >= 0:
                counts[self.codes[row, j]] += 1


def _distance_to(features: np.ndarray, row: int) -> np.ndarray:
    r"""``(k,)`` Euclidean distances of every row of ``features`` to row ``row``."""
    return np.sqrt(((features - features[row]) ** 2).sum(axis=1))


def _greedy(
    features: np.ndarray,
    labels: np.ndarray,
    rank: np.ndarray,
    d: np.ndarray,
    eligible: np.ndarray,
    q: int,
    quotas: Mapping[int, int],
    tol: float,
    utility: Callable[[np.ndarray, np.ndarray], np.ndarray],
    cap: LevelCap | None = None,
) -> np.ndarray:
    r"""Greedy picks under group quotas, dropping near-duplicates of every pick (and, with
    ``cap``, rows whose level the batch holds ``cap.limit`` times, while another row is left).

    Args:
        features: ``(k, p)`` candidate coordinates.
        labels: ``(k,)`` group labels.
        rank: ``(k,)`` position of each row in the ``U`` order (the tie-break).
        d: ``(k,)`` distance to the nearest evaluated point (``inf`` when none); updated
            with the picks.
        eligible: ``(k,)`` rows that may be chosen.
        q: Batch size.
        quotas: Slots per group; empty = no quotas.  Once no group with free slots has
            an eligible row, the remaining slots are filled without quotas.
        tol: Near-duplicate distance.
        utility: Maps ``(d, mask)`` to the ``(k,)`` greedy score of every row.

    Returns:
        ``(q,)`` int64 picked rows, in pick order.
    """
    d = d.copy()
    eligible = eligible.copy()
    used = dict.fromkeys(quotas, 0)
    use_quotas = bool(quotas)
    chosen: list[int] = []
    while len(chosen) < q:
        mask = eligible
        if use_quotas:
            open_groups = np.array([c for c in quotas if used[c] < quotas[c]], dtype=np.int64)
            mask = eligible & np.isin(labels, open_groups)
            if not mask.any():
                use_quotas = False
                mask = eligible
        if not mask.any():
            raise BatchSelectionError(
                f"cannot choose a batch of q={q}: only {len(chosen)} distinct candidates "
                "remain after dropping near-duplicates. " + _NOTHING_NEW
            )
        if cap is not None and cap.allowed(mask).any():
            mask = cap.allowed(mask)
        value = utility(d, mask)
        idx = np.flatnonzero(mask)
        top = value[idx]
        best = idx[top == top.max()]
        pick = int(best[np.argmin(rank[best])])
        chosen.append(pick)
        if cap is not None:
            cap.add(pick)
        group = int(labels[pick])
        if group in used:
            used[group] += 1
        step = _distance_to(features, pick)
        d = np.minimum(d, step)
        eligible &= step > tol
    return np.asarray(chosen, dtype=np.int64)
