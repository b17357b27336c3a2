"""Tests of the TuRBO-1 benchmark method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from axfusion.benchmarks.methods import turbo
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


def run(method, task, seed=0):
    ev = RecordingEvaluator(task, seed)
    ev.evaluate_initial()
    ev.proposals.clear()
    with pytest.raises(BudgetExhausted):
        method.run(task, ev)
    return ev


def assert_valid(task, ev):
    assert ev.n_evaluated == task.budget
    P = np.vstack(ev.proposals)
    assert np.all(P >= task.space.lower) and np.all(P <= task.space.upper)
    disc = task.space.discrete
    assert np.array_equal(P[:, disc], np.round(P[:, disc]))


def mixed_problem(constant: bool = False) -> TestProblem:
    params = [
        ProblemParameter("x", "continuous", -2.0, 2.0),
        ProblemParameter("n", "integer", 0, 5),
        ProblemParameter("c", "categorical", levels=("a", "b", "c")),
    ]

    def f(V):
        if constant:
            return np.zeros(V.shape[0])
        return (V[:, 0] - 0.5) ** 2 + (V[:, 1] - 3.0) ** 2 + (V[:, 2] != 1)

    return TestProblem(name="tiny_mixed", parameters=params, function=f, optimal_value=0.0)


@pytest.fixture(scope="module")
def ackley4():
    return FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=3)


def test_turbo_function_budget_valid_seeded(ackley4):
    m = get_method("turbo")
    a = run(m, ackley4, seed=0)
    assert_valid(ackley4, a)
    recs = m.diagnostics()
    assert [r["phase"] for r in recs] == ["trust_region"] * ackley4.n_iterations
    assert recs[0]["length"] == 0.8 and recs[0]["failure_tolerance"] == math.ceil(4 / 3)
    b = run(get_method("turbo"), ackley4, seed=0)
    np.testing.assert_array_equal(a.X, b.X)
    c = run(get_method("turbo"), ackley4, seed=1)
    assert not np.array_equal(a.X[ackley4.n_initial :], c.X[ackley4.n_initial :])


def test_turbo_mixed_points_are_valid():
    task = FunctionTask.from_problem(mixed_problem(), n_initial=5, batch_size=3, n_iterations=2)
    assert_valid(task, run(get_method("turbo"), task))


def test_turbo_ei(ackley4):
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=2, n_iterations=1)
    assert_valid(task, run(get_method("turbo", acquisition="ei", num_restarts=2, raw_samples=32), task))


def test_turbo_restarts_when_the_region_collapses():
    task = FunctionTask.from_problem(mixed_problem(constant=True), n_initial=4, batch_size=2, n_iterations=5)
    m = get_method("turbo", length_min=0.5, failure_tolerance=1, n_restart_points=4)
    ev = run(m, task)
    assert_valid(task, ev)
    phases = [(r["phase"], r["restart"]) for r in m.diagnostics()]
    # one failed batch halves 0.8 to 0.4 < 0.5: a 4-point Sobol restart (2 batches), then TuRBO again
    assert phases[:4] == [("trust_region", 0), ("sobol", 1), ("sobol", 1), ("trust_region", 1)]


def test_turbo_pool_rows_distinct_and_seeded():
    task = PoolTask.from_dataset("crossed_barrel", n_iterations=2)
    a = run(get_method("turbo"), task, seed=0)
    assert a.n_evaluated == task.budget and np.unique(a.rows).size == a.rows.size
    b = run(get_method("turbo"), task, seed=0)
    np.testing.assert_array_equal(a.rows, b.rows)


def test_update_state_follows_the_tutorial():
    s = turbo.TurboState(dim=20, batch_size=10)
    assert s.failure_tolerance == 2 and s.length == 0.8
    s.best_value = 1.0
    turbo.update_state(s, np.array([0.5]))
    turbo.update_state(s, np.array([1.0005]))  # below 1e-3 relative: a failure
    assert s.length == 0.4 and s.failure_counter == 0
    for _ in range(10):
        turbo.update_state(s, np.array([s.best_value + 1.0]))
    assert s.length == 0.8 and s.success_counter == 0
    for _ in range(20):
        turbo.update_state(s, np.array([-1.0]))
    assert s.restart_triggered and s.length < s.length_min


def test_turbo_option_validation():
    with pytest.raises(ValueError):
        get_method("turbo", acquisition="ucb")
    with pytest.raises(ValueError):
        get_method("turbo", length_min=1.0)
