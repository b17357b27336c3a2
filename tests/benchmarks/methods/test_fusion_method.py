"""Tests of the ``fusion`` benchmark method (FusionOptimizer on functions and pools)."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods import fusion
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.problems import ProblemParameter, TestProblem
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask, PoolTask

#: Small settings so that a test iteration takes a second or two.
FAST = {
    "families": ("ridge", "knn"),
    "n_members": 2,
    "n_box_candidates": 60,
    "box_de_maxiter": 3,
    "box_de_popsize": 4,
}


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
    return FunctionTask.from_problem(mixed_problem(), n_initial=6, batch_size=3, n_iterations=2)


@pytest.fixture(scope="module")
def pool_task():
    return PoolTask.from_dataset("crossed_barrel", n_iterations=2)


def test_fusion_function_budget_valid_seeded(mixed_task):
    m = get_method("fusion", **FAST)
    a = run(m, mixed_task, seed=0)
    assert a.n_evaluated == mixed_task.budget
    P = np.vstack(a.proposals)
    space = mixed_task.space
    assert np.all(P >= space.lower) and np.all(P <= space.upper)
    assert np.array_equal(P[:, space.discrete], np.round(P[:, space.discrete]))
    assert len({tuple(r) for r in a.X}) == a.n_evaluated  # never proposes a measured design
    recs = m.diagnostics()
    assert [r["iteration"] for r in recs] == [1, 2]
    assert recs[0]["n_observed"] == mixed_task.n_initial
    b = run(get_method("fusion", **FAST), mixed_task, seed=0)
    np.testing.assert_array_equal(a.X, b.X)
    c = run(get_method("fusion", **FAST), mixed_task, seed=1)
    assert not np.array_equal(a.X[mixed_task.n_initial :], c.X[mixed_task.n_initial :])


def test_fusion_pool_rows_distinct_and_seeded(pool_task):
    m = get_method("fusion", families=("ridge", "knn"), n_members=2)
    a = run(m, pool_task, seed=0)
    assert a.n_evaluated == pool_task.budget and np.unique(a.rows).size == a.rows.size
    recs = m.diagnostics()
    assert len(recs) == pool_task.n_iterations
    assert recs[0]["batch"] == a.rows[pool_task.n_initial : pool_task.n_initial + pool_task.batch_size].tolist()
    b = run(get_method("fusion", families=("ridge", "knn"), n_members=2), pool_task, seed=0)
    np.testing.assert_array_equal(a.rows, b.rows)


def test_fusion_pool_two_targets():
    task = PoolTask.from_dataset(
        "steel_strength", targets=["yield strength", "tensile strength"], directions=["maximize", "maximize"],
        n_initial=10, batch_size=3, n_iterations=1,
    )
    m = get_method("fusion", families=("ridge", "knn"), n_members=2)
    ev = run(m, task)
    assert ev.n_evaluated == task.budget and np.unique(ev.rows).size == ev.rows.size
    assert len(m.diagnostics()[0]["best_so_far"]) == 2


def test_search_space_and_points_round_trip(mixed_task):
    space = fusion.search_space(mixed_task.problem)
    assert space.names == ("x", "n", "c")
    X = mixed_task.space.sample(8, 0, "random")
    designs = mixed_task.designs(X)
    assert space.contains(designs).all()
    np.testing.assert_array_equal(fusion.to_points(mixed_task, designs), X)


def test_fusion_options():
    m = get_method("fusion", n_members=3, n_jobs=1)
    assert m._config(FunctionTask.from_problem("ackley", dim=2, n_initial=5, batch_size=3), box=True).n_members == 3
    cfg = get_method("fusion")._config(FunctionTask.from_problem("ackley", dim=2, n_initial=5, batch_size=3), box=True)
    assert cfg.box_time_budget_s is None and cfg.batch_size == 3
    assert (cfg.box_de_maxiter, cfg.box_de_popsize) == (8, 10)
    with pytest.raises(TypeError):
        get_method("fusion", bogus=1)
    with pytest.raises(TypeError):
        get_method("fusion", batch_size=5)  # comes from the task
