r"""The fusion score: model channel, KF/rKF fusion channel and l2 late fusion.

:class:`FusionScorer` turns the reservoir's member predictions on a candidate
set into the paper's single-target score

.. math::

    A(x) = \sqrt{\max(A_\mathrm{model}(x), 0)^2 + \max(F(x), 0)^2},

with every target oriented (larger is better) and standardised on the evaluated
set, so 0 is the evaluated mean. Set-level quantities (``y*``, ``kappa``,
``gamma_m``, ``R_m``, ``lambda``, the deviation ratios and the structural
trend ``S_m``) are *calibrated* once on the candidate set (or a seeded sample
of it) and then held fixed, so that candidates scored in separate chunks get
consistent scores.

Shapes: ``M`` families, ``B`` members, ``k`` candidates, ``m`` targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from axfusion.acquisition.channels import exploration_ratio, kappa_from_share, model_channel
from axfusion.acquisition.kalman import (
    deviation_ratio,
    fusion_channel,
    kalman_weights,
    measurement_noise,
    rkf_strength,
)
from axfusion.acquisition.targets import Target, orient, parse_targets
from axfusion.models.scores import structural_trend
from axfusion.settings import FusionConfig

__all__ = ["FusionCalibration", "FusionConfig", "FusionScorer", "TargetCalibration", "probability_of_best"]


@dataclass(frozen=True)
class TargetCalibration:
    r"""Set-level quantities of one target (oriented, standardised units)."""

    y_mean: float
    y_std: float
    y_star: float
    kappa: float
    accuracy: np.ndarray  # M
    calibration: np.ndarray  # M
    trend: np.ndarray  # M
    flat: np.ndarray  # M
    snr: np.ndarray  # M
    gamma: np.ndarray  # M
    R: np.ndarray  # M
    lam: float
    d_r2: float
    d_elpd: float
    accuracy_spread: np.ndarray | None = None  # M: the members' OOB R^2 std (None: 0)

    def as_dict(self, names: Sequence[str]) -> dict[str, object]:
        per_family = {
            name: {
                "accuracy": float(self.accuracy[i]),
                "calibration": float(self.calibration[i]),
                "trend": float(self.trend[i]),
                "flat": bool(self.flat[i]),
                "snr": float(self.snr[i]),
                "gamma": float(self.gamma[i]),
                "R": float(self.R[i]),
            }
            for i, name in enumerate(names)
        }
        return {
            "y_star": self.y_star,
            "kappa": self.kappa,
            "lambda": self.lam,
            "D_r2": self.d_r2,
            "D_elpd": self.d_elpd,
            "families": per_family,
        }


@dataclass(frozen=True)
class FusionCalibration:
    r"""Calibration of every target plus the family names."""

    families: tuple[str, ...]
    targets: tuple[TargetCalibration, ...]

    def as_dict(self) -> dict[str, object]:
        return {f"target_{t}": c.as_dict(self.families) for t, c in enumerate(self.targets)}


def _base(base: float, value: float) -> float:
    return value if np.isnan(base) else base


class FusionScorer:
    r"""Scores candidates with the fusion acquisition from member predictions.

    Args:
        train_Y: ``n x m`` observed targets (raw units; failed measurements
            must be removed beforehand).
        family_names: ``M`` family names.
        accuracy: ``M x m`` OOB accuracy scores ``s_m``.
        calibration: ``M x m`` OOB calibration scores ``e_m``.
        mad2: ``M x m`` OOB ``MAD^2`` in units of the *raw* target's std.
        targets: Per target a :class:`Target` (default: maximise all).
        config: :class:`FusionConfig`.
        accuracy_spread: ``M x m`` std of the members' OOB ``R^2`` (how well ``s_m`` is
            known; used by ``family_weighting = "probability"``; default 0).
    """

    def __init__(
        self,
        train_Y: np.ndarray,
        family_names: Sequence[str],
        accuracy: np.ndarray,
        calibration: np.ndarray,
        mad2: np.ndarray,
        targets: Sequence[Target | str] | None = None,
        config: FusionConfig | None = None,
        accuracy_spread: np.ndarray | None = None,
    ) -> None:
        Y = np.asarray(train_Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] < 2:
            raise ValueError(f"train_Y must be n x m with n >= 2; got shape {Y.shape}.")
        if not np.all(np.isfinite(Y)):
            raise ValueError("train_Y contains NaN/inf; drop failed measurements first.")
        self.m = Y.shape[1]
        self.targets = parse_targets(targets, self.m)
        self.family_names = tuple(family_names)
        M = len(self.family_names)
        self.accuracy = np.asarray(accuracy, dtype=np.float64).reshape(M, self.m)
        self.calibration_scores = np.asarray(calibration, dtype=np.float64).reshape(M, self.m)
        spread = np.zeros((M, self.m)) if accuracy_spread is None else accuracy_spread
        self.accuracy_spread = np.asarray(spread, dtype=np.float64).reshape(M, self.m)
        raw_std = Y.std(axis=0)
        raw_std = np.where(raw_std > 1e-12, raw_std, 1.0)
        O = orient(Y, self.targets)
        self.y_mean = O.mean(axis=0)
        o_std = O.std(axis=0)
        self.y_std = np.where(o_std > 1e-12, o_std, 1.0)
        # MAD^2 was measured in raw standardised units; rescale to oriented ones.
        self.mad2 = np.asarray(mad2, dtype=np.float64).reshape(M, self.m) * (raw_std / self.y_std) ** 2
        self.Y_std = (O - self.y_mean) / self.y_std
        self.config = config or FusionConfig()
        self.calibration: FusionCalibration | None = None
        #: ``M`` family weights of ``family_weighting = "ahead"`` (sum 1), or ``None``.
        self.ahead_weights: np.ndarray | None = None

    @classmethod
    def from_model(
        cls,
        model: object,
        targets: Sequence[Target | str] | None = None,
        config: FusionConfig | None = None,
        train_Y: np.ndarray | None = None,
    ) -> FusionScorer:
        r"""Build the scorer from a fitted :class:`~axfusion.models.ReservoirModel`."""
        scores = model.family_scores  # type: ignore[attr-defined]
        names = list(scores)
        # before the reservoir's flat down-weighting: calibrate() judges flatness on the
        # candidates and applies stage3.fusion.flat_factor once
        acc = np.array([[_base(s.base_accuracy, s.accuracy) for s in scores[n]] for n in names])
        cal = np.array([[_base(s.base_calibration, s.calibration) for s in scores[n]] for n in names])
        mad2 = np.array([[s.mad2 for s in scores[n]] for n in names])
        spread = np.array([[s.r2_std for s in scores[n]] for n in names])
        Y = model.train_targets_raw.detach().cpu().numpy() if train_Y is None else train_Y  # type: ignore[attr-defined]
        return cls(Y, names, acc, cal, mad2, targets=targets, config=config, accuracy_spread=spread)

    # ------------------------------------------------------------ moments
    def moments(
        self,
        values: np.ndarray,
        own_std: np.ndarray | None = None,
        distance: np.ndarray | None = None,
        level: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Oriented, standardised family moments.

        Args:
            values: ``M x B x k x m`` member predictions (raw units).
            own_std: Same-shaped own predictive stds (or ``None``).
            distance: ``k`` distances to the nearest evaluated design in units of the
                evaluated designs' median nearest-neighbour distance; with
                ``config.distance_spread`` every family's variance grows by
                ``MAD^2_m (1 - exp(-distance^2 / 2))``.
            level: ``k x m`` level-effect variances of the candidates (oriented standardised
                units; :func:`~axfusion.acquisition.levels.level_effect_variance`); with
                ``config.level_spread > 0`` every family's variance grows by
                ``level_spread * level``.

        Returns:
            ``(mu, sigma)``, each ``M x k x m``.
        """
        self._check_members(values)
        return self.moments_of(self.standardise(values), own_std, distance, level)

    def moments_of(
        self,
        O: np.ndarray,
        own_std: np.ndarray | None = None,
        distance: np.ndarray | None = None,
        level: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        r""":meth:`moments` from member predictions already oriented and standardised
        (:meth:`standardise`), ``M x B x k x m``; the other arguments as there."""
        self._check_members(O)
        mu = O.mean(axis=1)
        var = O.var(axis=1, ddof=1) if O.shape[1] > 1 else np.zeros_like(mu)
        if own_std is not None:
            var = var + ((own_std / self.y_std) ** 2).mean(axis=1)
        if distance is not None and self.config.distance_spread:
            reach = 1.0 - np.exp(-0.5 * np.asarray(distance, dtype=np.float64) ** 2)
            var = var + self.mad2[:, None, :] * reach[None, :, None]
        if level is not None and self.config.level_spread > 0:
            var = var + self.config.level_spread * np.asarray(level, dtype=np.float64).reshape(1, -1, self.m)
        return mu, np.maximum(np.sqrt(var), self.config.sigma_floor)

    def _check_members(self, values: np.ndarray) -> None:
        if values.ndim != 4 or values.shape[0] != len(self.family_names) or values.shape[-1] != self.m:
            raise ValueError(
                f"Expected member predictions of shape M x B x k x m = {len(self.family_names)} x B x k x {self.m}; "
                f"got {values.shape}."
            )

    def standardise(self, values: np.ndarray) -> np.ndarray:
        r"""Raw predictions (``... x m``) -> oriented, standardised on the evaluated set."""
        return (orient(values, self.targets) - self.y_mean) / self.y_std

    # -------------------------------------------------------- calibration
    def calibrate(self, Z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> FusionCalibration:
        r"""Fix the set-level quantities on a candidate set.

        Args:
            Z: ``k x p`` candidate coordinates (for the structural trend), e.g.
                the standardised features.
            mu: ``M x k x m`` oriented standardised family means.
            sigma: ``M x k x m`` family stds.

        Returns:
            The :class:`FusionCalibration` (also stored on the scorer).
        """
        cfg = self.config
        cals = []
        y_stars = self.Y_std.max(axis=0)
        # p_pos is the share over (family, candidate, target): one kappa for all targets.
        p_pos = float(np.mean(mu + sigma > y_stars))
        kappa = kappa_from_share(p_pos, cfg.channel)
        for t in range(self.m):
            mu_t, sig_t = mu[:, :, t], sigma[:, :, t]
            y_star = float(y_stars[t])
            trend, flat = structural_trend(Z, mu_t)
            acc = np.where(flat, self.accuracy[:, t] * cfg.flat_factor, self.accuracy[:, t])
            cal = np.where(flat, self.calibration_scores[:, t] * cfg.flat_factor, self.calibration_scores[:, t])
            snr, gamma = exploration_ratio(mu_t, sig_t, y_star, trend, kappa, cfg.channel)
            P = sig_t**2
            R = measurement_noise(self.mad2[:, t], P, cfg.kalman)
            lam = rkf_strength(P, R, trend, cfg.kalman)
            cals.append(
                TargetCalibration(
                    y_mean=float(self.y_mean[t]),
                    y_std=float(self.y_std[t]),
                    y_star=y_star,
                    kappa=kappa,
                    accuracy=acc,
                    calibration=cal,
                    trend=trend,
                    flat=flat,
                    snr=snr,
                    gamma=gamma,
                    R=R,
                    lam=lam,
                    d_r2=deviation_ratio(acc),
                    d_elpd=deviation_ratio(cal),
                    accuracy_spread=self.accuracy_spread[:, t],
                )
            )
        self.calibration = FusionCalibration(families=self.family_names, targets=tuple(cals))
        return self.calibration

    # ------------------------------------------------------------- scores
    def channels(self, mu: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
        r"""Every channel of the fusion score at ``k`` candidates.

        Args:
            mu, sigma: ``M x k x m`` oriented standardised family moments.

        Returns:
            Dict of ``k x m`` arrays: ``model`` (A_model), ``fusion_r2``,
            ``fusion_elpd``, ``fusion`` (F), ``score`` (A), ``mean`` (the
            reliability-weighted family mean) and ``spread`` (std of the family
            means).
        """
        if self.calibration is None:
            raise RuntimeError("Call FusionScorer.calibrate(...) on the candidate set before scoring.")
        cfg = self.config
        k = mu.shape[1]
        keys = ("model", "fusion_r2", "fusion_elpd", "fusion", "score", "mean", "spread")
        out = {key: np.zeros((k, self.m)) for key in keys}
        for t, cal in enumerate(self.calibration.targets):
            mu_t, sig_t = mu[:, :, t], sigma[:, :, t]
            omega = self.family_weights(cal)
            a_model = model_channel(
                mu_t, sig_t, cal.accuracy, cal.calibration, cal.gamma, cfg.channel, family_weights=omega
            )
            w_kf, w_rkf = kalman_weights(sig_t**2, cal.R, cfg.kalman, family_weights=omega)
            d_r2, d_elpd = cal.d_r2, cal.d_elpd
            if cfg.kalman.weights != "mixed":  # ablations: the KF or the rKF weights alone
                d_r2 = d_elpd = 0.0 if cfg.kalman.weights == "kf" else 1.0
            f_r2 = fusion_channel(mu_t, w_kf, w_rkf, cal.accuracy, d_r2, cal.lam)
            f_elpd = fusion_channel(mu_t, w_kf, w_rkf, cal.calibration, d_elpd, cal.lam)
            f = f_r2 if cfg.kalman.channels == "r2" else 0.5 * (f_r2 + f_elpd)
            a_m = np.maximum(a_model, 0.0) if cfg.use_model_channel else 0.0
            a_f = np.maximum(f, 0.0) if cfg.use_fusion_channel else 0.0
            rel = cal.accuracy + cal.calibration
            rel = rel / rel.sum() if rel.sum() > 0 else np.full_like(rel, 1.0 / rel.size)
            out["model"][:, t] = a_model
            out["fusion_r2"][:, t] = f_r2
            out["fusion_elpd"][:, t] = f_elpd
            out["fusion"][:, t] = f
            out["score"][:, t] = np.sqrt(a_m**2 + a_f**2)
            out["mean"][:, t] = rel @ mu_t
            out["spread"][:, t] = mu_t.std(axis=0)
        return out

    def family_weights(self, cal: TargetCalibration) -> np.ndarray | None:
        r"""``M`` weights of the families in both channels (sum 1), or ``None`` for the
        paper's uniform sharing (``stage3.fusion.family_weighting``).

        ``"softmax"``: ``omega_m ∝ exp((s_m - max s) / family_temperature)`` on the
        calibrated accuracies (flat families already down-weighted).
        ``"probability"``: :func:`probability_of_best` of the calibrated accuracies, each
        known to within its members' OOB ``R^2`` std. ``"ahead"``: :attr:`ahead_weights`
        (set by the campaign loop from the families' accuracy one batch ahead; ``None``,
        uniform, until then)."""
        if self.config.family_weighting in ("uniform", "auto"):  # "auto": resolved by the campaign loop
            return None
        if self.config.family_weighting == "ahead":  # given by the campaign loop (None: not yet known)
            return self.ahead_weights
        acc = np.asarray(cal.accuracy, dtype=np.float64)
        if self.config.family_weighting == "probability":
            spread = np.zeros_like(acc) if cal.accuracy_spread is None else cal.accuracy_spread
            return probability_of_best(acc, spread)
        z = np.exp((acc - acc.max()) / self.config.family_temperature)
        return z / z.sum()

    def with_config(self, **changes: Any) -> FusionScorer:
        r"""A copy with some :class:`FusionConfig` fields replaced (for ablations)."""
        new = object.__new__(FusionScorer)
        new.__dict__.update(self.__dict__)
        new.config = replace(self.config, **changes)
        new.calibration = None
        return new


def probability_of_best(mean: np.ndarray, std: np.ndarray, floor: float = 0.01, n_grid: int = 801) -> np.ndarray:
    r"""``M`` probabilities that each family's accuracy is the largest.

    Family ``m``'s accuracy is read as ``N(mean_m, max(std_m, floor)^2)``, independent
    across families; ``P_m = int phi_m(x) prod_{j != m} Phi_j(x) dx`` on a grid of
    ``n_grid`` points spanning every density (trapezoid rule, renormalised). Families the
    data cannot tell apart share the weight; one family clearly more accurate than the
    rest takes nearly all of it.

    Args:
        mean: ``M`` accuracies.
        std: ``M`` their standard deviations.
        floor: Least standard deviation (two families with equal accuracies and no
            spread then share equally).
        n_grid: Grid points of the integral.

    Returns:
        ``M`` weights, non-negative, summing to 1.
    """
    from scipy.stats import norm

    mean = np.asarray(mean, dtype=np.float64)
    sd = np.maximum(np.asarray(std, dtype=np.float64), floor)
    x = np.linspace((mean - 6 * sd).min(), (mean + 6 * sd).max(), n_grid)
    logcdf = norm.logcdf(x[None, :], mean[:, None], sd[:, None])  # M x g
    others = logcdf.sum(axis=0)[None, :] - logcdf
    dens = norm.pdf(x[None, :], mean[:, None], sd[:, None]) * np.exp(others)
    p = np.trapezoid(dens, x, axis=1)
    p = np.maximum(p, 0.0)
    return p / p.sum() if p.sum() > 0 else np.full(mean.size, 1.0 / mean.size)
