r"""Tests of axfusion.acquisition.structural.StructuralWeight (pi(x) lookup)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from axfusion.acquisition.structural import StructuralWeight


def _pool(k=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(k, d)) * np.array([1.0, 100.0, 0.01])[:d]
    pi = rng.uniform(0.5, 1.0, size=k)
    return P, pi


def test_exact_lookup_for_pool_rows():
    P, pi = _pool()
    sw = StructuralWeight(P, pi)
    X = torch.as_tensor(P).unsqueeze(-2)  # k x 1 x d
    out = sw(X)
    assert out.shape == (60, 1) and out.dtype == torch.float64
    np.testing.assert_array_equal(out[:, 0].numpy(), pi)
    # shuffled rows and a batch x q layout
    perm = np.random.default_rng(1).permutation(60)[:12]
    out2 = sw(torch.as_tensor(P[perm]).reshape(3, 4, 3))
    assert out2.shape == (3, 4)
    np.testing.assert_array_equal(out2.reshape(-1).numpy(), pi[perm])


def test_far_points_get_the_default():
    P, pi = _pool()
    far = torch.as_tensor(P[:5] + np.array([0.5, 50.0, 0.005])).unsqueeze(-2)
    np.testing.assert_array_equal(StructuralWeight(P, pi)(far).numpy(), 1.0)
    np.testing.assert_array_equal(StructuralWeight(P, pi, default=0.7)(far).numpy(), 0.7)
    # default=None: always the nearest candidate's weight
    x = torch.as_tensor(P[7] + np.array([1e-3, 0.1, 1e-5]))[None, None]
    assert StructuralWeight(P, pi, default=None)(x).item() == pytest.approx(pi[7])


def test_max_distance_is_in_standardised_units():
    P, pi = _pool()
    std = P.std(axis=0)
    # a step of 0.001 standard deviations along the wide (std ~100) axis: ~0.1 raw units
    x = P[3].copy()
    x[1] += 1e-3 * std[1]
    X = torch.as_tensor(x)[None, None]
    assert StructuralWeight(P, pi, max_distance=2e-3, default=0.123)(X).item() == pytest.approx(pi[3])
    assert StructuralWeight(P, pi, max_distance=5e-4, default=0.123)(X).item() == pytest.approx(0.123)
    # the same raw step along the narrow (std ~0.01) axis is thousands of stds: far
    y = P[3].copy()
    y[2] += 1e-3 * std[1]
    Y = torch.as_tensor(y)[None, None]
    assert StructuralWeight(P, pi, max_distance=2e-3, default=0.123)(Y).item() == pytest.approx(0.123)


def test_accepts_tensors_and_keeps_dtype():
    P, pi = _pool()
    sw = StructuralWeight(torch.as_tensor(P), torch.as_tensor(pi))
    out = sw(torch.as_tensor(P[:4]).unsqueeze(-2))
    np.testing.assert_array_equal(out[:, 0].numpy(), pi[:4])
    out32 = StructuralWeight(P, pi, default=None)(torch.as_tensor(P[:4], dtype=torch.float32).unsqueeze(-2))
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32[:, 0].numpy(), pi[:4].astype(np.float32))
    assert sw.pi.shape == (60,)


def test_constant_feature_column_is_handled():
    P = np.column_stack([np.linspace(0, 1, 10), np.full(10, 5.0)])
    pi = np.linspace(0.55, 1.0, 10)
    sw = StructuralWeight(P, pi)
    np.testing.assert_allclose(sw(torch.as_tensor(P).unsqueeze(-2))[:, 0].numpy(), pi)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([0.5, 0.0, 0.9]),  # zero
        np.array([0.5, -0.1, 0.9]),  # negative
        np.array([0.5, 1.01, 0.9]),  # above one
        np.array([0.5, np.nan, 0.9]),
        np.array([0.5, np.inf, 0.9]),
    ],
)
def test_invalid_weights_raise(bad):
    with pytest.raises(ValueError):
        StructuralWeight(np.zeros((3, 2)) + np.arange(3)[:, None], bad)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError):
        StructuralWeight(np.zeros((4, 2)), np.full(3, 0.8))
    with pytest.raises(ValueError):
        StructuralWeight(np.zeros(4), np.full(4, 0.8))  # points must be k x d
    # pi = 1 exactly is allowed (upper end of (0, 1])
    StructuralWeight(np.arange(6.0).reshape(3, 2), np.ones(3))
