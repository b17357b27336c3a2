"""Tests of the fusion paper's synthetic problems (Ackley, Rastrigin, Schwefel)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from botorch.test_functions import Ackley as BoTorchAckley
from botorch.test_functions import Rastrigin as BoTorchRastrigin

from axfusion.benchmarks import get_problem
from axfusion.benchmarks.synthetic import (
    SCHWEFEL_BASIN_LOWER,
    SCHWEFEL_OPTIMUM_COORDINATE,
    ShiftedRotatedFunction,
    ackley,
    make_ackley,
    make_rastrigin,
    make_schwefel,
    random_rotation,
    random_shift,
    rastrigin,
    schwefel,
)


def _uniform(problem_half_width: float, n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-problem_half_width, problem_half_width, size=(n, dim))


@pytest.mark.parametrize(
    ("name", "botorch_cls", "half_width"),
    [("ackley", BoTorchAckley, 32.768), ("rastrigin", BoTorchRastrigin, 5.12)],
)
@pytest.mark.parametrize("dim", [1, 3, 20])
def test_unshifted_matches_botorch(name: str, botorch_cls: type, half_width: float, dim: int) -> None:
    problem = get_problem(name, dim=dim)
    X = _uniform(half_width, 200, dim)
    expected = botorch_cls(dim=dim).evaluate_true(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(problem.evaluate(X), expected, rtol=1e-12, atol=1e-12)
    bounds = np.array([[p.lower, p.upper] for p in problem.parameters])
    np.testing.assert_allclose(bounds.T, botorch_cls(dim=dim).bounds.numpy())


def test_hand_computed_values() -> None:
    ones = np.ones((1, 20))
    # Ackley(1,...,1) = -20 exp(-0.2) - exp(cos 2pi) + 20 + e = 20 (1 - exp(-0.2))
    assert ackley(ones)[0] == pytest.approx(3.6253849384403636, abs=1e-12)
    # Rastrigin(1,...,1) = 10 d + d (1 - 10) = d
    assert rastrigin(ones)[0] == pytest.approx(20.0, abs=1e-12)
    # Schwefel(0) = 418.9829 d
    assert schwefel(np.zeros((1, 20)))[0] == pytest.approx(418.9829 * 20, abs=1e-9)
    assert ackley(np.zeros((1, 20)))[0] == pytest.approx(0.0, abs=1e-12)
    assert rastrigin(np.zeros((1, 20)))[0] == pytest.approx(0.0, abs=1e-12)


def test_defaults_follow_the_paper() -> None:
    for name, half_width in [("ackley", 32.768), ("rastrigin", 5.12), ("schwefel", 500.0)]:
        problem = get_problem(name)
        assert problem.dim == 20 and problem.minimize
        assert all(p.kind == "continuous" for p in problem.parameters)
        assert all(p.lower == -half_width and p.upper == half_width for p in problem.parameters)
        assert problem.parameter_names[0] == "x1" and problem.parameter_names[-1] == "x20"


@pytest.mark.parametrize("dim", [1, 2, 20])
def test_schwefel_optimum(dim: int) -> None:
    problem = make_schwefel(dim)
    # the literature's rounded optimum: f ~ 0
    assert abs(problem.evaluate(np.full((1, dim), 420.9687))[0]) < 1e-3 * dim
    assert abs(problem.optimal_value) < 1e-3 * dim
    assert problem.optimizer == {f"x{i + 1}": SCHWEFEL_OPTIMUM_COORDINATE for i in range(dim)}
    # separable: the optimal value is d times the 1-D minimum over a dense grid
    grid = np.linspace(-500.0, 500.0, 2_000_001)[:, None]
    one_d = schwefel(grid)
    assert one_d.min() >= problem.optimal_value / dim - 1e-12
    assert abs(grid[np.argmin(one_d), 0] - SCHWEFEL_OPTIMUM_COORDINATE) < 1e-3


def test_schwefel_rejects_shift_and_rotation() -> None:
    with pytest.raises(TypeError):
        get_problem("schwefel", shift=True)


def test_random_shift_and_rotation() -> None:
    rng = np.random.default_rng(0)
    s = random_shift(1000, 32.768, rng)
    assert np.all(np.abs(s) <= 0.3 * 32.768) and np.abs(s).max() > 0.29 * 32.768
    assert np.allclose(random_shift(3, 1.0, np.random.default_rng(1), centre=10.0), 10.0, atol=0.3)
    R = random_rotation(20, rng)
    np.testing.assert_allclose(R @ R.T, np.eye(20), atol=1e-12)
    assert not np.allclose(R, np.eye(20))
    with pytest.raises(ValueError, match="positive integer"):
        random_rotation(0, rng)


@pytest.mark.parametrize("factory", [make_ackley, make_rastrigin])
def test_shifted_rotated_problem(factory) -> None:  # noqa: ANN001
    problem = factory(20, shift=True, rotate=True, seed=3)
    assert problem.name.endswith("_20d_shifted_rotated_seed3")
    func = problem.function
    assert isinstance(func, ShiftedRotatedFunction)
    s = np.array([problem.optimizer[n] for n in problem.parameter_names])
    np.testing.assert_array_equal(s, func.shift)
    half_width = problem.parameters[0].upper
    assert np.all(np.abs(s) <= 0.3 * half_width) and np.any(s != 0.0)
    # the optimum moved to s and is still 0
    assert problem.evaluate(s[None, :])[0] == pytest.approx(0.0, abs=1e-12)
    assert problem.evaluate(np.zeros((1, 20)))[0] > 1.0
    # x = s + R^T u  =>  z = R (x - s) = u : f equals the base function at u
    u = np.ones((1, 20))
    x = s + u @ func.rotation
    base = ackley if factory is make_ackley else rastrigin
    assert problem.evaluate(x)[0] == pytest.approx(base(u)[0], abs=1e-10)
    # distance in raw units, to s
    np.testing.assert_allclose(problem.distance_to_optimum(x), np.sqrt(20.0), rtol=1e-12)
    # random points do not beat the optimum
    X = _uniform(half_width, 500, 20)
    assert problem.evaluate(X).min() > 0.0


def test_transformations_are_seeded() -> None:
    a = make_rastrigin(10, shift=True, rotate=True, seed=7)
    b = get_problem("rastrigin", dim=10, shift=True, rotate=True, seed=7)
    c = make_rastrigin(10, shift=True, rotate=True, seed=8)
    shift_only = make_rastrigin(10, shift=True, seed=7)
    rotate_only = make_rastrigin(10, rotate=True, seed=7)
    assert a.optimizer == b.optimizer and a.optimizer != c.optimizer
    np.testing.assert_array_equal(a.function.rotation, b.function.rotation)
    assert not np.allclose(a.function.rotation, c.function.rotation)
    # the shift of a seed does not depend on the rotation flag, and vice versa
    assert shift_only.optimizer == a.optimizer and shift_only.function.rotation is None
    np.testing.assert_array_equal(rotate_only.function.rotation, a.function.rotation)
    assert rotate_only.optimizer == {f"x{i + 1}": 0.0 for i in range(10)}
    X = _uniform(5.12, 50, 10, seed=2)
    np.testing.assert_array_equal(a.evaluate(X), b.evaluate(X))
    assert not np.allclose(a.evaluate(X), c.evaluate(X))


def test_evaluate_accepts_frames_and_dicts() -> None:
    problem = make_ackley(4, shift=True, seed=1)
    X = _uniform(32.768, 5, 4, seed=3)
    frame = pd.DataFrame(X, columns=list(problem.parameter_names))
    np.testing.assert_array_equal(problem.evaluate(frame), problem.evaluate(X))
    params = dict(zip(problem.parameter_names, X[0]))
    assert problem.evaluate_dict(params) == pytest.approx(problem.evaluate(X[:1])[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(dim=0), "positive integer"),
        (dict(dim=2.5), "positive integer"),
        (dict(dim=True), "positive integer"),
        (dict(dim=3, shift=True, seed=-1), "non-negative"),
    ],
)
def test_factories_reject_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_ackley(**kwargs)


def test_out_of_domain_points_are_rejected() -> None:
    with pytest.raises(ValueError, match="outside"):
        make_rastrigin(2).evaluate(np.array([[0.0, 5.2]]))


def test_shifted_rotated_function_validates() -> None:
    with pytest.raises(ValueError, match="shape"):
        ShiftedRotatedFunction(ackley, np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="orthogonal"):
        ShiftedRotatedFunction(ackley, np.zeros(2), 2.0 * np.eye(2))
    with pytest.raises(ValueError, match="vector"):
        ShiftedRotatedFunction(ackley, np.zeros((2, 2)))


def test_schwefel_basin_boundary_is_the_local_maximum() -> None:
    from scipy.optimize import brentq

    def slope(x: float) -> float:  # d/dx of -x sin(sqrt x), x > 0
        r = np.sqrt(x)
        return -(np.sin(r) + r * np.cos(r) / 2)

    assert SCHWEFEL_BASIN_LOWER == pytest.approx(brentq(slope, 250, 380, xtol=1e-13), abs=1e-9)
    g = lambda x: -x * np.sin(np.sqrt(np.abs(x)))  # noqa: E731
    x = np.linspace(SCHWEFEL_BASIN_LOWER, SCHWEFEL_OPTIMUM_COORDINATE, 200)
    assert np.all(np.diff(g(x)) < 0)  # descent from the boundary reaches the optimum
    assert g(SCHWEFEL_BASIN_LOWER - 1) < g(SCHWEFEL_BASIN_LOWER) > g(SCHWEFEL_BASIN_LOWER + 1)


def test_success_criteria_of_the_synthetic_problems() -> None:
    ack, ras, sch = make_ackley(20, shift=True), make_rastrigin(20, shift=True), make_schwefel(20)
    for p, label in ((ack, "f <= 0.5"), (ras, "gap <= 30"), (sch, "global basin")):
        opt = np.array([[p.optimizer[n] for n in p.parameter_names]])
        assert p.success.label == label
        assert p.is_success(opt).tolist() == [True]
    x_ack = np.array([[ack.optimizer[n] for n in ack.parameter_names]]) + 0.3  # f ~ 2.1
    assert ack.evaluate(x_ack)[0] > 0.5 and not ack.is_success(x_ack)[0]
    # values are taken as given (a recorded history is judged without re-evaluating)
    assert ras.is_success(np.zeros((2, 20)), np.array([29.0, 31.0])).tolist() == [True, False]
    x = np.full((3, 20), SCHWEFEL_OPTIMUM_COORDINATE)
    x[1, 4] = 300.0  # one coordinate beyond the boundary: another basin
    x[2, 7] = -302.52  # the best local minimum outside the basin (f ~ 118 above the optimum)
    assert sch.is_success(x).tolist() == [True, False, False]
    assert sch.evaluate(x[2:])[0] - sch.optimal_value == pytest.approx(118.44, abs=0.5)
    assert make_ackley(5, success_threshold=2.0).success.label == "f <= 2"
    with pytest.raises(ValueError, match="threshold"):
        make_ackley(5, success_threshold=float("nan"))


def test_hartmann6_matches_botorch_and_its_optimum():
    from botorch.test_functions import Hartmann

    from axfusion.benchmarks.synthetic import HARTMANN6_OPTIMAL_VALUE, HARTMANN6_OPTIMUM, hartmann6

    X = np.random.default_rng(0).random((64, 6))
    np.testing.assert_allclose(hartmann6(X), Hartmann(dim=6)(torch.as_tensor(X)).numpy(), atol=1e-6)
    problem = get_problem("hartmann6")
    assert problem.dim == 6 and problem.minimize
    assert problem.evaluate_dict(dict(zip([p.name for p in problem.parameters], HARTMANN6_OPTIMUM))) == pytest.approx(
        HARTMANN6_OPTIMAL_VALUE
    )
    assert hartmann6(X).min() > HARTMANN6_OPTIMAL_VALUE
    with pytest.raises(ValueError, match="6 coordinates"):
        hartmann6(np.zeros((2, 5)))
