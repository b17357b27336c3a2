r"""The structural weight :math:`\pi(x)` from five geometric indicators.

Every indicator ``u`` lies in ``[0, 1]``, with 1 meaning "up-weight".  For a candidate
``x`` with embedding ``z``, final cluster ``c`` and mode ``g = parent(c)`` (the cluster of
the selected partition before giant clusters were split; ``-1`` = noise), and its ``k``
nearest reference points (``n_neighbors = 10``, itself excluded; the reference points
are a seeded sample of at most ``ClusterConfig.reference_size = 4,000`` candidates, so
densities are measured at that sample's resolution whatever the pool size):

- **edge** (cluster boundaries): ``u_edge = F_g(||z - mu_g||)``, the share of ``g``'s
  fit-sample members that are at most as far from ``g``'s centre ``mu_g`` as ``z``; 1 for
  noise.  Cores score near 0, the rim near 1.
- **bridge** (between modes): with ``p_max`` the largest share of one mode among the
  ``k`` neighbours (noise counting as one mode),
  ``u_bridge = min(1, (1 - p_max) / bridge_saturation)``, ``bridge_saturation = 0.5``:
  neighbours split evenly between two modes give 1.
- **tail** (low density): ``r`` = distance to the ``k``-th neighbour, ``F_ref`` the
  empirical CDF of the same distance over the reference points,
  ``u_tail = clip((F_ref(r) - tail_quantile) / (1 - tail_quantile), 0, 1)``,
  ``tail_quantile = 0.5``: only the sparser half of the pool is up-weighted.
- **coverage** (under-sampled clusters): with ``N_c`` candidates and ``n_c`` evaluated
  points in ``c`` (noise is one group), ``N`` and ``n`` in total, the sampling ratio
  ``rho_c = [n_c / (N_c + n_c)] / [n / (N + n)]`` (1 when ``c`` is sampled like the
  whole pool) gives ``u_cov = 1 / (1 + rho_c)``: 1 for an unsampled cluster, 1/2 at
  the average, towards 0 when heavily sampled; 1 everywhere when ``n = 0``.
- **novelty** (redundancy with evaluated points): ``d`` = distance to the nearest
  evaluated point, ``h`` = median ``k``-th-neighbour distance of the reference points,
  ``u_nov = 1 - exp(-d / h)`` (``h`` falls back to the mean positive distance, then 1,
  when the median is 0); 1 when ``n = 0``.

With weights ``w`` (default 1 each),

.. math::

    s(x) = \frac{\sum_j w_j u_j(x)}{\sum_j w_j}, \qquad
    \pi(x) = \pi_{lo} + (\pi_{hi} - \pi_{lo})\, s(x),

``pi_range = (pi_lo, pi_hi) = (0.5, 1.0)`` by default (docs/method.md: a prior, not the
decision).  A core point of a well-sampled cluster, next to evaluated points, gets
close to ``pi_lo``; a bridge or tail point of an unsampled region close to ``pi_hi``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

COMPONENTS = ("edge", "bridge", "tail", "coverage", "novelty")
DEFAULT_COMPONENT_WEIGHTS: dict[str, float] = {name: 1.0 for name in COMPONENTS}


def check_pi_range(pi_range: tuple[float, float]) -> tuple[float, float]:
    r"""Validate ``(lo, hi)`` with ``0 < lo <= hi <= 1`` and return it as floats."""
    try:
        lo, hi = (float(v) for v in pi_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"pi_range must be a pair (lo, hi), got {pi_range!r}") from exc
    if not (0.0 < lo <= hi <= 1.0):
        raise ValueError(f"pi_range must satisfy 0 < lo <= hi <= 1, got {pi_range!r}")
    return lo, hi


def check_component_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    r"""Complete a partial ``{component: weight}`` mapping with the defaults and validate it."""
    out = dict(DEFAULT_COMPONENT_WEIGHTS)
    if weights is None:
        return out
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown pi component(s) {sorted(unknown)}; use {COMPONENTS}")
    for name, value in weights.items():
        value = float(value)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"component weight {name!r} must be finite and >= 0, got {value}")
        out[name] = value
    if sum(out.values()) <= 0:
        raise ValueError("at least one pi component weight must be positive")
    return out


class ModeGeometry:
    r"""Centres and member-distance distributions of the modes (parent clusters).

    Args:
        Z_fit: ``(m, p)`` fit-sample points.
        modes: ``(m,)`` mode of each fit point (``-1`` = noise).
        n_modes: Number of modes ``G``.

    Attributes:
        centers: ``(G, p)`` mean of each mode's members.
        sorted_distances: ``G`` sorted arrays of member-to-centre distances.
    """

    def __init__(self, Z_fit: np.ndarray, modes: np.ndarray, n_modes: int) -> None:
        self.centers = np.zeros((n_modes, Z_fit.shape[1]))
        self.sorted_distances: list[np.ndarray] = []
        for g in range(n_modes):
            members = Z_fit[modes == g]
            center = members.mean(axis=0) if members.shape[0] else self.centers[g]
            self.centers[g] = center
            self.sorted_distances.append(np.sort(np.linalg.norm(members - center, axis=1)))

    def edge_scores(self, Z: np.ndarray, modes: np.ndarray) -> np.ndarray:
        r"""``u_edge`` of ``(c, p)`` points with ``(c,)`` modes; ``(c,)`` in ``[0, 1]``."""
        out = np.ones(Z.shape[0])
        for g in np.unique(modes[modes >= 0]):
            rows = np.flatnonzero(modes == g)
            dist = np.linalg.norm(Z[rows] - self.centers[g], axis=1)
            ref = self.sorted_distances[g]
            out[rows] = np.searchsorted(ref, dist, side="right") / max(ref.size, 1)
        return np.minimum(out, 1.0)


def bridge_scores(neighbour_modes: np.ndarray, saturation: float) -> np.ndarray:
    r"""``u_bridge`` from the ``(c, k)`` modes of each point's neighbours; ``(c,)``."""
    c, k = neighbour_modes.shape
    if k == 0:
        return np.zeros(c)
    ordered = np.sort(neighbour_modes, axis=1)
    run = np.ones(c, dtype=np.int64)
    longest = np.ones(c, dtype=np.int64)
    for j in range(1, k):
        same = ordered[:, j] == ordered[:, j - 1]
        run = np.where(same, run + 1, 1)
        np.maximum(longest, run, out=longest)
    p_max = longest / k
    return np.minimum(1.0, (1.0 - p_max) / saturation)


