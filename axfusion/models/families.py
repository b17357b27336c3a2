r"""Surrogate families of the reservoir (Stage 1).

A *family* is a recipe for one kind of scikit-learn-compatible regressor: it
proposes a small hyper-parameter grid inside the Stage-0 capacity caps, builds
an estimator for a given setting and seed, and predicts a mean (and, where the
estimator has one, its own predictive standard deviation).

Built-in families (``DEFAULT_FAMILIES``):

=============  ========  ===================================================
name           tier      estimator
=============  ========  ===================================================
lasso          low       :class:`sklearn.linear_model.Lasso`
ridge          low       :class:`sklearn.linear_model.Ridge`
elasticnet     low       :class:`sklearn.linear_model.ElasticNet`
knn            medium    :class:`sklearn.neighbors.KNeighborsRegressor`
mlp            high      :class:`sklearn.neural_network.MLPRegressor`
lightgbm       high      :class:`lightgbm.LGBMRegressor`
xgboost        high      :class:`xgboost.XGBRegressor`
=============  ========  ===================================================

Optional families, selectable by name: ``decision_tree`` (medium), ``gp``,
``random_forest`` and ``extra_trees`` (the last three report their own
predictive variance).  Users add any regressor with :func:`register_family`
and :class:`SklearnFamily`.

All estimators see standardised inputs and a standardised target (the
reservoir does the scaling), so regularisation grids are scale-free.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from axfusion.capacity import CapacityCaps
from axfusion.models.gp_family import gp_ard_estimator, gp_ard_std

ParamGrid = list[dict[str, Any]]

__all__ = [
    "DEFAULT_BOX_FAMILIES",
    "DEFAULT_FAMILIES",
    "SklearnFamily",
    "SurrogateFamily",
    "get_family",
    "list_families",
    "register_family",
    "resolve_families",
]


class SurrogateFamily(ABC):
    r"""Interface of a surrogate family.

    Attributes:
        name: Unique registry name.
        tier: ``"low"``, ``"medium"`` or ``"high"`` capacity (documentation and
            diagnostics only).
        provides_std: Whether :meth:`predict` returns the estimator's own
            predictive standard deviation.
    """

    name: str
    tier: str = "custom"
    provides_std: bool = False

    @abstractmethod
    def param_grid(self, caps: CapacityCaps, n: int, d: int) -> ParamGrid:
        r"""Hyper-parameter settings to choose from, all inside ``caps``.

        Args:
            caps: Stage-0 capacity caps.
            n: Number of (unique) training rows the members will see.
            d: Number of input features.

        Returns:
            A non-empty list of keyword dictionaries for :meth:`build`.
        """

    @abstractmethod
    def build(self, params: Mapping[str, Any], seed: int) -> Any:
        r"""A fresh, unfitted estimator for ``params`` seeded with ``seed``."""

    def predict(self, estimator: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        r"""Predict with a fitted estimator.

        Args:
            estimator: A fitted estimator returned by :meth:`build`.
            X: ``k x d`` standardised inputs.

        Returns:
            ``(mean, std)``: ``k``-vectors; ``std`` is ``None`` unless the
            family provides its own predictive standard deviation.
        """
        return np.asarray(estimator.predict(X), dtype=np.float64).reshape(-1), None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, tier={self.tier!r})"


def _default_grid() -> ParamGrid:
    r"""One setting: the estimator's own parameters."""
    return [{}]


