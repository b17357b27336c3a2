"""Tests for axfusion.baselines.lvgp.LVGP."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from botorch.acquisition import (
    LogExpectedImprovement,
    UpperConfidenceBound,
    qLogExpectedImprovement,
)
from botorch.acquisition.objective import LinearMCObjective
from botorch.fit import fit_gpytorch_mll
from botorch.models import ModelListGP
from botorch.models.transforms.input import Normalize
from botorch.optim import optimize_acqf_discrete, optimize_acqf_mixed
from botorch.utils.datasets import SupervisedDataset
from gpytorch.mlls import ExactMarginalLogLikelihood, SumMarginalLogLikelihood
from scipy.stats import spearmanr

from axfusion.baselines.lvgp import LVGP

DTYPE = torch.float64
N_LEVELS = 5
EFFECTS = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], dtype=DTYPE)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Tiny GP matrices: thread-pool overhead dominates on a shared 2-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _toy(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """y = sin(x) + c[t]; the effects c are assigned to scrambled level codes."""
    g = torch.Generator().manual_seed(seed)
    effect_of_code = EFFECTS[torch.randperm(N_LEVELS, generator=g)]
    x = 2 * math.pi * torch.rand(n, 1, generator=g, dtype=DTYPE)
    t = torch.randint(N_LEVELS, (n, 1), generator=g).to(DTYPE)
    y = torch.sin(x) + effect_of_code[t.long()]
    return torch.cat([x, t], dim=-1), y, effect_of_code


@pytest.fixture(scope="module")
def fitted() -> tuple[LVGP, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.set_num_threads(1)
    X, Y, effect_of_code = _toy(n=40, seed=0)
    model = LVGP(X, Y, cat_dims=[1], num_restarts=3, max_iter=100, seed=0).fit()
    return model, X, Y, effect_of_code


def _principal_projection(z: torch.Tensor) -> np.ndarray:
    centred = z - z.mean(dim=0)
    axis = torch.linalg.svd(centred, full_matrices=False).Vh[0]
    return (centred @ axis).numpy()


def test_baselines_latent_coordinates_recover_level_ordering(fitted) -> None:
    model, _, _, effect_of_code = fitted
    z = model.latent_coordinates()[1]
    assert z.shape == (N_LEVELS, 2)
    assert torch.equal(z[0], torch.zeros(2, dtype=DTYPE))
    assert z[1, 1] == 0.0
    rho = spearmanr(_principal_projection(z), effect_of_code.numpy()).statistic
    assert abs(rho) >= 0.9
    iu = torch.triu_indices(N_LEVELS, N_LEVELS, 1)
    latent_gaps = torch.cdist(z, z)[iu[0], iu[1]]
    effect_gaps = (effect_of_code[:, None] - effect_of_code[None, :]).abs()[iu[0], iu[1]]
    assert np.corrcoef(latent_gaps.numpy(), effect_gaps.numpy())[0, 1] >= 0.8


def test_baselines_unfitted_latent_coordinates_do_not_recover_ordering(fitted) -> None:
    # Control for the test above: the same statistic at a random initialisation.
    model, X, Y, effect_of_code = fitted
    rhos = []
    for seed in range(4):
        fresh = LVGP(X, Y, cat_dims=[1], seed=seed)
        fresh._initialize_hyperparameters(torch.Generator().manual_seed(seed))
        z = fresh.latent_coordinates()[1]
        rhos.append(abs(spearmanr(_principal_projection(z), effect_of_code.numpy()).statistic))
    assert min(rhos) < 0.9


def test_baselines_predictions_close_to_training_data(fitted) -> None:
    model, X, Y, _ = fitted
    with torch.no_grad():
        posterior = model.posterior(X)
    assert (posterior.mean - Y).abs().max() < 0.05 * Y.std()
    assert (posterior.variance < 0.01 * Y.var()).all()


def test_baselines_lvgp_posterior_shapes(fitted) -> None:
    model, X, _, _ = fitted
    assert model.num_outputs == 1
    for shape in [(4, 2), (3, 4, 2), (2, 3, 4, 2)]:
        Xt = X[:4].expand(*shape).clone()
        posterior = model.posterior(Xt)
        assert posterior.mean.shape == (*shape[:-1], 1)
        assert posterior.variance.shape == (*shape[:-1], 1)


def test_baselines_lvgp_fit_keeps_best_restart() -> None:
    X, Y, _ = _toy(n=20, seed=3)
    model = LVGP(X, Y, cat_dims=[1], num_restarts=3, max_iter=40, seed=1)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll)  # dispatches to LVGP.custom_fit
    assert len(model.restart_losses) == 3
    assert not model.training
    mll.train()
    loss = -mll(model(*model.train_inputs), model.train_targets).item()
    assert loss == pytest.approx(min(model.restart_losses), abs=1e-8)


def test_baselines_lvgp_deterministic_under_seed() -> None:
    X, Y, _ = _toy(n=20, seed=4)
    fits = [
        LVGP(X, Y, cat_dims=[1], num_restarts=2, max_iter=30, seed=s).fit() for s in (5, 5, 6)
    ]
    z = [f.latent_coordinates()[1] for f in fits]
    assert torch.equal(z[0], z[1])
    assert not torch.equal(z[0], z[2])


def test_baselines_lvgp_ax_style_normalize_of_all_columns() -> None:
    # Ax normalises every column, categorical ones included: the kernel must decode
    # the rescaled codes and give the same model as normalising x alone.
    X, Y, _ = _toy(n=20, seed=5)
    kwargs = {"cat_dims": [1], "num_restarts": 2, "max_iter": 30, "seed": 0}
    reference = LVGP(X, Y, **kwargs).fit()
    all_columns = LVGP(X, Y, input_transform=Normalize(d=2), **kwargs).fit()
    torch.testing.assert_close(
        all_columns.latent_coordinates()[1], reference.latent_coordinates()[1]
    )
    with torch.no_grad():
        torch.testing.assert_close(
            all_columns.posterior(X[:6]).mean, reference.posterior(X[:6]).mean
        )


def test_baselines_lvgp_acquisitions_with_discrete_optimizer(fitted) -> None:
    model, _, Y, effect_of_code = fitted
    grid = torch.linspace(0, 2 * math.pi, 25, dtype=DTYPE)
    choices = torch.cartesian_prod(grid, torch.arange(N_LEVELS, dtype=DTYPE))
    best_code = float(effect_of_code.argmax())
    for acqf, q in [
        (LogExpectedImprovement(model, best_f=Y.max()), 1),
        (UpperConfidenceBound(model, beta=2.0), 1),
        (qLogExpectedImprovement(model, best_f=Y.max()), 2),
    ]:
        candidates, values = optimize_acqf_discrete(acqf, q=q, choices=choices)
        assert candidates.shape == (q, 2)
        assert torch.isfinite(values).all()
        codes = candidates[:, 1]
        assert torch.equal(codes, codes.round()) and ((codes >= 0) & (codes < N_LEVELS)).all()
        # The optimum of sin(x) + c[t] is at x = pi/2 with the largest effect.
        assert candidates[0, 1] == best_code
        assert abs(candidates[0, 0] - math.pi / 2) < 0.6


def test_baselines_lvgp_mixed_optimizer_returns_level_codes(fitted) -> None:
    model, _, Y, effect_of_code = fitted
    bounds = torch.tensor([[0.0, 0.0], [2 * math.pi, N_LEVELS - 1.0]], dtype=DTYPE)
    candidate, _ = optimize_acqf_mixed(
        LogExpectedImprovement(model, best_f=Y.max()),
        bounds=bounds,
        q=1,
        num_restarts=2,
        raw_samples=32,
        fixed_features_list=[{1: float(level)} for level in range(N_LEVELS)],
    )
    assert candidate.shape == (1, 2)
    assert candidate[0, 1] == float(effect_of_code.argmax())
    assert 0.0 <= candidate[0, 0] <= 2 * math.pi


def test_baselines_lvgp_model_list_two_outputs() -> None:
    X, Y, _ = _toy(n=20, seed=6)
    kwargs = {"cat_dims": [1], "num_restarts": 1, "max_iter": 30}
    model = ModelListGP(LVGP(X, Y, **kwargs), LVGP(X, torch.cos(X[:, :1]) - Y, **kwargs))
    fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
    assert all(len(m.restart_losses) == 1 for m in model.models)
    posterior = model.posterior(X[:6].reshape(2, 3, 2))
    assert posterior.mean.shape == (2, 3, 2)
    assert posterior.variance.shape == (2, 3, 2)
    objective = LinearMCObjective(torch.tensor([1.0, 0.0], dtype=DTYPE))
    acqf = qLogExpectedImprovement(model, best_f=Y.max(), objective=objective)
    assert acqf(X[:6].reshape(3, 2, 2)).shape == (3,)


def test_baselines_lvgp_matern_and_unobserved_level() -> None:
    X, Y, _ = _toy(n=20, seed=7)
    model = LVGP(
        X, Y, cat_dims=[1], num_levels=[7], kernel="matern", nu=1.5,
        num_restarts=1, max_iter=30,
    ).fit()
    z = model.latent_coordinates()[1]
    assert z.shape == (7, 2)
    Xt = torch.tensor([[1.0, 6.0]], dtype=DTYPE)  # level 6 never observed
    assert torch.isfinite(model.posterior(Xt).variance).all()
    with pytest.raises(ValueError, match="level codes"):
        model.posterior(torch.tensor([[1.0, 7.0]], dtype=DTYPE))


def test_baselines_lvgp_only_categorical_and_no_categorical() -> None:
    g = torch.Generator().manual_seed(8)
    T = torch.randint(3, (15, 2), generator=g).to(DTYPE)
    model = LVGP(T, T.sum(-1, keepdim=True), cat_dims=[0, 1], num_restarts=1, max_iter=20)
    assert not hasattr(model, "input_transform")
    assert set(model.fit().latent_coordinates()) == {0, 1}
    X = torch.rand(15, 2, generator=g, dtype=DTYPE)
    plain = LVGP(X, X.sum(-1, keepdim=True), cat_dims=[], num_restarts=1, max_iter=20).fit()
    assert plain.latent_coordinates() == {}
    assert plain.posterior(X[:3]).mean.shape == (3, 1)


def test_baselines_lvgp_construct_inputs() -> None:
    X, Y, _ = _toy(n=10, seed=9)
    dataset = SupervisedDataset(X, Y, feature_names=["x", "t"], outcome_names=["y"])
    inputs = LVGP.construct_inputs(dataset, categorical_features=[1], num_restarts=2)
    assert inputs["cat_dims"] == [1] and inputs["num_restarts"] == 2
    model = LVGP(**inputs)
    assert model.num_restarts == 2 and model.cat_dims == [1]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"train_Y": "two_outputs"}, ValueError, "ModelListGP"),
        ({"train_X": "fractional_code"}, ValueError, "integer level codes"),
        ({"train_X": "negative_code"}, ValueError, "integer level codes"),
        ({"train_X": "nan"}, ValueError, "finite"),
        ({"cat_dims": [2]}, ValueError, "not a column index"),
        ({"cat_dims": [1, -1]}, ValueError, "repeated"),
        ({"num_levels": [3]}, ValueError, "smaller than an observed code"),
        ({"num_levels": [5, 5]}, ValueError, "num_levels has 2 entries"),
        ({"num_restarts": 0}, ValueError, "num_restarts"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"train_X": "batched"}, ValueError, "n x d"),
    ],
)
def test_baselines_lvgp_rejects_bad_input(change: dict, error: type, message: str) -> None:
    X, Y, _ = _toy(n=10, seed=10)
    kwargs: dict = {"train_X": X, "train_Y": Y, "cat_dims": [1]}
    kwargs.update(change)
    if isinstance(kwargs["train_Y"], str):
        kwargs["train_Y"] = torch.cat([Y, Y], dim=-1)
    variants = {
        "fractional_code": lambda: X + torch.tensor([0.0, 0.5], dtype=DTYPE),
        "negative_code": lambda: X - torch.tensor([0.0, 1.0], dtype=DTYPE),
        "nan": lambda: torch.where(X == X[0, 0], float("nan"), X),
        "batched": lambda: X.unsqueeze(0),
    }
    if isinstance(kwargs["train_X"], str):
        kwargs["train_X"] = variants[kwargs["train_X"]]()
    with pytest.raises(error, match=message):
        LVGP(**kwargs)


def test_baselines_lvgp_rejects_transform_mixing_columns() -> None:
    X, Y, _ = _toy(n=10, seed=11)

    class Swap(Normalize):
        def transform(self, X: torch.Tensor) -> torch.Tensor:
            return super().transform(X).flip(-1)

    with pytest.raises(ValueError, match="level"):
        LVGP(X, Y, cat_dims=[1], input_transform=Swap(d=2))
