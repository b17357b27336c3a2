from __future__ import annotations

import json
import math

import numpy as np
import pytest

from axfusion.acquisition.batch import (
    BatchDecision,
    BatchSelectionError,
    LevelCap,
    allocate_bandwidth,
    cluster_reweight,
    grid_coverage,
    histogram_kl,
    local_density_ratio,
    pca_plane,
    select_batch,
)
from axfusion.acquisition.levels import level_codes


def _min_dist(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.min(np.linalg.norm(points[:, None, :] - reference[None, :, :], axis=2), axis=1)


def _random_problem(seed: int, k: int = 300, p: int = 3, n: int = 30):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(k, p))
    scores = rng.random(k)
    labels = rng.integers(-1, 6, size=k)
    evaluated = rng.normal(size=(n, p))
    return scores, features, labels, evaluated


def _two_clusters(gap: float, n_per: int = 60):
    r"""Leader (label 0) around x = -6 holding the top scores; label 1 around x = +6.

    Each cluster has 15 leading rows and a bulk of poor rows (scores in [0, 0.5], so
    the median utility is about 0.3).  The leader's leading rows score 1.0 down to
    0.93; the other cluster's best is ``1 - gap`` and its leading rows fall by 0.01.
    Evaluated points sit in both clusters, away from the candidates, so that the
    batch is decided by the utilities.
    """
    rng = np.random.default_rng(3)
    lead = np.c_[-6 + rng.uniform(-2, 2, n_per), rng.uniform(-2, 2, n_per)]
    other = np.c_[6 + rng.uniform(-2, 2, n_per), rng.uniform(-2, 2, n_per)]
    features = np.vstack([lead, other])
    bulk = rng.uniform(0.0, 0.5, size=(2, n_per - 15))
    scores = np.concatenate([
        1.0 - 0.005 * np.arange(15), bulk[0], 1.0 - gap - 0.01 * np.arange(15), bulk[1],
    ])
    labels = np.repeat([0, 1], [n_per, n_per])
    evaluated = np.array([[-6.0, 3.0], [6.0, 3.0], [-6.0, -3.0], [6.0, -3.0]])
    return scores, features, labels, evaluated


# --------------------------------------------------------------------- basic contract


@pytest.mark.parametrize("q", [1, 2, 10])
def test_returns_q_distinct_indices_in_range(q: int) -> None:
    scores, features, labels, evaluated = _random_problem(0)
    dec = select_batch(scores, features, labels, evaluated, q)
    assert isinstance(dec, BatchDecision)
    assert dec.indices.shape == (q,) and dec.indices.dtype == np.int64
    assert np.unique(dec.indices).size == q
    assert dec.indices.min() >= 0 and dec.indices.max() < scores.size
    assert sum(dec.cluster_bandwidth.values()) == q
    expected = dict(zip(*np.unique(labels[dec.indices], return_counts=True)))
    assert dec.cluster_bandwidth == {int(c): int(m) for c, m in expected.items()}
    if q == 1:
        assert dec.intra_batch_distance == 0.0
    else:
        chosen = features[dec.indices]
        pair = np.linalg.norm(chosen[:, None] - chosen[None], axis=2)
        assert dec.intra_batch_distance == pytest.approx(pair[np.triu_indices(q, 1)].mean())


def test_q1_without_diversification_picks_the_best() -> None:
    scores, features, labels, evaluated = _random_problem(1)
    dec = select_batch(scores, features, labels, evaluated, 1, density_ratio_threshold=math.inf,
                       coverage_threshold=0.0, kl_threshold=0.0)
    assert not dec.diversified
    assert dec.indices.tolist() == [int(np.argmax(scores))]
    assert dec.leading_cluster == int(labels[np.argmax(scores)])


def test_never_picks_minus_inf_rows() -> None:
    scores, features, labels, evaluated = _random_problem(2)
    excluded = np.argsort(-scores)[:50]  # the best rows are excluded
    scores = scores.copy()
    scores[excluded] = -np.inf
    for cluster_bandwidth in (True, False):
        dec = select_batch(
            scores, features, labels, evaluated, 10, cluster_bandwidth=cluster_bandwidth
        )
        assert not set(dec.indices.tolist()) & set(excluded.tolist())
        assert np.all(np.isfinite(scores[dec.indices]))


