r"""CMA-ES baseline (``cma.CMAEvolutionStrategy``) with IPOP restarts.

Registered as ``cmaes``. The search runs in a normalised genotype:

- a continuous dimension in the unit interval (``space.unit``: ``[lower,
  upper] -> [0, 1]``);
- an integer or categorical dimension in level units ``0 .. upper - lower``
  with ``cma``'s integer handling (``integer_variables``: a lower bound on the
  coordinate's standard deviation and integer centring, so the search does not
  stall on the plateaus of a rounded dimension); its initial standard
  deviation is scaled by its range (``CMA_stds``). Categorical levels are
  therefore searched as ordered indices.

Bounds are handled by ``cma``'s ``BoundTransform``; the phenotypes that
``ask`` returns are already feasible (inside the box, integer dimensions
whole), so the points evaluated are exactly the points sampled, and ``tell``
receives those same points with their losses. On a
:class:`~axfusion.benchmarks.tasks.PoolTask` the evaluator snaps each point to
the nearest unevaluated row; CMA-ES is told its sampled point with the row's
loss.

Start: ``x0`` is the best point of the shared initial design, ``sigma0 = 0.3``
(of the unit range), ``popsize = task.batch_size`` (at least 2), so one
generation is one iteration of the protocol and is evaluated in one
``evaluator.evaluate`` call. The initial design's points are held in an
:class:`~axfusion.benchmarks.methods.metaheuristics.EvaluationCache`: an exact
repeat of an evaluated point is answered without spending budget. When
``cma`` stops before the budget is spent, it restarts IPOP-style (population
doubled, ``x0`` uniform in the box; ``restarts="plain"`` keeps the population
size, ``restarts="best"`` restarts from the best point found) until the
evaluator raises :class:`~axfusion.benchmarks.tasks.BudgetExhausted`.

Determinism: ``cma`` draws from ``numpy``'s global generator (its sampler and
its integer handling); every ``cma`` call runs with a private
``RandomState`` seeded from ``evaluator.seed`` swapped in, and the caller's
global state is restored afterwards.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from axfusion.benchmarks.methods.base import Method, register_method
from axfusion.benchmarks.methods.metaheuristics import EvaluationCache, _Stalled, method_seed
from axfusion.benchmarks.tasks import Evaluator, Task

__all__ = ["CMAES"]

_PENALTY = 1e30  # loss told to CMA-ES for non-finite outcomes


class _PrivateGlobalRNG:
    r"""A private state for ``numpy``'s global generator, active only inside :meth:`active`."""

    def __init__(self, seed: int) -> None:
        self._state = np.random.RandomState(seed).get_state()

    @contextmanager
    def active(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.set_state(self._state)
        try:
            yield
        finally:
            self._state = np.random.get_state()
            np.random.set_state(saved)


class CMAES(Method):
    r"""CMA-ES from the best initial point, one generation per batch, IPOP restarts.

    Args (options):
        sigma0: Initial step size, in units of each dimension's range (0.3).
        popsize: Population size (default ``max(2, task.batch_size)``).
        restarts: ``"ipop"`` (double the population, uniform ``x0``),
            ``"plain"`` (same population, uniform ``x0``) or ``"best"`` (same
            population, ``x0`` = best point so far).
        cma_options: Extra ``cma`` options (dict), applied last.

    Attributes:
        runs: One dict per CMA-ES run of the last :meth:`run` (``popsize``,
            ``generations`` told, ``stop``: ``cma``'s stop reasons, empty for
            the run the budget ended).
    """

    name = "cmaes"

    #: The options :meth:`run` reads.
    known_options: tuple[str, ...] = ("sigma0", "popsize", "restarts", "cma_options", "n_threads")

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.known_options))
        if unknown:
            raise TypeError(f"cmaes: unknown options {unknown}; its options are {list(self.known_options)}.")
        super().__init__(**options)
        self.runs: list[dict[str, Any]] = []

    def run(self, task: Task, evaluator: Evaluator) -> None:
        try:
            import cma
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("The CMA-ES baseline needs cma (pip install 'axfusion[bench]' or 'cma==4.5.*').") from e

        space = task.space
        disc = space.discrete
        span = space.upper - space.lower
        active = span > 0  # fixed (degenerate) dimensions stay at their value
        g_upper = np.where(disc, span, 1.0)[active]
        stds = np.where(disc, np.maximum(span, 1.0), 1.0)[active]
        int_idx = [int(i) for i in np.flatnonzero(disc[active])]

        def encode(x: np.ndarray) -> np.ndarray:
            u = space.unit(space.clip(x))[0]
            g = np.where(disc, np.round(u * span), u)
            return g[active]

        def decode(G: np.ndarray) -> np.ndarray:
            U = np.zeros((len(G), space.dim))
            U[:, active] = np.asarray(G, dtype=np.float64)
            X = space.lower + np.where(disc, U, U * span)
            return space.clip(X)

        sigma0 = float(self.options.get("sigma0", 0.3))
        popsize = int(self.options.get("popsize", max(2, task.batch_size)))
        restarts = str(self.options.get("restarts", "ipop"))
        if restarts not in ("ipop", "plain", "best"):
            raise ValueError(f"restarts must be 'ipop', 'plain' or 'best', not {restarts!r}.")
        extra = dict(self.options.get("cma_options", {}))

        ss = method_seed(evaluator.seed, self.name)
        seeds = ss.generate_state(2)
        np_rng = _PrivateGlobalRNG(int(seeds[0]))
        rng = np.random.default_rng(int(seeds[1]))
        cache = EvaluationCache(task, evaluator, stall_limit=max(500, 50 * popsize))
        self.runs = []

        def evaluate(G: np.ndarray) -> np.ndarray:
            loss = cache.losses(decode(G))
            return np.where(np.isfinite(loss), loss, _PENALTY)

        if not active.any():  # nothing to search: spend the budget on the only point
            while True:
                evaluator.evaluate(np.repeat(space.lower[None], popsize, axis=0))

        def best_point() -> np.ndarray:
            return evaluator.X[int(np.argmin(np.where(np.isfinite(evaluator.loss), evaluator.loss, np.inf)))]

        x0 = encode(best_point())
        evaluator.tick()
        while True:
            opts = {
                "bounds": [np.zeros(int(active.sum())).tolist(), g_upper.tolist()],
                "CMA_stds": stds.tolist(),
                "popsize": popsize,
                "seed": np.nan,  # "do nothing": the private global state is swapped in instead
                "verbose": -9,
                "verb_log": 0,
                "verb_disp": 0,
                "maxfevals": np.inf,
                **({"integer_variables": int_idx} if int_idx else {}),
                **extra,
            }
            stop: dict[str, Any] = {}
            n_gen = 0
            entry: dict[str, Any] = {"popsize": popsize, "generations": 0, "stop": []}
            self.runs.append(entry)
            try:
                with np_rng.active(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    es = cma.CMAEvolutionStrategy(x0.tolist(), sigma0, opts)
                while True:
                    with np_rng.active(), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        stop = dict(es.stop())
                        if stop:
                            break
                        G = es.ask()
                    f = evaluate(np.array(G))  # raises BudgetExhausted at the end of the budget
                    with np_rng.active(), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        es.tell(G, f.tolist())
                    n_gen += 1
                    entry["generations"] = n_gen
            except _Stalled:
                stop = {"stalled": True}
            entry["stop"] = sorted(stop)
            # restart
            if restarts == "ipop":
                popsize *= 2
            if restarts == "best":
                x0 = encode(best_point())
            else:
                x0 = rng.random(int(active.sum())) * g_upper
                x0 = np.where(disc[active], np.round(x0), x0)


register_method("cmaes", CMAES)
