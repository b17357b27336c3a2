r"""The heterogeneous surrogate reservoir as a BoTorch ensemble model (Stage 1).

:class:`ReservoirModel` fits, for every target and every surrogate family, ``B``
bootstrap members on the (target-biased, cluster-aware) resamples of the
evaluated designs, with hyper-parameters chosen inside the Stage-0 capacity
caps, and scores each member out of bag. Its :meth:`~ReservoirModel.posterior`
is an ensemble posterior with one member per (family, bootstrap) pair, so any
BoTorch acquisition runs on it; the family-level moments and reliability
scores the fusion acquisition needs are exposed by
:meth:`~ReservoirModel.member_predictions`, :meth:`~ReservoirModel.family_moments`
and :attr:`~ReservoirModel.family_scores`.

Shapes: ``n`` training rows, ``d`` inputs, ``m`` targets (outputs), ``M``
families, ``B`` members per family, ``s = M * B`` ensemble members.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import torch
from botorch.acquisition.objective import PosteriorTransform, ScalarizedPosteriorTransform
from botorch.exceptions.errors import UnsupportedError
from botorch.models.ensemble import EnsembleModel
from botorch.models.transforms.input import InputTransform
from botorch.models.transforms.outcome import OutcomeTransform
from torch import Tensor

from axfusion.capacity import CapacityReport, estimate_capacity
from axfusion.models.bootstrap import plan_bootstrap, target_biased_probabilities
from axfusion.models.families import (
    SurrogateFamily,
    fit_quietly,
    limit_threads,
    resolve_families,
)
from axfusion.models.sampler import ReservoirPosterior
from axfusion.models.scores import (
    FamilyScore,
    MemberScore,
    family_score,
    member_score,
    structural_trend,
)
from axfusion.models.tuning import TuningRecord, TuningState, choose_params
from axfusion.settings import CapacitySettings, ReservoirSettings

__all__ = ["FamilyMoments", "ReservoirModel", "SurrogateFitWarning"]

Clusterer = Callable[[np.ndarray, int], np.ndarray]


class SurrogateFitWarning(RuntimeWarning):
    r"""A surrogate family failed to fit and was dropped for this iteration."""


@dataclass(frozen=True)
class FamilyMoments:
    r"""Family-level predictive moments on a set of points.

    Attributes:
        names: The ``M`` family names.
        mean: ``M x k x m`` mean over each family's members.
        std: ``M x k x m`` standard deviation: the spread of the members plus,
            for families that report one, their own predictive variance.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray


@dataclass
class _FittedFamily:
    family: SurrogateFamily
    params: list[dict[str, Any]]  # per target
    estimators: list[list[Any]]  # [target][member]
    member_scores: list[list[MemberScore]]  # [target][member]
    scores: list[FamilyScore]  # per target (set by _score_trends)
    oob_pred: np.ndarray  # B x n x m, NaN where in-bag
    oob_var: np.ndarray  # B x n x m: the members' own predictive variances (0: none), NaN where in-bag


def _default_clusterer(X: np.ndarray, seed: int) -> np.ndarray:
    from axfusion.structure import cluster_points

    return np.asarray(cluster_points(X, seed=seed).labels)


def _as_2d_tensor(X: Tensor, name: str) -> Tensor:
    if not isinstance(X, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(X).__name__}.")
    if X.ndim == 1 and name == "train_Y":
        X = X.unsqueeze(-1)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-dimensional (n x {'d' if name == 'train_X' else 'm'}); "
            f"got shape {tuple(X.shape)}. Batched training data is not supported."
        )
    if not torch.isfinite(X).all():
        bad = (~torch.isfinite(X)).any(dim=-1).nonzero().flatten()[:5].tolist()
        raise ValueError(f"{name} contains NaN or inf values (first rows: {bad}).")
    return X.to(torch.float64)