def test_exactly_q_finite_rows_are_all_chosen_and_fewer_raise() -> None:
    scores, features, labels, evaluated = _random_problem(3, k=40)
    scores = np.full(40, -np.inf)
    finite_rows = [3, 17, 25, 38]
    scores[finite_rows] = [0.1, 0.5, 0.2, 0.3]
    dec = select_batch(scores, features, labels, evaluated, 4)
    assert sorted(dec.indices.tolist()) == finite_rows
    with pytest.raises(ValueError, match=r"q=5.*only 4 of the 40"):
        select_batch(scores, features, labels, evaluated, 5)


def test_q_larger_than_k_raises_naming_both() -> None:
    scores, features, labels, evaluated = _random_problem(4, k=3)
    with pytest.raises(ValueError, match=r"q=5.*k=3"):
        select_batch(scores, features, labels, evaluated, 5)


@pytest.mark.parametrize("bad_q", [0, -1, 2.0, True])
def test_bad_q_raises(bad_q) -> None:
    scores, features, labels, evaluated = _random_problem(4, k=10)
    with pytest.raises(ValueError, match="q must be a positive integer"):
        select_batch(scores, features, labels, evaluated, bad_q)


def test_nan_scores_and_shape_mismatch_raise() -> None:
    scores, features, labels, evaluated = _random_problem(5, k=20)
    bad = scores.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="nan"):
        select_batch(bad, features, labels, evaluated, 2)
    with pytest.raises(ValueError, match="labels"):
        select_batch(scores, features, labels[:-1], evaluated, 2)
    with pytest.raises(ValueError, match="evaluated"):
        select_batch(scores, features, labels, evaluated[:, :2], 2)


# ---------------------------------------------------------------------- near-duplicates


@pytest.mark.parametrize("diversify", [False, True])
def test_identical_top_rows_only_one_chosen(diversify: bool) -> None:
    scores, features, labels, evaluated = _random_problem(6)
    features = features.copy()
    scores = scores.copy()
    features[11] = features[7]
    scores[[7, 11]] = [5.0, 5.0]  # the two best rows are the same point
    kwargs = {"density_ratio_threshold": -1.0} if diversify else {
        "density_ratio_threshold": math.inf, "coverage_threshold": 0.0, "kl_threshold": 0.0}
    dec = select_batch(scores, features, labels, evaluated, 10, **kwargs)
    assert dec.diversified is diversify
    assert len({7, 11} & set(dec.indices.tolist())) == 1


@pytest.mark.parametrize("diversify", [False, True])
def test_candidate_identical_to_evaluated_point_not_chosen(diversify: bool) -> None:
    scores, features, labels, evaluated = _random_problem(7)
    features = features.copy()
    scores = scores.copy()
    features[5] = evaluated[0]
    features[6] = evaluated[1] + 1e-13  # a near-duplicate well inside the tolerance
    scores[[5, 6]] = [10.0, 9.0]
    kwargs = {"density_ratio_threshold": -1.0} if diversify else {
        "density_ratio_threshold": math.inf, "coverage_threshold": 0.0, "kl_threshold": 0.0}
    dec = select_batch(scores, features, labels, evaluated, 10, **kwargs)
    assert 5 not in dec.indices and 6 not in dec.indices
    # without the duplicates these rows would be the first picks
    free = select_batch(scores, features, labels, evaluated[2:], 10, **kwargs)
    assert free.indices[0] == 5


def test_too_few_distinct_candidates_raise() -> None:
    features = np.zeros((6, 2))
    features[3:] = 1.0  # only two distinct points
    scores = np.arange(6, dtype=float)
    with pytest.raises(ValueError, match="only 2 distinct"):
        select_batch(scores, features, np.zeros(6, int), np.empty((0, 2)), 3)
    with pytest.raises(BatchSelectionError, match="only 3 of the 6 remaining candidates differ from the measured"):
        select_batch(scores, features, np.zeros(6, int), np.array([[1.0, 1.0]]), 4)


# ------------------------------------------------------------------ cluster bandwidth


def test_competitive_cluster_gets_a_slot_only_with_the_bandwidth_rule() -> None:
    scores, features, labels, evaluated = _two_clusters(gap=0.1)
    q = 10
    assert set(labels[np.argsort(-scores)[:q]]) == {0}  # the leader holds the top q
    on = select_batch(scores, features, labels, evaluated, q)
    off = select_batch(scores, features, labels, evaluated, q, cluster_bandwidth=False)
    assert on.leading_cluster == 0 and off.leading_cluster == 0
    assert on.competitive_clusters == (1,)
    assert on.cluster_bandwidth.get(1, 0) >= 1 and on.cluster_bandwidth.get(0, 0) >= 1
    assert sum(on.quotas.values()) == q and on.quotas[0] >= on.quotas[1] >= 1
    assert not off.diversified  # plain greedy by U: the leader's top q
    assert off.cluster_bandwidth == {0: q}
    assert off.quotas == {}
    # the quotas also bind when the batch is diversified
    forced = select_batch(scores, features, labels, evaluated, q, density_ratio_threshold=-1.0)
    assert forced.diversified
    assert forced.cluster_bandwidth == {c: a for c, a in on.quotas.items()}


