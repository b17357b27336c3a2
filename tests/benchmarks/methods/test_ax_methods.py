"""Tests of the Ax-based benchmark methods (``gpbo``, ``rfbo``, ``lvgp``, ``sobol``) and
their dispatch to the pool implementations.

``run_method``, ``assert_valid``, ``mixed_task``, ``pool_task`` and the other helpers are
fixtures of ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods import ax_methods
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.methods.pool_bo import PoolGPBO, PoolRFBO
from axfusion.benchmarks.methods.random_search import RandomSearch
from axfusion.benchmarks.tasks import FunctionTask, PoolTask


@pytest.fixture(scope="module")
def ackley4():
    # this module's: one batch of 3; unshifted: the optimum is the centre of the box
    return FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=1)


def test_parameter_configs_follow_the_design_space(mixed_problem):
    configs = ax_methods.parameter_configs(mixed_problem())
    assert [c.name for c in configs] == ["x", "n", "c"]
    assert configs[0].bounds == (-2.0, 2.0)
    assert configs[1].bounds == (0, 5)
    assert list(configs[2].values) == [0, 1, 2] and configs[2].is_ordered is False


def test_gpbo_starts_from_the_model_and_not_the_centre(ackley4, run_method, assert_valid):
    m = get_method("gpbo")
    ev = run_method(m, ackley4, seed=0)
    assert_valid(ackley4, ev, count_proposals=True)
    recs = m.diagnostics()
    assert len(recs) == ackley4.n_iterations
    assert recs[0]["nodes"] == ["MBM"] * ackley4.batch_size  # no extra Sobol trial, no centre trial
    first = ev.proposals[0]
    assert np.all(np.abs(first).max(axis=1) > 1e-3)  # centre = optimum = 0
    # the strategy itself has no centre node
    from axfusion.ax.strategy import generation_strategy

    assert "Center" not in generation_strategy("gpbo", seed=0, n_initial=5).name


def test_gpbo_function_seeded(ackley4, run_method, assert_seeded):
    assert_seeded("gpbo", ackley4, run_method("gpbo", ackley4, seed=0))


def test_gpbo_mixed_integer_categorical(mixed_task, run_method, assert_valid):
    m = get_method("gpbo")
    ev = run_method(m, mixed_task)
    assert_valid(mixed_task, ev, count_proposals=True)
    assert m.diagnostics()[0]["nodes"] == ["MBM"] * mixed_task.batch_size


def test_rfbo_function_seeded(ackley4, run_method, assert_valid, assert_seeded):
    opts = {"model_options": {"n_estimators": 10}}
    m = get_method("rfbo", **opts)
    a = run_method(m, ackley4, seed=0)
    assert_valid(ackley4, a, count_proposals=True)
    assert m.diagnostics()[0]["nodes"] == ["RFBO"] * ackley4.batch_size
    assert_seeded("rfbo", ackley4, a, **opts)


def test_lvgp_needs_categorical_inputs(ackley4, pool_task, started_evaluator):
    m = get_method("lvgp")
    assert not m.supports(ackley4)
    assert not m.supports(pool_task)
    ev = started_evaluator(ackley4)
    with pytest.raises(TypeError):
        m.run(ackley4, ev)


def test_lvgp_mixed_runs_and_is_seeded(run_method, assert_valid, assert_seeded):
    task = FunctionTask.from_problem("mixed_branin", n_initial=5, batch_size=2, n_iterations=1)
    opts = {"model_options": {"num_restarts": 1}}
    m = get_method("lvgp", **opts)
    assert m.supports(task)
    a = run_method(m, task, seed=0)
    assert_valid(task, a, count_proposals=True)
    assert m.diagnostics()[0]["nodes"] == ["LVGP"] * task.batch_size
    assert_seeded("lvgp", task, a, **opts)


def test_sobol_function_and_pool(
    make_mixed_task, pool_task, run_method, assert_valid, assert_seeded, assert_pool_valid
):
    task = make_mixed_task(n_iterations=2)
    a = run_method("sobol", task, seed=0)
    assert_valid(task, a, count_proposals=True)
    assert_seeded("sobol", task, a)
    m = get_method("sobol")
    p = run_method(m, pool_task, seed=0)
    assert isinstance(m.implementation, RandomSearch)
    assert_pool_valid(pool_task, p)
    assert_seeded("sobol", pool_task, p, field="rows", other_seed=None)


@pytest.mark.parametrize(("name", "cls"), [("gpbo", PoolGPBO), ("rfbo", PoolRFBO)])
def test_pool_dispatch(name, cls, pool_task, run_method, assert_pool_valid):
    m = get_method(name, n_threads=1)
    assert m.supports(pool_task)
    ev = run_method(m, pool_task, seed=0)
    assert isinstance(m.implementation, cls)
    assert_pool_valid(pool_task, ev)
    assert len(m.diagnostics()) == pool_task.n_iterations


def test_dispatch_options():
    # an Ax-only option is accepted (and ignored on pools), a pool-only one too
    m = get_method("gpbo", acqf_class=None, mc_samples=64)
    assert m._implementation(PoolTask.from_dataset("crossed_barrel", n_iterations=1)).mc_samples == 64
    with pytest.raises(TypeError):
        get_method("gpbo", bogus=1)
    with pytest.raises(TypeError):
        get_method("sobol", kappa=2.0)
