r"""Tests of axfusion.acquisition.channels against docs/method.md Stage 3 (model channel)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from axfusion.acquisition.channels import (
    ChannelConfig,
    exploration_ratio,
    improvement,
    model_channel,
    optimism,
    softplus,
)


def _sp(x: float) -> float:
    return math.log1p(math.exp(x))


# ------------------------------------------------------------------ softplus
def test_softplus_matches_definition_for_moderate_inputs():
    x = np.array([-5.0, -1.0, 0.0, 0.5, 3.0, 10.0])
    np.testing.assert_allclose(softplus(x), np.log1p(np.exp(x)), rtol=1e-12)
    assert softplus(np.array(0.0)) == pytest.approx(math.log(2.0))


def test_softplus_is_stable_for_large_inputs():
    x = np.array([-1e4, -800.0, 800.0, 1e4, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        out = softplus(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[2:], x[2:], rtol=1e-12)  # softplus(x) = x for large x
    assert out[0] >= 0.0 and out[0] < 1e-300
    assert out[1] >= 0.0 and out[1] < 1e-300


# ----------------------------------------------------------------- optimism
def test_kappa_is_one_when_enough_predictions_are_optimistic():
    # p_pos = 1/10 exactly (the target share) -> kappa = 1
    mu = np.zeros((2, 5))
    sigma = np.zeros((2, 5))
    mu[0, 0] = 2.0
    assert optimism(mu, sigma, y_star=1.0) == 1.0
    # p_pos = 1 -> kappa = 1
    assert optimism(np.full((3, 4), 2.0), np.ones((3, 4)), y_star=1.0) == 1.0


def test_kappa_formula_for_small_optimistic_shares():
    mu = np.zeros((2, 10))
    sigma = np.full((2, 10), 0.1)
    # p_pos = 0 -> kappa = 1 + 2 * 0.1 = 1.2
    assert optimism(mu, sigma, y_star=1.0) == pytest.approx(1.2)
    # p_pos = 1/20 = 0.05 -> kappa = 1 + 2 * 0.05 = 1.1
    mu[1, 3] = 5.0
    assert optimism(mu, sigma, y_star=1.0) == pytest.approx(1.1)
    # mu + sigma == y* exactly is not "above" y*
    assert optimism(np.full((1, 4), 0.9), np.full((1, 4), 0.1), y_star=1.0 + 1e-12) == pytest.approx(1.2)


def test_kappa_respects_config_and_cap():
    cfg = ChannelConfig(p_pos_target=0.5, kappa_slope=10.0, kappa_max=3.0)
    # p_pos = 0 -> 1 + 10 * 0.5 = 6, capped at 3
    assert optimism(np.zeros((2, 3)), np.zeros((2, 3)), 1.0, cfg) == 3.0
    cfg2 = ChannelConfig(p_pos_target=0.5, kappa_slope=1.0)
    # p_pos = 0.25 -> 1 + 1 * 0.25
    mu = np.array([[2.0, 0.0, 0.0, 0.0]])
    assert optimism(mu, np.zeros_like(mu), 1.0, cfg2) == pytest.approx(1.25)


# -------------------------------------------------------------- improvement
def test_improvement_hand_computed_single_family():
    mu, sigma, y_star, kappa = np.array([[0.5]]), np.array([[0.2]]), 0.3, 1.0
    margin, imp, snr = improvement(mu, sigma, y_star, kappa)
    m = 0.5 + 0.2 - 0.3
    i = 0.05 * _sp(m / 0.05) / (0.3 + 0.01)
    s_eff = math.sqrt(0.2**2 + 0.0 + 1e-6)  # one family: no disagreement term
    assert margin[0, 0] == pytest.approx(m)
    assert imp[0, 0] == pytest.approx(i, rel=1e-12)
    assert snr[0, 0] == pytest.approx(i / s_eff, rel=1e-12)


def test_improvement_sigma_eff_includes_family_disagreement():
    # two families predicting 1 and 0 at one candidate: std over families = 0.5
    mu = np.array([[1.0], [0.0]])
    sigma = np.array([[0.1], [0.3]])
    y_star, kappa = -0.2, 1.5
    margin, imp, snr = improvement(mu, sigma, y_star, kappa)
    for f, (m_, s_) in enumerate([(1.0, 0.1), (0.0, 0.3)]):
        marg = m_ + kappa * s_ - y_star
        i = 0.05 * _sp(marg / 0.05) / (0.2 + 0.01)
        s_eff = math.sqrt(s_**2 + (0.5 * 0.5) ** 2 + 1e-6)
        assert margin[f, 0] == pytest.approx(marg)
        assert imp[f, 0] == pytest.approx(i, rel=1e-12)
        assert snr[f, 0] == pytest.approx(i / s_eff, rel=1e-12)


def test_improvement_is_finite_for_extreme_margins():
    mu = np.array([[-1e3, 1e3]])
    sigma = np.zeros((1, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, imp, snr = improvement(mu, sigma, 0.0, 1.0)
    assert np.all(np.isfinite(imp)) and np.all(np.isfinite(snr))
    assert imp[0, 0] == pytest.approx(0.0, abs=1e-300)
    assert imp[0, 1] == pytest.approx(1e3 / 0.01)  # 0.05 * (1e3 / 0.05) / 0.01


# -------------------------------------------------------- exploration ratio
def _hand_snr(mu_row, sig_row, y_star, kappa):
    margins, imps, snrs = [], [], []
    for m_, s_ in zip(mu_row, sig_row):
        marg = m_ + kappa * s_ - y_star
        i = 0.05 * _sp(marg / 0.05) / (abs(y_star) + 0.01)
        margins.append(marg)
        imps.append(i)
        snrs.append(i / math.sqrt(s_**2 + 1e-6))
    peak = sum(s * i for s, i in zip(snrs, imps)) / sum(imps)
    pos = [s for s, m_ in zip(snrs, margins) if m_ > 0]
    shoulder = sum(pos) / len(pos) if pos else 0.0
    return 0.5 * (peak + shoulder)


def test_exploration_ratio_hand_computed_peak_and_shoulder():
    mu = np.array([[0.5, -1.0, 0.1]])
    sigma = np.array([[0.2, 0.1, 0.3]])
    y_star, kappa, S = 0.3, 1.1, 0.01
    snr_m, gamma = exploration_ratio(mu, sigma, y_star, np.array([S]), kappa)
    expected = _hand_snr(mu[0], sigma[0], y_star, kappa)
    assert snr_m[0] == pytest.approx(expected, rel=1e-10)
    assert gamma[0] == pytest.approx(math.sqrt(expected * S), rel=1e-10)
    assert 0.0 < gamma[0] < 1.0  # not clipped in this example


def test_shoulder_is_zero_without_positive_margins():
    # every margin negative: shoulder = 0, SNR = peak / 2
    mu = np.array([[-2.0, -3.0]])
    sigma = np.array([[0.1, 0.1]])
    y_star, kappa = 1.0, 1.0
    snr_m, _ = exploration_ratio(mu, sigma, y_star, np.array([1.0]), kappa)
    imps, snrs = [], []
    for m_ in (-2.0, -3.0):
        i = 0.05 * _sp((m_ + 0.1 - 1.0) / 0.05) / 1.01
        imps.append(i)
        snrs.append(i / math.sqrt(0.01 + 1e-6))
    peak = (snrs[0] * imps[0] + snrs[1] * imps[1]) / (imps[0] + imps[1])
    assert snr_m[0] == pytest.approx(0.5 * peak, rel=1e-9)


def test_gamma_zero_when_trend_zero():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(3, 50))
    sigma = rng.uniform(0.05, 0.5, size=(3, 50))
    snr_m, gamma = exploration_ratio(mu, sigma, 0.5, np.array([0.0, 0.0, 0.0]), 1.0)
    assert np.all(snr_m > 0)
    np.testing.assert_array_equal(gamma, 0.0)
    # only the family with S_m = 0 gets gamma = 0
    _, gamma2 = exploration_ratio(mu, sigma, 0.5, np.array([0.0, 0.5, 1e-4]), 1.0)
    assert gamma2[0] == 0.0 and gamma2[1] > 0 and gamma2[2] > 0


def test_gamma_is_clipped_to_unit_interval():
    # large SNR (tiny sigma, mean far above y*): sqrt(SNR * S) >> 1
    mu = np.array([[3.0, 4.0], [2.0, 2.5]])
    sigma = np.full((2, 2), 1e-3)
    trend = np.array([1.0, 0.5])
    snr_m, gamma = exploration_ratio(mu, sigma, 0.1, trend, 1.0)
    assert np.all(np.sqrt(snr_m * trend) > 1.0)
    np.testing.assert_array_equal(gamma, [1.0, 1.0])
    # the authors' code does not clip
    _, raw = exploration_ratio(mu, sigma, 0.1, trend, 1.0, ChannelConfig(clip_gamma=False))
    np.testing.assert_allclose(raw, np.sqrt(snr_m * trend), rtol=1e-12)
    assert np.all(raw > 1.0)


def test_gamma_in_unit_interval_on_random_inputs():
    rng = np.random.default_rng(3)
    for _ in range(20):
        M, k = rng.integers(1, 5), rng.integers(1, 40)
        mu = rng.normal(scale=2.0, size=(M, k))
        sigma = rng.uniform(0.0, 1.0, size=(M, k))
        trend = rng.uniform(0, 1, size=M)
        y_star = float(rng.normal())
        snr_m, gamma = exploration_ratio(mu, sigma, y_star, trend, optimism(mu, sigma, y_star))
        assert snr_m.shape == (M,) and gamma.shape == (M,)
        assert np.all(np.isfinite(gamma)) and np.all((gamma >= 0) & (gamma <= 1))


# ------------------------------------------------------------ model channel
def test_model_channel_hand_computed():
    mu = np.array([[1.0, -0.5], [0.5, 2.0]])
    sigma = np.array([[0.2, 0.4], [0.4, 1.0]])
    acc = np.array([0.8, 0.4])
    cal = np.array([0.6, 0.2])
    gamma = np.array([0.5, 0.0])
    out = model_channel(mu, sigma, acc, cal, gamma)
    w0 = 0.5 * 0.8 + 0.5 * 0.6  # 0.7
    w1 = 0.0 * 0.4 + 1.0 * 0.2  # 0.2
    expected = [
        0.5 * (w0 * (1.0 + 0.1 * 0.2) + w1 * (0.5 + 0.1 * 0.4)),
        0.5 * (w0 * (-0.5 + 0.1 * 0.4) + w1 * (2.0 + 0.1 * 1.0)),
    ]
    assert out.shape == (2,)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_model_channel_gamma_limits_select_accuracy_or_calibration():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(3, 7))
    sigma = rng.uniform(0, 1, size=(3, 7))
    acc = np.array([0.9, 0.1, 0.5])
    cal = np.array([0.2, 0.7, 0.4])
    ucb = mu + 0.1 * sigma
    np.testing.assert_allclose(model_channel(mu, sigma, acc, cal, np.ones(3)), (acc[:, None] * ucb).mean(0))
    np.testing.assert_allclose(model_channel(mu, sigma, acc, cal, np.zeros(3)), (cal[:, None] * ucb).mean(0))
    # UCB width h is a config option
    out = model_channel(mu, sigma, acc, cal, np.ones(3), ChannelConfig(ucb_h=2.0))
    np.testing.assert_allclose(out, (acc[:, None] * (mu + 2.0 * sigma)).mean(0))
