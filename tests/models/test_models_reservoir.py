import json
import warnings

import numpy as np
import pytest
import torch
from botorch.acquisition import qLogNoisyExpectedImprovement, qUpperConfidenceBound
from botorch.acquisition.multi_objective import qLogExpectedHypervolumeImprovement
from botorch.acquisition.objective import ScalarizedPosteriorTransform
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf_discrete
from botorch.sampling.get_sampler import get_sampler
from botorch.utils.multi_objective.box_decompositions import FastNondominatedPartitioning

from axfusion.models import (
    EnumeratingSampler,
    ReservoirModel,
    ReservoirPosterior,
    SklearnFamily,
    SurrogateFitWarning,
)

from .conftest import FAST_FAMILIES, kmeans_clusterer, toy_data


def test_posterior_shapes_for_batch_and_q(fitted_single):
    model = fitted_single
    s = model.num_members
    assert s == len(FAST_FAMILIES) * 4
    X = torch.rand(7, 3, 5, dtype=torch.float64)
    post = model.posterior(X)
    assert isinstance(post, ReservoirPosterior)
    assert post.values.shape == (7, s, 3, 1)
    assert post.mean.shape == (7, 3, 1)
    assert post.variance.shape == (7, 3, 1)
    assert model.posterior(torch.rand(4, 5, dtype=torch.float64)).values.shape == (s, 4, 1)
    assert model.posterior(torch.rand(2, 6, 4, 5, dtype=torch.float64)).values.shape == (2, 6, s, 4, 1)


def test_member_predictions_match_forward_and_family_moments(fitted_single):
    model = fitted_single
    X = torch.rand(10, 5, dtype=torch.float64)
    vals = model.member_predictions(X)
    M, B = len(model.family_names), model.n_members
    assert vals.shape == (M, B, 10, 1)
    post = model.posterior(X)
    np.testing.assert_allclose(post.values.numpy(), vals.reshape(M * B, 10, 1), rtol=1e-10)
    mom = model.family_moments(X)
    assert mom.mean.shape == (M, 10, 1) and mom.std.shape == (M, 10, 1)
    np.testing.assert_allclose(mom.mean, vals.mean(axis=1))
    assert np.all(mom.std >= 0)