def test_non_competitive_cluster_gets_no_slot() -> None:
    scores, features, labels, evaluated = _two_clusters(gap=0.35)
    dec = select_batch(scores, features, labels, evaluated, 10)
    assert dec.competitive_clusters == ()
    assert dec.cluster_bandwidth == {0: 10}
    assert dec.cluster_best[1] == pytest.approx(0.65)


def test_recent_improvement_makes_a_cluster_competitive() -> None:
    scores, features, labels, evaluated = _two_clusters(gap=0.25)
    plain = select_batch(scores, features, labels, evaluated, 10)
    assert plain.cluster_bandwidth == {0: 10}
    boosted = select_batch(
        scores, features, labels, evaluated, 10, recent_improvement={1: 0.4, 0: 0.0}
    )
    assert 1 in boosted.competitive_clusters
    assert boosted.cluster_bandwidth.get(1, 0) >= 1


def test_allocate_bandwidth_is_proportional_with_guarantees() -> None:
    best = {0: 1.0, 1: 0.8, 2: 0.1}
    capacity = {0: 100, 1: 100, 2: 100}
    quotas, competitive, weights = allocate_bandwidth(best, capacity, 10, leader=0, reference=0.0)
    assert competitive == (1,)
    assert quotas == {0: 6, 1: 4}
    assert weights == pytest.approx({0: 1.0, 1: 0.8, 2: 0.1})
    # q = 1: the leader takes the only slot
    assert allocate_bandwidth(best, capacity, 1, leader=0, reference=0.0)[0] == {0: 1}
    # a small cluster never gets more slots than it has candidates
    quotas, _, _ = allocate_bandwidth(best, {0: 100, 1: 2, 2: 100}, 10, leader=0, reference=0.0)
    assert quotas == {0: 8, 1: 2}
    # several equal competitors: leader and the strongest competitor first, q = 2
    quotas, competitive, _ = allocate_bandwidth(
        {0: 1.0, 1: 0.95, 2: 0.9}, capacity, 2, leader=0, reference=0.0)
    assert competitive == (1, 2) and quotas == {0: 1, 1: 1}
    # a lower ratio widens the set of competitive clusters
    assert allocate_bandwidth(best, capacity, 10, leader=0, reference=0.0,
                              competitive_ratio=0.05)[1] == (1, 2)
    with pytest.raises(ValueError, match="finite"):
        allocate_bandwidth(best, capacity, 10, leader=0, reference=0.0,
                           recent_improvement={1: math.nan})


def test_all_candidates_in_one_cluster() -> None:
    scores, features, _, evaluated = _random_problem(8)
    dec = select_batch(scores, features, np.zeros(scores.size, int), evaluated, 7)
    assert dec.cluster_bandwidth == {0: 7}
    assert dec.leading_cluster == 0 and dec.competitive_clusters == ()


# ----------------------------------------------------------------------- diversification


def _crowded():
    r"""Evaluated points near the origin, utility peaked at the origin: top rows crowd."""
    rng = np.random.default_rng(10)
    features = rng.uniform(-5, 5, size=(600, 2))
    evaluated = 0.5 * rng.normal(size=(25, 2))
    scores = np.exp(-0.125 * (features**2).sum(axis=1))
    labels = np.zeros(600, int)
    return scores, features, labels, evaluated


def test_crowded_top_candidates_trigger_diversification() -> None:
    scores, features, labels, evaluated = _crowded()
    q = 10
    dec = select_batch(scores, features, labels, evaluated, q)
    assert dec.diversified
    assert dec.checks["density_ratio"] > dec.checks["density_ratio_threshold"]
    top_q = np.argsort(-scores)[:q]
    chosen_gap = _min_dist(features[dec.indices], evaluated)
    plain_gap = _min_dist(features[top_q], evaluated)
    assert chosen_gap.min() > plain_gap.min()
    assert chosen_gap.mean() > plain_gap.mean()
    # the diversified batch is spread out more than the plain top q
    pair = np.linalg.norm(features[top_q][:, None] - features[top_q][None], axis=2)
    assert dec.intra_batch_distance > pair[np.triu_indices(q, 1)].mean()
    # switching diversification off (thresholds that never fire) gives the plain top q
    plain = select_batch(scores, features, labels, evaluated, q, density_ratio_threshold=math.inf,
                         coverage_threshold=0.0, kl_threshold=0.0)
    assert not plain.diversified
    assert plain.indices.tolist() == top_q.tolist()


