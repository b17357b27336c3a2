"""Tests of the ``random`` benchmark method (uniform points / random pool rows)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from axfusion.benchmarks.methods import base, random_search
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.problems import ProblemParameter, TestProblem
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask, PoolTask


class RecordingEvaluator(Evaluator):
    """Keeps the raw proposals a method hands to ``evaluate``."""

    def __init__(self, task, seed=0):
        super().__init__(task, seed)
        self.proposals: list[np.ndarray] = []

    def evaluate(self, X):
        self.proposals.append(np.array(X, dtype=np.float64, copy=True))
        return super().evaluate(X)


def run(name, task, seed=0, **options):
    ev = RecordingEvaluator(task, seed)
    ev.evaluate_initial()
    ev.proposals.clear()
    method = get_method(name, **options)
    with pytest.raises(BudgetExhausted):
        method.run(task, ev)
    return ev


def mixed_problem() -> TestProblem:
    params = [
        ProblemParameter("x", "continuous", -2.0, 2.0),
        ProblemParameter("n", "integer", 0, 5),
        ProblemParameter("c", "categorical", levels=("a", "b", "c")),
    ]

    def f(V):
        return (V[:, 0] - 0.5) ** 2 + (V[:, 1] - 3.0) ** 2 + (V[:, 2] != 1)

    return TestProblem(name="tiny_mixed", parameters=params, function=f, optimal_value=0.0)


@pytest.fixture(scope="module")
def mixed_task():
    return FunctionTask.from_problem(mixed_problem(), n_initial=5, batch_size=3, n_iterations=3)


@pytest.fixture(scope="module")
def pool_task():
    return PoolTask.from_dataset("crossed_barrel", n_iterations=2)


def assert_valid_points(task, ev):
    P = np.vstack(ev.proposals)
    space = task.space
    assert np.all(P >= space.lower) and np.all(P <= space.upper)
    disc = space.discrete
    assert np.array_equal(P[:, disc], np.round(P[:, disc]))


def test_random_function_budget_valid_and_seeded(mixed_task):
    ev = run("random", mixed_task, seed=0)
    assert ev.n_evaluated == mixed_task.budget
    assert ev.iteration.max() == mixed_task.n_iterations
    assert_valid_points(mixed_task, ev)
    again = run("random", mixed_task, seed=0)
    np.testing.assert_array_equal(ev.X, again.X)
    other = run("random", mixed_task, seed=1)
    assert not np.array_equal(ev.X[mixed_task.n_initial :], other.X[mixed_task.n_initial :])


def test_random_pool_rows_distinct_and_seeded(pool_task):
    ev = run("random", pool_task, seed=0)
    assert ev.n_evaluated == pool_task.budget
    assert np.unique(ev.rows).size == ev.rows.size
    again = run("random", pool_task, seed=0)
    np.testing.assert_array_equal(ev.rows, again.rows)
    other = run("random", pool_task, seed=1)
    assert not np.array_equal(ev.rows[pool_task.n_initial :], other.rows[pool_task.n_initial :])


def test_random_pool_stops_when_the_pool_is_empty():
    task = PoolTask.from_dataset("crossed_barrel", n_initial=20, batch_size=100, n_iterations=50)
    ev = Evaluator(task, 0)
    ev.evaluate_initial()
    with pytest.raises(BudgetExhausted):
        get_method("random").run(task, ev)
    assert ev.n_evaluated == task.N
    assert np.unique(ev.rows).size == task.N


def test_limited_threads_restores_torch_threads():
    before = torch.get_num_threads()
    with base.limited_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_random_rejects_unknown_options():
    with pytest.raises(TypeError):
        get_method("random", bogus=1)