def test_member_predictions_of_the_first_members(fitted_single):
    # the closed-pool prefilter of very large pools screens with the first members of every family
    model = fitted_single
    X = torch.rand(9, 5, dtype=torch.float64)
    vals, stds = model.member_predictions(X, return_std=True)
    few, few_std = model.member_predictions(X, return_std=True, members=2, chunk_size=4)
    assert few.shape == (len(model.family_names), 2, 9, 1)
    # the same members' predictions, up to rounding (another chunk size batches the products differently)
    np.testing.assert_allclose(few, vals[:, :2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(few_std, stds[:, :2], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(model.member_predictions(X, members=99), vals)


def test_member_predictions_of_one_family(fitted_single):
    # a box's per-family differential-evolution run scores its own family's members only
    model = fitted_single
    X = torch.rand(8, 5, dtype=torch.float64)
    vals, stds = model.member_predictions(X, return_std=True)
    for i in range(len(model.family_names)):
        one, one_std = model.member_predictions(X, return_std=True, family=i)
        assert one.shape == (1, model.n_members, 8, 1)
        np.testing.assert_array_equal(one[0], vals[i])
        np.testing.assert_array_equal(one_std[0], stds[i])
    with pytest.raises(IndexError, match="family must be an index below"):
        model.member_predictions(X, family=len(model.family_names))


def test_predictions_track_the_truth(fitted_single):
    X, Y = toy_data(n=200, seed=5)
    mu = fitted_single.posterior(X).mean.squeeze(-1).numpy()
    rho = np.corrcoef(mu, Y[:, 0].numpy())[0, 1]
    assert rho > 0.7


def test_reliability_weights_and_scores(fitted_single):
    w = fitted_single.ensemble_weights
    assert w.shape == (fitted_single.num_members,)
    assert float(w.sum()) == pytest.approx(1.0)
    scores = fitted_single.family_scores
    assert set(scores) == set(FAST_FAMILIES)
    for per_target in scores.values():
        (sc,) = per_target
        assert 0 <= sc.accuracy <= 1 and 0 <= sc.calibration <= 1 and 0 <= sc.trend <= 1
        assert sc.n_members == 4
    # the weights follow reliability: the best family weighs more than the worst
    rel = {k: v[0].reliability for k, v in scores.items()}
    names = list(fitted_single.family_names)
    fam_w = w.reshape(len(names), -1).sum(-1).numpy()
    assert fam_w[names.index(max(rel, key=rel.get))] > fam_w[names.index(min(rel, key=rel.get))]
    json.dumps(fitted_single.diagnostics())


def test_same_seed_same_posterior_and_different_seed_differs():
    X, Y = toy_data(n=30)
    kw = dict(families=("ridge", "knn", "lightgbm", "mlp"), n_members=3, clusterer=kmeans_clusterer)
    a = ReservoirModel(X, Y, seed=3, **kw).fit()
    b = ReservoirModel(X, Y, seed=3, **kw).fit()
    c = ReservoirModel(X, Y, seed=4, **kw).fit()
    Xt = torch.rand(20, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    va, vb, vc = (m.posterior(Xt).values for m in (a, b, c))
    assert torch.equal(va, vb)
    assert not torch.equal(va, vc)


def test_parallel_fit_matches_serial():
    X, Y = toy_data(n=30)
    kw = dict(families=("ridge", "knn", "lightgbm"), n_members=3, clusterer=kmeans_clusterer, seed=2)
    serial = ReservoirModel(X, Y, n_jobs=1, **kw).fit()
    parallel = ReservoirModel(X, Y, n_jobs=2, **kw).fit()
    Xt = torch.rand(10, 5, dtype=torch.float64)
    assert torch.allclose(serial.posterior(Xt).values, parallel.posterior(Xt).values)


class _Broken:
    def fit(self, X, y):
        raise RuntimeError("this family is broken on purpose")

    def predict(self, X):  # pragma: no cover - never fitted
        return np.zeros(len(X))

    def get_params(self, deep=True):
        return {}

    def set_params(self, **p):
        return self


def test_broken_family_is_dropped_with_a_warning():
    X, Y = toy_data(n=30)
    broken = SklearnFamily("broken", lambda params, seed: _Broken())
    with pytest.warns(SurrogateFitWarning, match="broken.*dropped"):
        model = ReservoirModel(
            X, Y, families=("ridge", broken, "knn"), n_members=3, clusterer=kmeans_clusterer
        ).fit()
    assert model.family_names == ("ridge", "knn")
    assert "broken on purpose" in model.dropped_families["broken"]
    assert model.posterior(X[:4]).values.shape == (6, 4, 1)


def test_all_families_broken_is_an_error():
    X, Y = toy_data(n=30)
    broken = SklearnFamily("broken", lambda params, seed: _Broken())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurrogateFitWarning)
        with pytest.raises(RuntimeError, match="Every surrogate family failed"):
            ReservoirModel(X, Y, families=(broken,), n_members=2, clusterer=kmeans_clusterer).fit()


def test_user_registered_family_with_own_std_is_used():
    from sklearn.gaussian_process import GaussianProcessRegressor

    fam = SklearnFamily(
        "my_gp",
        GaussianProcessRegressor(),
        predict_std=lambda est, X: est.predict(X, return_std=True)[1],
    )
    X, Y = toy_data(n=25)
    model = ReservoirModel(X, Y, families=(fam, "ridge"), n_members=3, clusterer=kmeans_clusterer).fit()
    vals, stds = model.member_predictions(X[:5], return_std=True)
    assert np.all(stds[0] > 0) and np.all(stds[1] == 0)
    assert model.provides_std.tolist() == [True, False]


@pytest.fixture(scope="module")
def fitted_gp_ridge():
    X, Y = toy_data(n=25)
    kw = dict(families=("gp", "ridge"), n_members=3, clusterer=kmeans_clusterer, seed=0)
    return (
        ReservoirModel(X, Y, outcome_transform=Standardize(m=1), **kw).fit(),
        ReservoirModel(X, Y, outcome_transform=Standardize(m=1), member_noise=False, **kw).fit(),
    )


def test_posterior_carries_the_members_own_std(fitted_gp_ridge):
    noisy, plain = fitted_gp_ridge
    X = torch.rand(6, 5, dtype=torch.float64)
    post, base = noisy.posterior(X), plain.posterior(X)
    torch.testing.assert_close(post.mean, base.mean)
    _, stds = noisy.member_predictions(X, return_std=True)  # 2 x 3 x 6 x 1, untransformed
    assert post.stds is not None and base.stds is None
    torch.testing.assert_close(post.stds, torch.as_tensor(stds.reshape(6, 6, 1)))
    # ridge members report none; the GP's variance is added to the spread (law of total variance)
    assert torch.all(post.stds[3:] == 0) and torch.all(post.stds[:3] > 0)
    expected = base.variance + (post.weights[:, None, None] * post.stds**2).sum(dim=-3)
    torch.testing.assert_close(post.variance, expected)
    assert torch.all(post.variance > base.variance)


def test_member_noise_sampling_is_deterministic_and_unbiased(fitted_gp_ridge):
    noisy, _ = fitted_gp_ridge
    X = torch.rand(4, 2, 5, dtype=torch.float64)  # t-batches of q = 2
    post = noisy.posterior(X)
    sampler = get_sampler(post, sample_shape=torch.Size([600]))
    assert sampler.sample_shape.numel() % noisy.num_members == 0 and sampler.sample_shape.numel() >= 600
    draws = sampler(post)
    torch.testing.assert_close(draws, sampler(noisy.posterior(X)))  # same draws on a second call
    assert draws.shape == (sampler.sample_shape.numel(), 4, 2, 1)
    # the MC mean and variance approach the mixture's
    torch.testing.assert_close(draws.mean(0), post.mean, atol=0.1 * float(post.variance.sqrt().max()), rtol=0)
    ratio = draws.var(0) / post.variance
    assert torch.all((ratio > 0.7) & (ratio < 1.4))


def test_member_noise_under_a_scalarized_transform(fitted_gp_ridge):
    noisy, _ = fitted_gp_ridge
    X = torch.rand(5, 5, dtype=torch.float64)
    pt = ScalarizedPosteriorTransform(weights=torch.tensor([-2.0], dtype=torch.float64))
    post, raw = noisy.posterior(X, posterior_transform=pt), noisy.posterior(X)
    torch.testing.assert_close(post.values, -2.0 * raw.values)
    assert raw.stds is not None and post.stds is not None
    torch.testing.assert_close(post.stds, 2.0 * raw.stds)


def test_input_and_outcome_transforms():
    X, Y = toy_data(n=30)
    Xs = X * 100 + 50
    Ys = Y * 1000 - 3
    kw = dict(families=("ridge", "knn"), n_members=3, clusterer=kmeans_clusterer, seed=0)
    plain = ReservoirModel(X, Y, **kw).fit()
    tf = ReservoirModel(
        Xs,
        Ys,
        input_transform=Normalize(d=5, bounds=torch.tensor([[50.0] * 5, [150.0] * 5], dtype=torch.float64)),
        outcome_transform=Standardize(m=1),
        **kw,
    ).fit()
    Xt = torch.rand(8, 5, dtype=torch.float64)
    mu_plain = plain.posterior(Xt).mean
    mu_tf = tf.posterior(Xt * 100 + 50).mean
    torch.testing.assert_close(mu_tf, mu_plain * 1000 - 3, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        tf.member_predictions(Xt * 100 + 50).mean(axis=(0, 1)),
        mu_tf.numpy() * 0 + tf.member_predictions(Xt * 100 + 50).mean(axis=(0, 1)),
    )


def test_scalarized_posterior_transform(fitted_two):
    X = torch.rand(5, 5, dtype=torch.float64)
    pt = ScalarizedPosteriorTransform(weights=torch.tensor([2.0, -1.0], dtype=torch.float64), offset=0.5)
    post = fitted_two.posterior(X, posterior_transform=pt)
    raw = fitted_two.posterior(X).values
    torch.testing.assert_close(post.values.squeeze(-1), raw @ pt.weights + 0.5)


def test_residual_correlation(fitted_two):
    C = fitted_two.residual_correlation()
    assert C.shape == (2, 2)
    np.testing.assert_allclose(np.diag(C), 1.0)
    assert np.all(np.abs(C) <= 1 + 1e-12)


def test_bad_inputs_are_named():
    X, Y = toy_data(n=30)
    with pytest.raises(ValueError, match="rows"):
        ReservoirModel(X, Y[:20], clusterer=kmeans_clusterer).fit()
    bad = Y.clone()
    bad[3, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ReservoirModel(X, bad, clusterer=kmeans_clusterer).fit()
    with pytest.raises(ValueError, match="at least 4"):
        ReservoirModel(X[:3], Y[:3], clusterer=kmeans_clusterer).fit()
    with pytest.raises(ValueError, match="Unknown surrogate family"):
        ReservoirModel(X, Y, families=("nope",), clusterer=kmeans_clusterer).fit()
    model = ReservoirModel(X, Y, families=("ridge",), n_members=2, clusterer=kmeans_clusterer).fit()
    with pytest.raises(ValueError, match="features"):
        model.posterior(torch.rand(3, 4, dtype=torch.float64))


@pytest.fixture(scope="module")
def pool():
    g = torch.Generator().manual_seed(0)
    return torch.rand(10_000, 5, dtype=torch.float64, generator=g)


def test_qlognei_on_a_pool_of_ten_thousand(fitted_single, pool):
    X_base = fitted_single.train_inputs[0]
    acqf = qLogNoisyExpectedImprovement(model=fitted_single, X_baseline=X_base, prune_baseline=False)
    cand, val = optimize_acqf_discrete(acqf, q=3, choices=pool, max_batch_size=2048)
    assert cand.shape == (3, 5)
    assert torch.isfinite(val).all()
    assert isinstance(acqf.sampler, EnumeratingSampler)
    # the chosen point has a high predicted mean relative to the pool
    mu = fitted_single.posterior(pool).mean.squeeze(-1)
    chosen_mu = fitted_single.posterior(cand).mean.squeeze(-1)
    assert (mu < chosen_mu.max()).float().mean() > 0.9


def test_qlognei_with_member_noise_is_deterministic_and_reads_the_noise(fitted_gp_ridge):
    noisy, plain = fitted_gp_ridge
    X_base = noisy.train_inputs[0]
    choices = torch.rand(300, 5, dtype=torch.float64)
    picks, values = [], []
    for model in (noisy, plain, noisy):
        acqf = qLogNoisyExpectedImprovement(model=model, X_baseline=X_base, prune_baseline=False)
        cand, val = optimize_acqf_discrete(acqf, q=2, choices=choices)
        assert torch.isfinite(val).all()
        picks.append(cand)
        values.append(acqf(choices[:50].unsqueeze(-2)))
    torch.testing.assert_close(picks[0], picks[2])  # deterministic under the member noise
    torch.testing.assert_close(values[0], values[2])
    assert not torch.allclose(values[0], values[1])  # the GP members' own std changes the acquisition


def test_qucb_on_a_pool(fitted_single, pool):
    acqf = qUpperConfidenceBound(model=fitted_single, beta=0.5)
    cand, _ = optimize_acqf_discrete(acqf, q=2, choices=pool, max_batch_size=4096)
    assert cand.shape == (2, 5)
    # q=1 UCB with the enumerating sampler equals mean + sqrt(beta*pi/2) * E|f - mean|
    x = pool[:50].unsqueeze(1)
    vals = fitted_single.posterior(x).values  # 50 x s x 1 x 1
    w = fitted_single.ensemble_weights
    mean = (vals.squeeze(-1).squeeze(-1) * w).sum(-1)
    expected = mean + (0.5 * torch.pi / 2) ** 0.5 * ((vals.squeeze(-1).squeeze(-1) - mean[:, None]).abs() * w).sum(-1)
    torch.testing.assert_close(acqf(x), expected, rtol=0.05, atol=1e-6)


def test_qlogehvi_two_targets_on_a_pool(fitted_two, pool):
    Y = fitted_two.train_targets_raw
    ref = Y.min(dim=0).values - 0.1
    part = FastNondominatedPartitioning(ref_point=ref, Y=Y)
    acqf = qLogExpectedHypervolumeImprovement(model=fitted_two, ref_point=ref, partitioning=part)
    cand, val = optimize_acqf_discrete(acqf, q=2, choices=pool, max_batch_size=1024)
    assert cand.shape == (2, 5)
    assert torch.isfinite(val).all()


def test_tuning_state_warm_starts():
    from axfusion.models import TuningState

    X, Y = toy_data(n=30)
    state = TuningState()
    kw = dict(families=("lasso", "knn"), n_members=2, clusterer=kmeans_clusterer, tuning_state=state)
    ReservoirModel(X, Y, **kw).fit()
    first = dict(state.records)
    assert set(k[0] for k in first) == {"lasso", "knn"}
    model = ReservoirModel(X, Y, capacity=None, **kw).fit()
    # same data -> same d_eff and C -> records reused, not re-tuned
    assert state.records == first
    assert model.family_params["lasso"][0] == first[("lasso", 0)].params


def test_large_seeds_do_not_drop_families():
    X, Y = toy_data(n=25)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurrogateFitWarning)
        model = ReservoirModel(
            X, Y, families=("lasso", "mlp"), n_members=2, clusterer=kmeans_clusterer, seed=10**9
        ).fit()
    assert model.family_names == ("lasso", "mlp")


def test_softmax_weights_concentrate_on_the_most_accurate_family(fitted_single):
    names = list(fitted_single.family_names)
    acc = np.array([fitted_single.family_scores[n][0].accuracy for n in names])
    fam_w = fitted_single.ensemble_weights.reshape(len(names), -1).sum(-1).numpy()
    expected = np.exp((acc - acc.max()) / 0.05)
    expected = np.maximum(expected / expected.sum(), 1e-6)
    np.testing.assert_allclose(fam_w, expected / expected.sum(), rtol=1e-9)
    assert names[int(np.argmax(fam_w))] == names[int(np.argmax(acc))]


def test_family_std_is_floored():
    X, Y = toy_data(n=30)
    model = ReservoirModel(X, Y, families=("ridge",), n_members=2, clusterer=kmeans_clusterer).fit()
    mom = model.family_moments(X[:5])
    assert np.all(mom.std >= 0.03 * Y.std(dim=0).numpy() - 1e-15)


def test_input_scale_fixes_the_standardisation_of_chosen_columns():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(30, 1)), np.eye(3)[rng.choice(3, 30)]])
    Y = X[:, :1] + X[:, 1:2]
    scale = np.array([np.nan, np.sqrt(2.0), np.sqrt(2.0), np.sqrt(2.0)])
    model = ReservoirModel(torch.as_tensor(X), torch.as_tensor(Y), families=("ridge",), n_members=2,
                           input_scale=scale)
    Xs, _ = model.standardised_training_data()
    assert np.allclose(np.abs(Xs[:, 1:] - Xs[:, 1:].mean(axis=0)).max(), np.abs(X[:, 1:] - X[:, 1:].mean(axis=0)).max()
                       / np.sqrt(2.0))
    with pytest.raises(ValueError, match="input_scale has 2 entries"):
        ReservoirModel(torch.as_tensor(X), torch.as_tensor(Y), input_scale=np.ones(2))


