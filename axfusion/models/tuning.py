r"""Per-family hyper-parameter choice inside the Stage-0 caps (Stage 1).

docs/method.md asks for hyper-parameters chosen per family by out-of-bag error on
one target-biased resample, then fixed for the family's members; and for a
search an order of magnitude cheaper than the authors' (20 Optuna trials x 5
folds): a small grid (at most ``max_settings`` settings from the family's
:meth:`~axfusion.models.families.SurrogateFamily.param_grid`), each fitted
once on the resample and scored on its OOB rows, warm-started across
iterations by :class:`TuningState`, which re-tunes a family only when d_eff or
the capacity ``C`` changed by more than a named tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axfusion.capacity import CapacityCaps
from axfusion.models.families import SurrogateFamily, fit_quietly, grid_size_cap

__all__ = ["TuningRecord", "TuningState", "choose_params"]


@dataclass(frozen=True)
class TuningRecord:
    r"""The setting chosen for one (family, target) and where it was chosen."""

    params: dict[str, Any]
    oob_rmse: float
    d_eff: int
    capacity: int
    n_settings: int


@dataclass
class TuningState:
    r"""Warm-start memory of tuned settings across campaign iterations.

    Args:
        capacity_tolerance: Re-tune when ``|C - C_prev| / C_prev`` exceeds this.
        d_eff_tolerance: Re-tune when ``|d_eff - d_eff_prev|`` exceeds this.
    """

    capacity_tolerance: float = 0.5
    d_eff_tolerance: int = 1
    records: dict[tuple[str, int], TuningRecord] = field(default_factory=dict)

    def lookup(self, family: str, target: int, d_eff: int, capacity: int) -> TuningRecord | None:
        r"""A still-valid record for ``(family, target)``, else ``None``."""
        rec = self.records.get((family, target))
        if rec is None:
            return None
        if abs(d_eff - rec.d_eff) > self.d_eff_tolerance:
            return None
        if abs(capacity - rec.capacity) > self.capacity_tolerance * max(rec.capacity, 1):
            return None
        return rec

    def as_dict(self) -> dict[str, Any]:
        return {
            f"{fam}[{t}]": {"params": _jsonable(r.params), "oob_rmse": r.oob_rmse}
            for (fam, t), r in self.records.items()
        }


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def choose_params(
    family: SurrogateFamily,
    X: np.ndarray,
    y: np.ndarray,
    sample: np.ndarray,
    caps: CapacityCaps,
    *,
    seed: int,
    max_settings: int = 4,
) -> tuple[dict[str, Any], float, int]:
    r"""Pick the family's setting with the lowest OOB error on one resample.

    Args:
        family: The surrogate family.
        X: ``n x d`` standardised training inputs.
        y: ``n`` standardised targets.
        sample: ``n`` row indices of the (target-biased) resample.
        caps: Stage-0 caps bounding the grid.
        seed: Seed for the estimators.
        max_settings: Largest number of settings tried.

    Returns:
        ``(params, oob_rmse, n_settings)``. With a single setting nothing is
        fitted and ``oob_rmse`` is NaN.
    """
    n_unique = int(np.unique(sample).size)
    grid = grid_size_cap(family.param_grid(caps, n_unique, X.shape[1]), max_settings)
    if len(grid) == 1:
        return grid[0], float("nan"), 1
    oob = np.ones(X.shape[0], dtype=bool)
    oob[sample] = False
    if not oob.any():
        return grid[0], float("nan"), len(grid)
    best, best_err = grid[0], np.inf
    for params in grid:
        try:
            est = fit_quietly(family.build(params, seed), X[sample], y[sample])
            pred, _ = family.predict(est, X[oob])
            err = float(np.sqrt(np.mean((pred - y[oob]) ** 2)))
        except Exception:  # a setting that cannot fit is skipped
            continue
        if np.isfinite(err) and err < best_err:
            best, best_err = params, err
    return best, float(best_err), len(grid)
