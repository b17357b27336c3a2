import numpy as np
import pytest

from axfusion.models.bootstrap import plan_bootstrap, target_biased_probabilities


def test_probabilities_favour_high_targets_within_each_cluster():
    y = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = target_biased_probabilities(y, labels)
    assert p.sum() == pytest.approx(1.0)
    # monotone inside each cluster, and the same shape in both clusters
    assert np.all(np.diff(p[:4]) >= 0) and np.all(np.diff(p[4:]) >= 0)
    np.testing.assert_allclose(p[:4], p[4:])
    assert p[3] > p[0]


def test_noise_points_share_the_remaining_mass_uniformly():
    y = np.arange(10.0)
    labels = np.array([0] * 6 + [-1] * 4)
    p = target_biased_probabilities(y, labels, clustered_mass=0.9)
    assert p[labels == -1].sum() == pytest.approx(0.1)
    np.testing.assert_allclose(p[labels == -1], 0.025)
    assert p[labels == 0].sum() == pytest.approx(0.9)


def test_all_noise_is_uniform():
    p = target_biased_probabilities(np.arange(5.0), np.full(5, -1))
    np.testing.assert_allclose(p, 0.2)


def test_plan_has_half_biased_members_and_oob_rows():
    rng = np.random.default_rng(0)
    probs = target_biased_probabilities(np.arange(30.0), np.zeros(30, dtype=int))
    plan = plan_bootstrap(30, 8, rng, biased_probs=probs)
    assert plan.biased.sum() == 4
    assert np.all((plan.rho[plan.biased] >= 0.6) & (plan.rho[plan.biased] <= 1.0))
    assert np.all(plan.rho[~plan.biased] == 1.0)
    for b in range(8):
        assert plan.indices[b].shape == (30,)
        assert plan.oob_mask(b, 30).sum() >= 2


def test_biased_members_draw_high_targets_more_often():
    rng = np.random.default_rng(1)
    y = np.arange(200.0)
    probs = target_biased_probabilities(y, np.zeros(200, dtype=int))
    plan = plan_bootstrap(200, 400, rng, biased_probs=probs, biased_fraction=0.5)
    biased_mean = np.mean([y[plan.indices[b]].mean() for b in range(400) if plan.biased[b]])
    uniform_mean = np.mean([y[plan.indices[b]].mean() for b in range(400) if not plan.biased[b]])
    # E[1 - rho] = 0.2 of the biased members' mass follows probs
    expected_shift = 0.2 * (probs @ y - y.mean())
    assert expected_shift > 3
    assert biased_mean - uniform_mean > 0.5 * expected_shift


def test_plan_is_deterministic_and_validates():
    a = plan_bootstrap(20, 4, np.random.default_rng(3))
    b = plan_bootstrap(20, 4, np.random.default_rng(3))
    for x, y in zip(a.indices, b.indices):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        plan_bootstrap(1, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels"):
        target_biased_probabilities(np.arange(3.0), np.zeros(4))