def test_oob_std_scale_is_one_when_calibrated_and_widens_an_overconfident_family():
    from axfusion.models.reservoir import MAX_STD_SCALE, oob_std_scale, std_scales

    rng = np.random.default_rng(0)
    B, n = 8, 400
    truth = rng.normal(size=(n, 1))
    oob = rng.random((B, n, 1)) < 0.4
    jitter = 0.01 * rng.normal(size=(B, n, 1))
    Y = truth

    def factor(error_sd: float, own_var: float) -> float:
        # every member is off by the same error (what the family cannot know), and says own_var
        pred = truth[None] + error_sd * rng.normal(size=(1, n, 1)) + jitter
        var = np.full((B, n, 1), own_var)
        return float(oob_std_scale(np.where(oob, pred, np.nan), np.where(oob, var, np.nan), Y, floor=0.03)[0])

    assert 0.8 < factor(1.0, 1.0) < 1.25  # calibrated
    assert 2.4 < factor(3.0, 1.0) < 3.75  # three times too narrow
    assert 0.25 < factor(1.0, 9.0) < 0.42  # three times too wide
    # members that agree exactly are capped; too few rows left out twice: no scale
    flat = np.where(oob, np.broadcast_to(truth[None] + 50.0, (B, n, 1)), np.nan)
    assert oob_std_scale(flat, np.zeros((B, n, 1)), Y, floor=0.03)[0] == MAX_STD_SCALE
    few = np.full((B, n, 1), np.nan)
    few[:2, :2] = 0.0
    assert oob_std_scale(few, np.zeros((B, n, 1)), Y, floor=0.03)[0] == 1.0
    # the modes: widen never narrows; relative keeps the families' geometric mean at 1
    factors = np.array([[0.5, 2.0], [2.0, 8.0]])
    np.testing.assert_allclose(std_scales(factors, "widen"), [[1.0, 2.0], [2.0, 8.0]])
    np.testing.assert_allclose(std_scales(factors, "relative"), [[0.5, 0.5], [2.0, 2.0]])
    np.testing.assert_allclose(std_scales(factors, "off"), np.ones((2, 2)))
    with pytest.raises(ValueError, match="'widen' or 'relative'"):
        std_scales(factors, "on")


