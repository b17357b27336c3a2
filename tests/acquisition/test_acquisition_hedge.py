r"""Tests of axfusion.acquisition.hedge (family slots) and select_batch's slot_scores."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.acquisition.acqf import FusionMoments
from axfusion.acquisition.batch import select_batch
from axfusion.acquisition.hedge import (
    adaptive_region_slots,
    family_draws,
    fused_draw_moments,
    slot_counts,
    split_slots,
    trust_region_slots,
)


def _members(M: int = 3, B: int = 4, k: int = 50, m: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(M, B, k, m))


def test_slots_follow_accuracy_order_and_cycle():
    members = _members()
    draws = family_draws(members, np.array([0.2, 0.9, 0.5]), 5, np.random.default_rng(0))
    assert [d.family for d in draws] == [1, 2, 0, 1, 2]
    for d in draws:
        assert 0 <= d.member < 4
        np.testing.assert_array_equal(d.values, members[d.family, d.member, :, 0])


def test_a_start_rotates_the_accuracy_order():
    members = _members()
    draws = family_draws(members, np.array([0.2, 0.9, 0.5]), 3, np.random.default_rng(0), start=2)
    assert [d.family for d in draws] == [0, 1, 2]
    draws = family_draws(members, np.array([0.2, 0.9, 0.5]), 2, np.random.default_rng(0), start=4)
    assert [d.family for d in draws] == [2, 0]


def test_draws_are_seeded_and_vary_over_members():
    members = _members(B=16)
    a = family_draws(members, np.ones(3), 30, np.random.default_rng(7))
    b = family_draws(members, np.ones(3), 30, np.random.default_rng(7))
    assert [d.member for d in a] == [d.member for d in b]
    assert len({d.member for d in a}) > 3  # a random member per slot, not always the first


def test_several_targets_are_scalarised_by_a_chebyshev_draw():
    members = _members(m=2)
    (d,) = family_draws(members, np.ones(3), 1, np.random.default_rng(1))
    w = np.random.default_rng(1)
    w.integers(4)
    weights = w.dirichlet(np.ones(2))
    vals = members[d.family, d.member]
    np.testing.assert_allclose(d.values, (weights * vals).min(axis=1) + 0.05 * (weights * vals).sum(axis=1))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="M x B x k x m"):
        family_draws(np.zeros((3, 4, 5)), np.ones(3), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one per family"):
        family_draws(_members(), np.ones(2), 1, np.random.default_rng(0))


def test_select_batch_fills_the_last_slots_from_the_slot_scores():
    rng = np.random.default_rng(3)
    k = 40
    features = rng.normal(size=(k, 2))
    scores = np.linspace(1.0, 0.0, k)  # U prefers the first rows
    slot = np.zeros(k)
    slot[[30, 35]] = [2.0, 1.0]  # the slot's member prefers row 30, then 35
    decision = select_batch(
        scores, features, np.zeros(k, dtype=np.int64), np.empty((0, 2)), 4,
        slot_scores=[slot, slot], diversity_check=False, cluster_bandwidth=False,
    )
    np.testing.assert_array_equal(decision.indices, [0, 1, 30, 35])  # a slot never repeats a pick
    assert decision.extra_slots == 2 and decision.as_dict()["extra_slots"] == 2
    plain = select_batch(scores, features, np.zeros(k, dtype=np.int64), np.empty((0, 2)), 4,
                         diversity_check=False, cluster_bandwidth=False)
    np.testing.assert_array_equal(plain.indices, [0, 1, 2, 3])
    assert plain.extra_slots == 0


def test_slot_scores_skip_excluded_rows_and_need_a_fused_pick():
    k = 10
    features = np.arange(k, dtype=float)[:, None]
    scores = np.where(np.arange(k) == 9, -np.inf, 1.0 - 0.1 * np.arange(k))
    slot = np.arange(k, dtype=float)  # would pick row 9, which U excludes
    d = select_batch(scores, features, np.zeros(k, dtype=np.int64), np.empty((0, 1)), 2,
                     slot_scores=[np.where(np.isfinite(scores), slot, -np.inf)],
                     diversity_check=False, cluster_bandwidth=False)
    np.testing.assert_array_equal(d.indices, [0, 8])
    with pytest.raises(ValueError, match="fewer than q"):
        select_batch(scores, features, np.zeros(k, dtype=np.int64), np.empty((0, 1)), 1, slot_scores=[slot])


def test_slot_counts_floor_the_shares_and_keep_one_fused_pick():
    assert slot_counts(0.3, 0.3, 10) == (3, 3)
    assert slot_counts(0.0, 0.0, 10) == (0, 0)
    assert slot_counts(0.4, 0.2, 5) == (2, 1)
    assert slot_counts(0.3, 0.3, 2) == (0, 0)  # 0.6 of a slot rounds to none
    assert slot_counts(0.3, 0.3, 4) == (1, 1)
    assert slot_counts(0.9, 0.0, 10) == (9, 0)
    assert slot_counts(0.6, 0.39, 3) == (1, 1)
    assert slot_counts(0.3, 0.3, 1) == (0, 0)  # a single pick is always the fused one
    with pytest.raises(ValueError, match="q >= 1"):
        slot_counts(0.3, 0.3, 0)


def test_split_slots_fill_the_trust_region_then_exploration_then_the_families():
    assert split_slots(0.3, 0.3, 0.3, 10) == (3, 3, 3)  # room for every slot: as on a pool
    assert split_slots(0.3, 0.3, 0.3, 4) == (2, 0, 1)  # the family slot gives way first
    assert split_slots(0.3, 0.3, 0.3, 7) == (3, 1, 2)
    assert split_slots(0.3, 0.3, 0.3, 2) == (1, 0, 0)
    assert split_slots(0.3, 0.3, 0.3, 1) == (0, 0, 0)  # a single pick is always the fused one
    assert split_slots(1.0, 0.3, 0.3, 10) == (9, 0, 0)  # the whole batch from the region, one fused pick
    assert split_slots(0.3, 0.3, 0.3, 4, region_first=False) == (1, 1, 1)  # the order before (and a pool's)
    for q in range(1, 31):  # with no trust region the counts are the pool's, whatever the shares
        for family, explore in ((0.3, 0.3), (0.5, 0.4), (0.0, 0.6), (0.7, 0.2)):
            assert split_slots(0.0, family, explore, q) == (0, *slot_counts(family, explore, q))
            old_order = split_slots(0.3, family, explore, q, region_first=False)
            assert old_order == (trust_region_slots(0.3, q, sum(slot_counts(family, explore, q))),
                                 *slot_counts(family, explore, q))
            region, n_family, n_explore = split_slots(0.3, family, explore, q)
            assert region == trust_region_slots(0.3, q, 0) and region + n_family + n_explore <= max(q - 1, 0)
    with pytest.raises(ValueError, match="q >= 1"):
        split_slots(0.3, 0.3, 0.3, 0)


def test_adaptive_region_slots_keep_the_total_and_move_the_fixed_split_by_the_evidence():
    assert adaptive_region_slots(3, 3, 3, 0.5) == (3, 3, 3)  # no evidence: the fixed split
    assert adaptive_region_slots(3, 3, 3, 0.8) == (6, 2, 1)  # odds 1/2 x 4 = 2: p = 2/3; family rounded up
    assert adaptive_region_slots(3, 3, 3, 1.0) == (9, 0, 0)
    assert adaptive_region_slots(3, 3, 3, 0.0) == (1, 4, 4)  # the region keeps one slot
    assert adaptive_region_slots(1, 1, 1, 0.5) == (1, 1, 1)
    assert adaptive_region_slots(1, 1, 1, 0.8) == (2, 1, 0)
    assert adaptive_region_slots(1, 1, 1, 0.95) == (3, 0, 0)
    assert adaptive_region_slots(1, 0, 0, 0.0) == (1, 0, 0)  # a batch of two: nothing to move
    assert adaptive_region_slots(0, 3, 3, 1.0) == (0, 3, 3)  # no trust region
    assert adaptive_region_slots(2, 2, 0, 0.2) == (1, 3, 0)
    with pytest.raises(ValueError, match="local_share in"):
        adaptive_region_slots(3, 3, 3, 1.5)


def test_a_fused_draw_takes_one_random_member_per_family_and_keeps_the_rest():
    members = _members(M=3, B=8, k=20, m=2)
    moments = FusionMoments(
        Z=np.zeros((20, 4)), mu=members.mean(axis=1), sigma=np.ones((3, 20, 2)), members=members
    )
    draw = fused_draw_moments(moments, np.random.default_rng(5))
    picks = np.random.default_rng(5).integers(8, size=3)
    for f in range(3):
        np.testing.assert_array_equal(draw.mu[f], members[f, picks[f]])
    assert draw.sigma is moments.sigma and draw.members is moments.members and draw.Z is moments.Z
    again = fused_draw_moments(moments, np.random.default_rng(5))
    np.testing.assert_array_equal(again.mu, draw.mu)  # seeded
    seen = {tuple(np.flatnonzero((fused_draw_moments(moments, np.random.default_rng(s)).mu[0] == members[0])
                                 .all(axis=(1, 2)))) for s in range(20)}
    assert len(seen) > 2  # different members over the draws


def test_sequential_slots_pass_each_slots_best_untaken_row_on_and_repeat_when_none_is_left():
    from axfusion.acquisition.hedge import sequential_slots

    values = np.array([3.0, 1.0, 2.0, -np.inf])
    calls = []

    def score():
        return values - 0.5 * np.isin(np.arange(4), calls)  # a taken row scores lower, still finite

    slots = sequential_slots(5, score, calls.append)
    assert calls == [0, 2, 1]  # each slot's best row not taken before; row 3 is never free
    assert len(slots) == 5 and np.array_equal(slots[3], slots[4])
    assert sequential_slots(0, score, calls.append) == []


def test_hit_coverage_slots_go_to_the_hypotheses_the_batch_misses():
    from axfusion.acquisition.hedge import hit_coverage_slots

    k = 6
    members = np.zeros((2, 2, k, 1))
    members[0, :, 0, 0] = 5.0  # family 0: both members nominate row 0 first, then row 1
    members[0, :, 1, 0] = 4.0
    members[1, 0, 2, 0] = 5.0  # family 1: its members nominate rows 2 and 3
    members[1, 1, 3, 0] = 5.0
    support = np.ones(k, dtype=bool)
    slots = hit_coverage_slots(members, np.array([0.5, 0.5]), 2, 1, np.array([0]), support)
    assert len(slots) == 2
    # row 0 covers family 0; the first slot takes one of family 1's rows, the second the other
    first = int(np.argmax(slots[0]))
    second = slots[1].copy()
    second[first] = -np.inf
    assert {first, int(np.argmax(second))} == {2, 3}
    assert slots[1][first] < 1e-3  # once taken, its member is covered
    # with top 2 every family-0 member also nominates row 1, but row 0 already covers them
    slots = hit_coverage_slots(members, np.array([0.9, 0.1]), 1, 2, np.array([0]), support)
    assert slots[0][1] < slots[0][2] + 1e-3 and slots[0][1] < 1e-3


def test_hit_coverage_slots_keep_off_the_support_and_check_shapes():
    from axfusion.acquisition.hedge import hit_coverage_slots

    members = _members(M=2, B=3, k=20)
    support = np.ones(20, dtype=bool)
    support[:5] = False
    slots = hit_coverage_slots(members, np.array([0.5, 0.5]), 3, 4, np.array([], dtype=int), support)
    assert all(np.isneginf(s[:5]).all() and np.isfinite(s[5:]).all() for s in slots)
    with pytest.raises(ValueError, match="family_weights"):
        hit_coverage_slots(members, np.ones(3) / 3, 1, 4, np.array([], dtype=int), support)