def tail_scores(kth_distance: np.ndarray, reference_sorted: np.ndarray, tail_quantile: float) -> np.ndarray:
    r"""``u_tail`` of ``(c,)`` k-th-neighbour distances against the reference's sorted ones."""
    if reference_sorted.size == 0:
        return np.zeros(kth_distance.shape[0])
    cdf = np.searchsorted(reference_sorted, kth_distance, side="right") / reference_sorted.size
    return np.clip((cdf - tail_quantile) / (1.0 - tail_quantile), 0.0, 1.0)


def coverage_by_group(group_sizes: np.ndarray, group_evaluated: np.ndarray) -> np.ndarray:
    r"""``u_cov`` of each group from ``(G,)`` candidate and evaluated counts; ``(G,)``."""
    sizes = np.asarray(group_sizes, dtype=np.float64)
    evaluated = np.asarray(group_evaluated, dtype=np.float64)
    n_total = evaluated.sum()
    if n_total <= 0:
        return np.ones(sizes.shape)
    overall = n_total / (sizes.sum() + n_total)
    local = np.divide(evaluated, sizes + evaluated, out=np.zeros_like(sizes), where=(sizes + evaluated) > 0)
    return 1.0 / (1.0 + local / overall)


def novelty_scores(nearest_evaluated: np.ndarray, scale: float) -> np.ndarray:
    r"""``u_nov`` of ``(c,)`` distances to the nearest evaluated point (``inf`` when none)."""
    return -np.expm1(-np.asarray(nearest_evaluated, dtype=np.float64) / scale)


def combine(
    components: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    pi_range: tuple[float, float],
) -> np.ndarray:
    r"""``pi = lo + (hi - lo) * sum_j w_j u_j / sum_j w_j`` for ``(N,)`` indicators ``u_j``."""
    lo, hi = check_pi_range(pi_range)
    weights = check_component_weights(weights)
    total = sum(weights.values())
    mixed: np.ndarray | None = None
    for name in COMPONENTS:
        if weights[name] == 0:
            continue
        term = (weights[name] / total) * np.asarray(components[name], dtype=np.float64)
        mixed = term if mixed is None else mixed + term
    if mixed is None:
        raise ValueError("at least one pi component weight must be positive")
    return lo + (hi - lo) * np.clip(mixed, 0.0, 1.0)
