r"""Prefiltering a large closed pool to a working set (Stage 2, closed pool).

Pools of 10^5 rows or more may be reduced, before the expensive Stage-2/3 machinery runs, to a
working set of ``size`` rows made of three disjoint parts:

1. **optimistic** -- the rows with the largest ``mean + optimism * spread`` (ensemble mean and
   spread, e.g. the standard deviation over members);
2. **spread** -- of the rest, the rows with the largest spread (where the ensemble disagrees
   most, whatever the mean);
3. **random** -- a seeded random slice for coverage, stratified by the mean: the rows are
   binned at the quantiles of the mean (``n_strata`` equal-mass bins) and every bin receives
   an equal share of the slice (a bin that runs short hands its share to the others).

Everything is computed in one chunked pass with bounded memory, ``O(chunk_size + size ·
reservoir_factor)``: the optimistic and spread parts are bounded top-k sets, and the random
slice is drawn from a uniform reservoir -- the available rows with the smallest seeded per-row
keys (:func:`~axfusion.candidates._ranking.row_uniforms`), ``reservoir_factor · size`` of
them -- whose means also give the quantile edges. When the reservoir holds every available row
the stratification is exact. The result depends on the seed only, not on ``chunk_size``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from axfusion.candidates._ranking import RunningTopK, round_robin_order, row_uniforms
from axfusion.candidates._validation import (
    check_fraction,
    check_non_negative_int,
    check_positive_int,
)
from axfusion.candidates.pool import DEFAULT_CHUNK_SIZE, CandidatePool

MeanSpreadFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class WorkingSet:
    r"""Row ids chosen by :func:`prefilter`.

    Attributes:
        ids: ``(n,)`` ascending ids of the whole working set.
        optimistic_ids: ``(n_o,)`` ids chosen by ``mean + optimism · spread``, best first.
        spread_ids: ``(n_s,)`` ids chosen by spread, largest first.
        random_ids: ``(n_r,)`` ids of the stratified random slice, ascending.
        prefiltered: False when the pool was too small to prefilter and ``ids`` holds every
            available row (the three parts are then empty).
    """

    ids: np.ndarray
    optimistic_ids: np.ndarray
    spread_ids: np.ndarray
    random_ids: np.ndarray
    prefiltered: bool

    def __len__(self) -> int:
        return int(self.ids.size)


def prefilter(
    pool: CandidatePool,
    mean_spread_fn: MeanSpreadFn,
    *,
    size: int,
    random_fraction: float = 0.2,
    spread_fraction: float = 0.1,
    optimism: float = 1.0,
    n_strata: int = 10,
    reservoir_factor: int = 10,
    min_pool_rows: int = 100_000,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed: int = 0,
) -> WorkingSet:
    r"""Reduce the available rows of ``pool`` to a working set of ``size`` rows.

    Args:
        pool: The closed pool; evaluated and pending rows are never chosen.
        mean_spread_fn: Maps an ``(k, d)`` chunk to ``(mean (k,), spread (k,))``, spread >= 0.
        size: Rows in the working set.
        random_fraction: Share of ``size`` given to the stratified random slice (rounded).
        spread_fraction: Share of ``size`` given to the highest-spread rows (rounded).
        optimism: Weight of the spread in the optimistic score ``mean + optimism · spread``.
        n_strata: Number of equal-mass bins of the mean for the random slice.
        reservoir_factor: The random slice is drawn from a uniform reservoir of
            ``reservoir_factor · size`` rows (all rows when fewer).
        min_pool_rows: Pools with fewer available rows are returned whole (docs/method.md: pools
            of at least 10^5 rows may be prefiltered).
        chunk_size: Rows per call of ``mean_spread_fn``.
        seed: Seed of the random slice.

    Returns:
        The :class:`WorkingSet`; when the pool has at most ``size`` or fewer than
        ``min_pool_rows`` available rows, all of them with ``prefiltered=False``.
    """
    size = check_positive_int(size, "size")
    random_fraction = check_fraction(random_fraction, "random_fraction")
    spread_fraction = check_fraction(spread_fraction, "spread_fraction")
    if random_fraction + spread_fraction > 1.0:
        raise ValueError(
            f"random_fraction + spread_fraction must be at most 1, got "
            f"{random_fraction} + {spread_fraction}"
        )
    optimism = float(optimism)
    if not np.isfinite(optimism) or optimism < 0:
        raise ValueError(f"optimism must be a finite number >= 0, got {optimism}")
    n_strata = check_positive_int(n_strata, "n_strata")
    reservoir_factor = check_positive_int(reservoir_factor, "reservoir_factor")
    check_non_negative_int(min_pool_rows, "min_pool_rows")
    check_non_negative_int(seed, "seed")

    n_available = pool.n_available
    if n_available <= size or n_available < min_pool_rows:
        empty = np.empty(0, dtype=np.int64)
        return WorkingSet(pool.available_ids(), empty, empty, empty, prefiltered=False)

    n_random = int(round(random_fraction * size))
    n_spread = min(int(round(spread_fraction * size)), size - n_random)
    n_optimistic = size - n_random - n_spread
    n_reservoir = reservoir_factor * size

    optimistic_top = RunningTopK(n_optimistic)
    # Enough high-spread rows to fill the spread part after removing the optimistic ones.
    spread_top = RunningTopK(n_optimistic + n_spread)
    # Uniform reservoir: the rows with the smallest keys (largest negated keys), with means.
    reservoir = RunningTopK(n_reservoir)
    for row_ids, X in pool.iter_chunks(chunk_size):
        mean, spread = _call_mean_spread(mean_spread_fn, X)
        optimistic_top.push(row_ids, mean + optimism * spread)
        spread_top.push(row_ids, spread)
        reservoir.push(row_ids, -row_uniforms(row_ids, seed), payload=mean)
    opt_ids, _, _ = optimistic_top.result()
    spread_ids, _, _ = spread_top.result()
    res_ids, neg_keys, res_means = reservoir.result()
    res_keys = -neg_keys

    chosen_spread = spread_ids[~np.isin(spread_ids, opt_ids)][:n_spread]
    taken = np.concatenate([opt_ids, chosen_spread])
    free = ~np.isin(res_ids, taken)
    random_ids = _stratified_slice(
        res_ids[free], res_means[free], res_keys[free], n_random, n_strata
    )
    ids = np.sort(np.concatenate([taken, random_ids]))
    return WorkingSet(ids, opt_ids, chosen_spread, random_ids, prefiltered=True)


def _stratified_slice(
    ids: np.ndarray, means: np.ndarray, keys: np.ndarray, n: int, n_strata: int
) -> np.ndarray:
    r"""``n`` of the ``ids``: equal shares of the ``n_strata`` quantile bins of ``means``,
    each share the rows with the smallest ``keys`` of its bin. Returns ascending ids."""
    if n == 0 or ids.size == 0:
        return np.empty(0, dtype=np.int64)
    edges = np.quantile(means, np.linspace(0.0, 1.0, n_strata + 1)[1:-1])
    strata = np.searchsorted(edges, means, side="right")
    order = round_robin_order(strata, keys)
    return np.sort(ids[order[:n]])


def _call_mean_spread(fn: MeanSpreadFn, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = fn(X)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError("mean_spread_fn must return a tuple (mean, spread)")
    mean = np.asarray(out[0], dtype=np.float64)
    spread = np.asarray(out[1], dtype=np.float64)
    k = X.shape[0]
    if mean.shape != (k,) or spread.shape != (k,):
        raise ValueError(
            f"mean_spread_fn must return two arrays of shape ({k},) for a chunk of {k} rows, "
            f"got {mean.shape} and {spread.shape}"
        )
    if not (np.isfinite(mean).all() and np.isfinite(spread).all()):
        raise ValueError("mean_spread_fn returned NaN or infinite values")
    if (spread < 0).any():
        raise ValueError("mean_spread_fn returned a negative spread")
    return mean, spread


def nearest_rows(
    pool: CandidatePool,
    points: np.ndarray,
    k: int,
    transform: Callable[[np.ndarray], np.ndarray],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> np.ndarray:
    r"""The ``k`` available rows nearest each of ``L`` points, in one chunked pass.

    Args:
        pool: The pool (evaluated and pending rows are skipped).
        points: ``L x p`` points, already in the space ``transform`` maps rows to.
        k: Rows per point.
        transform: Maps a ``b x d`` chunk of raw rows to ``b x p`` (e.g. the members'
            standardised inputs).
        chunk_size: Rows per call of ``transform``.

    Returns:
        The ascending, distinct ids of the union (at most ``L k`` rows; fewer when rows are
        shared or the pool holds fewer).
    """
    k = check_positive_int(k, "k")
    P = np.asarray(points, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    best = [RunningTopK(k) for _ in range(P.shape[0])]
    for row_ids, X in pool.iter_chunks(chunk_size):
        Z = np.asarray(transform(X), dtype=np.float64)
        d2 = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ P.T + (P * P).sum(axis=1)[None, :]
        for j, top in enumerate(best):
            top.push(row_ids, -d2[:, j])
    return np.unique(np.concatenate([top.result()[0] for top in best])).astype(np.int64)
