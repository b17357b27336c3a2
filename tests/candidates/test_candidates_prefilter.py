"""prefilter: optimistic + high-spread + stratified random working set."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.candidates import CandidatePool, nearest_rows, prefilter


def mean_spread(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X[:, 0], np.abs(X[:, 1])


@pytest.fixture
def pool() -> CandidatePool:
    data = np.random.default_rng(4).normal(size=(20_000, 3))
    pool = CandidatePool.from_array(data)
    pool.mark_evaluated(np.arange(0, 20_000, 9))
    pending = np.arange(4, 20_000, 13)
    pool.mark_pending(pending[pending % 9 != 0])
    return pool


def run(pool: CandidatePool, **kw: object):
    options = dict(size=500, min_pool_rows=0, chunk_size=1_024, seed=3)
    options.update(kw)
    return prefilter(pool, mean_spread, **options)


def test_parts_have_the_requested_sizes_and_are_disjoint(pool: CandidatePool) -> None:
    ws = run(pool, random_fraction=0.2, spread_fraction=0.1)
    assert ws.prefiltered and len(ws) == 500
    assert ws.random_ids.size == 100 and ws.spread_ids.size == 50 and ws.optimistic_ids.size == 350
    parts = np.concatenate([ws.optimistic_ids, ws.spread_ids, ws.random_ids])
    assert np.unique(parts).size == 500
    assert np.array_equal(np.sort(parts), ws.ids)
    assert pool.is_available(ws.ids).all()


def test_optimistic_and_spread_parts_match_brute_force(pool: CandidatePool) -> None:
    ws = run(pool, optimism=2.0)
    avail = pool.available_ids()
    X = pool.take(avail)
    mean, spread = mean_spread(X)
    expected_opt = avail[np.argsort(-(mean + 2.0 * spread), kind="stable")[:350]]
    assert np.array_equal(ws.optimistic_ids, expected_opt)
    rest = ~np.isin(avail, expected_opt)
    expected_spread = avail[rest][np.argsort(-spread[rest], kind="stable")[:50]]
    assert np.array_equal(ws.spread_ids, expected_spread)


def test_random_slice_is_stratified_by_the_mean(pool: CandidatePool) -> None:
    # A reservoir as large as the pool makes the stratification exact.
    ws = run(pool, reservoir_factor=100, n_strata=5)
    avail = pool.available_ids()
    taken = np.concatenate([ws.optimistic_ids, ws.spread_ids])
    free = avail[~np.isin(avail, taken)]
    mean_free = pool.take(free)[:, 0]
    edges = np.quantile(mean_free, [0.2, 0.4, 0.6, 0.8])
    strata = np.searchsorted(edges, pool.take(ws.random_ids)[:, 0], side="right")
    assert np.bincount(strata, minlength=5).tolist() == [20] * 5


def test_deterministic_under_a_seed_and_independent_of_chunking(pool: CandidatePool) -> None:
    a = run(pool, seed=11, chunk_size=1_000)
    b = run(pool, seed=11, chunk_size=333)
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.random_ids, b.random_ids)
    c = run(pool, seed=12)
    assert not np.array_equal(a.random_ids, c.random_ids)
    assert np.array_equal(a.optimistic_ids, c.optimistic_ids)


def test_small_pools_are_returned_whole(pool: CandidatePool) -> None:
    ws = prefilter(pool, mean_spread, size=500)  # 20,000 rows < min_pool_rows = 100,000
    assert not ws.prefiltered
    assert np.array_equal(ws.ids, pool.available_ids())
    ws = run(pool, size=pool.n_available + 1)
    assert not ws.prefiltered and len(ws) == pool.n_available


def test_bad_arguments(pool: CandidatePool) -> None:
    with pytest.raises(ValueError, match="at most 1"):
        run(pool, random_fraction=0.7, spread_fraction=0.5)
    with pytest.raises(ValueError, match=r"two arrays of shape \(839,\).*got \(839,\) and \(5,\)"):
        prefilter(pool, lambda X: (X[:, 0], X[:5, 1]), size=10, min_pool_rows=0, chunk_size=1_024)
    with pytest.raises(ValueError, match="negative spread"):
        prefilter(pool, lambda X: (X[:, 0], X[:, 1]), size=10, min_pool_rows=0)
    with pytest.raises(TypeError, match="tuple"):
        prefilter(pool, lambda X: X[:, 0], size=10, min_pool_rows=0)


def test_nearest_rows_are_the_available_rows_nearest_each_point(pool: CandidatePool) -> None:
    points = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5]])
    ids = nearest_rows(pool, 2.0 * points, 7, lambda X: 2.0 * X, chunk_size=1_000)
    available = pool.available_ids()
    data = pool.take(available)
    expected = set()
    for p in points:
        expected |= set(available[np.argsort(np.linalg.norm(data - p, axis=1))[:7]].tolist())
    assert set(ids.tolist()) == expected and np.all(np.diff(ids) > 0)
    assert nearest_rows(pool, np.empty((0, 3)), 7, lambda X: X).size == 0
    with pytest.raises(ValueError):
        nearest_rows(pool, points, 0, lambda X: X)