def _fit_family_task(
    family: SurrogateFamily,
    f_idx: int,
    known: dict[int, TuningRecord | None],
    *,
    Xs: np.ndarray,
    Ys: np.ndarray,
    capacity: CapacityReport,
    plans: Sequence[Any],
    n_members: int,
    seed: int,
    max_settings: int,
) -> tuple[_FittedFamily | str, dict[int, TuningRecord], float]:
    r"""Tune and fit one family's members for every target.

    Returns ``(fitted family or error message, new tuning records, seconds)``;
    it never raises, so one broken family cannot stop the others.
    """
    t0 = time.perf_counter()
    n, m, B = Xs.shape[0], Ys.shape[1], n_members
    records: dict[int, TuningRecord] = {}
    try:
        with limit_threads(1):
            params_per_target: list[dict[str, Any]] = []
            estimators: list[list[Any]] = []
            all_scores: list[list[MemberScore]] = []
            oob_pred = np.full((B, n, m), np.nan)
            oob_var = np.full((B, n, m), np.nan)
            for t in range(m):
                plan = plans[t]
                # a 31-bit seed per (campaign seed, family, target); members add b
                base_seed = int(np.random.SeedSequence([seed, f_idx, t]).generate_state(1)[0] >> 2)
                rec = known.get(t)
                if rec is None:
                    params, err, n_settings = choose_params(
                        family,
                        Xs,
                        Ys[:, t],
                        plan.indices[0],
                        capacity.caps,
                        seed=base_seed,
                        max_settings=max_settings,
                    )
                    rec = TuningRecord(
                        params=params,
                        oob_rmse=err,
                        d_eff=capacity.d_eff,
                        capacity=capacity.capacity,
                        n_settings=n_settings,
                    )
                    records[t] = rec
                params_per_target.append(rec.params)
                members, scores = [], []
                for b in range(B):
                    idx = plan.indices[b]
                    est = fit_quietly(family.build(rec.params, base_seed + b), Xs[idx], Ys[idx, t])
                    members.append(est)
                    oob = plan.oob_mask(b, n)
                    if oob.any():
                        mu, sd = family.predict(est, Xs[oob])
                        if not np.all(np.isfinite(mu)):
                            raise FloatingPointError("non-finite out-of-bag predictions")
                        oob_pred[b, oob, t] = mu
                        oob_var[b, oob, t] = 0.0 if sd is None else np.asarray(sd, dtype=np.float64) ** 2
                        scores.append(member_score(Ys[oob, t], mu, sd))
                if not scores:
                    raise ValueError("no member had out-of-bag rows to be scored on")
                estimators.append(members)
                all_scores.append(scores)
    except Exception as err:  # reported by the caller as a dropped family
        return f"{type(err).__name__}: {err}", {}, time.perf_counter() - t0
    provisional = [family_score(ms) for ms in all_scores]
    fitted = _FittedFamily(family, params_per_target, estimators, all_scores, provisional, oob_pred, oob_var)
    return fitted, records, time.perf_counter() - t0


def _zero_gradient_link(values: Tensor, X: Tensor) -> Tensor:
    r"""``batch x s x q x m`` member values connected to ``X`` (``batch x q x d``) with a zero
    gradient when ``X`` requires one (the members are not differentiable)."""
    if X.requires_grad:
        values = values + 0.0 * X.sum(dim=-1)[..., None, :, None]
    return values


#: Median of a chi-square variable with one degree of freedom: ``median(z^2)`` of a
#: standard normal ``z``.
CHI2_1_MEDIAN = 0.454936423119572

#: The largest factor :func:`oob_std_scale` widens a family's std by.
MAX_STD_SCALE = 10.0


