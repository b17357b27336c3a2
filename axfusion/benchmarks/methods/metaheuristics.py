r"""Metaheuristic baselines (the inverse-optimisation seed paper's optimisers) through ``mealpy`` 3.

Registered methods (registry name -> ``mealpy`` 3 class):

======== =========================================== ==========================================
name     mealpy class                                population (``pop``)
======== =========================================== ==========================================
ga       ``evolutionary_based.GA.BaseGA``            even, at least 10 (tournament selection
                                                     needs ``int(0.1 * pop) >= 1``)
clpso    ``swarm_based.PSO.CL_PSO``                  at least 5
de       ``evolutionary_based.DE.OriginalDE``        at least 5
sa       ``physics_based.SA.OriginalSA``             2 (single-solution method: the best point
                                                     and the current point)
gwo_woa  ``swarm_based.GWO.GWO_WOA``                 at least 5
hi_woa   ``swarm_based.WOA.HI_WOA``                  at least 5
acor     ``swarm_based.ACOR.OriginalACOR``           at least 5 (archive); ``sample_count = pop``
abc      ``swarm_based.ABC.OriginalABC``             at least 5
aoa      ``math_based.AOA.OriginalAOA``              at least 10 (mealpy's minimum)
run      ``math_based.RUN.OriginalRUN``              at least 5
======== =========================================== ==========================================

``pop`` is ``task.batch_size`` raised to the algorithm's minimum; the
hyper-parameters are mealpy's defaults (override any of them, or ``pop_size``,
through :func:`~axfusion.benchmarks.methods.get_method` options, e.g.
``get_method("de", wf=0.5)``).

How a mealpy run is mapped onto the benchmark protocol:

- **Search space.** Every algorithm searches the unit cube ``[0, 1]^d``
  (:class:`UnitCodec`): a continuous dimension maps linearly onto
  ``[lower, upper]``; an integer or categorical dimension with ``L`` values is
  cut into ``L`` equal cells (the level is ``floor(u * L)``), which is
  mealpy's own ``IntegerVar`` encoding (``[lb - 0.5, ub + 0.5)`` then rounded)
  rescaled, and gives every level the same share of the cube. Categorical
  levels are therefore treated as ordered indices (a continuous relaxation,
  rounded when evaluated). The unit cube also keeps origin-seeking
  algorithms (AOA) from profiting from optima placed at the origin.
- **Initial population.** The shared initial design is already evaluated:
  the starting population (``solve(..., starting_solutions=...)``) is its
  ``pop`` best points; when the design has fewer points the rest are seeded
  uniform points, evaluated as one batch. Every evaluated point lives in an
  :class:`EvaluationCache`, so mealpy's re-evaluation of the starting
  population (and any later exact repeat of an evaluated point) is answered
  without spending budget.
- **Batches.** mealpy runs in ``mode="swarm"`` (generation-synchronous: a
  generation's proposals are all made before any of their results is seen)
  and the population update of a generation is one ``evaluator.evaluate``
  call of ``pop`` points. ABC, RUN and SA update sequentially by design
  (each result is used before the next proposal), so they evaluate one point
  per call. The evaluator groups evaluations into iterations of
  ``batch_size`` by count either way.
- **Budget.** mealpy's epoch limit is set to the number of generations the
  remaining budget affords (so annealed schedules such as GWO's ``a`` run
  their full course over the budget); if the epochs run out first (cache
  hits, or fewer evaluations per epoch than estimated), a fresh run with a new
  seed restarts from the best half of the evaluated points plus uniform
  points, until the evaluator raises
  :class:`~axfusion.benchmarks.tasks.BudgetExhausted`, which propagates out
  of mealpy untouched (mealpy catches no exception). A run whose proposals
  are all answered from the cache for too long is restarted the same way.
- **Quiet, single-process, deterministic.** mealpy's loggers are set to
  ``log_to=None`` (errors only), no worker pool is used, and every random
  draw comes from generators seeded by ``evaluator.seed`` (and the method
  name).

On a :class:`~axfusion.benchmarks.tasks.PoolTask` the proposals are box points
that the evaluator snaps to the nearest unevaluated rows; the algorithm keeps
its proposed positions with the rows' losses.
"""

from __future__ import annotations