def test_calibrate_std_widens_the_fusion_moments_by_the_scale():
    from axfusion.acquisition import FusionAcquisition
    from axfusion.acquisition.targets import Target
    from axfusion.settings import ReservoirSettings

    X, Y = toy_data(n=40)
    plain = ReservoirModel(X, Y, ReservoirSettings(families=("ridge", "knn"), n_members=4), seed=0).fit()
    wide = ReservoirSettings(families=("ridge", "knn"), n_members=4, calibrate_std="widen")
    cal = ReservoirModel(X, Y, wide, seed=0).fit()
    assert np.all(plain.std_scale == 1.0) and plain.std_scale.shape == (2, 1)
    assert np.all(cal.std_scale >= 1.0) and np.any(cal.std_scale > 1.0)
    Xc = torch.rand(30, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    a = FusionAcquisition(plain, targets=[Target.maximize()]).predict(Xc)
    b = FusionAcquisition(cal, targets=[Target.maximize()]).predict(Xc)
    np.testing.assert_allclose(a.mu, b.mu)
    np.testing.assert_allclose(b.sigma, a.sigma * cal.std_scale[:, None, :])
    moments = cal.family_moments(Xc)
    ratio = moments.std / plain.family_moments(Xc).std
    np.testing.assert_allclose(ratio, np.broadcast_to(cal.std_scale[:, None, :], ratio.shape))
