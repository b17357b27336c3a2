r"""Benchmark tasks and the budget-keeping evaluator every method goes through.

A *task* is one optimisation problem under one protocol:

- :class:`FunctionTask` -- a :class:`~axfusion.benchmarks.problems.TestProblem`
  (continuous, integer and categorical inputs), minimised, with a seeded
  scrambled-Sobol initial design;
- :class:`PoolTask` -- a closed pool of real data (every target known), under
  the fusion paper's protocol (:func:`axfusion.protocols.closed_pool_setup`).

Every method sees the same numeric :class:`DesignSpace` (categoricals as level
indices ``0 .. L-1``; for a pool, the box of its feature matrix), the same
initial design and the same :class:`Evaluator`, which counts evaluations,
groups them into iterations of ``batch_size`` after the initial design,
snaps continuous proposals on a pool to the nearest unevaluated row, times the
method between evaluations and raises :class:`BudgetExhausted` when the budget
is spent::

    task = FunctionTask.from_problem("ackley", dim=20, shift=True, seed=0)
    ev = Evaluator(task, seed=0)
    ev.evaluate_initial()
    while True:
        X = propose(ev.X, ev.loss)            # (batch_size, d) points in task.space
        ev.evaluate(X)                        # raises BudgetExhausted at the end
"""

from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "BudgetExhausted",
    "DesignSpace",
    "Evaluator",
    "FunctionTask",
    "PoolTask",
    "Task",
]

DimKind = Literal["continuous", "integer", "categorical"]


class BudgetExhausted(Exception):
    r"""Raised by :class:`Evaluator` once the evaluation budget is spent."""


