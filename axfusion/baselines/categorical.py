r"""Categorical columns shared by the baselines: validation, level counts, decoding.

Both baselines take BoTorch's mixed-input convention: ``train_X`` is ``n x d`` and the
columns listed in ``cat_dims`` hold integer level codes ``0..L-1``.  An input transform
may rescale those columns (Ax's ``Normalize`` covers every column), so a model records
the transformed value of each code (:func:`transformed_level_values`) and decodes
transformed inputs to the nearest one (:func:`decode_levels`).  Tree models
split on the levels ordered by mean target (:func:`mean_target_ranks`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch
from botorch.models.transforms.input import InputTransform
from torch import Tensor


def normalize_cat_dims(cat_dims: Sequence[int], d: int) -> list[int]:
    r"""Check column indices (negative ones count from the end); return them sorted.

    Args:
        cat_dims: Indices of the categorical columns.
        d: Number of input columns.

    Returns:
        The sorted non-negative indices.
    """
    normalised: list[int] = []
    for i in cat_dims:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not -d <= i < d:
            raise ValueError(f"cat_dims entry {i!r} is not a column index for d = {d}.")
        normalised.append(int(i) % d)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"cat_dims has repeated columns: {list(cat_dims)}.")
    return sorted(normalised)


def infer_num_levels(
    train_X: Tensor,
    cat_dims: Sequence[int],
    num_levels: Sequence[int] | None = None,
    given_order: Sequence[int] | None = None,
) -> list[int]:
    r"""Check the level codes of ``train_X`` and return the level count per column.

    Args:
        train_X: An ``n x d`` tensor whose ``cat_dims`` columns hold level codes.
        cat_dims: Sorted non-negative categorical column indices.
        num_levels: Level counts; ``max code + 1`` of each column if None.
        given_order: The columns in the order ``num_levels`` lists them (the user's
            ``cat_dims`` order); ``cat_dims`` if None.

    Returns:
        The number of levels of each column of ``cat_dims``.
    """
    codes = train_X[:, list(cat_dims)]
    if cat_dims and (not torch.equal(codes, codes.round()) or (codes < 0).any()):
        raise ValueError(
            f"Categorical columns {list(cat_dims)} must hold non-negative integer "
            "level codes."
        )
    observed = [int(codes[:, k].max().item()) + 1 for k in range(len(cat_dims))]
    if num_levels is None:
        return observed
    order = list(cat_dims) if given_order is None else list(given_order)
    if len(num_levels) != len(order):
        raise ValueError(
            f"num_levels has {len(num_levels)} entries for {len(order)} categorical "
            "columns."
        )
    by_column = {column: int(n) for column, n in zip(order, num_levels)}
    levels = [by_column[column] for column in cat_dims]
    too_small = [(c, n, o) for c, n, o in zip(cat_dims, levels, observed) if n < o]
    if too_small:
        raise ValueError(
            "num_levels smaller than an observed code (column, num_levels, "
            f"max code + 1): {too_small}."
        )
    return levels


def transformed_level_values(
    train_X: Tensor,
    cat_dims: Sequence[int],
    num_levels: Sequence[int],
    input_transform: InputTransform | None,
) -> list[Tensor]:
    r"""The value each level code takes after ``input_transform`` (in eval mode).

    Args:
        train_X: An ``n x d`` tensor of raw training inputs (row 0 fills the other
            columns of the probe).
        cat_dims: Categorical column indices.
        num_levels: Number of levels of each column.
        input_transform: The model's input transform, or None.

    Returns:
        One tensor of shape ``L_k`` per categorical column.
    """
    d = train_X.shape[-1]
    values = []
    for column, n_levels in zip(cat_dims, num_levels):
        probe = train_X[:1].expand(n_levels, d).clone()
        probe[:, column] = torch.arange(n_levels, dtype=train_X.dtype)
        if input_transform is not None:
            was_training = input_transform.training
            input_transform.eval()
            try:
                with torch.no_grad():
                    probe = input_transform(probe)
            finally:
                input_transform.train(was_training)
        values.append(probe[:, column].detach().clone())
    return values


def pad_level_values(level_values: Sequence[Tensor]) -> Tensor:
    r"""Stack per-column level values into a ``k x L_max`` tensor padded with ``inf``.

    Args:
        level_values: For each of ``k`` columns, the ``L_j`` values encoding its levels.

    Returns:
        A ``k x L_max`` tensor; entries past a column's last level are ``inf``.
    """
    l_max = max((v.numel() for v in level_values), default=1)
    dtype = level_values[0].dtype if level_values else torch.float64
    padded = torch.full((len(level_values), l_max), math.inf, dtype=dtype)
    for k, values in enumerate(level_values):
        values = torch.as_tensor(values).reshape(-1).to(padded)
        if not torch.isfinite(values).all():
            raise ValueError(f"Level values of categorical column {k} are not finite.")
        if values.numel() > 1 and torch.diff(values.sort().values).min() <= 0:
            raise ValueError(
                f"Two levels of categorical column {k} share a value; the input "
                "transform must keep the level codes distinct."
            )
        padded[k, : values.numel()] = values
    return padded


def level_ranges(level_values: Tensor) -> tuple[Tensor, Tensor]:
    r"""Accepted value range of each column: the levels widened by half the smallest gap.

    Args:
        level_values: A ``k x L_max`` tensor from :func:`pad_level_values`.

    Returns:
        Two ``k`` tensors, lower and upper ends of the accepted ranges.
    """
    lower = torch.empty(level_values.shape[0], dtype=level_values.dtype)
    upper = torch.empty_like(lower)
    for k, row in enumerate(level_values):
        values = row[torch.isfinite(row)].sort().values
        half_gap = 0.5 * torch.diff(values).min() if values.numel() > 1 else 0.5
        lower[k], upper[k] = values[0] - half_gap, values[-1] + half_gap
    return lower.to(level_values), upper.to(level_values)


def decode_levels(x: Tensor, level_values: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    r"""Map (transformed) categorical values to level indices: the nearest level value.

    Args:
        x: A ``batch_shape x k`` tensor, the ``k`` categorical columns of the inputs.
        level_values: A ``k x L_max`` tensor from :func:`pad_level_values`.
        lower: ``k`` lower ends of the accepted ranges (:func:`level_ranges`).
        upper: ``k`` upper ends of the accepted ranges.

    Returns:
        A ``batch_shape x k`` long tensor of level indices.
    """
    x = x.detach()
    if not torch.isfinite(x).all() or (x < lower).any() or (x > upper).any():
        raise ValueError(
            "Categorical columns must hold level codes 0..L-1 (after the model's input "
            "transform); got values outside the level range."
        )
    return (x.unsqueeze(-1) - level_values).abs().argmin(dim=-1)


def mean_target_ranks(
    codes: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    num_levels: Sequence[int],
) -> np.ndarray:
    r"""Rank each column's levels by their weighted mean target, once per weighting.

    Ordering the levels of a categorical input by mean response makes a threshold
    split on the rank the best binary partition of the levels under squared error
    (Breiman et al., 1984).  Lolo's regression trees order the levels at every node;
    a tree fitted on these ranks uses one order per tree, computed from its in-bag
    rows.  Levels with no weight get the overall weighted mean.

    Args:
        codes: An ``n x k`` int array of level codes.
        y: An ``n`` array of targets.
        weights: A ``B x n`` array of row weights (e.g. in-bag counts), one row per tree.
        num_levels: Number of levels ``L_j`` of each of the ``k`` columns.

    Returns:
        A ``B x k x L_max`` float array; entry ``[b, j, l]`` is the rank (0 = lowest
        mean) of level ``l`` of column ``j`` under weighting ``b`` (padding is 0).
    """
    n_weightings = weights.shape[0]
    l_max = max(num_levels, default=1)
    ranks = np.zeros((n_weightings, len(num_levels), l_max))
    weighted_y = weights * y[None, :]  # B x n
    overall = weighted_y.sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-300)  # B
    for j, n_levels in enumerate(num_levels):
        one_hot = np.eye(n_levels)[codes[:, j]]  # n x L
        totals, counts = weighted_y @ one_hot, weights @ one_hot  # B x L
        means = np.where(
            counts > 0, totals / np.maximum(counts, 1e-300), overall[:, None]
        )
        order = np.argsort(means, axis=1, kind="stable")
        ranks[:, j, :n_levels] = np.argsort(order, axis=1, kind="stable")
    return ranks
