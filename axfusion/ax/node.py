r"""The fusion method as an Ax generation node.

:class:`FusionGenerationNode` is an Ax ``ExternalGenerationNode`` that drives a
:class:`~axfusion.optimizer.FusionOptimizer`:

1. ``update_generator_state(experiment, data)`` rebuilds the optimizer from the
   experiment: the Ax search space becomes an axfusion box
   (:func:`~axfusion.ax.space.translate_search_space`; parameter constraints become
   linear constraints) or, with a pool, the pool's rows; the optimization config becomes
   targets (:func:`~axfusion.ax.objectives.targets_from_config`: objective directions,
   several objectives, outcome constraints as window targets); every measured arm is
   observed, failed and abandoned trials as failed measurements
   (:func:`~axfusion.ax.observations.collect_observations`). The optimizer is a pure
   function of the experiment and the seed, so a strategy reloaded from storage
   proposes what the original would have -- with one exception: when nothing was measured
   since this node's last batch (the experiment's latest fusion iteration), the node
   continues that batch on the fit it holds in memory (e.g. the second call after the call
   that left the initial design, which Ax limits to one trial); a reloaded strategy refits
   there instead.
2. ``get_next_candidate(pending)`` hands out the next design of a batch chosen jointly
   by one ``FusionOptimizer.suggest`` call: the reservoir is fitted, the method's own
   candidates are built (DE + Sobol in a box, the unevaluated rows of a pool), scored
   with ``FusionAcquisition`` times ``pi(x)`` and a diverse batch is selected with
   ``select_batch``. Pending designs (running trials, and the arms already handed out
   in this call) are marked pending, so they are never proposed again. The batch holds
   ``max(batch_size, arms requested)`` designs; when Ax asks for more (several trials in
   one ``get_next_trials`` call: Ax skips ``update_generator_state`` for all but the first),
   the batch is continued with the earlier ones pending -- the same fitted reservoir scores
   the same candidates (``FusionOptimizer.suggest(refit=False)``), so one fit serves every
   arm of the call.

Every arm carries candidate metadata (``fusion_iteration``, ``utility``, ``pi``, the
predicted mean and std per target, the cluster and a one-line reason), stored by Ax with
the generator run.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ax.core.arm import Arm
from ax.core.data import Data
from ax.core.experiment import Experiment
from ax.core.generator_run import GeneratorRun
from ax.core.observation import ObservationFeatures
from ax.core.types import TParameterization
from ax.exceptions.core import DataRequiredError, UnsupportedError
from ax.exceptions.generation_strategy import GenerationStrategyCompleted
from ax.generation_strategy.external_generation_node import ExternalGenerationNode
from ax.generation_strategy.transition_criterion import TransitionCriterion

from axfusion.ax.objectives import TargetSpec, reference_point, targets_from_config
from axfusion.ax.observations import (
    BOX_GENERATIONS,
    FUSION_ITERATION,
    collect_observations,
    fusion_iterations,
    recorded_box_generations,
)
from axfusion.ax.options import node_settings, normalise_options
from axfusion.ax.pool import ROW_ID, PoolReference
from axfusion.ax.space import SpaceTranslation, translate_search_space
from axfusion.ax.storable import StorableNode
from axfusion.campaign import FusionOptimizer
from axfusion.settings import Settings

__all__ = ["FusionGenerationNode"]

#: The fusion surrogates need this many successful measurements.
MIN_OBSERVATIONS = 5


def _measured_signature(keys: Sequence[Any], table: Any, inside: np.ndarray) -> str:
    r"""A digest of the measured designs the optimiser models: their keys, values and
    failure flags, in order."""
    rows = np.flatnonzero(inside)
    payload = repr(([keys[int(i)] for i in rows], table.Y[rows].tolist(), table.failed[rows].tolist()))
    return hashlib.sha256(payload.encode()).hexdigest()


def _json_value(value: Any) -> Any:
    r"""A table cell as a JSON value (NaN/inf become ``None``, numpy scalars Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class FusionGenerationNode(StorableNode, ExternalGenerationNode):
    r"""The fusion optimiser inside an Ax ``GenerationStrategy``.

    Args:
        name: Node name.
        seed: Seed of the method; fusion iteration ``t`` uses ``seed + t``.
        batch_size: Designs chosen jointly, under the batch's diversity rules (at least
            the number of arms Ax asks for in one call; set it to the ``max_trials`` you
            pass to ``Client.get_next_trials``). More trials in one call continue the batch
            on the same fit, so one fit serves every arm of the call either way.
        options: Fusion options applied to the preset (:mod:`axfusion.ax.options`): any
            option of :class:`~axfusion.settings.Settings` by dotted path or unique name, e.g.
            ``{"families": ["ridge", "knn", "lightgbm"], "n_members": 3,
            "stage3.batch.cluster_bandwidth": False}``.
        preset: The named recipe (``"default"``, ``"paper"``, ``"authors_code"``).
        settings: A whole settings tree (a :class:`~axfusion.settings.Settings` or its dict,
            as stored by Ax); when given, ``preset`` and ``options`` are not used.
        pool: A closed pool (:class:`~axfusion.ax.pool.PoolReference` or its dict);
            ``None`` searches the experiment's box.
        include_failed: Keep failed and abandoned arms as failed measurements, never
            proposed again (default); ``False`` forgets them, so they may be proposed again.
        min_observations: Successful measurements needed to fit the surrogates; with
            fewer, the node proposes space-filling designs (Sobol in a box, random pool
            rows) instead.
        transition_criteria: Ax transition criteria (none: the node runs to the end).
    """

    def __init__(
        self,
        name: str = "Fusion",
        seed: int = 0,
        batch_size: int = 1,
        options: Mapping[str, Any] | None = None,
        pool: PoolReference | dict[str, Any] | None = None,
        preset: str = "default",
        settings: Settings | Mapping[str, Any] | None = None,
        include_failed: bool = True,
        min_observations: int = MIN_OBSERVATIONS,
        transition_criteria: Sequence[TransitionCriterion] | None = None,
    ) -> None:
        super().__init__(name=name, should_deduplicate=True, transition_criteria=transition_criteria)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if int(min_observations) < MIN_OBSERVATIONS:
            raise ValueError(f"min_observations must be at least {MIN_OBSERVATIONS}, got {min_observations}.")
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        if settings is not None:
            tree = settings if isinstance(settings, Settings) else Settings.from_dict(settings)
            self.settings = tree.with_options({"loop.batch_size": self.batch_size})
        else:
            self.settings = node_settings(preset, normalise_options(options), self.batch_size)
        self.pool_ref: PoolReference | None = (
            None if pool is None else pool if isinstance(pool, PoolReference) else PoolReference.from_dict(pool)
        )
        self.include_failed = bool(include_failed)
        self.min_observations = int(min_observations)
        self.optimizer: FusionOptimizer | None = None
        self._translation: SpaceTranslation | None = None
        self._specs: list[TargetSpec] = []
        self._observed: set[Any] = set()
        self._n_successful = 0
        self._n_trials = 0
        self._queue: list[tuple[Any, TParameterization, dict[str, Any]]] = []
        self._continue = False
        self._signature: str | None = None
        self._n_remaining = 1
        self._metadata: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ storage
    def init_args(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "settings": self.settings.as_dict(),
            "pool": None if self.pool_ref is None else self.pool_ref.as_dict(),
            "include_failed": self.include_failed,
            "min_observations": self.min_observations,
            "transition_criteria": list(self.transition_criteria),
        }

    # ------------------------------------------------------------------ state
    @property
    def targets(self) -> list[TargetSpec]:
        r"""The targets read from the optimization config at the last update."""
        return list(self._specs)

    def update_generator_state(self, experiment: Experiment, data: Data) -> None:
        r"""Rebuild the fusion optimizer from the experiment's trials and data."""
        config = experiment.optimization_config
        if config is None:
            raise UnsupportedError("The fusion generation node needs an optimization config.")
        specs = targets_from_config(config)
        if self.pool_ref is not None:
            if set(experiment.search_space.parameters) != {ROW_ID}:
                raise UnsupportedError(
                    f"A pool experiment has the single parameter {ROW_ID!r}; this one has "
                    f"{sorted(experiment.search_space.parameters)}."
                )
            candidates: Any = self.pool_ref.open()
            self._translation = None
        else:
            self._translation = translate_search_space(experiment.search_space)
            candidates = self._translation.space
        opt = FusionOptimizer(
            candidates,
            [s.target for s in specs],
            target_names=[s.name for s in specs],
            settings=self.settings,
            ref_point=reference_point(config, specs),
            seed=self.seed,
        )
        table = collect_observations(experiment, data, specs, include_failed=self.include_failed)
        keys = self._keys(table.parameters)
        inside = self._inside(table.parameters)
        if not inside.all():
            warnings.warn(
                f"{int((~inside).sum())} measured arms lie outside the search space and are not modelled.",
                stacklevel=2,
            )
        self._observed = set()
        for t in np.unique(table.iteration):
            rows = np.flatnonzero((table.iteration == t) & inside)
            if rows.size == 0:
                continue
            opt.advance(int(t))
            self._observe(opt, [table.parameters[i] for i in rows], table.Y[rows], table.failed[rows])
            self._observed.update(keys[i] for i in rows)
        iterations = fusion_iterations(experiment)
        opt.advance(max(iterations.values(), default=0), box_generations=recorded_box_generations(experiment))
        signature = _measured_signature(keys, table, inside)
        # no batch suggested since this update: the next one fits -- unless this node fitted the
        # experiment's latest batch on exactly these measurements (a later call of the same
        # session, e.g. the one after the call that left the initial design), which it continues
        self._continue = (
            self.optimizer is not None and signature == self._signature and opt.reuse_fit(self.optimizer)
        )
        self.optimizer = opt
        self._signature = signature
        self._specs = specs
        self._n_successful = int((~table.failed & inside).sum())
        self._n_trials = len(experiment.trials)
        self._queue = []

    def _keys(self, parameters: Sequence[Mapping[str, Any]]) -> list[Any]:
        if self.pool_ref is not None:
            return [int(p[ROW_ID]) for p in parameters]
        assert self._translation is not None
        return self._translation.keys(self._translation.to_frame(parameters))

    def _inside(self, parameters: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not parameters:
            return np.zeros(0, dtype=bool)
        if self.pool_ref is not None:
            ids = np.array([int(p[ROW_ID]) for p in parameters])
            return (ids >= 0) & (ids < self.pool_ref.n_rows)
        assert self._translation is not None
        return self._translation.space.contains(self._translation.to_frame(parameters))

    def _observe(
        self, opt: FusionOptimizer, parameters: list[Mapping[str, Any]], Y: np.ndarray, failed: np.ndarray
    ) -> None:
        if self.pool_ref is not None:
            opt.observe(ids=[int(p[ROW_ID]) for p in parameters], Y=Y, failed=failed)
        else:
            assert self._translation is not None
            opt.observe(X=self._translation.to_frame(parameters), Y=Y, failed=failed)

    # ------------------------------------------------------------------ generation
    def _gen(  # type: ignore[override]  # Ax's GenerationNode and ExternalGenerationNode order these differently
        self,
        experiment: Experiment,
        data: Data | None = None,
        n: int | None = None,
        pending_observations: dict[str, list[ObservationFeatures]] | None = None,
        **generator_gen_kwargs: Any,
    ) -> GeneratorRun:
        r"""Generate ``n`` arms and attach each arm's fusion metadata to the run."""
        self._n_remaining = 1 if n is None else int(n)
        self._metadata = {}
        gr = super()._gen(
            experiment=experiment,
            data=data,
            n=n,
            pending_observations=pending_observations,
            **generator_gen_kwargs,
        )
        metadata: dict[str, dict[str, Any] | None] = {
            arm.signature: self._metadata[arm.signature] for arm in gr.arms if arm.signature in self._metadata
        }
        iterations = sorted({m[FUSION_ITERATION] for m in metadata.values() if m})
        return GeneratorRun(
            arms=gr.arms,
            fit_time=gr.fit_time,
            gen_time=gr.gen_time,
            generator_key=self.name,
            gen_metadata={"fusion_iterations": iterations, "seed": self.seed},
            candidate_metadata_by_arm_signature=metadata or None,
        )

    def get_next_candidate(self, pending_parameters: list[TParameterization]) -> TParameterization:
        r"""The next design of the current batch (a new batch when it is used up)."""
        if self.optimizer is None:
            raise RuntimeError("update_generator_state() must run before get_next_candidate().")
        inside = self._inside(pending_parameters)
        pending = [p for p, ok in zip(pending_parameters, inside) if ok]
        pending_keys = set(self._keys(pending)) - self._observed
        while self._queue:
            key, params, meta = self._queue.pop(0)
            if key not in pending_keys and key not in self._observed:
                return self._hand_out(params, meta)
        self._set_pending(pending_keys)
        if self._n_successful < self.min_observations:
            key, params, meta = self._space_filling(pending_keys)
            return self._hand_out(params, meta)
        self._queue = self._suggest(max(self.batch_size, self._n_remaining))
        key, params, meta = self._queue.pop(0)
        return self._hand_out(params, meta)

    def _hand_out(self, params: TParameterization, meta: dict[str, Any]) -> TParameterization:
        self._metadata[Arm(parameters=params).signature] = meta
        self._n_remaining = max(self._n_remaining - 1, 1)
        return params

    def _set_pending(self, keys: set[Any]) -> None:
        assert self.optimizer is not None
        self.optimizer.set_pending(keys)

    def _suggest(self, q: int) -> list[tuple[Any, TParameterization, dict[str, Any]]]:
        opt = self.optimizer
        assert opt is not None
        if opt.pool is not None:
            if opt.pool.n_available == 0:
                raise GenerationStrategyCompleted(
                    f"Every row of the {opt.pool.n_rows}-row pool has been measured or is pending."
                )
            q = min(q, opt.pool.n_available)
        suggestion = opt.suggest(q, refit=not self._continue)
        self._continue = True
        table = suggestion.table
        design_cols = [ROW_ID] if self.pool_ref is not None else list(self._translation.names)  # type: ignore[union-attr]
        info_cols = [c for c in table.columns if c not in design_cols]
        out = []
        for _, row in table.iterrows():
            meta = {FUSION_ITERATION: int(suggestion.iteration)}
            if opt.state.box_generations is not None:
                meta[BOX_GENERATIONS] = int(opt.state.box_generations)
            meta.update({c: _json_value(row[c]) for c in info_cols})
            if self.pool_ref is not None:
                key: Any = int(row[ROW_ID])
                params: TParameterization = {ROW_ID: key}
            else:
                assert self._translation is not None
                params = self._translation.to_parameterization(row[design_cols].to_dict())
                key = self._keys([params])[0]
            out.append((key, params, meta))
        return out

    def _space_filling(self, pending_keys: set[Any]) -> tuple[Any, TParameterization, dict[str, Any]]:
        r"""A Sobol design (box) or random free row (pool) while there are too few
        measurements to fit the surrogates."""
        opt = self.optimizer
        assert opt is not None
        seed = self.seed + self._n_trials + len(pending_keys)
        reason = (
            f"space-filling: {self._n_successful} successful measurements, "
            f"the surrogates need {self.min_observations}"
        )
        meta = {FUSION_ITERATION: 0, "reason": reason}
        if opt.pool is not None:
            if opt.pool.n_available == 0:
                raise GenerationStrategyCompleted("Every pool row has been measured or is pending.")
            rng = np.random.default_rng(seed)
            row = int(rng.choice(opt.pool.available_ids()))
            return row, {ROW_ID: row}, meta
        translation = self._translation
        assert translation is not None
        taken = self._observed | pending_keys
        draws = translation.space.sample_sobol(len(taken) + 64, seed=seed)
        for key, (_, row) in zip(translation.keys(draws), draws.iterrows()):
            if key not in taken:
                return key, translation.to_parameterization(row.to_dict()), meta
        raise DataRequiredError(
            "Could not draw a new space-filling design; complete more trials before generating."
        )
