"""The trust region around a box campaign's incumbent: TuRBO's length rule and its draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.acquisition.hedge import trust_region_slots
from axfusion.candidates import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace
from axfusion.candidates.trust_region import (
    RegionCredit,
    TrustRegion,
    refine_trust_region_codes,
    region_credit,
    sample_trust_region_codes,
    trust_region_length,
)


@pytest.fixture
def mixed() -> SearchSpace:
    return SearchSpace(
        [
            ContinuousParameter("x", -5.0, 5.0),
            ContinuousParameter("y", 0.0, 1.0),
            IntegerParameter("k", 0, 10),
            CategoricalParameter("c", ["a", "b", "c"]),
        ]
    )


def test_length_halves_after_fail_tol_failures_and_doubles_after_three_successes():
    init = [np.array([0.0, 1.0])]
    # D = 4, q = 2: fail_tol = ceil(4 / 2) = 2
    assert trust_region_length(init, 2, 4)[0] == pytest.approx(0.8)
    assert trust_region_length(init + [np.array([0.5])], 2, 4)[:3] == (0.8, 0, 1)
    assert trust_region_length(init + [np.array([0.5])] * 2, 2, 4)[0] == pytest.approx(0.4)
    assert trust_region_length(init + [np.array([0.5])] * 4, 2, 4)[0] == pytest.approx(0.2)
    rising = init + [np.array([2.0]), np.array([3.0]), np.array([4.0])]
    assert trust_region_length(rising, 2, 4)[0] == pytest.approx(1.6)
    more = [np.array([v]) for v in (5.0, 6.0, 7.0)]
    assert trust_region_length(rising + more, 2, 4)[0] == pytest.approx(1.6)  # capped
    # a success resets the failure count; an all-failed (empty) batch is a failure
    assert trust_region_length(init + [np.array([0.5]), np.array([1.5]), np.array([])], 2, 4)[:3] == (0.8, 0, 1)


def test_length_restarts_below_its_minimum_and_needs_a_real_improvement():
    flat = [np.array([1.0])] + [np.array([1.0])] * 9  # D = 4, q = 4: fail_tol 1, halves every batch
    length, succ, fail, restarts = trust_region_length(flat, 4, 4)
    assert restarts == 1 and length == pytest.approx(0.2)  # 0.8 / 2^7 < 2^-7: restart at 0.8, then two halvings
    tiny = [np.array([100.0]), np.array([100.05])]  # < 1e-3 |best|: not a success
    assert trust_region_length(tiny, 1, 4)[1:3] == (0, 1)
    with pytest.raises(ValueError, match="q >= 1"):
        trust_region_length(flat, 0, 4)


def test_region_credit_counts_hits_inside_and_outside_each_batchs_own_region():
    space = SearchSpace([ContinuousParameter("x", 0.0, 1.0), ContinuousParameter("y", 0.0, 1.0)])
    raw = [[0.5, 0.5], [0.1, 0.1],  # initial design: best (0.5, 0.5)
           [0.55, 0.5], [0.95, 0.05],  # batch 1: a hit inside (L = 0.8: |dx| <= 0.4), a miss outside
           [0.6, 0.5], [0.02, 0.98]]  # batch 2: a miss inside, a hit outside
    codes = space.raw_to_codes(pd.DataFrame(raw, columns=["x", "y"]))
    values = np.array([1.0, 0.0, 2.0, -1.0, 1.5, 3.0])
    iterations = np.array([0, 0, 1, 1, 2, 2])
    credit = region_credit(space, codes, values, iterations, 2)
    assert credit == RegionCredit(hits_in=1, picks_in=2, hits_out=1, picks_out=2)
    assert credit.local_share == pytest.approx(0.5)
    assert region_credit(space, codes, values, iterations, 2, window=1) == RegionCredit(0, 1, 1, 1)
    local = region_credit(space, codes[:4], values[:4], iterations[:4], 2)
    assert local.local_share == pytest.approx((2 / 3) / (2 / 3 + 1 / 3))
    assert RegionCredit().local_share == 0.5
    assert region_credit(space, codes[:2], values[:2], iterations[:2], 2) == RegionCredit()  # no batch yet
    assert TrustRegion(center=codes[0], length=0.8, credit=local).as_dict()["local_share"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="as many codes"):
        region_credit(space, codes, values[:3], iterations, 2)


def test_draws_stay_in_the_region_keep_exact_levels_and_are_seeded(mixed: SearchSpace):
    center = mixed.raw_to_codes(pd.DataFrame([[1.0, 0.5, 5, "b"]], columns=["x", "y", "k", "c"]))[0]
    region = TrustRegion(center=center, length=0.2)
    codes = sample_trust_region_codes(mixed, region, 300, seed=3)
    assert codes.shape == (300, 4)
    assert region.contains(mixed, codes).all()
    raw = mixed.codes_to_raw(codes)
    assert raw["x"].between(0.0, 2.0).all() and raw["y"].between(0.4, 0.6).all()
    assert set(raw["c"]) <= {"a", "b", "c"} and (raw["k"] == raw["k"].round()).all()
    moved = (np.abs(mixed.codes_to_vectors(codes) - mixed.codes_to_vectors(center[None]))) > 0
    assert moved.any(axis=1).all()  # every draw moves at least one coordinate
    np.testing.assert_array_equal(codes, sample_trust_region_codes(mixed, region, 300, seed=3))
    far = mixed.raw_to_codes(pd.DataFrame([[-4.0, 0.5, 5, "b"]], columns=["x", "y", "k", "c"]))
    assert not region.contains(mixed, far)[0]
    assert sample_trust_region_codes(mixed, region, 0).shape == (0, 4)


def test_trust_region_slots_leave_one_fused_pick():
    assert trust_region_slots(0.3, 1, 0) == 0
    assert trust_region_slots(0.3, 2, 0) == 1
    assert trust_region_slots(0.3, 4, 2) == 1
    assert trust_region_slots(0.3, 10, 6) == 3
    assert trust_region_slots(0.0, 10, 0) == 0
    assert trust_region_slots(0.5, 3, 2) == 0


def test_refinement_climbs_the_score_inside_the_region_and_returns_only_new_designs(mixed: SearchSpace):
    center = mixed.raw_to_codes(pd.DataFrame([[1.0, 0.5, 5, "b"]], columns=["x", "y", "k", "c"]))[0]
    region = TrustRegion(center=center, length=0.4)
    start = sample_trust_region_codes(mixed, region, 50, seed=0)
    peak = pd.DataFrame([[2.3, 0.37, 7, "b"]], columns=["x", "y", "k", "c"])
    target = mixed.codes_to_vectors(mixed.raw_to_codes(peak))

    def score(codes: np.ndarray) -> np.ndarray:  # peak at (2.3, 0.37, 7, "b"), inside the region
        V = mixed.codes_to_vectors(codes)
        span = mixed.bounds[:, 1] - mixed.bounds[:, 0]
        return -np.sum(((V - target) / span) ** 2, axis=1)

    found = refine_trust_region_codes(mixed, region, start, score, rounds=4, keep=5, seed=1)
    assert 1 <= found.shape[0] <= 5 and region.contains(mixed, found).all()
    values = score(found)
    assert np.all(np.diff(values) <= 0)  # best first
    assert values[0] > score(start).max()  # better than every uniform draw
    assert not ({tuple(r) for r in found.tolist()} & {tuple(r) for r in start.tolist()})
    raw = mixed.codes_to_raw(found)
    assert (raw["k"] == raw["k"].round()).all() and set(raw["c"]) <= {"a", "b", "c"}
    again = refine_trust_region_codes(mixed, region, start, score, rounds=4, keep=5, seed=1)
    np.testing.assert_array_equal(found, again)
    assert refine_trust_region_codes(mixed, region, start, score, rounds=0).shape == (0, 4)
