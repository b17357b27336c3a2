r"""Variance of bagged predictors from per-tree predictions and in-bag counts.

Implements the estimators of Wager, Hastie & Efron, "Confidence Intervals for Random
Forests: The Jackknife and the Infinitesimal Jackknife", JMLR 15 (2014), with their
Monte-Carlo bias corrections, as Lolo (Citrine Informatics) uses them.  With ``B``
trees, ``n`` training rows, in-bag counts ``N_bi``, tree predictions ``t_b(x)``, their
mean ``t(x)`` and ``S(x) = sum_b (t_b(x) - t(x))^2``:

- jackknife-after-bootstrap, bias corrected (eq. 6 and 7):
  ``V_J-U = (n-1)/n sum_i (t_(-i)(x) - t(x))^2 - (e - 1) n / B^2 S(x)``, where
  ``t_(-i)`` averages the trees whose bootstrap left row ``i`` out;
- infinitesimal jackknife, bias corrected (eq. 5 and 8):
  ``V_IJ-U = sum_i Cov_b(N_bi, t_b(x))^2 - n / B^2 S(x)``;
- ``"jackknife_ij"``: their average, Lolo's default;
- ``"trees"``: the spread of the trees, ``S(x) / (B - 1)``.

The bias-corrected sums are written as sums of per-row scores; a non-positive sum is
rectified as Lolo does (largest row score, else the magnitude of the smallest).

All functions are NumPy and act on one chunk of ``N`` prediction points; memory is
``O((B + n) N)``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

VarianceMethod = Literal["jackknife", "ij", "jackknife_ij", "trees"]
VARIANCE_METHODS: tuple[str, ...] = ("jackknife", "ij", "jackknife_ij", "trees")


def bootstrap_counts(
    n_samples: int, n_estimators: int, rng: np.random.Generator
) -> np.ndarray:
    r"""Draw in-bag counts of ``n_estimators`` bootstrap samples of ``n_samples`` rows.

    Args:
        n_samples: Number of training rows ``n``.
        n_estimators: Number of bootstrap samples ``B``.
        rng: The random generator.

    Returns:
        A ``B x n`` int64 array; row ``b`` counts how often each row is in sample ``b``
        (each row sums to ``n``).
    """
    if n_samples < 1 or n_estimators < 1:
        raise ValueError("bootstrap_counts needs n_samples >= 1 and n_estimators >= 1.")
    probabilities = np.full(n_samples, 1.0 / n_samples)
    return rng.multinomial(n_samples, probabilities, size=n_estimators).astype(np.int64)


def out_of_bag_mean(tree_predictions: np.ndarray, inbag_counts: np.ndarray) -> np.ndarray:
    r"""Average, for each training row, the trees whose bootstrap left it out.

    Args:
        tree_predictions: A ``B x n`` array of tree predictions at the training rows.
        inbag_counts: A ``B x n`` array of in-bag counts.

    Returns:
        An ``n`` array of out-of-bag predictions, ``nan`` for rows in every bootstrap.
    """
    _check_shapes(tree_predictions, inbag_counts)
    if tree_predictions.shape[1] != inbag_counts.shape[1]:
        raise ValueError("out_of_bag_mean needs predictions at the n training rows.")
    out = (inbag_counts == 0).astype(np.float64)
    n_out = out.sum(axis=0)
    total = (out * tree_predictions).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_out > 0, total / np.maximum(n_out, 1.0), np.nan)


def bagged_variance(
    tree_predictions: np.ndarray,
    inbag_counts: np.ndarray,
    method: VarianceMethod = "jackknife",
) -> np.ndarray:
    r"""Estimate the variance of the bagged mean prediction at ``N`` points.

    Args:
        tree_predictions: A ``B x N`` array, the prediction of tree ``b`` at point ``j``.
        inbag_counts: A ``B x n`` array of in-bag counts of the ``n`` training rows.
        method: ``"jackknife"``, ``"ij"``, ``"jackknife_ij"`` or ``"trees"``.

    Returns:
        An ``N`` array of non-negative variances.
    """
    _check_shapes(tree_predictions, inbag_counts)
    if method not in VARIANCE_METHODS:
        raise ValueError(f"method must be one of {VARIANCE_METHODS}, got {method!r}.")
    n_trees = tree_predictions.shape[0]
    deviations = tree_predictions - tree_predictions.mean(axis=0)  # B x N
    spread = np.einsum("bj,bj->j", deviations, deviations)  # S(x), N
    if method == "trees":
        return spread / (n_trees - 1)
    if method == "jackknife":
        scores = _jackknife_scores(tree_predictions, deviations, spread, inbag_counts)
    elif method == "ij":
        scores = _ij_scores(deviations, spread, inbag_counts)
    else:
        scores = 0.5 * (
            _jackknife_scores(tree_predictions, deviations, spread, inbag_counts)
            + _ij_scores(deviations, spread, inbag_counts)
        )
    return rectify_scores(scores)


def rectify_scores(scores: np.ndarray) -> np.ndarray:
    r"""Sum per-row scores into a non-negative variance, as Lolo does.

    The Monte-Carlo bias correction can push the sum below zero.  Then the largest
    row score (a lower bound: at least one row matters) is used, and if every score is
    negative, the magnitude of the smallest.

    Args:
        scores: An ``n x N`` array of per-training-row variance contributions.

    Returns:
        An ``N`` array of non-negative variances.
    """
    total = scores.sum(axis=0)
    largest = scores.max(axis=0)
    return np.where(total > 0, total, np.where(largest > 0, largest, -scores.min(axis=0)))


def _jackknife_scores(
    tree_predictions: np.ndarray,
    deviations: np.ndarray,
    spread: np.ndarray,
    inbag_counts: np.ndarray,
) -> np.ndarray:
    r"""Per-row terms of ``V_J-U``: an ``n x N`` array summing to the estimate."""
    n_trees, n_rows = inbag_counts.shape
    out = (inbag_counts == 0).astype(np.float64)  # B x n
    n_out = out.sum(axis=0)  # n
    # Mean deviation of the out-of-bag trees = t_(-i)(x) - t(x); 0 if row i is never out.
    delta = (out.T @ deviations) / np.maximum(n_out, 1.0)[:, None]  # n x N
    correction = (math.e - 1.0) * spread / n_trees**2  # per row; sums to (e-1) n S / B^2
    return (n_rows - 1.0) / n_rows * delta**2 - correction


def _ij_scores(
    deviations: np.ndarray, spread: np.ndarray, inbag_counts: np.ndarray
) -> np.ndarray:
    r"""Per-row terms of ``V_IJ-U``: an ``n x N`` array summing to the estimate."""
    n_trees = inbag_counts.shape[0]
    # Cov_b(N_bi, t_b) = (1/B) sum_b N_bi (t_b - t) since sum_b (t_b - t) = 0.
    covariance = (inbag_counts.T.astype(np.float64) @ deviations) / n_trees  # n x N
    return covariance**2 - spread / n_trees**2


def _check_shapes(tree_predictions: np.ndarray, inbag_counts: np.ndarray) -> None:
    if tree_predictions.ndim != 2 or inbag_counts.ndim != 2:
        raise ValueError("tree_predictions and inbag_counts must be 2-D arrays.")
    if tree_predictions.shape[0] != inbag_counts.shape[0]:
        raise ValueError(
            f"tree_predictions has {tree_predictions.shape[0]} trees but inbag_counts "
            f"has {inbag_counts.shape[0]}."
        )
    if tree_predictions.shape[0] < 2:
        raise ValueError("Bagged variance needs at least 2 trees.")