@dataclass
class SklearnFamily(SurrogateFamily):
    r"""A family built from any scikit-learn-compatible regressor.

    Args:
        name: Registry name.
        estimator: Either an unfitted estimator (cloned and ``set_params``-ed
            per setting) or a factory ``(params, seed) -> estimator``.
        grid: Hyper-parameter settings: a list of dicts, or a callable
            ``(caps, n, d) -> list of dicts`` that respects the capacity caps.
            Default: one setting (the estimator's own defaults).
        tier: Capacity tier label.
        seed_param: Name of the estimator's seed parameter (``random_state``
            by default); ignored if the estimator has no such parameter.
        predict_std: Optional ``(estimator, X) -> std`` for estimators with a
            predictive standard deviation.

    Example:
        >>> from sklearn.svm import SVR
        >>> register_family(SklearnFamily("svr", SVR(), grid=[{"C": 1.0}, {"C": 10.0}]))
    """

    name: str
    estimator: Any
    grid: ParamGrid | Callable[[CapacityCaps, int, int], ParamGrid] = field(default_factory=_default_grid)
    tier: str = "custom"
    seed_param: str = "random_state"
    predict_std: Callable[[Any, np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("A surrogate family needs a non-empty string name.")
        if not callable(self.estimator) and not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"Family {self.name!r}: `estimator` must be a scikit-learn style regressor "
                "(with fit/predict) or a factory (params, seed) -> regressor."
            )
        self.provides_std = self.predict_std is not None

    def param_grid(self, caps: CapacityCaps, n: int, d: int) -> ParamGrid:
        grid = self.grid(caps, n, d) if callable(self.grid) else list(self.grid)
        if not grid:
            raise ValueError(f"Family {self.name!r} produced an empty hyper-parameter grid.")
        return [dict(g) for g in grid]

    def build(self, params: Mapping[str, Any], seed: int) -> Any:
        if hasattr(self.estimator, "fit"):
            est = clone(self.estimator)
            est_params = est.get_params()
            settings = dict(params)
            if self.seed_param in est_params:
                settings[self.seed_param] = int(seed)
            return est.set_params(**settings)
        return self.estimator(dict(params), int(seed))

    def predict(self, estimator: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        mean = np.asarray(estimator.predict(X), dtype=np.float64).reshape(-1)
        if self.predict_std is None:
            return mean, None
        std = np.asarray(self.predict_std(estimator, X), dtype=np.float64).reshape(-1)
        return mean, std


# --------------------------------------------------------------------------
# Grids inside the capacity caps
# --------------------------------------------------------------------------


def _spread(values: Sequence[Any], k: int) -> list[Any]:
    """At most ``k`` entries of ``values`` spread evenly (ends included)."""
    values = list(values)
    if len(values) <= k:
        return values
    idx = np.unique(np.linspace(0, len(values) - 1, k).round().astype(int))
    return [values[i] for i in idx]


def _alpha_grid(caps: CapacityCaps, n: int, d: int, max_settings: int = 4) -> ParamGrid:
    return [{"alpha": float(a)} for a in _spread(sorted(set(caps.alpha_grid)), max_settings)]


def _knn_grid(caps: CapacityCaps, n: int, d: int, max_settings: int = 3) -> ParamGrid:
    k_hi = max(1, min(caps.knn_k_max, n - 1))
    k_lo = max(1, min(caps.knn_k_min, k_hi))
    ks = np.unique(np.linspace(k_lo, k_hi, max_settings).round().astype(int))
    return [{"n_neighbors": int(k)} for k in ks]


#: Most boosting rounds a member gets: boosting with learning rate 0.1 saturates
#: long before ``C`` rounds on campaign data; this bounds the cost, the caps
#: bound the capacity.
BOOSTING_MAX_ROUNDS: int = 100
#: L-BFGS iterations of an MLP member (early stopping acts as a regulariser).
MLP_MAX_ITER: int = 80


def _tree_count(caps: CapacityCaps, fraction: float = 1.0, floor: int = 20) -> int:
    return int(max(floor, round(min(caps.max_trees, BOOSTING_MAX_ROUNDS) * fraction)))


def _boosting_grid(caps: CapacityCaps, n: int, d: int) -> ParamGrid:
    depth = max(2, caps.max_depth)
    shallow = max(2, depth // 2)
    leaf = max(1, caps.min_samples_leaf)
    return [
        {"n_estimators": _tree_count(caps), "max_depth": depth, "min_leaf": leaf},
        {"n_estimators": _tree_count(caps), "max_depth": shallow, "min_leaf": leaf},
        {"n_estimators": _tree_count(caps, 0.5), "max_depth": depth, "min_leaf": 2 * leaf},
    ]


def _ridge_grid(caps: CapacityCaps, n: int, d: int, max_settings: int = 4) -> ParamGrid:
    # The caps' alpha grid follows Lasso's convention (loss divided by n);
    # Ridge's loss is not, so the same penalty is alpha * n there.
    return [{"alpha": g["alpha"] * max(n, 1)} for g in _alpha_grid(caps, n, d, max_settings)]


def _mlp_grid(caps: CapacityCaps, n: int, d: int, max_depth: int = 2) -> ParamGrid:
    # Width and depth come from the caps; strong weight decay matters more
    # than size on tens-to-hundreds of rows (alpha is sklearn's L2 penalty).
    width = max(4, caps.mlp_width)
    depth = max(1, min(caps.mlp_depth, max_depth))
    narrow = max(4, width // 4)
    return [
        {"hidden_layer_sizes": (narrow,), "alpha": 10.0},
        {"hidden_layer_sizes": (width,), "alpha": 10.0},
        {"hidden_layer_sizes": (narrow,) * depth, "alpha": 1.0},
    ]


def _tree_grid(caps: CapacityCaps, n: int, d: int) -> ParamGrid:
    depth = max(2, caps.max_depth)
    leaf = max(1, caps.min_samples_leaf)
    return [
        {"max_depth": depth, "min_samples_leaf": leaf},
        {"max_depth": max(2, depth // 2), "min_samples_leaf": leaf},
    ]


def _forest_grid(caps: CapacityCaps, n: int, d: int) -> ParamGrid:
    return [
        {
            "n_estimators": int(min(100, _tree_count(caps))),
            "max_depth": max(2, caps.max_depth),
            "min_samples_leaf": max(1, caps.min_samples_leaf),
        }
    ]


# --------------------------------------------------------------------------
# Built-in factories (imports are local so optional back ends stay optional)
# --------------------------------------------------------------------------


def _lasso(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(max_iter=5000, tol=1e-3, random_state=seed, **params)


def _ridge(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(**params)


def _elasticnet(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import ElasticNet

    return ElasticNet(l1_ratio=0.5, max_iter=5000, tol=1e-3, random_state=seed, **params)


def _knn(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(weights="distance", **params)


def _mlp(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.neural_network import MLPRegressor

    # L-BFGS converges fast and deterministically on the small data sets of a
    # campaign (tens to hundreds of rows), where Adam's mini-batches are noise.
    return MLPRegressor(solver="lbfgs", max_iter=MLP_MAX_ITER, random_state=seed, **params)


def _lightgbm(params: Mapping[str, Any], seed: int) -> Any:
    from lightgbm import LGBMRegressor

    depth = int(params["max_depth"])
    return LGBMRegressor(
        n_estimators=int(params["n_estimators"]),
        max_depth=depth,
        num_leaves=int(min(2**depth, 64)),
        min_child_samples=int(params["min_leaf"]),
        min_child_weight=1e-3,
        learning_rate=0.1,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        max_bin=63,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def _xgboost(params: Mapping[str, Any], seed: int) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=int(params["n_estimators"]),
        max_depth=int(params["max_depth"]),
        min_child_weight=float(params["min_leaf"]),
        learning_rate=0.1,
        subsample=0.8,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        tree_method="hist",
        max_bin=64,
        random_state=seed,
        n_jobs=1,
        verbosity=0,
    )


def _decision_tree(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(random_state=seed, **params)


def _gp(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(1e-2)
    return GaussianProcessRegressor(kernel=kernel, normalize_y=False, random_state=seed)


def _gp_std(estimator: Any, X: np.ndarray) -> np.ndarray:
    return estimator.predict(X, return_std=True)[1]


def _random_forest(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=seed, n_jobs=1, **params)


def _extra_trees(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(random_state=seed, n_jobs=1, **params)


def _tree_spread(estimator: Any, X: np.ndarray) -> np.ndarray:
    per_tree = np.stack([t.predict(X) for t in estimator.estimators_])
    return per_tree.std(axis=0)


_BUILTIN: dict[str, SurrogateFamily] = {
    "lasso": SklearnFamily("lasso", _lasso, grid=_alpha_grid, tier="low"),
    "ridge": SklearnFamily("ridge", _ridge, grid=_ridge_grid, tier="low"),
    "elasticnet": SklearnFamily("elasticnet", _elasticnet, grid=_alpha_grid, tier="low"),
    "knn": SklearnFamily("knn", _knn, grid=_knn_grid, tier="medium"),
    "decision_tree": SklearnFamily("decision_tree", _decision_tree, grid=_tree_grid, tier="medium"),
    "mlp": SklearnFamily("mlp", _mlp, grid=_mlp_grid, tier="high"),
    "lightgbm": SklearnFamily("lightgbm", _lightgbm, grid=_boosting_grid, tier="high"),
    "xgboost": SklearnFamily("xgboost", _xgboost, grid=_boosting_grid, tier="high"),
    "gp": SklearnFamily("gp", _gp, tier="high", predict_std=_gp_std),
    # ARD Matérn-5/2 GP fitted by BoTorch; one setting: the marginal likelihood fits it.
    "gp_ard": SklearnFamily("gp_ard", gp_ard_estimator, tier="high", predict_std=gp_ard_std),
    "random_forest": SklearnFamily(
        "random_forest", _random_forest, grid=_forest_grid, tier="high", predict_std=_tree_spread
    ),
    "extra_trees": SklearnFamily(
        "extra_trees", _extra_trees, grid=_forest_grid, tier="high", predict_std=_tree_spread
    ),
}

#: The families a reservoir uses when none are given.
DEFAULT_FAMILIES: tuple[str, ...] = (
    "lasso",
    "ridge",
    "elasticnet",
    "knn",
    "mlp",
    "lightgbm",
    "xgboost",
)

#: The families a reservoir uses in a box search space when none are given: the defaults plus
#: the ARD Gaussian process. Differential evolution searches the members' landscapes, and tree
#: and k-NN members are flat between data points, so without a smooth member nothing ranks
#: nearby designs (docs/method.md, Stage 1; README, "Results").
DEFAULT_BOX_FAMILIES: tuple[str, ...] = (*DEFAULT_FAMILIES, "gp_ard")

_REGISTRY: dict[str, SurrogateFamily] = dict(_BUILTIN)


def register_family(family: SurrogateFamily, *, overwrite: bool = False) -> SurrogateFamily:
    r"""Register a surrogate family so that reservoirs can use it by name.

    Args:
        family: The family (e.g. a :class:`SklearnFamily`).
        overwrite: Replace an existing family of the same name.

    Returns:
        The registered family.
    """
    if not isinstance(family, SurrogateFamily):
        raise TypeError(
            f"register_family expects a SurrogateFamily (e.g. SklearnFamily), got {type(family).__name__}."
        )
    if family.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"A surrogate family named {family.name!r} is already registered; "
            "pass overwrite=True to replace it."
        )
    _REGISTRY[family.name] = family
    return family


def get_family(name: str) -> SurrogateFamily:
    r"""The registered family called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown surrogate family {name!r}; registered: {sorted(_REGISTRY)}."
        ) from None


def list_families() -> list[str]:
    r"""Names of all registered families."""
    return sorted(_REGISTRY)


def resolve_families(
    families: Iterable[str | SurrogateFamily] | None,
) -> list[SurrogateFamily]:
    r"""Turn names or family objects into a list of distinct families."""
    if families is None:
        families = DEFAULT_FAMILIES
    out: list[SurrogateFamily] = []
    for f in families:
        fam = get_family(f) if isinstance(f, str) else f
        if not isinstance(fam, SurrogateFamily):
            raise TypeError(f"Not a surrogate family: {f!r}")
        if any(g.name == fam.name for g in out):
            raise ValueError(f"Surrogate family {fam.name!r} listed twice.")
        out.append(fam)
    if not out:
        raise ValueError("A reservoir needs at least one surrogate family.")
    return out


def fit_quietly(estimator: Any, X: np.ndarray, y: np.ndarray) -> Any:
    r"""Fit ``estimator`` on ``(X, y)`` with convergence chatter silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


def limit_threads(num_threads: int = 1) -> Any:
    r"""Context manager capping BLAS/OpenMP threads.

    Small fits run fastest single-threaded: with two-thread BLAS on a loaded
    2-core machine, spin-waiting made MLP fits ~10x slower in our probes.
    Parallelism comes from fitting families in separate processes instead.

    Re-entrant and cheap inside itself: a call within an active ``limit_threads`` of the
    same ``num_threads`` does nothing (``threadpool_limits`` scans the loaded libraries on
    every call, which cost a box's differential evolution a second per run when each
    generation's predictions set the limit again). A library first loaded inside the outer
    block is therefore not capped by the inner calls.
    """
    if getattr(_THREAD_LIMIT, "active", None) == num_threads:
        return contextlib.nullcontext()
    return _thread_limit(num_threads)


_THREAD_LIMIT = threading.local()


@contextlib.contextmanager
def _thread_limit(num_threads: int) -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    previous = getattr(_THREAD_LIMIT, "active", None)
    with threadpool_limits(limits=num_threads):
        _THREAD_LIMIT.active = num_threads
        try:
            yield
        finally:
            _THREAD_LIMIT.active = previous


def grid_size_cap(grid: ParamGrid, max_settings: int) -> ParamGrid:
    r"""At most ``max_settings`` settings of ``grid``, spread evenly."""
    if max_settings < 1:
        raise ValueError("max_settings must be >= 1")
    return _spread(grid, max_settings) if len(grid) > max_settings else grid

