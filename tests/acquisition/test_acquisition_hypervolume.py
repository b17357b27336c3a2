r"""Tests of axfusion.acquisition.hypervolume: reference point and per-family EHVI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning
from botorch.utils.multi_objective.hypervolume import Hypervolume
from botorch.utils.multi_objective.pareto import is_non_dominated

from axfusion.acquisition.hypervolume import (
    HypervolumeConfig,
    data_reference_point,
    ehvi_scores,
    hypercell_bounds,
)


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    return float(Hypervolume(torch.as_tensor(ref, dtype=torch.float64)).compute(Yt[is_non_dominated(Yt)]))


def _exact_hvi(y: np.ndarray, Y: np.ndarray, ref: np.ndarray) -> float:
    return _hv(np.vstack([Y, y]), ref) - _hv(Y, ref)


def _hvi_2d(samples: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    r"""Independent 2-D hypervolume improvement of many points (staircase areas)."""
    F = front[is_non_dominated(torch.as_tensor(front)).numpy()]
    F = F[np.argsort(F[:, 0])]  # x ascending, y descending
    box = np.prod(np.clip(samples - ref, 0, None), axis=-1)
    q = np.maximum(np.minimum(F[None], samples[:, None]), ref)  # clip the front to [ref, y]
    widths = np.diff(np.concatenate([np.full((len(samples), 1), ref[0]), q[..., 0]], axis=1), axis=1)
    covered = (widths * (q[..., 1] - ref[1])).sum(axis=1)
    return box - covered


# ----------------------------------------------------------- reference point
def test_data_reference_point_hand_computed():
    Y = np.array([[0.0, 1.0], [2.0, 5.0], [1.0, 3.0]])
    np.testing.assert_allclose(data_reference_point(Y), [0.0 - 0.2, 1.0 - 0.4])
    np.testing.assert_allclose(data_reference_point(Y, margin=0.5), [-1.0, -1.0])
    # a constant column uses a unit span
    np.testing.assert_allclose(data_reference_point(np.array([[1.0, 2.0], [1.0, 4.0]])), [0.9, 1.8])


def test_data_reference_point_lies_below_every_observation():
    Y = np.random.default_rng(0).normal(size=(30, 3))
    ref = data_reference_point(Y)
    assert ref.shape == (3,)
    assert np.all(ref < Y.min(axis=0))


# -------------------------------------------------------------- cell bounds
def test_hypercell_bounds_match_botorch_partitioning():
    Y = np.random.default_rng(1).normal(size=(12, 2))
    ref = data_reference_point(Y)
    cells = hypercell_bounds(Y, ref)
    part = FastNondominatedPartitioning(torch.as_tensor(ref), torch.as_tensor(Y))
    np.testing.assert_allclose(cells, part.get_hypercell_bounds().numpy())
    assert cells.shape[0] == 2 and cells.shape[2] == 2
    assert np.all(cells[0] >= ref - 1e-12)


# --------------------------------------------------------------------- EHVI
@pytest.mark.parametrize("m", [2, 3])
def test_zero_sigma_ehvi_equals_exact_hypervolume_improvement(m):
    rng = np.random.default_rng(10 + m)
    Y = rng.normal(size=(15, m))
    mu = rng.normal(size=(1, 25, m)) + 0.5
    score, ehvi = ehvi_scores(mu, np.zeros_like(mu), np.eye(m), Y, np.ones(1))
    ref = data_reference_point(Y)
    exact = np.array([_exact_hvi(mu[0, i], Y, ref) for i in range(25)])
    assert ehvi.shape == (1, 25) and score.shape == (25,)
    assert (exact > 0).sum() >= 5 and (exact == 0).sum() >= 1  # both cases are exercised
    np.testing.assert_allclose(ehvi[0], exact, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(score, exact, rtol=1e-9, atol=1e-12)  # one family, no spread


def test_tiny_sigma_tends_to_the_exact_improvement():
    rng = np.random.default_rng(5)
    Y = rng.normal(size=(10, 2))
    mu = np.array([[[1.5, 1.5], [0.3, 2.0]]])
    _, ehvi = ehvi_scores(mu, np.full_like(mu, 1e-7), np.eye(2), Y, np.ones(1))
    ref = data_reference_point(Y)
    exact = [_exact_hvi(mu[0, i], Y, ref) for i in range(2)]
    np.testing.assert_allclose(ehvi[0], exact, rtol=1e-5)


def test_dominated_point_and_point_below_reference_get_zero():
    Y = np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    mu = np.array([[[0.5, 0.5], [1.0, 1.0], [-5.0, -5.0], [0.0, 2.0], [1.5, 1.5]]])
    score, ehvi = ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, np.ones(1))
    np.testing.assert_allclose(ehvi[0, :4], 0.0, atol=1e-12)  # dominated, on the front, below ref, duplicate
    # (1.5, 1.5) adds x in (0, 1] x y in (1, 1.5] (0.5) and x in (1, 1.5] x y in (0, 1.5] (0.75)
    assert ehvi[0, 4] == pytest.approx(1.25)
    # explicit reference point: the improvement does not depend on it here (the new region has x, y > 0)
    _, e2 = ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, np.ones(1), ref_point=np.array([-10.0, -10.0]))
    assert e2[0, 4] == pytest.approx(1.25)


def test_reference_point_bounds_the_improvement():
    # a point beyond the front in one objective only: its HVI grows as the reference point drops
    Y = np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    mu = np.array([[[3.0, 0.0]]])
    _, e_data = ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, np.ones(1))
    ref = data_reference_point(Y)  # [-0.2, -0.2]
    assert e_data[0, 0] == pytest.approx(1.0 * (0.0 - ref[1]))  # strip x in (2, 3], y in (ref, 0]
    _, e_low = ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, np.ones(1), ref_point=np.array([-1.0, -1.0]))
    assert e_low[0, 0] == pytest.approx(1.0)


def test_family_weighting_and_spread():
    Y = np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    # family 1 predicts (1.5, 1.5) -> 1.25, family 2 predicts (0.5, 0.5) -> 0 (dominated), family 3
    # (2.5, 2.5) -> box from ref (-0.2, -0.2): 2.7^2 minus the front's hypervolume 0.44 + 1.2 + 0.2
    mu = np.array([[[1.5, 1.5]], [[0.5, 0.5]], [[2.5, 2.5]]])
    e = np.array([0.9, 0.5, 0.2])
    score, ehvi = ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, e)
    hvis = np.array([1.25, 0.0, 2.7**2 - (0.2 * 2.2 + 1.0 * 1.2 + 1.0 * 0.2)])
    np.testing.assert_allclose(ehvi[:, 0], hvis, atol=1e-12)
    assert score[0] == pytest.approx(e @ hvis + 0.1 * hvis.std())
    cfg = HypervolumeConfig(spread_weight=0.0)
    assert ehvi_scores(mu, np.zeros_like(mu), np.eye(2), Y, e, config=cfg)[0][0] == pytest.approx(e @ hvis)


@pytest.mark.parametrize("rho", [0.9, -0.9])
def test_correlated_ehvi_matches_independent_monte_carlo(rho):
    rng = np.random.default_rng(2)
    Y = np.array([[0.0, 2.0], [0.8, 1.5], [1.5, 0.8], [2.0, 0.0]])
    mu = np.array([[[1.2, 1.2]]])
    sigma = np.array([[[0.6, 0.6]]])
    corr = np.array([[1.0, rho], [rho, 1.0]])
    cfg = HypervolumeConfig(n_samples=40_000)
    _, ehvi = ehvi_scores(mu, sigma, corr, Y, np.ones(1), config=cfg, seed=3)
    cov = np.diag(sigma[0, 0]) @ corr @ np.diag(sigma[0, 0])
    draws = rng.multivariate_normal(mu[0, 0], cov, size=200_000)
    ref = data_reference_point(Y)
    # the independent reference agrees with botorch's exact hypervolume on single points
    np.testing.assert_allclose(_hvi_2d(draws[:20], Y, ref), [_exact_hvi(d, Y, ref) for d in draws[:20]], atol=1e-12)
    expected = _hvi_2d(draws, Y, ref).mean()
    assert ehvi[0, 0] == pytest.approx(expected, rel=0.03)


def test_correlation_changes_ehvi_and_seed_is_deterministic():
    Y = np.array([[0.0, 2.0], [0.8, 1.5], [1.5, 0.8], [2.0, 0.0]])
    mu = np.array([[[1.2, 1.2], [0.2, 0.2]]])
    sigma = np.full_like(mu, 0.6)
    pos = ehvi_scores(mu, sigma, np.array([[1.0, 0.9], [0.9, 1.0]]), Y, np.ones(1))[1]
    neg = ehvi_scores(mu, sigma, np.array([[1.0, -0.9], [-0.9, 1.0]]), Y, np.ones(1))[1]
    # positively correlated errors move both objectives up together: more improvement
    assert pos[0, 0] > 1.2 * neg[0, 0]
    again = ehvi_scores(mu, sigma, np.array([[1.0, 0.9], [0.9, 1.0]]), Y, np.ones(1))[1]
    np.testing.assert_array_equal(pos, again)
    other = ehvi_scores(mu, sigma, np.array([[1.0, 0.9], [0.9, 1.0]]), Y, np.ones(1), seed=1)[1]
    assert not np.array_equal(pos, other)
    assert np.all(pos >= 0) and np.all(neg >= 0)


def test_chunking_does_not_change_scores():
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(12, 2))
    mu = rng.normal(size=(3, 40, 2))
    sigma = rng.uniform(0.05, 0.4, size=(3, 40, 2))
    corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    e = np.array([0.5, 0.2, 0.9])
    s1, e1 = ehvi_scores(mu, sigma, corr, Y, e, config=HypervolumeConfig(chunk_size=512))
    s2, e2 = ehvi_scores(mu, sigma, corr, Y, e, config=HypervolumeConfig(chunk_size=7))
    np.testing.assert_allclose(e1, e2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s1, s2, rtol=1e-12, atol=1e-15)
    # a candidate's score does not depend on the other candidates (common random numbers)
    s3, _ = ehvi_scores(mu[:, 10:20], sigma[:, 10:20], corr, Y, e)
    np.testing.assert_allclose(s3, s1[10:20], rtol=1e-12, atol=1e-15)
    assert e1.shape == (3, 40) and s1.shape == (40,)
