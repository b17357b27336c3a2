r"""The fusion acquisition as a BoTorch :class:`AcquisitionFunction`.

:class:`FusionAcquisition` evaluates ``U(x) = pi(x) A(x)`` (one target) or
``U(x) = pi(x) U_MO(x)`` (several) on a
:class:`~axfusion.models.ReservoirModel`. It is a ``q = 1`` acquisition:
batches are formed by :func:`axfusion.acquisition.batch.select_batch` (or, in
BoTorch, by ``optimize_acqf_discrete``'s sequential greedy selection).

Call :meth:`FusionAcquisition.calibrate` on the whole candidate set first: the
fusion's set-level quantities (``kappa``, ``gamma_m``, ``R_m``, ``lambda``, the
structural trend) are fixed there, so that chunks scored separately are
comparable. Without it, the first call to ``forward`` calibrates on its own
inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast, runtime_checkable

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.exceptions.errors import UnsupportedError
from torch import Tensor

from axfusion.acquisition.fusion import FusionCalibration, FusionConfig, FusionScorer
from axfusion.acquisition.hypervolume import HypervolumeConfig, ehvi_scores
from axfusion.acquisition.levels import level_counts as count_levels
from axfusion.acquisition.levels import level_effect_variance, level_reach
from axfusion.acquisition.targets import Target

__all__ = ["FusionAcquisition", "FusionModel", "FusionMoments", "oriented_correlation"]


@dataclass(frozen=True)
class FusionMoments:
    r"""What the fusion scores are computed from, at ``k`` candidates.

    Attributes:
        Z: ``k x d`` inputs as the members see them (for the structural trend).
        mu, sigma: ``M x k x m`` oriented, standardised family means and stds.
        members: ``M x B x k x m`` oriented, standardised member predictions (the
            family slots' draws, :mod:`axfusion.acquisition.hedge`).
    """

    Z: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    members: np.ndarray

    def take(self, rows: np.ndarray) -> FusionMoments:
        r"""The moments of some of the candidates."""
        return FusionMoments(
            Z=self.Z[rows], mu=self.mu[:, rows], sigma=self.sigma[:, rows], members=self.members[:, :, rows]
        )

    @staticmethod
    def concat(parts: Sequence[FusionMoments]) -> FusionMoments:
        r"""The moments of chunks, joined in order."""
        return FusionMoments(
            Z=np.concatenate([p.Z for p in parts]),
            mu=np.concatenate([p.mu for p in parts], axis=1),
            sigma=np.concatenate([p.sigma for p in parts], axis=1),
            members=np.concatenate([p.members for p in parts], axis=2),
        )


def oriented_correlation(corr: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    r"""The ``m x m`` residual correlation of the raw targets in the oriented space the
    multi-objective samples are drawn in: a minimised target flips the sign of its row and
    column; a value or window target (a non-monotone orientation) is taken as uncorrelated."""
    sign = np.array([{"maximize": 1.0, "minimize": -1.0}.get(t.kind, 0.0) for t in targets])
    out = corr * np.outer(sign, sign)
    np.fill_diagonal(out, 1.0)
    return out


@runtime_checkable
class FusionModel(Protocol):
    r"""What :class:`FusionAcquisition` needs of a model (a fitted
    :class:`~axfusion.models.ReservoirModel` provides it).

    Shapes: ``M`` families, ``B`` members, ``k`` points, ``m`` targets, ``n`` training rows.
    """

    train_targets_raw: Tensor  # n x m

    @property
    def provides_std(self) -> np.ndarray:
        r"""``M`` flags: the family reports its own predictive std."""
        ...

    @property
    def family_scores(self) -> Mapping[str, Sequence[Any]]:
        r"""Per family, one OOB score record per target (accuracy, calibration, MAD^2, trend)."""
        ...

    def member_predictions(
        self, X: Tensor | np.ndarray, *, transformed: bool = ..., return_std: Literal[True], chunk_size: int = ...
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""``M x B x k x m`` member predictions and their own stds (0 where a family has none)."""
        ...

    def standardised_inputs(self, X: Tensor | np.ndarray, *, transformed: bool = False) -> np.ndarray:
        r"""``k x d`` inputs as the members see them."""
        ...

    def standardised_training_data(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(Xs, Ys)``: the ``n x d`` training inputs as the members see them and the
        ``n x m`` standardised targets."""
        ...

    def residual_correlation(self) -> np.ndarray:
        r"""``m x m`` correlation of the out-of-bag residuals between targets."""
        ...


class FusionAcquisition(AcquisitionFunction):
    r"""Kalman-style multi-model fusion acquisition (docs/method.md, Stage 3).

    Example:
        >>> acqf = FusionAcquisition(model, targets=[Target.maximize()])
        >>> acqf.calibrate(X_pool)
        >>> parts = acqf.score(X_pool)          # utility and channel breakdown
        >>> acqf(X_pool.unsqueeze(1))           # k scores, for optimize_acqf_discrete

    Args:
        model: A fitted model with the :class:`FusionModel` interface (a
            :class:`~axfusion.models.ReservoirModel`).
        targets: Per model output, a :class:`Target` (default: maximise).
        config: :class:`FusionConfig` of the single-target score.
        hv_config: :class:`HypervolumeConfig` of the multi-target score.
        ref_point: Reference point for the hypervolume, in *oriented raw*
            units (the orientation of :class:`Target`); from the data when
            ``None``.
        structural_weight: ``pi`` as a function of ``X`` (``batch x q x d ->
            batch x q``), e.g. :class:`~axfusion.acquisition.structural.StructuralWeight`;
            ``None`` means ``pi = 1``.
        seed: Seed of the calibration sample and the MC samples.
    """

    def __init__(
        self,
        model: FusionModel,
        targets: Sequence[Target | str] | None = None,
        *,
        config: FusionConfig | None = None,
        hv_config: HypervolumeConfig | None = None,
        ref_point: Sequence[float] | None = None,
        structural_weight: Callable[[Tensor], Tensor] | None = None,
        seed: int = 0,
    ) -> None:
        if not isinstance(model, FusionModel):
            raise TypeError(
                f"FusionAcquisition needs a fitted model with member predictions and OOB scores "
                f"(a ReservoirModel); got {type(model).__name__}."
            )
        super().__init__(model=model)  # type: ignore[arg-type]
        self.set_X_pending(None)
        self.scorer = FusionScorer.from_model(model, targets, config)
        self.hv_config = hv_config or HypervolumeConfig()
        self.structural_weight = structural_weight
        self.seed = int(seed)
        self._tree: Any = None
        self._length = 1.0
        self._ref_point = None
        if ref_point is not None:
            ref = np.asarray(ref_point, dtype=np.float64)
            if ref.shape != (self.scorer.m,):
                raise ValueError(f"ref_point needs {self.scorer.m} coordinates, got {ref.shape}.")
            self._ref_point = (ref - self.scorer.y_mean) / self.scorer.y_std

    @property
    def fusion_model(self) -> FusionModel:
        r"""The model, as the :class:`FusionModel` it was checked to be."""
        return cast(FusionModel, self.model)

    @property
    def calibration(self) -> FusionCalibration | None:
        return self.scorer.calibration

    def predict(self, X: Tensor) -> FusionMoments:
        r"""The family moments the fusion scores are computed from, at ``k x d`` raw inputs
        (predict once, then :meth:`calibrate` and :meth:`score` from them). With
        ``config.level_spread`` the stds grow by the candidates' level-effect variance
        (:meth:`level_variance`); a model with ``std_scale`` (``M x m``,
        ``stage1.calibrate_std``) widens each family's std by it."""
        X = X.reshape(-1, X.shape[-1])
        model = self.fusion_model
        vals, stds = model.member_predictions(X, return_std=True)
        has_std = bool(np.any(model.provides_std))
        Z = model.standardised_inputs(X)
        distance = self.data_distance(Z) if self.scorer.config.distance_spread else None
        level = self.level_variance(Z) if self.scorer.config.level_spread > 0 else None
        members = self.scorer.standardise(vals)  # oriented, standardised once: moments and slots
        mu, sigma = self.scorer.moments_of(members, stds if has_std else None, distance=distance, level=level)
        scale = getattr(model, "std_scale", None)  # M x m; models without it are not scaled
        if scale is not None:
            sigma = sigma * np.asarray(scale, dtype=np.float64)[:, None, :]
        return FusionMoments(Z=Z, mu=mu, sigma=sigma, members=members)

    def exploration(
        self,
        moments: FusionMoments,
        beta: float = 2.0,
        level_counts: np.ndarray | None = None,
        reach: np.ndarray | None = None,
    ) -> np.ndarray:
        r"""``k`` exploration scores: per target ``mean_m mu_m + beta sigma_d``,
        ``sigma_d^2 = mean_m sigma_m^2 + mean_m MAD^2_m reach`` with
        ``reach = 1 - exp(-d^2 / 2)``, ``d`` the distance to the evaluated designs
        (:meth:`data_distance`; or the ``k`` values given as ``reach``), averaged over the
        targets (oriented, standardised units).

        With ``level_counts`` (``k x J``, :meth:`level_counts`) the reach also grows for
        candidates whose rarest categorical level few evaluated designs have:
        ``reach = 1 - (1 - reach_d) (1 - 1 / (1 + n_min))``
        (:func:`~axfusion.acquisition.levels.level_reach`)."""
        var = (moments.sigma**2).mean(axis=0)  # k x m
        if reach is None:
            reach = self.distance_reach(self.data_distance(moments.Z))
        if level_counts is not None:
            reach = 1.0 - (1.0 - reach) * (1.0 - level_reach(level_counts))
        var = var + self.scorer.mad2.mean(axis=0)[None, :] * reach[:, None]
        return (moments.mu.mean(axis=0) + beta * np.sqrt(var)).mean(axis=1)

    def distance_reach(self, distance: np.ndarray) -> np.ndarray:
        r"""``k`` shares ``1 - exp(-d^2 / 2)`` of the out-of-bag error the exploration adds at
        ``k`` distances ``d`` from the evaluated designs (:meth:`data_distance`); zeros with
        ``config.distance_spread``, where the moments' sigma is widened already."""
        if self.scorer.config.distance_spread:
            return np.zeros_like(distance)
        return 1.0 - np.exp(-0.5 * distance**2)

    def level_columns(self) -> np.ndarray:
        r"""The member-space columns with a fixed scale (categorical indicators and
        descriptors; the model's ``input_scale``), possibly none."""
        scale = getattr(self.fusion_model, "input_scale", None)
        if scale is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isfinite(np.asarray(scale, dtype=np.float64)))

    def level_counts(self, Z: np.ndarray) -> np.ndarray | None:
        r"""``k x J``: per candidate (``k x d`` member-space inputs) and fixed-scale column,
        how many evaluated designs share its value (:func:`~axfusion.acquisition.levels.level_counts`);
        ``None`` without such columns."""
        cols = self.level_columns()
        if not cols.size:
            return None
        return count_levels(self.fusion_model.standardised_training_data()[0], Z, cols)

    def level_groups(self) -> list[np.ndarray]:
        r"""The member-space columns of each categorical input: from the model's
        ``input_groups`` where it has them, else each fixed-scale column on its own."""
        cols = self.level_columns()
        groups = getattr(self.fusion_model, "input_groups", None)
        if groups is None or not cols.size:
            return [cols[i : i + 1] for i in range(cols.size)]
        owner = np.asarray(groups, dtype=np.int64)[cols]
        return [cols[owner == g] for g in np.unique(owner)]

    def level_variance(self, Z: np.ndarray) -> np.ndarray | None:
        r"""``k x m``: the candidates' (``k x d`` member-space inputs) level-effect variance
        in oriented standardised units, summed over the categorical inputs
        (:func:`~axfusion.acquisition.levels.level_effect_variance`, a random-effects model
        fitted per input on the evaluated designs); ``None`` without categorical columns."""
        groups = self.level_groups()
        if not groups:
            return None
        Z_train = self.fusion_model.standardised_training_data()[0]
        return level_effect_variance(Z_train, self.scorer.Y_std, Z, groups)

    def data_distance(self, Z: np.ndarray) -> np.ndarray:
        r"""``k`` distances of ``k x d`` member-space inputs to the nearest evaluated design,
        in units of the evaluated designs' median nearest-neighbour distance."""
        from scipy.spatial import cKDTree

        if self._tree is None:
            Xs = self.fusion_model.standardised_training_data()[0]
            self._tree = cKDTree(Xs)
            nn = self._tree.query(Xs, k=2)[0][:, 1] if Xs.shape[0] > 1 else np.ones(1)
            positive = nn[nn > 0]
            self._length = float(np.median(positive)) if positive.size else 1.0
        return self._tree.query(Z, k=1)[0] / self._length

    def calibration_rows(self, k: int) -> np.ndarray:
        r"""The rows of a ``k``-candidate set the calibration uses: all of them, or a seeded
        sample of ``config.calibration_size`` (in the sample's order)."""
        size = self.scorer.config.calibration_size
        if k <= size:
            return np.arange(k)
        g = torch.Generator().manual_seed(self.seed)
        return torch.randperm(k, generator=g)[:size].numpy()

    def calibrate(self, X: Tensor | FusionMoments) -> FusionCalibration:
        r"""Fix the set-level quantities on the candidate set (``k x d`` inputs, or their
        :class:`FusionMoments` from :meth:`predict`).

        Large sets are represented by a seeded sample of ``config.calibration_size`` rows.
        """
        k = X.Z.shape[0] if isinstance(X, FusionMoments) else X.reshape(-1, X.shape[-1]).shape[0]
        everything = k <= self.scorer.config.calibration_size
        if isinstance(X, FusionMoments):
            m = X if everything else X.take(self.calibration_rows(k))
        else:
            X = X.reshape(-1, X.shape[-1])
            m = self.predict(X if everything else X[torch.as_tensor(self.calibration_rows(k))])
        return self.scorer.calibrate(m.Z, m.mu, m.sigma)

    def score(
        self, X: Tensor, pi: np.ndarray | None = None, moments: FusionMoments | None = None
    ) -> dict[str, np.ndarray]:
        r"""The utility and its breakdown at ``k`` candidates (``k x d``).

        ``pi`` is applied here and only here: ``utility = pi * acquisition``.

        Args:
            X: ``k x d`` candidates.
            pi: ``k`` structural weights; default: the ``structural_weight`` callable given
                at construction, else 1.
            moments: The :meth:`predict` output at ``X`` (saves predicting again).

        Returns:
            Dict of arrays: ``utility`` (``k``; ``pi * acquisition``), ``pi`` (``k``),
            ``acquisition`` (``k``, before ``pi``), and the channels of
            :meth:`FusionScorer.channels` (``k x m``); with several targets also
            ``ehvi`` (``M x k``).
        """
        X = X.reshape(-1, X.shape[-1])
        if moments is None:
            moments = self.predict(X)
        if self.scorer.calibration is None:
            self.calibrate(moments)
        mu, sigma = moments.mu, moments.sigma
        parts = self.scorer.channels(mu, sigma)
        if self.scorer.m == 1:
            acq = parts["score"][:, 0]
        else:
            cals = self.scorer.calibration.targets  # type: ignore[union-attr]
            e_m = np.mean([c.calibration for c in cals], axis=0)
            acq, ehvi = ehvi_scores(
                mu,
                sigma,
                oriented_correlation(self.fusion_model.residual_correlation(), self.scorer.targets),
                self.scorer.Y_std,
                e_m,
                ref_point=self._ref_point,
                config=self.hv_config,
                seed=self.seed,
            )
            parts["ehvi"] = ehvi
        if pi is not None:
            pi = np.asarray(pi, dtype=np.float64).reshape(-1)
            if pi.shape != (X.shape[0],):
                raise ValueError(f"pi has {pi.shape[0]} weights for {X.shape[0]} candidates.")
        elif self.structural_weight is not None:
            pi = self.structural_weight(X.unsqueeze(-2)).reshape(-1).detach().cpu().numpy()
        else:
            pi = np.ones(X.shape[0])
        parts["acquisition"] = acq
        parts["pi"] = pi
        parts["utility"] = pi * acq
        return parts

    def forward(self, X: Tensor) -> Tensor:
        r"""``U`` at ``batch x 1 x d`` inputs, returned as a ``batch`` tensor."""
        if X.shape[-2] != 1:
            raise UnsupportedError(
                "FusionAcquisition scores single points (q = 1); form batches with "
                "axfusion.acquisition.select_batch or optimize_acqf_discrete's sequential greedy."
            )
        batch_shape = X.shape[:-2]
        flat = X.reshape(-1, X.shape[-1])
        util = self.score(flat)["utility"]
        return torch.as_tensor(util, dtype=X.dtype, device=X.device).reshape(batch_shape)
