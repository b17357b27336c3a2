r"""Ax optimization configs as fusion targets.

Every objective and every outcome constraint of an Ax ``OptimizationConfig`` becomes
one :class:`TargetSpec`: a linear combination of Ax metrics (``sum_i w_i * metric_i``)
together with a :class:`~axfusion.acquisition.Target` saying what is wanted of it.

- Objective (Ax maximises its expression): a single metric ``m`` (``"m"`` or ``"-m"``)
  becomes ``Target.maximize``/``Target.minimize`` of ``m``; a scalarised objective
  (``"2*a + b"``) becomes ``Target.maximize`` of the combination.
- Multi-objective (``"a, -b"``): one target per sub-objective; the fusion scores the
  batch by its expected hypervolume improvement. Absolute objective thresholds, when
  every objective has one, are the hypervolume reference point.
- Outcome constraint ``c >= b`` / ``c <= b`` (also scalarised): an additional target
  with window semantics, ``Target.window(b, None)`` / ``Target.window(None, b)``.
  Oriented, it is ``-violation`` (0 when satisfied), so the reservoir models the
  constraint like any target and the multi-target score (expected hypervolume
  improvement over objectives and ``-violations``) prefers candidates predicted to
  improve the objectives while satisfying the constraints. This is the method's own
  treatment of target windows (docs/method.md), chosen over a feasibility weight so that
  constraints and objectives share one acquisition.

Relative constraints and thresholds (``"qps >= 0.95 * baseline"``) need a status-quo
arm and are not supported: they raise ``UnsupportedError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ax.core.optimization_config import OptimizationConfig
from ax.core.outcome_constraint import OutcomeConstraint
from ax.core.types import ComparisonOp
from ax.exceptions.core import UnsupportedError

from axfusion.acquisition import Target

__all__ = [
    "CONSTRAINT_SLACK",
    "TargetSpec",
    "metric_names",
    "reference_point",
    "target_values",
    "targets_from_config",
]

#: Share of a constraint's bound by which a design may miss it and still count towards
#: the hypervolume (reference point from objective thresholds).
CONSTRAINT_SLACK = 0.1


@dataclass(frozen=True)
class TargetSpec:
    r"""One fusion target built from Ax metrics.

    Attributes:
        name: Display name (the metric, or the Ax expression).
        weights: ``(metric name, weight)`` pairs; the target's value is
            ``sum_i weight_i * metric_i``.
        target: What is wanted of the value.
        role: ``"objective"`` or ``"constraint"``.
    """

    name: str
    weights: tuple[tuple[str, float], ...]
    target: Target
    role: str

    def value(self, means: pd.DataFrame) -> np.ndarray:
        r"""``k`` values of the target from a ``k x metrics`` frame of metric means (NaN
        where a metric is missing)."""
        out = np.zeros(len(means))
        for metric, w in self.weights:
            col = means[metric].to_numpy(dtype=np.float64) if metric in means else np.full(len(means), np.nan)
            out = out + w * col
        return out


def _sub_objectives(objective: object) -> list[list[tuple[str, float]]]:
    r"""Per sub-objective the ``(metric name, weight)`` pairs of an Ax objective.

    Ax 1.3 keeps them in ``Objective._parsed[1]`` (its own ``OptimizationConfig``
    reads them there); there is no public accessor.
    """
    parsed = getattr(objective, "_parsed", None)
    if parsed is None or len(parsed) != 2:
        raise UnsupportedError(f"Cannot read the sub-objectives of {objective!r}.")
    return [[(str(name), float(w)) for name, w in sub] for sub in parsed[1]]


def _constraint_weights(constraint: OutcomeConstraint) -> tuple[tuple[str, float], ...]:
    names = constraint.metric_names
    weights = [w for _, w in constraint.metric_weights]
    return tuple((str(n), float(w)) for n, w in zip(names, weights))


def _constraint_target(constraint: OutcomeConstraint, name: str) -> Target:
    bound = float(constraint.bound)
    if constraint.op == ComparisonOp.GEQ:
        return Target.window(bound, None, name=name)
    return Target.window(None, bound, name=name)


def targets_from_config(config: OptimizationConfig) -> list[TargetSpec]:
    r"""The fusion targets of an Ax optimization config (objectives first).

    Raises:
        UnsupportedError: for relative outcome constraints.
    """
    specs: list[TargetSpec] = []
    for sub in _sub_objectives(config.objective):
        if len(sub) == 1:
            metric, w = sub[0]
            kind = Target.maximize(metric) if w > 0 else Target.minimize(metric)
            specs.append(TargetSpec(metric, ((metric, 1.0),), kind, "objective"))
        else:
            name = " + ".join(f"{w:g}*{m}" for m, w in sub)
            specs.append(TargetSpec(name, tuple(sub), Target.maximize(name), "objective"))
    for constraint in config.outcome_constraints:
        if constraint.relative:
            raise UnsupportedError(
                f"Relative outcome constraint {constraint} is not supported by the fusion "
                "generation node; give an absolute bound."
            )
        name = str(getattr(constraint, "expression", constraint))
        specs.append(
            TargetSpec(name, _constraint_weights(constraint), _constraint_target(constraint, name), "constraint")
        )
    return specs


def reference_point(config: OptimizationConfig, specs: Sequence[TargetSpec]) -> list[float] | None:
    r"""The hypervolume reference point from absolute objective thresholds, in oriented
    units of ``specs`` (``None`` unless every target gets a coordinate).

    A constraint target (oriented: minus its violation, 0 when satisfied) gets the
    coordinate ``-(0.1 * |bound| + 1e-6)``, so that the hypervolume counts only designs
    that satisfy the constraint or miss it by less than 10 % of its bound. Without a
    threshold for every objective the reference point is left to the data.
    """
    thresholds = [t for t in config.objective_thresholds if not t.relative]
    by_metric: dict[str, OutcomeConstraint] = {}
    for t in thresholds:
        if len(t.metric_names) == 1:
            by_metric[t.metric_names[0]] = t
    ref: list[float] = []
    for spec in specs:
        if spec.role == "objective":
            if len(spec.weights) != 1 or spec.weights[0][0] not in by_metric:
                return None
            bound = float(by_metric[spec.weights[0][0]].bound)
            ref.append(bound if spec.target.kind == "maximize" else -bound)
        else:
            edge = spec.target.lower if spec.target.lower is not None else spec.target.upper
            assert edge is not None  # a constraint bounds its metric on at least one side
            bound = float(edge)
            ref.append(-(CONSTRAINT_SLACK * abs(bound) + 1e-6))
    return ref if ref else None


def metric_names(specs: Sequence[TargetSpec]) -> list[str]:
    r"""The Ax metrics the targets read, in first-use order."""
    out: list[str] = []
    for spec in specs:
        for metric, _ in spec.weights:
            if metric not in out:
                out.append(metric)
    return out


def target_values(specs: Sequence[TargetSpec], means: pd.DataFrame) -> np.ndarray:
    r"""``k x m`` target values from a ``k``-row frame of metric means (NaN where missing)."""
    if not specs:
        raise ValueError("No targets.")
    return np.column_stack([spec.value(means) for spec in specs])
