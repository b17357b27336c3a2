r"""Kalman-style fusion of the surrogate families: KF and reverse KF (rKF).

Per family ``m`` and candidate ``x`` (docs/method.md, Stage 3):

- prediction variance ``P_m = sigma_m^2``; measurement noise
  ``R_m = max(MAD2_m - median_x P_m, 1e-9)`` from the OOB residuals;
  ``S = P + R``, gain ``K = P / S``;
- KF weights ``w_KF = 0.9 (1/S) / sum_m (1/S) + 0.1/M`` (trust the precise);
- rKF weights ``w_rKF = 0.9 K / sum_m K + 0.1/M`` (favour the families that are
  uncertain here: informative disagreement);
- ``beta = mean R/(P + R)``, ``lambda = clip(beta mean_m S_m, 0.01, 1)``;
- deviation ratio of a score channel ``D = mean(s_hat) std(s_hat)`` with
  ``s_hat = scores / max score``;
- ``F_c = sum_m c_m [(1 - D_c) w_KF + D_c (1 + lambda) w_rKF] mu_m`` for the
  channels ``c`` = R^2 (scores ``s_m``) and ELPD (scores ``e_m``);
  ``F = (F_R2 + F_ELPD) / 2`` (the paper; ``channels="r2"`` follows the code).

With both deviation ratios at 0 the fusion is pure KF.
"""

from __future__ import annotations

import numpy as np

from axfusion.settings import KalmanConfig

__all__ = [
    "KalmanConfig",
    "deviation_ratio",
    "fusion_channel",
    "kalman_weights",
    "measurement_noise",
    "rkf_strength",
]


def measurement_noise(mad2: np.ndarray, P: np.ndarray, config: KalmanConfig = KalmanConfig()) -> np.ndarray:
    r"""``R_m = max(MAD2_m - median_x P_m, floor)``.

    Args:
        mad2: ``M`` OOB robust residual variances.
        P: ``M x k`` prediction variances on the candidate set.

    Returns:
        ``M`` measurement noises.
    """
    return np.maximum(np.asarray(mad2, dtype=np.float64) - np.median(P, axis=1), config.noise_floor)


def kalman_weights(
    P: np.ndarray,
    R: np.ndarray,
    config: KalmanConfig = KalmanConfig(),
    family_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""KF and rKF weights over the families at each candidate.

    Args:
        P: ``M x k`` prediction variances.
        R: ``M`` measurement noises.
        family_weights: ``M`` weights summing to one; when given, both weight sets
            are multiplied by them and renormalised per candidate (``None``: the
            paper's weights).

    Returns:
        ``(w_kf, w_rkf)``, each ``M x k``; every column sums to one.
    """
    M = P.shape[0]
    S = P + np.asarray(R)[:, None]
    inv = 1.0 / S
    K = P / S
    mix = config.gain_mix
    w_kf = mix * inv / inv.sum(axis=0, keepdims=True) + (1.0 - mix) / M
    k_sum = K.sum(axis=0, keepdims=True)
    w_rkf = mix * np.where(k_sum > 0, K / np.maximum(k_sum, 1e-300), 1.0 / M) + (1.0 - mix) / M
    if family_weights is not None:
        omega = np.asarray(family_weights, dtype=np.float64)[:, None]
        w_kf, w_rkf = omega * w_kf, omega * w_rkf
        w_kf = w_kf / w_kf.sum(axis=0, keepdims=True)
        w_rkf = w_rkf / w_rkf.sum(axis=0, keepdims=True)
    return w_kf, w_rkf


def rkf_strength(P: np.ndarray, R: np.ndarray, trend: np.ndarray, config: KalmanConfig = KalmanConfig()) -> float:
    r"""``lambda = clip(beta mean_m S_m)`` with ``beta = mean R/(P + R)``."""
    beta = float(np.mean(np.asarray(R)[:, None] / (P + np.asarray(R)[:, None])))
    return float(np.clip(beta * float(np.mean(trend)), *config.lambda_range))


def deviation_ratio(scores: np.ndarray) -> float:
    r"""``mean(s_hat) std(s_hat)`` with ``s_hat = scores / max(scores)`` (0 if all zero)."""
    s = np.asarray(scores, dtype=np.float64)
    top = s.max() if s.size else 0.0
    if not top > 0:
        return 0.0
    sh = s / top
    return float(sh.mean() * sh.std())


def fusion_channel(
    mu: np.ndarray,
    w_kf: np.ndarray,
    w_rkf: np.ndarray,
    scores: np.ndarray,
    deviation: float,
    lam: float,
) -> np.ndarray:
    r"""One score channel of the fusion: ``sum_m c_m [(1-D) w_KF + D (1+lambda) w_rKF] mu_m``.

    Args:
        mu: ``M x k`` family means.
        w_kf, w_rkf: ``M x k`` weights from :func:`kalman_weights`.
        scores: ``M`` channel scores (``s_m`` or ``e_m``).
        deviation: The channel's deviation ratio ``D``.
        lam: ``lambda`` from :func:`rkf_strength`.

    Returns:
        ``k`` fused values.
    """
    c = np.asarray(scores, dtype=np.float64)[:, None]
    w = (1.0 - deviation) * w_kf + deviation * (1.0 + lam) * w_rkf
    return (c * w * mu).sum(axis=0)
