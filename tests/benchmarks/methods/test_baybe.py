"""Tests of BayBE as a benchmarked method (``baybe``, ``baybe_rf``).

``run_method``, ``assert_pool_valid``, ``assert_seeded``, ``assert_valid``, ``pool_task``,
``two_target_task`` and the mixed-task helpers are fixtures of ``conftest.py``. BayBE is in
the ``test`` extra, so these tests run (no import skip). Budgets are tiny: one BayBE
``recommend`` on a pool of a few hundred rows takes a second or two on one thread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from axfusion.benchmarks.methods import list_methods
from axfusion.benchmarks.methods.baybe import BayBEMethod, BayBERandomForest, PoolCandidates
from axfusion.benchmarks.problems import ProblemParameter, TestProblem
from axfusion.benchmarks.tasks import FunctionTask, PoolTask
from axfusion.data.dataset import Dataset

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small_pool():
    """``autoam`` (100 rows), 10 initial rows and two batches of 4."""
    return PoolTask.from_dataset("autoam", n_initial=10, batch_size=4, n_iterations=2)


@pytest.fixture(scope="module")
def duplicated_pool():
    """30 rows, each of 10 feature rows three times (with different targets); the budget is the pool."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(np.repeat(rng.random((10, 2)).round(3), 3, axis=0), columns=["a", "b"])
    X["const"] = 1.0  # a constant column: not a BayBE parameter
    Y = pd.DataFrame({"y": rng.random(30)})
    ds = Dataset(name="dups", X=X, Y=Y, ids=pd.Series([f"r{i}" for i in range(30)]))
    return PoolTask.from_dataset(ds, n_initial=6, batch_size=8, n_iterations=3)


@pytest.fixture(scope="module")
def discrete_task():
    """A function task with integer and categorical inputs only (a purely discrete BayBE space)."""
    params = [
        ProblemParameter("n", "integer", 0, 5),
        ProblemParameter("c", "categorical", levels=(1.5, "b", 3)),
    ]
    problem = TestProblem(
        name="tiny_discrete", parameters=params, function=lambda V: (V[:, 0] - 3.0) ** 2 + (V[:, 1] != "b"),
        optimal_value=0.0,
    )
    return FunctionTask.from_problem(problem, n_initial=4, batch_size=3, n_iterations=2)


def test_registered():
    assert {"baybe", "baybe_rf"} <= set(list_methods())
    assert BayBEMethod().name == "baybe" and BayBERandomForest().name == "baybe_rf"
    assert BayBEMethod(surrogate="rf").name == "baybe_rf"


def test_versions_record_baybe():
    from importlib import metadata

    from axfusion.benchmarks.runner import _versions

    assert _versions()["baybe"] == metadata.version("baybe")


@pytest.mark.parametrize("name", ["baybe", "baybe_rf"])
def test_pool_runs_from_the_initial_rows_and_is_seeded(name, small_pool, run_method, assert_pool_valid, assert_seeded):
    ev = run_method(name, small_pool, seed=0)
    assert_pool_valid(small_pool, ev, initial_rows=True)  # whole budget, distinct rows, shared initial rows
    assert_seeded(name, small_pool, ev, field="rows", other_seed=None)


def test_pool_diagnostics(pool_task, run_method):
    m = BayBEMethod()
    ev = run_method(m, pool_task)
    recs = m.diagnostics()
    assert [r["iteration"] for r in recs] == [1, 2]
    assert all(r["recommender"] == "BotorchRecommender" for r in recs)  # Bayesian from the first batch on
    assert recs[0]["surrogate"] == "GaussianProcessSurrogate"
    assert recs[0]["objective"] == "SingleTargetObjective"
    assert recs[0]["acquisition"] == "qLogExpectedImprovement"
    assert recs[0]["n_candidates"] == pool_task.N - pool_task.n_initial
    assert recs[1]["n_candidates"] == pool_task.N - pool_task.n_initial - pool_task.batch_size
    assert recs[1]["rows"] == ev.rows[-pool_task.batch_size :].tolist()
    assert all(r["recommend_time_s"] > 0 for r in recs)
    assert len(ev.iteration_times) == 2


