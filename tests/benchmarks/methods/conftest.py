"""Shared helpers of the benchmark-method tests, exposed as fixtures.

pytest imports the test modules with ``--import-mode=importlib`` and the test folders
are not packages, so a test module cannot import helpers from another module or from
this file; each helper is a fixture that returns a plain function (or a task).

The task fixtures are session-scoped, shared between tests and modules: neither the
methods nor the evaluator modify a task (a :class:`PoolTask` only caches its seeded
setups, which depend on the seed alone). A module that needs other settings overrides
a task fixture with its own (``ackley4`` and ``mixed_task`` are overridden that way).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from axfusion.benchmarks.methods.base import Method, get_method
from axfusion.benchmarks.problems import ProblemParameter, TestProblem
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask, PoolTask, Task


class RecordingEvaluator(Evaluator):
    """Keeps the raw proposals a method hands to ``evaluate``."""

    def __init__(self, task, seed=0):
        super().__init__(task, seed)
        self.proposals: list[np.ndarray] = []

    def evaluate(self, X):
        self.proposals.append(np.array(X, dtype=np.float64, copy=True))
        return super().evaluate(X)


def _started_evaluator(task: Task, seed: int = 0) -> RecordingEvaluator:
    """A :class:`RecordingEvaluator` with the initial design evaluated (and not recorded)."""
    ev = RecordingEvaluator(task, seed)
    ev.evaluate_initial()
    ev.proposals.clear()
    return ev


def _run_method(method: Method | str, task: Task, seed: int = 0, **options) -> RecordingEvaluator:
    """Run ``method`` (an instance, or a registered name built with ``options``) until the
    budget is exhausted; returns the evaluator."""
    if isinstance(method, str):
        method = get_method(method, **options)
    elif options:
        raise TypeError("options are only for a method given by name")
    ev = _started_evaluator(task, seed)
    with pytest.raises(BudgetExhausted):
        method.run(task, ev)
    return ev


def _assert_seeded(method, task, first, *, seed=0, other_seed=1, field="X", compare_from=None, **options):
    """``first``, a run of ``method`` with ``seed``, is reproduced by a fresh run with the same
    seed, and ``field`` differs from row ``compare_from`` on (default: after the initial
    design) in a run with ``other_seed`` (not run when ``other_seed`` is None).

    ``method`` is a registered name (built with ``options``) or a factory of fresh
    instances (a method class, say): each run needs a fresh method.
    """

    def rerun(s):
        fresh = method if isinstance(method, str) else method()
        return getattr(_run_method(fresh, task, s, **options), field)

    np.testing.assert_array_equal(getattr(first, field), rerun(seed))
    if other_seed is not None:
        start = task.n_initial if compare_from is None else compare_from
        assert not np.array_equal(getattr(first, field)[start:], rerun(other_seed)[start:])


def _assert_valid(task, ev, *, points="proposals", count_proposals=False, atol=0.0):
    """The whole budget was spent on points in the box with integral discrete coordinates.

    Args:
        points: ``"proposals"`` checks the raw proposals (the evaluator must be a
            :class:`RecordingEvaluator`), ``"X"`` the evaluated points (initial design
            included).
        count_proposals: Also check that the proposals are ``budget - n_initial`` points.
        atol: Tolerance of the bounds check.
    """
    assert ev.n_evaluated == task.budget
    P = np.vstack(ev.proposals) if points == "proposals" else ev.X
    if count_proposals:
        assert P.shape[0] == task.budget - task.n_initial
    assert np.all(P >= task.space.lower - atol) and np.all(P <= task.space.upper + atol)
    disc = task.space.discrete
    assert np.array_equal(P[:, disc], np.round(P[:, disc]))


def _assert_pool_valid(task, ev, *, initial_rows=False):
    """A pool run spent the whole budget on distinct rows (and, with ``initial_rows``,
    started from the protocol's initial rows of its seed)."""
    assert ev.n_evaluated == task.budget
    assert np.unique(ev.rows).size == ev.rows.size
    if initial_rows:
        np.testing.assert_array_equal(ev.rows[: task.n_initial], task.initial_rows(ev.seed))


def _mixed_problem(constant: bool = False) -> TestProblem:
    """A tiny continuous/integer/categorical problem (optimum 0 at x=0.5, n=3, c="b");
    ``constant``: a flat function instead."""
    params = [
        ProblemParameter("x", "continuous", -2.0, 2.0),
        ProblemParameter("n", "integer", 0, 5),
        ProblemParameter("c", "categorical", levels=("a", "b", "c")),
    ]

    def f(V):
        if constant:
            return np.zeros(V.shape[0])
        return (V[:, 0] - 0.5) ** 2 + (V[:, 1] - 3.0) ** 2 + (V[:, 2] != 1)

    return TestProblem(name="tiny_mixed", parameters=params, function=f, optimal_value=0.0)


@functools.cache
def _mixed_task(n_initial: int = 5, batch_size: int = 3, n_iterations: int = 1) -> FunctionTask:
    """A (shared) function task of :func:`_mixed_problem`."""
    return FunctionTask.from_problem(
        _mixed_problem(), n_initial=n_initial, batch_size=batch_size, n_iterations=n_iterations
    )


@pytest.fixture(scope="session")
def recording_evaluator():
    """The :class:`RecordingEvaluator` class."""
    return RecordingEvaluator


@pytest.fixture(scope="session")
def started_evaluator():
    """``started_evaluator(task, seed=0)``: a recording evaluator past the initial design."""
    return _started_evaluator


@pytest.fixture(scope="session")
def run_method():
    """``run_method(method_or_name, task, seed=0, **options)``: run to the end of the budget."""
    return _run_method


@pytest.fixture(scope="session")
def assert_seeded():
    """``assert_seeded(method, task, first, ...)``: reproducible under its seed, and not the
    same under another (see :func:`_assert_seeded`)."""
    return _assert_seeded


@pytest.fixture(scope="session")
def assert_valid():
    """``assert_valid(task, ev, ...)``: the budget spent on valid points (see :func:`_assert_valid`)."""
    return _assert_valid


@pytest.fixture(scope="session")
def assert_pool_valid():
    """``assert_pool_valid(task, ev, initial_rows=False)``: the budget spent on distinct rows."""
    return _assert_pool_valid


@pytest.fixture(scope="session")
def mixed_problem():
    """``mixed_problem(constant=False)``: a tiny mixed :class:`TestProblem`."""
    return _mixed_problem


@pytest.fixture(scope="session")
def make_mixed_task():
    """``make_mixed_task(n_initial=5, batch_size=3, n_iterations=1)``: a shared function task
    of the mixed problem (one per setting)."""
    return _mixed_task


@pytest.fixture(scope="session")
def mixed_task():
    """The mixed problem with 5 initial points and one batch of 3 (a module may override it)."""
    return _mixed_task()


@pytest.fixture(scope="session")
def ackley4():
    """4-D Ackley, 5 initial points and three batches of 4 (a module may override it)."""
    return FunctionTask.from_problem("ackley", dim=4, n_initial=5, batch_size=4, n_iterations=3)


@pytest.fixture(scope="session")
def branin():
    """Mixed Branin, 5 initial points and three batches of 6."""
    return FunctionTask.from_problem("mixed_branin", n_initial=5, batch_size=6, n_iterations=3)


@pytest.fixture(scope="session")
def pool_task():
    """``crossed_barrel`` with 20 initial rows and two batches of 10."""
    return PoolTask.from_dataset("crossed_barrel", n_iterations=2)


@pytest.fixture(scope="session")
def two_target_task():
    """``steel_strength`` on two targets (both maximised), 10 initial rows and one batch of 3."""
    return PoolTask.from_dataset(
        "steel_strength",
        targets=["yield strength", "tensile strength"],
        directions=["maximize", "maximize"],
        n_initial=10,
        n_iterations=1,
        batch_size=3,
    )
