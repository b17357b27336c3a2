"""Tests for Stage 0, :mod:`axfusion.capacity`."""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import fields

import numpy as np
import pytest

from axfusion.capacity import (
    CapacityCaps,
    CapacityReport,
    CapacityWarning,
    caps_from_capacity,
    estimate_capacity,
    information_budget,
    pca_dimension,
    sir_dimension,
)

# --------------------------------------------------------------------------
# Fixtures / data
# --------------------------------------------------------------------------


def _subspace_data(seed: int = 0, n: int = 500, k: int = 5, d: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Points uniformly filling a k-D linear subspace of R^d; y depends on three directions."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-1.0, 1.0, size=(n, k))
    Q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    X = Z @ Q.T
    y = Z[:, 0] + 4.0 * Z[:, 1] ** 3 + np.exp(2.0 * Z[:, 2])
    return X, y


def _two_direction_data(seed: int, n: int = 500, p: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X[:, 0] + 4.0 * X[:, 1] ** 3 + 0.1 * rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def subspace_report() -> CapacityReport:
    X, y = _subspace_data()
    return estimate_capacity(X, y)


# --------------------------------------------------------------------------
# caps_from_capacity
# --------------------------------------------------------------------------

_NON_INCREASING = {"min_samples_leaf", "knn_k_min"}


@pytest.mark.parametrize("d_eff,n", [(1, 5), (5, 20), (13, 500), (40, 2000)])
def test_caps_monotone_in_capacity(d_eff: int, n: int) -> None:
    caps = [caps_from_capacity(C, d_eff, n) for C in range(1, 3001)]
    names = [f.name for f in fields(CapacityCaps) if f.name != "alpha_grid"]
    for name in names:
        values = np.array([getattr(c, name) for c in caps])
        steps = np.diff(values)
        if name in _NON_INCREASING:
            assert np.all(steps <= 0), name
        else:
            assert np.all(steps >= 0), name
    alpha_min = np.array([min(c.alpha_grid) for c in caps])
    alpha_max = np.array([max(c.alpha_grid) for c in caps])
    assert np.all(np.diff(alpha_min) <= 0)
    assert np.all(np.diff(alpha_max) == 0)
    if n < 20:
        return
    # Every cap really moves over the sweep (except those pinned by d_eff or n).
    assert caps[-1].max_trees > caps[0].max_trees
    assert caps[-1].max_depth > caps[0].max_depth
    assert caps[-1].max_leaves > caps[0].max_leaves
    assert caps[-1].min_samples_leaf < caps[0].min_samples_leaf
    assert caps[-1].mlp_depth == 3 and caps[0].mlp_depth == 1
    assert caps[-1].knn_k_max > caps[0].knn_k_max
    assert min(caps[-1].alpha_grid) < min(caps[0].alpha_grid)


@pytest.mark.parametrize("C", [1, 2, 6, 18, 60, 111, 745, 5000])
def test_caps_bounds(C: int) -> None:
    caps = caps_from_capacity(C, 5, 20)
    assert caps.capacity == C
    assert caps.max_trees <= max(C, 20)
    assert caps.max_leaves <= max(C, 2)
    assert 8 <= caps.mlp_width <= max(C, 8)
    assert 1 <= caps.mlp_depth <= 3
    assert 1 <= caps.knn_k_min <= caps.knn_k_max
    assert 1 <= caps.min_samples_leaf <= 10  # n // 2
    grid = np.array(caps.alpha_grid)
    assert np.all(np.diff(grid) > 0)
    assert grid[-1] == pytest.approx(10.0)


def test_caps_hand_computed() -> None:
    # C = 60 (n = 20 evaluated points), d_eff = 5.
    caps = caps_from_capacity(60, 5, 20)
    assert caps.max_trees == 60
    assert caps.max_leaves == round(2 * math.sqrt(60)) == 15
    assert caps.max_depth == math.ceil(math.log2(15)) + 1 == 5
    assert caps.min_samples_leaf == math.ceil(16 / math.log2(61)) == 3
    assert caps.mlp_width == 60  # 8 * 5 * ln 6 = 71.7, capped by C
    assert caps.mlp_depth == 1
    assert caps.knn_k_min == 1
    assert caps.knn_k_max == math.ceil(2 * math.sqrt(60)) == 16
    assert caps.alpha_grid[0] == pytest.approx(1 / 60)
    # C = 1000, d_eff = 5: width follows 8 d_eff ln(1 + d_eff); trees, depth grow.
    caps = caps_from_capacity(1000, 5, 500)
    assert caps.mlp_width == round(8 * 5 * math.log(6)) == 72
    assert caps.max_trees == 1000
    assert caps.max_leaves == 63
    assert caps.max_depth == 7
    assert caps.mlp_depth == 3
    assert caps.knn_k_max == 50
    assert caps.alpha_grid[0] == pytest.approx(1e-3)
    # Low information relative to n: k-NN must average at least min(5, n / C) points.
    assert caps_from_capacity(22, 1, 500).knn_k_min == 5
    assert caps_from_capacity(200, 1, 500).knn_k_min == 3
    # Options are honoured.
    assert caps_from_capacity(5000, 5, 500, max_trees_ceiling=300).max_trees == 300
    assert caps_from_capacity(60, 5, 20, mlp_width_floor=64, mlp_width_ceiling=128).mlp_width == 64


def test_caps_bad_input() -> None:
    with pytest.raises(ValueError, match="capacity"):
        caps_from_capacity(0, 5, 20)
    with pytest.raises(ValueError, match="d_eff"):
        caps_from_capacity(10, 0, 20)
    with pytest.raises(ValueError, match="n must"):
        caps_from_capacity(10, 1, -3)
    with pytest.raises(ValueError, match="mlp_depth_thresholds"):
        caps_from_capacity(10, 1, 20, mlp_depth_thresholds=(400, 100))
    with pytest.raises(ValueError, match="max_trees_ceiling"):
        caps_from_capacity(10, 1, 20, max_trees_ceiling=5)
    with pytest.raises(ValueError, match="knn_k_min"):
        CapacityCaps(10, 20, 3, 6, 2, 8, 1, 9, 5, (0.1, 1.0))


# --------------------------------------------------------------------------
# Budget formulas
# --------------------------------------------------------------------------


def test_information_budget_hand_computed() -> None:
    assert information_budget(5, 1) == round(32 * 5 * math.log(2)) == 111
    assert information_budget(13, 5) == round(32 * 13 * math.log(6)) == 745
    assert information_budget(1, 1) == 22
    assert information_budget(1, 1, budget_scale=4.0) == 10  # the floor
    assert information_budget(13, 5, remaining_budget=40) == 40
    assert information_budget(13, 5, remaining_budget=5000) == 745
    with pytest.raises(ValueError, match="remaining_budget"):
        information_budget(3, 1, remaining_budget=0)


def test_report_formulas(subspace_report: CapacityReport) -> None:
    small = estimate_capacity(*_subspace_data(seed=3, n=15))
    for r in (subspace_report, small):
        assert r.d_eff == max(1, (r.d_sup + r.d_est + r.d_unsup) // 3)
        assert r.n_budget == max(10, round(32 * r.d_eff * math.log1p(r.d_sup)))
        assert r.capacity == min(3 * r.n, r.n_budget)
        assert r.capacity <= 3 * r.n
        assert r.resolution == pytest.approx(r.n / r.d_eff)
        assert r.caps == caps_from_capacity(r.capacity, r.d_eff, r.n)
    # 15 points cannot support the budget: C = 3 n.
    assert small.capacity == 45 < small.n_budget


def test_remaining_budget_caps_n_budget(subspace_report: CapacityReport) -> None:
    X, y = _subspace_data()
    capped = estimate_capacity(X, y, remaining_budget=30)
    assert capped.n_budget == 30
    assert capped.capacity == 30
    assert capped.caps == caps_from_capacity(30, capped.d_eff, capped.n)
    loose = estimate_capacity(X, y, remaining_budget=10**6)
    assert loose.n_budget == subspace_report.n_budget


def test_caps_options_forwarded() -> None:
    X, y = _subspace_data(n=200)
    r = estimate_capacity(X, y, caps_options={"max_trees_ceiling": 25, "mlp_width_ceiling": 16})
    assert r.capacity > 25
    assert r.caps.max_trees == 25
    assert r.caps.mlp_width == 16
    with pytest.raises(ValueError, match="mlp_width_ceiling"):
        estimate_capacity(X, y, caps_options={"mlp_width_ceiling": 4})


def test_capacity_never_exceeds_three_n() -> None:
    rng = np.random.default_rng(4)
    for n, d in [(3, 10), (6, 140), (12, 400), (30, 30), (80, 5)]:
        X = rng.normal(size=(n, d))
        y = X[:, 0] + rng.normal(size=n)
        r = estimate_capacity(X, y)
        assert 1 <= r.capacity <= 3 * n


# --------------------------------------------------------------------------
# Dimension estimates
# --------------------------------------------------------------------------


def test_five_dimensional_subspace(subspace_report: CapacityReport) -> None:
    r = subspace_report
    assert r.n == 500 and r.d == 50
    assert r.d_unsup == 5
    assert r.d_est in {4, 5, 6}
    assert 4.0 <= r.d_mle <= 6.0
    assert 3.5 <= r.d_twonn <= 6.5
    assert r.d_sup >= 2  # y varies along three directions
    assert 4 <= r.d_eff <= 6


def test_pca_dimension() -> None:
    X, _ = _subspace_data()
    assert pca_dimension((X - X.mean(0)) / X.std(0)) == 5
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 3)) * np.array([10.0, 1.0, 0.1])
    assert pca_dimension(A, 0.95) == 1
    assert pca_dimension(A, 0.999) == 2
    assert pca_dimension(A, 1.0) == 3
    assert pca_dimension(np.zeros((5, 4))) == 1


def test_binary_target_has_one_sir_direction() -> None:
    X, y = _two_direction_data(seed=0)
    y_binary = (y > np.median(y)).astype(float)
    assert sir_dimension(X, y_binary) == 1
    r = estimate_capacity(X, y_binary)
    assert r.d_sup == 1
    # A 2-valued target ignores even strong multi-directional structure.
    y_two = np.where(X[:, 0] * X[:, 1] > 0, 3.0, -1.0)
    assert sir_dimension(X, y_two) == 1


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_sir_finds_two_directions(seed: int) -> None:
    X, y = _two_direction_data(seed)
    assert sir_dimension(X, y) == 2
    # Affine reparameterisation of X does not change the answer.
    A = np.random.default_rng(seed + 10).normal(size=(X.shape[1], X.shape[1]))
    assert sir_dimension(X @ A + 3.0, y) == 2


def test_sir_single_direction_and_null() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 8))
    assert sir_dimension(X, np.tanh(X[:, 0] + X[:, 3]) + 0.05 * rng.normal(size=500)) == 1
    assert sir_dimension(X, rng.normal(size=500)) == 1
    # Few points: too few slices to resolve more than one direction.
    assert sir_dimension(X[:9], X[:9, 0] + 4 * X[:9, 1] ** 3) == 1