import importlib
import math
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from axfusion.benchmarks.methods.base import Method, register_method
from axfusion.benchmarks.tasks import Evaluator, PoolTask, Task

__all__ = [
    "EvaluationCache",
    "MealpyMethod",
    "UnitCodec",
    "method_seed",
]

_MAX_EPOCHS = 100_000  # mealpy's validators accept epoch in [1, 100000]
_PENALTY = 1e30  # loss given to the optimiser for non-finite outcomes


def method_seed(seed: int, name: str) -> np.random.SeedSequence:
    r"""A seed sequence from the run's seed and the method's name (stable across processes)."""
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


class UnitCodec:
    r"""Maps the unit cube onto a :class:`~axfusion.benchmarks.tasks.DesignSpace`.

    A continuous dimension maps linearly onto ``[lower, upper]``; a discrete
    (integer or categorical) dimension with ``L = upper - lower + 1`` values
    is cut into ``L`` equal cells, the value being ``lower + floor(u * L)``.
    """

    def __init__(self, space: Any) -> None:
        self.space = space
        self.disc = space.discrete
        self.span = space.upper - space.lower
        self.n_levels = np.where(self.disc, self.span + 1.0, 1.0)

    @property
    def dim(self) -> int:
        return self.space.dim

    def decode(self, U: np.ndarray) -> np.ndarray:
        r"""``k x d`` unit points -> valid points of the space (clipped, discrete dims whole)."""
        U = np.clip(np.atleast_2d(np.asarray(U, dtype=np.float64)), 0.0, 1.0)
        lo = self.space.lower
        X = lo + U * self.span
        levels = np.minimum(np.floor(U * self.n_levels), self.span)
        X[:, self.disc] = (lo + levels)[:, self.disc]
        return self.space.clip(X)

    def encode(self, X: np.ndarray) -> np.ndarray:
        r"""``k x d`` points of the space -> unit points (discrete values at their cell's centre)."""
        X = self.space.clip(X)
        lo = self.space.lower
        U = (X - lo) / np.where(self.span > 0, self.span, 1.0)
        cells = (X - lo + 0.5) / self.n_levels
        U[:, self.disc] = cells[:, self.disc]
        return np.clip(U, 0.0, 1.0)


class _Stalled(Exception):
    r"""Raised by :class:`EvaluationCache` when proposals keep repeating evaluated points."""


class EvaluationCache:
    r"""Answers already evaluated points from memory; evaluates the rest in one batch.

    Points are matched after :meth:`DesignSpace.clip` on a grid of ``1e-9``
    of each dimension's range. On a pool, both the proposal and the row it
    was snapped to are remembered (a repeated proposal is not snapped to yet
    another row), and repeated proposals within one batch are all sent to
    the evaluator (they snap to distinct rows); on a function they are
    evaluated once.

    A cache answer spends no budget. After ``stall_limit`` answers in a row
    without a real evaluation, :meth:`losses` raises ``_Stalled`` once (the
    caller restarts its optimiser); after ``max_stalls`` such stalls in a row
    the cache stops answering (repeats are re-evaluated) until a real
    evaluation happens, so a run always ends on the budget.

    Args:
        task: The task.
        evaluator: The run's evaluator (its evaluated points seed the cache).
        stall_limit: Cache answers in a row that count as a stall.
        max_stalls: Stalls in a row before the cache is bypassed.
    """

    def __init__(self, task: Task, evaluator: Evaluator, stall_limit: int = 500, max_stalls: int = 3) -> None:
        self.task = task
        self.evaluator = evaluator
        self.space = task.space
        self.pool = isinstance(task, PoolTask)
        span = self.space.upper - self.space.lower
        self._scale = np.where(span > 0, span, 1.0)
        self._known: dict[bytes, float] = {}
        self.stall_limit = int(stall_limit)
        self.max_stalls = int(max_stalls)
        self.n_free = 0
        self.n_stalls = 0
        self.n_hits = 0
        for x, loss in zip(evaluator.X, evaluator.loss):
            self._known[self.key(x)] = float(loss)

    def key(self, x: np.ndarray) -> bytes:
        r"""The cache key of one clipped point."""
        scaled = (np.asarray(x, dtype=np.float64) - self.space.lower) / self._scale
        return np.rint(scaled * 1e9).astype(np.int64).tobytes()

    def __contains__(self, x: np.ndarray) -> bool:
        return self.key(self.space.clip(x)[0]) in self._known

    def losses(self, X: np.ndarray) -> np.ndarray:
        r"""``k`` losses of ``k x d`` points of the space (``BudgetExhausted`` propagates).

        Non-finite losses are returned as they are.
        """
        X = self.space.clip(X)
        keys = [self.key(x) for x in X]
        out = np.full(len(X), np.nan)
        bypass = self.n_stalls >= self.max_stalls
        todo: list[int] = []
        first: dict[bytes, int] = {}
        dupes: list[tuple[int, int]] = []
        n_hit = 0
        for i, k in enumerate(keys):
            if not bypass and k in self._known:
                out[i] = self._known[k]
                n_hit += 1
            elif not self.pool and k in first:
                dupes.append((i, first[k]))
            else:
                first.setdefault(k, i)
                todo.append(i)
        self.n_hits += n_hit
        if todo:
            before = self.evaluator.n_evaluated
            out[todo] = self.evaluator.evaluate(X[todo])  # raises BudgetExhausted at the end of the budget
            evaluated = self.evaluator.X[before:]
            for i, x, loss in zip(todo, evaluated, out[todo]):
                self._known[keys[i]] = float(loss)
                if self.pool:
                    self._known[self.key(x)] = float(loss)
            for i, j in dupes:
                out[i] = out[j]
            self.n_free, self.n_stalls = 0, 0
        else:  # every point was answered from the cache (repeats within a batch imply an evaluation)
            self.n_free += n_hit
            if self.n_free > self.stall_limit:
                self.n_free = 0
                self.n_stalls += 1
                if self.n_stalls < self.max_stalls:
                    raise _Stalled()
        return out


