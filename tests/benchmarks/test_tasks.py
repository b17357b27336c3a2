from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.tasks import BudgetExhausted, DesignSpace, Evaluator, FunctionTask, PoolTask


@pytest.fixture(scope="module")
def pool_task():
    return PoolTask.from_dataset("agnp", n_initial=10, batch_size=5, n_iterations=4)


def test_design_space_sampling_respects_kinds_and_seed():
    space = DesignSpace(
        np.array([-1.0, 0.0, 2.0]), np.array([1.0, 3.0, 5.0]), ("continuous", "categorical", "integer"), ("a", "b", "c")
    )
    X = space.sample(200, seed=3)
    assert X.shape == (200, 3)
    assert np.all(X >= space.lower) and np.all(X <= space.upper)
    assert set(np.unique(X[:, 1])) == {0.0, 1.0, 2.0, 3.0}  # every level, whole numbers
    assert set(np.unique(X[:, 2])) == {2.0, 3.0, 4.0, 5.0}
    np.testing.assert_array_equal(X, space.sample(200, seed=3))
    assert not np.array_equal(X, space.sample(200, seed=4))
    U = space.unit(X)
    np.testing.assert_allclose(space.from_unit(U), X)
    np.testing.assert_array_equal(space.clip(np.array([[9.0, 1.4, 2.6]])), [[1.0, 1.0, 3.0]])
    with pytest.raises(ValueError, match="same length"):
        DesignSpace(np.zeros(2), np.ones(3), ("continuous",) * 2, ("a", "b"))


def test_function_task_budget_iterations_and_timing():
    task = FunctionTask.from_problem("mixed_branin", n_initial=5, batch_size=3, n_iterations=4)
    assert task.space.kinds == ("continuous", "categorical") and task.budget == 17
    ev = Evaluator(task, seed=1)
    init = ev.evaluate_initial()
    np.testing.assert_allclose(init, task.problem.evaluate(task.designs(task.initial_design(1))))
    with pytest.raises(RuntimeError, match="already evaluated"):
        ev.evaluate_initial()
    calls = 0
    with pytest.raises(BudgetExhausted):
        while True:
            ev.evaluate(task.space.sample(4, seed=calls))  # more than a batch: iterations by count
            calls += 1
    assert ev.n_evaluated == 17 and ev.remaining == 0
    np.testing.assert_array_equal(ev.iteration, [0] * 5 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3)
    assert len(ev.iteration_times) == 4 and all(t >= 0 for t in ev.iteration_times)
    assert set(np.unique(ev.X[:, 1])) <= {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(ValueError, match="columns"):
        Evaluator(task).evaluate(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        Evaluator(task).evaluate(np.array([[np.nan, 0.0]]))


def test_pool_task_snaps_to_distinct_unevaluated_rows(pool_task):
    ev = Evaluator(pool_task, seed=0)
    ev.evaluate_initial()
    np.testing.assert_array_equal(ev.rows, pool_task.initial_rows(0))
    # the initial rows lie at or below the median and outside the success set
    assert not set(ev.rows.tolist()) & pool_task.success_rows
    x = pool_task.X[ev.rows[0]]
    ev.evaluate(np.vstack([x, x, x]))  # three copies of an evaluated row -> three new rows
    new = ev.rows[-3:]
    assert len(set(new.tolist())) == 3 and not set(new.tolist()) & set(ev.rows[:-3].tolist())
    with pytest.raises(ValueError, match="already evaluated"):
        ev.evaluate_rows([int(new[0])])
    with pytest.raises(ValueError, match="distinct"):
        ev.evaluate_rows([1, 1])
    np.testing.assert_allclose(ev.loss, pool_task.loss(pool_task.Y[ev.rows]))
    # agnp minimises its loss: the task's loss is the raw value
    np.testing.assert_allclose(pool_task.loss(pool_task.Y[:3]), pool_task.Y[:3, 0])


def test_pool_evaluator_stops_once_every_success_criterion_is_met(pool_task):
    setup = pool_task.setup(0)
    ev = Evaluator(pool_task, seed=0, stop_when_found=[setup.success, setup.top5, setup.best])
    ev.evaluate_initial()
    best = sorted(setup.best)
    others = sorted((setup.success | setup.top5) - setup.best)
    ev.evaluate_rows(others[:1])
    assert not ev.stopped_early
    with pytest.raises(BudgetExhausted, match="success"):
        ev.evaluate_rows(sorted(set(others[1:]) | set(best)))
    assert ev.stopped_early and ev.remaining > 0
    with pytest.raises(TypeError, match="pool tasks"):
        Evaluator(FunctionTask.from_problem("mixed_branin"), stop_when_found=[{1}])


def test_multi_target_pool_loss_is_a_fixed_scalarisation():
    task = PoolTask.from_dataset("steel_strength", targets=["yield strength", "tensile strength"], n_iterations=2)
    assert task.n_objectives == 2
    loss = task.loss(task.Y)
    # a row better in both targets has a lower loss
    i, j = int(np.argmax(task.Y.sum(1))), int(np.argmin(task.Y.sum(1)))
    assert loss[i] < loss[j]
