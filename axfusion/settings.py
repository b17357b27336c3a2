r"""One frozen, validated settings tree for the whole method.

:class:`Settings` holds every option of the fusion method in one tree that follows the
paper's stages (the formulas behind each option are in ``docs/method.md``)::

    Settings
      stage0  CapacitySettings     intrinsic dimension -> information budget -> caps
      stage1  ReservoirSettings    families, bootstrap, tuning, member weighting
      stage2  CandidateSettings    pool (prefilter) | box (DE + Sobol), structure pi(x), clusterer
      stage3  DecisionSettings     fusion (model channel, KF/rKF), hypervolume, batch rules
      loop    LoopSettings         batch size, planned iterations, threads, chunking

Every node is a frozen dataclass that validates its values on construction (a wrong type
or range raises a one-line ``SettingsError`` that names the option and what it accepts), so
a settings object is always valid. The tree is saved whole in every campaign file and in
the Ax node's stored arguments, and restored with :meth:`Settings.from_dict`.

Options are addressed by dotted paths (``"stage1.n_members"``,
``"stage3.fusion.kalman.channels"``) or, where unique, by their last name
(``"n_members"``); :meth:`Settings.with_options` applies a mapping of them, and
:func:`preset` names the recipes a user selects in one word:

- ``"default"``: this library's defaults (the paper's method with the cheaper search
  recipe that the benchmarks use: 8 members, 2,000 box candidates);
- ``"paper"``: the paper's recipe at full strength (10 members per family, 10,000
  box candidates, DE run to convergence);
- ``"authors_code"``: the authors' published code where it departs from the paper
  (bootstrap bias switched off below ``10 d^2`` rows, unclipped ``gamma``, the R^2
  fusion channel only, no ``pi(x)``, no cluster bandwidth rule), on the paper's recipe.

This module is a leaf: it imports nothing from the rest of the package, so every stage
can import its own settings from here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

__all__ = [
    "BatchSettings",
    "BoxSettings",
    "CandidateSettings",
    "CapacitySettings",
    "ChannelConfig",
    "ClusterConfig",
    "DecisionSettings",
    "FusionConfig",
    "HypervolumeConfig",
    "KalmanConfig",
    "LEGACY_VALUES",
    "LoopSettings",
    "PRESETS",
    "PoolSettings",
    "ReservoirSettings",
    "Settings",
    "SettingsError",
    "SettingsTypeError",
    "StructureSettings",
    "preset",
    "saved_settings",
    "resolve",
]

#: Clustering algorithms the adaptive clusterer knows (``axfusion.structure.algorithms``).
CLUSTER_ALGORITHMS = ("kmeans", "gmm", "hdbscan", "leiden")
#: Components of the structural weight pi(x) (``axfusion.structure.weights``).
PI_COMPONENTS = ("edge", "bridge", "tail", "coverage", "novelty")


class SettingsError(ValueError):
    r"""An option has a wrong name, type or value (the message names it and the fix)."""


class SettingsTypeError(SettingsError, TypeError):
    r"""An option has a value of the wrong type."""


# --------------------------------------------------------------------------- checking
def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a sequence of {_describe(args[0])}"
        return f"a sequence of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if origin in (dict, Mapping):
        return "a mapping"
    if tp is type(None):
        return "None"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(tp: Any, value: Any, path: str) -> Any:
    r"""``value`` as type ``tp`` (lists become tuples, mappings become nested settings).

    Raises:
        SettingsError: naming ``path`` and the accepted type.
    """
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except SettingsTypeError as err:
                errors.append(err)
        raise SettingsTypeError(f"{path} must be {_describe(tp)}; got {value!r}.")
    if origin is Literal:
        if value in get_args(tp) and not isinstance(value, bool):
            return value
        raise SettingsTypeError(f"{path} must be {_describe(tp)}; got {value!r}.")
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SettingsTypeError(f"{path} must be {_describe(tp)}; got {value!r}.")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SettingsTypeError(f"{path} must be {_describe(tp)}; got {value!r}.")
        return tuple(_coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise SettingsTypeError(f"{path} must be a mapping; got {value!r}.")
        _, vt = get_args(tp)
        return {str(k): _coerce(vt, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return _from_mapping(tp, value, path)
        raise SettingsTypeError(f"{path} must be a {tp.__name__} or a mapping of its options; got {value!r}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isnan(float(value)):
                raise SettingsError(f"{path} must be a number, not NaN.")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Any:
        return value
    raise SettingsTypeError(f"{path} must be {_describe(tp)}; got {value!r} ({type(value).__name__}).")


def _from_mapping(cls: type, values: Mapping[str, Any], path: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise SettingsError(
            f"unknown option(s) {', '.join(f'{path}.{u}' if path else u for u in unknown)}; "
            f"{path or cls.__name__} has {', '.join(sorted(names))}."
        )
    return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    r"""The resolved field types of a settings class (cached)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


