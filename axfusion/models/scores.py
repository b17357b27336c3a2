r"""Out-of-bag scores and family reliability (Stage 1).

Per member ``b`` on its out-of-bag (OOB) rows (docs/method.md):

- ``R2_b = max(1e-8, 1 - SS_res / (SS_tot + 1e-4))``;
- ``sigma_b``: the member's own predictive std where it has one, else the std
  of its OOB residuals, floored at 0.03 (standardised units);
- ``ELPD_b = sum_i log StudentT(r_i; 0, s)`` with ``s = sigma_b sqrt((nu-2)/nu)``
  and ``nu`` from a grid, chosen to maximise it;
- ``MAD2_b = (MAD / 0.6745)^2`` of the OOB residuals.

Per family ``m``: accuracy ``s_m = max(0, mean R2 - 0.01 B/(B-1) std R2)``,
calibration ``e_m = min(1, exp(ELPD per point - 1))`` and the structural trend
score ``S_m`` (:func:`structural_trend`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "FamilyScore",
    "MemberScore",
    "family_score",
    "member_score",
    "structural_trend",
]

#: Degrees of freedom searched for the Student-t ELPD.
NU_GRID: tuple[float, ...] = (2.5, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 30.0, 1000.0)


@dataclass(frozen=True)
class MemberScore:
    r"""OOB scores of one member for one target (standardised units)."""

    r2: float
    sigma: float
    elpd: float
    elpd_per_point: float
    nu: float
    mad2: float
    n_oob: int


@dataclass(frozen=True)
class FamilyScore:
    r"""Reliability of one family for one target.

    Attributes:
        accuracy: ``s_m`` (R² channel).
        calibration: ``e_m`` (ELPD channel).
        trend: ``S_m`` in [0, 1].
        r2_mean, r2_std: Mean and std of the members' OOB R².
        elpd_per_point: Mean OOB ELPD per point.
        mad2: Mean OOB ``MAD²`` (the Kalman measurement-noise proxy).
        n_members: Members that fitted.
        flat: Whether the family's prediction is flat (scores down-weighted).
        base_accuracy, base_calibration: ``s_m`` and ``e_m`` before the flat
            down-weighting (the fusion acquisition judges flatness on the candidates
            itself and applies its own factor once).
    """

    accuracy: float
    calibration: float
    trend: float
    r2_mean: float
    r2_std: float
    elpd_per_point: float
    mad2: float
    n_members: int
    flat: bool = False
    base_accuracy: float = float("nan")
    base_calibration: float = float("nan")

    @property
    def reliability(self) -> float:
        r"""Scalar reliability ``(s_m + e_m) / 2`` used to weight members."""
        return 0.5 * (self.accuracy + self.calibration)

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "accuracy": self.accuracy,
            "calibration": self.calibration,
            "trend": self.trend,
            "r2_mean": self.r2_mean,
            "r2_std": self.r2_std,
            "elpd_per_point": self.elpd_per_point,
            "mad2": self.mad2,
            "n_members": self.n_members,
            "flat": self.flat,
            "reliability": self.reliability,
        }


def member_score(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    own_std: np.ndarray | None = None,
    *,
    sigma_floor: float = 0.03,
    r2_floor: float = 1e-8,
    ss_tot_jitter: float = 1e-4,
    nu_grid: Sequence[float] = NU_GRID,
) -> MemberScore:
    r"""OOB scores of one member.

    Args:
        y_true: ``k`` OOB targets (standardised).
        y_pred: ``k`` predictions.
        own_std: ``k`` own predictive stds, or ``None``.
        sigma_floor: Floor of the predictive scale.
        r2_floor: Floor of R².
        ss_tot_jitter: Added to the total sum of squares.
        nu_grid: Student-t degrees of freedom to search.

    Returns:
        The :class:`MemberScore`.
    """
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError("member_score needs equally long, non-empty y_true and y_pred.")
    r = y_true - y_pred
    ss_res = float(np.sum(r**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = max(r2_floor, 1.0 - ss_res / (ss_tot + ss_tot_jitter))
    if own_std is not None:
        sigma = np.maximum(np.asarray(own_std, dtype=np.float64).reshape(-1), sigma_floor)
    else:
        sigma = np.full_like(r, max(float(r.std()), sigma_floor))
    best_elpd, best_nu = -np.inf, float(nu_grid[0])
    for nu in nu_grid:
        scale = sigma * np.sqrt((nu - 2.0) / nu)
        elpd = float(np.sum(stats.t.logpdf(r, df=nu, loc=0.0, scale=scale)))
        if elpd > best_elpd:
            best_elpd, best_nu = elpd, float(nu)
    mad = float(np.median(np.abs(r - np.median(r))))
    return MemberScore(
        r2=r2,
        sigma=float(np.mean(sigma)),
        elpd=best_elpd,
        elpd_per_point=best_elpd / r.size,
        nu=best_nu,
        mad2=(mad / 0.6745) ** 2,
        n_oob=int(r.size),
    )


def family_score(
    members: Sequence[MemberScore],
    *,
    trend: float = 1.0,
    flat: bool = False,
    stability_penalty: float = 0.01,
    flat_factor: float = 0.01,
) -> FamilyScore:
    r"""Aggregate member scores into the family's reliability.

    Args:
        members: OOB scores of the family's fitted members (at least one).
        trend: Structural trend score ``S_m`` (see :func:`structural_trend`).
        flat: Whether the family's prediction is flat; its accuracy and
            calibration are multiplied by ``flat_factor`` and its trend set to 0.
        stability_penalty: Weight of the R² spread (``0.01`` in docs/method.md).
        flat_factor: Down-weighting of a flat family.

    Returns:
        The :class:`FamilyScore`.
    """
    if not members:
        raise ValueError("family_score needs at least one member score.")
    r2 = np.array([m.r2 for m in members])
    b = r2.size
    r2_std = float(r2.std(ddof=1)) if b > 1 else 0.0
    penalty = stability_penalty * b / (b - 1) * r2_std if b > 1 else 0.0
    accuracy = max(0.0, float(r2.mean()) - penalty)
    elpd_pp = float(np.mean([m.elpd_per_point for m in members]))
    calibration = float(min(1.0, np.exp(elpd_pp - 1.0)))
    base_accuracy, base_calibration = accuracy, calibration
    if flat:
        accuracy *= flat_factor
        calibration *= flat_factor
        trend = 0.0
    return FamilyScore(
        accuracy=accuracy,
        calibration=calibration,
        trend=float(np.clip(trend, 0.0, 1.0)),
        r2_mean=float(r2.mean()),
        r2_std=r2_std,
        elpd_per_point=elpd_pp,
        mad2=float(np.mean([m.mad2 for m in members])),
        n_members=b,
        flat=flat,
        base_accuracy=base_accuracy,
        base_calibration=base_calibration,
    )


def _principal_axes(Z: np.ndarray, n_axes: int) -> np.ndarray:
    Zc = Z - Z.mean(axis=0)
    _, _, vt = np.linalg.svd(Zc, full_matrices=False)
    return Zc @ vt[:n_axes].T


def _binned_path(order_key: np.ndarray, values: np.ndarray, n_bins: int) -> np.ndarray:
    order = np.argsort(order_key, kind="stable")
    chunks = np.array_split(values[order], min(n_bins, values.size))
    return np.array([c.mean() for c in chunks if c.size])


def _smooth(path: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, path.size))
    kernel = np.ones(window) / window
    padded = np.pad(path, (window // 2, window - 1 - window // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def structural_trend(
    Z: np.ndarray,
    family_means: np.ndarray,
    *,
    n_bins: int = 32,
    smooth_fraction: float = 0.25,
    flat_tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Structural trend score ``S_m`` of each family on a point set.

    The points are ordered along their first and second principal axes; along
    each path the family's mean prediction is averaged in ``n_bins`` bins and
    split into a smooth trend (moving average over ``smooth_fraction`` of the
    bins) and a residual; ``S_m = mean over paths of 1 - Var(residual)/Var(path)``.

    Args:
        Z: ``k x d`` points (e.g. standardised candidates).
        family_means: ``M x k`` mean prediction of each family.
        n_bins: Bins along each path.
        smooth_fraction: Width of the moving-average window, as a share of bins.
        flat_tol: A family whose prediction std is below this is *flat*.

    Returns:
        ``(S, flat)``: ``M`` trend scores in [0, 1] and ``M`` flat flags.
    """
    Z = np.asarray(Z, dtype=np.float64)
    F = np.atleast_2d(np.asarray(family_means, dtype=np.float64))
    if F.shape[1] != Z.shape[0]:
        raise ValueError(f"family_means has {F.shape[1]} points but Z has {Z.shape[0]}.")
    flat = F.std(axis=1) < flat_tol
    if Z.shape[0] < 4:
        return np.where(flat, 0.0, 1.0), flat
    axes = _principal_axes(Z, min(2, Z.shape[1]))
    window = max(1, int(round(smooth_fraction * n_bins)))
    S = np.zeros(F.shape[0])
    for m in range(F.shape[0]):
        if flat[m]:
            continue
        ratios = []
        for a in range(axes.shape[1]):
            path = _binned_path(axes[:, a], F[m], n_bins)
            var = path.var()
            if var <= 0:
                continue
            resid = path - _smooth(path, window)
            ratios.append(1.0 - resid.var() / var)
        S[m] = float(np.clip(np.mean(ratios), 0.0, 1.0)) if ratios else 0.0
    return S, flat
