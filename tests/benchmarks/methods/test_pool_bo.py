"""Tests of GP-BO and RF-BO on closed pools (``pool_bo``).

``run_method``, ``assert_pool_valid``, ``pool_task``, ``two_target_task`` and the other helpers
are fixtures of ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods.pool_bo import PoolGPBO, PoolLVGP, PoolRFBO, iteration_seed, unit_box
from axfusion.benchmarks.tasks import FunctionTask, PoolTask


@pytest.mark.parametrize("cls", [PoolGPBO, PoolRFBO])
def test_pool_bo_runs_the_budget_and_is_seeded(cls, pool_task, run_method, assert_pool_valid, assert_seeded):
    ev = run_method(cls(), pool_task, seed=0)
    assert_pool_valid(pool_task, ev, initial_rows=True)
    assert_seeded(cls, pool_task, ev, field="rows", compare_from=0)


def test_gpbo_diagnostics(pool_task, run_method):
    m = PoolGPBO()
    ev = run_method(m, pool_task)
    recs = m.diagnostics()
    assert [r["iteration"] for r in recs] == [1, 2]
    assert recs[0]["acquisition"] == "qLogNEI"
    assert recs[0]["n_candidates"] == pool_task.N - pool_task.n_initial
    assert recs[1]["rows"] == ev.rows[-pool_task.batch_size :].tolist()


def test_gpbo_two_targets_ehvi_and_scalarized(two_target_task, run_method, assert_pool_valid):
    m = PoolGPBO()
    ev = run_method(m, two_target_task)
    assert_pool_valid(two_target_task, ev, initial_rows=True)
    assert m.diagnostics()[0]["acquisition"] == "qLogNEHVI"
    s = PoolGPBO(multi_objective="scalarize")
    ev2 = run_method(s, two_target_task)
    assert_pool_valid(two_target_task, ev2, initial_rows=True)
    assert s.diagnostics()[0]["acquisition"] == "qLogNEI"


def test_prescreen_limits_the_candidates(pool_task, run_method, assert_pool_valid):
    for m in (PoolGPBO(max_candidates=50, chunk_size=16), PoolRFBO(max_candidates=50, acquisition="ei")):
        ev = run_method(m, pool_task)
        assert_pool_valid(pool_task, ev, initial_rows=True)
        assert all(r["n_candidates"] == 50 for r in m.diagnostics())


def test_lvgp_on_a_pool_with_categorical_columns(run_method, assert_pool_valid, assert_seeded, pool_task):
    task = PoolTask.from_dataset("buchwald_a", n_initial=10, batch_size=3, n_iterations=1)
    m = PoolLVGP(num_restarts=1)
    assert m.supports(task) and not m.supports(pool_task)  # crossed_barrel has no categorical column
    ev = run_method(m, task, seed=0)
    assert_pool_valid(task, ev, initial_rows=True)
    assert m.diagnostics()[0]["model"] == "LVGP"
    assert_seeded(lambda: PoolLVGP(num_restarts=1), task, ev, field="rows", compare_from=0)
    # categorical columns enter as level codes, numeric ones in [0, 1]
    U = m._inputs(task).numpy()
    frame = task.setup(0).dataset.X
    for j in m._cat_dims:
        assert U[:, j].max() == len(frame.iloc[:, j].cat.categories) - 1


def test_pool_bo_refuses_function_tasks(started_evaluator):
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=1)
    for m in (PoolGPBO(), PoolRFBO()):
        assert not m.supports(task)
        ev = started_evaluator(task)
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