def test_sir_pca_first_when_wide() -> None:
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(100, 2))
    X = latent @ rng.normal(size=(2, 200)) + 0.01 * rng.normal(size=(100, 200))
    y = latent[:, 0] + 4.0 * latent[:, 1] ** 3
    assert sir_dimension((X - X.mean(0)) / X.std(0), y) == 2


def test_multi_target_takes_max() -> None:
    X, y = _two_direction_data(seed=1)
    y_binary = (X[:, 2] > 0).astype(float)
    r_single = estimate_capacity(X, y_binary)
    r_multi = estimate_capacity(X, np.column_stack([y_binary, y]))
    assert r_single.d_sup == 1
    assert r_multi.d_sup == sir_dimension(X, y) == 2


# --------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n,d", [(6, 140), (5, 400), (20, 140)])
def test_tiny_n_high_d(n: int, d: int) -> None:
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d))
    X[:, :10] = np.round(X[:, :10])  # some discrete columns
    X[:, 10] = 1.0  # a constant column
    y = X[:, 0] - X[:, 1] ** 2 + rng.normal(size=n)
    r = estimate_capacity(X, y, remaining_budget=100)
    assert r.n == n and r.d == d
    for name in ("d_unsup", "d_sup", "d_est", "d_eff"):
        assert 1 <= getattr(r, name) <= n - 1, name
    assert r.capacity <= 3 * n
    assert r.caps.max_trees >= 20 and r.caps.mlp_width >= 8
    assert math.isfinite(r.d_mle) or math.isfinite(r.d_twonn)


