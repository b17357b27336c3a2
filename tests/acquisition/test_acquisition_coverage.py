"""Coverage slots (axfusion.acquisition.coverage)."""

from __future__ import annotations

import numpy as np

from axfusion.acquisition.coverage import coverage_slots, lead_rows, lead_slots, robust_z, surprise


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


def test_robust_z_ignores_one_outlier_and_needs_five_varying_values():
    z = robust_z(np.array([0.0, 1.0, -1.0, 0.5, -0.5, np.nan, 100.0]))
    assert np.isnan(z[5]) and z[6] > 50.0 and abs(z[0]) < 0.5
    assert np.isnan(robust_z(np.array([1.0, 2.0, 3.0, 4.0]))).all()
    assert np.isnan(robust_z(np.ones(8))).all()


def test_a_surprising_row_gets_its_nearest_unmeasured_neighbours_until_its_neighbourhood_is_settled():
    rng = np.random.default_rng(0)
    Zm = rng.uniform(size=(30, 2)) * 10.0
    Z = np.vstack([Zm[4] + 0.01 * rng.normal(size=(12, 2)), rng.uniform(size=(200, 2)) * 10.0])
    surprise = 0.1 * rng.normal(size=30)
    surprise[4] = 2.0  # far above the rest: a lead; twelve candidates lie right next to it
    slots = lead_slots(Z, Zm, surprise, np.zeros(len(Z)), 5)
    assert len(slots) == 3  # no measured row among its ten nearest: three follow-ups
    picks = [int(np.argmax(s)) for s in slots]
    near = np.argsort(np.linalg.norm(Z - Zm[4], axis=1))[:3]
    assert picks == near.tolist() and set(picks) <= set(range(12))
    # every slot keeps the lead's other neighbours (its ten nearest) as fall-backs, nothing else
    assert all(np.isfinite(s).sum() == 10 for s in slots)
    # two of its neighbours measured (the lead excluded): one follow-up left; three: none
    for k, expected in ((2, 1), (3, 0)):
        measured = np.vstack([Zm, Z[:k]])
        slots = lead_slots(Z[k:], measured, np.r_[surprise, np.zeros(k)], np.zeros(len(Z) - k), 5)
        assert len(slots) == expected
    # the slot count caps the follow-ups; a candidate outside the support is never given
    assert len(lead_slots(Z, Zm, surprise, np.zeros(len(Z)), 1)) == 1
    utility = np.zeros(len(Z))
    utility[near[0]] = -np.inf
    assert all(int(np.argmax(s)) != near[0] for s in lead_slots(Z, Zm, surprise, utility, 5))


def test_no_lead_without_a_surprise_above_the_threshold():
    rng = np.random.default_rng(1)
    Zm, Z = rng.uniform(size=(30, 2)), rng.uniform(size=(50, 2))
    assert lead_slots(Z, Zm, 0.1 * rng.normal(size=30), np.zeros(50), 3) == []
    assert lead_slots(Z, Zm, np.full(30, np.nan), np.zeros(50), 3) == []
    assert lead_slots(Z, Zm, np.r_[5.0, np.zeros(29)] + 0.1 * rng.normal(size=30), np.zeros(50), 0) == []


def test_surprise_orients_and_averages_the_maximised_and_minimised_targets_only():
    R = np.array([[1.0, 2.0, 5.0], [np.nan, -1.0, 0.0], [np.nan, np.nan, 3.0]])
    out = surprise(R, ["maximize", "minimize", "value"])
    np.testing.assert_allclose(out[:2], [(1.0 - 2.0) / 2.0, 1.0])
    assert np.isnan(out[2])  # no maximised or minimised residual known
    assert np.isnan(surprise(R, ["value", "window", "value"])).all()


def test_lead_rows_are_the_rows_far_above_the_median_most_surprising_first():
    values = np.r_[np.linspace(-1.0, 1.0, 20), 9.0, 30.0, np.nan]
    assert lead_rows(values).tolist() == [21, 20]
    assert lead_rows(values, threshold=100.0).size == 0