@pytest.mark.parametrize("name", ["baybe", "baybe_rf"])
def test_duplicated_feature_rows_are_all_reachable(name, duplicated_pool, run_method):
    m = BayBEMethod() if name == "baybe" else BayBERandomForest()
    ev = run_method(m, duplicated_pool)
    # the budget is the whole pool: every twin of every feature row is evaluated once
    assert sorted(ev.rows.tolist()) == list(range(duplicated_pool.N))
    # one row per distinct feature row and batch; a candidate leaves once all its rows are evaluated
    n_cand = [r["n_candidates"] for r in m.diagnostics()]
    assert n_cand[0] == 10 and all(a >= b for a, b in zip(n_cand, n_cand[1:]))
    for r in m.diagnostics():
        feats = duplicated_pool.X[r["rows"]]
        assert np.unique(feats, axis=0).shape[0] == len(r["rows"])


def test_pool_candidates():
    X = np.array([[1.0, 0.0, 5.0], [2.0, 0.0, 5.0], [1.0, 0.0, 5.0], [3.0, 1.0, 5.0], [2.0, 0.0, 5.0]])
    c = PoolCandidates(X, ("a", "b", "k"))
    assert c.columns == ["a", "b"]  # the constant column is left out
    np.testing.assert_array_equal(c.group, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(c.frame.to_numpy(), [[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]])
    np.testing.assert_array_equal(c.members(0), [0, 2])
    evaluated = np.array([True, False, False, True, False])
    np.testing.assert_array_equal(c.exhausted(evaluated), [False, False, True])
    np.testing.assert_array_equal(c.to_rows(np.array([0, 1]), evaluated), [2, 1])
    with pytest.raises(ValueError):
        c.to_rows(np.array([2]), evaluated)
    with pytest.raises(ValueError):
        PoolCandidates(np.ones((3, 2)), ("a", "b"))


def test_two_targets_pareto_and_desirability(two_target_task, run_method, assert_pool_valid):
    m = BayBEMethod()
    ev = run_method(m, two_target_task)
    assert_pool_valid(two_target_task, ev, initial_rows=True)
    assert m.diagnostics()[0]["objective"] == "ParetoObjective"
    assert m.diagnostics()[0]["acquisition"] == "qLogNoisyExpectedHypervolumeImprovement"
    d = BayBERandomForest(multi_objective="desirability")
    ev2 = run_method(d, two_target_task)
    assert_pool_valid(two_target_task, ev2, initial_rows=True)
    assert d.diagnostics()[0]["objective"] == "DesirabilityObjective"


def test_function_task_runs_in_its_box(mixed_task, run_method, assert_valid, assert_seeded):
    # BayBE's hybrid optimisation, made cheaper for the test (same code path)
    opts = {"n_restarts": 2, "n_raw_samples": 16}
    m = BayBEMethod(**opts)
    assert m.supports(mixed_task)
    ev = run_method(m, mixed_task, seed=0)
    assert_valid(mixed_task, ev, count_proposals=True)
    assert len(m.diagnostics()) == mixed_task.n_iterations
    assert_seeded("baybe", mixed_task, ev, other_seed=None, **opts)


def test_random_forest_on_functions(mixed_task, discrete_task, run_method, assert_valid):
    rf = BayBERandomForest()
    assert not rf.supports(mixed_task)
    assert "no gradients" in rf.unsupported_reason(mixed_task)
    with pytest.raises(TypeError, match="not supported"):
        rf.run(mixed_task, None)
    assert rf.supports(discrete_task)
    ev = run_method(rf, discrete_task)
    assert_valid(discrete_task, ev, count_proposals=True)


def test_large_hybrid_spaces_need_a_sampler():
    task = FunctionTask.from_problem("mixed_perm_10d", n_initial=5, batch_size=3, n_iterations=1)
    m = BayBEMethod()
    assert not m.supports(task)
    assert "720 discrete configurations" in m.unsupported_reason(task)
    assert BayBEMethod(max_discrete_configurations=1000).supports(task)
    assert BayBEMethod(hybrid_sampler="Random", sampling_percentage=0.01).supports(task)


def test_option_validation():
    with pytest.raises(ValueError):
        BayBEMethod(surrogate="ngboost")
    with pytest.raises(TypeError):
        BayBEMethod(model_params={"n_estimators": 10})
    with pytest.raises(ValueError):
        BayBEMethod(multi_objective="parego")
    with pytest.raises(ValueError):
        BayBEMethod(hybrid_sampler="Sobol")
    with pytest.raises(ValueError):
        BayBEMethod(sampling_percentage=0.0)
    assert BayBERandomForest(model_params={"n_estimators": 10}).model_params == {"n_estimators": 10}
