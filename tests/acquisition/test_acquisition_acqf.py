r"""End-to-end tests of FusionAcquisition (and FusionScorer) on a small fitted ReservoirModel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.exceptions.errors import UnsupportedError
from botorch.optim import optimize_acqf_discrete
from sklearn.cluster import KMeans

from axfusion.acquisition import (
    FusionAcquisition,
    FusionConfig,
    HypervolumeConfig,
    StructuralWeight,
    Target,
)
from axfusion.models import ReservoirModel

FAMILIES = ("ridge", "knn", "lightgbm")
COEF = np.array([1.0, 0.5, 0.25, 0.1])
CHANNELS = ("model", "fusion_r2", "fusion_elpd", "fusion", "score", "mean", "spread")


def _clusterer(X: np.ndarray, seed: int) -> np.ndarray:
    return KMeans(3, n_init=2, random_state=seed).fit_predict(X)


def _truth(X: np.ndarray) -> np.ndarray:
    return np.asarray(X) @ COEF  # monotone in every input


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(30, 4))
    y1 = _truth(X) + 0.01 * rng.normal(size=30)
    y2 = -((X[:, 0] - 0.3) ** 2) + 0.5 * X[:, 3] + 0.01 * rng.normal(size=30)
    pool = torch.as_tensor(np.random.default_rng(1).uniform(size=(2000, 4)))
    return torch.as_tensor(X), torch.as_tensor(y1[:, None]), torch.as_tensor(np.stack([y1, y2], 1)), pool


@pytest.fixture(scope="module")
def model(data):
    X, Y1, _, _ = data
    return ReservoirModel(X, Y1, families=FAMILIES, n_members=3, clusterer=_clusterer, seed=0).fit()


@pytest.fixture(scope="module")
def model2(data):
    X, _, Y2, _ = data
    return ReservoirModel(X, Y2, families=FAMILIES, n_members=3, clusterer=_clusterer, seed=0).fit()


@pytest.fixture(scope="module")
def pool(data):
    return data[3]


@pytest.fixture(scope="module")
def scored(model, pool):
    acqf = FusionAcquisition(model)
    cal = acqf.calibrate(pool)
    return acqf, cal, acqf.score(pool)


# --------------------------------------------------------------- construction
def test_scorer_built_from_model(model):
    acqf = FusionAcquisition(model)
    s = acqf.scorer
    assert s.family_names == FAMILIES and s.m == 1
    scores = model.family_scores
    np.testing.assert_allclose(s.accuracy[:, 0], [scores[n][0].accuracy for n in FAMILIES])
    np.testing.assert_allclose(s.calibration_scores[:, 0], [scores[n][0].calibration for n in FAMILIES])
    np.testing.assert_allclose(s.mad2[:, 0], [scores[n][0].mad2 for n in FAMILIES])
    y = model.train_targets_raw.numpy()[:, 0]
    np.testing.assert_allclose(s.Y_std[:, 0], (y - y.mean()) / y.std())
    assert acqf.calibration is None


def test_ref_point_length_is_checked(model2):
    with pytest.raises(ValueError):
        FusionAcquisition(model2, ref_point=[0.0])


# ------------------------------------------------------ calibration and score
def test_calibrate_then_score_shapes_and_ranges(scored, pool):
    acqf, cal, parts = scored
    k = pool.shape[0]
    assert acqf.calibration is cal and cal.families == FAMILIES and len(cal.targets) == 1
    t = cal.targets[0]
    for arr in (t.accuracy, t.calibration, t.trend, t.flat, t.snr, t.gamma, t.R):
        assert arr.shape == (3,)
    assert np.all((t.gamma >= 0) & (t.gamma <= 1))
    assert 0.01 <= t.lam <= 1.0 and 1.0 <= t.kappa <= 1.2
    assert np.all(t.R >= 1e-9)
    for key in CHANNELS:
        assert parts[key].shape == (k, 1), key
        assert np.all(np.isfinite(parts[key])), key
    for key in ("utility", "acquisition", "pi"):
        assert parts[key].shape == (k,), key
    assert "ehvi" not in parts
    np.testing.assert_array_equal(parts["pi"], 1.0)
    np.testing.assert_array_equal(parts["utility"], parts["acquisition"])
    np.testing.assert_array_equal(parts["acquisition"], parts["score"][:, 0])
    assert np.all(parts["utility"] >= 0) and parts["utility"].max() > 0
    a, f = parts["model"][:, 0], parts["fusion"][:, 0]
    np.testing.assert_allclose(parts["score"][:, 0], np.hypot(np.maximum(a, 0), np.maximum(f, 0)))


def test_moments_follow_member_predictions(scored, model, pool):
    acqf = scored[0]
    X = pool[:50]
    m = acqf.predict(X)
    Z, mu, sigma = m.Z, m.mu, m.sigma
    vals = model.member_predictions(X)
    s = acqf.scorer
    np.testing.assert_allclose(mu[..., 0], (vals[..., 0].mean(axis=1) - s.y_mean[0]) / s.y_std[0])
    spread = vals[..., 0].std(axis=1, ddof=1) / s.y_std[0]
    np.testing.assert_allclose(sigma[..., 0], np.maximum(spread, s.config.sigma_floor))
    np.testing.assert_allclose(Z, model.standardised_inputs(X))


def test_score_before_calibrate_auto_calibrates(scored, model, pool):
    _, cal, parts = scored
    fresh = FusionAcquisition(model)
    out = fresh.score(pool)
    assert fresh.calibration is not None
    t0, t1 = cal.targets[0], fresh.calibration.targets[0]
    assert t1.kappa == t0.kappa and t1.lam == t0.lam
    np.testing.assert_array_equal(t1.gamma, t0.gamma)
    np.testing.assert_array_equal(out["utility"], parts["utility"])


def test_chunked_scoring_equals_one_shot(scored, pool):
    acqf, _, parts = scored
    chunks = [acqf.score(pool[a:b]) for a, b in ((0, 1), (1, 700), (700, 1500), (1500, 2000))]
    for key in ("utility", "acquisition", *CHANNELS):
        np.testing.assert_allclose(np.concatenate([c[key] for c in chunks]), parts[key], rtol=1e-10, atol=1e-12)


def test_calibration_on_a_seeded_sample(model, pool):
    cfg = FusionConfig(calibration_size=300)
    a1 = FusionAcquisition(model, config=cfg, seed=5)
    a2 = FusionAcquisition(model, config=cfg, seed=5)
    c1, c2 = a1.calibrate(pool).targets[0], a2.calibrate(pool).targets[0]
    assert c1.lam == c2.lam and c1.kappa == c2.kappa
    np.testing.assert_array_equal(c1.R, c2.R)
    # it is the calibration of the sampled rows
    idx = torch.randperm(2000, generator=torch.Generator().manual_seed(5))[:300]
    ref = FusionAcquisition(model, seed=5).calibrate(pool[idx]).targets[0]
    assert ref.lam == pytest.approx(c1.lam) and ref.kappa == pytest.approx(c1.kappa)
    np.testing.assert_allclose(ref.R, c1.R)
    np.testing.assert_allclose(ref.gamma, c1.gamma)


# ------------------------------------------------------------------ forward
def test_forward_matches_score_and_keeps_batch_shape(scored, pool):
    acqf, _, parts = scored
    out = acqf(pool[:40].unsqueeze(-2))
    assert out.shape == (40,) and out.dtype == pool.dtype
    np.testing.assert_allclose(out.numpy(), parts["utility"][:40], rtol=1e-12)
    out2 = acqf(pool[:40].reshape(4, 10, 1, 4))
    assert out2.shape == (4, 10)
    np.testing.assert_allclose(out2.reshape(-1).numpy(), parts["utility"][:40], rtol=1e-12)


def test_forward_rejects_q_greater_than_one(scored, pool):
    acqf = scored[0]
    with pytest.raises(UnsupportedError):
        acqf(pool[:6].reshape(3, 2, 4))


def test_optimize_acqf_discrete_q1_returns_best_pool_row(model, pool, scored):
    acqf = FusionAcquisition(model)
    cand, val = optimize_acqf_discrete(acqf, q=1, choices=pool)
    best = int(np.argmax(scored[2]["utility"]))
    assert cand.shape == (1, 4)
    torch.testing.assert_close(cand[0], pool[best])
    assert val.item() == pytest.approx(scored[2]["utility"][best])


def test_optimize_acqf_discrete_q3_on_pool(model, pool, scored):
    acqf = FusionAcquisition(model)
    cand, _ = optimize_acqf_discrete(acqf, q=3, choices=pool)
    assert cand.shape == (3, 4)
    top = np.argsort(-scored[2]["utility"])[:3]
    torch.testing.assert_close(cand, pool[top])


def test_optimize_acqf_discrete_q3_greedy_returns_top_pool_rows(model, pool, scored):
    # same as above with X_pending initialised by hand (works around the missing attribute)
    acqf = FusionAcquisition(model)
    acqf.set_X_pending(None)
    cand, vals = optimize_acqf_discrete(acqf, q=3, choices=pool)
    assert cand.shape == (3, 4)
    # rows of the pool, distinct, and (pi = 1, pending points ignored) the top three by utility
    matches = [(pool == c).all(dim=-1).nonzero().flatten().tolist() for c in cand]
    assert all(len(mt) == 1 for mt in matches)
    rows = [mt[0] for mt in matches]
    assert len(set(rows)) == 3
    util = scored[2]["utility"]
    assert rows == np.argsort(-util)[:3].tolist()
    np.testing.assert_allclose(vals.numpy(), util[rows], rtol=1e-12)
    assert acqf.X_pending is None  # reset by optimize_acqf_discrete


# --------------------------------------------------------- structural weight
def test_constant_pi_leaves_ranking_unchanged(model, pool, scored):
    parts = scored[2]
    acqf = FusionAcquisition(model, structural_weight=lambda X: torch.ones(X.shape[:-1], dtype=X.dtype))
    acqf.calibrate(pool)
    out = acqf.score(pool)
    np.testing.assert_array_equal(out["pi"], 1.0)
    np.testing.assert_array_equal(out["utility"], parts["utility"])
    np.testing.assert_array_equal(
        np.argsort(-out["utility"], kind="stable"), np.argsort(-parts["utility"], kind="stable")
    )


def test_non_constant_pi_multiplies_the_acquisition(model, pool, scored):
    parts = scored[2]
    acq = parts["acquisition"]
    order = np.argsort(-acq)
    assert acq[order[1]] > 0.5 * acq[order[0]]  # precondition: demoting the best changes the winner
    pi = np.random.default_rng(3).uniform(0.6, 1.0, size=pool.shape[0])
    pi[order[0]] = 0.5
    acqf = FusionAcquisition(model, structural_weight=StructuralWeight(pool, pi))
    acqf.calibrate(pool)
    out = acqf.score(pool)
    np.testing.assert_array_equal(out["pi"], pi)
    np.testing.assert_array_equal(out["acquisition"], acq)
    np.testing.assert_allclose(out["utility"], pi * acq, rtol=1e-15)
    assert int(np.argmax(out["utility"])) != int(order[0])
    # forward reports the weighted utility too
    np.testing.assert_allclose(acqf(pool[:20].unsqueeze(-2)).numpy(), (pi * acq)[:20], rtol=1e-12)


# ---------------------------------------------------------------- minimise
def test_minimise_target_flips_the_preference(model, pool, scored):
    util_max = scored[2]["utility"]
    acqf_min = FusionAcquisition(model, targets=[Target.minimize()])
    acqf_min.calibrate(pool)
    util_min = acqf_min.score(pool)["utility"]
    assert np.all(util_min >= 0) and np.all(np.isfinite(util_min))
    b_max, b_min = int(np.argmax(util_max)), int(np.argmax(util_min))
    assert b_max != b_min
    f = _truth(pool.numpy())
    assert f[b_max] > np.quantile(f, 0.9)
    assert f[b_min] < np.quantile(f, 0.1)
    # orientation: the minimise scorer sees the negated, standardised observations
    np.testing.assert_allclose(acqf_min.scorer.Y_std, -scored[0].scorer.Y_std)


def test_channel_ablation_through_with_config(scored, pool):
    acqf, _, parts = scored
    s = acqf.scorer.with_config(use_fusion_channel=False)
    m = acqf.predict(pool)
    Z, mu, sigma = m.Z, m.mu, m.sigma
    s.calibrate(Z, mu, sigma)
    out = s.channels(mu, sigma)
    np.testing.assert_allclose(out["score"][:, 0], np.maximum(parts["model"][:, 0], 0.0))
    assert acqf.scorer.config.use_fusion_channel  # original untouched


# ------------------------------------------------------------- two targets
@pytest.fixture(scope="module")
def scored2(model2, pool):
    acqf = FusionAcquisition(model2, hv_config=HypervolumeConfig(n_samples=16))
    acqf.calibrate(pool)
    return acqf, acqf.score(pool[:300])


def test_two_targets_give_ehvi_per_family(scored2, model2):
    acqf, parts = scored2
    k, M = 300, 3
    assert parts["ehvi"].shape == (M, k)
    assert len(acqf.calibration.targets) == 2
    for key in CHANNELS:
        assert parts[key].shape == (k, 2), key
    for key in ("utility", "acquisition", "pi"):
        assert parts[key].shape == (k,), key
    assert np.all(np.isfinite(parts["utility"])) and np.all(parts["utility"] >= 0)
    assert np.all(parts["ehvi"] >= 0) and parts["ehvi"].max() > 0
    # U_MO = sum_m e_m EHVI_m + 0.1 std_m EHVI_m, e_m averaged over the targets
    e_m = np.mean([t.calibration for t in acqf.calibration.targets], axis=0)
    ehvi = parts["ehvi"]
    np.testing.assert_allclose(parts["acquisition"], e_m @ ehvi + 0.1 * ehvi.std(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(parts["utility"], parts["acquisition"])
    corr = model2.residual_correlation()
    assert corr.shape == (2, 2)


def test_two_targets_chunked_consistency_and_forward(scored2, pool):
    acqf, parts = scored2
    a = acqf.score(pool[:120])
    b = acqf.score(pool[120:300])
    np.testing.assert_allclose(np.concatenate([a["utility"], b["utility"]]), parts["utility"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.concatenate([a["ehvi"], b["ehvi"]], axis=1), parts["ehvi"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(acqf(pool[:10].unsqueeze(-2)).numpy(), parts["utility"][:10], rtol=1e-10)


def test_lower_reference_point_never_lowers_ehvi(model2, pool, scored2):
    acqf, parts = scored2
    low = acqf.scorer.y_mean - 10.0 * acqf.scorer.y_std  # oriented raw units, far below the data
    acqf_low = FusionAcquisition(model2, hv_config=HypervolumeConfig(n_samples=16), ref_point=low)
    acqf_low.calibrate(pool)
    out = acqf_low.score(pool[:300])
    assert np.all(out["ehvi"] >= parts["ehvi"] - 1e-12)
    assert np.any(out["ehvi"] > parts["ehvi"] + 1e-9)


def test_residual_correlation_is_oriented_for_the_samples():
    import numpy as np

    from axfusion.acquisition import Target
    from axfusion.acquisition.acqf import oriented_correlation

    C = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, -0.5], [0.3, -0.5, 1.0]])
    out = oriented_correlation(C, [Target.maximize(), Target.minimize(), Target.window(0.0, 1.0)])
    assert out[0, 1] == -0.8 and out[1, 0] == -0.8  # larger y1 goes with smaller, i.e. better, y2
    assert out[0, 2] == 0.0 and out[1, 2] == 0.0 and np.all(np.diag(out) == 1.0)


def test_scores_from_one_prediction_equal_scores_from_inputs(model, pool):
    a, b = FusionAcquisition(model, seed=3), FusionAcquisition(model, seed=3)
    a.calibrate(pool)
    moments = b.predict(pool)
    b.calibrate(moments)
    np.testing.assert_array_equal(a.score(pool)["utility"], b.score(pool, moments=moments)["utility"])