def test_degenerate_inputs_warn_not_fail() -> None:
    # Two distinct designs (duplicates dropped), and a single column.
    X = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 2.0]])
    with pytest.warns(CapacityWarning, match="distinct design"):
        r = estimate_capacity(X, np.array([1.0, 3.0, 2.0]))
    assert r.n == 2 and r.d_eff == 1 and r.capacity == 6
    assert math.isnan(r.d_mle) and math.isnan(r.d_twonn)
    # All columns constant.
    with pytest.warns(CapacityWarning, match="non-constant"):
        r = estimate_capacity(np.ones((8, 3)) + np.arange(8)[:, None] * 0.0, np.arange(8.0))
    assert (r.d_unsup, r.d_sup, r.d_est) == (1, 1, 1)
    # Points on a line in R^3: no warning, every dimension 1.
    t = np.linspace(0.0, 1.0, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = estimate_capacity(np.column_stack([t, 2 * t, -t]), t**2)
    assert (r.d_unsup, r.d_sup, r.d_est, r.d_eff) == (1, 1, 1, 1)


def test_duplicates_dropped_and_targets_averaged() -> None:
    X, y = _two_direction_data(seed=2, n=120)
    X_dup = np.vstack([X, X[:30]])
    y_dup = np.concatenate([y, y[:30]])
    r = estimate_capacity(X_dup, y_dup)
    assert r.n == 120
    assert r.as_dict() == estimate_capacity(X, y).as_dict()


def test_mle_failure_falls_back_to_twonn(monkeypatch: pytest.MonkeyPatch) -> None:
    import skdim

    def broken_fit(self, X, **kwargs):  # noqa: ANN001, ANN003, ANN202
        raise RuntimeError("boom")

    monkeypatch.setattr(skdim.id.MLE, "fit", broken_fit)
    X, y = _subspace_data(n=300)
    with pytest.warns(CapacityWarning, match="TwoNN"):
        r = estimate_capacity(X, y)
    assert math.isnan(r.d_mle)
    assert r.d_est == math.ceil(r.d_twonn)
    monkeypatch.setattr(skdim.id.TwoNN, "fit", broken_fit)
    with pytest.warns(CapacityWarning, match="PCA"):
        r = estimate_capacity(X, y)
    assert r.d_est == r.d_unsup == 5


def test_deterministic_and_subsampling_seeded() -> None:
    X, y = _subspace_data(seed=1, n=400)
    assert estimate_capacity(X, y).as_dict() == estimate_capacity(X, y).as_dict()
    a = estimate_capacity(X, y, max_knn_points=150, seed=5)
    b = estimate_capacity(X, y, max_knn_points=150, seed=5)
    assert a == b
    assert a.n == 400 and a.d_unsup == 5  # PCA uses all points


def test_as_dict_json_serialisable(subspace_report: CapacityReport) -> None:
    d = subspace_report.as_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["d_eff"] == subspace_report.d_eff
    assert back["caps_max_trees"] == subspace_report.caps.max_trees
    assert back["caps_alpha_grid"] == list(subspace_report.caps.alpha_grid)
    assert all(not isinstance(v, (dict, tuple)) for v in d.values())
    with pytest.warns(CapacityWarning):
        degenerate = estimate_capacity(np.array([[0.0], [1.0]]), np.array([0.0, 1.0]))
    dd = degenerate.as_dict()
    assert dd["d_mle"] is None and dd["d_twonn"] is None
    json.dumps(dd, allow_nan=False)


def test_torch_input() -> None:
    torch = pytest.importorskip("torch")
    X, y = _two_direction_data(seed=0, n=100)
    r_np = estimate_capacity(X, y)
    r_t = estimate_capacity(torch.as_tensor(X), torch.as_tensor(y).unsqueeze(-1))
    assert r_np == r_t


def test_fast_on_realistic_size() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 12)) @ rng.normal(size=(12, 140)) + 0.1 * rng.normal(size=(500, 140))
    y = X[:, 0] + np.sin(X[:, 1])
    estimate_capacity(X[:50], y[:50])  # warm-up: imports scikit-dimension
    # CPU time (all threads) rather than wall time: robust to a loaded machine.
    start = time.process_time()
    estimate_capacity(X, y)
    assert time.process_time() - start < 1.0  # ~0.05 s on an idle 2-core machine


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


