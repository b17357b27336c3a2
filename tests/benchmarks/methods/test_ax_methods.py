"""Tests of the Ax-based benchmark methods (``gpbo``, ``rfbo``, ``lvgp``, ``sobol``) and
their dispatch to the pool implementations."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods import ax_methods
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.methods.pool_bo import PoolGPBO, PoolRFBO
from axfusion.benchmarks.methods.random_search import RandomSearch
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
    assert P.shape[0] == task.budget - task.n_initial
    assert np.all(P >= task.space.lower) and np.all(P <= task.space.upper)
    disc = task.space.discrete
    assert np.array_equal(P[:, disc], np.round(P[:, disc]))


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
def ackley4():
    # unshifted: the optimum is the centre of the box
    return FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=1)


@pytest.fixture(scope="module")
def mixed_task():
    return FunctionTask.from_problem(mixed_problem(), n_initial=5, batch_size=3, n_iterations=1)


@pytest.fixture(scope="module")
def pool_task():
    return PoolTask.from_dataset("crossed_barrel", n_iterations=2)


def test_parameter_configs_follow_the_design_space():
    configs = ax_methods.parameter_configs(mixed_problem())
    assert [c.name for c in configs] == ["x", "n", "c"]
    assert configs[0].bounds == (-2.0, 2.0)
    assert configs[1].bounds == (0, 5)
    assert list(configs[2].values) == [0, 1, 2] and configs[2].is_ordered is False


def test_gpbo_starts_from_the_model_and_not_the_centre(ackley4):
    m = get_method("gpbo")
    ev = run(m, ackley4, seed=0)
    assert_valid(ackley4, ev)
    recs = m.diagnostics()
    assert len(recs) == ackley4.n_iterations
    assert recs[0]["nodes"] == ["MBM"] * ackley4.batch_size  # no extra Sobol trial, no centre trial
    first = ev.proposals[0]
    assert np.all(np.abs(first).max(axis=1) > 1e-3)  # centre = optimum = 0
    # the strategy itself has no centre node
    from axfusion.ax.strategy import generation_strategy

    assert "Center" not in generation_strategy("gpbo", seed=0, n_initial=5).name


def test_gpbo_function_seeded(ackley4):
    a = run(get_method("gpbo"), ackley4, seed=0)
    b = run(get_method("gpbo"), ackley4, seed=0)
    np.testing.assert_array_equal(a.X, b.X)
    c = run(get_method("gpbo"), ackley4, seed=1)
    assert not np.array_equal(a.X[ackley4.n_initial :], c.X[ackley4.n_initial :])


def test_gpbo_mixed_integer_categorical(mixed_task):
    m = get_method("gpbo")
    ev = run(m, mixed_task)
    assert_valid(mixed_task, ev)
    assert m.diagnostics()[0]["nodes"] == ["MBM"] * mixed_task.batch_size


def test_rfbo_function_seeded(ackley4):
    opts = {"model_options": {"n_estimators": 10}}
    m = get_method("rfbo", **opts)
    a = run(m, ackley4, seed=0)
    assert_valid(ackley4, a)
    assert m.diagnostics()[0]["nodes"] == ["RFBO"] * ackley4.batch_size
    b = run(get_method("rfbo", **opts), ackley4, seed=0)
    np.testing.assert_array_equal(a.X, b.X)
    c = run(get_method("rfbo", **opts), ackley4, seed=1)
    assert not np.array_equal(a.X[ackley4.n_initial :], c.X[ackley4.n_initial :])


def test_lvgp_needs_categorical_inputs(ackley4, pool_task):
    m = get_method("lvgp")
    assert not m.supports(ackley4)
    assert not m.supports(pool_task)
    ev = Evaluator(ackley4, 0)
    ev.evaluate_initial()
    with pytest.raises(TypeError):
        m.run(ackley4, ev)


def test_lvgp_mixed_runs_and_is_seeded():
    task = FunctionTask.from_problem("mixed_branin", n_initial=5, batch_size=2, n_iterations=1)
    opts = {"model_options": {"num_restarts": 1}}
    m = get_method("lvgp", **opts)
    assert m.supports(task)
    a = run(m, task, seed=0)
    assert_valid(task, a)
    assert m.diagnostics()[0]["nodes"] == ["LVGP"] * task.batch_size
    b = run(get_method("lvgp", **opts), task, seed=0)
    np.testing.assert_array_equal(a.X, b.X)
    c = run(get_method("lvgp", **opts), task, seed=1)
    assert not np.array_equal(a.X[task.n_initial :], c.X[task.n_initial :])


def test_sobol_function_and_pool(mixed_task, pool_task):
    task = FunctionTask.from_problem(mixed_problem(), n_initial=5, batch_size=3, n_iterations=2)
    a = run(get_method("sobol"), task, seed=0)
    assert_valid(task, a)
    np.testing.assert_array_equal(a.X, run(get_method("sobol"), task, seed=0).X)
    assert not np.array_equal(a.X[5:], run(get_method("sobol"), task, seed=1).X[5:])
    m = get_method("sobol")
    p = run(m, pool_task, seed=0)
    assert isinstance(m.implementation, RandomSearch)
    assert p.n_evaluated == pool_task.budget and np.unique(p.rows).size == p.rows.size
    np.testing.assert_array_equal(p.rows, run(get_method("sobol"), pool_task, seed=0).rows)


@pytest.mark.parametrize(("name", "cls"), [("gpbo", PoolGPBO), ("rfbo", PoolRFBO)])
def test_pool_dispatch(name, cls, pool_task):
    m = get_method(name, n_threads=1)
    assert m.supports(pool_task)
    ev = run(m, pool_task, seed=0)
    assert isinstance(m.implementation, cls)
    assert ev.n_evaluated == pool_task.budget and np.unique(ev.rows).size == ev.rows.size
    assert len(m.diagnostics()) == pool_task.n_iterations


def test_dispatch_options():
    # an Ax-only option is accepted (and ignored on pools), a pool-only one too
    m = get_method("gpbo", acqf_class=None, mc_samples=64)
    assert m._implementation(PoolTask.from_dataset("crossed_barrel", n_iterations=1)).mc_samples == 64
    with pytest.raises(TypeError):
        get_method("gpbo", bogus=1)
    with pytest.raises(TypeError):
        get_method("sobol", kappa=2.0)