class _Node:
    r"""Mixin of every settings node: type checking, dict round trip, dotted access."""

    _path = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            where = f"{self._path}.{f.name}" if self._path else f.name
            object.__setattr__(self, f.name, _coerce(hints[f.name], getattr(self, f.name), where))
        self._validate()

    def _validate(self) -> None:
        r"""Range checks of the node (types are already checked)."""

    def _check(self, ok: bool, name: str, what: str) -> None:
        if not ok:
            where = f"{self._path}.{name}" if self._path else name
            raise SettingsError(f"{where} must be {what}; got {getattr(self, name)!r}.")

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-serialisable nested dict (tuples as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Any:
        r"""Rebuild from :meth:`as_dict` output (missing keys take their defaults)."""
        return _from_mapping(cls, values, cls._path)


def _plain(value: Any) -> Any:
    if isinstance(value, _Node):
        return value.as_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------------- stage 0
@dataclass(frozen=True)
class CapsSettings(_Node):
    r"""How the granted capacity ``C`` becomes per-family caps (all non-decreasing in ``C``).

    Attributes:
        min_trees, max_trees_ceiling: Range of the number of trees.
        leaves_scale: Leaves grow like ``leaves_scale * C``.
        min_depth, max_depth_ceiling: Range of tree depths.
        min_samples_leaf_scale: Minimum leaf size shrinks like ``scale / sqrt(C)``.
        mlp_width_factor, mlp_width_floor, mlp_width_ceiling: MLP width
            ``~ factor * d_eff * ln(1 + d_eff)`` within ``[floor, ceiling]``.
        mlp_depth_thresholds: Capacities at which the MLP gets one more layer.
        knn_k_floor, knn_k_scale, knn_k_ceiling: Range of ``k`` for k-NN.
        alpha_max, alpha_scale, alpha_floor, alpha_per_decade: Regularisation grid of
            the linear families.
    """

    _path = "stage0.caps"
    min_trees: int = 20
    max_trees_ceiling: int = 1000
    leaves_scale: float = 2.0
    min_depth: int = 2
    max_depth_ceiling: int = 12
    min_samples_leaf_scale: float = 16.0
    mlp_width_factor: float = 8.0
    mlp_width_floor: int = 8
    mlp_width_ceiling: int = 256
    mlp_depth_thresholds: tuple[int, ...] = (100, 400)
    knn_k_floor: int = 5
    knn_k_scale: float = 2.0
    knn_k_ceiling: int = 50
    alpha_max: float = 10.0
    alpha_scale: float = 1.0
    alpha_floor: float = 1e-4
    alpha_per_decade: int = 3


@dataclass(frozen=True)
class CapacitySettings(_Node):
    r"""Stage 0: dimension-aware capacity control (``docs/method.md``, Stage 0).

    Attributes:
        variance_threshold: Variance share defining ``d_unsup`` (PCA).
        sir_slices, sir_min_slice_size, sir_level: Sliced inverse regression for ``d_sup``.
        mle_neighbors: Neighbourhood of the Levina--Bickel MLE (``d_est``).
        twonn_discard_fraction: Largest ratios TwoNN discards (fallback of ``d_est``).
        budget_scale, budget_floor: ``N_budget = max(floor, round(scale d_eff ln(1 + d_sup)))``.
        data_multiplier: ``C = min(data_multiplier * n, N_budget)``.
        max_knn_points: Designs used by the k-NN estimators (a seeded subset above it).
        limit_capacity: Grant ``C = min(data_multiplier n, N_budget)`` (the method);
            ``False`` grants the caps' ceilings whatever the data (the ablation "no Stage 0":
            the dimensions are still estimated and reported).
        caps: :class:`CapsSettings`.
    """

    _path = "stage0"
    variance_threshold: float = 0.95
    sir_slices: int = 10
    sir_min_slice_size: int = 5
    sir_level: float = 0.05
    mle_neighbors: int = 20
    twonn_discard_fraction: float = 0.1
    budget_scale: float = 32.0
    budget_floor: int = 10
    data_multiplier: int = 3
    max_knn_points: int = 2000
    limit_capacity: bool = True
    caps: CapsSettings = field(default_factory=CapsSettings)

    def _validate(self) -> None:
        self._check(0 < self.variance_threshold <= 1, "variance_threshold", "in (0, 1]")
        self._check(self.data_multiplier >= 1, "data_multiplier", "at least 1")
        self._check(self.budget_floor >= 1, "budget_floor", "at least 1")
        self._check(self.mle_neighbors >= 2, "mle_neighbors", "at least 2")


# ------------------------------------------------------------------------- stage 1
@dataclass(frozen=True)
class ReservoirSettings(_Node):
    r"""Stage 1: the heterogeneous bootstrap reservoir (``docs/method.md``, Stage 1).

    Attributes:
        families: Surrogate family names (``None``: on a pool the default seven,
            ``DEFAULT_FAMILIES``; in a box those plus the ARD GP, ``DEFAULT_BOX_FAMILIES``).
        n_members: Bootstrap members ``B`` per family.
        target_bias: Target-biased cluster bootstrap (the paper); ``False`` draws every
            member uniformly.
        bias_off_below_n_per_d2: Switch the bias off when ``n < value * d^2`` (the
            authors' code: 10); ``None`` never switches it off (the paper); ``"auto"``
            (default): 10 on a closed pool, where it measured better, ``None`` in a box,
            where it measured worse (:meth:`bias_threshold`).
        biased_fraction: Share of members drawn from the biased probabilities.
        rho_range: A biased member draws from ``rho * uniform + (1 - rho) * biased``,
            ``rho ~ U(rho_range)``.
        clustered_mass: Probability mass shared by clustered points (noise points share
            the rest uniformly).
        max_settings: Hyper-parameter settings tried per family (on one resample).
        member_weighting: Weights of the ensemble posterior: ``"softmax"`` on the OOB
            accuracy, ``"reliability"`` (``(s_m + e_m) / 2``) or ``"uniform"``.
        weight_temperature: Temperature of the softmax weights.
        std_floor: Floor of a family's predictive std, as a share of the target's std.
        input_clip: Inputs clipped to this many training stds (``None``: no clipping).
        winsorize: Tukey's fence ``c`` at which the bad tail of each maximised or minimised
            target is clipped before the members see it (``Q1 - c IQR`` / ``Q3 + c IQR``,
            as Ax's default GP-BO does with 1.5; :mod:`axfusion.models.outcome`); ``None``
            (default): the raw targets, as in the paper -- 1.5 measured no better on mixed
            Branin and worse on mixed Rosenbrock-10D (docs/method.md).
        member_noise: The ensemble posterior (``ReservoirModel.posterior``, what a stock
            BoTorch acquisition reads) carries the members' own predictive stds where a
            family reports one (GPs, forests): samples are ``member + std z``. ``False``:
            the members' means only (BoTorch's ``EnsemblePosterior``). The fusion
            acquisition reads the members directly and does not depend on it.
        calibrate_std: Scale each family's predictive std (what the fusion acquisition, its
            Kalman weights and the exploration score read) by the factor that makes it cover
            the family's own out-of-bag errors (:func:`axfusion.models.reservoir.oob_std_scale`,
            :func:`~axfusion.models.reservoir.std_scales`): ``"widen"`` (never narrowed),
            ``"relative"`` (divided by the families' geometric mean: only the families'
            stds against each other change) or ``"off"`` (default). The bootstrap spread of
            trees and k-NN covers 32-75 % of a pool's unmeasured rows in its 90 % intervals
            (docs/method.md).
    """

    _path = "stage1"
    families: tuple[str, ...] | None = None
    n_members: int = 8
    target_bias: bool = True
    bias_off_below_n_per_d2: float | Literal["auto"] | None = "auto"
    biased_fraction: float = 0.5
    rho_range: tuple[float, float] = (0.6, 1.0)
    clustered_mass: float = 0.9
    max_settings: int = 4
    member_weighting: Literal["softmax", "reliability", "uniform"] = "softmax"
    weight_temperature: float = 0.05
    std_floor: float = 0.03
    input_clip: float | None = 5.0
    winsorize: float | None = None
    member_noise: bool = True
    calibrate_std: Literal["off", "widen", "relative"] = "off"

    def _validate(self) -> None:
        self._check(self.n_members >= 2, "n_members", "at least 2 (the members' spread is the uncertainty)")
        self._check(self.calibrate_std in ("off", "widen", "relative"), "calibrate_std", "'off', 'widen' or 'relative'")
        self._check(self.families is None or len(self.families) > 0, "families", "a non-empty list or None")
        self._check(0 <= self.biased_fraction <= 1, "biased_fraction", "in [0, 1]")
        lo, hi = self.rho_range
        self._check(0 <= lo <= hi <= 1, "rho_range", "(lo, hi) with 0 <= lo <= hi <= 1")
        self._check(0 < self.clustered_mass <= 1, "clustered_mass", "in (0, 1]")
        self._check(self.max_settings >= 1, "max_settings", "at least 1")
        self._check(self.weight_temperature > 0, "weight_temperature", "positive")
        self._check(self.std_floor >= 0, "std_floor", "at least 0")
        self._check(self.input_clip is None or self.input_clip > 0, "input_clip", "positive or None")
        self._check(
            self.winsorize is None or (math.isfinite(self.winsorize) and self.winsorize >= 0),
            "winsorize", "a number >= 0 (Tukey's fence, 1.5) or None",
        )
        threshold = self.bias_off_below_n_per_d2
        self._check(
            threshold is None or threshold == "auto" or threshold >= 0, "bias_off_below_n_per_d2",
            "at least 0, None or 'auto'",
        )

    def bias_threshold(self, pool: bool) -> float | None:
        r"""The rows-per-``d^2`` below which the bootstrap bias is off: the option, with
        ``"auto"`` resolved to 10 on a closed pool and ``None`` (never off) in a box or for
        a reservoir fitted on its own."""
        threshold = self.bias_off_below_n_per_d2
        if threshold == "auto":
            return 10.0 if pool else None
        return threshold


# ------------------------------------------------------------------------- stage 2
@dataclass(frozen=True)
class ClusterConfig(_Node):
    r"""Settings of the adaptive clusterer (Stage 2, shared with Stage 1's bootstrap).

    Attributes:
        algorithms: Algorithms to try, from ``("kmeans", "gmm", "hdbscan", "leiden")``.
            Leiden is off by default (as in the authors' code) and needs ``igraph`` and
            ``leidenalg``.
        kmeans_ks: Cluster counts for k-means.
        gmm_ks: Component counts for Gaussian mixtures.
        hdbscan_settings: ``(min_cluster_size, min_samples)`` pairs for HDBSCAN.
        leiden_resolutions: Resolution parameters for Leiden.
        leiden_n_neighbors: Neighbours per point in Leiden's k-NN graph.
        max_fit_rows: Rows the candidates are fitted and selected on.
        silhouette_sample_size: Rows the silhouette is computed on.
        min_points: With fewer points, one cluster is returned.
        min_cluster_size: Smaller clusters become noise.
        giant_min_size, giant_fraction: A cluster with at least
            ``max(giant_min_size, giant_fraction * m)`` members is split again.
        max_split_depth: Most bisections of one selected cluster's descendants.
        reference_size: Reference points used to assign rows (and, in
            :func:`~axfusion.structure.structural.structural_weights`, for densities and
            bridges).  Queries against it dominate the cost on big pools: about
            1.5e-5 CPU seconds per row at 4,000 points in a 10-D embedding.
        kmeans_n_init: k-means restarts.
        minibatch_above: Fit samples larger than this use MiniBatchKMeans.
        minibatch_batch_size: Its batch size.
        gmm_covariance_type: Covariance structure of the mixtures.
        gmm_reg_covar: Ridge added to mixture covariances (the features are standardised).
        gmm_max_iter: EM iterations.
        hdbscan_backend: ``"auto"`` (the ``hdbscan`` package if importable),
            ``"hdbscan"`` or ``"sklearn"``.
        n_jobs: Threads for BLAS/OpenMP and HDBSCAN's core distances while clustering
            (1 by default: the fits are small, and spare threads only contend).
    """

    _path = "stage2.cluster"
    algorithms: tuple[str, ...] = ("kmeans", "gmm", "hdbscan")
    kmeans_ks: tuple[int, ...] = (5, 10, 15, 20)
    gmm_ks: tuple[int, ...] = (5, 10, 15, 20)
    hdbscan_settings: tuple[tuple[int, int], ...] = ((5, 3), (10, 6), (20, 12))
    leiden_resolutions: tuple[float, ...] = (0.5, 1.0, 2.0)
    leiden_n_neighbors: int = 15
    max_fit_rows: int = 20_000
    silhouette_sample_size: int = 2_000
    min_points: int = 8
    min_cluster_size: int = 3
    giant_min_size: int = 50
    giant_fraction: float = 0.2
    max_split_depth: int = 3
    reference_size: int = 4_000
    kmeans_n_init: int = 3
    minibatch_above: int = 10_000
    minibatch_batch_size: int = 2_048
    gmm_covariance_type: Literal["full", "tied", "diag", "spherical"] = "full"
    gmm_reg_covar: float = 1e-4
    gmm_max_iter: int = 100
    hdbscan_backend: Literal["auto", "hdbscan", "sklearn"] = "auto"
    n_jobs: int = 1

    def _validate(self) -> None:
        unknown = sorted(set(self.algorithms) - set(CLUSTER_ALGORITHMS))
        if unknown:
            raise SettingsError(f"unknown clustering algorithm(s) {unknown}; use {CLUSTER_ALGORITHMS}")
        if not self.algorithms:
            raise SettingsError("ClusterConfig.algorithms must name at least one algorithm")
        for k in self.kmeans_ks + self.gmm_ks:
            if k < 2:
                raise SettingsError(f"cluster count must be an integer >= 2, got {k}")
        for size, samples in self.hdbscan_settings:
            if size < 2:
                raise SettingsError(f"HDBSCAN min_cluster_size must be an integer >= 2, got {size}")
            if samples < 1:
                raise SettingsError(f"HDBSCAN min_samples must be an integer >= 1, got {samples}")
        for resolution in self.leiden_resolutions:
            if not (math.isfinite(resolution) and resolution > 0):
                raise SettingsError(f"Leiden resolutions must be positive, got {resolution}")
        for name in (
            "leiden_n_neighbors", "max_fit_rows", "silhouette_sample_size", "min_points", "min_cluster_size",
            "giant_min_size", "max_split_depth", "reference_size", "kmeans_n_init", "minibatch_above",
            "minibatch_batch_size", "gmm_max_iter", "n_jobs",
        ):
            minimum = 2 if name in ("max_fit_rows", "silhouette_sample_size", "min_points", "reference_size") else 1
            if name == "max_split_depth":
                minimum = 0
            value = getattr(self, name)
            if value < minimum:
                raise SettingsError(f"{name} must be an integer >= {minimum}, got {value}")
        if not 0.0 < self.giant_fraction <= 1.0:
            raise SettingsError(f"giant_fraction must be in (0, 1], got {self.giant_fraction}")
        if not (math.isfinite(self.gmm_reg_covar) and self.gmm_reg_covar >= 0):
            raise SettingsError(f"gmm_reg_covar must be finite and >= 0, got {self.gmm_reg_covar}")


@dataclass(frozen=True)
class PoolSettings(_Node):
    r"""Stage 2a on a closed pool: the unevaluated rows, prefiltered when the pool is large.

    Attributes:
        prefilter_min_rows: Pools with at least this many available rows are reduced to
            a working set by ensemble mean and spread.
        prefilter_size: Rows of the working set.
        random_fraction: Share of the working set that is a seeded random stratified slice.
        spread_fraction: Share chosen by the ensemble spread alone.
        optimism: ``mean + optimism * spread`` ranks the rest.
        n_strata: Strata of the random slice (along the ensemble mean).
        reservoir_factor: Rows kept per working-set row while streaming the pool.
        prefilter_members: Bootstrap members per family that score the streamed rows for
            the prefilter (the first ones; ``None``: all ``stage1.n_members``). The working
            set is then scored by every member, as a pool below ``prefilter_min_rows`` is;
            only pools that large are affected (none of the built-in ones). Every member
            scoring every row was the slowest stage of a 10^6-row pool (issue 18).
        prefilter_fit_rows: The clusterer of Stage 2b is fitted on at most this many rows
            of a prefiltered working set (instead of ``stage2.cluster.max_fit_rows``;
            ``None``: that number). HDBSCAN and the mixtures on 20,000 rows were the
            slowest stage of a prefiltered pool after the prefilter itself (issue 18).
        lead_neighbours: Whether a prefiltered working set also holds the
            :data:`~axfusion.acquisition.coverage.LEAD_NEIGHBOURS` nearest available rows
            (in the members' standardised inputs) of every lead -- a measured design that
            beat its out-of-bag prediction by
            :data:`~axfusion.acquisition.coverage.LEAD_Z` robust standard deviations or more
            -- so that the lead slots (``stage3.batch.stall_leads``) and the fused picks can
            reach its neighbourhood, which a working set of a few per cent of the pool
            seldom holds. One more pass over the pool when there is a lead.
    """

    _path = "stage2.pool"
    prefilter_min_rows: int = 100_000
    prefilter_size: int = 20_000
    random_fraction: float = 0.2
    spread_fraction: float = 0.1
    optimism: float = 1.0
    n_strata: int = 10
    reservoir_factor: int = 10
    prefilter_members: int | None = 2
    prefilter_fit_rows: int | None = 5_000
    lead_neighbours: bool = True

    def _validate(self) -> None:
        self._check(self.prefilter_size >= 1, "prefilter_size", "at least 1")
        self._check(
            self.prefilter_members is None or self.prefilter_members >= 1, "prefilter_members", "None or at least 1"
        )
        self._check(
            self.prefilter_fit_rows is None or self.prefilter_fit_rows >= 2, "prefilter_fit_rows", "None or at least 2"
        )
        self._check(0 <= self.random_fraction <= 1, "random_fraction", "in [0, 1]")
        self._check(0 <= self.spread_fraction <= 1, "spread_fraction", "in [0, 1]")
        self._check(self.random_fraction + self.spread_fraction <= 1, "spread_fraction", "at most 1 - random_fraction")


@dataclass(frozen=True)
class BoxSettings(_Node):
    r"""Stage 2a in a box: differential evolution on the surrogates plus Sobol points.

    Attributes:
        n_candidates: Candidates kept per iteration (the paper: 10,000).
        time_budget_s: Wall-clock budget shared by the DE runs of the *first* box
            iteration; the generations it allowed are recorded in the campaign and bound
            every later iteration, so a campaign resumes exactly. ``None``: bounded by
            ``maxiter`` (and convergence) only.
        maxiter: Most DE generations per run.
        popsize: DE population multiplier (population ``popsize * D``).
        tol: DE's relative convergence tolerance (stops a run before ``maxiter``).
        strategy, mutation, recombination, init: scipy's DE options.
        members_per_call: Members of a family redrawn per objective call (the code: 2).
        pooled_members_per_call: Members redrawn per call in the pooled run (the code: 4).
        sobol_fraction_per_family: ``floor(n_candidates * M * fraction)`` Sobol points.
        redraw: Redraw the members per trial ``"vector"`` or once per objective ``"call"``.
        allocation: Keep the best DE vectors ``"pooled"`` over runs or ``"per_run"``.
        n_local: Local candidates around the best evaluated designs (0: the authors'
            recipe; an ablation that did not help on the benchmark functions).
        local_anchors: Best evaluated designs the local candidates start from.
        local_scales: Step sizes of the local candidates, as shares of each range.
        trust_region_candidates: Candidates drawn inside the trust region around the
            incumbent (:mod:`axfusion.candidates.trust_region`) when the batch has a
            trust-region slot (``stage3.batch.trust_region_share``).
        trust_region_polish: Rounds of a local search on an ARD GP's expected improvement
            inside the trust region (:func:`~axfusion.candidates.trust_region.refine_trust_region_codes`),
            whose ten best designs join the candidates; ``0``: none. Meant for
            ``stage3.batch.trust_region_model = "gp"``.
    """

    _path = "stage2.box"
    n_candidates: int = 2_000
    time_budget_s: float | None = 20.0
    maxiter: int = 100
    popsize: int = 15
    tol: float = 0.01
    strategy: str = "best1bin"
    mutation: float | tuple[float, float] = (0.5, 1.0)
    recombination: float = 0.7
    init: Literal["latinhypercube", "sobol", "halton", "random"] = "latinhypercube"
    members_per_call: int = 2
    pooled_members_per_call: int = 4
    sobol_fraction_per_family: float = 0.2
    redraw: Literal["vector", "call"] = "vector"
    allocation: Literal["pooled", "per_run"] = "pooled"
    n_local: int = 0
    local_anchors: int = 5
    local_scales: tuple[float, ...] = (0.2, 0.1, 0.05, 0.02, 0.01)
    trust_region_candidates: int = 500
    trust_region_polish: int = 0

    def _validate(self) -> None:
        self._check(self.n_candidates >= 1, "n_candidates", "at least 1")
        self._check(
            self.time_budget_s is None or (math.isfinite(self.time_budget_s) and self.time_budget_s > 0),
            "time_budget_s", "a positive number of seconds or None",
        )
        self._check(self.maxiter >= 1, "maxiter", "at least 1")
        self._check(self.popsize >= 1, "popsize", "at least 1")
        self._check(self.tol >= 0, "tol", "at least 0")
        self._check(self.members_per_call >= 1, "members_per_call", "at least 1")
        self._check(self.pooled_members_per_call >= 1, "pooled_members_per_call", "at least 1")
        self._check(self.sobol_fraction_per_family >= 0, "sobol_fraction_per_family", "at least 0")
        self._check(self.n_local >= 0, "n_local", "at least 0")
        self._check(self.local_anchors >= 1, "local_anchors", "at least 1")
        self._check(self.trust_region_candidates >= 0, "trust_region_candidates", "at least 0")
        self._check(self.trust_region_polish >= 0, "trust_region_polish", "at least 0")


@dataclass(frozen=True)
class StructureSettings(_Node):
    r"""Stage 2b: the embedding, the adaptive clustering and the structural weight pi(x).

    Attributes:
        enabled: Multiply the acquisition by ``pi(x)`` (``False``: ``pi = 1``, and the
            batch rules see one cluster; the authors' code has no such weight).
        pi_range: ``(lo, hi)``, ``0 < lo <= hi <= 1``: the range of ``pi``.
        n_neighbors: ``k`` of the density and bridge indicators.
        bridge_saturation: Share of other-cluster neighbours at which the bridge term is 1.
        tail_quantile: Density quantile above which the tail term starts to rise.
        component_weights: Weights of ``edge``, ``bridge``, ``tail``, ``coverage``,
            ``novelty`` (missing: 1; 0 switches a component off).
        embedding_method: ``"pca"`` or ``"umap"`` (needs ``umap-learn``).
        n_components: Embedding dimension used by the clusterer.
        chunk_size: Candidate rows processed at a time.
    """

    _path = "stage2.structure"
    enabled: bool = True
    pi_range: tuple[float, float] = (0.5, 1.0)
    n_neighbors: int = 10
    bridge_saturation: float = 0.5
    tail_quantile: float = 0.5
    component_weights: dict[str, float] | None = None
    embedding_method: Literal["pca", "umap"] = "pca"
    n_components: int = 10
    chunk_size: int = 65_536

    def _validate(self) -> None:
        lo, hi = self.pi_range
        self._check(0 < lo <= hi <= 1, "pi_range", "(lo, hi) with 0 < lo <= hi <= 1")
        self._check(self.n_neighbors >= 1, "n_neighbors", "at least 1")
        self._check(0 < self.bridge_saturation <= 1, "bridge_saturation", "in (0, 1]")
        self._check(0 <= self.tail_quantile < 1, "tail_quantile", "in [0, 1)")
        if self.component_weights is not None:
            unknown = sorted(set(self.component_weights) - set(PI_COMPONENTS))
            self._check(not unknown, "component_weights", f"a mapping over {PI_COMPONENTS}")
            self._check(
                all(math.isfinite(v) and v >= 0 for v in self.component_weights.values()),
                "component_weights", "non-negative weights",
            )
        self._check(self.n_components >= 1, "n_components", "at least 1")
        self._check(self.chunk_size >= 1, "chunk_size", "at least 1")


@dataclass(frozen=True)
class CandidateSettings(_Node):
    r"""Stage 2: candidate sources and structure.

    Attributes:
        pool: :class:`PoolSettings` (closed pools).
        box: :class:`BoxSettings` (continuous, integer and categorical boxes).
        structure: :class:`StructureSettings` (pi(x)).
        cluster: :class:`ClusterConfig` (the adaptive clusterer).
    """

    _path = "stage2"
    pool: PoolSettings = field(default_factory=PoolSettings)
    box: BoxSettings = field(default_factory=BoxSettings)
    structure: StructureSettings = field(default_factory=StructureSettings)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


# ------------------------------------------------------------------------- stage 3
@dataclass(frozen=True)
class ChannelConfig(_Node):
    r"""Constants of the model channel (``docs/method.md``, Stage 3).

    Attributes:
        disagreement_weight: ``sigma_eff = sqrt(sigma^2 + (w std_m mu_m)^2 + jitter)``.
        sigma_jitter: The jitter in ``sigma_eff``.
        p_pos_target, kappa_slope, kappa_max: ``kappa = min(max, 1 + slope max(0, target - p_pos))``.
        softplus_temperature: ``tau`` of ``imp = tau softplus(margin / tau) / (|y*| + offset)``.
        ystar_offset: The offset in ``imp``.
        ucb_h: ``h`` of the model channel's ``mu + h sigma``.
        clip_gamma: Clip ``gamma_m`` to ``[0, 1]`` (the paper; the code does not).
    """

    _path = "stage3.fusion.channel"
    disagreement_weight: float = 0.5
    sigma_jitter: float = 1e-6
    p_pos_target: float = 0.10
    kappa_slope: float = 2.0
    kappa_max: float = 3.0
    softplus_temperature: float = 0.05
    ystar_offset: float = 0.01
    ucb_h: float = 0.1
    clip_gamma: bool = True

    def _validate(self) -> None:
        self._check(self.softplus_temperature > 0, "softplus_temperature", "positive")
        self._check(self.kappa_max >= 1, "kappa_max", "at least 1")


@dataclass(frozen=True)
class KalmanConfig(_Node):
    r"""Constants of the Kalman fusion channel.

    Attributes:
        gain_mix: Share of the weights following the (inverse) variances; the
            rest (``1 - gain_mix``) is spread uniformly over the families.
        noise_floor: Floor of the measurement noise ``R_m``.
        lambda_range: Clip range of ``lambda``.
        channels: ``"both"`` fuses the R^2 and ELPD channels (the paper);
            ``"r2"`` only the R^2 channel (the authors' code).
        weights: ``"mixed"`` mixes the KF and rKF weights by the deviation ratios (the
            method); ``"kf"`` uses the KF weights alone (deviation ratios 0), ``"rkf"`` the
            rKF weights alone (deviation ratios 1), for ablations.
    """

    _path = "stage3.fusion.kalman"
    gain_mix: float = 0.9
    noise_floor: float = 1e-9
    lambda_range: tuple[float, float] = (0.01, 1.0)
    channels: Literal["both", "r2"] = "both"
    weights: Literal["mixed", "kf", "rkf"] = "mixed"

    def _validate(self) -> None:
        if not 0.0 <= self.gain_mix <= 1.0:
            raise SettingsError("gain_mix must lie in [0, 1].")
        lo, hi = self.lambda_range
        self._check(0 <= lo <= hi, "lambda_range", "(lo, hi) with 0 <= lo <= hi")


#: How the families share the fusion channels (:class:`FusionConfig`).
FamilyWeighting = Literal["auto", "uniform", "softmax", "probability", "ahead"]


@dataclass(frozen=True)
class FusionConfig(_Node):
    r"""Options of the fusion score.

    Attributes:
        channel: Constants of the model channel.
        kalman: Constants of the Kalman fusion channel.
        calibration_size: Candidates sampled to calibrate the set-level
            quantities on large candidate sets.
        flat_factor: Down-weighting of a family whose prediction is flat on the
            candidates (its ``s_m`` and ``e_m`` are multiplied by it).
        use_model_channel: Include ``A_model`` in the late fusion (ablation).
        use_fusion_channel: Include ``F`` in the late fusion (ablation).
        sigma_floor: Floor of a family's std (standardised units), the floor of a
            member's predictive scale.
        family_weighting: How the families share the channels: ``"auto"`` (the default:
            ``"probability"`` in a box, ``"uniform"`` on a closed pool and for an
            acquisition used on its own; :meth:`weighting`), ``"uniform"`` (the
            paper: ``A_model`` averages the families, ``F`` follows the Kalman weights)
            or ``"softmax"`` (each family's term is also weighted by
            ``exp((s_m - max s) / family_temperature)``, renormalised, so that the
            accurate families decide and weak ones cannot drown them) or
            ``"probability"`` (weighted by the probability that the family is the most
            accurate, each ``s_m`` known to within its members' OOB ``R^2`` std:
            families the data cannot yet tell apart share the weight, a clearly better
            family takes it; :func:`~axfusion.acquisition.fusion.probability_of_best`) or
            ``"ahead"`` (the same probability, of each family's accuracy *one batch ahead*:
            the reservoir refitted without the last measured batch predicts it, and a
            family's ``R^2`` there, with its spread over a bootstrap of the batch's rows,
            is its score -- out-of-bag scores measure interpolation among the measured
            designs, a batch ahead is what the next proposal asks of a family;
            :func:`axfusion.campaign.loop.stage1_ahead_weights`; uniform until a batch
            after the initial design is measured).
        family_temperature: Temperature of the ``"softmax"`` family weights, in units
            of the OOB accuracy ``s_m``.
        distance_spread: Widen each family's std away from the evaluated designs by its
            out-of-bag error: ``sigma_m^2 += MAD^2_m (1 - exp(-d^2 / (2 l^2)))``, ``d`` the
            distance to the nearest evaluated design in the members' input space and
            ``l`` the median nearest-neighbour distance among the evaluated designs (as a
            Gaussian process's variance grows from the noise to the prior away from the
            data; tree and k-NN members' bootstrap spread does not).
        level_spread: On categorical columns (a closed pool's one-hot indicators or level
            descriptors), widen each family's variance by ``level_spread`` times the
            candidate's level-effect variance: per categorical input and target, a one-way
            random-effects model fitted to the evaluated designs gives the effects' variance
            ``tau^2`` and the noise ``s^2`` (ANOVA moments), and a level that ``n`` evaluated
            designs share keeps ``tau^2 / (1 + n tau^2 / s^2)``, summed over the inputs
            (:func:`~axfusion.acquisition.levels.level_effect_variance`). A never-measured
            solvent or additive of an input whose measured levels differ is then as uncertain
            to every pick -- the fused ones included -- as a Gaussian process with one-hot
            inputs makes it, while the members, which cannot split on an indicator that is 0
            on every training row, predict it like an average level with an average spread;
            an input whose levels do not differ adds nothing. ``1`` (the default): the
            estimates as they are; ``0``: off, only the exploration slots credit rare levels
            (``stage3.batch.explore_levels``; the ``paper`` preset, and campaign files written
            before the option existed). Measured on the seven reaction pools, seeds 0-19,
            against ``0``: 45 better / 33 worse runs, ``buchwald_c`` 9 / 1; no effect on
            numeric pools. A box's categorical parameters are not counted (their one-hot
            columns have no fixed scale): tried there, mixed Rosenbrock-10D was worse on
            every seed with the full differential evolution (docs/method.md).
    """

    _path = "stage3.fusion"
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    kalman: KalmanConfig = field(default_factory=KalmanConfig)
    calibration_size: int = 20_000
    flat_factor: float = 0.01
    use_model_channel: bool = True
    use_fusion_channel: bool = True
    sigma_floor: float = 0.03
    family_weighting: FamilyWeighting = "auto"
    family_temperature: float = 0.05
    distance_spread: bool = False
    level_spread: float = 1.0

    def weighting(self, pool: bool) -> FamilyWeighting:
        r"""``family_weighting`` with ``"auto"`` resolved: ``"uniform"`` on a closed pool
        (measured: no gain there, the families' accuracies at 20-60 rows are too close to
        tell apart), ``"probability"`` in a box (docs/method.md, family weights)."""
        if self.family_weighting == "auto":
            return "uniform" if pool else "probability"
        return self.family_weighting

    def _validate(self) -> None:
        self._check(self.calibration_size >= 1, "calibration_size", "at least 1")
        self._check(self.family_temperature > 0, "family_temperature", "positive")
        self._check(0 <= self.level_spread < float("inf"), "level_spread", "0 (off) or a finite positive number")
        self._check(
            self.use_model_channel or self.use_fusion_channel,
            "use_fusion_channel", "true when use_model_channel is false (one channel must score)",
        )


@dataclass(frozen=True)
class HypervolumeConfig(_Node):
    r"""Options of the multi-objective score.

    Attributes:
        n_samples: Correlated MC samples per family and candidate.
        spread_weight: Weight of the across-family spread of EHVI.
        reference_margin: Data reference point = min of the observations
            minus this share of their range, per target.
        chunk_size: Candidates processed at once (bounds memory).
    """

    _path = "stage3.hypervolume"
    n_samples: int = 64
    spread_weight: float = 0.1
    reference_margin: float = 0.1
    chunk_size: int = 512

    def _validate(self) -> None:
        self._check(self.n_samples >= 1, "n_samples", "at least 1")
        self._check(self.chunk_size >= 1, "chunk_size", "at least 1")


@dataclass(frozen=True)
class BatchSettings(_Node):
    r"""Batch selection: diversity check, cluster re-weighting, cluster bandwidth.

    Attributes:
        diversity_check: Run the diversity check (``False``: never diversify; ablation).
        top_factor, min_top: The check compares the top ``max(top_factor q, min_top)``
            candidates with the evaluated set.
        density_ratio_threshold: Diversify when the local density ratio exceeds this.
        coverage_threshold: Diversify when the 2-D PCA grid coverage is below this.
        kl_threshold: Diversify when the histogram KL is below this.
        min_distance_factor: ``f`` in ``base (f + (1 - f) min(1, d / P90(d)))``.
        distance_quantile: The quantile of ``d`` that counts as "far".
        cluster_bandwidth: The paper's cluster bandwidth rule (``False``: the code).
        competitive_ratio: A cluster is competitive at this share of the leader's strength.
        duplicate_tol: Near-duplicate distance, relative to the feature scale.
        n_neighbors: ``k`` of the local density ratio.
        grid_size: Cells per axis of the coverage grid (``None``: ``ceil(sqrt(n_top))``).
        family_share: Share of each batch given to the families' own hypotheses
            (:mod:`axfusion.acquisition.hedge`): ``floor(family_share q)`` slots (at most
            ``q - 1``), slot ``j`` taking the best unchosen candidate of a bootstrap member
            drawn at random from the ``j``-th most accurate family; the other slots follow
            the rules above.
        explore_share: Share of each batch given to exploration (``floor(explore_share
            q)`` slots): the unchosen candidates of largest ``mean_m mu_m + 2 sigma_d``,
            ``sigma_d^2 = mean_m sigma_m^2 + mean_m MAD^2_m (1 - exp(-d^2 / (2 l^2)))``
            -- the families' spread widened by their out-of-bag error away from the
            evaluated designs (``stage3.fusion.distance_spread``).
        explore_model: What scores the exploration slots: ``"reservoir"`` (the rule
            above) or ``"gp"`` (an ARD Gaussian process fitted on the same designs:
            ``mean + 2 std`` of its posterior, later slots conditioned on the earlier ones
            at their predicted means; :mod:`axfusion.acquisition.exploration`).
        explore_levels: With categorical columns (a closed pool's one-hot indicators or
            descriptors), the exploration slots' spread also grows for a candidate whose
            rarest level few evaluated designs have: the reach of the distance rule becomes
            ``1 - (1 - reach) (1 - 1 / (1 + n))``, ``n`` the evaluated designs sharing that
            level, and each slot counts the earlier slots' levels as measured
            (:mod:`axfusion.acquisition.levels`): a reagent never measured is invisible to
            the members, which predict it like an average one. No effect without
            categorical columns.
        new_level_share: On a closed pool with categorical columns, the exploration slots
            grow, while levels no evaluated design has remain among the candidates, to one
            slot per such level, up to ``floor(new_level_share q)`` slots (taken from the
            fused picks, at least one of which stays; :func:`~axfusion.acquisition.levels.unmeasured_levels`
            counts the levels as the slots would try them). ``0`` (the default): the fixed
            ``explore_share``. Needs ``explore_levels``; not in a stalled batch.
        level_cap: On a closed pool with categorical columns, at most
            ``ceil(level_cap q)`` picks of a batch share one level held by less than ``1/q``
            of the candidates (a reagent among many, rarer than one per random batch; a
            commoner level may fill the batch), while another pick is possible
            (:class:`~axfusion.acquisition.batch.LevelCap`). ``0`` (the default): no cap.
        trust_region_share: In a box, share of each batch given to the best fused utility
            inside the trust region around the incumbent
            (:mod:`axfusion.candidates.trust_region`): ``ceil(trust_region_share q)`` slots,
            at most ``q - 1`` minus the family and exploration slots (``q = 1``: none);
            ``1``: the whole batch, fused picks included, comes from the region (TuRBO's
            contraction); ignored on a closed pool. ``0``: no trust region (the paper).
        trust_region_model: What scores the trust-region slots: ``"utility"`` (the fused
            utility inside the region) or ``"gp"`` (the log expected improvement of an ARD
            Gaussian process fitted on every measured design, later slots conditioned on
            the earlier ones at their predicted means;
            :func:`~axfusion.acquisition.exploration.gp_ei_slots`; the default: inside the
            region a GP fitted next to its data ranks designs far better than the fused
            utility, Hartmann-6 via Ax better on 9 of 10 seeds, one tie, docs/method.md). With a
            share of ``1`` the fused picks still follow the utility inside the region.
        trust_region_adaptive: In a box, whether the trust-region, family and exploration
            slots of a batch are re-split by where the last ten batches improved the
            incumbent: the designs measured inside their batch's trust region and those
            outside it are two arms, each with its improvement rate ``(hits + 1) / (picks +
            2)``, and the fixed split's odds of a region slot are multiplied by the two rates'
            odds (:class:`~axfusion.candidates.trust_region.RegionCredit`,
            :func:`~axfusion.acquisition.hedge.adaptive_region_slots`); with no evidence
            nothing moves, a batch of two is unchanged. Recomputed from the measurements, so
            a campaign resumes exactly. ``False`` (default): the fixed counts above
            (docs/method.md, "Slots re-split by where the batches improved").
        box_slot_order: In a box, which slots a batch too small for every share gives up
            (:func:`~axfusion.acquisition.hedge.split_slots`): ``"region_first"`` (default)
            fills the trust-region slots first, then exploration, then the families (a batch
            of 4: two trust-region picks, one exploration, one fused); ``"family_first"`` (the
            order before, and on a closed pool) fills the family slots first, then exploration,
            and gives the trust region what remains (a batch of 4: one of each). The two differ
            only where ``floor`` and ``ceil`` of the shares overfill ``q - 1`` (with the default
            shares, batches of 4 and 7). Hartmann-6 via Ax in batches of 4, seeds 0-9: -3.291
            against -3.146 (7 better / 3 worse; GP-BO -3.267;
            ``benchmarks/results/ax_hartmann_q4_region_first.md``).
        pool_gp_share: On a closed pool, share of each batch given to the log expected
            improvement of an ARD Gaussian process fitted on every measured row
            (:func:`~axfusion.acquisition.exploration.gp_ei_slots`), counted as the
            trust-region slots are in a box; ``0``: none.
        stall_explore_share: On a closed pool, the exploration share of a batch that
            follows ``stall_batches`` or more measured batches in a row without a better
            design (the best of :meth:`~axfusion.campaign.CampaignState.scalar`): the fused
            picks give way to exploration slots until a batch improves again, the family
            slots stay (``None``: ``explore_share`` throughout). Recomputed from the
            measurements, so a campaign resumes exactly.
        stall_batches: Measured batches without improvement that count as a stall.
        stall_coverage: On a closed pool, how the exploration slots of a batch that follows
            ``stall_batches`` or more batches without improvement are scored: ``False``, by
            the reservoir's ``mean + 2 std`` as in any other batch; ``True`` (default), by
            coverage alone -- each slot takes the candidate farthest from the measured designs
            and the earlier picks in the iteration's embedding, weighted by its density
            (:func:`~axfusion.acquisition.coverage.coverage_slots`), so a stalled campaign
            measures the populated regions its model ranks low instead of following its own
            trend's extrapolation. Recomputed from the measurements, so a campaign resumes
            exactly.
        stall_leads: On a closed pool, whether (default) the exploration slots of a batch
            that follows ``stall_batches`` or more batches without improvement first follow
            up leads: the
            measured designs that beat their out-of-bag prediction by
            :data:`~axfusion.acquisition.coverage.LEAD_Z` robust standard deviations or more
            (evidence of a region the model does not know) get their nearest unmeasured
            neighbours measured until three of their ten nearest rows are
            (:func:`~axfusion.acquisition.coverage.lead_slots`); the remaining slots follow
            ``stall_coverage``. Recomputed from the measurements, so a campaign resumes exactly.
        leads_anytime: With ``stall_leads``, follow leads up in every batch of a closed pool,
            not only in stalled ones (their slots are taken from the exploration slots).
            Measured neutral on eleven pools (19 better / 19 worse / 72 tied runs), so off.
        family_order: The order in which the families take the family slots:
            ``"accuracy"`` (their out-of-bag accuracy) or ``"ahead"`` (the probability that
            each is the most accurate on the last measured batch, refitted without it:
            :func:`~axfusion.campaign.loop.stage1_ahead_weights`; out-of-bag accuracy until a
            batch after the initial design is measured) or ``"rotate"`` (the accuracy order,
            each batch starting where the last one's family slots stopped, so that every
            family takes a slot within ``ceil(M / n_family)`` batches; the start is the
            iteration's, so a campaign resumes exactly) or ``"probability"`` (each slot draws
            its family at random with the probability that the family is the most accurate,
            :func:`~axfusion.acquisition.fusion.probability_of_best` of the out-of-bag
            accuracies and their spread over the members -- Thompson sampling of which
            family is right, then of its member).
        family_rule: How a family slot picks: ``"draw"`` (a bootstrap member of the slot's
            family, :func:`~axfusion.acquisition.hedge.family_draws`) or ``"coverage"``
            (every member nominates its ``q`` best candidates; each slot takes the candidate
            nominated by the largest weight of members that no pick of the batch covers yet,
            the fused picks counted as the ``U``'s best, the families weighted by their
            probability of being the most accurate:
            :func:`~axfusion.acquisition.hedge.hit_coverage_slots`).
        fused_draws: How the fused picks after the first are scored: ``False`` (the paper)
            all by ``U`` under the rules above; ``True``, each by the fused utility of its own
            posterior draw of the reservoir -- one bootstrap member drawn at random from every
            family in place of the family's mean, the stds, calibration and ``pi`` unchanged
            -- taking the best unchosen candidate of its draw (Thompson sampling through the
            fusion acquisition; :func:`~axfusion.acquisition.hedge.fused_draw_moments`).
    """

    _path = "stage3.batch"
    diversity_check: bool = True
    top_factor: int = 2
    min_top: int = 20
    density_ratio_threshold: float = 1.5
    coverage_threshold: float = 0.2
    kl_threshold: float = 0.05
    min_distance_factor: float = 0.05
    distance_quantile: float = 0.9
    cluster_bandwidth: bool = True
    competitive_ratio: float = 0.8
    duplicate_tol: float = 1e-9
    n_neighbors: int = 5
    grid_size: int | None = None
    family_share: float = 0.3
    explore_share: float = 0.3
    explore_model: Literal["reservoir", "gp"] = "reservoir"
    explore_levels: bool = True
    new_level_share: float = 0.0
    level_cap: float = 0.0
    trust_region_share: float = 0.3
    trust_region_model: Literal["utility", "gp"] = "gp"
    trust_region_adaptive: bool = False
    box_slot_order: Literal["region_first", "family_first"] = "region_first"
    pool_gp_share: float = 0.0
    stall_explore_share: float | None = None
    stall_batches: int = 2
    stall_coverage: bool = True
    stall_leads: bool = True
    leads_anytime: bool = False
    family_order: Literal["accuracy", "ahead", "rotate", "probability"] = "accuracy"
    family_rule: Literal["draw", "coverage"] = "draw"
    fused_draws: bool = False

    def _validate(self) -> None:
        if not 0.0 <= self.family_share < 1.0:
            raise SettingsError(f"family_share must lie in [0, 1), got {self.family_share}")
        if not 0.0 <= self.explore_share < 1.0 or self.family_share + self.explore_share >= 1.0:
            raise SettingsError(
                f"explore_share must lie in [0, 1 - family_share), got {self.explore_share} "
                f"with family_share {self.family_share}"
            )
        if not 0.0 <= self.trust_region_share <= 1.0:
            raise SettingsError(f"trust_region_share must lie in [0, 1], got {self.trust_region_share}")
        if not 0.0 <= self.pool_gp_share < 1.0:
            raise SettingsError(f"pool_gp_share must lie in [0, 1), got {self.pool_gp_share}")
        if not 0.0 <= self.level_cap < 1.0:
            raise SettingsError(f"level_cap must lie in [0, 1), got {self.level_cap}")
        if not 0.0 <= self.new_level_share < 1.0:
            raise SettingsError(f"new_level_share must lie in [0, 1), got {self.new_level_share}")
        stall = self.stall_explore_share
        if stall is not None and (not 0.0 <= stall < 1.0 or self.family_share + stall >= 1.0):
            raise SettingsError(
                f"stall_explore_share must be None or lie in [0, 1 - family_share), got {stall} "
                f"with family_share {self.family_share}"
            )
        if self.stall_batches < 1:
            raise SettingsError(f"stall_batches must be >= 1, got {self.stall_batches}")
        for name in ("top_factor", "min_top", "n_neighbors"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.grid_size is not None and self.grid_size < 1:
            raise SettingsError(f"grid_size must be >= 1 or None, got {self.grid_size}")
        if not 0.0 <= self.min_distance_factor <= 1.0:
            raise SettingsError(f"min_distance_factor must lie in [0, 1], got {self.min_distance_factor}")
        if not 0.0 < self.distance_quantile <= 1.0:
            raise SettingsError(f"distance_quantile must lie in (0, 1], got {self.distance_quantile}")
        if not 0.0 < self.competitive_ratio <= 1.0:
            raise SettingsError(f"competitive_ratio must lie in (0, 1], got {self.competitive_ratio}")
        if not self.duplicate_tol >= 0.0:
            raise SettingsError(f"duplicate_tol must be >= 0, got {self.duplicate_tol}")


@dataclass(frozen=True)
class DecisionSettings(_Node):
    r"""Stage 3: fusion acquisition, multi-objective score and batch selection.

    Attributes:
        acquisition: ``"fusion"`` (the method: ``U = pi A`` and the batch rules) or
            ``"qlognei"`` (ablation: BoTorch's qLogNEI on the same reservoir and candidates,
            batch by sequential greedy conditioning; one maximised or minimised target).
        fusion: :class:`FusionConfig` (model channel, KF / rKF channel, late fusion).
        hypervolume: :class:`HypervolumeConfig` (several targets).
        batch: :class:`BatchSettings`.
    """

    _path = "stage3"
    acquisition: Literal["fusion", "qlognei"] = "fusion"
    fusion: FusionConfig = field(default_factory=FusionConfig)
    hypervolume: HypervolumeConfig = field(default_factory=HypervolumeConfig)
    batch: BatchSettings = field(default_factory=BatchSettings)


# ---------------------------------------------------------------------------- loop
@dataclass(frozen=True)
class LoopSettings(_Node):
    r"""The campaign loop.

    Attributes:
        batch_size: Designs per batch (the default of ``suggest``).
        budget_iterations: Planned iterations; Stage 0 caps ``N_budget`` at
            ``batch_size * remaining iterations``.
        min_observations: Successful measurements needed before the first batch.
        n_jobs: Processes fitting the families (results do not depend on it).
        chunk_size: Candidates scored at once (bounds memory on large pools).
        geometry_dim: Principal axes of the shared embedding used for the batch
            geometry (distances, near-duplicates, novelty); the clusterer uses the first
            ``stage2.structure.n_components`` of them.
    """

    _path = "loop"
    batch_size: int = 10
    budget_iterations: int = 50
    min_observations: int = 5
    n_jobs: int = 1
    chunk_size: int = 20_000
    geometry_dim: int = 50

    def _validate(self) -> None:
        self._check(self.batch_size >= 1, "batch_size", "at least 1")
        self._check(self.budget_iterations >= 1, "budget_iterations", "at least 1")
        self._check(self.min_observations >= 5, "min_observations", "at least 5")
        self._check(self.n_jobs >= 1, "n_jobs", "at least 1")
        self._check(self.chunk_size >= 1, "chunk_size", "at least 1")
        self._check(self.geometry_dim >= 1, "geometry_dim", "at least 1")


# ---------------------------------------------------------------------------- tree
#: Option names of the earlier flat ``OptimizerConfig`` and Ax options, by dotted path.
LEGACY_NAMES: dict[str, str] = {
    "n_box_candidates": "stage2.box.n_candidates",
    "box_time_budget_s": "stage2.box.time_budget_s",
    "box_de_maxiter": "stage2.box.maxiter",
    "box_de_popsize": "stage2.box.popsize",
    "n_local_candidates": "stage2.box.n_local",
    "use_structure": "stage2.structure.enabled",
    "hv_n_samples": "stage3.hypervolume.n_samples",
    "hv_spread_weight": "stage3.hypervolume.spread_weight",
    "hv_reference_margin": "stage3.hypervolume.reference_margin",
    "hv_chunk_size": "stage3.hypervolume.chunk_size",
    "prefilter_random_fraction": "stage2.pool.random_fraction",
    "chunk_size": "loop.chunk_size",
    "n_jobs": "loop.n_jobs",
}


@dataclass(frozen=True)
class Settings(_Node):
    r"""Every option of the method, by stage.

    Example:
        >>> s = preset("paper").with_options({"n_members": 4, "stage3.batch.cluster_bandwidth": False})
        >>> s.stage1.n_members, s.stage3.batch.cluster_bandwidth
        (4, False)
        >>> Settings.from_dict(s.as_dict()) == s
        True

    Attributes:
        stage0: :class:`CapacitySettings`.
        stage1: :class:`ReservoirSettings`.
        stage2: :class:`CandidateSettings`.
        stage3: :class:`DecisionSettings`.
        loop: :class:`LoopSettings`.
    """

    stage0: CapacitySettings = field(default_factory=CapacitySettings)
    stage1: ReservoirSettings = field(default_factory=ReservoirSettings)
    stage2: CandidateSettings = field(default_factory=CandidateSettings)
    stage3: DecisionSettings = field(default_factory=DecisionSettings)
    loop: LoopSettings = field(default_factory=LoopSettings)

    # ------------------------------------------------------------ dotted access
    @classmethod
    def option_paths(cls) -> tuple[str, ...]:
        r"""Every leaf option as a dotted path, in tree order."""
        return tuple(_leaf_paths(cls, ""))

    def flat(self) -> dict[str, Any]:
        r"""``{dotted path: value}`` for every leaf option."""
        return {p: self.get(p) for p in self.option_paths()}

    def get(self, path: str) -> Any:
        r"""The value at a dotted path (or unique short name)."""
        node: Any = self
        for part in resolve_option(path).split("."):
            node = getattr(node, part)
        return node

    def with_options(self, options: Mapping[str, Any] | None) -> Settings:
        r"""A copy with ``options`` applied.

        Args:
            options: ``{name: value}``; a name is a dotted path (``"stage1.n_members"``),
                the path of a whole node with a mapping value (``"stage1": {...}``), a
                unique last name (``"n_members"``) or an earlier flat option name
                (``"n_box_candidates"``). ``None`` values are kept as ``None``.

        Raises:
            SettingsError: for an unknown or ambiguous name or an invalid value.
        """
        tree = self.as_dict()
        for name, value in (options or {}).items():
            path = resolve_option(str(name))
            *parents, leaf = path.split(".")
            node = tree
            for part in parents:
                node = node[part]
            if isinstance(value, _Node):
                value = value.as_dict()
            if isinstance(node.get(leaf), dict) and isinstance(value, Mapping) and _is_node_path(path):
                node[leaf] = {**node[leaf], **dict(value)}
            else:
                node[leaf] = _plain(value) if isinstance(value, tuple) else value
        return Settings.from_dict(tree)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Settings:
        r"""Rebuild from :meth:`as_dict` output; unknown keys raise :class:`SettingsError`."""
        return _from_mapping(cls, values, "")


def _node_type(cls: type, name: str) -> Any:
    return _hints(cls)[name]


def _leaf_paths(cls: type, prefix: str) -> list[str]:
    out: list[str] = []
    for f in dataclasses.fields(cls):
        tp = _node_type(cls, f.name)
        path = f"{prefix}{f.name}"
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out.extend(_leaf_paths(tp, path + "."))
        else:
            out.append(path)
    return out


def _node_paths(cls: type, prefix: str) -> list[str]:
    out: list[str] = []
    for f in dataclasses.fields(cls):
        tp = _node_type(cls, f.name)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out.append(f"{prefix}{f.name}")
            out.extend(_node_paths(tp, f"{prefix}{f.name}."))
    return out


def _is_node_path(path: str) -> bool:
    return path in _node_paths(Settings, "")


def resolve_option(name: str) -> str:
    r"""The dotted path of an option name (path, unique last name, or earlier flat name).

    Raises:
        SettingsError: naming the valid paths when ``name`` is unknown or ambiguous.
    """
    leaves = Settings.option_paths()
    if name in leaves or _is_node_path(name):
        return name
    if name in LEGACY_NAMES:
        return LEGACY_NAMES[name]
    matches = [p for p in leaves if p.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise SettingsError(f"option {name!r} is ambiguous; give its path: {', '.join(matches)}.")
    close = [p for p in leaves if name.lower() in p.lower()][:8]
    hint = f" Did you mean {', '.join(close)}?" if close else " See Settings.option_paths()."
    raise SettingsError(f"unknown option {name!r}.{hint}")


# ------------------------------------------------------------------------- presets
def _paper() -> Settings:
    return Settings().with_options(
        {
            "stage1.n_members": 10,
            "stage2.box.n_candidates": 10_000,
            "stage2.box.time_budget_s": None,
            "stage2.box.maxiter": 1000,
            "stage1.bias_off_below_n_per_d2": None,
            "stage3.batch.family_share": 0.0,
            "stage3.batch.explore_share": 0.0,
            "stage3.fusion.family_weighting": "uniform",
            "stage3.batch.trust_region_share": 0.0,
            "stage3.batch.stall_coverage": False,
            "stage3.batch.stall_leads": False,
            "stage2.pool.lead_neighbours": False,
            "stage3.fusion.level_spread": 0.0,
        }
    )


def _authors_code() -> Settings:
    return _paper().with_options(
        {
            "stage1.bias_off_below_n_per_d2": 10.0,
            "stage3.fusion.channel.clip_gamma": False,
            "stage3.fusion.kalman.channels": "r2",
            "stage2.structure.enabled": False,
            "stage3.batch.cluster_bandwidth": False,
        }
    )


#: Named recipes; :func:`preset` returns a fresh, validated :class:`Settings`.
PRESETS: dict[str, Any] = {"default": Settings, "paper": _paper, "authors_code": _authors_code}


#: The value each setting had in effect before it existed. A campaign file always records the
#: whole settings tree (:meth:`Settings.as_dict`), so a key missing from a saved tree means the
#: file was written before that setting was added; it resumes with the behaviour it was written
#: under (:func:`saved_settings`), not with the newer default.
LEGACY_VALUES: dict[str, Any] = {
    "stage3.batch.family_share": 0.0,
    "stage3.batch.explore_share": 0.0,
    "stage3.fusion.family_weighting": "uniform",
    "stage3.batch.trust_region_share": 0.0,
    "stage3.batch.trust_region_model": "utility",
    "stage2.pool.prefilter_members": None,
    "stage2.pool.prefilter_fit_rows": None,
    "stage3.batch.explore_levels": False,
    "stage3.batch.stall_coverage": False,
    "stage3.batch.stall_leads": False,
    "stage2.pool.lead_neighbours": False,
    "stage1.member_noise": False,
    "stage3.fusion.level_spread": 0.0,
    "stage3.batch.box_slot_order": "family_first",
}


def saved_settings(values: Mapping[str, Any]) -> Settings:
    r"""Rebuild a saved settings tree: like :meth:`Settings.from_dict`, except that a key in
    :data:`LEGACY_VALUES` missing from ``values`` takes its legacy value, not the default."""
    tree: dict[str, Any] = json.loads(json.dumps(values))
    for path, legacy in LEGACY_VALUES.items():
        *parents, leaf = path.split(".")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(leaf, legacy)
    return Settings.from_dict(tree)


def preset(name: str = "default", options: Mapping[str, Any] | None = None) -> Settings:
    r"""The settings of a named recipe, with ``options`` applied on top.

    Args:
        name: ``"default"``, ``"paper"`` or ``"authors_code"``.
        options: Dotted options (see :meth:`Settings.with_options`).

    Raises:
        SettingsError: for an unknown preset or option.
    """
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]().with_options(options)


_N = typing.TypeVar("_N", bound=_Node)


def resolve(cls: type[_N], settings: _N | None, options: Mapping[str, Any], where: str) -> _N:
    r"""``settings`` (default ``cls()``) with keyword ``options`` applied.

    The stage functions take their own settings node plus keyword overrides of its
    fields, so that a direct call reads ``select_batch(..., cluster_bandwidth=False)`` and
    the loop passes ``settings=s.stage3.batch``.

    Raises:
        TypeError: for a keyword that is not a field of ``cls`` (as for any function).
        SettingsError: for an invalid value.
    """
    base = settings if settings is not None else cls()
    if not isinstance(base, cls):
        raise TypeError(f"{where}: settings must be a {cls.__name__}, got {type(base).__name__}.")
    if not options:
        return base
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword argument(s) {unknown}; see {cls.__name__}.")
    return dataclasses.replace(base, **options)  # type: ignore[type-var]
