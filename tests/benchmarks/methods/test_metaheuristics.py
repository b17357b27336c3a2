"""The mealpy metaheuristic baselines on the benchmark protocol (small budgets).

``ackley4``, ``branin``, ``pool_task``, ``run_method``, ``assert_valid`` and the other helpers
are fixtures of ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mealpy")

from axfusion.benchmarks.methods import get_method, list_methods  # noqa: E402
from axfusion.benchmarks.methods import metaheuristics as mh  # noqa: E402
from axfusion.benchmarks.tasks import BudgetExhausted, FunctionTask  # noqa: E402

NAMES = ["ga", "clpso", "de", "sa", "gwo_woa", "hi_woa", "acor", "abc", "aoa", "run"]


@pytest.fixture
def check_valid(assert_valid):
    """The budget spent on finite, valid points (up to rounding of the bounds), a batch an iteration."""

    def check(task, ev):
        assert np.all(np.isfinite(ev.X))
        assert_valid(task, ev, points="X", atol=1e-12)
        iterations = 1 + np.arange(task.budget - task.n_initial) // task.batch_size
        assert np.array_equal(ev.iteration[task.n_initial:], iterations)

    return check


def test_registered():
    assert set(NAMES) <= set(list_methods())
    assert set(mh.METAHEURISTICS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_function_tasks_spend_the_budget_on_valid_new_points(name, ackley4, branin, run_method, check_valid):
    for task in (ackley4, branin):
        ev = run_method(name, task)
        check_valid(task, ev)
        # the initial design (and any evaluated point) is never evaluated again: mealpy's
        # re-evaluation of the starting population is answered from the cache
        cache = mh.EvaluationCache(task, ev)
        assert len({cache.key(x) for x in ev.X}) == task.budget
    assert set(np.unique(ev.X[:, 1])) <= {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("name", NAMES)
def test_pool_task(name, pool_task, run_method):
    ev = run_method(name, pool_task)
    assert ev.n_evaluated == pool_task.budget
    assert len(set(ev.rows.tolist())) == pool_task.budget
    assert np.array_equal(ev.rows[: pool_task.n_initial], pool_task.initial_rows(0))
    np.testing.assert_array_equal(ev.X, pool_task.X[ev.rows])


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_the_seed(name, ackley4, run_method, assert_seeded):
    assert_seeded(name, ackley4, run_method(name, ackley4, seed=3), seed=3, other_seed=4)


@pytest.mark.parametrize("name", ["ga", "clpso", "de", "gwo_woa", "hi_woa", "acor", "abc", "aoa", "run"])
def test_improves_on_the_initial_design(name, run_method):
    # 155 evaluations on 4-D Ackley: every one of 20 seeds improved for these methods; SA (a random
    # walk from the best initial point at mealpy's temperature 100) improved on 14 of 20, so it is
    # not checked here.
    task = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=6, n_iterations=25)
    for seed in (0, 1):
        ev = run_method(name, task, seed=seed)
        assert ev.best_loss() < ev.loss[: task.n_initial].min()


def test_population_sizes():
    small = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=4, n_iterations=3)
    odd = FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=13, n_iterations=3)
    sizes = {name: get_method(name).population_size(small) for name in NAMES}
    assert sizes == {"ga": 10, "clpso": 5, "de": 5, "sa": 2, "gwo_woa": 5, "hi_woa": 5, "acor": 5, "abc": 5,
                     "aoa": 10, "run": 5}
    assert get_method("ga").population_size(odd) == 14
    assert get_method("de").population_size(odd) == 13
    assert get_method("de", pop_size=7).population_size(odd) == 7


def test_generations_are_batches(started_evaluator):
    task = FunctionTask.from_problem("ackley", dim=3, n_initial=10, batch_size=10, n_iterations=4)
    ev = started_evaluator(task)
    sizes = []
    real = ev.evaluate

    def evaluate(X):
        sizes.append(len(np.atleast_2d(X)))
        return real(X)

    ev.evaluate = evaluate
    with pytest.raises(BudgetExhausted):
        get_method("de").run(task, ev)
    # DE in "swarm" mode: one evaluator call per generation of 10 (the starting population is cached)
    assert sizes[0] == 10 and ev.n_evaluated == task.budget


def test_options_reach_mealpy_and_quiet(ackley4, capfd, run_method):
    m = get_method("de", wf=0.7, cr=0.5, strategy=1)
    run_method(m, ackley4)
    opts = m.constructor_options(3, 5)
    assert opts["wf"] == 0.7 and opts["strategy"] == 1 and opts["epoch"] == 3 and opts["pop_size"] == 5
    run_method("hi_woa", ackley4)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("name", ["ga", "sa", "abc"])
def test_restarts_when_epochs_run_out(name, branin, run_method, check_valid):
    # one epoch per mealpy run: the run ends on its epochs and restarts until the budget is spent
    m = get_method(name)
    m.evaluations_per_epoch = lambda pop: 1e9
    ev = run_method(m, branin)
    check_valid(branin, ev)
    assert m.restarts >= 1


def test_unit_codec_round_trip(branin):
    codec = mh.UnitCodec(branin.space)
    X = branin.space.sample(64, seed=0, method="random")
    np.testing.assert_allclose(codec.decode(codec.encode(X)), X, rtol=0, atol=1e-12)
    U = np.linspace(0, 1, 41)[:, None] * np.ones((1, 2))
    X = codec.decode(U)
    counts = np.bincount(X[:, 1].astype(int), minlength=4)
    assert counts.min() >= 9  # four equal cells, not half cells at the ends
    assert X[:, 0].min() == -5.0 and X[:, 0].max() == 10.0


def test_cache_answers_without_spending_budget(ackley4, started_evaluator):
    ev = started_evaluator(ackley4)
    cache = mh.EvaluationCache(ackley4, ev, stall_limit=3, max_stalls=2)
    X0 = ev.X.copy()
    np.testing.assert_array_equal(cache.losses(X0[:3]), ev.loss[:3])
    assert ev.n_evaluated == ackley4.n_initial
    new = np.zeros((2, 4))
    out = cache.losses(np.vstack([new, X0[:1], new[:1]]))  # repeats within a batch are evaluated once
    assert ev.n_evaluated == ackley4.n_initial + 1
    assert out[0] == out[1] == out[3] and out[2] == ev.loss[0]
    # a long run of cache answers is a stall (raised once), then the cache is bypassed
    cache.losses(X0[:3])
    with pytest.raises(mh._Stalled):
        cache.losses(X0[:1])
    cache.losses(X0[:3])
    cache.losses(X0[:1])  # second stall: from now on repeats are evaluated
    n = ev.n_evaluated
    cache.losses(X0[:1])
    assert ev.n_evaluated == n + 1
