"""The CMA-ES baseline on the benchmark protocol (small budgets).

``ackley4``, ``branin``, ``pool_task``, ``run_method``, ``assert_valid`` and the other helpers
are fixtures of ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cma")

import axfusion.benchmarks.methods.cmaes  # noqa: E402,F401  (registers "cmaes")
from axfusion.benchmarks.methods import get_method, list_methods  # noqa: E402
from axfusion.benchmarks.tasks import FunctionTask  # noqa: E402


def test_registered():
    assert "cmaes" in list_methods()


def test_function_tasks(ackley4, branin, run_method, assert_valid):
    for task in (ackley4, branin):
        m = get_method("cmaes")
        ev = run_method(m, task)
        assert_valid(task, ev, points="X")
        # CMA-ES starts at the best initial point with one generation per batch
        assert m.runs[0]["popsize"] == task.batch_size
    assert set(np.unique(ev.X[:, 1])) <= {0.0, 1.0, 2.0, 3.0}


def test_first_generation_is_centred_on_the_best_initial_point(run_method):
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=8, batch_size=40, n_iterations=1)
    ev = run_method("cmaes", task, sigma0=0.05)
    best = ev.X[np.argmin(ev.loss[:8])]
    gen = ev.X[8:]
    span = task.space.upper - task.space.lower
    assert np.all(np.abs(gen.mean(axis=0) - best) / span < 0.05)


def test_pool_task(pool_task, run_method):
    ev = run_method("cmaes", pool_task)
    assert ev.n_evaluated == pool_task.budget
    assert len(set(ev.rows.tolist())) == pool_task.budget
    np.testing.assert_array_equal(ev.X, pool_task.X[ev.rows])


def test_deterministic_and_leaves_global_rng_alone(ackley4, branin, run_method, assert_seeded):
    for task in (ackley4, branin):
        np.random.seed(123)
        expected = np.random.random()
        np.random.seed(123)
        a = run_method("cmaes", task, seed=3)
        assert np.random.random() == expected  # cma's draws come from a private state
        np.random.seed(999)  # and do not depend on the global state
        assert_seeded("cmaes", task, a, seed=3, other_seed=4)


def test_improves_on_the_initial_design(run_method):
    # 155 evaluations on 4-D Ackley: every one of 20 seeds improved (median ratio to the best
    # initial loss 0.2)
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=6, n_iterations=25)
    for seed in (0, 1):
        ev = run_method("cmaes", task, seed=seed)
        assert ev.best_loss() < 0.9 * ev.loss[: task.n_initial].min()


@pytest.mark.parametrize("restarts", ["ipop", "plain", "best"])
def test_restarts(restarts, branin, capfd, run_method, assert_valid):
    task = FunctionTask.from_problem("mixed_branin", n_initial=5, batch_size=4, n_iterations=12)
    m = get_method("cmaes", restarts=restarts, cma_options={"maxiter": 2})
    ev = run_method(m, task)
    assert_valid(task, ev, points="X")
    runs = m.runs
    assert len(runs) >= 3 and all(r["generations"] <= 2 for r in runs)
    sizes = [r["popsize"] for r in runs]
    if restarts == "ipop":
        assert sizes[:3] == [4, 8, 16]
    else:
        assert set(sizes) == {4}
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_bad_restart_option(ackley4, started_evaluator):
    ev = started_evaluator(ackley4)
    with pytest.raises(ValueError):
        get_method("cmaes", restarts="sometimes").run(ackley4, ev)
