r"""The fusion optimiser (:class:`~axfusion.campaign.FusionOptimizer`) as a benchmark method.

``fusion`` runs the method's own ask/tell loop, without Ax:

- on a :class:`~axfusion.benchmarks.tasks.PoolTask`, as
  :func:`~axfusion.protocols.run_closed_pool` does: the optimiser gets the pool's
  feature matrix and the task's target directions (several targets natively), observes
  the initial rows, and every ``suggest`` returns row ids that are evaluated by id;
- on a :class:`~axfusion.benchmarks.tasks.FunctionTask`, on a
  :class:`~axfusion.candidates.SearchSpace` built from the problem's parameters
  (continuous, integer, categorical with its level objects), minimising the function
  value; suggested designs are mapped back to numeric points of ``task.space``
  (categoricals as level indices).

Options are any option of the settings tree (:class:`~axfusion.settings.Settings`), by
dotted path or unique name (``n_members``, ``families``, ``stage3.fusion.kalman.channels``,
``stage2.box.n_candidates``, ...; ``batch_size`` and ``budget_iterations`` come from the
task), as on the command line: ``axfusion bench --method-option fusion.stage1.n_members=4``,
plus:

- ``preset``: the named recipe the options apply to (``"default"``, ``"paper"``,
  ``"authors_code"``);
- ``n_threads``: thread cap inside :meth:`Fusion.run` (default 1).

Ablations are registered as methods ``fusion:<variant>`` (:data:`VARIANTS`, plus
``fusion:family=<name>`` for every surrogate family): ``axfusion bench --methods fusion
fusion:no_pi fusion:qlognei ...``.

Defaults: on pools the optimiser's own defaults (the closed-pool benchmark's settings);
on functions :data:`BOX_DEFAULTS` (4 members per family, 1000 DE candidates, 8 DE
generations of population ``10 d`` and no time budget, so that a seed reproduces its run
exactly on any machine): 7-8 s per iteration on 20-D Ackley on one thread of a
busy 2-core machine (model ~1 s, candidates ~3 s, structure ~2.5 s), also with 1000
observations.

Checkpoints: after every measured batch the run saves its campaign
(:meth:`~axfusion.campaign.FusionOptimizer.state_dict`) to the runner's
:class:`~axfusion.benchmarks.checkpoint.RunCheckpoint`; a stopped run continues from it exactly.

:meth:`Fusion.diagnostics` returns the optimiser's
:class:`~axfusion.diagnostics.IterationRecord` dicts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from axfusion.benchmarks.methods.base import Method, limited_threads, register_method
from axfusion.benchmarks.tasks import Evaluator, FunctionTask, PoolTask, Task

__all__ = ["BOX_DEFAULTS", "Fusion", "search_space", "to_points"]

#: Settings of the benchmark on functions (boxes) with the ``default`` preset.
BOX_DEFAULTS: dict[str, Any] = {
    "stage1.n_members": 4,
    "stage2.box.n_candidates": 1000,
    "stage2.box.time_budget_s": None,
    "stage2.box.maxiter": 8,
    "stage2.box.popsize": 10,
}


def search_space(problem: Any) -> Any:
    r"""The :class:`~axfusion.candidates.SearchSpace` of a benchmark ``TestProblem``."""
    from axfusion.candidates import CategoricalParameter, ContinuousParameter, IntegerParameter, SearchSpace

    params: list[Any] = []
    for p in problem.parameters:
        if p.kind == "categorical":
            params.append(CategoricalParameter(p.name, p.levels))
        elif p.kind == "integer":
            params.append(IntegerParameter(p.name, int(p.lower), int(p.upper)))
        else:
            params.append(ContinuousParameter(p.name, float(p.lower), float(p.upper)))
    return SearchSpace(params)


def to_points(task: FunctionTask, designs: pd.DataFrame) -> np.ndarray:
    r"""Designs (parameter columns, categorical level objects) -> ``k x d`` points of ``task.space``."""
    cols = []
    for p in task.problem.parameters:
        values = designs[p.name].to_numpy()
        if p.kind == "categorical":
            cols.append(p.level_indices(values).astype(np.float64))
        else:
            cols.append(np.asarray(values, dtype=np.float64))
    return np.column_stack(cols)


class Fusion(Method):
    r"""The fusion optimiser (see the module docstring for the options)."""

    name = "fusion"
    supports_checkpoint = True

    def __init__(self, preset: str = "default", n_threads: int = 1, **options: Any) -> None:
        from axfusion.settings import preset as make_preset

        fixed = sorted({"batch_size", "budget_iterations", "loop.batch_size", "loop.budget_iterations"} & set(options))
        if fixed:
            raise TypeError(f"fusion: {fixed} come from the task; set them with --batch / --iterations.")
        try:
            make_preset(preset, options)  # fail early on unknown options or values
        except ValueError as err:
            raise TypeError(f"fusion: {err}") from err
        super().__init__(preset=preset, n_threads=n_threads, **options)
        self.preset = preset
        self.n_threads = int(n_threads)
        self.fusion_options = dict(options)
        self.optimizer: Any = None

    def diagnostics(self) -> list[dict[str, Any]]:
        if self.optimizer is None:
            return []
        return [r.as_dict() for r in self.optimizer.records]

    def settings(self, task: Task, box: bool) -> Any:
        r"""The run's settings: the preset, the box defaults (boxes with the default preset),
        the user's options and the task's batch size and budget."""
        from axfusion.settings import preset as make_preset

        defaults = BOX_DEFAULTS if box and self.preset == "default" else {}
        budget = {"loop.batch_size": task.batch_size, "loop.budget_iterations": task.n_iterations}
        return make_preset(self.preset, {**defaults, **self.fusion_options, **budget})

    def _start(
        self, candidates: Any, task: Task, evaluator: Evaluator, directions: list[str], target_names: list[str]
    ) -> bool:
        r"""Set :attr:`optimizer`: continued from the checkpoint's campaign (returns ``True``:
        it holds the evaluator's history already), else a new one (``False``)."""
        from axfusion.campaign import FusionOptimizer

        saved = ((self.checkpoint.resumed or {}).get("method") or {}) if self.checkpoint is not None else {}
        if "campaign" in saved:
            self.optimizer = FusionOptimizer.from_state_dict(
                saved["campaign"], candidates, label=f"checkpoint {self.checkpoint.path.name}"
            )
            n = len(self.optimizer.state.observations)
            if n != evaluator.n_evaluated:
                raise RuntimeError(
                    f"{self.checkpoint.path}: the campaign holds {n} measurements, the history "
                    f"{evaluator.n_evaluated}; delete the checkpoint to start the run afresh."
                )
            return True
        box = isinstance(task, FunctionTask)
        self.optimizer = FusionOptimizer(
            candidates, directions, target_names=target_names, settings=self.settings(task, box=box),
            seed=evaluator.seed,
        )
        return False

    def _saved(self, evaluator: Evaluator) -> None:
        r"""After a measured batch: the checkpoint, when the runner gave one."""
        if self.checkpoint is not None:
            self.checkpoint.save(evaluator, {"campaign": self.optimizer.state_dict()})

    def run(self, task: Task, evaluator: Evaluator) -> None:
        self.optimizer = None
        with limited_threads(self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator.tick()
            if isinstance(task, PoolTask):
                from axfusion.candidates import CandidatePool

                pool = CandidatePool.from_array(task.X)
                pool.column_scale = task.column_scale  # categorical columns: levels one unit apart
                pool.column_groups = task.column_groups
                directions, names = list(task.directions or ["maximize"]), list(task.targets or ["y"])
                if not self._start(pool, task, evaluator, directions, names):
                    self.optimizer.observe(ids=evaluator.rows, Y=evaluator.Y)
                opt = self.optimizer
                while True:
                    rows = opt.suggest(task.batch_size).row_ids.astype(np.int64)
                    evaluator.evaluate_rows(rows)
                    opt.observe(ids=rows, Y=evaluator.Y[-rows.size :])
                    self._saved(evaluator)
            elif isinstance(task, FunctionTask):
                space = search_space(task.problem)
                if not self._start(space, task, evaluator, ["minimize"], ["loss"]):
                    self.optimizer.observe(X=task.designs(evaluator.X), Y=evaluator.Y)
                opt = self.optimizer
                while True:
                    s = opt.suggest(task.batch_size)
                    X = to_points(task, s.table[list(space.names)])
                    n_before = evaluator.n_evaluated
                    evaluator.evaluate(X)
                    opt.observe(X=task.designs(evaluator.X[n_before:]), Y=evaluator.Y[n_before:])
                    self._saved(evaluator)
            else:
                raise TypeError(f"fusion cannot run a {type(task).__name__}.")


register_method("fusion", Fusion)


def _default_families() -> tuple[str, ...]:
    from axfusion.models import DEFAULT_FAMILIES

    return tuple(DEFAULT_FAMILIES)


def _tier(name: str) -> tuple[str, ...]:
    from axfusion.models import DEFAULT_FAMILIES, get_family

    return tuple(f for f in DEFAULT_FAMILIES if get_family(f).tier == name)


#: Ablations of the method, run by ``axfusion bench`` as ``fusion:<variant>``: a preset and
#: options of the settings tree (docs/method.md names what each switch does).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "no_stage0": ("default", {"stage0.limit_capacity": False}),
    "model_only": ("default", {"stage3.fusion.use_fusion_channel": False}),
    "fusion_only": ("default", {"stage3.fusion.use_model_channel": False}),
    "kf_only": ("default", {"stage3.fusion.kalman.weights": "kf"}),
    "rkf_only": ("default", {"stage3.fusion.kalman.weights": "rkf"}),
    "r2_channel": ("default", {"stage3.fusion.kalman.channels": "r2"}),
    "no_pi": ("default", {"stage2.structure.pi_range": (1.0, 1.0)}),
    "no_structure": ("default", {"stage2.structure.enabled": False}),
    "no_diversity": ("default", {"stage3.batch.diversity_check": False}),
    "no_bandwidth": ("default", {"stage3.batch.cluster_bandwidth": False}),
    "no_bias": ("default", {"stage1.target_bias": False}),
    "paper": ("paper", {}),
    "authors_code": ("authors_code", {}),
    "qlognei": ("default", {"stage3.acquisition": "qlognei"}),
    "uniform_families": ("default", {"stage3.fusion.family_weighting": "uniform"}),
    "ahead_families": ("default", {"stage3.fusion.family_weighting": "ahead"}),
    "rotate_families": ("default", {"stage3.batch.family_order": "rotate"}),
    "probable_families": ("default", {"stage3.batch.family_order": "probability"}),
    "hit_coverage": ("default", {"stage3.batch.family_rule": "coverage"}),
    "no_trust_region": ("default", {"stage3.batch.trust_region_share": 0.0}),
    "trust_region_only": ("default", {"stage3.batch.trust_region_share": 1.0}),
    "winsorize": ("default", {"stage1.winsorize": 1.5}),
    "trust_region_gp": ("default", {"stage3.batch.trust_region_model": "gp"}),
    "adaptive_trust_region": ("default", {"stage3.batch.trust_region_adaptive": True}),
    "fixed_trust_region": ("default", {"stage3.batch.trust_region_adaptive": False}),
    "pool_gp": ("default", {"stage3.batch.pool_gp_share": 0.1}),
    "no_explore_levels": ("default", {"stage3.batch.explore_levels": False}),
    "new_levels": ("default", {"stage3.batch.new_level_share": 0.5}),
    "level_cap": ("default", {"stage3.batch.level_cap": 0.3}),
    "level_spread": ("default", {"stage3.fusion.level_spread": 1.0}),
    "no_level_spread": ("default", {"stage3.fusion.level_spread": 0.0}),
    "stall_explore": ("default", {"stage3.batch.stall_explore_share": 0.6}),
    "stall_coverage": ("default", {"stage3.batch.stall_coverage": True}),
    "no_stall_coverage": ("default", {"stage3.batch.stall_coverage": False}),
    "stall_leads": ("default", {"stage3.batch.stall_leads": True}),
    "no_stall_leads": ("default", {"stage3.batch.stall_leads": False}),
    "leads_anytime": ("default", {"stage3.batch.leads_anytime": True}),
    "fused_draws": ("default", {"stage3.batch.fused_draws": True}),
    "no_explore": ("default", {"stage3.batch.explore_share": 0.0}),
    "no_family_slots": ("default", {"stage3.batch.family_share": 0.0}),
    "family_first_slots": ("default", {"stage3.batch.box_slot_order": "family_first"}),
    "calibrated_std": ("default", {"stage1.calibrate_std": "widen"}),
    "relative_std": ("default", {"stage1.calibrate_std": "relative"}),
    "ahead_family_slots": ("default", {"stage3.batch.family_order": "ahead"}),
    "trust_region_gp_polish": (
        "default", {"stage3.batch.trust_region_model": "gp", "stage2.box.trust_region_polish": 3}
    ),
    "with_gp_ard": ("default", {"stage1.families": (*_default_families(), "gp_ard")}),
    "with_random_forest": ("default", {"stage1.families": (*_default_families(), "random_forest")}),
    "tier=low": ("default", {"stage1.families": _tier("low")}),
    "tier=medium": ("default", {"stage1.families": _tier("medium")}),
    "tier=high": ("default", {"stage1.families": _tier("high")}),
}


def _register_variants() -> None:
    r"""Register ``fusion:<variant>`` for every ablation and ``fusion:family=<name>`` for every
    registered surrogate family."""
    from axfusion.models import list_families

    variants = dict(VARIANTS)
    variants.update({f"family={name}": ("default", {"stage1.families": (name,)}) for name in list_families()})
    for name, (preset, options) in variants.items():

        def factory(_preset: str = preset, _options: dict[str, Any] = options, **user: Any) -> Fusion:
            return Fusion(preset=user.pop("preset", _preset), **{**_options, **user})

        register_method(f"fusion:{name}", factory, overwrite=True)


_register_variants()
