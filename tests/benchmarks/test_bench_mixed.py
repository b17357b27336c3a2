"""Tests of the LVGP-vs-Lolo paper's mixed-variable problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.benchmarks import TestProblem, get_problem
from axfusion.benchmarks.mixed import perm, quadratic, rosenbrock

MIXED = [
    "mixed_branin",
    "mixed_mccormick",
    "mixed_six_hump_camel",
    "mixed_rastrigin_3d",
    "mixed_perm_6d",
    "mixed_perm_10d",
    "mixed_rosenbrock_10d",
    "mixed_quadratic_10d",
]


def _frame(problem: TestProblem, rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(problem.parameter_names))


def _random_designs(problem: TestProblem, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {}
    for p in problem.parameters:
        if p.kind == "categorical":
            columns[p.name] = [p.levels[i] for i in rng.integers(len(p.levels), size=n)]
        else:
            columns[p.name] = rng.uniform(p.lower, p.upper, size=n)
    return pd.DataFrame(columns)


# (name, numerical bounds, categorical levels in order, paper's D_f or None)
DOMAINS = [
    ("mixed_branin", (-5.0, 10.0), [(0, 5, 10, 15)], None),
    ("mixed_mccormick", (-1.5, 4.0), [(-3, -2, -1, 0, 1, 2, 3, 4)], None),
    ("mixed_six_hump_camel", (-2.0, 2.0), [(-1.0, -0.7126, 0.0, 0.7126, 1.0)], None),
    ("mixed_rastrigin_3d", (-5.12, 5.12), [tuple(range(-5, 6))], None),
    ("mixed_perm_6d", (-6.0, 6.0), [(-4, 1, 6)], 7),
    (
        "mixed_perm_10d",
        (-10.0, 10.0),
        [(-4, 1, 6), (-8, -3, 2, 7), (-6, 1, 8), (-9, -3, 3, 9), (-10, -5, 0, 5, 10)],
        19,
    ),
    (
        "mixed_rosenbrock_10d",
        (-5.0, 10.0),
        [(-4, 1, 6), (-3, 1, 5, 9), (-5, 1, 7), (-2, 1, 4, 7), (-3, -1, 1, 3, 5)],
        19,
    ),
    ("mixed_quadratic_10d", (-2.0, 2.0), [(-2, -1, 0, 1, 2)] * 5, 25),
]


@pytest.mark.parametrize(("name", "bounds", "levels", "dof"), DOMAINS)
def test_domains_match_the_paper(name: str, bounds: tuple, levels: list, dof: int | None) -> None:
    problem = get_problem(name)
    numerical = [p for p in problem.parameters if p.kind != "categorical"]
    categorical = [p for p in problem.parameters if p.kind == "categorical"]
    # v = [x, t]: numerical first, then categorical
    assert problem.parameters == numerical + categorical
    assert all(p.kind == "continuous" and (p.lower, p.upper) == bounds for p in numerical)
    assert [p.levels for p in categorical] == levels
    assert all(p.has_numeric_levels for p in categorical)
    if dof is not None:  # the paper's degrees of freedom D_f
        assert len(numerical) + sum(len(lv) - 1 for lv in levels) == dof
    assert problem.minimize


@pytest.mark.parametrize(
    ("name", "row", "expected"),
    [
        # (-6)^2 + 10 (1 - 1/(8 pi)) cos 0 + 10 = 56 - 10/(8 pi)
        ("mixed_branin", [0.0, 0], 56.0 - 0.3978873577297384),
        # inner = 5 - 5.1/4 + 5 - 6 = 2.725 ; cos pi = -1
        ("mixed_branin", [np.pi, 5], 2.725**2 - 10.0 + 0.3978873577297384 + 10.0),
        # sin 0 + 0 - 0 + 0 + 1
        ("mixed_mccormick", [0.0, 0], 1.0),
        # sin 0 + 2^2 - 1.5 - 2.5 + 1
        ("mixed_mccormick", [1.0, -1], 1.0),
        # sin 3 + 1 - 3 + 2.5 + 1
        ("mixed_mccormick", [2.0, 1], 1.5 + 0.1411200080598672),
        # (4 - 2.1 + 1/3) * 1 + 1 * 1 + (-4 + 4) * 1 = 97/30
        ("mixed_six_hump_camel", [1.0, 1.0], 97.0 / 30.0),
        # x = -1, t = 0: (4 - 2.1 + 1/3) * 1 + 0 + 0 = 67/30
        ("mixed_six_hump_camel", [-1.0, 0.0], 67.0 / 30.0),
        # (-4 + 4 * 0.50779876) * 0.50779876
        ("mixed_six_hump_camel", [0.0, 0.7126], -0.9997567173698496),
        # 30 + (1 - 10) + (0.25 + 10) + (4 - 10)
        ("mixed_rastrigin_3d", [1.0, 0.5, 2], 25.25),
        # 5 * 1 + (4 + 4 + 0 + 1 + 1)
        ("mixed_quadratic_10d", [1.0] * 5 + [2, -2, 0, 1, -1], 15.0),
        # only the i = 9 term: 100 (t5 - t4^2)^2 = 100 (3 - 1)^2 ; no i = 10 term
        ("mixed_rosenbrock_10d", [1.0] * 5 + [1, 1, 1, 1, 3], 400.0),
        # only the i = 1 term: 100 (1 - 0)^2 + (0 - 1)^2
        ("mixed_rosenbrock_10d", [0.0] + [1.0] * 4 + [1, 1, 1, 1, 1], 101.0),
    ],
)
def test_hand_computed_values(name: str, row: list, expected: float) -> None:
    problem = get_problem(name)
    assert problem.evaluate(_frame(problem, [row]))[0] == pytest.approx(expected, abs=1e-12)
    assert problem.evaluate_dict(dict(zip(problem.parameter_names, row))) == pytest.approx(
        expected, abs=1e-12
    )


def test_perm_hand_values() -> None:
    # d = 2, beta = 0.5 at (0, 0): i=1: -(1.5 + 2.5) = -4 ; i=2: -(1.5 + 4.5) = -6 -> 16 + 36
    assert perm(np.zeros((1, 2)))[0] == pytest.approx(52.0)
    # at (2, 1): i=1: 1.5 (2 - 1) + 2.5 (0.5 - 1) = 0.25 ; i=2: 1.5 (4 - 1) + 4.5 (0.25 - 1) = 1.125
    assert perm(np.array([[2.0, 1.0]]))[0] == pytest.approx(0.25**2 + 1.125**2)
    assert perm(np.array([[1.0, 2.0]]))[0] == pytest.approx(0.0, abs=1e-15)
    # 6-D at x = (1..5), t = 1: only j = 6 deviates, (v6 / 6)^i - 1 = 6^-i - 1
    problem = get_problem("mixed_perm_6d")
    expected = sum(((6.0**i + 0.5) * (6.0**-i - 1.0)) ** 2 for i in range(1, 7))
    value = problem.evaluate_dict({"x1": 1, "x2": 2, "x3": 3, "x4": 4, "x5": 5, "t": 1})
    assert value == pytest.approx(expected, rel=1e-12)


def test_rosenbrock_sums_to_d_minus_one_and_quadratic() -> None:
    # d - 1 = 9 terms of (0 - 1)^2 at the origin (Eq. (10) as printed would need v_11)
    assert rosenbrock(np.zeros((1, 10)))[0] == pytest.approx(9.0)
    assert rosenbrock(np.array([[1.0, 1.0]]))[0] == 0.0
    assert quadratic(np.array([[1.0, -2.0, 3.0]]))[0] == pytest.approx(14.0)
    with pytest.raises(ValueError, match="d >= 2"):
        rosenbrock(np.zeros((1, 1)))


@pytest.mark.parametrize(
    ("name", "value", "minimisers"),
    [
        ("mixed_branin", 2.7911840637117944, [(-2.619502520637255, 10)]),
        ("mixed_mccormick", -1.695368970191867, [(-0.7819828888752202, -2)]),
        (
            "mixed_six_hump_camel",
            -1.031628427643936,
            [(0.08983477940624858, -0.7126), (-0.08983477940624858, 0.7126)],
        ),
    ],
)
def test_two_dimensional_optima_on_a_dense_grid(
    name: str, value: float, minimisers: list[tuple]
) -> None:
    problem = get_problem(name)
    assert problem.optimal_value == pytest.approx(value, abs=1e-14)
    assert [(o["x"], o["t"]) for o in problem.optimizers] == minimisers
    x_param, t_param = problem.parameters
    x = np.linspace(x_param.lower, x_param.upper, 200_001)
    best_per_level = []
    for level in t_param.levels:
        rows = np.empty((x.size, 2), dtype=object)
        rows[:, 0], rows[:, 1] = x, level
        f = problem.evaluate(rows)
        best_per_level.append(f.min())
        assert f.min() >= value - 1e-12
        for x_star, t_star in minimisers:
            if t_star == level:
                assert abs(x[np.argmin(f)] - x_star) < 1e-3
                assert f.min() - value < 1e-8
    assert min(best_per_level) == pytest.approx(value, abs=1e-8)
    # an interior minimiser: small steps either way increase f
    for x_star, t_star in minimisers:
        for step in (-1e-4, 1e-4):
            assert problem.evaluate_dict({"x": x_star + step, "t": t_star}) > value


@pytest.mark.parametrize(
    "name",
    ["mixed_rastrigin_3d", "mixed_perm_6d", "mixed_perm_10d", "mixed_rosenbrock_10d",
     "mixed_quadratic_10d"],
)
def test_non_negative_functions_have_their_zero_at_the_optimizer(name: str) -> None:
    problem = get_problem(name)
    assert problem.optimal_value == 0.0
    X = _random_designs(problem, 2000)
    values = problem.evaluate(X)
    assert values.shape == (2000,) and np.all(values > 0.0)
    # perturbing the optimum's numerical part increases the function
    opt = dict(problem.optimizer)
    opt["x1"] += 1e-3
    assert problem.evaluate_dict(opt) > 0.0
    np.testing.assert_allclose(problem.distance_to_optimum(pd.DataFrame([opt])), 1e-3)


def test_known_optimizers() -> None:
    assert get_problem("mixed_perm_10d").optimizer == {
        "x1": 1.0, "x2": 2.0, "x3": 3.0, "x4": 4.0, "x5": 5.0,
        "t1": 6, "t2": 7, "t3": 8, "t4": 9, "t5": 10,
    }
    assert get_problem("mixed_perm_6d").optimizer["t"] == 6
    assert set(get_problem("mixed_rosenbrock_10d").optimizer.values()) == {1}
    assert set(get_problem("mixed_quadratic_10d").optimizer.values()) == {0}


def test_camel_symmetry_and_distance_to_nearest_optimum() -> None:
    problem = get_problem("mixed_six_hump_camel")
    X = _random_designs(problem, 50, seed=1)
    mirrored = pd.DataFrame({"x": -X["x"], "t": [-t for t in X["t"]]})
    np.testing.assert_allclose(problem.evaluate(X), problem.evaluate(mirrored), atol=1e-12)
    # (0, 0.7126) is 0.0898... from the optimiser at t = 0.7126 ; (0, 1) adds a mismatch
    d = problem.distance_to_optimum(np.array([[0.0, 0.7126], [0.0, 1.0]], dtype=object))
    np.testing.assert_allclose(d, [0.08983477940624858, np.hypot(0.08983477940624858, 1.0)])


@pytest.mark.parametrize("name", MIXED)
def test_levels_outside_the_set_are_rejected(name: str) -> None:
    problem = get_problem(name)
    row = dict(problem.optimizer)
    cat = next(p for p in problem.parameters if p.kind == "categorical")
    row[cat.name] = 0.5  # not a level of any of these problems
    with pytest.raises(ValueError, match="not among the levels"):
        problem.evaluate_dict(row)
    # numeric arrays are accepted when they hold level values
    numeric = problem.encode(pd.DataFrame([problem.optimizer]))
    assert problem.evaluate(numeric)[0] == pytest.approx(problem.optimal_value, abs=1e-12)
