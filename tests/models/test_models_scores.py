import numpy as np
import pytest

from axfusion.models.scores import family_score, member_score, structural_trend


def test_member_score_perfect_and_useless_predictions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    perfect = member_score(y, y)
    assert perfect.r2 == pytest.approx(1.0, abs=1e-3)
    assert perfect.sigma == pytest.approx(0.03)  # floored
    useless = member_score(y, np.full(50, y.mean() + 5.0))
    assert useless.r2 == pytest.approx(1e-8)
    assert useless.elpd < perfect.elpd


def test_elpd_prefers_heavy_tails_for_outliers():
    rng = np.random.default_rng(1)
    r = rng.normal(scale=0.1, size=200)
    r[:5] = 5.0
    s = member_score(r, np.zeros_like(r))
    assert s.nu <= 5.0
    gauss = member_score(rng.normal(size=2000), np.zeros(2000))
    assert gauss.nu >= 15.0


def test_mad2_is_robust_variance():
    rng = np.random.default_rng(2)
    r = rng.normal(scale=2.0, size=5000)
    s = member_score(r, np.zeros_like(r))
    assert s.mad2 == pytest.approx(4.0, rel=0.1)


def test_family_score_stability_penalty_and_flat():
    ms = [member_score(np.arange(10.0), np.arange(10.0) + e) for e in (0.0, 0.5, 1.0, 2.0)]
    f = family_score(ms)
    r2 = np.array([m.r2 for m in ms])
    expected = max(0, r2.mean() - 0.01 * 4 / 3 * r2.std(ddof=1))
    assert f.accuracy == pytest.approx(expected)
    assert 0 < f.calibration <= 1
    flat = family_score(ms, flat=True)
    assert flat.accuracy == pytest.approx(0.01 * f.accuracy)
    assert flat.trend == 0.0


def test_structural_trend_smooth_vs_noise_vs_flat():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 3))
    smooth = np.tanh(Z[:, 0])
    noise = rng.normal(size=400)
    flat = np.zeros(400)
    S, is_flat = structural_trend(Z, np.stack([smooth, noise, flat]))
    assert S[0] > 0.5
    assert S[0] > S[1] + 0.2
    assert S[2] == 0.0 and is_flat[2] and not is_flat[0]
    assert np.all((S >= 0) & (S <= 1))
