"""Ranking helpers and the trial archive."""

from __future__ import annotations

import numpy as np

from axfusion.candidates._ranking import (
    RunningTopK,
    round_robin_order,
    row_uniforms,
    top_k_indices,
)
from axfusion.candidates.archive import TrialArchive, best_distinct


def test_running_top_k_matches_a_stable_sort_under_any_chunking() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=200).astype(float)  # many ties
    ids = rng.permutation(1_000)[:200]
    payload = scores * 10 + ids
    for k in (1, 7, 40, 200, 500):
        order = np.lexsort((ids, -scores))[:k]
        for chunk in (1, 13, 200):
            top = RunningTopK(k)
            for start in range(0, 200, chunk):
                sl = slice(start, start + chunk)
                top.push(ids[sl], scores[sl], payload[sl])
            got_ids, got_scores, got_payload = top.result()
            assert np.array_equal(got_ids, ids[order])
            assert np.array_equal(got_scores, scores[order])
            assert np.array_equal(got_payload, payload[order])
    assert set(top_k_indices(ids, scores, 0)) == set()


def test_round_robin_interleaves_groups_by_rank() -> None:
    groups = np.array([0, 0, 0, 1, 2, 2])
    priority = np.array([3.0, 1.0, 2.0, 5.0, 0.0, 9.0])
    assert round_robin_order(groups, priority).tolist() == [1, 3, 4, 2, 5, 0]


def test_row_uniforms_depend_on_id_and_seed_only() -> None:
    ids = np.arange(100_000)
    u = row_uniforms(ids, 7)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert np.array_equal(row_uniforms(ids[500:510], 7), u[500:510])
    assert not np.array_equal(row_uniforms(ids[:10], 8), u[:10])


def test_archive_keeps_best_distinct_designs_within_its_bound() -> None:
    archive = TrialArchive(3, compact_factor=2)
    archive.add(np.array([[0.0], [1.0], [2.0], [0.0]]), np.array([1.0, 2.0, 0.5, 5.0]))
    archive.add(np.array([[3.0], [4.0], [1.0]]), np.array([4.0, -1.0, 0.0]))
    assert archive._n_held <= 6 and archive.n_seen == 7
    codes, values = archive.best()
    assert codes[:, 0].tolist() == [0.0, 3.0, 1.0] and values.tolist() == [5.0, 4.0, 2.0]


def test_best_distinct_prefers_earlier_rows_on_ties() -> None:
    codes = np.array([[1.0], [2.0], [1.0], [3.0]])
    keep = best_distinct(codes, np.array([1.0, 1.0, 1.0, 1.0]), np.arange(4), 10)
    assert keep.tolist() == [0, 1, 3]