def test_spread_top_candidates_do_not_trigger_and_pick_top_q() -> None:
    rng = np.random.default_rng(11)
    features = rng.uniform(-1, 1, size=(1000, 3))
    evaluated = rng.uniform(-1, 1, size=(60, 3))
    scores = rng.random(1000)
    labels = np.zeros(1000, int)
    dec = select_batch(scores, features, labels, evaluated, 10, cluster_bandwidth=False)
    assert not dec.diversified
    assert dec.checks["density_ratio"] <= 1.5
    assert dec.checks["grid_coverage"] >= 0.2
    assert dec.checks["histogram_kl"] >= 0.05
    assert dec.indices.tolist() == np.argsort(-scores)[:10].tolist()


def test_diversification_uses_clusters_of_the_leading_candidates() -> None:
    scores, features, labels, evaluated = _crowded()
    labels = (features[:, 0] > 3.0).astype(int)  # cluster 1: a strip far from the peak
    dec = select_batch(scores, features, labels, evaluated, 10, cluster_bandwidth=False)
    assert dec.diversified
    assert set(labels[dec.indices]) == {0}  # cluster 1 holds no top candidate


def test_no_evaluated_points() -> None:
    scores, features, labels, _ = _random_problem(12)
    dec = select_batch(scores, features, labels, np.empty((0, 3)), 5, cluster_bandwidth=False)
    assert not dec.diversified
    names = ("density_ratio", "grid_coverage", "histogram_kl")
    assert all(math.isnan(dec.checks[name]) for name in names)
    assert dec.indices.tolist() == np.argsort(-scores)[:5].tolist()
    payload = json.loads(json.dumps(dec.as_dict(), allow_nan=False))
    assert payload["checks"]["density_ratio"] is None


# ------------------------------------------------------------- determinism and output


def test_deterministic_and_ties_follow_the_seed() -> None:
    scores, features, labels, evaluated = _random_problem(13)
    a = select_batch(scores, features, labels, evaluated, 10, seed=4)
    b = select_batch(scores, features, labels, evaluated, 10, seed=4)
    assert a.indices.tolist() == b.indices.tolist()
    assert a.as_dict() == b.as_dict()
    tied = np.ones_like(scores)
    picks = {
        tuple(select_batch(tied, features, labels, evaluated, 5, seed=s).indices) for s in range(4)
    }
    assert len(picks) > 1  # ties are broken by the seed, not by row order
    again = select_batch(tied, features, labels, evaluated, 5, seed=2).indices
    repeat = select_batch(tied, features, labels, evaluated, 5, seed=2).indices
    assert again.tolist() == repeat.tolist()


def test_as_dict_is_json_serialisable() -> None:
    scores, features, labels, evaluated = _crowded()
    features = features.copy()
    features[: evaluated.shape[0]] = evaluated  # the top rows duplicate evaluated points
    scores = scores.copy()
    scores[: evaluated.shape[0]] = 2.0
    dec = select_batch(
        scores, features, labels, evaluated, 4, recent_improvement={0: 0.1}, n_neighbors=1
    )
    assert dec.checks["density_ratio"] == math.inf and dec.diversified
    assert not set(dec.indices.tolist()) & set(range(evaluated.shape[0]))
    payload = dec.as_dict()
    text = json.dumps(payload, allow_nan=False)
    back = json.loads(text)
    assert back["indices"] == dec.indices.tolist()
    assert back["diversified"] is dec.diversified
    assert set(back["checks"]) >= {"density_ratio", "grid_coverage", "histogram_kl",
                                    "density_ratio_threshold", "coverage_threshold", "kl_threshold"}
    assert back["cluster_bandwidth"] == {"0": 4}
    assert back["leading_cluster"] == 0
    assert back["checks"]["density_ratio"] is None  # inf is not valid JSON


# ----------------------------------------------------------------------- the check values


