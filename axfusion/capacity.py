r"""Stage 0: dimension-aware capacity control.

Every iteration, before any surrogate is fitted, the evaluated designs ``X``
(``n x d``) and their observed targets ``Y`` (``n`` or ``n x q``) are reduced to
one number, the capacity ``C`` that the data can support, and ``C`` is turned
into per-family hyper-parameter caps (:class:`CapacityCaps`). The point, from
the paper, is that model expressivity grows only in proportion to the
information the data supports.

The recipe (``docs/method.md``, Stage 0):

1. Drop duplicate rows of ``X`` (targets of duplicated designs are averaged),
   drop zero-variance columns and standardise the remaining ``d'`` columns.
2. Three dimension estimates on the standardised designs:

   - ``d_unsup``: number of principal components reaching ``variance_threshold``
     (95 %) of the total variance;
   - ``d_sup``: number of significant sliced-inverse-regression (SIR) directions
     of ``y`` on ``X`` (:func:`sir_dimension`); ``1`` when ``y`` has at most two
     distinct values; with ``q > 1`` targets, the maximum over the targets;
   - ``d_est``: ``ceil`` of the Levina--Bickel maximum-likelihood intrinsic
     dimension (``skdim.id.MLE``), with TwoNN (``skdim.id.TwoNN``) and then
     ``d_unsup`` as fall-backs. It is clipped to ``[1, rank]``, where ``rank``
     is the rank of the standardised designs (``<= min(n - 1, d')``): ``n``
     points cannot resolve a manifold of more than ``n - 1`` dimensions.

3. ``d_eff = max(1, floor((d_sup + d_est + d_unsup) / 3))``.
4. ``N_budget = min(cap, max(10, round(32 * d_eff * ln(1 + d_sup))))``, where
   ``cap`` is the remaining evaluation budget of the campaign (batch size times
   remaining iterations; ``None`` means no cap).
5. ``C = min(3 n, N_budget)``: the data cannot support more.
6. :func:`caps_from_capacity` maps ``C`` to the per-family caps; every cap is
   monotone in ``C`` (see its docstring for the formulas).

Everything here is deterministic: the only random step is the seeded
sub-sampling of very large design sets before the nearest-neighbour estimators
(``max_knn_points``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from threadpoolctl import threadpool_limits

from axfusion.settings import CapacitySettings

__all__ = [
    "CapacityCaps",
    "CapacityReport",
    "CapacityWarning",
    "caps_from_capacity",
    "estimate_capacity",
    "information_budget",
    "pca_dimension",
    "sir_dimension",
]

# Relative tolerances of the linear algebra (numerical, not method constants).
_ZERO_VARIANCE_RTOL = 1e-12  # a column is constant when std <= rtol * max(1, |mean|)
_RANK_RTOL = 1e-9  # singular values below rtol * s_max span no direction


class CapacityWarning(UserWarning):
    """Stage 0 had to fall back to a degenerate or less reliable estimate."""


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityCaps:
    r"""Per-family hyper-parameter caps derived from the capacity ``C``.

    All fields are non-decreasing in ``C`` except ``min_samples_leaf``,
    ``knn_k_min`` and ``min(alpha_grid)``, which are smoothing floors and are
    non-increasing in ``C``. The formulas below are those of
    :func:`caps_from_capacity` with its default options.

    Attributes:
        capacity: The granted capacity ``C = min(3 n, N_budget)``.
        max_trees: Number of trees / boosting rounds, ``max(20, min(C, 1000))``.
        max_depth: Tree depth cap, ``clip(ceil(log2(max_leaves)) + 1, 2, 12)``
            (grows like ``0.5 log2 C``).
        max_leaves: Leaves per tree, ``min(max(C, 2), max(2, round(2 sqrt(C))))``.
        min_samples_leaf: Samples per leaf, ``clip(ceil(16 / log2(1 + C)), 1,
            max(1, n // 2))``.
        mlp_width: Hidden-layer width, ``max(8, min(C, 256, round(8 d_eff
            ln(1 + d_eff))))``.
        mlp_depth: Number of hidden layers, ``1 + #{t in (100, 400): C >= t}``.
        knn_k_min: Smallest ``k`` of the k-NN family, ``min(5, ceil(n / C))``.
        knn_k_max: Largest ``k``, ``clip(ceil(2 sqrt(C)), 5, 50)``; the family
            clips it to ``n - 1`` itself.
        alpha_grid: Ascending regularisation grid for Lasso / Ridge / ElasticNet
            on standardised data, log-spaced from ``max(1e-4, 1 / C)`` to
            ``10`` with 3 points per decade.
    """

    capacity: int
    max_trees: int
    max_depth: int
    max_leaves: int
    min_samples_leaf: int
    mlp_width: int
    mlp_depth: int
    knn_k_min: int
    knn_k_max: int
    alpha_grid: tuple[float, ...]

    def __post_init__(self) -> None:
        ints = {k: v for k, v in asdict(self).items() if k != "alpha_grid"}
        for name, value in ints.items():
            if int(value) != value or value < 1:
                raise ValueError(f"CapacityCaps.{name} must be a positive integer, got {value!r}.")
        if self.knn_k_min > self.knn_k_max:
            raise ValueError(
                f"CapacityCaps.knn_k_min ({self.knn_k_min}) exceeds knn_k_max ({self.knn_k_max})."
            )
        if len(self.alpha_grid) == 0 or any(not (a > 0 and math.isfinite(a)) for a in self.alpha_grid):
            raise ValueError(
                f"CapacityCaps.alpha_grid must hold positive finite values, got {self.alpha_grid!r}."
            )

    def as_dict(self) -> dict[str, Any]:
        """The caps as a JSON-serialisable dict (``alpha_grid`` as a list)."""
        out = asdict(self)
        out["alpha_grid"] = [float(a) for a in self.alpha_grid]
        return out


@dataclass(frozen=True)
class CapacityReport:
    r"""Diagnostics of one Stage-0 evaluation.

    Attributes:
        n: Number of distinct evaluated designs (duplicate rows dropped).
        d: Number of input columns of ``X`` (before dropping constant columns).
        d_unsup: Principal components reaching the variance threshold.
        d_sup: Significant SIR directions (maximum over targets), ``>= 1``.
        d_est: ``ceil`` of the Levina--Bickel MLE (TwoNN, then ``d_unsup`` as
            fall-backs), clipped to ``[1, rank]``.
        d_mle: Raw Levina--Bickel MLE estimate (NaN when it failed).
        d_twonn: Raw TwoNN estimate (NaN when it failed).
        d_eff: ``max(1, floor((d_sup + d_est + d_unsup) / 3))``.
        resolution: ``n / d_eff``, points per effective dimension.
        n_budget: ``min(cap, max(10, round(32 d_eff ln(1 + d_sup))))``.
        capacity: ``C = min(3 n, n_budget)``.
        caps: The per-family caps for ``capacity``.
    """

    n: int
    d: int
    d_unsup: int
    d_sup: int
    d_est: int
    d_mle: float
    d_twonn: float
    d_eff: int
    resolution: float
    n_budget: int
    capacity: int
    caps: CapacityCaps

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-serialisable dict for the per-iteration diagnostics.

        The caps appear with a ``caps_`` prefix (``caps_max_trees``, ...; the
        duplicate ``caps.capacity`` is omitted). Failed raw estimates (NaN)
        become ``None`` so that ``json.dumps(..., allow_nan=False)`` works.
        """
        out: dict[str, Any] = {}
        for name in (
            "n",
            "d",
            "d_unsup",
            "d_sup",
            "d_est",
            "d_mle",
            "d_twonn",
            "d_eff",
            "resolution",
            "n_budget",
            "capacity",
        ):
            value = getattr(self, name)
            if isinstance(value, float):
                out[name] = float(value) if math.isfinite(value) else None
            else:
                out[name] = int(value)
        for name, value in self.caps.as_dict().items():
            if name != "capacity":
                out[f"caps_{name}"] = value
        return out


# --------------------------------------------------------------------------
# Capacity -> caps
# --------------------------------------------------------------------------


def caps_from_capacity(
    capacity: int,
    d_eff: int,
    n: int,
    *,
    min_trees: int = 20,
    max_trees_ceiling: int = 1000,
    leaves_scale: float = 2.0,
    min_depth: int = 2,
    max_depth_ceiling: int = 12,
    min_samples_leaf_scale: float = 16.0,
    mlp_width_factor: float = 8.0,
    mlp_width_floor: int = 8,
    mlp_width_ceiling: int = 256,
    mlp_depth_thresholds: tuple[int, ...] = (100, 400),
    knn_k_floor: int = 5,
    knn_k_scale: float = 2.0,
    knn_k_ceiling: int = 50,
    alpha_max: float = 10.0,
    alpha_scale: float = 1.0,
    alpha_floor: float = 1e-4,
    alpha_per_decade: int = 3,
) -> CapacityCaps:
    r"""Per-family hyper-parameter caps for a granted capacity ``C``.

    ``C`` is read as the number of effective parameters the data can support.
    The formulas (``d_eff`` and ``n`` are held fixed; every cap is monotone in
    ``C``):

    - trees / boosting rounds: ``max(min_trees, min(C, max_trees_ceiling))``;
    - leaves per tree: ``L = min(max(C, 2), max(2, round(leaves_scale *
      sqrt(C))))``, i.e. ``C`` split between the number of leaves and the
      number of trees (``C = 60 -> 15``, ``C = 1000 -> 63``);
    - depth: ``clip(ceil(log2 L) + 1, min_depth, max_depth_ceiling)``, room for
      ``L`` leaves in a moderately unbalanced tree (grows like ``0.5 log2 C``);
    - min samples per leaf: ``clip(ceil(min_samples_leaf_scale / log2(1 + C)),
      1, max(1, n // 2))``, non-increasing (``C = 10 -> 5``, ``60 -> 3``,
      ``1000 -> 2``);
    - MLP width: ``max(mlp_width_floor, min(C, mlp_width_ceiling,
      round(mlp_width_factor * d_eff * ln(1 + d_eff))))`` (docs/method.md: width
      grows like ``8 d_eff ln(1 + d_eff)``; capped by ``C``; the ceiling keeps
      the MLP an order of magnitude cheaper than the authors' 1024);
    - MLP depth: ``1 + #{t in mlp_depth_thresholds: C >= t}`` (1..3);
    - k-NN: a k-NN smoother has about ``n / k`` effective parameters, so
      ``knn_k_min = min(knn_k_floor, ceil(n / C))`` (non-increasing in ``C``)
      and ``knn_k_max = clip(ceil(knn_k_scale * sqrt(C)), knn_k_floor,
      knn_k_ceiling)`` (non-decreasing); the range only widens with ``C``;
    - regularisation grid (standardised inputs and targets; sklearn's
      Lasso/ElasticNet convention, per-sample loss): log-spaced from
      ``alpha_min = max(alpha_floor, alpha_scale / C)`` up to ``alpha_max``
      with ``alpha_per_decade`` points per decade, ascending; more capacity
      extends the grid to smaller penalties.

    Args:
        capacity: The granted capacity ``C >= 1``.
        d_eff: Effective dimension ``>= 1`` (drives the MLP width).
        n: Number of evaluated designs ``>= 1`` (drives ``knn_k_min`` and the
            upper bound on ``min_samples_leaf``).
        min_trees: Floor on the number of trees.
        max_trees_ceiling: Ceiling on the number of trees (run time).
        leaves_scale: Factor of ``sqrt(C)`` in the leaves cap.
        min_depth: Floor of the depth cap.
        max_depth_ceiling: Ceiling of the depth cap.
        min_samples_leaf_scale: Numerator of the min-samples-per-leaf rule.
        mlp_width_factor: The ``8`` of ``8 d_eff ln(1 + d_eff)``.
        mlp_width_floor: Smallest MLP width.
        mlp_width_ceiling: Largest MLP width.
        mlp_depth_thresholds: Capacities at which one more hidden layer is
            allowed (ascending).
        knn_k_floor: Upper bound of ``knn_k_min`` and lower bound of
            ``knn_k_max``.
        knn_k_scale: Factor of ``sqrt(C)`` in ``knn_k_max``.
        knn_k_ceiling: Ceiling of ``knn_k_max``.
        alpha_max: Largest penalty of the grid.
        alpha_scale: ``alpha_min = alpha_scale / C`` (before the floor).
        alpha_floor: Smallest penalty ever offered.
        alpha_per_decade: Grid points per decade.

    Returns:
        The :class:`CapacityCaps`.
    """
    capacity = _positive_int(capacity, "capacity")
    d_eff = _positive_int(d_eff, "d_eff")
    n = _positive_int(n, "n")
    for name, value in (
        ("min_trees", min_trees),
        ("max_trees_ceiling", max_trees_ceiling),
        ("min_depth", min_depth),
        ("max_depth_ceiling", max_depth_ceiling),
        ("mlp_width_floor", mlp_width_floor),
        ("mlp_width_ceiling", mlp_width_ceiling),
        ("knn_k_floor", knn_k_floor),
        ("knn_k_ceiling", knn_k_ceiling),
        ("alpha_per_decade", alpha_per_decade),
    ):
        _positive_int(value, name)
    for name, real in (
        ("leaves_scale", leaves_scale),
        ("min_samples_leaf_scale", min_samples_leaf_scale),
        ("mlp_width_factor", mlp_width_factor),
        ("knn_k_scale", knn_k_scale),
        ("alpha_max", alpha_max),
        ("alpha_scale", alpha_scale),
        ("alpha_floor", alpha_floor),
    ):
        _positive_real(real, name)
    if max_trees_ceiling < min_trees:
        raise ValueError(f"max_trees_ceiling ({max_trees_ceiling}) is below min_trees ({min_trees}).")
    if max_depth_ceiling < min_depth:
        raise ValueError(f"max_depth_ceiling ({max_depth_ceiling}) is below min_depth ({min_depth}).")
    if mlp_width_ceiling < mlp_width_floor:
        raise ValueError(
            f"mlp_width_ceiling ({mlp_width_ceiling}) is below mlp_width_floor ({mlp_width_floor})."
        )
    if knn_k_ceiling < knn_k_floor:
        raise ValueError(f"knn_k_ceiling ({knn_k_ceiling}) is below knn_k_floor ({knn_k_floor}).")
    if alpha_floor > alpha_max:
        raise ValueError(f"alpha_floor ({alpha_floor}) exceeds alpha_max ({alpha_max}).")
    thresholds = tuple(mlp_depth_thresholds)
    if (
        any(not isinstance(t, (int, np.integer)) or isinstance(t, bool) or t < 1 for t in thresholds)
        or list(thresholds) != sorted(thresholds)
    ):
        raise ValueError(
            f"mlp_depth_thresholds must be ascending positive integers, got {mlp_depth_thresholds!r}."
        )

    C = capacity
    max_trees = max(min_trees, min(C, max_trees_ceiling))
    max_leaves = min(max(C, 2), max(2, int(round(leaves_scale * math.sqrt(C)))))
    max_depth = int(np.clip(math.ceil(math.log2(max_leaves)) + 1, min_depth, max_depth_ceiling))
    min_samples_leaf = int(
        np.clip(math.ceil(min_samples_leaf_scale / math.log2(1.0 + C)), 1, max(1, n // 2))
    )
    width_target = int(round(mlp_width_factor * d_eff * math.log1p(d_eff)))
    mlp_width = max(mlp_width_floor, min(C, mlp_width_ceiling, width_target))
    mlp_depth = 1 + sum(C >= t for t in thresholds)
    knn_k_min = min(knn_k_floor, max(1, math.ceil(n / C)))
    knn_k_max = int(np.clip(math.ceil(knn_k_scale * math.sqrt(C)), knn_k_floor, knn_k_ceiling))
    alpha_min = min(alpha_max, max(alpha_floor, alpha_scale / C))
    decades = math.log10(alpha_max) - math.log10(alpha_min)
    num = 1 + max(1, math.ceil(decades * alpha_per_decade - 1e-9))
    alpha_grid = tuple(float(a) for a in np.logspace(math.log10(alpha_min), math.log10(alpha_max), num))
    return CapacityCaps(
        capacity=int(C),
        max_trees=int(max_trees),
        max_depth=int(max_depth),
        max_leaves=int(max_leaves),
        min_samples_leaf=int(min_samples_leaf),
        mlp_width=int(mlp_width),
        mlp_depth=int(mlp_depth),
        knn_k_min=int(knn_k_min),
        knn_k_max=int(knn_k_max),
        alpha_grid=alpha_grid,
    )


def information_budget(
    d_eff: int,
    d_sup: int,
    remaining_budget: int | None = None,
    *,
    budget_scale: float = 32.0,
    budget_floor: int = 10,
) -> int:
    r"""``N_budget = min(cap, max(budget_floor, round(budget_scale * d_eff * ln(1 + d_sup))))``.

    Args:
        d_eff: Effective dimension ``>= 1``.
        d_sup: Supervised (SIR) dimension ``>= 1``.
        remaining_budget: ``cap`` (batch size times remaining iterations), or
            ``None`` for no cap.
        budget_scale: The ``32`` of docs/method.md.
        budget_floor: The ``10`` of docs/method.md.

    Returns:
        The information budget ``N_budget``.
    """
    d_eff = _positive_int(d_eff, "d_eff")
    d_sup = _positive_int(d_sup, "d_sup")
    _positive_real(budget_scale, "budget_scale")
    budget_floor = _positive_int(budget_floor, "budget_floor")
    budget = max(budget_floor, int(round(budget_scale * d_eff * math.log1p(d_sup))))
    if remaining_budget is not None:
        budget = min(_positive_int(remaining_budget, "remaining_budget"), budget)
    return int(budget)


# --------------------------------------------------------------------------
# Dimension estimators
# --------------------------------------------------------------------------


def pca_dimension(Z: np.ndarray, variance_threshold: float = 0.95) -> int:
    r"""Number of principal components reaching ``variance_threshold`` of the variance.

    Args:
        Z: ``n x p`` data (centred internally).
        variance_threshold: Fraction of the total variance in ``(0, 1]``.

    Returns:
        The smallest ``k >= 1`` whose leading ``k`` components explain at least
        ``variance_threshold`` of the variance (``1`` for degenerate data).
    """
    _check_fraction(variance_threshold, "variance_threshold")
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (n x p), got shape {Z.shape}.")
    if not np.all(np.isfinite(Z)):
        raise ValueError("Z must be finite (no NaN or inf).")
    if Z.shape[0] < 2 or Z.shape[1] == 0:
        return 1
    s = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False)
    return _components_for_variance(s, variance_threshold)


def sir_dimension(
    X: ArrayLike,
    y: ArrayLike,
    *,
    n_slices: int = 10,
    min_slice_size: int = 5,
    level: float = 0.05,
    variance_threshold: float = 0.95,
) -> int:
    r"""Number of significant sliced-inverse-regression directions of ``y`` on ``X``.

    Sliced inverse regression (Li, 1991): the designs are whitened, ``y`` is cut
    into ``H`` slices of (nearly) equal counts, and the weighted covariance of
    the slice means of the whitened designs,
    ``M = sum_h (n_h / n) m_h m_h^T`` (``p x p``), has eigenvalues
    ``lambda_1 >= ... >= lambda_p``. Li's sequential chi-square test decides the
    dimension: for ``k = 0, 1, ...``, the statistic ``n * sum_{j > k} lambda_j``
    is compared with a chi-square law of ``(p - k)(H - k - 1)`` degrees of
    freedom; the first ``k`` that is not rejected at ``level`` is the number of
    directions (``min(p, H - 1)`` if all are rejected). The result is clipped
    below at 1.

    Whitening uses the principal components of ``X``: components with
    numerically zero variance are dropped (pseudo-inverse whitening) and, when
    ``p >= n`` (more columns than points, docs/method.md "PCA first when d > n"),
    only the components reaching ``variance_threshold`` are kept.

    The number of slices is ``H = min(n_slices, n // min_slice_size, #distinct
    y)``; when ``y`` has at most ``H`` distinct values each value is its own
    slice, otherwise the ``H`` slices hold consecutive runs of the sorted ``y``.
    ``y`` with at most two distinct values, or fewer than two slices, gives 1.

    Args:
        X: ``n x p`` designs. SIR is affine invariant except for the PCA
            truncation applied when ``p >= n``, so pass standardised designs.
        y: ``n`` responses.
        n_slices: Largest number of slices ``H``.
        min_slice_size: Smallest average number of points per slice.
        level: Significance level of the sequential chi-square test.
        variance_threshold: Variance fraction kept by the PCA when ``p >= n``.

    Returns:
        The SIR dimension ``d_sup >= 1``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n x p), got shape {X.shape}.")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} entries.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite (no NaN or inf).")
    _check_sir_options(n_slices, min_slice_size, level, "")
    _check_fraction(variance_threshold, "variance_threshold")

    n, p0 = X.shape
    if n < 3 or p0 == 0:
        return 1
    U, s, _ = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return _sir_from_svd(
        U,
        s,
        p0,
        y,
        n_slices=n_slices,
        min_slice_size=min_slice_size,
        level=level,
        variance_threshold=variance_threshold,
    )


def _sir_from_svd(
    U: np.ndarray,
    s: np.ndarray,
    p0: int,
    y: np.ndarray,
    *,
    n_slices: int,
    min_slice_size: int,
    level: float,
    variance_threshold: float,
) -> int:
    """SIR dimension from the thin SVD ``U diag(s) V^T`` of the centred ``n x p0`` designs.

    See :func:`sir_dimension`; ``U`` is ``n x r``, ``s`` holds the ``r``
    singular values in descending order and ``y`` the ``n`` responses.
    """
    n = U.shape[0]
    values, codes = np.unique(y, return_inverse=True)
    codes = codes.reshape(-1)
    if values.size <= 2 or n < 3 or s.size == 0 or s[0] <= 0.0:
        return 1
    H = min(n_slices, n // min_slice_size, values.size)
    if H < 2:
        return 1
    p = int(np.sum(s > _RANK_RTOL * s[0]))
    if p0 >= n:
        p = min(p, _components_for_variance(s, variance_threshold))
    W = U[:, :p] * math.sqrt(n)  # whitened designs: W^T W / n = I_p

    if values.size <= H:  # one slice per distinct value
        slices = [np.flatnonzero(codes == h) for h in range(values.size)]
    else:
        order = np.argsort(y, kind="stable")
        slices = np.array_split(order, H)
    M = np.zeros((p, p))
    for idx in slices:
        m = W[idx].mean(axis=0)
        M += (idx.size / n) * np.outer(m, m)
    lam = np.clip(np.linalg.eigvalsh(M)[::-1], 0.0, None)

    k_max = min(p, H - 1)
    dim = k_max
    for k in range(k_max):
        statistic = n * float(lam[k:].sum())
        dof = (p - k) * (H - k - 1)
        if stats.chi2.sf(statistic, dof) > level:
            dim = k
            break
    return max(1, int(dim))


# --------------------------------------------------------------------------
# Stage 0
# --------------------------------------------------------------------------


#: The capacity granted without Stage 0 (``limit_capacity=False``): every cap at its ceiling.
UNLIMITED_CAPACITY = 1_000_000


def estimate_capacity(
    X: ArrayLike,
    Y: ArrayLike,
    remaining_budget: int | None = None,
    *,
    settings: CapacitySettings | None = None,
    num_threads: int | None = 1,
    seed: int = 0,
    column_scale: np.ndarray | None = None,
    **options: Any,
) -> CapacityReport:
    r"""Stage 0: intrinsic dimensions, information budget, capacity and caps.

    See the module docstring for the recipe. Small data never raise: with fewer
    than three distinct designs, or no non-constant column, every dimension is
    1 and a :class:`CapacityWarning` is emitted; the nearest-neighbour
    estimators clip their neighbourhood sizes to ``n - 1``.

    Args:
        X: ``n x d`` evaluated designs (NumPy array, array-like or CPU tensor).
        Y: ``n`` or ``n x q`` observed targets. With ``q > 1`` targets,
            ``d_sup`` is the maximum of the per-target SIR dimensions (the
            capacity must serve the most demanding target). Targets of
            duplicated designs are averaged.
        remaining_budget: ``cap`` of docs/method.md (batch size times remaining
            iterations, ``>= 1``), or ``None`` for no cap.
        settings: :class:`~axfusion.settings.CapacitySettings` (the variance share of
            ``d_unsup``, SIR and k-NN estimator options, the budget constants, the data
            multiplier and the per-family caps); see docs/method.md, Stage 0.
        **options: Fields of :class:`~axfusion.settings.CapacitySettings` overriding
            ``settings`` (``caps_options``: a mapping of :class:`~axfusion.settings.CapsSettings`
            fields).
        num_threads: Threads of the BLAS / OpenMP pools while the dimensions
            are estimated (restored afterwards). The matrices of Stage 0 are
            small, so one thread is fastest and avoids spin-waiting on a busy
            machine; ``None`` leaves the pools alone.
        seed: Seed of the sub-sampling.
        column_scale: ``d`` fixed column scales (``NaN``: standardise the column by its
            standard deviation). The loop passes 1 for the one-hot indicators of a
            categorical column, which the reservoir has already scaled so that two levels
            are one unit apart: re-standardising them would make a rare level count as
            several standard deviations.

    Returns:
        The :class:`CapacityReport`.
    """
    cfg = settings if settings is not None else CapacitySettings()
    caps_options = options.pop("caps_options", None)
    if caps_options:
        _check_caps_options(dict(caps_options))
        options["caps"] = dataclasses.replace(cfg.caps, **dict(caps_options))
    if options:
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(CapacitySettings)})
        if unknown:
            raise TypeError(f"estimate_capacity got unknown option(s) {unknown}; see CapacitySettings.")
        cfg = dataclasses.replace(cfg, **options)
    variance_threshold, twonn_discard_fraction = cfg.variance_threshold, cfg.twonn_discard_fraction
    sir_slices, sir_min_slice_size, sir_level = cfg.sir_slices, cfg.sir_min_slice_size, cfg.sir_level
    mle_neighbors, data_multiplier, max_knn_points = cfg.mle_neighbors, cfg.data_multiplier, cfg.max_knn_points
    budget_scale, budget_floor = cfg.budget_scale, cfg.budget_floor
    caps_kwargs = cfg.caps.as_dict()
    caps_kwargs["mlp_depth_thresholds"] = tuple(caps_kwargs["mlp_depth_thresholds"])
    X_arr, Y_arr = _validate_xy(X, Y)
    _check_fraction(variance_threshold, "variance_threshold")
    if (
        isinstance(twonn_discard_fraction, bool)
        or not isinstance(twonn_discard_fraction, numbers.Real)
        or not (0.0 <= twonn_discard_fraction < 1.0)
    ):
        raise ValueError(f"twonn_discard_fraction must lie in [0, 1), got {twonn_discard_fraction!r}.")
    _check_sir_options(sir_slices, sir_min_slice_size, sir_level, "sir_")
    mle_neighbors = _positive_int(mle_neighbors, "mle_neighbors")
    if mle_neighbors < 2:
        raise ValueError(f"mle_neighbors must be at least 2, got {mle_neighbors}.")
    data_multiplier = _positive_int(data_multiplier, "data_multiplier")
    max_knn_points = _positive_int(max_knn_points, "max_knn_points")
    if max_knn_points < 3:
        raise ValueError(f"max_knn_points must be at least 3, got {max_knn_points}.")
    if remaining_budget is not None:
        remaining_budget = _positive_int(remaining_budget, "remaining_budget")
    if num_threads is not None:
        num_threads = _positive_int(num_threads, "num_threads")
    _positive_real(budget_scale, "budget_scale")
    _positive_int(budget_floor, "budget_floor")
    caps_from_capacity(1, 1, 1, **caps_kwargs)  # validates the option values up front

    d = X_arr.shape[1]
    # Drop duplicate designs, averaging their targets.
    X_u, inverse = np.unique(X_arr, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=X_u.shape[0]).astype(np.float64)
    Y_u = np.zeros((X_u.shape[0], Y_arr.shape[1]))
    np.add.at(Y_u, inverse, Y_arr)
    Y_u /= counts[:, None]
    n = X_u.shape[0]

    # Standardise; drop constant columns.
    mean = X_u.mean(axis=0)
    std = X_u.std(axis=0)
    keep = std > _ZERO_VARIANCE_RTOL * np.maximum(1.0, np.abs(mean))
    if column_scale is not None:
        fixed = np.asarray(column_scale, dtype=np.float64).reshape(-1)
        if fixed.size != d:
            raise ValueError(f"column_scale has {fixed.size} entries for {d} columns.")
        std = np.where(np.isfinite(fixed), fixed, std)
    Z = (X_u[:, keep] - mean[keep]) / std[keep]

    if n < 3 or Z.shape[1] == 0:
        warnings.warn(
            f"Stage 0 got {n} distinct design(s) with {Z.shape[1]} non-constant column(s); "
            "all dimensions are set to 1.",
            CapacityWarning,
            stacklevel=2,
        )
        d_unsup, d_sup, d_est, d_mle, d_twonn = 1, 1, 1, float("nan"), float("nan")
    else:
        limiter = (
            threadpool_limits(limits=num_threads) if num_threads is not None else contextlib.nullcontext()
        )
        with limiter:
            d_unsup, d_sup, d_est, d_mle, d_twonn = _dimensions(
                Z,
                Y_u,
                variance_threshold=variance_threshold,
                sir_slices=sir_slices,
                sir_min_slice_size=sir_min_slice_size,
                sir_level=sir_level,
                mle_neighbors=mle_neighbors,
                twonn_discard_fraction=twonn_discard_fraction,
                max_knn_points=max_knn_points,
                seed=seed,
            )

    d_eff = max(1, (d_sup + d_est + d_unsup) // 3)
    n_budget = information_budget(
        d_eff,
        d_sup,
        remaining_budget,
        budget_scale=budget_scale,
        budget_floor=budget_floor,
    )
    capacity = max(1, min(data_multiplier * n, n_budget)) if cfg.limit_capacity else UNLIMITED_CAPACITY
    caps = caps_from_capacity(capacity, d_eff, n, **caps_kwargs)
    return CapacityReport(
        n=int(n),
        d=int(d),
        d_unsup=int(d_unsup),
        d_sup=int(d_sup),
        d_est=int(d_est),
        d_mle=float(d_mle),
        d_twonn=float(d_twonn),
        d_eff=int(d_eff),
        resolution=float(n / d_eff),
        n_budget=int(n_budget),
        capacity=int(capacity),
        caps=caps,
    )


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _dimensions(
    Z: np.ndarray,
    Y: np.ndarray,
    *,
    variance_threshold: float,
    sir_slices: int,
    sir_min_slice_size: int,
    sir_level: float,
    mle_neighbors: int,
    twonn_discard_fraction: float,
    max_knn_points: int,
    seed: int,
) -> tuple[int, int, int, float, float]:
    """``(d_unsup, d_sup, d_est, d_mle, d_twonn)`` of standardised distinct designs.

    ``Z`` is ``n x p`` (``n >= 3``, ``p >= 1``, no constant column) and ``Y``
    the ``n x q`` targets; see :func:`estimate_capacity` for the options.
    """
    n = Z.shape[0]
    d_mle = float("nan")
    d_twonn = float("nan")
    U, s, _ = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    rank = max(1, int(np.sum(s > _RANK_RTOL * s[0]))) if s[0] > 0 else 1
    d_unsup = _components_for_variance(s, variance_threshold)
    d_sup = max(
        _sir_from_svd(
            U,
            s,
            Z.shape[1],
            Y[:, j],
            n_slices=sir_slices,
            min_slice_size=sir_min_slice_size,
            level=sir_level,
            variance_threshold=variance_threshold,
        )
        for j in range(Y.shape[1])
    )
    if rank == 1:  # the designs lie on a line: nothing for k-NN estimators to resolve
        d_est = 1
    else:
        if n > max_knn_points:
            rng = np.random.default_rng(seed)
            Z_knn = Z[np.sort(rng.choice(n, size=max_knn_points, replace=False))]
        else:
            Z_knn = Z
        d_mle, d_twonn = _nn_dimensions(Z_knn, mle_neighbors, twonn_discard_fraction)
        if math.isfinite(d_mle):
            raw = d_mle
        elif math.isfinite(d_twonn):
            warnings.warn(
                "Levina-Bickel MLE failed; d_est falls back to TwoNN.",
                CapacityWarning,
                stacklevel=3,
            )
            raw = d_twonn
        else:
            warnings.warn(
                "Levina-Bickel MLE and TwoNN failed; d_est falls back to the PCA dimension.",
                CapacityWarning,
                stacklevel=3,
            )
            raw = float(d_unsup)
        # ceil, tolerant to round-off on integral estimates; clipped to [1, rank]
        d_est = int(min(rank, max(1, math.ceil(raw - 1e-9))))

    return int(d_unsup), int(d_sup), int(d_est), float(d_mle), float(d_twonn)


def _nn_dimensions(Z: np.ndarray, mle_neighbors: int, discard_fraction: float) -> tuple[float, float]:
    """Raw Levina--Bickel MLE and TwoNN estimates on ``Z`` (``n x p``, ``n >= 3``).

    scikit-dimension's warnings are silenced here; a failing estimator gives
    NaN (the caller falls back), never an exception.
    """
    import skdim  # local: importing scikit-dimension costs about a second
    from sklearn.neighbors import NearestNeighbors

    n = Z.shape[0]
    k = int(min(mle_neighbors, n - 1))
    d_mle = float("nan")
    d_twonn = float("nan")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:  # one k-NN search serves both estimators (neighbours exclude the point itself)
            dists, inds = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors(return_distance=True)
        except Exception:  # noqa: BLE001 - any estimator failure means "fall back"
            return d_mle, d_twonn
        try:
            est = skdim.id.MLE().fit(Z, precomputed_knn_arrays=(dists, inds), n_neighbors=k)
            d_mle = float(est.dimension_)
        except Exception:  # noqa: BLE001 - any estimator failure means "fall back"
            d_mle = float("nan")
        try:
            est = skdim.id.TwoNN(discard_fraction=discard_fraction, dist=True).fit(dists[:, :2])
            d_twonn = float(est.dimension_)
        except Exception:  # noqa: BLE001 - any estimator failure means "fall back"
            d_twonn = float("nan")
    if not (math.isfinite(d_mle) and d_mle > 0):
        d_mle = float("nan")
    if not (math.isfinite(d_twonn) and d_twonn > 0):
        d_twonn = float("nan")
    return d_mle, d_twonn


def _components_for_variance(s: np.ndarray, variance_threshold: float) -> int:
    """Smallest ``k >= 1`` with ``sum(s[:k]**2) >= variance_threshold * sum(s**2)``."""
    var = np.asarray(s, dtype=np.float64) ** 2
    total = float(var.sum())
    if total <= 0.0:
        return 1
    ratio = np.cumsum(var) / total
    k = int(np.searchsorted(ratio, variance_threshold - 1e-12) + 1)
    return int(min(max(k, 1), var.size))


def _to_numpy(A: ArrayLike, name: str) -> np.ndarray:
    if hasattr(A, "detach"):  # torch tensor
        A = A.detach().cpu().numpy()
    try:
        arr = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array, got {type(A).__name__}: {err}") from err
    return arr


def _validate_xy(X: ArrayLike, Y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as ``n x d`` and ``Y`` as ``n x q`` float arrays, or a ValueError."""
    X_arr = _to_numpy(X, "X")
    Y_arr = _to_numpy(Y, "Y")
    if X_arr.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n x d), got shape {X_arr.shape}.")
    if Y_arr.ndim == 1:
        Y_arr = Y_arr[:, None]
    if Y_arr.ndim != 2:
        raise ValueError(f"Y must be 1-D (n) or 2-D (n x q), got shape {Y_arr.shape}.")
    if X_arr.shape[0] != Y_arr.shape[0]:
        raise ValueError(f"X has {X_arr.shape[0]} rows but Y has {Y_arr.shape[0]}.")
    if X_arr.shape[0] < 1 or X_arr.shape[1] < 1:
        raise ValueError(f"X must have at least one row and one column, got shape {X_arr.shape}.")
    if Y_arr.shape[1] < 1:
        raise ValueError("Y must have at least one target column.")
    if not np.all(np.isfinite(X_arr)):
        raise ValueError(f"X contains {int(np.sum(~np.isfinite(X_arr)))} non-finite value(s) (NaN or inf).")
    if not np.all(np.isfinite(Y_arr)):
        raise ValueError(f"Y contains {int(np.sum(~np.isfinite(Y_arr)))} non-finite value(s) (NaN or inf).")
    return X_arr, Y_arr


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _positive_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(float(value)) and float(value) > 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _check_fraction(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}.")


def _check_sir_options(n_slices: int, min_slice_size: int, level: float, prefix: str) -> None:
    slices_name = "sir_slices" if prefix else "n_slices"
    _positive_int(n_slices, slices_name)
    _positive_int(min_slice_size, f"{prefix}min_slice_size")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not (0.0 < level < 1.0):
        raise ValueError(f"{prefix}level must lie in (0, 1), got {level!r}.")


def _check_caps_options(options: Mapping[str, Any]) -> None:
    allowed = {
        name
        for name, par in inspect.signature(caps_from_capacity).parameters.items()
        if par.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"Unknown caps_options {unknown}; allowed: {sorted(allowed)}.")
