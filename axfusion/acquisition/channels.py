r"""The model channel: dual-channel SNR, exploration ratio gamma and A_model.

All arrays are in oriented (larger is better), standardised target units.
Shapes: ``M`` families, ``k`` candidates (per target).

Per family ``m`` (docs/method.md, Stage 3, code's formulas):

- ``sigma_eff = sqrt(sigma_m^2 + (0.5 std_m mu_m)^2 + 1e-6)``;
- ``p_pos`` = share of (family, candidate) with ``mu_m + sigma_m > y*``;
  ``kappa = min(3, 1 + 2 max(0, 0.10 - p_pos))``;
- ``margin = mu_m + kappa sigma_m - y*``,
  ``imp = 0.05 softplus(margin / 0.05) / (|y*| + 0.01)``, ``snr = imp / sigma_eff``;
- ``SNR_m = (peak + shoulder) / 2`` with ``peak = sum snr imp / sum imp`` and
  ``shoulder`` = mean snr over ``margin > 0``;
- ``gamma_m = sqrt(SNR_m S_m)`` clipped to [0, 1];
- ``A_model = (1/M) sum_m [gamma_m s_m + (1 - gamma_m) e_m] (mu_m + h sigma_m)``.
"""

from __future__ import annotations

import numpy as np

from axfusion.settings import ChannelConfig

__all__ = ["ChannelConfig", "exploration_ratio", "model_channel", "optimism", "softplus"]


def softplus(x: np.ndarray) -> np.ndarray:
    r"""Numerically stable ``log(1 + exp(x))``."""
    return np.logaddexp(0.0, x)


def optimism(mu: np.ndarray, sigma: np.ndarray, y_star: float, config: ChannelConfig = ChannelConfig()) -> float:
    r"""The optimism factor ``kappa`` from the share of optimistic predictions.

    Args:
        mu: ``M x k`` family means.
        sigma: ``M x k`` family stds.
        y_star: Best observed (oriented, standardised) value.

    Returns:
        ``kappa``.
    """
    p_pos = float(np.mean(mu + sigma > y_star))
    return kappa_from_share(p_pos, config)


def kappa_from_share(p_pos: float, config: ChannelConfig = ChannelConfig()) -> float:
    r"""``kappa = min(kappa_max, 1 + slope max(0, target - p_pos))``."""
    return float(min(config.kappa_max, 1.0 + config.kappa_slope * max(0.0, config.p_pos_target - p_pos)))


def _sigma_eff(mu: np.ndarray, sigma: np.ndarray, config: ChannelConfig) -> np.ndarray:
    spread = mu.std(axis=0, keepdims=True) if mu.shape[0] > 1 else np.zeros_like(mu[:1])
    return np.sqrt(sigma**2 + (config.disagreement_weight * spread) ** 2 + config.sigma_jitter)


def improvement(
    mu: np.ndarray, sigma: np.ndarray, y_star: float, kappa: float, config: ChannelConfig = ChannelConfig()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(margin, imp, snr)``, each ``M x k``."""
    margin = mu + kappa * sigma - y_star
    tau = config.softplus_temperature
    imp = tau * softplus(margin / tau) / (abs(y_star) + config.ystar_offset)
    snr = imp / _sigma_eff(mu, sigma, config)
    return margin, imp, snr


def exploration_ratio(
    mu: np.ndarray,
    sigma: np.ndarray,
    y_star: float,
    trend: np.ndarray,
    kappa: float,
    config: ChannelConfig = ChannelConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    r"""Dual-channel SNR and the exploration-exploitation ratio of each family.

    Args:
        mu: ``M x k`` family means over the candidate set.
        sigma: ``M x k`` family stds.
        y_star: Best observed value.
        trend: ``M`` structural trend scores ``S_m``.
        kappa: Optimism factor from :func:`optimism`.

    Returns:
        ``(snr, gamma)``: ``M``-vectors.
    """
    margin, imp, snr = improvement(mu, sigma, y_star, kappa, config)
    imp_sum = imp.sum(axis=1)
    peak = np.where(imp_sum > 0, (snr * imp).sum(axis=1) / np.maximum(imp_sum, 1e-300), 0.0)
    pos = margin > 0
    shoulder = np.where(pos.any(axis=1), (snr * pos).sum(axis=1) / np.maximum(pos.sum(axis=1), 1), 0.0)
    snr_m = 0.5 * (peak + shoulder)
    gamma = np.sqrt(np.maximum(snr_m * np.asarray(trend, dtype=np.float64), 0.0))
    if config.clip_gamma:
        gamma = np.clip(gamma, 0.0, 1.0)
    return snr_m, gamma


def model_channel(
    mu: np.ndarray,
    sigma: np.ndarray,
    accuracy: np.ndarray,
    calibration: np.ndarray,
    gamma: np.ndarray,
    config: ChannelConfig = ChannelConfig(),
    family_weights: np.ndarray | None = None,
) -> np.ndarray:
    r"""The reliability- and gamma-weighted UCB channel ``A_model``.

    Args:
        mu: ``M x k`` family means.
        sigma: ``M x k`` family stds.
        accuracy: ``M`` scores ``s_m``.
        calibration: ``M`` scores ``e_m``.
        gamma: ``M`` exploration ratios.
        family_weights: ``M`` weights summing to one that replace the paper's
            average ``1/M`` over the families (``None``: the average).

    Returns:
        ``k`` values of ``A_model``.
    """
    g = np.asarray(gamma)[:, None]
    w = g * np.asarray(accuracy)[:, None] + (1.0 - g) * np.asarray(calibration)[:, None]
    terms = w * (mu + config.ucb_h * sigma)
    if family_weights is None:
        return terms.mean(axis=0)
    return (np.asarray(family_weights, dtype=np.float64)[:, None] * terms).sum(axis=0)
