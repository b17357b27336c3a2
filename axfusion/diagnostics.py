r"""One diagnostics record per iteration of a campaign.

:class:`IterationRecord` carries every quantity docs/method.md's "Diagnostics" lists
(the paper's Fig. 2, 3 and 5 panels are drawn from them) from the loop to the
reports, as plain JSON-serialisable values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["IterationRecord", "jsonable"]


def jsonable(obj: Any, fallback: Callable[[Any], Any] | None = None) -> Any:
    r"""Recursively convert to JSON-safe values.

    Mappings become dicts with string keys, tuples lists, numpy scalars and arrays
    Python values, NaN/inf and pandas' missing markers ``None``, objects with an
    ``as_dict()`` their dict. Anything else is returned as is, or passed to
    ``fallback`` (e.g. ``str``) when given.
    """
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, fallback) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, fallback) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), fallback)
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return None if (math.isnan(v) or math.isinf(v)) else v
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "as_dict"):
        return jsonable(obj.as_dict(), fallback)
    return fallback(obj) if fallback is not None else obj


@dataclass
class IterationRecord:
    r"""Diagnostics of one iteration (one suggested batch).

    Attributes:
        iteration: 1-based iteration number.
        n_observed: Successful measurements the model was fitted on.
        best_so_far: Best oriented value per target before this batch.
        batch: Suggested pool row ids (pools) or design indices (boxes).
        batch_distance_to_best: Mean standardised distance of the batch to
            the best known point.
        best_distance_to_best: Distance of the batch's best-scored point to it.
        capacity: Stage-0 report (d_unsup, d_sup, d_est, d_eff, N_budget, C, caps).
        families: Per family and target: s_m, e_m, S_m, gamma_m, R_m, ...
        fusion: Per target: y*, kappa, lambda, D_R2, D_ELPD.
        diversity: The batch-selection diversity check values and decision.
        clusters: Batch cluster labels, per-cluster bandwidth and best value,
            the chosen clustering algorithm and score.
        intra_batch_distance: Mean pairwise distance within the batch.
        novelty: Mean k-NN distance of the batch to the previous three batches.
        timings: Wall seconds per stage.
        dropped_families: Families that failed to fit this iteration.
        batch_picks: Per pick of ``batch``, in order, what chose it: ``"utility"`` (the
            fused utility, or the ablation's acquisition), a family's name (a family slot)
            or the slot's kind (``"trust_region_gp"``, ``"exploration"``, ``"coverage"``,
            ``"lead"``, ...; :func:`axfusion.campaign.records.suggestion_table`'s reasons);
            empty in records written before it existed.
        trust_region: In a box with a trust region: its side ``length`` (share of each
            range), the trailing ``successes`` / ``failures`` and the ``restarts``.
    """

    iteration: int
    n_observed: int
    best_so_far: list[float]
    batch: list[Any]
    batch_distance_to_best: float
    best_distance_to_best: float
    capacity: dict[str, Any]
    families: dict[str, Any]
    fusion: dict[str, Any]
    diversity: dict[str, Any]
    clusters: dict[str, Any]
    intra_batch_distance: float
    novelty: float
    timings: dict[str, float]
    dropped_families: dict[str, str] = field(default_factory=dict)
    trust_region: dict[str, Any] = field(default_factory=dict)
    batch_picks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IterationRecord:
        return cls(**d)
