"""Tests of GP-BO and RF-BO on closed pools (``pool_bo``)."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods.pool_bo import PoolGPBO, PoolRFBO, iteration_seed, unit_box
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask, PoolTask


def run(method, task, seed=0):
    ev = Evaluator(task, seed)
    ev.evaluate_initial()
    with pytest.raises(BudgetExhausted):
        method.run(task, ev)
    return ev


@pytest.fixture(scope="module")
def pool_task():
    return PoolTask.from_dataset("crossed_barrel", n_iterations=2)


@pytest.fixture(scope="module")
def two_target_task():
    return PoolTask.from_dataset(
        "steel_strength",
        targets=["yield strength", "tensile strength"],
        directions=["maximize", "maximize"],
        n_initial=10,
        n_iterations=1,
        batch_size=3,
    )


def check_pool_run(task, ev):
    assert ev.n_evaluated == task.budget
    assert np.unique(ev.rows).size == ev.rows.size
    np.testing.assert_array_equal(ev.rows[: task.n_initial], task.initial_rows(ev.seed))


@pytest.mark.parametrize("cls", [PoolGPBO, PoolRFBO])
def test_pool_bo_runs_the_budget_and_is_seeded(cls, pool_task):
    ev = run(cls(), pool_task, seed=0)
    check_pool_run(pool_task, ev)
    again = run(cls(), pool_task, seed=0)
    np.testing.assert_array_equal(ev.rows, again.rows)
    other = run(cls(), pool_task, seed=1)
    assert not np.array_equal(ev.rows, other.rows)


def test_gpbo_diagnostics(pool_task):
    m = PoolGPBO()
    ev = run(m, pool_task)
    recs = m.diagnostics()
    assert [r["iteration"] for r in recs] == [1, 2]
    assert recs[0]["acquisition"] == "qLogNEI"
    assert recs[0]["n_candidates"] == pool_task.N - pool_task.n_initial
    assert recs[1]["rows"] == ev.rows[-pool_task.batch_size :].tolist()


def test_gpbo_two_targets_ehvi_and_scalarized(two_target_task):
    m = PoolGPBO()
    ev = run(m, two_target_task)
    check_pool_run(two_target_task, ev)
    assert m.diagnostics()[0]["acquisition"] == "qLogNEHVI"
    s = PoolGPBO(multi_objective="scalarize")
    ev2 = run(s, two_target_task)
    check_pool_run(two_target_task, ev2)
    assert s.diagnostics()[0]["acquisition"] == "qLogNEI"


def test_prescreen_limits_the_candidates(pool_task):
    for m in (PoolGPBO(max_candidates=50, chunk_size=16), PoolRFBO(max_candidates=50, acquisition="ei")):
        ev = run(m, pool_task)
        check_pool_run(pool_task, ev)
        assert all(r["n_candidates"] == 50 for r in m.diagnostics())


def test_pool_bo_refuses_function_tasks():
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=1)
    for m in (PoolGPBO(), PoolRFBO()):
        assert not m.supports(task)
        ev = Evaluator(task, 0)
        ev.evaluate_initial()
        with pytest.raises(TypeError):
            m.run(task, ev)


def test_option_validation():
    with pytest.raises(ValueError):
        PoolGPBO(multi_objective="parego")
    with pytest.raises(ValueError):
        PoolRFBO(acquisition="pi")


def test_helpers():
    assert iteration_seed(0, 1) == iteration_seed(0, 1)
    assert iteration_seed(0, 1) != iteration_seed(0, 2) != iteration_seed(1, 1)
    U = unit_box(np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([0.0, 5.0]), np.array([2.0, 5.0]))
    np.testing.assert_array_equal(U, [[0.0, 0.0], [1.0, 0.0]])
