"""Tests of ProblemParameter, TestProblem and the problem registry."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from axfusion.benchmarks import (
    ProblemParameter,
    TestProblem,
    get_problem,
    list_problems,
    register_problem,
    unregister_problem,
)


def _sum_of_squares(V: np.ndarray) -> np.ndarray:
    return np.sum(V**2, axis=1)


def _toy_problem(**overrides: object) -> TestProblem:
    """x in [-1, 2] (continuous), n in {-2..3} (integer), c in {'a', 'b', 'c'} (by index)."""
    kwargs: dict[str, object] = dict(
        name="toy",
        parameters=[
            ProblemParameter("x", "continuous", -1.0, 2.0),
            ProblemParameter("n", "integer", -2, 3),
            ProblemParameter("c", "categorical", levels=("a", "b", "c")),
        ],
        function=_sum_of_squares,
        optimal_value=0.0,
        optimizer={"x": 0.0, "n": 0, "c": "a"},
    )
    kwargs.update(overrides)
    return TestProblem(**kwargs)


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(name="", kind="continuous", lower=0.0, upper=1.0),
        dict(name="x", kind="real", lower=0.0, upper=1.0),
        dict(name="x", kind="continuous", lower=1.0, upper=1.0),
        dict(name="x", kind="continuous", lower=0.0, upper=None),
        dict(name="x", kind="continuous", lower=0.0, upper=float("inf")),
        dict(name="x", kind="continuous", lower=0.0, upper=1.0, levels=(0, 1)),
        dict(name="n", kind="integer", lower=0.5, upper=3.0),
        dict(name="t", kind="categorical", levels=(1,)),
        dict(name="t", kind="categorical", levels=(1, 1.0)),
        dict(name="t", kind="categorical", levels="ab"),
        dict(name="t", kind="categorical", levels=([1], [2])),
        dict(name="t", kind="categorical", lower=0.0, upper=1.0, levels=(0, 1)),
    ],
)
def test_parameter_rejects_bad_definitions(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ProblemParameter(**kwargs)


def test_parameter_encodes_values() -> None:
    x = ProblemParameter("x", "continuous", -1, 1)
    assert isinstance(x.lower, float) and x.upper == 1.0
    np.testing.assert_array_equal(x.encode([0.5, -1.0, 1.0]), [0.5, -1.0, 1.0])
    n = ProblemParameter("n", "integer", 0, 5)
    np.testing.assert_array_equal(n.encode([2.0, 3]), [2.0, 3.0])
    t = ProblemParameter("t", "categorical", levels=[0, 5, 10])
    assert t.levels == (0, 5, 10) and t.has_numeric_levels
    np.testing.assert_array_equal(t.level_indices([10, 5.0, np.int64(0)]), [2, 1, 0])
    np.testing.assert_array_equal(t.encode([10, 5.0]), [10.0, 5.0])
    s = ProblemParameter("s", "categorical", levels=("lo", "hi"))
    assert not s.has_numeric_levels
    np.testing.assert_array_equal(s.encode(["hi", "lo", "hi"]), [1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("param", "values", "match"),
    [
        (ProblemParameter("x", "continuous", -1, 1), [0.0, 1.5], "outside"),
        (ProblemParameter("x", "continuous", -1, 1), [np.nan], "finite"),
        (ProblemParameter("x", "continuous", -1, 1), np.array(["a"], dtype=object), "numeric"),
        (ProblemParameter("n", "integer", 0, 5), [2.5], "whole"),
        (ProblemParameter("t", "categorical", levels=(0, 5)), [0, 3], "not among"),
        (ProblemParameter("t", "categorical", levels=(0, 5)), [np.nan], "not among"),
    ],
)
def test_parameter_rejects_bad_values(
    param: ProblemParameter, values: list, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        param.encode(values)


def test_level_indices_only_for_categorical() -> None:
    with pytest.raises(ValueError, match="not categorical"):
        ProblemParameter("x", "continuous", 0, 1).level_indices([0.5])


# --------------------------------------------------------------------------- TestProblem


def test_problem_is_not_collected_by_pytest() -> None:
    assert TestProblem.__test__ is False


def test_evaluate_array_frame_and_dict_agree() -> None:
    problem = _toy_problem()
    X = np.array([[1.5, -2, "c"], [0.0, 3, "a"]], dtype=object)
    # hand: 1.5^2 + (-2)^2 + 2^2 = 10.25 ; 0 + 9 + 0 = 9
    np.testing.assert_allclose(problem.evaluate(X), [10.25, 9.0])
    frame = pd.DataFrame({"c": pd.Categorical(["c", "a"]), "x": [1.5, 0.0], "n": [-2, 3]})
    np.testing.assert_allclose(problem.evaluate(frame), [10.25, 9.0])
    assert problem.evaluate_dict({"x": 1.5, "n": -2, "c": "c"}) == pytest.approx(10.25)
    assert problem.evaluate(X[:0]).shape == (0,)
    assert problem.dim == 3 and problem.parameter_names == ("x", "n", "c")


def test_evaluate_rejects_bad_input() -> None:
    problem = _toy_problem()
    with pytest.raises(ValueError, match="shape"):
        problem.evaluate(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        problem.evaluate(np.zeros(3))
    with pytest.raises(TypeError, match="DataFrame"):
        problem.evaluate([[0.0, 0, "a"]])
    with pytest.raises(ValueError, match=r"missing \['c'\]"):
        problem.evaluate(pd.DataFrame({"x": [0.0], "n": [0]}))
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        problem.evaluate(pd.DataFrame({"x": [0.0], "n": [0], "c": ["a"], "z": [1]}))
    with pytest.raises(ValueError, match="not among"):
        problem.evaluate_dict({"x": 0.0, "n": 0, "c": "d"})
    with pytest.raises(ValueError, match=r"missing \['n'\]"):
        problem.evaluate_dict({"x": 0.0, "c": "a"})
    with pytest.raises(TypeError, match="mapping"):
        problem.evaluate_dict([0.0, 0, "a"])


def test_function_returning_wrong_shape_is_an_error() -> None:
    problem = _toy_problem(function=lambda V: np.zeros(1), optimizer=None)
    with pytest.raises(RuntimeError, match="returned"):
        problem.evaluate(np.array([[0.0, 0, "a"], [0.0, 0, "b"]], dtype=object))


def test_problem_validates_its_definition() -> None:
    with pytest.raises(ValueError, match="unique"):
        _toy_problem(
            parameters=[
                ProblemParameter("x", "continuous", 0, 1),
                ProblemParameter("x", "continuous", 0, 1),
            ],
            optimizer=None,
        )
    with pytest.raises(ValueError, match="at least one"):
        _toy_problem(parameters=[], optimizer=None)
    with pytest.raises(TypeError, match="callable"):
        _toy_problem(function=None)
    with pytest.raises(ValueError, match="not the optimal_value"):
        _toy_problem(optimal_value=1.0)
    with pytest.raises(ValueError, match="outside"):
        _toy_problem(optimizer={"x": 5.0, "n": 0, "c": "a"})
    with pytest.raises(ValueError, match="need an optimizer"):
        _toy_problem(optimizer=None, extra_optimizers=({"x": 0.0, "n": 0, "c": "a"},))


def test_distance_to_optimum() -> None:
    problem = _toy_problem(
        function=lambda V: np.zeros(V.shape[0]),  # flat: both optimisers attain 0
        extra_optimizers=({"x": 2.0, "n": 0, "c": "b"},),
    )
    X = np.array([[0.0, 0, "a"], [1.0, 2, "c"], [2.0, 0, "c"]], dtype=object)
    # row 1: to opt 1: sqrt(1 + 4 + 1) = sqrt 6 ; to opt 2: sqrt(1 + 4 + 1) -> sqrt 6
    # row 2: to opt 1: sqrt(4 + 0 + 1) = sqrt 5 ; to opt 2: sqrt(0 + 0 + 1) = 1
    np.testing.assert_allclose(problem.distance_to_optimum(X), [0.0, np.sqrt(6.0), 1.0])
    # normalised by ranges 3 (x) and 5 (n); categorical mismatch still counts 1
    np.testing.assert_allclose(
        problem.distance_to_optimum(X, normalize=True),
        [0.0, np.sqrt(1 / 9 + 4 / 25 + 1), 1.0],
    )
    with pytest.raises(ValueError, match="no known optimizer"):
        _toy_problem(optimizer=None).distance_to_optimum(X)


# --------------------------------------------------------------------------- registry


@pytest.fixture
def sphere_registered() -> Iterator[str]:
    name = "test_bench_sphere"

    def make_sphere(dim: int = 3) -> TestProblem:
        return TestProblem(
            name=f"sphere_{dim}d",
            parameters=[ProblemParameter(f"x{i}", "continuous", -1, 1) for i in range(dim)],
            function=_sum_of_squares,
            optimal_value=0.0,
            optimizer={f"x{i}": 0.0 for i in range(dim)},
        )

    register_problem(name, make_sphere)
    try:
        yield name
    finally:
        unregister_problem(name)


def test_register_new_problem_in_a_few_lines(sphere_registered: str) -> None:
    assert sphere_registered in list_problems()
    problem = get_problem(sphere_registered, dim=5)
    assert problem.name == "sphere_5d" and problem.dim == 5
    assert problem.evaluate(np.full((1, 5), 0.5))[0] == pytest.approx(1.25)
    with pytest.raises(ValueError, match="already registered"):
        register_problem(sphere_registered, lambda: None)
    register_problem(sphere_registered, lambda: 3, overwrite=True)
    with pytest.raises(TypeError, match="not TestProblem"):
        get_problem(sphere_registered)


def test_registry_rejects_bad_use() -> None:
    with pytest.raises(KeyError, match="Unknown problem"):
        get_problem("no_such_problem")
    with pytest.raises(KeyError, match="not registered"):
        unregister_problem("no_such_problem")
    with pytest.raises(ValueError, match="non-empty"):
        register_problem("", lambda: None)
    with pytest.raises(TypeError, match="callable"):
        register_problem("test_bench_bad", "not callable")  # type: ignore[arg-type]
    assert "test_bench_bad" not in list_problems()


def test_builtin_problems_are_registered() -> None:
    expected = {
        "ackley",
        "rastrigin",
        "schwefel",
        "mixed_branin",
        "mixed_mccormick",
        "mixed_six_hump_camel",
        "mixed_rastrigin_3d",
        "mixed_perm_6d",
        "mixed_perm_10d",
        "mixed_rosenbrock_10d",
        "mixed_quadratic_10d",
    }
    assert expected <= set(list_problems())
    assert list_problems() == sorted(list_problems())
    for name in expected:
        problem = get_problem(name)
        assert problem.minimize and problem.optimal_value is not None
        best = problem.evaluate(pd.DataFrame([problem.optimizer]))
        np.testing.assert_allclose(best, problem.optimal_value, atol=1e-12)
