"""Tests for axfusion.baselines.jackknife against direct transcriptions of the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from axfusion.baselines.jackknife import (
    bagged_variance,
    bootstrap_counts,
    out_of_bag_mean,
    rectify_scores,
)


def _bagging_problem(
    n_trees: int = 60, n_rows: int = 25, n_points: int = 9, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = bootstrap_counts(n_rows, n_trees, rng)
    # Tree predictions that depend on the in-bag counts, as a bagged smoother's do.
    weights = rng.normal(size=(n_rows, n_points))
    predictions = counts @ weights / n_rows + 0.1 * rng.normal(size=(n_trees, n_points))
    return predictions, counts


def _reference_scores(predictions: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row J-U and IJ-U terms written as in Wager, Hastie & Efron (2014)."""
    n_trees, n_rows = counts.shape
    n_points = predictions.shape[1]
    j_scores = np.zeros((n_rows, n_points))
    ij_scores = np.zeros((n_rows, n_points))
    for x in range(n_points):
        t = predictions[:, x]
        t_bar = t.mean()
        spread = sum((t[b] - t_bar) ** 2 for b in range(n_trees))
        for i in range(n_rows):
            out = [t[b] for b in range(n_trees) if counts[b, i] == 0]
            delta = (sum(out) / len(out) - t_bar) if out else 0.0
            j_scores[i, x] = (n_rows - 1) / n_rows * delta**2 - (math.e - 1) * spread / n_trees**2
            n_bar = counts[:, i].mean()
            cov = sum((counts[b, i] - n_bar) * (t[b] - t_bar) for b in range(n_trees)) / n_trees
            ij_scores[i, x] = cov**2 - spread / n_trees**2
    return {"jackknife": j_scores, "ij": ij_scores, "jackknife_ij": 0.5 * (j_scores + ij_scores)}


def test_baselines_bootstrap_counts_are_bootstraps() -> None:
    counts = bootstrap_counts(30, 200, np.random.default_rng(1))
    assert counts.shape == (200, 30) and counts.dtype == np.int64
    assert (counts.sum(axis=1) == 30).all() and (counts >= 0).all()
    # Each row is left out of a bootstrap with probability (1 - 1/n)^n ~ 1/e.
    assert abs((counts == 0).mean() - (1 - 1 / 30) ** 30) < 0.02
    again = bootstrap_counts(30, 200, np.random.default_rng(1))
    assert np.array_equal(counts, again)


@pytest.mark.parametrize("method", ["jackknife", "ij", "jackknife_ij"])
def test_baselines_variance_matches_reference_formula(method: str) -> None:
    predictions, counts = _bagging_problem()
    expected = rectify_scores(_reference_scores(predictions, counts)[method])
    np.testing.assert_allclose(bagged_variance(predictions, counts, method), expected, rtol=1e-10)


def test_baselines_jackknife_handles_rows_never_out_of_bag() -> None:
    predictions, counts = _bagging_problem(n_trees=4, n_rows=6)
    counts[:, 0] = np.maximum(counts[:, 0], 1)  # row 0 in every bootstrap
    expected = rectify_scores(_reference_scores(predictions, counts)["jackknife"])
    np.testing.assert_allclose(bagged_variance(predictions, counts, "jackknife"), expected)


def test_baselines_tree_variance_is_sample_variance() -> None:
    predictions, counts = _bagging_problem()
    np.testing.assert_allclose(
        bagged_variance(predictions, counts, "trees"), predictions.var(axis=0, ddof=1)
    )


def test_baselines_variance_is_non_negative_and_zero_for_identical_trees() -> None:
    predictions, counts = _bagging_problem(n_trees=10, seed=3)
    for method in ("jackknife", "ij", "jackknife_ij", "trees"):
        assert (bagged_variance(predictions, counts, method) >= 0).all()
    constant = np.ones((10, 4))
    np.testing.assert_array_equal(bagged_variance(constant, counts, "jackknife"), 0.0)


def test_baselines_rectify_scores_follows_lolo() -> None:
    scores = np.array([[0.5, -0.2, -0.4], [-0.1, 0.1, -0.3], [0.2, -0.3, -0.1]])
    # Column sums: 0.6 (kept); -0.4 with max 0.1 (max used); -0.8, all negative (|min|).
    np.testing.assert_allclose(rectify_scores(scores), [0.6, 0.1, 0.4])


def test_baselines_out_of_bag_mean() -> None:
    predictions, counts = _bagging_problem(n_trees=5, n_rows=8, n_points=8, seed=4)
    counts[:, 2] = 1  # never out of bag
    oob = out_of_bag_mean(predictions, counts)
    for i in range(8):
        out = counts[:, i] == 0
        expected = predictions[out, i].mean() if out.any() else np.nan
        np.testing.assert_allclose(oob[i], expected)
    assert np.isnan(oob[2])


def test_baselines_bagged_variance_rejects_bad_input() -> None:
    predictions, counts = _bagging_problem()
    with pytest.raises(ValueError, match="method"):
        bagged_variance(predictions, counts, "bootstrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trees"):
        bagged_variance(predictions[:-1], counts)
    with pytest.raises(ValueError, match="2-D"):
        bagged_variance(predictions[:, 0], counts)
    with pytest.raises(ValueError, match="at least 2 trees"):
        bagged_variance(predictions[:1], counts[:1])
    with pytest.raises(ValueError, match="training rows"):
        out_of_bag_mean(predictions, counts)
    with pytest.raises(ValueError, match="n_samples"):
        bootstrap_counts(0, 3, np.random.default_rng(0))
