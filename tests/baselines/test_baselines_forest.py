"""Tests for axfusion.baselines.forest.RandomForestModel."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from botorch.acquisition import (
    LogExpectedImprovement,
    UpperConfidenceBound,
    qLogExpectedImprovement,
)
from botorch.acquisition.objective import ScalarizedPosteriorTransform
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf_discrete
from botorch.posteriors.gpytorch import GPyTorchPosterior
from botorch.utils.datasets import SupervisedDataset

from axfusion.baselines.forest import RandomForestModel

DTYPE = torch.float64


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _truth(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(3 * x[..., :1]) + x[..., 1:2] ** 2


def _regression(n: int, seed: int, noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = 2 * torch.rand(n, 2, generator=g, dtype=DTYPE) - 1
    return X, _truth(X) + noise * torch.randn(n, 1, generator=g, dtype=DTYPE)


def test_baselines_variance_larger_away_from_data() -> None:
    # 1-D: data on [0, 0.3] and [0.7, 1]; the trees disagree inside the gap.
    g = torch.Generator().manual_seed(0)
    left, right = (torch.rand(15, 1, generator=g, dtype=DTYPE) for _ in range(2))
    x = torch.cat([0.3 * left, 0.7 + 0.3 * right])
    y = torch.sin(2 * math.pi * x) + 0.05 * torch.randn(30, 1, generator=g, dtype=DTYPE)
    gap = torch.linspace(0.4, 0.6, 11, dtype=DTYPE).unsqueeze(-1)
    for uncertainty in ("jackknife", "ij", "jackknife_ij", "trees"):
        model = RandomForestModel(x, y, uncertainty=uncertainty, seed=0)
        at_data = model.posterior(x).variance.mean()
        in_gap = model.posterior(gap).variance.mean()
        assert in_gap > 5 * at_data, uncertainty


def test_baselines_jackknife_variance_tracks_held_out_error() -> None:
    ratios = []
    for seed in range(3):
        X, Y = _regression(100, seed)
        X_test, _ = _regression(400, seed + 100)
        model = RandomForestModel(X, Y, seed=seed)
        posterior = model.posterior(X_test)
        squared_error = (posterior.mean - _truth(X_test)).square().mean()
        ratios.append((posterior.variance.mean() / squared_error).item())
    mean_ratio = sum(ratios) / len(ratios)
    assert 1 / 3 <= mean_ratio <= 3, ratios


def test_baselines_forest_deterministic_under_seed() -> None:
    X, Y = _regression(40, seed=1)
    X_test, _ = _regression(20, seed=2)
    first, second, other = (RandomForestModel(X, Y, seed=s) for s in (7, 7, 8))
    p1, p2, p3 = (m.posterior(X_test) for m in (first, second, other))
    assert torch.equal(p1.mean, p2.mean) and torch.equal(p1.variance, p2.variance)
    assert not torch.equal(p1.mean, p3.mean)


@pytest.mark.parametrize("m", [1, 2])
def test_baselines_forest_posterior_shapes(m: int) -> None:
    X, Y = _regression(30, seed=3)
    Y = torch.cat([Y, -2 * Y], dim=-1)[:, :m]
    model = RandomForestModel(X, Y, n_estimators=20)
    assert model.num_outputs == m and model.batch_shape == torch.Size([])
    for shape in [(4, 2), (3, 4, 2), (2, 3, 4, 2)]:
        posterior = model.posterior(torch.rand(*shape, dtype=DTYPE))
        assert isinstance(posterior, GPyTorchPosterior)
        assert posterior.mean.shape == (*shape[:-1], m)
        assert posterior.variance.shape == (*shape[:-1], m)
        samples = posterior.rsample(torch.Size([5]))
        assert samples.shape == (5, *shape[:-1], m)


def test_baselines_forest_two_outputs_are_independent_forests() -> None:
    X, Y = _regression(30, seed=4)
    both = RandomForestModel(X, torch.cat([Y, 3 * Y + 1], dim=-1), n_estimators=30)
    X_test = torch.rand(6, 2, dtype=DTYPE)
    posterior = both.posterior(X_test)
    second = both.posterior(X_test, output_indices=[1])
    assert second.mean.shape == (6, 1)
    torch.testing.assert_close(second.mean, posterior.mean[:, 1:])
    torch.testing.assert_close(second.variance, posterior.variance[:, 1:])
    weights = torch.tensor([0.5, 0.5], dtype=DTYPE)
    scalarized = both.posterior(
        X_test, posterior_transform=ScalarizedPosteriorTransform(weights)
    )
    torch.testing.assert_close(scalarized.mean, posterior.mean @ weights.unsqueeze(-1))
    torch.testing.assert_close(
        scalarized.variance, posterior.variance @ weights.square().unsqueeze(-1)
    )


def test_baselines_forest_analytic_and_mc_acquisitions() -> None:
    X, Y = _regression(40, seed=5)
    model = RandomForestModel(X, Y, n_estimators=50)
    choices = torch.cartesian_prod(*(2 * [torch.linspace(-1, 1, 15, dtype=DTYPE)]))
    for acqf, q in [
        (LogExpectedImprovement(model, best_f=Y.max()), 1),
        (UpperConfidenceBound(model, beta=2.0), 1),
        (qLogExpectedImprovement(model, best_f=Y.max()), 3),
    ]:
        values = acqf(choices[:10].reshape(10, 1, 2) if q == 1 else choices[:12].reshape(4, 3, 2))
        assert values.shape == ((10,) if q == 1 else (4,))
        assert torch.isfinite(values).all()
        candidates, _ = optimize_acqf_discrete(acqf, q=q, choices=choices)
        assert candidates.shape == (q, 2)
        assert all((choices == c).all(-1).any() for c in candidates)
    ucb = UpperConfidenceBound(model, beta=2.0)
    best = optimize_acqf_discrete(ucb, q=1, choices=choices)[0]
    posterior = model.posterior(choices)
    scores = posterior.mean + math.sqrt(2.0) * posterior.variance.sqrt()
    torch.testing.assert_close(best, choices[scores.squeeze(-1).argmax()].unsqueeze(0))


def test_baselines_forest_gradient_is_zero_not_an_error() -> None:
    X, Y = _regression(30, seed=6)
    model = RandomForestModel(X, Y, n_estimators=20)
    X_test = torch.rand(4, 1, 2, dtype=DTYPE, requires_grad=True)
    LogExpectedImprovement(model, best_f=Y.max())(X_test).sum().backward()
    assert torch.equal(X_test.grad, torch.zeros_like(X_test))


def test_baselines_forest_transforms() -> None:
    X, Y = _regression(40, seed=7)
    X_test = torch.rand(8, 2, dtype=DTYPE)
    model = RandomForestModel(
        X, Y, seed=3, input_transform=Normalize(d=2), outcome_transform=Standardize(m=1)
    )
    posterior = model.posterior(X_test)
    # The same forest fitted by hand on transformed data, untransformed by hand.
    normalize, standardize = Normalize(d=2), Standardize(m=1)
    X_n, (Y_s, _) = normalize(X), standardize(Y)
    normalize.eval()
    manual = RandomForestModel(X_n, Y_s, seed=3).posterior(normalize(X_test))
    std, mu = standardize.stdvs, standardize.means
    torch.testing.assert_close(posterior.mean, manual.mean * std + mu)
    torch.testing.assert_close(posterior.variance, manual.variance * std**2)


def test_baselines_forest_chunking_and_observation_noise() -> None:
    X, Y = _regression(40, seed=8)
    X_test = torch.rand(50, 2, dtype=DTYPE)
    whole = RandomForestModel(X, Y, n_estimators=20, chunk_size=4096)
    chunked = RandomForestModel(X, Y, n_estimators=20, chunk_size=7)
    torch.testing.assert_close(chunked.posterior(X_test).variance, whole.posterior(X_test).variance)
    noisy = whole.posterior(X_test, observation_noise=True).variance
    torch.testing.assert_close(noisy, whole.posterior(X_test).variance + whole.oob_mse)
    assert 0.0 < whole.oob_mse.item() < Y.var().item()
    given = whole.posterior(X_test, observation_noise=torch.full((50, 1), 0.5, dtype=DTYPE))
    torch.testing.assert_close(given.variance, whole.posterior(X_test).variance + 0.5)


def test_baselines_forest_variance_floor() -> None:
    X = torch.rand(20, 1, dtype=DTYPE)
    model = RandomForestModel(X, torch.ones(20, 1, dtype=DTYPE), variance_floor=1e-4)
    variance = model.posterior(torch.rand(5, 1, dtype=DTYPE)).variance
    torch.testing.assert_close(variance, torch.full_like(variance, 1e-4))


def _categorical_toy(n: int, g: torch.Generator, effects: torch.Tensor) -> tuple:
    x = torch.rand(n, 1, generator=g, dtype=DTYPE)
    t = torch.randint(len(effects), (n, 1), generator=g).to(DTYPE)
    return torch.cat([x, t], dim=-1), effects[t.long()] + 0.5 * x


def test_baselines_forest_splits_levels_in_mean_target_order() -> None:
    # Effects assigned to scrambled codes: shallow trees on the raw codes cannot group
    # the levels, trees on the mean-target ranks can (as Lolo's categorical splits).
    g = torch.Generator().manual_seed(0)
    effects = torch.arange(8, dtype=DTYPE)[torch.randperm(8, generator=g)]
    X, Y = _categorical_toy(60, g, effects)
    X_test, Y_test = _categorical_toy(400, g, effects)
    rmse = {}
    for cat_dims in ([], [1]):
        model = RandomForestModel(X, Y, cat_dims=cat_dims, max_depth=2, seed=0)
        rmse[len(cat_dims)] = (model.posterior(X_test).mean - Y_test).square().mean().sqrt()
    assert rmse[1] < 0.5 * rmse[0]


def test_baselines_forest_ax_style_normalize_of_all_columns() -> None:
    g = torch.Generator().manual_seed(1)
    effects = torch.tensor([2.0, 0.0, 1.0, 3.0], dtype=DTYPE)
    X, Y = _categorical_toy(30, g, effects)
    X_test = torch.cat([X[:5, :1], torch.tensor([[0.0], [1.0], [2.0], [3.0], [3.0]])], -1)
    quant_only = RandomForestModel(
        X, Y, cat_dims=[1], n_estimators=20, input_transform=Normalize(d=2, indices=[0])
    ).posterior(X_test)
    all_columns = RandomForestModel(
        X, Y, cat_dims=[1], n_estimators=20, input_transform=Normalize(d=2)
    ).posterior(X_test)
    assert torch.equal(quant_only.mean, all_columns.mean)
    assert torch.equal(quant_only.variance, all_columns.variance)


def test_baselines_forest_unobserved_and_invalid_levels() -> None:
    g = torch.Generator().manual_seed(2)
    X, Y = _categorical_toy(20, g, torch.tensor([0.0, 1.0, 2.0], dtype=DTYPE))
    model = RandomForestModel(X, Y, cat_dims=[1], num_levels=[5], n_estimators=10)
    unseen = torch.tensor([[0.5, 4.0]], dtype=DTYPE)
    assert torch.isfinite(model.posterior(unseen).mean).all()
    with pytest.raises(ValueError, match="level codes"):
        model.posterior(torch.tensor([[0.5, 5.0]], dtype=DTYPE))
    with pytest.raises(ValueError, match="integer level codes"):
        RandomForestModel(X + torch.tensor([0.0, 0.5], dtype=DTYPE), Y, cat_dims=[1])


def test_baselines_forest_construct_inputs_drops_yvar() -> None:
    X, Y = _regression(20, seed=9)
    dataset = SupervisedDataset(
        X, Y, Yvar=torch.full_like(Y, 0.01), feature_names=["a", "b"], outcome_names=["y"]
    )
    inputs = RandomForestModel.construct_inputs(
        dataset, categorical_features=[], n_estimators=10
    )
    assert inputs["cat_dims"] == []
    assert set(inputs) == {"train_X", "train_Y", "cat_dims", "n_estimators"}
    assert RandomForestModel(**inputs).n_estimators == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_estimators": 1}, ValueError, "n_estimators"),
        ({"uncertainty": "bootstrap"}, ValueError, "uncertainty"),
        ({"variance_floor": -1.0}, ValueError, "variance_floor"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"train_Y": torch.full((10, 1), float("nan"), dtype=DTYPE)}, ValueError, "finite"),
        ({"train_Y": torch.ones(9, 1, dtype=DTYPE)}, ValueError, "rows"),
        ({"train_Y": torch.ones(10, dtype=DTYPE)}, ValueError, "n x m"),
        ({"train_X": torch.ones(10, 2, dtype=torch.long)}, TypeError, "floating"),
    ],
)
def test_baselines_forest_rejects_bad_input(kwargs: dict, error: type, message: str) -> None:
    X, Y = _regression(10, seed=10)
    with pytest.raises(error, match=message):
        RandomForestModel(**{"train_X": X, "train_Y": Y, **kwargs})


def test_baselines_forest_posterior_rejects_bad_input() -> None:
    X, Y = _regression(10, seed=11)
    model = RandomForestModel(X, Y, n_estimators=5)
    with pytest.raises(ValueError, match="columns"):
        model.posterior(torch.rand(3, 3, dtype=DTYPE))
    with pytest.raises(ValueError, match="batch_shape x q x d"):
        model.posterior(torch.rand(2, dtype=DTYPE))
    with pytest.raises(ValueError, match="finite"):
        model.posterior(torch.full((2, 2), float("nan"), dtype=DTYPE))
    with pytest.raises(ValueError, match="output_indices"):
        model.posterior(torch.rand(2, 2, dtype=DTYPE), output_indices=[1])
