"""CandidatePool: masking by index, chunked scoring, bounded top-k, errors."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.candidates import CandidatePool


@pytest.fixture
def data() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(1000, 5))


def linear_score(X: np.ndarray) -> np.ndarray:
    return X @ np.array([1.0, -0.5, 0.25, 2.0, 0.0])


def test_masked_rows_are_never_iterated_scored_or_proposed(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    evaluated = np.arange(0, 1000, 7)
    pending = np.arange(3, 1000, 11)
    pending = pending[~np.isin(pending, evaluated)]
    pool.mark_evaluated(evaluated)
    pool.mark_pending(pending)
    masked = np.union1d(evaluated, pending)

    seen = np.concatenate([ids for ids, _ in pool.iter_chunks(chunk_size=64)])
    assert np.array_equal(seen, np.setdiff1d(np.arange(1000), masked))
    assert np.array_equal(pool.available_ids(), seen)
    assert pool.n_available == 1000 - masked.size

    ids, scores = pool.score(linear_score, chunk_size=100)
    assert not np.isin(ids, masked).any()
    np.testing.assert_allclose(scores, linear_score(data[ids]))

    top, _ = pool.top_k(linear_score, k=pool.n_available, chunk_size=50)
    assert not np.isin(top, masked).any()
    assert np.array_equal(np.sort(top), seen)


def test_chunks_return_the_right_rows(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    pool.mark_evaluated([5, 6, 7])
    for ids, X in pool.iter_chunks(chunk_size=33):
        assert X.shape == (ids.size, 5) and ids.size <= 33
        np.testing.assert_array_equal(X, data[ids])


def test_top_k_equals_full_argsort(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    pool.mark_evaluated(np.arange(0, 1000, 3))
    ids, scores = pool.top_k(linear_score, k=25, chunk_size=37)
    avail = pool.available_ids()
    full = linear_score(data[avail])
    expected = avail[np.argsort(-full, kind="stable")[:25]]
    assert np.array_equal(ids, expected)
    np.testing.assert_allclose(scores, linear_score(data[expected]))
    assert np.all(np.diff(scores) <= 0)


def test_top_k_breaks_ties_by_row_id_independently_of_chunking() -> None:
    pool = CandidatePool.from_array(np.zeros((100, 2)))
    pool.mark_pending([0, 1])
    for chunk in (1, 7, 100):
        ids, _ = pool.top_k(lambda X: np.zeros(X.shape[0]), k=5, chunk_size=chunk)
        assert ids.tolist() == [2, 3, 4, 5, 6]


def test_score_and_top_k_restricted_to_ids_skip_masked_rows(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    pool.mark_evaluated([10, 20])
    ids, _ = pool.score(linear_score, ids=[30, 20, 10, 40])
    assert ids.tolist() == [30, 40]
    top, _ = pool.top_k(linear_score, k=2, ids=[30, 20, 10, 40])
    assert sorted(top.tolist()) == [30, 40]
    with pytest.raises(ValueError, match="batch of 3 rows.*only 2 rows"):
        pool.top_k(linear_score, k=3, ids=[30, 20, 10, 40])


def test_multi_output_scores(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    ids, scores = pool.score(lambda X: X[:, :2], chunk_size=300)
    assert scores.shape == (1000, 2)
    with pytest.raises(ValueError, match="one score per row"):
        pool.top_k(lambda X: X[:, :2], k=3)


def test_batch_larger_than_available_rows_names_both_numbers() -> None:
    pool = CandidatePool.from_array(np.ones((10, 2)))
    pool.mark_evaluated([0, 1, 2])
    pool.mark_pending([3])
    with pytest.raises(ValueError, match=r"batch of 7 rows.*only 6 rows.*3 evaluated, 1 pending"):
        pool.top_k(lambda X: X[:, 0], k=7)
    with pytest.raises(ValueError, match=r"batch of 11 rows.*only 6"):
        pool.check_batch_size(11)
    pool.check_batch_size(6)


def test_id_validation() -> None:
    pool = CandidatePool.from_array(np.ones((10, 2)))
    with pytest.raises(IndexError, match=r"out of range.*10 rows.*\[10\]"):
        pool.mark_evaluated([10])
    with pytest.raises(IndexError, match="out of range"):
        pool.mark_pending([-1])
    with pytest.raises(ValueError, match=r"duplicated row ids: \[4\]"):
        pool.mark_evaluated([4, 1, 4])
    with pytest.raises(TypeError, match="flatnonzero"):
        pool.take(np.ones(10, dtype=bool))
    with pytest.raises(TypeError, match="integer row ids"):
        pool.take([1.5])
    pool.mark_evaluated([2])
    with pytest.raises(ValueError, match=r"already evaluated.*\[2\]"):
        pool.mark_pending([2, 3])


def test_pending_lifecycle() -> None:
    pool = CandidatePool.from_array(np.arange(20.0).reshape(10, 2))
    pool.mark_pending([1, 2, 3])
    assert pool.n_pending == 3 and pool.n_available == 7
    pool.clear_pending([2])
    assert pool.pending_ids().tolist() == [1, 3]
    pool.mark_evaluated([1])
    assert pool.pending_ids().tolist() == [3] and pool.evaluated_ids().tolist() == [1]
    pool.clear_pending()
    assert pool.n_available == 9
    assert pool.is_available([0, 1]).tolist() == [True, False]


def test_take_keeps_the_given_order(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    np.testing.assert_array_equal(pool.take([9, 2, 500]), data[[9, 2, 500]])
    assert pool.take([]).shape == (0, 5)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="2-D"):
        CandidatePool.from_array(np.ones(5))
    with pytest.raises(ValueError, match="row 1 contains NaN"):
        list(CandidatePool.from_array(np.array([[1.0], [np.nan]])).iter_chunks())
    pool = CandidatePool.from_array(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"must return shape \(4,\)"):
        pool.score(lambda X: np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        pool.score(lambda X: np.full(X.shape[0], np.nan))
    with pytest.raises(ValueError, match="chunk_size"):
        list(pool.iter_chunks(chunk_size=0))


def test_chunks_of_an_array_pool_are_read_only_views(data: np.ndarray) -> None:
    pool = CandidatePool.from_array(data)
    _, X = next(pool.iter_chunks(chunk_size=10))
    with pytest.raises(ValueError):
        X[0, 0] = 99.0
