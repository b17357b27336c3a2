"""snap_to_pool: nearest unused pool rows, never reused, never masked."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.candidates import CandidatePool, snap_to_pool


@pytest.fixture
def pool() -> CandidatePool:
    data = np.random.default_rng(6).uniform(size=(3_000, 3))
    pool = CandidatePool.from_array(data)
    pool.mark_evaluated(np.arange(0, 3_000, 4))
    pool.mark_pending([1, 2])
    return pool


def brute_nearest(pool: CandidatePool, points: np.ndarray) -> np.ndarray:
    avail = pool.available_ids()
    X = pool.take(avail)
    d = ((points[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    return avail[d.argmin(axis=1)]


def test_isolated_points_snap_to_their_nearest_available_row(pool: CandidatePool) -> None:
    points = np.array([[0.1, 0.1, 0.1], [0.9, 0.5, 0.2], [0.5, 0.5, 0.5]])
    res = snap_to_pool(points, pool, standardize=False, chunk_size=2)
    assert np.array_equal(res.row_ids, brute_nearest(pool, points))
    distances = np.linalg.norm(pool.take(res.row_ids) - points, axis=1)
    np.testing.assert_allclose(res.distances, distances)


def test_no_row_is_used_twice_and_masked_rows_are_never_used(pool: CandidatePool) -> None:
    points = np.repeat([[0.5, 0.5, 0.5]], 40, axis=0)  # 40 copies fight for the same rows
    points = np.vstack([points, np.random.default_rng(0).uniform(size=(500, 3))])
    res = snap_to_pool(points, pool, n_neighbors=4, chunk_size=64)
    assert np.unique(res.row_ids).size == points.shape[0]
    assert pool.is_available(res.row_ids).all()
    # greedy in the order given: the copies take the 40 nearest rows, nearest first
    X = pool.take(pool.available_ids())
    std = X.std(axis=0)
    d = np.linalg.norm((X - [0.5, 0.5, 0.5]) / std, axis=1)
    expected = pool.available_ids()[np.argsort(d, kind="stable")[:40]]
    assert np.array_equal(res.row_ids[:40], expected)
    assert np.all(np.diff(res.distances[:40]) >= 0)


def test_snapping_the_whole_pool_uses_every_row(pool: CandidatePool) -> None:
    points = np.random.default_rng(1).uniform(size=(pool.n_available, 3))
    res = snap_to_pool(points, pool, n_neighbors=2)
    assert np.array_equal(np.sort(res.row_ids), pool.available_ids())


def test_restriction_to_a_working_set(pool: CandidatePool) -> None:
    ids = np.arange(0, 3_000, 3)  # includes evaluated rows (multiples of 12)
    res = snap_to_pool(np.random.default_rng(2).uniform(size=(50, 3)), pool, ids=ids)
    assert np.isin(res.row_ids, ids).all() and pool.is_available(res.row_ids).all()


def test_errors(pool: CandidatePool) -> None:
    n = pool.n_available
    with pytest.raises(ValueError, match=rf"batch of {n + 1} rows.*only {n}"):
        snap_to_pool(np.zeros((pool.n_available + 1, 3)), pool)
    with pytest.raises(ValueError, match="3 columns"):
        snap_to_pool(np.zeros((2, 4)), pool)
    with pytest.raises(ValueError, match="NaN"):
        snap_to_pool(np.full((2, 3), np.nan), pool)