@dataclass(frozen=True)
class DesignSpace:
    r"""The numeric box every method optimises over.

    Attributes:
        lower: ``d`` lower bounds.
        upper: ``d`` upper bounds.
        kinds: ``d`` dimension kinds; a categorical dimension holds the level
            index ``0 .. L-1`` (``lower = 0``, ``upper = L-1``), an integer
            dimension whole numbers.
        names: ``d`` dimension names.
    """

    lower: np.ndarray
    upper: np.ndarray
    kinds: tuple[DimKind, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        lo = np.asarray(self.lower, dtype=np.float64).reshape(-1)
        hi = np.asarray(self.upper, dtype=np.float64).reshape(-1)
        if not (lo.shape == hi.shape and len(self.kinds) == lo.size and len(self.names) == lo.size):
            raise ValueError("DesignSpace: lower, upper, kinds and names must have the same length.")
        if np.any(hi < lo):
            raise ValueError("DesignSpace: upper bounds must not lie below lower bounds.")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def dim(self) -> int:
        return int(self.lower.size)

    @property
    def discrete(self) -> np.ndarray:
        r"""``d`` booleans: integer or categorical dimensions."""
        return np.array([k != "continuous" for k in self.kinds], dtype=bool)

    def clip(self, X: np.ndarray) -> np.ndarray:
        r"""Clip ``k x d`` points into the box and round discrete dimensions."""
        X = np.clip(np.asarray(X, dtype=np.float64).reshape(-1, self.dim), self.lower, self.upper)
        disc = self.discrete
        X[:, disc] = np.round(X[:, disc])
        return X

    def sample(self, n: int, seed: int, method: Literal["sobol", "random"] = "sobol") -> np.ndarray:
        r"""``n x d`` seeded space-filling (scrambled Sobol) or uniform points.

        Discrete dimensions are sampled uniformly over their values.
        """
        rng = np.random.default_rng(seed)
        if method == "sobol":
            from scipy.stats import qmc

            with warnings.catch_warnings():  # balance warning for n not a power of 2
                warnings.simplefilter("ignore", UserWarning)
                U = qmc.Sobol(self.dim, scramble=True, seed=rng).random(n)
        elif method == "random":
            U = rng.random((n, self.dim))
        else:
            raise ValueError(f"Unknown sampling method {method!r}; use 'sobol' or 'random'.")
        disc = self.discrete
        span = self.upper - self.lower
        X = self.lower + U * np.where(disc, span + 1.0, span)
        X[:, disc] = np.minimum(np.floor(X[:, disc]), self.upper[disc])
        return X

    def unit(self, X: np.ndarray) -> np.ndarray:
        r"""Map ``k x d`` points to ``[0, 1]^d`` (degenerate dimensions to 0)."""
        span = np.where(self.upper > self.lower, self.upper - self.lower, 1.0)
        return (np.asarray(X, dtype=np.float64) - self.lower) / span

    def from_unit(self, U: np.ndarray) -> np.ndarray:
        r"""Inverse of :meth:`unit`, followed by :meth:`clip`."""
        return self.clip(self.lower + np.asarray(U, dtype=np.float64) * (self.upper - self.lower))


@dataclass
class Task(ABC):
    r"""Base of the benchmark tasks.

    Attributes:
        name: Task name (a row of the report).
        space: The numeric design space.
        n_initial: Size of the initial design.
        batch_size: Evaluations per iteration.
        n_iterations: Iterations after the initial design (the budget).
    """

    name: str
    space: DesignSpace
    n_initial: int = 10
    batch_size: int = 10
    n_iterations: int = 100

    kind: str = field(init=False, default="task")

    @property
    def budget(self) -> int:
        r"""Total evaluations: the initial design plus ``n_iterations`` batches."""
        return self.n_initial + self.batch_size * self.n_iterations

    @property
    def n_objectives(self) -> int:
        return 1

    @abstractmethod
    def initial_design(self, seed: int) -> np.ndarray:
        r"""The seeded initial design as ``n_initial x d`` points of :attr:`space`."""

    @abstractmethod
    def loss(self, Y: np.ndarray) -> np.ndarray:
        r"""``k x q`` raw outcomes -> ``k`` losses (minimised)."""


@dataclass
class FunctionTask(Task):
    r"""A test function, minimised from a seeded Sobol design.

    Attributes:
        problem: The :class:`~axfusion.benchmarks.problems.TestProblem`.
    """

    problem: Any = None

    def __post_init__(self) -> None:
        self.kind = "function"
        if self.problem is None:
            raise ValueError("FunctionTask needs a problem.")

    @classmethod
    def from_problem(
        cls,
        problem: Any,
        *,
        n_initial: int = 10,
        batch_size: int = 10,
        n_iterations: int = 100,
        name: str | None = None,
        **problem_options: Any,
    ) -> FunctionTask:
        r"""Build a task from a registered problem name (or a ``TestProblem``)."""
        from axfusion.benchmarks.problems import get_problem

        p = get_problem(problem, **problem_options) if isinstance(problem, str) else problem
        lower, upper, kinds = [], [], []
        for par in p.parameters:
            if par.kind == "categorical":
                lower.append(0.0)
                upper.append(float(len(par.categories) - 1))
            else:
                lower.append(float(par.bounds[0]))
                upper.append(float(par.bounds[1]))
            kinds.append(par.kind)
        space = DesignSpace(np.array(lower), np.array(upper), tuple(kinds), tuple(p.parameter_names))
        return cls(
            name=name or p.name, space=space, n_initial=n_initial, batch_size=batch_size,
            n_iterations=n_iterations, problem=p,
        )

    def designs(self, X: np.ndarray) -> pd.DataFrame:
        r"""``k x d`` numeric points -> a DataFrame of the problem's designs (level objects)."""
        X = self.space.clip(X)
        cols = {}
        for j, par in enumerate(self.problem.parameters):
            if par.kind == "categorical":
                col = np.empty(X.shape[0], dtype=object)
                col[:] = [par.levels[int(i)] for i in X[:, j]]
                cols[par.name] = col
            elif par.kind == "integer":
                cols[par.name] = X[:, j].astype(np.int64)
            else:
                cols[par.name] = X[:, j]
        return pd.DataFrame(cols)

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        r"""``k x d`` numeric points -> ``k x 1`` function values (to minimise)."""
        return self.problem.evaluate(self.designs(X)).reshape(-1, 1)

    def initial_design(self, seed: int) -> np.ndarray:
        return self.space.sample(self.n_initial, seed, "sobol")

    def loss(self, Y: np.ndarray) -> np.ndarray:
        r"""``k x 1`` values -> ``k`` losses (the values themselves)."""
        return np.asarray(Y, dtype=np.float64).reshape(-1)

    @property
    def optimal_value(self) -> float | None:
        return self.problem.optimal_value

    def is_success(self, X: np.ndarray, values: np.ndarray) -> np.ndarray | None:
        r"""``k`` numeric points and their values -> ``k`` booleans of the problem's success criterion.

        ``None`` when the problem defines none (see
        :attr:`~axfusion.benchmarks.problems.TestProblem.success`).
        """
        return self.problem.is_success(self.designs(X), np.asarray(values, dtype=np.float64).reshape(-1))

    def distance_to_optimum(self, X: np.ndarray, normalize: bool = True) -> np.ndarray | None:
        r"""Distance of ``k`` points to the nearest known optimiser (``None`` if unknown)."""
        if self.problem.optimizer is None:
            return None
        return self.problem.distance_to_optimum(self.designs(X), normalize=normalize)


@dataclass
class PoolTask(Task):
    r"""A closed pool under the fusion paper's protocol.

    The design space is the box of the pool's feature matrix; a continuous
    proposal is snapped to the nearest unevaluated row (Euclidean distance on
    features standardised by the pool's standard deviations).

    Attributes:
        dataset: A built-in dataset name or a :class:`~axfusion.data.Dataset`.
        targets: Target columns (default: the dataset's first).
        directions: ``"maximize"``/``"minimize"``/:class:`Target` per target.
        top_fraction, max_top: The success set (see :mod:`axfusion.protocols`).
    """

    dataset: Any = None
    targets: Sequence[str] | None = None
    directions: Sequence[Any] | None = None
    top_fraction: float = 0.01
    max_top: int = 10
    _setups: dict[int, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.kind = "pool"
        if self.dataset is None:
            raise ValueError("PoolTask needs a dataset.")
        base = self.setup(0)
        self.dataset = base.dataset
        self.targets = base.targets
        self.directions = base.directions
        X = base.X
        self._mean = X.mean(axis=0)
        sd = X.std(axis=0)
        self._scale = np.where(sd > 0, sd, 1.0)

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
        *,
        targets: Sequence[str] | None = None,
        directions: Sequence[Any] | None = None,
        n_initial: int = 20,
        batch_size: int = 10,
        n_iterations: int = 50,
        name: str | None = None,
        top_fraction: float = 0.01,
        max_top: int = 10,
    ) -> PoolTask:
        r"""Build a pool task; the space is the box of the feature matrix."""
        from axfusion.protocols import closed_pool_setup

        s = closed_pool_setup(dataset, targets=targets, directions=directions, seed=0, n_initial=n_initial)
        names = tuple(s.dataset.feature_names())
        continuous: DimKind = "continuous"
        kinds = (continuous,) * len(names)
        space = DesignSpace(s.X.min(axis=0), s.X.max(axis=0), kinds, names)
        return cls(
            name=name or s.dataset.name, space=space, n_initial=n_initial, batch_size=batch_size,
            n_iterations=n_iterations, dataset=s.dataset, targets=s.targets, directions=directions,
            top_fraction=top_fraction, max_top=max_top,
        )

    def setup(self, seed: int) -> Any:
        r"""The :class:`~axfusion.protocols.ClosedPoolSetup` of ``seed`` (cached)."""
        from axfusion.protocols import closed_pool_setup

        if seed not in self._setups:
            self._setups[seed] = closed_pool_setup(
                self.dataset, targets=self.targets, directions=self.directions, seed=seed,
                n_initial=self.n_initial, top_fraction=self.top_fraction, max_top=self.max_top,
            )
        return self._setups[seed]

    @property
    def n_objectives(self) -> int:
        return len(self.setup(0).targets)

    @property
    def X(self) -> np.ndarray:
        r"""``N x p`` feature matrix."""
        return self.setup(0).X

    @property
    def column_scale(self) -> np.ndarray | None:
        r"""``p`` fixed input scales of the feature matrix (one-hot indicators and descriptors
        of categorical columns; :meth:`~axfusion.data.Dataset.column_scale`), or ``None`` when
        every column is numeric."""
        scale = self.dataset.column_scale()
        return scale if np.isfinite(scale).any() else None

    @property
    def column_groups(self) -> np.ndarray | None:
        r"""``p`` indices of the categorical column each feature encodes (``-1``: numeric;
        :meth:`~axfusion.data.Dataset.column_groups`), or ``None`` when every column is numeric."""
        groups = self.dataset.column_groups()
        return groups if (groups >= 0).any() else None

    @property
    def Y(self) -> np.ndarray:
        r"""``N x q`` raw targets."""
        return self.setup(0).Y

    @property
    def N(self) -> int:
        return self.setup(0).N

    @property
    def success_rows(self) -> set[int]:
        return self.setup(0).success

    def initial_rows(self, seed: int) -> np.ndarray:
        r"""The protocol's seeded initial rows (sorted row ids)."""
        return self.setup(seed).initial_ids

    def initial_design(self, seed: int) -> np.ndarray:
        return self.X[self.initial_rows(seed)]

    def loss(self, Y: np.ndarray) -> np.ndarray:
        r"""``k x q`` raw targets -> ``k`` losses to minimise.

        One target: the negated oriented target. Several: the negated mean of
        the oriented targets standardised by the pool's statistics (a fixed
        scalarisation for single-objective methods; success is still judged
        on the Pareto set).
        """
        from axfusion.acquisition.targets import orient

        base = self.setup(0)
        O = orient(np.asarray(Y, dtype=np.float64).reshape(-1, len(base.targets)), base.directions)
        if O.shape[1] == 1:
            return -O[:, 0]
        P = base.O
        sd = np.where(P.std(0) > 0, P.std(0), 1.0)
        return -((O - P.mean(0)) / sd).mean(axis=1)

    def standardize(self, X: np.ndarray) -> np.ndarray:
        r"""Features standardised by the pool's mean and standard deviation."""
        return (np.asarray(X, dtype=np.float64) - self._mean) / self._scale

    def nearest_unevaluated(self, X: np.ndarray, evaluated: np.ndarray) -> np.ndarray:
        r"""Snap ``k`` points to distinct nearest unevaluated rows.

        Args:
            X: ``k x p`` points in feature space.
            evaluated: ``N`` booleans, rows already evaluated (not modified).

        Returns:
            ``k`` distinct row ids, in the order of ``X`` (greedy: each point
            takes its nearest row not taken before it).
        """
        taken = evaluated.copy()
        Z = self.standardize(self.X)
        out = np.empty(len(X), dtype=np.int64)
        for i, x in enumerate(self.standardize(np.atleast_2d(X))):
            d2 = np.einsum("ij,ij->i", Z - x, Z - x)
            d2[taken] = np.inf
            j = int(np.argmin(d2))
            if not np.isfinite(d2[j]):
                raise BudgetExhausted(f"Pool {self.name!r} has no unevaluated row left.")
            out[i] = j
            taken[j] = True
        return out


class Evaluator:
    r"""Evaluates proposals, keeps the history and enforces the budget.

    Attributes:
        task: The task.
        seed: The run's seed (also the seed of the initial design).
        X: ``n x d`` evaluated points (for a pool: the rows' features).
        Y: ``n x q`` raw outcomes.
        loss: ``n`` losses (minimised; :meth:`Task.loss`).
        rows: ``n`` pool row ids (pools only; empty for functions).
        iteration: ``n`` iteration of each evaluation (0 = initial design).
        iteration_times: Wall seconds the method spent before each iteration's
            first evaluation (proposal time), one per completed iteration.
        stopped_early: Whether the run ended because every ``stop_when_found``
            set was hit (not because the budget was spent).

    Args:
        task: The task.
        seed: The run's seed.
        stop_when_found: Pools only: row sets (e.g. the success set, the top 5
            and the best row); once every set has an evaluated row, the
            evaluator raises :class:`BudgetExhausted` (the closed-pool
            protocol's ``stop_at_success``). Empty: run the whole budget.
    """

    def __init__(self, task: Task, seed: int = 0, stop_when_found: Sequence[Any] = ()) -> None:
        self.task = task
        self.seed = int(seed)
        self._stop_sets = [set(int(r) for r in s) for s in stop_when_found]
        if self._stop_sets and not isinstance(task, PoolTask):
            raise TypeError("stop_when_found applies to pool tasks only.")
        self._hit = [False] * len(self._stop_sets)
        self.stopped_early = False
        d, q = task.space.dim, task.n_objectives
        self.X = np.empty((0, d))
        self.Y = np.empty((0, q))
        self.loss = np.empty(0)
        self.rows = np.empty(0, dtype=np.int64)
        self.iteration = np.empty(0, dtype=np.int64)
        self.iteration_times: list[float] = []
        self._evaluated = np.zeros(task.N, dtype=bool) if isinstance(task, PoolTask) else None
        self._clock: float | None = None
        self._iteration_start: float | None = None

    # ----------------------------------------------------------------- state
    @property
    def n_evaluated(self) -> int:
        return int(self.loss.size)

    @property
    def remaining(self) -> int:
        return self.task.budget - self.n_evaluated

    @property
    def evaluated_mask(self) -> np.ndarray:
        r"""``N`` booleans of evaluated pool rows (a copy; pools only)."""
        if self._evaluated is None:
            raise TypeError("evaluated_mask is defined for pool tasks only.")
        return self._evaluated.copy()

    @property
    def current_iteration(self) -> int:
        r"""The iteration the next evaluation belongs to (0 = initial design)."""
        return self._iteration_of(self.n_evaluated)

    def best_loss(self) -> float:
        return float(self.loss.min()) if self.loss.size else float("inf")

    # ------------------------------------------------------------ evaluation
    def evaluate_initial(self) -> np.ndarray:
        r"""Evaluate the task's seeded initial design; returns its losses."""
        if self.n_evaluated:
            raise RuntimeError("The initial design was already evaluated.")
        if isinstance(self.task, PoolTask):
            return self.evaluate_rows(self.task.initial_rows(self.seed))
        return self.evaluate(self.task.initial_design(self.seed))

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        r"""Evaluate ``k x d`` points (pools: snapped to unevaluated rows).

        Evaluates at most :attr:`remaining` points; raises
        :class:`BudgetExhausted` after evaluating them when the request was
        larger or the budget is now spent.

        Returns:
            ``k`` losses.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.shape[1] != self.task.space.dim:
            raise ValueError(f"Expected points with {self.task.space.dim} columns, got {X.shape[1]}.")
        if not np.all(np.isfinite(X)):
            raise ValueError("Proposed points contain NaN or infinite values.")
        if isinstance(self.task, PoolTask):
            self._check_budget()
            X = X[: self.remaining]
            task, evaluated = self._pool_state()
            return self.evaluate_rows(task.nearest_unevaluated(X, evaluated), _requested=len(X))
        return self._record(self.task.space.clip(X), None)

    def evaluate_rows(self, rows: Sequence[int] | np.ndarray, _requested: int | None = None) -> np.ndarray:
        r"""Evaluate pool rows by id (pools only); see :meth:`evaluate`.

        Raises:
            ValueError: On an unknown, repeated or already evaluated row.
        """
        task, evaluated = self._pool_state()
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= task.N):
            raise ValueError(f"Row ids must lie in [0, {task.N}).")
        if np.unique(rows).size != rows.size:
            raise ValueError("Row ids must be distinct.")
        if np.any(evaluated[rows]):
            raise ValueError(f"Rows {rows[evaluated[rows]][:5].tolist()} were already evaluated.")
        return self._record(task.X[rows], rows, _requested)

    def _pool_state(self) -> tuple[PoolTask, np.ndarray]:
        r"""The pool task and its mask of evaluated rows (pool tasks only)."""
        if not isinstance(self.task, PoolTask) or self._evaluated is None:
            raise TypeError("evaluate_rows is defined for pool tasks only.")
        return self.task, self._evaluated

    def _check_budget(self) -> None:
        if self.remaining <= 0:
            raise BudgetExhausted(f"Budget of {self.task.budget} evaluations spent.")

    def _record(self, X: np.ndarray, rows: np.ndarray | None, requested: int | None = None) -> np.ndarray:
        self._check_budget()
        requested = len(X) if requested is None else requested
        keep = min(len(X), self.remaining)
        X = X[:keep]
        now = time.perf_counter()
        n0, b = self.task.n_initial, self.task.batch_size
        starts = [i for i in range(keep) if self.n_evaluated + i >= n0 and (self.n_evaluated + i - n0) % b == 0]
        for k, _ in enumerate(starts):
            # an iteration starts here: the method's proposal time since its last evaluation
            # (one proposal that spans several iterations is counted once)
            self.iteration_times.append(now - self._clock if (k == 0 and self._clock is not None) else 0.0)
        iters = np.array([self._iteration_of(self.n_evaluated + i) for i in range(keep)], dtype=np.int64)
        if rows is not None:
            pool, evaluated = self._pool_state()
            rows = rows[:keep]
            Y = pool.Y[rows]
            evaluated[rows] = True
            self.rows = np.concatenate([self.rows, rows])
            for k, s in enumerate(self._stop_sets):
                self._hit[k] = self._hit[k] or bool(s.intersection(rows.tolist()))
        else:
            assert isinstance(self.task, FunctionTask), "points are evaluated on function tasks only"
            Y = self.task.evaluate(X)
        loss = self.task.loss(Y)
        self.X = np.vstack([self.X, X])
        self.Y = np.vstack([self.Y, Y])
        self.loss = np.concatenate([self.loss, loss])
        self.iteration = np.concatenate([self.iteration, iters])
        self._clock = time.perf_counter()
        if keep < requested or self.remaining <= 0:
            raise BudgetExhausted(f"Budget of {self.task.budget} evaluations spent.")
        if self._stop_sets and all(self._hit) and self.current_iteration > 0:
            self.stopped_early = True
            raise BudgetExhausted("Every success criterion is met (stop_when_found).")
        return loss

    def _iteration_of(self, n: int) -> int:
        n0 = self.task.n_initial
        return 0 if n < n0 else 1 + (n - n0) // self.task.batch_size

    def tick(self) -> None:
        r"""Restart the proposal clock (call when a method starts its own loop)."""
        self._clock = time.perf_counter()

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        r"""The history as JSON-able lists (exact: floats round-trip through JSON).

        Keys ``X`` (``n x d``), ``Y`` (``n x q``), ``loss``, ``rows`` (pools), ``iteration``
        (``n`` each), ``iteration_times``, ``hit`` (which ``stop_when_found`` sets were hit).
        """
        return {
            "X": self.X.tolist(), "Y": self.Y.tolist(), "loss": self.loss.tolist(), "rows": self.rows.tolist(),
            "iteration": self.iteration.tolist(), "iteration_times": [float(t) for t in self.iteration_times],
            "hit": list(self._hit),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        r"""Restore a history written by :meth:`state_dict` (on a fresh evaluator of the same task).

        Raises:
            RuntimeError: If this evaluator has already evaluated points.
            ValueError: If the history does not fit the task (dimensions, rows, lengths).
        """
        if self.n_evaluated:
            raise RuntimeError("load_state_dict needs a fresh evaluator; this one has evaluated points.")
        d, q = self.task.space.dim, self.task.n_objectives
        X = np.asarray(state["X"], dtype=np.float64).reshape(-1, d)
        Y = np.asarray(state["Y"], dtype=np.float64).reshape(-1, q)
        loss = np.asarray(state["loss"], dtype=np.float64).reshape(-1)
        iteration = np.asarray(state["iteration"], dtype=np.int64).reshape(-1)
        rows = np.asarray(state.get("rows", []), dtype=np.int64).reshape(-1)
        n = loss.size
        if not (X.shape[0] == Y.shape[0] == iteration.size == n) or n > self.task.budget:
            raise ValueError(f"A checkpoint's history does not fit task {self.task.name!r} (lengths or budget).")
        if isinstance(self.task, PoolTask):
            task, evaluated = self._pool_state()
            if rows.size != n or (n and (rows.min() < 0 or rows.max() >= task.N)) or np.unique(rows).size != n:
                raise ValueError(f"A checkpoint's rows do not fit pool task {self.task.name!r}.")
            evaluated[rows] = True
        hit = [bool(h) for h in state.get("hit", [])]
        self._hit = hit if len(hit) == len(self._stop_sets) else [False] * len(self._stop_sets)
        self.X, self.Y, self.loss, self.rows, self.iteration = X, Y, loss, rows, iteration
        self.iteration_times = [float(t) for t in state.get("iteration_times", [])]
        self._clock = time.perf_counter()
