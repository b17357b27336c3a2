r"""Tests of axfusion.acquisition.fusion: FusionScorer moments, calibration and channels."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from axfusion.acquisition.channels import exploration_ratio
from axfusion.acquisition.fusion import (
    FusionCalibration,
    FusionConfig,
    FusionScorer,
    TargetCalibration,
    probability_of_best,
)
from axfusion.acquisition.kalman import KalmanConfig, deviation_ratio, kalman_weights
from axfusion.acquisition.targets import Target
from axfusion.models.scores import FamilyScore, structural_trend

NAMES = ("a", "b")


def _scorer(Y=None, targets=None, config=None, acc=(0.8, 0.4), cal=(0.6, 0.2), mad2=(0.1, 0.3)):
    Y = np.array([0.0, 1.0, 2.0, 3.0]) if Y is None else Y
    return FusionScorer(Y, NAMES, np.array(acc), np.array(cal), np.array(mad2), targets=targets, config=config)


def _manual_calibration(scorer, *, acc, cal, gamma, R, lam, d_r2, d_elpd):
    M = len(acc)
    tc = TargetCalibration(
        y_mean=0.0,
        y_std=1.0,
        y_star=1.0,
        kappa=1.0,
        accuracy=np.asarray(acc, float),
        calibration=np.asarray(cal, float),
        trend=np.ones(M),
        flat=np.zeros(M, bool),
        snr=np.ones(M),
        gamma=np.asarray(gamma, float),
        R=np.asarray(R, float),
        lam=lam,
        d_r2=d_r2,
        d_elpd=d_elpd,
    )
    scorer.calibration = FusionCalibration(families=scorer.family_names, targets=(tc,))


# ------------------------------------------------------------ construction
def test_standardisation_of_observations():
    s = _scorer()
    sd = math.sqrt(1.25)
    np.testing.assert_allclose(s.y_mean, [1.5])
    np.testing.assert_allclose(s.y_std, [sd])
    np.testing.assert_allclose(s.Y_std[:, 0], (np.arange(4) - 1.5) / sd)
    assert s.m == 1 and s.calibration is None
    # minimise: oriented = -y, so the best (largest) standardised value belongs to y = 0
    s_min = _scorer(targets=[Target.minimize()])
    np.testing.assert_allclose(s_min.y_mean, [-1.5])
    np.testing.assert_allclose(s_min.Y_std[:, 0], (1.5 - np.arange(4)) / sd)
    assert np.argmax(s_min.Y_std[:, 0]) == 0


def test_mad2_rescaled_to_oriented_units():
    Y = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    # max/min: oriented std == raw std -> unchanged
    np.testing.assert_allclose(_scorer(Y=Y, targets=["minimize"]).mad2[:, 0], [0.1, 0.3])
    # value target 2: oriented = -|y - 2| = [-2, -1, 0, -1, -2]
    s = _scorer(Y=Y, targets=[Target.reach(2.0)])
    raw_std, o_std = Y.std(), np.array([-2.0, -1, 0, -1, -2]).std()
    np.testing.assert_allclose(s.mad2[:, 0], np.array([0.1, 0.3]) * (raw_std / o_std) ** 2)


def test_constant_observations_use_unit_std():
    s = _scorer(Y=np.full(5, 3.0))
    np.testing.assert_allclose(s.y_std, [1.0])
    np.testing.assert_allclose(s.Y_std, 0.0)


def test_invalid_training_targets_raise():
    with pytest.raises(ValueError):
        _scorer(Y=np.array([1.0]))
    with pytest.raises(ValueError):
        _scorer(Y=np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError):
        _scorer(Y=np.array([1.0, np.inf, 2.0]))
    with pytest.raises(ValueError):
        _scorer(targets=["maximize", "minimize"])  # two specifications for one target


def test_from_model_reads_family_scores():
    def fs(acc, cal, mad2):
        return FamilyScore(acc, cal, 0.5, acc, 0.0, 0.0, mad2, 3)

    model = SimpleNamespace(
        family_scores={"ridge": [fs(0.9, 0.8, 0.1), fs(0.7, 0.6, 0.2)], "knn": [fs(0.3, 0.2, 0.5), fs(0.4, 0.1, 0.6)]},
        train_targets_raw=torch.tensor([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]], dtype=torch.float64),
    )
    s = FusionScorer.from_model(model, targets=["maximize", "minimize"])
    assert s.family_names == ("ridge", "knn") and s.m == 2
    np.testing.assert_allclose(s.accuracy, [[0.9, 0.7], [0.3, 0.4]])
    np.testing.assert_allclose(s.calibration_scores, [[0.8, 0.6], [0.2, 0.1]])
    np.testing.assert_allclose(s.mad2, [[0.1, 0.2], [0.5, 0.6]])  # max/min: no rescaling
    np.testing.assert_allclose(s.y_mean, [1.0, -2.0])
    # explicit train_Y overrides the model's
    s2 = FusionScorer.from_model(model, train_Y=np.array([[0.0, 0.0], [2.0, 4.0]]))
    np.testing.assert_allclose(s2.y_mean, [1.0, 2.0])


# ----------------------------------------------------------------- moments
def test_moments_orient_and_standardise_member_predictions():
    s = _scorer()
    sd = math.sqrt(1.25)
    vals = np.array([[[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]], [[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]]])[..., None]  # 2x3x2x1
    mu, sigma = s.moments(vals)
    assert mu.shape == sigma.shape == (2, 2, 1)
    np.testing.assert_allclose(mu[..., 0], (vals[..., 0].mean(axis=1) - 1.5) / sd)
    spread = vals[..., 0].std(axis=1, ddof=1) / sd
    np.testing.assert_allclose(sigma[..., 0], np.maximum(spread, 0.03))
    # members that agree exactly do not claim zero uncertainty: the 0.03 floor
    np.testing.assert_allclose(sigma[1, 0, 0], 0.03)
    # minimise flips the sign of the mean, not the spread
    mu_min, sig_min = _scorer(targets=["minimize"]).moments(vals)
    np.testing.assert_allclose(mu_min, -mu)
    np.testing.assert_allclose(sig_min, sigma)
    # own predictive std adds its mean variance (in standardised units)
    own = np.full_like(vals, 0.5)
    own[0, 0] = 1.5
    _, sig_own = s.moments(vals, own)
    extra = ((own[..., 0] / sd) ** 2).mean(axis=1)
    np.testing.assert_allclose(sig_own[..., 0] ** 2, np.maximum(spread**2 + extra, 0.03**2))


def test_moments_window_target():
    s = _scorer(targets=[Target.window(1.0, 2.0)])
    # oriented training values: [-1, 0, 0, -1] -> mean -0.5, std 0.5
    np.testing.assert_allclose(s.y_mean, [-0.5])
    np.testing.assert_allclose(s.y_std, [0.5])
    vals = np.array([1.5, 1.5, 4.0, 4.0]).reshape(2, 2, 1, 1)
    mu, sigma = s.moments(vals)
    np.testing.assert_allclose(mu[:, 0, 0], [(0.0 + 0.5) / 0.5, (-2.0 + 0.5) / 0.5])
    np.testing.assert_allclose(sigma, 0.03)  # no spread: the floor


def test_moments_reject_wrong_shapes():
    s = _scorer()
    with pytest.raises(ValueError):
        s.moments(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError):
        s.moments(np.zeros((3, 2, 4, 1)))  # 3 families, 2 known
    with pytest.raises(ValueError):
        s.moments(np.zeros((2, 2, 4, 2)))  # 2 targets, 1 known


# ------------------------------------------------------------- calibration
def _toy_candidates(k=60, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(k, 3))
    mu = np.stack([np.sin(Z[:, 0]) + 0.3 * Z[:, 1], 0.5 * Z[:, 0] - 0.2 * Z[:, 2]])[..., None]
    sigma = rng.uniform(0.05, 0.5, size=(2, k, 1))
    return Z, mu, sigma


def test_calibrate_fixes_set_level_quantities():
    s = _scorer()
    Z, mu, sigma = _toy_candidates()
    cal = s.calibrate(Z, mu, sigma)
    assert s.calibration is cal and cal.families == NAMES and len(cal.targets) == 1
    t = cal.targets[0]
    y_star = (3 - 1.5) / math.sqrt(1.25)
    assert t.y_star == pytest.approx(y_star)
    assert t.y_mean == pytest.approx(1.5) and t.y_std == pytest.approx(math.sqrt(1.25))
    P = sigma[..., 0] ** 2
    np.testing.assert_allclose(t.R, np.maximum(np.array([0.1, 0.3]) - np.median(P, axis=1), 1e-9))
    trend, flat = structural_trend(Z, mu[..., 0])
    np.testing.assert_allclose(t.trend, trend)
    assert not flat.any()
    np.testing.assert_allclose(t.accuracy, [0.8, 0.4])
    np.testing.assert_allclose(t.calibration, [0.6, 0.2])
    p_pos = np.mean(mu[..., 0] + sigma[..., 0] > y_star)
    assert t.kappa == pytest.approx(min(3.0, 1 + 2 * max(0.0, 0.1 - p_pos)))
    snr, gamma = exploration_ratio(mu[..., 0], sigma[..., 0], y_star, trend, t.kappa)
    np.testing.assert_allclose(t.gamma, gamma)
    assert np.all((t.gamma >= 0) & (t.gamma <= 1))
    beta = np.mean(t.R[:, None] / (P + t.R[:, None]))
    assert t.lam == pytest.approx(np.clip(beta * trend.mean(), 0.01, 1.0))
    # s_hat = [1, 0.5] -> 0.1875; e_hat = [1, 1/3] -> mean 2/3, std 1/3
    assert t.d_r2 == pytest.approx(0.1875)
    assert t.d_elpd == pytest.approx(2 / 9)
    d = cal.as_dict()
    assert set(d) == {"target_0"} and set(d["target_0"]["families"]) == set(NAMES)
    assert d["target_0"]["D_r2"] == pytest.approx(0.1875)


def test_flat_family_is_down_weighted():
    s = _scorer()
    Z, mu, sigma = _toy_candidates()
    mu[1] = 0.25  # family b predicts a constant
    t = s.calibrate(Z, mu, sigma).targets[0]
    np.testing.assert_array_equal(t.flat, [False, True])
    assert t.trend[1] == 0.0 and t.gamma[1] == 0.0
    np.testing.assert_allclose(t.accuracy, [0.8, 0.4 * 0.01])
    np.testing.assert_allclose(t.calibration, [0.6, 0.2 * 0.01])
    assert t.d_r2 == pytest.approx(deviation_ratio(np.array([0.8, 0.004])))
    t2 = _scorer(config=FusionConfig(flat_factor=0.5)).calibrate(Z, mu, sigma).targets[0]
    np.testing.assert_allclose(t2.accuracy, [0.8, 0.2])


def test_channels_before_calibration_raise():
    s = _scorer()
    _, mu, sigma = _toy_candidates()
    with pytest.raises(RuntimeError):
        s.channels(mu, sigma)


# ----------------------------------------------------------------- channels
def test_channels_hand_computed():
    s = _scorer()
    _manual_calibration(
        s, acc=[0.8, 0.4], cal=[0.6, 0.2], gamma=[0.5, 0.0], R=[0.04, 0.04], lam=0.5, d_r2=0.2, d_elpd=0.0
    )
    mu = np.array([[1.0], [0.5]])[..., None]
    sigma = np.array([[0.2], [0.4]])[..., None]
    out = s.channels(mu, sigma)
    assert set(out) == {"model", "fusion_r2", "fusion_elpd", "fusion", "score", "mean", "spread"}
    assert all(v.shape == (1, 1) for v in out.values())
    a_model = 0.5 * ((0.5 * 0.8 + 0.5 * 0.6) * (1.0 + 0.02) + 0.2 * (0.5 + 0.04))
    # S = [0.08, 0.2]: 1/S = [12.5, 5]; K = [0.5, 0.8]
    wk = np.array([0.9 * 12.5 / 17.5 + 0.05, 0.9 * 5 / 17.5 + 0.05])
    wr = np.array([0.9 * 0.5 / 1.3 + 0.05, 0.9 * 0.8 / 1.3 + 0.05])
    w_r2 = 0.8 * wk + 0.2 * 1.5 * wr
    f_r2 = 0.8 * w_r2[0] * 1.0 + 0.4 * w_r2[1] * 0.5
    f_elpd = 0.6 * wk[0] * 1.0 + 0.2 * wk[1] * 0.5
    f = 0.5 * (f_r2 + f_elpd)
    assert out["model"][0, 0] == pytest.approx(a_model)
    assert out["fusion_r2"][0, 0] == pytest.approx(f_r2)
    assert out["fusion_elpd"][0, 0] == pytest.approx(f_elpd)
    assert out["fusion"][0, 0] == pytest.approx(f)
    assert out["score"][0, 0] == pytest.approx(math.sqrt(a_model**2 + f**2))
    assert out["mean"][0, 0] == pytest.approx(0.7 * 1.0 + 0.3 * 0.5)  # (s + e) normalised: [0.7, 0.3]
    assert out["spread"][0, 0] == pytest.approx(0.25)
    # the authors' code fuses the R^2 channel only
    s_r2 = s.with_config(kalman=KalmanConfig(channels="r2"))
    assert s_r2.calibration is None and s.calibration is not None  # copy, original untouched
    s_r2.calibration = s.calibration
    assert s_r2.channels(mu, sigma)["fusion"][0, 0] == pytest.approx(f_r2)
    assert s_r2.channels(mu, sigma)["score"][0, 0] == pytest.approx(math.sqrt(a_model**2 + f_r2**2))


def test_l2_late_fusion_clips_negative_channels_and_ablations():
    s = _scorer()
    Z, mu, sigma = _toy_candidates(k=80, seed=2)
    mu = mu - 0.3
    s.calibrate(Z, mu, sigma)
    out = s.channels(mu, sigma)
    a, f = out["model"][:, 0], out["fusion"][:, 0]
    assert (a < 0).any() and (f < 0).any() and (a > 0).any()
    np.testing.assert_allclose(out["score"][:, 0], np.hypot(np.maximum(a, 0), np.maximum(f, 0)))
    assert np.all(out["score"] >= 0)
    np.testing.assert_allclose(out["score"][(a <= 0) & (f <= 0), 0], 0.0)
    for flag, kept in (("use_model_channel", f), ("use_fusion_channel", a)):
        s2 = s.with_config(**{flag: False})
        assert getattr(s.config, flag) is True
        s2.calibrate(Z, mu, sigma)
        np.testing.assert_allclose(s2.channels(mu, sigma)["score"][:, 0], np.maximum(kept, 0.0))


def test_equal_scores_make_fusion_pure_kf():
    # equal accuracies and calibrations -> both deviation ratios 0 -> F is KF, whatever lambda is
    s = _scorer(acc=(0.7, 0.7), cal=(0.4, 0.4))
    Z, mu, sigma = _toy_candidates()
    t = s.calibrate(Z, mu, sigma).targets[0]
    assert t.d_r2 == 0.0 and t.d_elpd == 0.0 and t.lam > 0
    out = s.channels(mu, sigma)
    w_kf, _ = kalman_weights(sigma[..., 0] ** 2, t.R)
    kf = (w_kf * mu[..., 0]).sum(axis=0)
    np.testing.assert_allclose(out["fusion_r2"][:, 0], 0.7 * kf)
    np.testing.assert_allclose(out["fusion_elpd"][:, 0], 0.4 * kf)
    np.testing.assert_allclose(out["fusion"][:, 0], 0.55 * kf)


def test_scores_are_pointwise_after_calibration():
    # after calibration, a candidate's channels do not depend on the other candidates scored with it
    s = _scorer()
    Z, mu, sigma = _toy_candidates(k=50)
    s.calibrate(Z, mu, sigma)
    full = s.channels(mu, sigma)
    parts = [s.channels(mu[:, sl], sigma[:, sl]) for sl in (slice(0, 7), slice(7, 31), slice(31, 50))]
    for key in full:
        np.testing.assert_allclose(np.concatenate([p[key] for p in parts]), full[key], rtol=1e-12, atol=1e-15)


def test_two_targets_are_calibrated_per_target_with_a_pooled_kappa():
    Y = np.array([[0.0, 5.0], [1.0, 3.0], [2.0, 4.0], [3.0, 0.0]])
    s = FusionScorer(Y, NAMES, np.array([[0.8, 0.5], [0.4, 0.5]]), np.ones((2, 2)) * 0.5, np.full((2, 2), 0.1),
                     targets=["maximize", "minimize"])
    Z, mu1, sigma1 = _toy_candidates(seed=4)
    mu = np.concatenate([mu1, -mu1], axis=-1)
    sigma = np.concatenate([sigma1, sigma1], axis=-1)
    cal = s.calibrate(Z, mu, sigma)
    assert len(cal.targets) == 2
    assert cal.targets[0].d_r2 == pytest.approx(0.1875) and cal.targets[1].d_r2 == 0.0
    sd2 = Y[:, 1].std()
    # oriented -Y = [-5, -3, -4, 0]: mean -3, best 0 (the smallest raw value)
    assert cal.targets[1].y_star == pytest.approx(3.0 / sd2)
    out = s.channels(mu, sigma)
    assert all(v.shape == (60, 2) for v in out.values())
    single = FusionScorer(Y[:, 0], NAMES, np.array([0.8, 0.4]), np.array([0.5, 0.5]), np.array([0.1, 0.1]))
    single.calibrate(Z, mu1, sigma1)
    # the fusion channel does not involve kappa: identical to the single-target scorer
    np.testing.assert_allclose(out["fusion"][:, 0], single.channels(mu1, sigma1)["fusion"][:, 0])
    # p_pos is the share over (family, candidate, target): one kappa for both targets
    y_stars = np.array([c.y_star for c in cal.targets])
    p_pos = np.mean(mu + sigma > y_stars)
    expected = min(3.0, 1.0 + 2.0 * max(0.0, 0.1 - p_pos))
    assert cal.targets[0].kappa == pytest.approx(expected) and cal.targets[1].kappa == pytest.approx(expected)


def test_softmax_family_weights_concentrate_both_channels():
    s = _scorer(config=FusionConfig(family_weighting="softmax", family_temperature=0.1))
    _manual_calibration(
        s, acc=[0.8, 0.4], cal=[0.6, 0.2], gamma=[0.5, 0.0], R=[0.04, 0.04], lam=0.5, d_r2=0.0, d_elpd=0.0
    )
    omega = np.exp(np.array([0.0, -0.4]) / 0.1)
    omega /= omega.sum()
    np.testing.assert_allclose(s.family_weights(s.calibration.targets[0]), omega)
    mu = np.array([[1.0], [0.5]])[..., None]
    sigma = np.array([[0.2], [0.4]])[..., None]
    out = s.channels(mu, sigma)
    terms = np.array([(0.5 * 0.8 + 0.5 * 0.6) * (1.0 + 0.02), 0.2 * (0.5 + 0.04)])
    assert out["model"][0, 0] == pytest.approx(omega @ terms)
    wk = np.array([0.9 * 12.5 / 17.5 + 0.05, 0.9 * 5 / 17.5 + 0.05]) * omega
    wk /= wk.sum()
    assert out["fusion_r2"][0, 0] == pytest.approx(0.8 * wk[0] * 1.0 + 0.4 * wk[1] * 0.5)
    uniform = _scorer()
    uniform.calibration = s.calibration
    assert uniform.family_weights(s.calibration.targets[0]) is None
    assert uniform.channels(mu, sigma)["model"][0, 0] == pytest.approx(terms.mean())


def test_probability_of_best_shares_between_indistinguishable_families_and_concentrates_otherwise():
    # equal accuracies, no spread: shared equally
    np.testing.assert_allclose(probability_of_best(np.array([0.3, 0.3, 0.3]), np.zeros(3)), [1 / 3] * 3, atol=1e-6)
    # one family clearly better: it takes (almost) everything
    p = probability_of_best(np.array([0.9, 0.4, 0.3]), np.array([0.05, 0.1, 0.1]))
    assert p[0] > 0.999 and p.sum() == pytest.approx(1.0)
    # two families within each other's noise share; a distant third gets little
    p = probability_of_best(np.array([0.20, 0.18, 0.0]), np.array([0.1, 0.1, 0.01]))
    assert 0.45 < p[0] < 0.65 and 0.35 < p[1] < 0.55 and p[2] < 0.05
    # Monte Carlo check of the integral
    rng = np.random.default_rng(0)
    mean, std = np.array([0.2, 0.1, 0.15]), np.array([0.1, 0.2, 0.05])
    draws = rng.normal(mean, std, size=(200_000, 3)).argmax(axis=1)
    np.testing.assert_allclose(probability_of_best(mean, std), np.bincount(draws) / draws.size, atol=5e-3)


def test_probability_family_weights_use_the_members_accuracy_spread():
    s = _scorer(config=FusionConfig(family_weighting="probability"))
    _manual_calibration(
        s, acc=[0.8, 0.4], cal=[0.6, 0.2], gamma=[0.5, 0.0], R=[0.04, 0.04], lam=0.5, d_r2=0.0, d_elpd=0.0
    )
    tc = s.calibration.targets[0]
    np.testing.assert_allclose(s.family_weights(tc), probability_of_best(np.array([0.8, 0.4]), np.zeros(2)))
    wide = dataclasses.replace(tc, accuracy_spread=np.array([0.5, 0.5]))
    w = s.family_weights(wide)
    assert 0.5 < w[0] < 0.85  # the spread leaves the worse family a real share
    # from_model-style construction carries the spread into the calibration
    scorer = FusionScorer(
        np.array([[0.0], [1.0], [2.0], [0.5]]), NAMES, np.array([0.5, 0.5]), np.array([0.5, 0.5]),
        np.array([0.1, 0.1]), config=FusionConfig(family_weighting="probability"),
        accuracy_spread=np.array([0.3, 0.0]),
    )
    rng = np.random.default_rng(1)
    cal = scorer.calibrate(rng.normal(size=(30, 2)), rng.normal(size=(2, 30, 1)), np.full((2, 30, 1), 0.5))
    np.testing.assert_allclose(cal.targets[0].accuracy_spread, [0.3, 0.0])


def test_distance_spread_widens_the_std_away_from_the_data_by_the_oob_error():
    vals = np.random.default_rng(0).normal(size=(2, 3, 4, 1))
    distance = np.array([0.0, 0.5, 2.0, 50.0])
    plain = _scorer()
    mu0, sig0 = plain.moments(vals, distance=distance)  # the option is off by default
    np.testing.assert_allclose(sig0, plain.moments(vals)[1])
    s = _scorer(config=FusionConfig(distance_spread=True))
    mu, sig = s.moments(vals, distance=distance)
    np.testing.assert_allclose(mu, mu0)
    reach = 1.0 - np.exp(-0.5 * distance**2)
    expected = np.sqrt(sig0[..., 0] ** 2 + s.mad2[:, 0][:, None] * reach[None])
    np.testing.assert_allclose(sig[..., 0], expected)
    np.testing.assert_allclose(sig[:, 0], sig0[:, 0])  # at an evaluated design: unchanged
    np.testing.assert_allclose(sig[:, 3, 0] ** 2, sig0[:, 3, 0] ** 2 + s.mad2[:, 0])  # far: + the OOB error


def test_acquisition_measures_distance_in_the_members_space():
    from axfusion.acquisition import FusionAcquisition
    from axfusion.models import ReservoirModel
    from axfusion.settings import ReservoirSettings

    rng = np.random.default_rng(1)
    X = torch.as_tensor(rng.uniform(size=(25, 3)))
    Y = torch.as_tensor(np.sin(3 * X[:, :1].numpy()) + 0.1 * rng.normal(size=(25, 1)))
    model = ReservoirModel(X, Y, ReservoirSettings(families=("ridge", "knn"), n_members=3), seed=0).fit()
    acqf = FusionAcquisition(model, config=FusionConfig(distance_spread=True))
    near, far = X[:3], X[:3] + 5.0
    m_near, m_far = acqf.predict(near), acqf.predict(far)
    assert np.all(m_far.sigma > m_near.sigma)
    np.testing.assert_allclose(acqf.data_distance(model.standardised_inputs(near)), 0.0, atol=1e-12)


def test_level_spread_widens_the_std_by_the_level_effect_variance():
    vals = np.random.default_rng(0).normal(size=(2, 3, 4, 1))
    level = np.array([[1.0], [0.5], [0.25], [0.0]])  # k x m level-effect variances
    assert FusionConfig().level_spread == 1.0  # on by default
    plain = _scorer(config=FusionConfig(level_spread=0.0))
    mu0, sig0 = plain.moments(vals, level=level)  # 0: off
    np.testing.assert_allclose(sig0, plain.moments(vals)[1])
    s = _scorer(config=FusionConfig(level_spread=2.0))
    mu, sig = s.moments(vals, level=level)
    np.testing.assert_allclose(mu, mu0)
    np.testing.assert_allclose(sig[..., 0] ** 2, sig0[..., 0] ** 2 + 2.0 * level[None, :, 0])
    from axfusion.settings import SettingsError

    with pytest.raises(SettingsError, match="level_spread"):
        FusionConfig(level_spread=-1.0)


def test_level_spread_makes_a_never_measured_level_uncertain_to_the_fused_pick():
    from axfusion.acquisition import FusionAcquisition
    from axfusion.acquisition.levels import level_effect_variance
    from axfusion.models import ReservoirModel
    from axfusion.settings import ReservoirSettings

    rng = np.random.default_rng(2)
    level = rng.integers(0, 3, size=30)  # input A: levels 0-2 measured, level 3 never; it matters
    other = rng.integers(0, 2, size=30)  # input B: two levels, no effect
    x = rng.uniform(size=(30, 1))
    X = np.column_stack([x, np.eye(4)[level], np.eye(2)[other]])
    Y = np.sin(3 * x) + 1.5 * level[:, None] + 0.05 * rng.normal(size=(30, 1))
    scale = np.array([np.nan, *[np.sqrt(2.0)] * 6])
    groups = np.array([-1, 0, 0, 0, 0, 1, 1])
    model = ReservoirModel(
        torch.as_tensor(X), torch.as_tensor(Y), ReservoirSettings(families=("ridge", "knn"), n_members=3),
        seed=0, input_scale=scale, input_groups=groups,
    ).fit()
    cand = torch.as_tensor(np.column_stack([np.full(4, 0.5), np.eye(4), np.tile([1.0, 0.0], (4, 1))]))
    plain = FusionAcquisition(model, config=FusionConfig(level_spread=0.0)).predict(cand)
    acqf = FusionAcquisition(model, config=FusionConfig(level_spread=1.0))
    wide = acqf.predict(cand)
    np.testing.assert_allclose(wide.mu, plain.mu)
    gain = wide.sigma**2 - plain.sigma**2  # up to the std floor (0.03^2) of a flat family
    assert [len(g) for g in acqf.level_groups()] == [4, 2]
    Z, Z_train = model.standardised_inputs(cand), model.standardised_training_data()[0]
    expected = level_effect_variance(Z_train, acqf.scorer.Y_std, Z, acqf.level_groups())
    np.testing.assert_allclose(gain, np.broadcast_to(expected, gain.shape), atol=1e-3)
    assert expected[3, 0] > 0.5 and np.all(expected[:3, 0] < 0.1 * expected[3, 0])  # the new level stands out
    # without the model's groups every fixed-scale column counts as its own input
    bare = ReservoirModel(
        torch.as_tensor(X), torch.as_tensor(Y), ReservoirSettings(families=("ridge",), n_members=2),
        seed=0, input_scale=scale,
    )
    assert [len(g) for g in FusionAcquisition(bare).level_groups()] == [1] * 6
