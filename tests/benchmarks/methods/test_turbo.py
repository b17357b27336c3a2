"""Tests of the TuRBO-1 benchmark method.

``run_method``, ``assert_valid``, ``mixed_problem``, ``pool_task`` and the other helpers are
fixtures of ``conftest.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from axfusion.benchmarks.methods import turbo
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.tasks import FunctionTask


@pytest.fixture(scope="module")
def ackley4():
    # this module's: three batches of 3
    return FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=3, n_iterations=3)


def test_turbo_function_budget_valid_seeded(ackley4, run_method, assert_valid, assert_seeded):
    m = get_method("turbo")
    a = run_method(m, ackley4, seed=0)
    assert_valid(ackley4, a)
    recs = m.diagnostics()
    assert [r["phase"] for r in recs] == ["trust_region"] * ackley4.n_iterations
    assert recs[0]["length"] == 0.8 and recs[0]["failure_tolerance"] == math.ceil(4 / 3)
    assert_seeded("turbo", ackley4, a)


def test_turbo_mixed_points_are_valid(make_mixed_task, run_method, assert_valid):
    task = make_mixed_task(n_iterations=2)
    assert_valid(task, run_method("turbo", task))


def test_turbo_ei(ackley4, run_method, assert_valid):
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=2, n_iterations=1)
    assert_valid(task, run_method("turbo", task, acquisition="ei", num_restarts=2, raw_samples=32))


def test_turbo_restarts_when_the_region_collapses(mixed_problem, run_method, assert_valid):
    task = FunctionTask.from_problem(mixed_problem(constant=True), n_initial=4, batch_size=2, n_iterations=5)
    m = get_method("turbo", length_min=0.5, failure_tolerance=1, n_restart_points=4)
    ev = run_method(m, task)
    assert_valid(task, ev)
    phases = [(r["phase"], r["restart"]) for r in m.diagnostics()]
    # one failed batch halves 0.8 to 0.4 < 0.5: a 4-point Sobol restart (2 batches), then TuRBO again
    assert phases[:4] == [("trust_region", 0), ("sobol", 1), ("sobol", 1), ("trust_region", 1)]


def test_turbo_pool_rows_distinct_and_seeded(pool_task, run_method, assert_pool_valid, assert_seeded):
    a = run_method("turbo", pool_task, seed=0)
    assert_pool_valid(pool_task, a)
    assert_seeded("turbo", pool_task, a, field="rows", other_seed=None)


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