def _target_cls() -> Any:
    from mealpy.utils.target import Target

    return Target


_BATCHED: dict[type, type] = {}


def _batched_class(base: type) -> type:
    r"""``base`` with its objective routed to ``self._axf_objective`` (``k x d`` unit points -> ``k`` losses).

    ``update_target_for_population`` (a generation, in mealpy's ``"swarm"``
    mode) becomes one batch; ``get_target`` (one point) a batch of one.
    """
    if base in _BATCHED:
        return _BATCHED[base]
    Target = _target_cls()

    def get_target(self: Any, solution: np.ndarray, counted: bool = True) -> Any:
        if counted:
            self.nfe_counter += 1
        loss = self._axf_objective(np.asarray(solution, dtype=np.float64).reshape(1, -1))[0]
        return Target(objectives=[loss], weights=[1.0])

    def update_target_for_population(self: Any, pop: list | None = None) -> list | None:
        if self.mode not in self.AVAILABLE_MODES or not pop:
            return pop  # sequential mode: every agent was evaluated on creation (mealpy's behaviour)
        losses = self._axf_objective(np.array([agent.solution for agent in pop], dtype=np.float64))
        for agent, loss in zip(pop, losses):
            agent.target = Target(objectives=[loss], weights=[1.0])
            if hasattr(agent, "local_solution") and getattr(agent, "local_target", None) is None:
                # PSO agents: a new agent's personal best is itself (mealpy 3.0.3 leaves it unset
                # for a starting population evaluated in "swarm" mode)
                agent.local_target = agent.target.copy()
        self.nfe_counter += len(pop)
        return pop

    cls = type(base.__name__, (base,), {
        "get_target": get_target,
        "update_target_for_population": update_target_for_population,
        "__module__": base.__module__,  # mealpy names its loggers after the module: keep them under "mealpy."
        "__doc__": base.__doc__,
    })
    _BATCHED[base] = cls
    return cls


def _import_mealpy() -> Any:
    try:
        import mealpy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The metaheuristic baselines need mealpy 3 (pip install 'axfusion[bench]' or 'mealpy==3.0.2')."
        ) from e
    return mealpy


