"""Tests for axfusion.baselines.lvgp_kernel.LatentVariableKernel."""

from __future__ import annotations

import math

import pytest
import torch

from axfusion.baselines.lvgp_kernel import LatentVariableKernel

DTYPE = torch.float64


def _kernel(**options: object) -> LatentVariableKernel:
    defaults: dict[str, object] = {"quant_dims": [0, 2], "cat_dims": [1], "num_levels": [4]}
    defaults.update(options)
    return LatentVariableKernel(**defaults).to(DTYPE)


def _inputs(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=g, dtype=DTYPE)
    x[:, 1] = torch.randint(4, (n,), generator=g).to(DTYPE)
    return x


def test_baselines_identifiability_mask_fixes_first_levels() -> None:
    kernel = _kernel(num_levels=[4])
    kernel.set_latent(torch.randn(1, 4, 2, dtype=DTYPE) + 1.0)
    z = kernel.latent[0]
    assert torch.equal(z[0], torch.zeros(2, dtype=DTYPE))  # level 0 at the origin
    assert z[1, 1] == 0.0 and z[1, 0] != 0.0  # level 1 on the first axis
    assert (z[2:] != 0).all()  # later levels free in both coordinates


def test_baselines_kernel_matches_closed_form_rbf() -> None:
    kernel = _kernel()
    kernel.quantitative_lengthscale = torch.tensor([0.5, 2.0], dtype=DTYPE)
    latent = torch.zeros(1, 4, 2, dtype=DTYPE)
    latent[0, 1, 0], latent[0, 2] = 1.0, torch.tensor([0.3, -0.7], dtype=DTYPE)
    latent[0, 3] = torch.tensor([-1.0, 0.4], dtype=DTYPE)
    kernel.set_latent(latent)
    x = _inputs(6)
    k = kernel(x, x).to_dense()
    z = kernel.latent[0][x[:, 1].long()]
    q = x[:, [0, 2]] / torch.tensor([0.5, 2.0], dtype=DTYPE)
    sq = torch.cdist(q, q) ** 2 + torch.cdist(z, z) ** 2
    torch.testing.assert_close(k, torch.exp(-0.5 * sq))
    assert torch.linalg.eigvalsh(k).min() > -1e-10


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_baselines_matern_kernel_closed_form_and_diag(nu: float) -> None:
    kernel = _kernel(kernel="matern", nu=nu)
    kernel.set_latent(torch.randn(1, 4, 2, generator=torch.Generator().manual_seed(1), dtype=DTYPE))
    x1, x2 = _inputs(5, seed=2), _inputs(7, seed=3)
    k = kernel(x1, x2).to_dense()
    f1, f2 = kernel.embed(x1), kernel.embed(x2)
    r = math.sqrt(2 * nu) * torch.cdist(f1, f2)
    poly = {0.5: torch.ones_like(r), 1.5: 1 + r, 2.5: 1 + r + r**2 / 3}[nu]
    torch.testing.assert_close(k, poly * torch.exp(-r))
    diag = kernel(x1, x1, diag=True)
    torch.testing.assert_close(diag, torch.ones(5, dtype=DTYPE))


def test_baselines_kernel_batched_inputs() -> None:
    kernel = _kernel()
    x = _inputs(12).reshape(3, 4, 3)
    k = kernel(x, x).to_dense()
    assert k.shape == (3, 4, 4)
    torch.testing.assert_close(k[1], kernel(x[1], x[1]).to_dense())


def test_baselines_transformed_level_values_decode() -> None:
    kernel = _kernel()
    x = _inputs(8)
    codes = kernel.level_codes(x)
    kernel.set_level_values([torch.arange(4, dtype=DTYPE) / 3.0])  # as Normalize does
    x_scaled = x.clone()
    x_scaled[:, 1] = x[:, 1] / 3.0
    assert torch.equal(kernel.level_codes(x_scaled), codes)


def test_baselines_out_of_range_level_raises() -> None:
    kernel = _kernel()
    x = _inputs(3)
    x[0, 1] = 4.0  # only levels 0..3 exist
    with pytest.raises(ValueError, match="level codes"):
        kernel(x, x).to_dense()
    x[0, 1] = float("nan")
    with pytest.raises(ValueError, match="level codes"):
        kernel.level_codes(x)


def test_baselines_only_categorical_columns() -> None:
    kernel = LatentVariableKernel(quant_dims=[], cat_dims=[0, 1], num_levels=[3, 2]).to(DTYPE)
    assert kernel.quantitative_lengthscale is None
    x = torch.tensor([[0.0, 1.0], [2.0, 0.0]], dtype=DTYPE)
    assert kernel.embed(x).shape == (2, 4)
    assert kernel(x, x).to_dense().shape == (2, 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quant_dims": [], "cat_dims": [], "num_levels": []}, "at least one"),
        ({"quant_dims": [0, 1]}, "disjoint"),
        ({"num_levels": [4, 2]}, "num_levels"),
        ({"num_levels": [0]}, ">= 1 level"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"kernel": "cosine"}, "kernel"),
        ({"kernel": "matern", "nu": 1.0}, "nu"),
    ],
)
def test_baselines_kernel_rejects_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _kernel(**options)


def test_baselines_level_values_must_be_distinct() -> None:
    kernel = _kernel()
    with pytest.raises(ValueError, match="share a value"):
        kernel.set_level_values([torch.tensor([0.0, 0.0, 1.0, 2.0], dtype=DTYPE)])
    with pytest.raises(ValueError, match="4 levels"):
        kernel.set_level_values([torch.tensor([0.0, 1.0], dtype=DTYPE)])
