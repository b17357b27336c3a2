"""Tests for axfusion.baselines.categorical."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.models.transforms.input import Normalize

from axfusion.baselines.categorical import (
    decode_levels,
    infer_num_levels,
    level_ranges,
    mean_target_ranks,
    normalize_cat_dims,
    pad_level_values,
    transformed_level_values,
)

DTYPE = torch.float64


def test_baselines_normalize_cat_dims() -> None:
    assert normalize_cat_dims([-1, 0], d=3) == [0, 2]
    assert normalize_cat_dims([np.int64(1)], d=3) == [1]
    for bad in ([3], [True], [0.0], [1, -2]):
        with pytest.raises(ValueError):
            normalize_cat_dims(bad, d=3)


def test_baselines_infer_num_levels() -> None:
    X = torch.tensor([[0.5, 2.0, 0.0], [0.1, 0.0, 1.0]], dtype=DTYPE)
    assert infer_num_levels(X, [1, 2]) == [3, 2]
    # num_levels follows the user's column order, the result the sorted one.
    assert infer_num_levels(X, [1, 2], num_levels=[4, 6], given_order=[2, 1]) == [6, 4]
    with pytest.raises(ValueError, match="smaller than an observed code"):
        infer_num_levels(X, [1, 2], num_levels=[2, 2])
    with pytest.raises(ValueError, match="integer level codes"):
        infer_num_levels(X, [0])


def test_baselines_level_values_through_normalize_decode_back() -> None:
    X = torch.tensor([[0.0, 1.0], [4.0, 3.0], [2.0, 0.0]], dtype=DTYPE)
    transform = Normalize(d=2)
    transform(X)  # learn the bounds, as a model's constructor does
    values = transformed_level_values(X, [1], [4], transform)
    torch.testing.assert_close(values[0], torch.arange(4, dtype=DTYPE) / 3)
    assert transform.training  # mode restored
    padded = pad_level_values(values)
    lower, upper = level_ranges(padded)
    torch.testing.assert_close(lower, torch.tensor([-1 / 6], dtype=DTYPE))
    torch.testing.assert_close(upper, torch.tensor([7 / 6], dtype=DTYPE))
    transform.eval()
    codes = decode_levels(transform(X)[:, [1]], padded, lower, upper)
    assert torch.equal(codes.squeeze(-1), X[:, 1].long())
    with pytest.raises(ValueError, match="level codes"):
        decode_levels(torch.tensor([[1.2]], dtype=DTYPE), padded, lower, upper)


def test_baselines_pad_level_values_checks() -> None:
    padded = pad_level_values([torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0, 2.0])])
    assert padded.shape == (2, 3) and torch.isinf(padded[0, 2])
    with pytest.raises(ValueError, match="share a value"):
        pad_level_values([torch.tensor([0.0, 0.0])])
    with pytest.raises(ValueError, match="not finite"):
        pad_level_values([torch.tensor([0.0, float("nan")])])


def test_baselines_mean_target_ranks_matches_loop() -> None:
    rng = np.random.default_rng(0)
    codes = np.stack([rng.integers(4, size=30), rng.integers(3, size=30)], axis=1)
    y = rng.normal(size=30)
    weights = rng.integers(0, 3, size=(5, 30)).astype(float)
    weights[0, codes[:, 0] == 2] = 0.0  # level 2 of column 0 unseen by weighting 0
    ranks = mean_target_ranks(codes, y, weights, [4, 3])
    assert ranks.shape == (5, 2, 4)
    for b in range(5):
        overall = (weights[b] * y).sum() / weights[b].sum()
        for j, n_levels in enumerate([4, 3]):
            means = []
            for level in range(n_levels):
                w = weights[b] * (codes[:, j] == level)
                means.append((w * y).sum() / w.sum() if w.sum() > 0 else overall)
            expected = np.argsort(np.argsort(means, kind="stable"), kind="stable")
            np.testing.assert_array_equal(ranks[b, j, :n_levels], expected)
    assert (ranks[:, 1, 3] == 0).all()  # padding
