"""Coverage slots (axfusion.acquisition.coverage)."""

from __future__ import annotations

import numpy as np

from axfusion.acquisition.coverage import coverage_slots


def _picks(slots):
    taken, out = set(), []
    for s in slots:
        free = s.copy()
        free[list(taken)] = -np.inf
        row = int(np.argmax(free))
        taken.add(row)
        out.append(row)
    return out


def test_each_slot_takes_the_dense_candidate_farthest_from_the_measured_rows_and_the_earlier_picks():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    Z = np.vstack([c + 0.1 * rng.normal(size=(20, 2)) for c in centres])
    measured = Z[:3]  # the first cluster only
    slots = coverage_slots(Z, measured, np.ones(len(Z)), np.zeros(len(Z)), 3)
    assert len(slots) == 3
    picks = _picks(slots)
    # one pick in each of the three unmeasured clusters, the farthest (10, 10) first
    assert [p // 20 for p in picks] == [3, 1, 2] or [p // 20 for p in picks] == [3, 2, 1]
    # a sparse outlier (density 0) is never preferred to a populated region
    Z2 = np.vstack([Z, [[50.0, 50.0]]])
    density = np.r_[np.ones(len(Z)), 0.0]
    (s,) = coverage_slots(Z2, measured, density, np.zeros(len(Z2)), 1)
    assert int(np.argmax(s)) // 20 == 3


def test_rows_outside_the_support_are_never_scored_and_ties_go_to_the_utility():
    Z = np.array([[1.0], [-1.0], [1.0], [0.5]])
    utility = np.array([0.1, -np.inf, 0.9, 0.5])
    (s,) = coverage_slots(Z, np.zeros((1, 1)), np.ones(4), utility, 1)
    assert s[1] == -np.inf and np.isfinite(np.delete(s, 1)).all()
    assert int(np.argmax(s)) == 2  # rows 0 and 2 equally far: the larger utility


def test_more_slots_than_free_rows_repeat_the_last_scores_and_none_gives_nothing():
    Z = np.array([[0.0], [3.0]])
    slots = coverage_slots(Z, np.empty((0, 1)), np.ones(2), np.zeros(2), 4)
    assert len(slots) == 4 and np.array_equal(slots[3], slots[2])
    assert sorted(_picks(slots[:2])) == [0, 1]
    assert coverage_slots(Z, np.empty((0, 1)), np.ones(2), np.zeros(2), 0) == []