def oob_std_scale(oob_pred: np.ndarray, oob_var: np.ndarray, Y: np.ndarray, *, floor: float) -> np.ndarray:
    r"""By how much a family's predictive std must be multiplied to cover its own
    out-of-bag errors (``stage1.calibrate_std``).

    On each training row ``i`` left out by at least two members ``O_i``, the family's
    out-of-bag prediction is their mean ``mu_i`` and its predictive variance ``v_i`` their
    spread (``ddof = 1``) plus their mean own variance, at least ``floor^2`` -- the
    family std of :meth:`ReservoirModel.family_moments` computed from the members that did
    not see the row. ``z_i = (y_i - mu_i) / sqrt(v_i)`` is standard normal for a
    calibrated family; the scale is ``sqrt(median(z^2) / 0.455)`` (a median, so that a few
    outlying rows do not decide it), between ``1 / MAX_STD_SCALE`` and
    :data:`MAX_STD_SCALE`. :func:`std_scales` turns the families' factors into the scales
    the reservoir applies.

    Args:
        oob_pred: ``B x n x m`` out-of-bag predictions (standardised), NaN in-bag.
        oob_var: ``B x n x m`` the members' own predictive variances there (0: none).
        Y: ``n x m`` standardised targets.
        floor: The smallest std (standardised units, ``stage1.std_floor``).

    Returns:
        ``m`` factors in ``[1 / MAX_STD_SCALE, MAX_STD_SCALE]``; 1 for a target with fewer
        than three such rows.
    """
    oob = np.isfinite(oob_pred)
    count = oob.sum(axis=0)  # n x m
    pred = np.where(oob, oob_pred, 0.0)
    safe = np.maximum(count, 1)
    mean = pred.sum(axis=0) / safe
    spread = (np.where(oob, oob_pred - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count - 1, 1)
    own = np.where(oob, np.nan_to_num(oob_var), 0.0).sum(axis=0) / safe
    out = np.ones(Y.shape[1])
    for t in range(Y.shape[1]):
        rows = count[:, t] >= 2
        if rows.sum() < 3:
            continue
        var = np.maximum(spread[rows, t] + own[rows, t], floor**2)
        z2 = (Y[rows, t] - mean[rows, t]) ** 2 / var
        out[t] = float(np.clip(np.sqrt(np.median(z2) / CHI2_1_MEDIAN), 1.0 / MAX_STD_SCALE, MAX_STD_SCALE))
    return out


def std_scales(factors: np.ndarray, mode: str) -> np.ndarray:
    r"""The ``M x m`` std scales of the families from their :func:`oob_std_scale` factors.

    ``"widen"``: ``max(1, factor)`` -- a family is widened, never narrowed (the bootstrap
    spread of trees and k-NN is the part that does not grow away from the data).
    ``"relative"``: ``factor`` divided by the families' geometric mean per target -- the
    families' stds move against each other (what the Kalman weights compare) while their
    common level, what the exploration terms read, stays. ``"off"``: ones.
    """
    factors = np.asarray(factors, dtype=np.float64)
    if mode == "off" or factors.size == 0:
        return np.ones_like(factors)
    if mode == "widen":
        return np.maximum(factors, 1.0)
    if mode == "relative":
        return factors / np.exp(np.log(factors).mean(axis=0, keepdims=True))
    raise ValueError(f"std_scales: mode must be 'off', 'widen' or 'relative'; got {mode!r}.")


class ReservoirModel(EnsembleModel):
    r"""Heterogeneous bootstrap reservoir of surrogates (docs/method.md, Stages 0-1).

    Built, then fitted (as BoTorch's ``fit_*`` helpers and scikit-learn's ``fit`` do):

    Example:
        >>> model = ReservoirModel(train_X, train_Y, seed=0).fit()
        >>> post = model.posterior(X)            # ReservoirPosterior
        >>> post.values.shape                    # batch x (M*B) x q x m
        >>> model.family_moments(X_cand).mean    # M x k x m

    Args:
        train_X: ``n x d`` training inputs (raw scale; ``input_transform`` is
            applied as in every BoTorch model).
        train_Y: ``n x m`` training targets (larger is better is *not*
            assumed: the model only regresses).
        settings: :class:`~axfusion.settings.ReservoirSettings` (families, members,
            bootstrap rule, tuning, member weighting, std floor, input clipping).
        capacity: A precomputed Stage-0 report; estimated in :meth:`fit` when ``None``.
        capacity_settings: :class:`~axfusion.settings.CapacitySettings` used when the
            capacity is estimated here.
        remaining_budget: Evaluations left in the campaign (the ``cap`` of
            ``N_budget``); ``None`` means uncapped.
        clusterer: ``(X_standardised, seed) -> labels`` used by the biased
            bootstrap; default: :func:`axfusion.structure.cluster_points`.
        tuning_state: Warm-start memory shared across campaign iterations
            (updated in place).
        trend_points: Points on which the structural trend ``S_m`` is scored
            (e.g. the candidate set); default: the training inputs.
        n_jobs: Processes fitting families in parallel (joblib/loky); the
            result does not depend on it.
        seed: Seed for the bootstrap and every estimator.
        input_transform: A BoTorch input transform.
        outcome_transform: A BoTorch outcome transform; predictions are
            untransformed back to the scale of ``train_Y``.
        input_scale: ``d`` fixed input scales: a column with a finite entry is divided
            by it instead of its standard deviation on the training rows (one-hot
            indicators of a categorical column: ``sqrt(2)``, so two levels are one unit
            apart; :mod:`axfusion.data.encoding`); ``None``: every column standardised.
        input_groups: ``d`` indices of the categorical input each column encodes (its
            indicators or descriptors share one; ``-1``: numeric), kept for the acquisition's
            level statistics (:mod:`axfusion.acquisition.levels`); ``None``: unknown.
        **options: Fields of :class:`~axfusion.settings.ReservoirSettings` that
            override ``settings`` (e.g. ``families=("ridge", "knn"), n_members=4``).
    """

    def __init__(
        self,
        train_X: Tensor,
        train_Y: Tensor,
        settings: ReservoirSettings | None = None,
        *,
        capacity: CapacityReport | None = None,
        capacity_settings: CapacitySettings | None = None,
        remaining_budget: int | None = None,
        clusterer: Clusterer | None = None,
        tuning_state: TuningState | None = None,
        trend_points: Tensor | np.ndarray | None = None,
        n_jobs: int = 1,
        seed: int = 0,
        input_transform: InputTransform | None = None,
        outcome_transform: OutcomeTransform | None = None,
        input_scale: np.ndarray | None = None,
        input_groups: np.ndarray | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        settings = settings if settings is not None else ReservoirSettings()
        families = options.pop("families", settings.families)
        resolved = resolve_families(families)
        if families is not None:
            # Family objects (e.g. unregistered custom families) are kept; the settings record names.
            options["families"] = tuple(f.name for f in resolved)
        if options:
            unknown = sorted(set(options) - {f.name for f in dataclasses.fields(ReservoirSettings)})
            if unknown:
                raise TypeError(f"ReservoirModel got unknown option(s) {unknown}; see ReservoirSettings.")
            settings = dataclasses.replace(settings, **options)
        self.settings = settings
        train_X = _as_2d_tensor(train_X, "train_X")
        train_Y = _as_2d_tensor(train_Y, "train_Y")
        if train_X.shape[0] != train_Y.shape[0]:
            raise ValueError(
                f"train_X has {train_X.shape[0]} rows but train_Y has {train_Y.shape[0]}."
            )
        if train_X.shape[0] < 4:
            raise ValueError(
                f"ReservoirModel needs at least 4 training rows to bootstrap; got {train_X.shape[0]}."
            )
        self.train_inputs = (train_X,)
        self.train_targets_raw = train_Y
        with torch.no_grad():
            X_tf = self.transform_inputs(X=train_X, input_transform=input_transform)
        if outcome_transform is not None:
            outcome_transform.train()
            Y_tf, _ = outcome_transform(train_Y, X=X_tf)
            outcome_transform.eval()
        else:
            Y_tf = train_Y
        if input_transform is not None:
            self.input_transform = input_transform
        if outcome_transform is not None:
            self.outcome_transform = outcome_transform
        self._X = X_tf.detach().cpu().numpy().astype(np.float64)
        self._Y = Y_tf.detach().cpu().numpy().astype(np.float64)
        self._num_outputs = self._Y.shape[1]
        self.families = resolved
        self.n_members = settings.n_members
        self.capacity = capacity
        self.capacity_settings = capacity_settings if capacity_settings is not None else CapacitySettings()
        self.remaining_budget = remaining_budget
        self.clusterer = clusterer or _default_clusterer
        self.tuning_state = tuning_state if tuning_state is not None else TuningState()
        self.member_weighting = settings.member_weighting
        self.std_floor = settings.std_floor
        self.input_clip = settings.input_clip
        self.seed = int(seed)
        self.n_jobs = int(n_jobs)
        self.dedupe_fraction = 0.9
        self._trend_points = trend_points
        self.input_scale = None if input_scale is None else np.asarray(input_scale, dtype=np.float64).reshape(-1)
        if self.input_scale is not None and self.input_scale.size != self._X.shape[1]:
            raise ValueError(f"input_scale has {self.input_scale.size} entries for {self._X.shape[1]} inputs.")
        self.input_groups = None if input_groups is None else np.asarray(input_groups, dtype=np.int64).reshape(-1)
        if self.input_groups is not None and self.input_groups.size != self._X.shape[1]:
            raise ValueError(f"input_groups has {self.input_groups.size} entries for {self._X.shape[1]} inputs.")
        self._fitted: list[_FittedFamily] = []
        self.std_scale = np.ones((0, self._num_outputs))  # M x m, set by fit (stage1.calibrate_std)
        self.dropped_families: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._set_standardisation()

    def _set_standardisation(self) -> None:
        X, Y = self._X, self._Y
        self._x_mean = X.mean(axis=0)
        x_std = X.std(axis=0)
        self._x_std = np.where(x_std > 1e-12, x_std, 1.0)
        if self.input_scale is not None:  # fixed scales (one-hot indicators: sqrt(2))
            self._x_std = np.where(np.isfinite(self.input_scale), self.input_scale, self._x_std)
        self._y_mean = Y.mean(axis=0)
        y_std = Y.std(axis=0)
        self._y_std = np.where(y_std > 1e-12, y_std, 1.0)

    def standardised_training_data(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(Xs, Ys)``: the ``n x d`` inputs as the members see them (standardised on the
        training rows, clipped to ``+-input_clip``) and the ``n x m`` standardised targets.
        Stage 0 estimates the capacity on exactly these."""
        return self._standardise(self._X), (self._Y - self._y_mean) / self._y_std

    @property
    def is_fitted(self) -> bool:
        r"""Whether :meth:`fit` has run."""
        return bool(self._fitted)

    # ------------------------------------------------------------------ fit
    def fit(self, capacity: CapacityReport | None = None) -> ReservoirModel:
        r"""Fit every family's members (Stage 0 capacity if not given, bootstrap, OOB scores).

        Args:
            capacity: The Stage-0 report to fit under (default: the one given at
                construction, else estimated from the standardised training data).

        Returns:
            ``self``.
        """
        t0 = time.perf_counter()
        settings = self.settings
        Xs, Ys = self.standardised_training_data()
        n, d = Xs.shape
        self._Xs, self._Ys = Xs, Ys
        if capacity is not None:
            self.capacity = capacity
        if self.capacity is None:
            self.capacity = estimate_capacity(
                Xs, Ys, remaining_budget=self.remaining_budget, settings=self.capacity_settings, seed=self.seed
            )
        t1 = time.perf_counter()

        threshold = settings.bias_threshold(pool=False)  # the loop resolves "auto" by its source
        use_bias = settings.target_bias and not (threshold is not None and n < threshold * d**2)
        labels = self.clusterer(Xs, self.seed) if use_bias else np.full(n, -1)
        self.bootstrap_biased = bool(use_bias)
        self.cluster_labels = np.asarray(labels)
        rng = np.random.default_rng(self.seed)
        plans = []
        for t in range(self._num_outputs):
            probs = (
                target_biased_probabilities(Ys[:, t], labels, clustered_mass=settings.clustered_mass)
                if use_bias else None
            )
            plans.append(
                plan_bootstrap(
                    n, self.n_members, rng, biased_probs=probs,
                    biased_fraction=settings.biased_fraction, rho_range=settings.rho_range,
                )
            )
        self.bootstrap_plans = plans
        t2 = time.perf_counter()
        fitted, family_times = self._fit_families(Xs, Ys, plans)
        self._fitted = fitted
        self.std_scale = (
            std_scales(
                np.stack([oob_std_scale(ff.oob_pred, ff.oob_var, Ys, floor=settings.std_floor) for ff in fitted]),
                settings.calibrate_std,
            )
            if settings.calibrate_std != "off" else np.ones((len(fitted), self._num_outputs))
        )
        t3 = time.perf_counter()
        self._score_trends(self._trend_points)
        self._set_weights()
        self.timings = {
            "capacity": t1 - t0,
            "bootstrap": t2 - t1,
            "families": t3 - t2,
            "total": time.perf_counter() - t0,
            **{f"family/{k}": v for k, v in family_times.items()},
        }
        return self

    def _fit_families(
        self, Xs: np.ndarray, Ys: np.ndarray, plans: Sequence[Any]
    ) -> tuple[list[_FittedFamily], dict[str, float]]:
        r"""Tune and fit every family (in parallel with ``n_jobs > 1``); drop failures."""
        assert self.capacity is not None
        tasks = []
        for f_idx, family in enumerate(self.families):
            known = {
                t: self.tuning_state.lookup(family.name, t, self.capacity.d_eff, self.capacity.capacity)
                for t in range(self._num_outputs)
            }
            tasks.append((family, f_idx, known))
        args: dict[str, Any] = dict(
            Xs=Xs, Ys=Ys, capacity=self.capacity, plans=plans, n_members=self.n_members,
            seed=self.seed, max_settings=self.settings.max_settings,
        )
        if self.n_jobs == 1 or len(tasks) == 1:
            results = [_fit_family_task(fam, i, known, **args) for fam, i, known in tasks]
        else:
            from joblib import Parallel, delayed

            # Start the costly families first so the workers stay balanced.
            cost = {"high": 0, "custom": 1, "medium": 2, "low": 3}
            order = sorted(range(len(tasks)), key=lambda j: cost.get(tasks[j][0].tier, 1))
            done = Parallel(n_jobs=self.n_jobs, backend="loky")(
                delayed(_fit_family_task)(*tasks[j], **args) for j in order
            )
            by_task = dict(zip(order, done))
            results = [by_task[j] for j in range(len(tasks))]
        fitted: list[_FittedFamily] = []
        self.dropped_families = {}
        family_times: dict[str, float] = {}
        for (family, _, _), (result, records, elapsed) in zip(tasks, results):
            family_times[family.name] = elapsed
            if isinstance(result, str):
                self.dropped_families[family.name] = result
                warnings.warn(
                    f"Surrogate family {family.name!r} failed to fit and is dropped "
                    f"for this iteration ({result}).",
                    SurrogateFitWarning,
                    stacklevel=3,
                )
                continue
            # Estimators fitted in worker processes come back as copies; keep
            # the caller's family object so registry identity is preserved.
            result.family = family
            fitted.append(result)
            for t, rec in records.items():
                self.tuning_state.records[(family.name, t)] = rec
        if not fitted:
            raise RuntimeError(
                "Every surrogate family failed to fit: "
                + "; ".join(f"{k}: {v}" for k, v in self.dropped_families.items())
            )
        return fitted, family_times

    def _score_trends(self, points: Tensor | np.ndarray | None) -> None:
        r"""Score each family's structural trend ``S_m`` and finalise its scores."""
        Z = self._Xs if points is None else self._standardise(self._to_numpy(points))
        means = self._member_values(Z)[0].mean(axis=1)  # M x k x m
        for t in range(self._num_outputs):
            S, flat = structural_trend(Z, means[:, :, t])
            for i, ff in enumerate(self._fitted):
                ff.scores[t] = family_score(
                    ff.member_scores[t], trend=float(S[i]), flat=bool(flat[i])
                )

    def _set_weights(self) -> None:
        r"""Member weights of the ensemble posterior.

        ``"softmax"`` (default): family weights ``exp(s_m / T)`` on the OOB
        accuracy ``s_m`` (averaged over targets), ``T = weight_temperature``;
        in the Stage-1 benchmark this tracks the best family (held-out R^2 on
        the Curie data at n = 200: 0.63 with linear weights, 0.73 with these).
        ``"reliability"``: weights proportional to ``(s_m + e_m) / 2``.
        ``"uniform"``: equal weights. Members share their family's weight.
        """
        B, M = self.n_members, len(self._fitted)
        if self.member_weighting == "uniform":
            fam_w = np.ones(M)
        elif self.member_weighting == "softmax":
            acc = np.array([[s.accuracy for s in ff.scores] for ff in self._fitted]).mean(axis=1)
            fam_w = np.exp((acc - acc.max()) / self.settings.weight_temperature)
        else:
            rel = np.array([[s.reliability for s in ff.scores] for ff in self._fitted])  # M x m
            rel = rel / np.maximum(rel.sum(axis=0, keepdims=True), 1e-12)
            fam_w = rel.mean(axis=1)
        fam_w = np.maximum(fam_w / fam_w.sum(), 1e-6)
        w = np.repeat(fam_w / B, B)
        self.ensemble_weights = torch.as_tensor(w / w.sum(), dtype=torch.float64)

    # ----------------------------------------------------------- prediction
    @property
    def family_names(self) -> tuple[str, ...]:
        r"""Names of the fitted (not dropped) families, in ensemble order."""
        return tuple(ff.family.name for ff in self._fitted)

    @property
    def num_members(self) -> int:
        r"""Ensemble size ``s = M * B``."""
        return len(self._fitted) * self.n_members

    @property
    def family_scores(self) -> dict[str, list[FamilyScore]]:
        r"""Per family, one :class:`FamilyScore` per target."""
        return {ff.family.name: list(ff.scores) for ff in self._fitted}

    @property
    def family_params(self) -> dict[str, list[dict[str, Any]]]:
        r"""Per family, the chosen hyper-parameters per target."""
        return {ff.family.name: list(ff.params) for ff in self._fitted}

    @property
    def provides_std(self) -> np.ndarray:
        r"""``M`` flags: which families add their own predictive variance."""
        return np.array([ff.family.provides_std for ff in self._fitted])

    def _to_numpy(self, X: Tensor | np.ndarray) -> np.ndarray:
        if isinstance(X, Tensor):
            X = X.detach().cpu().numpy()
        return np.asarray(X, dtype=np.float64)

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        if X.shape[-1] != self._x_mean.size:
            raise ValueError(
                f"Inputs have {X.shape[-1]} features but the model was trained on {self._x_mean.size}."
            )
        Z = (X - self._x_mean) / self._x_std
        if self.input_clip is not None:
            Z = np.clip(Z, -self.input_clip, self.input_clip)
        return Z

    def _member_values(
        self, Xs: np.ndarray, members: int | None = None, family: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Member predictions and their own stds (0 where a family has none) in
        standardised target units: two ``M x B x k x m`` arrays (``B``: the first
        ``members`` members of every family when given; ``M = 1`` when ``family`` is)."""
        B = self.n_members if members is None else min(int(members), self.n_members)
        fitted = self._fitted if family is None else [self._fitted[family]]
        M, m, k = len(fitted), self._num_outputs, Xs.shape[0]
        vals = np.empty((M, B, k, m))
        stds = np.zeros((M, B, k, m))
        with limit_threads(1):
            for i, ff in enumerate(fitted):
                for t in range(m):
                    for b, est in enumerate(ff.estimators[t][:B]):
                        mu, sd = ff.family.predict(est, Xs)
                        vals[i, b, :, t] = mu
                        if sd is not None:
                            stds[i, b, :, t] = sd
        return vals, stds

    @overload
    def member_predictions(
        self,
        X: Tensor | np.ndarray,
        *,
        transformed: bool = ...,
        return_std: Literal[False] = ...,
        chunk_size: int = ...,
        members: int | None = ...,
        family: int | None = ...,
    ) -> np.ndarray: ...

    @overload
    def member_predictions(
        self,
        X: Tensor | np.ndarray,
        *,
        transformed: bool = ...,
        return_std: Literal[True],
        chunk_size: int = ...,
        members: int | None = ...,
        family: int | None = ...,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def member_predictions(
        self,
        X: Tensor | np.ndarray,
        *,
        transformed: bool = False,
        return_std: bool = False,
        chunk_size: int = 50_000,
        members: int | None = None,
        family: int | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        r"""Every member's prediction, in the units of ``train_Y``.

        Args:
            X: ``k x d`` raw inputs (or already input-transformed when
                ``transformed=True``).
            transformed: Whether ``X`` has been passed through the input
                transform already.
            return_std: Also return the members' own predictive std (zero for
                families without one).
            chunk_size: Rows predicted at once (bounds memory).
            members: Only the first ``members`` bootstrap members of every family
                (``B = min(members, n_members)``; all when ``None``): the closed-pool
                prefilter of very large pools screens with fewer members
                (``stage2.pool.prefilter_members``).
            family: Only the members of family ``family`` (an index into
                :attr:`family_names`; ``M = 1``): a box's per-family differential-evolution
                run scores its own family's members and no others.

        Returns:
            ``M x B x k x m`` predictions (and the same-shaped stds).
        """
        if family is not None and not 0 <= int(family) < len(self._fitted):
            raise IndexError(f"family must be an index below {len(self._fitted)}, got {family}.")
        Xn = self._to_numpy(X)
        if Xn.ndim != 2:
            raise ValueError(f"member_predictions expects a k x d array, got shape {Xn.shape}.")
        if not transformed and hasattr(self, "input_transform"):
            self.eval()
            with torch.no_grad():
                Xn = self._to_numpy(self.input_transform(torch.as_tensor(Xn)))
        outs, sds = [], []
        for start in range(0, max(Xn.shape[0], 1), chunk_size):
            Xs = self._standardise(Xn[start : start + chunk_size])
            v, s = self._member_values(Xs, members, family)
            outs.append(v)
            sds.append(s)
        vals = np.concatenate(outs, axis=2) * self._y_std + self._y_mean
        stds = np.concatenate(sds, axis=2) * self._y_std
        if hasattr(self, "outcome_transform"):
            vals, stds = self._untransform_numpy(vals, stds)
        return (vals, stds) if return_std else vals

    def standardised_inputs(self, X: Tensor | np.ndarray, *, transformed: bool = False) -> np.ndarray:
        r"""``k x d`` inputs as the members see them (transformed, standardised, clipped)."""
        Xn = self._to_numpy(X)
        if not transformed and hasattr(self, "input_transform"):
            self.eval()
            with torch.no_grad():
                Xn = self._to_numpy(self.input_transform(torch.as_tensor(Xn)))
        return self._standardise(Xn.reshape(-1, Xn.shape[-1]))

    def _untransform_numpy(self, vals: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        M, B, k, m = vals.shape
        v = torch.as_tensor(vals.reshape(M * B, k, m))
        s = torch.as_tensor(stds.reshape(M * B, k, m))
        with torch.no_grad():
            v_u, var_u = self.outcome_transform.untransform(v, s**2)
        v_out = v_u.numpy().reshape(M, B, k, m)
        s_out = np.sqrt(np.maximum(var_u.numpy(), 0.0)).reshape(M, B, k, m) if var_u is not None else stds
        return v_out, s_out

    def family_moments(self, X: Tensor | np.ndarray, *, transformed: bool = False) -> FamilyMoments:
        r"""Family-level means and stds at ``k`` points (units of ``train_Y``).

        ``std`` combines the spread of the family's members and (for families
        that report one) the mean of their own predictive variances, floored at
        ``std_floor`` (0.03, docs/method.md's floor of a member's scale) training
        standard deviations: members that agree exactly (k-NN with k = 1) do
        not claim zero uncertainty.
        """
        vals, stds = self.member_predictions(X, transformed=transformed, return_std=True)
        mean = vals.mean(axis=1)
        var = vals.var(axis=1, ddof=1) + (stds**2).mean(axis=1)
        floor = self.std_floor * self.train_targets_raw.std(dim=0).clamp_min(1e-12).numpy()
        std = np.maximum(np.sqrt(var), floor) * self.std_scale[:, None, :]
        return FamilyMoments(names=self.family_names, mean=mean, std=std)

    def forward(self, X: Tensor) -> Tensor:
        r"""Ensemble values at ``X``.

        Args:
            X: ``batch x q x d`` input-transformed inputs.

        Returns:
            ``batch x s x q x m`` member predictions in the (outcome-transformed)
            training units, ``s = M * B`` ordered family-major.
        """
        return self._ensemble(X, with_std=False)[0]

    def _ensemble(self, X: Tensor, *, with_std: bool) -> tuple[Tensor, Tensor | None]:
        r""":meth:`forward`'s values and, with ``with_std``, the members' own stds
        (``batch x s x q x m`` each; the stds ``None`` without it)."""
        batch_shape, q, d = X.shape[:-2], X.shape[-2], X.shape[-1]
        flat = self._to_numpy(X.reshape(-1, d))
        # MC acquisitions evaluate t-batches that repeat the same rows (the
        # baseline of qLogNEI, pending points of a sequential greedy batch):
        # predict each distinct row once.
        inverse = None
        if flat.shape[0] > 1:
            uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
            if uniq.shape[0] < self.dedupe_fraction * flat.shape[0]:
                flat = uniq
            else:
                inverse = None
        vals, sds = self._member_values(self._standardise(flat))  # M x B x k x m each
        arrays = [vals * self._y_std + self._y_mean] + ([sds * self._y_std] if with_std else [])
        out: list[Tensor] = []
        for a in arrays:
            if inverse is not None:
                a = a[:, :, inverse.reshape(-1), :]
            M, B, _, m = a.shape
            t = torch.as_tensor(a.reshape(M * B, -1, q, m), dtype=X.dtype, device=X.device)
            out.append(t.transpose(0, 1).reshape(*batch_shape, M * B, q, m))
        return out[0], (out[1] if with_std else None)

    def _forward(self, X: Tensor) -> Tensor:
        r""":meth:`forward` without autograd through the members (they are not
        differentiable), connected to ``X`` with a zero gradient so that gradient-based
        optimisers (Ax's default on continuous spaces) run and fall back on their random
        restarts instead of failing on a missing graph."""
        with torch.no_grad():
            values = self.forward(X)
        return _zero_gradient_link(values, X)

    def posterior(  # type: ignore[override]  # EnsembleModel's signature (no observation_noise)
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        posterior_transform: PosteriorTransform | None = None,
        **kwargs: Any,
    ) -> ReservoirPosterior:
        r"""The ensemble posterior at ``X`` (``batch x q x d``).

        BoTorch's :meth:`EnsembleModel.posterior` (input transform, :meth:`forward`,
        outcome untransform, output selection), returned as a
        :class:`~axfusion.models.sampler.ReservoirPosterior` (which enumerates members
        when sampled). With ``settings.member_noise`` (the default) and a family that
        reports its own predictive std (GPs, forests), the posterior carries the members'
        stds too: a stock BoTorch acquisition then sees a GP member's uncertainty, not only
        the members' spread. A
        :class:`~botorch.acquisition.objective.ScalarizedPosteriorTransform` (which Ax
        passes for single-objective problems) is applied to the member values directly,
        ``values @ weights + offset`` (and the stds as ``sqrt(stds^2 @ weights^2)``):
        BoTorch's own expects a Gaussian.
        """
        if not (self.settings.member_noise and bool(np.any(self.provides_std))):
            base = super().posterior(X, output_indices=output_indices, **kwargs)
            values, stds = base.values, None
        else:
            if isinstance(kwargs.get("observation_noise"), Tensor):
                raise UnsupportedError("Ensemble models do not support observation noise.")
            self.eval()
            X = self.transform_inputs(X)
            with torch.no_grad():
                values, stds = self._ensemble(X, with_std=True)
            assert stds is not None
            values = _zero_gradient_link(values, X)  # as in _forward
            if hasattr(self, "outcome_transform"):
                values, var = self.outcome_transform.untransform(values, stds**2, X=X)
                stds = None if var is None else var.clamp_min(0.0).sqrt()
            if output_indices is not None:
                values = values[..., output_indices]
                stds = None if stds is None else stds[..., output_indices]
        post = ReservoirPosterior(values=values, weights=self.ensemble_weights, stds=stds)
        if posterior_transform is None:
            return post
        if isinstance(posterior_transform, ScalarizedPosteriorTransform):
            w = torch.as_tensor(posterior_transform.weights).to(values)
            scalar = (values @ w + posterior_transform.offset).unsqueeze(-1)
            sd = None if stds is None else ((stds**2) @ (w**2)).sqrt().unsqueeze(-1)
            return ReservoirPosterior(values=scalar, weights=self.ensemble_weights, stds=sd)
        return posterior_transform(post, X=X)

    # --------------------------------------------------------- diagnostics
    def oob_residuals(self) -> np.ndarray:
        r"""Per training row, the mean out-of-bag residual over all members.

        Returns:
            ``n x m`` residuals (standardised units; NaN where a row was in
            every member's bag).
        """
        preds = np.concatenate([ff.oob_pred for ff in self._fitted], axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_pred = np.nanmean(preds, axis=0)
        return self._Ys - mean_pred

    def residual_correlation(self) -> np.ndarray:
        r"""``m x m`` correlation of the out-of-bag residuals between targets."""
        R = self.oob_residuals()
        keep = np.all(np.isfinite(R), axis=1)
        m = R.shape[1]
        if m == 1 or keep.sum() < 3:
            return np.eye(m)
        C = np.corrcoef(R[keep].T)
        C = np.where(np.isfinite(C), C, 0.0)
        np.fill_diagonal(C, 1.0)
        return C

    def diagnostics(self) -> dict[str, Any]:
        r"""A JSON-serialisable summary: capacity, family scores and timings."""
        return {
            "capacity": None if self.capacity is None else self.capacity.as_dict(),
            "families": {
                name: [s.as_dict() for s in scores] for name, scores in self.family_scores.items()
            },
            "dropped_families": dict(self.dropped_families),
            "bootstrap_biased": self.bootstrap_biased,
            "n_members": self.n_members,
            "timings": dict(self.timings),
        }

    # Ax / BoTorch plumbing: the training data are plain arrays, not GP inputs.
    def _set_transformed_inputs(self) -> None:
        return None

    def _revert_to_original_inputs(self) -> None:
        return None
