r"""What an Ax experiment has measured, arm by arm, in the fusion's terms.

:func:`collect_observations` reads the trials and data of an Ax ``Experiment`` and
returns one row per distinct arm (by signature), in order of first appearance:

- arms of ``COMPLETED`` and ``EARLY_STOPPED`` trials with every metric the targets
  need are measurements (repeated measurements of one arm are averaged);
- arms of ``FAILED`` and ``ABANDONED`` trials, and completed arms missing a needed
  metric, are failed measurements: the fusion does not model them and does not
  propose them again (``include_failed=False`` leaves them out altogether, so that
  they may be proposed again);
- arms of ``CANDIDATE``, ``STAGED`` and ``RUNNING`` trials are pending; Ax hands them to
  the generation node as pending points, so they are not collected here.

Each arm also carries the fusion iteration that proposed it (0 for arms from other
nodes or attached by hand), read from the candidate metadata the fusion node writes on
its generator runs.

Metric means are rounded to :data:`STORED_DECIMALS` decimals, the precision Ax's JSON
and SQL storage keep (pandas' ``to_json`` default), so that an experiment reloaded from
storage is modelled on exactly the numbers the original was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ax.core.data import Data
from ax.core.experiment import Experiment
from ax.core.trial_status import TrialStatus

from axfusion.ax.objectives import TargetSpec, metric_names, target_values

__all__ = [
    "FUSION_ITERATION",
    "STORED_DECIMALS",
    "ObservationTable",
    "collect_observations",
    "fusion_iterations",
]

#: Key of the candidate metadata in which the fusion node records its iteration.
FUSION_ITERATION = "fusion_iteration"

#: Decimals of a metric mean that survive Ax's storage.
STORED_DECIMALS = 10

_MEASURED = (TrialStatus.COMPLETED, TrialStatus.EARLY_STOPPED)
_FAILED = (TrialStatus.FAILED, TrialStatus.ABANDONED)


@dataclass(frozen=True)
class ObservationTable:
    r"""Distinct measured arms of an experiment.

    Attributes:
        parameters: ``k`` Ax parameterizations.
        Y: ``k x m`` target values (rows of failed arms are NaN).
        failed: ``k`` flags of failed measurements.
        iteration: ``k`` fusion iterations that proposed the arms (0 = not the fusion).
        n_missing: Completed arms counted as failed because a needed metric is missing.
    """

    parameters: list[dict[str, Any]]
    Y: np.ndarray
    failed: np.ndarray
    iteration: np.ndarray
    n_missing: int

    @property
    def n_successful(self) -> int:
        return int((~self.failed).sum())


#: Candidate-metadata key of the DE generations a time budget decided (boxes).
BOX_GENERATIONS = "box_generations"


def fusion_iterations(experiment: Experiment) -> dict[str, int]:
    r"""Arm signature -> fusion iteration, from the candidate metadata of every
    generator run of the experiment."""
    out: dict[str, int] = {}
    for trial in experiment.trials.values():
        for gr in trial.generator_runs:
            meta = gr.candidate_metadata_by_arm_signature or {}
            for signature, cand in meta.items():
                if cand and FUSION_ITERATION in cand:
                    out[signature] = int(cand[FUSION_ITERATION])
    return out


def recorded_box_generations(experiment: Experiment) -> int | None:
    r"""The DE generations that the fusion's first box iteration recorded (its time budget's
    decision, stored with every arm it proposed afterwards), or ``None``."""
    found = [
        int(cand[BOX_GENERATIONS])
        for trial in experiment.trials.values()
        for gr in trial.generator_runs
        for cand in (gr.candidate_metadata_by_arm_signature or {}).values()
        if cand and cand.get(BOX_GENERATIONS) is not None
    ]
    return min(found) if found else None


def _metric_means(data: Data, metrics: Sequence[str]) -> pd.DataFrame:
    r"""Frame indexed by ``(trial_index, arm_name)`` with one column of means per metric."""
    df = data.df
    if df.empty:
        empty_index = pd.MultiIndex.from_tuples([], names=["trial_index", "arm_name"])
        return pd.DataFrame(columns=list(metrics), index=empty_index)
    df = df[df["metric_name"].isin(list(metrics))]
    wide = df.pivot_table(index=["trial_index", "arm_name"], columns="metric_name", values="mean", aggfunc="last")
    for m in metrics:
        if m not in wide:
            wide[m] = np.nan
    return wide[list(metrics)].round(STORED_DECIMALS)


def collect_observations(
    experiment: Experiment,
    data: Data,
    specs: Sequence[TargetSpec],
    *,
    include_failed: bool = True,
) -> ObservationTable:
    r"""Distinct measured arms of ``experiment`` with their target values.

    Args:
        experiment: The Ax experiment.
        data: Its data (``experiment.lookup_data()``).
        specs: The targets (:func:`~axfusion.ax.objectives.targets_from_config`).
        include_failed: Keep failed arms (as failed measurements).

    Returns:
        The :class:`ObservationTable`.
    """
    metrics = metric_names(specs)
    means = _metric_means(data, metrics)
    iterations = fusion_iterations(experiment)
    order: list[str] = []
    params: dict[str, dict[str, Any]] = {}
    values: dict[str, list[np.ndarray]] = {}
    failed_seen: set[str] = set()
    n_missing = 0
    keys: list[tuple[int, str]] = []
    signatures: list[str] = []
    for index in sorted(experiment.trials):
        trial = experiment.trials[index]
        status = trial.status
        if status not in _MEASURED and status not in _FAILED:
            continue
        for arm in trial.arms:
            if arm.signature not in params:
                order.append(arm.signature)
                params[arm.signature] = dict(arm.parameters)
            if status in _FAILED:
                if include_failed:
                    failed_seen.add(arm.signature)
                continue
            keys.append((index, arm.name))
            signatures.append(arm.signature)
    if keys:
        frame = means.reindex(pd.MultiIndex.from_tuples(keys, names=["trial_index", "arm_name"]))
        Y_rows = target_values(specs, frame.reset_index(drop=True))
        for signature, y in zip(signatures, Y_rows):
            if np.isfinite(y).all():
                values.setdefault(signature, []).append(y)
            else:
                n_missing += 1
                if include_failed:
                    failed_seen.add(signature)
    m = len(specs)
    rows, Y, failed, its = [], [], [], []
    for signature in order:
        if signature in values:
            y = np.mean(values[signature], axis=0)
            f = False
        elif signature in failed_seen:
            y = np.full(m, np.nan)
            f = True
        else:
            continue
        rows.append(params[signature])
        Y.append(y)
        failed.append(f)
        its.append(iterations.get(signature, 0))
    return ObservationTable(
        parameters=rows,
        Y=np.asarray(Y, dtype=np.float64).reshape(-1, m),
        failed=np.asarray(failed, dtype=bool),
        iteration=np.asarray(its, dtype=np.int64),
        n_missing=n_missing,
    )
