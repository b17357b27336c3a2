r"""Ax's BO baselines through the ``Client`` ask/tell loop, and the ``gpbo``/``rfbo``/
``lvgp``/``sobol`` method names.

On a :class:`~axfusion.benchmarks.tasks.FunctionTask`, :class:`AxClientMethod` runs
:func:`axfusion.ax.strategy.generation_strategy` in an Ax ``Client``:

- the experiment's parameters come from ``task.problem`` (continuous -> float range,
  integer -> int range, categorical -> unordered int choice of the level *indices*
  ``0 .. L-1``, i.e. the numeric coordinate of ``task.space``);
- the objective is ``-loss`` (the loss is minimised);
- the evaluator's initial design is attached as completed trials before the first
  ``get_next_trials``. The strategies' initial Sobol node counts every trial of the
  experiment towards its ``n_initial`` (``gpbo``: Ax's
  ``use_existing_trials_for_initialization=True``; ``lvgp``/``rfbo``: axfusion's
  ``initial_node`` with ``use_all_trials_in_exp=True``), so the first batch already comes
  from the model;
- ``gpbo`` is Ax's default GP-BO (``choose_generation_strategy(method="fast")``:
  ``SingleTaskGP``/``MixedSingleTaskGP`` and qLogNEI) built with
  ``initialize_with_center=False``: Ax 1.3 otherwise puts a ``CenterGenerationNode`` first,
  whose trial is the centre of the box -- the optimum of unshifted Ackley/Rastrigin. The
  ``Client`` adds no centre point of its own once a strategy is set;
- ``lvgp``: Sobol, then :class:`~axfusion.baselines.LVGP` in Ax's modular generator (only
  for tasks with categorical inputs); ``rfbo``: Sobol, then
  :class:`~axfusion.baselines.RandomForestModel`; ``sobol``: Ax's scrambled Sobol
  generator throughout;
- each ``get_next_trials(max_trials=batch_size)`` batch is evaluated and completed with
  the evaluator's losses. Ax 1.3 caps a multi-trial call by the trial limit of the node
  it *starts* in, so the first call (which leaves the initial node) returns one trial:
  the method asks again for the rest of the batch, the first trial pending.
  ``Client(random_seed=evaluator.seed)`` seeds every generation call, and the Sobol generator is
  seeded too, so a seed reproduces its run.

The registered names work on both task kinds (:class:`TaskKindDispatch`): on a
:class:`~axfusion.benchmarks.tasks.PoolTask`, where Ax's generators cannot search a
pool, ``gpbo``/``rfbo``/``lvgp`` run :mod:`axfusion.benchmarks.methods.pool_bo` (``lvgp``
on pools with a categorical column only) and ``sobol`` draws random unevaluated rows
(:mod:`axfusion.benchmarks.methods.random_search`).

Options of ``gpbo``/``rfbo``/``lvgp``/``sobol`` are handed to whichever implementation
runs, each taking the ones its constructor accepts (``acqf_class``, ``model_options``
for Ax; see :class:`~axfusion.benchmarks.methods.pool_bo.PoolGPBO` and
:class:`~axfusion.benchmarks.methods.pool_bo.PoolRFBO` for pools; ``n_threads`` for
all); an option neither accepts is an error.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from axfusion.benchmarks.methods.base import Method, limited_threads, register_method
from axfusion.benchmarks.methods.pool_bo import PoolGPBO, PoolLVGP, PoolRFBO
from axfusion.benchmarks.methods.random_search import RandomSearch
from axfusion.benchmarks.tasks import Evaluator, FunctionTask, PoolTask, Task

__all__ = ["AX_STRATEGIES", "AxClientMethod", "TaskKindDispatch", "parameter_configs"]

#: Strategies of :func:`axfusion.ax.strategy.generation_strategy` run by :class:`AxClientMethod`.
AX_STRATEGIES: tuple[str, ...] = ("gpbo", "lvgp", "rfbo", "sobol")
METRIC = "loss"


def parameter_configs(problem: Any) -> list[Any]:
    r"""Ax parameter configs of a ``TestProblem``; categoricals as unordered level indices."""
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    out: list[RangeParameterConfig | ChoiceParameterConfig] = []
    for p in problem.parameters:
        if p.kind == "continuous":
            bounds = (float(p.lower), float(p.upper))
            out.append(RangeParameterConfig(name=p.name, parameter_type="float", bounds=bounds))
        elif p.kind == "integer":
            out.append(RangeParameterConfig(name=p.name, parameter_type="int", bounds=(int(p.lower), int(p.upper))))
        else:
            out.append(
                ChoiceParameterConfig(
                    name=p.name, parameter_type="int", values=list(range(len(p.levels))), is_ordered=False
                )
            )
    return out


def _has_categorical(task: Task) -> bool:
    return any(k == "categorical" for k in task.space.kinds)


class AxClientMethod(Method):
    r"""An :func:`~axfusion.ax.strategy.generation_strategy` baseline in Ax's ``Client``
    (function tasks only).

    Args:
        strategy: ``"gpbo"``, ``"lvgp"``, ``"rfbo"`` or ``"sobol"``.
        acqf_class: BoTorch acquisition class of the model-based strategies (default:
            Ax's choice, qLogNEI).
        model_options: Constructor options of the LVGP / forest model.
        n_threads: Thread cap inside :meth:`run` (1).
    """

    def __init__(
        self,
        strategy: str,
        acqf_class: Any = None,
        model_options: dict[str, Any] | None = None,
        n_threads: int = 1,
    ) -> None:
        if strategy not in AX_STRATEGIES:
            raise ValueError(f"Unknown Ax strategy {strategy!r}; choose one of {list(AX_STRATEGIES)}.")
        if strategy == "sobol" and (acqf_class is not None or model_options):
            raise TypeError("sobol takes no acqf_class or model_options.")
        if strategy == "gpbo" and model_options:
            raise TypeError("gpbo uses Ax's default model; model_options do not apply.")
        super().__init__(acqf_class=acqf_class, model_options=model_options, n_threads=n_threads)
        self.name = strategy
        self.strategy = strategy
        self.acqf_class = acqf_class
        self.model_options = dict(model_options) if model_options else None
        self.n_threads = int(n_threads)
        self._records: list[dict[str, Any]] = []

    def supports(self, task: Task) -> bool:
        if not isinstance(task, FunctionTask):
            return False
        return self.strategy != "lvgp" or _has_categorical(task)

    def diagnostics(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records]

    # ----------------------------------------------------------- conversions
    @staticmethod
    def _parameters(task: FunctionTask, x: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, p in enumerate(task.problem.parameters):
            out[p.name] = float(x[j]) if p.kind == "continuous" else int(round(float(x[j])))
        return out

    @staticmethod
    def _point(task: FunctionTask, params: dict[str, Any]) -> np.ndarray:
        return np.array([float(params[p.name]) for p in task.problem.parameters], dtype=np.float64)

    # ------------------------------------------------------------------ loop
    def _client(self, task: FunctionTask, seed: int) -> Any:
        from ax.api.client import Client

        from axfusion.ax.strategy import generation_strategy

        client = Client(random_seed=seed)
        client.configure_experiment(
            parameters=parameter_configs(task.problem), name=f"{task.name}-{self.strategy}-{seed}"
        )
        client.configure_optimization(objective=f"-{METRIC}")
        client.set_generation_strategy(
            generation_strategy(
                self.strategy, seed=seed, n_initial=task.n_initial, batch_size=task.batch_size,
                acqf_class=self.acqf_class, model_options=self.model_options,
            )
        )
        return client

    def run(self, task: Task, evaluator: Evaluator) -> None:
        if not isinstance(task, FunctionTask) or not self.supports(task):
            raise TypeError(
                f"{self.strategy} (Ax) cannot run task {task.name!r}"
                + (" (no categorical inputs)" if isinstance(task, FunctionTask) else " (pools are not supported)")
                + "."
            )
        self._records = []
        # Ax logs every trial at INFO (and warns on short batches) through its own
        # module loggers; silence them for the run.
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            with limited_threads(self.n_threads), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._run(task, evaluator)
        finally:
            logging.disable(previous)

    def _run(self, task: FunctionTask, evaluator: Evaluator) -> None:
        client = self._client(task, evaluator.seed)
        for x, loss in zip(evaluator.X, evaluator.loss):
            index = client.attach_trial(parameters=self._parameters(task, x))
            client.complete_trial(index, raw_data={METRIC: float(loss)})
        evaluator.tick()
        iteration = 0
        while True:
            iteration += 1
            t0 = time.perf_counter()
            q = min(task.batch_size, max(evaluator.remaining, 1))
            trials: dict[int, Any] = {}
            calls = 0
            while len(trials) < q:
                # The call that leaves the initial node returns one trial only (Ax limits
                # it by the initial node's remaining trials): ask again for the rest,
                # with the first ones pending.
                new = client.get_next_trials(max_trials=q - len(trials))
                calls += 1
                if not new:
                    break
                trials.update(new)
            gen_time = time.perf_counter() - t0
            if not trials:
                raise RuntimeError(f"Ax's {self.strategy} strategy generated no trial.")
            indices = sorted(trials)
            X = np.vstack([self._point(task, trials[i]) for i in indices])
            experiment = getattr(client, "_experiment", None)
            nodes = [
                getattr(experiment.trials[i].generator_runs[0], "_generation_node_name", None) if experiment else None
                for i in indices
            ]
            self._records.append(
                {"iteration": iteration, "trials": indices, "nodes": nodes, "calls": calls, "gen_time_s": gen_time}
            )
            losses = evaluator.evaluate(X)
            for i, loss in zip(indices, losses):
                client.complete_trial(i, raw_data={METRIC: float(loss)})


class TaskKindDispatch(Method):
    r"""One method name, one implementation per task kind.

    Args:
        name: The registered name.
        function: Factory of the implementation on function tasks (``None``: unsupported).
        pool: Factory of the implementation on pool tasks (``None``: unsupported).
        **options: Handed to the implementation that runs; each factory takes the options
            its signature names. An option no factory accepts raises ``TypeError``.
    """

    def __init__(
        self,
        name: str,
        function: Callable[..., Method] | None,
        pool: Callable[..., Method] | None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.name = name
        self._factories = {"function": function, "pool": pool}
        accepted = {kind: _accepted(f) for kind, f in self._factories.items() if f is not None}
        unknown = sorted(k for k in options if not any(k in a for a in accepted.values()))
        if unknown:
            raise TypeError(f"{name}: unknown options {unknown}.")
        self._accepted = accepted
        self.implementation: Method | None = None

    def _implementation(self, task: Task) -> Method | None:
        if isinstance(task, PoolTask):
            kind = "pool"
        elif isinstance(task, FunctionTask):
            kind = "function"
        else:
            return None
        factory = self._factories.get(kind)
        if factory is None:
            return None
        return factory(**{k: v for k, v in self.options.items() if k in self._accepted[kind]})

    def supports(self, task: Task) -> bool:
        impl = self._implementation(task)
        return impl is not None and impl.supports(task)

    def run(self, task: Task, evaluator: Evaluator) -> None:
        impl = self._implementation(task)
        if impl is None or not impl.supports(task):
            raise TypeError(f"{self.name} does not support task {task.name!r} ({task.kind}).")
        self.implementation = impl
        impl.run(task, evaluator)

    def diagnostics(self) -> list[dict[str, Any]]:
        return self.implementation.diagnostics() if self.implementation is not None else []


def _accepted(factory: Callable[..., Method]) -> set[str]:
    r"""Keyword options a factory accepts (its bound ``functools.partial`` arguments excluded)."""
    target = factory.func if isinstance(factory, functools.partial) else factory
    params = inspect.signature(target).parameters
    bound = set(factory.keywords) if isinstance(factory, functools.partial) else set()
    skip = {"self", "strategy"} | bound
    return {
        n for n, p in params.items()
        if n not in skip and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }


_POOL_FACTORIES: dict[str, Callable[..., Method] | None] = {
    "gpbo": PoolGPBO,
    "rfbo": PoolRFBO,
    "lvgp": PoolLVGP,
    "sobol": RandomSearch,
}

for _name in AX_STRATEGIES:
    register_method(
        _name,
        functools.partial(
            TaskKindDispatch, _name, functools.partial(AxClientMethod, _name), _POOL_FACTORIES[_name]
        ),
    )
