r"""Tests of axfusion.acquisition.kalman: KF / reverse-KF weights and the fusion channel."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.acquisition.kalman import (
    KalmanConfig,
    deviation_ratio,
    fusion_channel,
    kalman_weights,
    measurement_noise,
    rkf_strength,
)


# ------------------------------------------------------------------ config
def test_config_validation():
    assert KalmanConfig().gain_mix == 0.9 and KalmanConfig().channels == "both"
    with pytest.raises(ValueError):
        KalmanConfig(channels="elpd")
    with pytest.raises(ValueError):
        KalmanConfig(gain_mix=1.5)
    with pytest.raises(ValueError):
        KalmanConfig(gain_mix=-0.1)
    KalmanConfig(gain_mix=0.0)
    KalmanConfig(gain_mix=1.0, channels="r2")


# ------------------------------------------------------- measurement noise
def test_measurement_noise_subtracts_median_prediction_variance():
    mad2 = np.array([0.5, 0.01, 0.2])
    P = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.0, 0.05, 1.0]])
    R = measurement_noise(mad2, P)
    np.testing.assert_allclose(R, [0.5 - 0.2, 1e-9, 0.2 - 0.05])
    R2 = measurement_noise(mad2, P, KalmanConfig(noise_floor=1e-3))
    np.testing.assert_allclose(R2, [0.3, 1e-3, 0.15])


# ---------------------------------------------------------------- weights
def test_kf_weights_are_normalised_inverse_variances_when_gain_mix_is_one():
    P = np.array([[0.01, 0.5, 0.2], [0.04, 0.1, 0.2], [0.09, 0.3, 0.2]])
    R = np.array([0.01, 0.02, 0.03])
    w_kf, w_rkf = kalman_weights(P, R, KalmanConfig(gain_mix=1.0))
    inv = 1.0 / (P + R[:, None])
    np.testing.assert_allclose(w_kf, inv / inv.sum(axis=0), rtol=1e-12)
    K = P / (P + R[:, None])
    np.testing.assert_allclose(w_rkf, K / K.sum(axis=0), rtol=1e-12)


def test_kf_weights_hand_computed_default_mixture():
    # S = P + R = [0.02, 0.05]; 1/S = [50, 20]; K = P/S = [0.5, 0.8]
    P = np.array([[0.01], [0.04]])
    R = np.array([0.01, 0.01])
    w_kf, w_rkf = kalman_weights(P, R)
    np.testing.assert_allclose(w_kf[:, 0], [0.9 * 50 / 70 + 0.05, 0.9 * 20 / 70 + 0.05], rtol=1e-12)
    np.testing.assert_allclose(w_rkf[:, 0], [0.9 * 0.5 / 1.3 + 0.05, 0.9 * 0.8 / 1.3 + 0.05], rtol=1e-12)
    # the precise family dominates KF, the uncertain one dominates rKF
    assert w_kf[0, 0] > w_kf[1, 0] and w_rkf[1, 0] > w_rkf[0, 0]


@pytest.mark.parametrize("mix", [0.0, 0.3, 0.9, 1.0])
def test_weight_columns_sum_to_one(mix):
    rng = np.random.default_rng(0)
    P = rng.uniform(0.0, 2.0, size=(4, 25))
    R = rng.uniform(1e-9, 0.5, size=4)
    w_kf, w_rkf = kalman_weights(P, R, KalmanConfig(gain_mix=mix))
    assert w_kf.shape == w_rkf.shape == (4, 25)
    np.testing.assert_allclose(w_kf.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w_rkf.sum(axis=0), 1.0, rtol=1e-12)
    assert np.all(w_kf >= (1 - mix) / 4 - 1e-15) and np.all(w_rkf >= (1 - mix) / 4 - 1e-15)
    if mix == 0.0:
        np.testing.assert_allclose(w_kf, 0.25)
        np.testing.assert_allclose(w_rkf, 0.25)


def test_rkf_weights_uniform_when_no_family_has_prediction_variance():
    P = np.zeros((3, 4))
    R = np.array([0.1, 0.2, 0.3])
    w_kf, w_rkf = kalman_weights(P, R)
    assert np.all(np.isfinite(w_rkf))
    np.testing.assert_allclose(w_rkf, 1.0 / 3.0)
    inv = 1.0 / R
    np.testing.assert_allclose(w_kf[:, 0], 0.9 * inv / inv.sum() + 0.1 / 3)


# ---------------------------------------------------------------- lambda
def test_rkf_strength_hand_computed():
    P = np.array([[0.01], [0.04]])
    R = np.array([0.01, 0.01])
    trend = np.array([0.5, 1.0])
    beta = (0.01 / 0.02 + 0.01 / 0.05) / 2  # 0.35
    assert rkf_strength(P, R, trend) == pytest.approx(beta * 0.75)


def test_rkf_strength_is_clipped():
    P = np.array([[0.01], [0.04]])
    R = np.array([0.01, 0.01])
    assert rkf_strength(P, R, np.zeros(2)) == pytest.approx(0.01)
    assert rkf_strength(P, R, np.ones(2), KalmanConfig(lambda_range=(0.01, 0.1))) == pytest.approx(0.1)
    # beta * S <= 1 always with the default range
    assert rkf_strength(np.zeros((2, 3)), R, np.ones(2)) == pytest.approx(1.0)


# ------------------------------------------------------- deviation ratio
def test_deviation_ratio_zero_for_equal_or_zero_scores():
    assert deviation_ratio(np.array([0.7, 0.7, 0.7])) == 0.0
    assert deviation_ratio(np.array([0.0, 0.0])) == 0.0
    assert deviation_ratio(np.array([])) == 0.0
    assert deviation_ratio(np.array([-1.0, -2.0])) == 0.0


def test_deviation_ratio_hand_computed():
    # s_hat = [1, 0.5]: mean 0.75, std 0.25
    assert deviation_ratio(np.array([1.0, 0.5])) == pytest.approx(0.1875)
    # s_hat = [1, 0.5, 0]: mean 0.5, population std sqrt(1/6)
    assert deviation_ratio(np.array([2.0, 1.0, 0.0])) == pytest.approx(0.5 * np.sqrt(1.0 / 6.0))
    # scale invariant
    s = np.array([0.3, 0.9, 0.6, 0.1])
    assert deviation_ratio(10 * s) == pytest.approx(deviation_ratio(s))


# ------------------------------------------------------- fusion channel
def test_fusion_channel_hand_computed():
    mu = np.array([[1.0, 2.0], [3.0, 4.0]])
    w_kf = np.array([[0.6, 0.5], [0.4, 0.5]])
    w_rkf = np.array([[0.2, 0.7], [0.8, 0.3]])
    scores = np.array([1.0, 0.5])
    out = fusion_channel(mu, w_kf, w_rkf, scores, deviation=0.25, lam=0.5)
    # w = 0.75 w_kf + 0.25 * 1.5 w_rkf
    col0 = 1.0 * (0.75 * 0.6 + 0.375 * 0.2) * 1.0 + 0.5 * (0.75 * 0.4 + 0.375 * 0.8) * 3.0
    col1 = 1.0 * (0.75 * 0.5 + 0.375 * 0.7) * 2.0 + 0.5 * (0.75 * 0.5 + 0.375 * 0.3) * 4.0
    np.testing.assert_allclose(out, [col0, col1], rtol=1e-12)
    np.testing.assert_allclose(out, [1.425, 2.25], rtol=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.37, 1.0, 5.0])
def test_zero_deviation_reduces_fusion_to_pure_kf(lam):
    rng = np.random.default_rng(7)
    mu = rng.normal(size=(3, 11))
    P = rng.uniform(0.01, 1.0, size=(3, 11))
    R = rng.uniform(0.01, 0.3, size=3)
    s = rng.uniform(0.1, 1.0, size=3)
    w_kf, w_rkf = kalman_weights(P, R)
    out = fusion_channel(mu, w_kf, w_rkf, s, 0.0, lam)
    np.testing.assert_allclose(out, (s[:, None] * w_kf * mu).sum(axis=0), rtol=1e-12)
    # and deviation 1 is pure (1 + lambda)-scaled rKF
    out1 = fusion_channel(mu, w_kf, w_rkf, s, 1.0, lam)
    np.testing.assert_allclose(out1, (1 + lam) * (s[:, None] * w_rkf * mu).sum(axis=0), rtol=1e-12)


def test_rkf_prefers_informative_disagreement_kf_prefers_consensus():
    # two families, two candidates: A (consensus at 1.0, both precise), B (family 1 says
    # 1.6 with a large sigma, family 2 says 0.6 with a small sigma)
    mu = np.array([[1.0, 1.6], [1.0, 0.6]])
    sigma = np.array([[0.1, 0.5], [0.1, 0.1]])
    R = np.array([0.01, 0.01])
    s = np.array([1.0, 1.0])
    w_kf, w_rkf = kalman_weights(sigma**2, R)
    kf = fusion_channel(mu, w_kf, w_rkf, s, deviation=0.0, lam=0.5)
    rkf = fusion_channel(mu, w_kf, w_rkf, s, deviation=1.0, lam=0.5)
    a, b = 0, 1
    assert kf[b] < kf[a]
    assert rkf[b] > rkf[a]
    # hand values: A is 1.0 (weights sum to one), scaled by 1 + lambda under rKF
    assert kf[a] == pytest.approx(1.0) and rkf[a] == pytest.approx(1.5)
    inv = np.array([1 / 0.26, 1 / 0.02])
    wk = 0.9 * inv / inv.sum() + 0.05
    K = np.array([0.25 / 0.26, 0.01 / 0.02])
    wr = 0.9 * K / K.sum() + 0.05
    assert kf[b] == pytest.approx(wk @ [1.6, 0.6])
    assert rkf[b] == pytest.approx(1.5 * (wr @ [1.6, 0.6]))