def test_bad_input_raises() -> None:
    X, y = _two_direction_data(seed=0, n=50)
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        estimate_capacity(X_nan, y)
    y_inf = y.copy()
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="Y contains 1 non-finite"):
        estimate_capacity(X, y_inf)
    with pytest.raises(ValueError, match="X has 50 rows but Y has 49"):
        estimate_capacity(X, y[:-1])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        estimate_capacity(X[:, 0], y)
    with pytest.raises(ValueError, match="Y must be 1-D"):
        estimate_capacity(X, y[:, None, None])
    with pytest.raises(ValueError, match="X must be a numeric array"):
        estimate_capacity([["a", "b"], ["c", "d"]], [1.0, 2.0])
    with pytest.raises(ValueError, match="remaining_budget"):
        estimate_capacity(X, y, remaining_budget=0)
    with pytest.raises(ValueError, match="variance_threshold"):
        estimate_capacity(X, y, variance_threshold=1.5)
    with pytest.raises(ValueError, match="sir_level"):
        estimate_capacity(X, y, sir_level=0.0)
    with pytest.raises(ValueError, match="Unknown caps_options"):
        estimate_capacity(X, y, caps_options={"max_tree": 5})
    with pytest.raises(ValueError, match="rows"):
        sir_dimension(X, y[:10])