class MealpyMethod(Method):
    r"""A ``mealpy`` 3 optimiser run on the benchmark protocol (see the module docstring).

    Subclasses set the class attributes; the options given to
    :func:`~axfusion.benchmarks.methods.get_method` are passed to the mealpy
    constructor (over :attr:`defaults`), except ``pop_size`` (the population
    size, default :meth:`population_size`) and ``mode`` (mealpy's ``"swarm"``
    or ``"single"``, default ``"swarm"``).

    Attributes:
        restarts: mealpy runs restarted during the last :meth:`run` (epochs spent or stalled
            before the budget).
        mealpy_class: ``"module:Class"`` under ``mealpy``.
        min_pop: The smallest population the algorithm runs with.
        even_pop: Whether the population must be even.
        defaults: Constructor options over mealpy's defaults.
    """

    name = "mealpy"
    mealpy_class = ""
    min_pop = 5
    even_pop = False
    defaults: dict[str, Any] = {}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.restarts = 0

    # ------------------------------------------------------------ per algorithm
    def population_size(self, task: Task) -> int:
        r"""``task.batch_size`` raised to :attr:`min_pop` (and to even, if required)."""
        pop = int(self.options.get("pop_size", max(task.batch_size, self.min_pop)))
        if self.even_pop and pop % 2:
            pop += 1
        return pop

    def evaluations_per_epoch(self, pop: int) -> float:
        r"""Expected objective evaluations per mealpy epoch (sets the epoch horizon)."""
        return float(pop)

    def constructor_options(self, epochs: int, pop: int) -> dict[str, Any]:
        r"""Options of the mealpy constructor for a run of ``epochs`` epochs."""
        opts = {**self.defaults, **{k: v for k, v in self.options.items() if k not in ("pop_size", "mode")}}
        return {"epoch": epochs, "pop_size": pop, **opts}

    # ----------------------------------------------------------------- running
    def _resolve(self) -> type:
        module, cls = self.mealpy_class.split(":")
        return getattr(importlib.import_module(f"mealpy.{module}"), cls)

    def _starting_population(
        self, evaluator: Evaluator, codec: UnitCodec, cache: EvaluationCache, pop: int, n_keep: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        r"""The ``n_keep`` best distinct evaluated points (unit cube) plus uniform points up to ``pop``."""
        order = np.argsort(np.where(np.isfinite(evaluator.loss), evaluator.loss, np.inf), kind="stable")
        chosen: list[np.ndarray] = []
        seen: set[bytes] = set()
        for i in order:
            if len(chosen) >= min(n_keep, pop):
                break
            k = cache.key(evaluator.X[i])
            if k not in seen:
                seen.add(k)
                chosen.append(evaluator.X[i])
        U = codec.encode(np.array(chosen)) if chosen else np.empty((0, codec.dim))
        if len(U) < pop:
            U = np.vstack([U, rng.random((pop - len(U), codec.dim))])
        return U

    def run(self, task: Task, evaluator: Evaluator) -> None:
        mealpy = _import_mealpy()
        base = self._resolve()
        cls = _batched_class(base)
        codec = UnitCodec(task.space)
        pop = self.population_size(task)
        mode = self.options.get("mode", "swarm")
        cache = EvaluationCache(task, evaluator, stall_limit=max(500, 50 * pop))
        rng = np.random.default_rng(method_seed(evaluator.seed, self.name))

        def objective(U: np.ndarray) -> np.ndarray:
            loss = cache.losses(codec.decode(U))
            return np.where(np.isfinite(loss), loss, _PENALTY)

        evaluator.tick()
        self.restarts = 0
        n_keep = pop
        while True:
            U0 = self._starting_population(evaluator, codec, cache, pop, n_keep, rng)
            try:
                objective(U0)  # the new starting points, as one batch (cached ones are free)
                epochs = int(min(_MAX_EPOCHS, max(1, math.ceil(evaluator.remaining / self.evaluations_per_epoch(pop)))))
                model = cls(**self.constructor_options(epochs, pop))
                model._axf_objective = objective
                problem = mealpy.Problem(
                    bounds=mealpy.FloatVar(lb=np.zeros(codec.dim), ub=np.ones(codec.dim), name="u"),
                    minmax="min", log_to=None, obj_weights=np.ones(1),
                    obj_func=lambda x: float(objective(np.asarray(x, dtype=np.float64).reshape(1, -1))[0]),
                )
                problem._n_objs = 1
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    model.solve(problem, mode=mode, starting_solutions=U0, seed=int(rng.integers(2**31 - 1)))
            except _Stalled:
                pass
            # the epochs ran out (or the run stalled) before the budget: restart
            self.restarts += 1
            n_keep = max(1, (pop + 1) // 2)


class GA(MealpyMethod):
    r"""Genetic algorithm (mealpy ``BaseGA``: tournament selection, uniform crossover, flip mutation)."""

    name = "ga"
    mealpy_class = "evolutionary_based.GA:BaseGA"
    min_pop = 10
    even_pop = True


class CLPSO(MealpyMethod):
    r"""Comprehensive-learning particle swarm optimisation (mealpy ``CL_PSO``)."""

    name = "clpso"
    mealpy_class = "swarm_based.PSO:CL_PSO"


class DE(MealpyMethod):
    r"""Differential evolution (mealpy ``OriginalDE``, strategy 0: rand/1/bin)."""

    name = "de"
    mealpy_class = "evolutionary_based.DE:OriginalDE"


class SA(MealpyMethod):
    r"""Simulated annealing (mealpy ``OriginalSA``).

    A single-solution method: mealpy's population is ``[best, current]``
    (``pop_size = 2``, its minimum), each epoch proposes one point, so it
    starts from the best two points of the initial design and runs one
    evaluation per epoch.
    """

    name = "sa"
    mealpy_class = "physics_based.SA:OriginalSA"
    min_pop = 2

    def population_size(self, task: Task) -> int:
        return int(self.options.get("pop_size", 2))

    def evaluations_per_epoch(self, pop: int) -> float:
        return 1.0


class GWOWOA(MealpyMethod):
    r"""Hybrid grey wolf / whale optimisation (mealpy ``GWO_WOA``)."""

    name = "gwo_woa"
    mealpy_class = "swarm_based.GWO:GWO_WOA"


class HIWOA(MealpyMethod):
    r"""Hybrid improved whale optimisation (mealpy ``HI_WOA``).

    ``feedback_max`` (default 10) is capped at ``2 + epochs // 2``, the
    largest value mealpy accepts for a short run.
    """

    name = "hi_woa"
    mealpy_class = "swarm_based.WOA:HI_WOA"

    def constructor_options(self, epochs: int, pop: int) -> dict[str, Any]:
        opts = super().constructor_options(epochs, pop)
        opts["feedback_max"] = min(int(opts.get("feedback_max", 10)), 2 + epochs // 2)
        return opts


class ACOR(MealpyMethod):
    r"""Ant colony optimisation for continuous domains (mealpy ``OriginalACOR``).

    The archive holds ``pop`` solutions and each epoch samples
    ``sample_count = pop`` new ones (mealpy's default is 25).
    """

    name = "acor"
    mealpy_class = "swarm_based.ACOR:OriginalACOR"

    def constructor_options(self, epochs: int, pop: int) -> dict[str, Any]:
        opts = super().constructor_options(epochs, pop)
        opts.setdefault("sample_count", pop)
        return opts

    def evaluations_per_epoch(self, pop: int) -> float:
        return float(self.options.get("sample_count", pop))


class ABC(MealpyMethod):
    r"""Artificial bee colony (mealpy ``OriginalABC``).

    Employed and onlooker phases, ``2 pop`` evaluations per epoch.
    """

    name = "abc"
    mealpy_class = "swarm_based.ABC:OriginalABC"

    def evaluations_per_epoch(self, pop: int) -> float:
        return 2.0 * pop


class AOA(MealpyMethod):
    r"""Arithmetic optimization algorithm (mealpy ``math_based.AOA.OriginalAOA``; population at least 10)."""

    name = "aoa"
    mealpy_class = "math_based.AOA:OriginalAOA"
    min_pop = 10


class RUN(MealpyMethod):
    r"""Runge-Kutta optimiser (mealpy ``OriginalRUN``).

    Besides one Runge-Kutta move per agent, the enhanced-solution-quality step
    evaluates one or two more points for about half the agents: about
    ``1.6 pop`` evaluations per epoch.
    """

    name = "run"
    mealpy_class = "math_based.RUN:OriginalRUN"

    def evaluations_per_epoch(self, pop: int) -> float:
        return 1.6 * pop


METAHEURISTICS: dict[str, Callable[..., Method]] = {
    cls.name: cls for cls in (GA, CLPSO, DE, SA, GWOWOA, HIWOA, ACOR, ABC, AOA, RUN)
}

for _name, _cls in METAHEURISTICS.items():
    register_method(_name, _cls)