def test_local_density_ratio() -> None:
    ratio = local_density_ratio(np.array([2.0, 2.0, 4.0]), np.array([1.0, 1.0]))
    assert ratio == pytest.approx(2.0)
    assert local_density_ratio(np.array([1.0]), np.array([0.0, 0.0])) == math.inf
    assert local_density_ratio(np.array([0.0]), np.array([0.0])) == 1.0


def test_grid_coverage_counts_cells() -> None:
    evaluated = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    top = np.array([[0.1, 0.1], [0.2, 0.2]])  # one cell of the four occupied corners
    assert grid_coverage(top, evaluated, 2) == pytest.approx(0.25)
    spread = np.array([[0.1, 0.1], [0.9, 0.9]])
    assert grid_coverage(spread, evaluated, 2) == pytest.approx(0.5)
    assert grid_coverage(evaluated, evaluated, 3) == pytest.approx(1.0)


def test_histogram_kl() -> None:
    x = np.linspace(0.0, 1.0, 40)
    assert histogram_kl(x, x, 5) == pytest.approx(0.0, abs=1e-12)
    far = histogram_kl(np.full(10, 1.0), np.zeros(10), 4)
    assert far > 10.0  # all top mass where the evaluated set has none
    # top mass on half the evaluated support: KL = log 2
    half = histogram_kl(np.array([0.1, 0.2]), np.array([0.1, 0.9]), 2)
    assert half == pytest.approx(math.log(2), rel=1e-6)


def test_pca_plane_recovers_the_spread_axis() -> None:
    rng = np.random.default_rng(14)
    points = np.c_[10 * rng.normal(size=200), rng.normal(size=200), 0.01 * rng.normal(size=200)]
    plane = pca_plane(points)
    assert plane.shape == (200, 2)
    assert plane[:, 0].std() > 5 * plane[:, 1].std()
    assert np.all(pca_plane(np.ones((5, 3))) == 0)
    assert np.all(pca_plane(np.arange(4.0)[:, None])[:, 1] == 0)


def test_cluster_reweight_matches_the_code_formula() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0, -np.inf])
    labels = np.array([0, 0, 0, 0, 0, 1, 0])
    base = cluster_reweight(scores, labels, np.array([0]))
    u = scores[:5]
    iqr = np.subtract(*np.percentile(u, [75, 25]))
    s = np.maximum(u - np.median(u), 0) / iqr
    np.testing.assert_allclose(base[:5], np.exp(s - s.max()))
    assert base[4] == 1.0 and base[5] == 0.0 and base[6] == 0.0


def test_level_codes_cap_only_values_rarer_than_the_share():
    # one column: a one-hot indicator on 1 row of 10 (its zeros are common); one of 3 descriptor values
    X = np.column_stack([np.r_[1.0, np.zeros(9)], np.repeat([0.1, 0.2, 0.3], [2, 2, 6])])
    codes = level_codes(X, [0, 1], max_share=0.3)
    assert codes[:, 0].tolist() == [1] + [-1] * 9  # the indicator's ones (value index 1) are capped, zeros not
    assert codes[:, 1].tolist() == [0, 0, 1, 1] + [-1] * 6  # 0.3 is held by 60 % of the rows


def test_level_cap_spreads_a_batch_over_levels_while_another_pick_is_possible():
    # 12 candidates: 6 of level A (the best utilities), 6 of other levels; 4 picks, cap 2 per level
    rng = np.random.default_rng(0)
    features = rng.normal(size=(12, 2))
    scores = np.r_[np.linspace(10, 9, 6), np.linspace(5, 4, 6)]
    levels = np.r_[np.zeros(6), np.arange(1, 7)].astype(np.int64)[:, None]
    labels = np.zeros(12, dtype=np.int64)
    kw = dict(cluster_bandwidth=False, diversity_check=False)
    plain = select_batch(scores, features, labels, np.empty((0, 2)), 4, **kw)
    assert sorted(plain.indices.tolist()) == [0, 1, 2, 3]
    capped = select_batch(scores, features, labels, np.empty((0, 2)), 4, levels=levels, level_cap=0.5, **kw)
    assert sorted(capped.indices.tolist()) == [0, 1, 6, 7]  # two of A, then the best of the others
    # a cap that cannot be kept is dropped rather than the batch
    only_a = np.zeros((12, 1), dtype=np.int64)
    assert select_batch(scores, features, labels, np.empty((0, 2)), 4, levels=only_a, level_cap=0.25,
                        **kw).indices.size == 4
    cap = LevelCap(levels, 1)
    cap.add(0)
    assert cap.allowed(np.ones(12, dtype=bool)).tolist() == [False] * 6 + [True] * 6
