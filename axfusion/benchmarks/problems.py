r"""Benchmark problem descriptions and the problem registry.

A :class:`TestProblem` is a self-contained, framework-free description of a
black-box test function: its parameters (continuous, integer or categorical),
a vectorised numpy implementation, and what is known about its optimum. It is
deliberately independent of Ax and of the rest of axfusion so that adapters
(an Ax search space, a BoTorch box, a closed pool) can be built from it.

Encoding convention. ``TestProblem.function`` receives a float matrix
``V`` of shape ``k x d`` whose columns follow ``TestProblem.parameters``:
continuous and integer columns hold their values, and a categorical column
holds the numeric value of the level when every level of that parameter is a
real number (the mixed-variable functions of the LVGP-vs-Lolo paper define
their categories as "corresponding to values"), otherwise the level's index
``0 .. L-1`` in ``ProblemParameter.levels``.

Registry. Factories returning a :class:`TestProblem` are registered under a
name with :func:`register_problem` and built with :func:`get_problem`::

    register_problem("my_sphere", lambda dim=3: TestProblem(...))
    problem = get_problem("my_sphere", dim=5)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "ParameterKind",
    "ProblemParameter",
    "SuccessCriterion",
    "TestProblem",
    "get_problem",
    "list_problems",
    "register_problem",
    "unregister_problem",
]

ParameterKind = Literal["continuous", "integer", "categorical"]

_KINDS: tuple[str, ...] = ("continuous", "integer", "categorical")
_BOUND_RTOL: float = 1e-9
_INTEGRALITY_ATOL: float = 1e-9
_OPTIMUM_RTOL: float = 1e-8


def _is_real_number(value: Any) -> bool:
    """True for finite real numbers (not bools, not complex)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(float(value))
    )


@dataclass(frozen=True)
class ProblemParameter:
    r"""One input of a test problem.

    Attributes:
        name: Column name of the parameter.
        kind: ``"continuous"``, ``"integer"`` or ``"categorical"``.
        lower: Lower bound (continuous/integer); ``None`` for categorical.
        upper: Upper bound (continuous/integer); ``None`` for categorical.
        levels: The level objects of a categorical parameter (at least two,
            distinct, hashable); ``None`` otherwise. Levels are unordered
            categories; when they are all real numbers the test function is
            evaluated on those numbers.
    """

    name: str
    kind: ParameterKind
    lower: float | None = None
    upper: float | None = None
    levels: tuple | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Parameter name must be a non-empty string, got {self.name!r}.")
        if self.kind not in _KINDS:
            raise ValueError(
                f"Parameter {self.name!r}: kind must be one of {_KINDS}, got {self.kind!r}."
            )
        if self.kind == "categorical":
            self._check_categorical()
        else:
            self._check_numerical()

    def _check_numerical(self) -> None:
        if self.levels is not None:
            raise ValueError(f"Parameter {self.name!r}: levels are only allowed for categorical.")
        if self.lower is None or self.upper is None:
            raise ValueError(f"Parameter {self.name!r}: {self.kind} needs lower and upper bounds.")
        if not (_is_real_number(self.lower) and _is_real_number(self.upper)):
            raise ValueError(f"Parameter {self.name!r}: bounds must be finite real numbers.")
        if not float(self.lower) < float(self.upper):
            raise ValueError(
                f"Parameter {self.name!r}: lower ({self.lower}) must be < upper ({self.upper})."
            )
        if self.kind == "integer" and not (
            float(self.lower).is_integer() and float(self.upper).is_integer()
        ):
            raise ValueError(f"Parameter {self.name!r}: integer bounds must be whole numbers.")
        object.__setattr__(self, "lower", float(self.lower))
        object.__setattr__(self, "upper", float(self.upper))

    def _check_categorical(self) -> None:
        if self.lower is not None or self.upper is not None:
            raise ValueError(f"Parameter {self.name!r}: categorical parameters take no bounds.")
        if self.levels is None or isinstance(self.levels, (str, bytes)):
            raise ValueError(f"Parameter {self.name!r}: categorical needs a sequence of levels.")
        levels = tuple(self.levels)
        if len(levels) < 2:
            raise ValueError(f"Parameter {self.name!r}: categorical needs at least two levels.")
        try:
            distinct = len(set(levels)) == len(levels)
        except TypeError as err:
            raise ValueError(f"Parameter {self.name!r}: levels must be hashable.") from err
        if not distinct:
            raise ValueError(f"Parameter {self.name!r}: levels must be distinct, got {levels}.")
        object.__setattr__(self, "levels", levels)

    @property
    def bounds(self) -> tuple[float, float]:
        r"""``(lower, upper)`` of a continuous or integer parameter.

        Raises:
            ValueError: For a categorical parameter, which has no bounds.
        """
        if self.lower is None or self.upper is None:
            raise ValueError(f"Parameter {self.name!r} is categorical and has no bounds.")
        return self.lower, self.upper

    @property
    def categories(self) -> tuple:
        r"""The levels of a categorical parameter.

        Raises:
            ValueError: For a continuous or integer parameter, which has no levels.
        """
        if self.levels is None:
            raise ValueError(f"Parameter {self.name!r} is {self.kind}, not categorical.")
        return self.levels

    @property
    def has_numeric_levels(self) -> bool:
        """True for a categorical parameter whose levels are all real numbers."""
        return self.kind == "categorical" and all(_is_real_number(v) for v in self.categories)

    def level_indices(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        r"""Positions of categorical values in ``levels``.

        Args:
            values: ``k`` level objects (numbers equal to a numeric level match it,
                e.g. ``5.0`` matches the level ``5``).

        Returns:
            ``k`` integer indices into ``levels``.

        Raises:
            ValueError: If the parameter is not categorical or a value is not a level.
        """
        if self.kind != "categorical":
            raise ValueError(f"Parameter {self.name!r} is {self.kind}, not categorical.")
        values = np.asarray(values, dtype=object).reshape(-1)
        try:
            idx = pd.Index(self.levels, dtype=object).get_indexer(values)
        except TypeError as err:
            raise ValueError(f"Parameter {self.name!r}: values must be hashable levels.") from err
        if np.any(idx < 0):
            bad = values[idx < 0][:5].tolist()
            raise ValueError(
                f"Parameter {self.name!r}: values {bad} are not among the levels {self.levels}."
            )
        return idx.astype(np.int64)

    def encode(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        r"""Validate values of this parameter and convert them to floats.

        Args:
            values: ``k`` values (numbers, or level objects for a categorical).

        Returns:
            ``k`` float64 values: the number itself for continuous/integer
            parameters (integers rounded), the level's numeric value for a
            categorical with numeric levels, else the level's index.

        Raises:
            ValueError: On non-numeric, non-finite, out-of-bounds, non-integral
                or unknown categorical values.
        """
        if self.kind == "categorical":
            idx = self.level_indices(values)
            if self.has_numeric_levels:
                return np.asarray([float(v) for v in self.categories], dtype=np.float64)[idx]
            return idx.astype(np.float64)
        try:
            out = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Parameter {self.name!r}: values must be numeric.") from err
        if not np.all(np.isfinite(out)):
            raise ValueError(f"Parameter {self.name!r}: values must be finite.")
        lower, upper = self.bounds
        tol = _BOUND_RTOL * (upper - lower)
        outside = (out < lower - tol) | (out > upper + tol)
        if np.any(outside):
            bad = out[outside][:5].tolist()
            raise ValueError(
                f"Parameter {self.name!r}: values {bad} lie outside [{self.lower}, {self.upper}]."
            )
        if self.kind == "integer":
            rounded = np.round(out)
            if np.any(np.abs(out - rounded) > _INTEGRALITY_ATOL):
                raise ValueError(f"Parameter {self.name!r}: integer values must be whole numbers.")
            out = rounded
        return out


@dataclass(frozen=True)
class SuccessCriterion:
    r"""When a point of a test function counts as a success (for success rates).

    Attributes:
        label: Short description for tables, e.g. ``"f <= 0.5"``.
        test: Vectorised predicate ``(V, f) -> k`` booleans, where ``V`` is the
            encoded ``k x d`` matrix (see the module docstring) and ``f`` the
            ``k`` function values.
    """

    label: str
    test: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, V: np.ndarray, values: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        out = np.asarray(self.test(V, values), dtype=bool).reshape(-1)
        if out.shape != values.shape:
            raise ValueError(f"Success criterion {self.label!r} returned shape {out.shape}, expected {values.shape}.")
        return out

    @classmethod
    def value_at_most(cls, threshold: float, label: str | None = None) -> SuccessCriterion:
        r"""Success when the function value is ``<= threshold``."""
        if not _is_real_number(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
        t = float(threshold)
        return cls(label or f"f <= {t:g}", _ValueAtMost(t))


@dataclass(frozen=True)
class _ValueAtMost:
    threshold: float

    def __call__(self, V: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.asarray(values) <= self.threshold


@dataclass(kw_only=True)
class TestProblem:
    r"""A test function with its parameters and what is known of its optimum.

    Attributes:
        name: Human-readable identifier (includes the configuration, e.g.
            dimension, shift and seed).
        parameters: The ``d`` inputs, in the column order of ``function``.
        function: Vectorised implementation mapping the encoded ``k x d``
            float64 matrix (see the module docstring) to ``k`` values.
        optimal_value: Global optimum of the function on the domain, if known.
        optimizer: One global optimiser as ``{name: value}`` (categorical
            values are level objects), if known.
        extra_optimizers: Further global optimisers, for functions with
            several (distances are taken to the nearest one).
        minimize: The natural sense of the problem (``True``: smaller is better).
        description: Where the definition comes from and choices made.
        success: What counts as a success for success rates and iterations
            to success (``None``: the problem has no such criterion).
    """

    __test__ = False  # not a pytest test class despite the name

    name: str
    parameters: list[ProblemParameter]
    function: Callable[[np.ndarray], np.ndarray]
    optimal_value: float | None = None
    optimizer: dict[str, Any] | None = None
    extra_optimizers: tuple[dict[str, Any], ...] = ()
    minimize: bool = True
    description: str = ""
    success: SuccessCriterion | None = None
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("TestProblem.name must be a non-empty string.")
        self.parameters = list(self.parameters)
        if not self.parameters:
            raise ValueError(f"Problem {self.name!r} needs at least one parameter.")
        if not all(isinstance(p, ProblemParameter) for p in self.parameters):
            raise TypeError(f"Problem {self.name!r}: parameters must be ProblemParameter objects.")
        names = tuple(p.name for p in self.parameters)
        if len(set(names)) != len(names):
            raise ValueError(f"Problem {self.name!r}: parameter names must be unique.")
        self._names = names
        if not callable(self.function):
            raise TypeError(f"Problem {self.name!r}: function must be callable.")
        if self.optimal_value is not None:
            if not _is_real_number(self.optimal_value):
                raise ValueError(f"Problem {self.name!r}: optimal_value must be a finite number.")
            self.optimal_value = float(self.optimal_value)
        self.extra_optimizers = tuple(self.extra_optimizers)
        if self.extra_optimizers and self.optimizer is None:
            raise ValueError(f"Problem {self.name!r}: extra_optimizers need an optimizer.")
        self._check_optimizers()
        if self.success is not None and not isinstance(self.success, SuccessCriterion):
            raise TypeError(f"Problem {self.name!r}: success must be a SuccessCriterion.")

    def _check_optimizers(self) -> None:
        """Every optimiser is a valid point and attains ``optimal_value``."""
        if self.optimizer is None:
            return
        values = np.asarray([self.evaluate_dict(opt) for opt in self.optimizers])
        if self.optimal_value is None:
            return
        tol = _OPTIMUM_RTOL * max(1.0, abs(self.optimal_value))
        if np.any(np.abs(values - self.optimal_value) > tol):
            raise ValueError(
                f"Problem {self.name!r}: the optimizers evaluate to {values.tolist()}, "
                f"not the optimal_value {self.optimal_value}."
            )

    @property
    def dim(self) -> int:
        """Number of parameters ``d``."""
        return len(self.parameters)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The ``d`` parameter names in column order."""
        return self._names

    @property
    def optimizers(self) -> tuple[dict[str, Any], ...]:
        """All known global optimisers (empty when none is known)."""
        if self.optimizer is None:
            return ()
        return (self.optimizer, *self.extra_optimizers)

    def _columns(self, X: pd.DataFrame | np.ndarray) -> list[np.ndarray]:
        """Split ``X`` into ``d`` raw columns of ``k`` values each."""
        if isinstance(X, pd.DataFrame):
            missing = [n for n in self._names if n not in X.columns]
            unknown = [c for c in X.columns if c not in self._names]
            if missing or unknown:
                raise ValueError(
                    f"Problem {self.name!r}: DataFrame columns must be the parameters "
                    f"{list(self._names)}; missing {missing}, unknown {unknown}."
                )
            return [X[n].to_numpy(dtype=object) for n in self._names]
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != self.dim:
                raise ValueError(
                    f"Problem {self.name!r}: expected an array of shape (k, {self.dim}), "
                    f"got {X.shape}."
                )
            return [X[:, j] for j in range(self.dim)]
        raise TypeError(
            f"Problem {self.name!r}: X must be a pandas DataFrame or a 2-D numpy array, "
            f"got {type(X).__name__}."
        )

    def encode(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        r"""Validate designs and encode them as the float matrix ``function`` takes.

        Args:
            X: ``k`` designs: a DataFrame with one column per parameter, or an
                array of shape ``k x d`` in parameter order (object dtype when
                it holds non-numeric levels).

        Returns:
            A ``k x d`` float64 matrix (see the module docstring).

        Raises:
            ValueError: On a wrong shape or columns, or an invalid value.
            TypeError: If ``X`` is neither a DataFrame nor an array.
        """
        columns = self._columns(X)
        k = len(columns[0])
        encoded = np.empty((k, self.dim), dtype=np.float64)
        for j, (param, col) in enumerate(zip(self.parameters, columns)):
            encoded[:, j] = param.encode(col)
        return encoded

    def evaluate(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        r"""Evaluate the test function on ``k`` designs.

        Args:
            X: ``k`` designs (see :meth:`encode`); categorical columns hold the
                level objects.

        Returns:
            ``k`` float64 function values, in the problem's natural sense.
        """
        encoded = self.encode(X)
        values = np.asarray(self.function(encoded), dtype=np.float64).reshape(-1)
        if values.shape != (encoded.shape[0],):
            raise RuntimeError(
                f"Problem {self.name!r}: function returned {values.size} values "
                f"for {encoded.shape[0]} designs."
            )
        return values

    def is_success(self, X: pd.DataFrame | np.ndarray, values: np.ndarray | None = None) -> np.ndarray | None:
        r"""Which of ``k`` designs meet :attr:`success` (``None`` without a criterion).

        Args:
            X: ``k`` designs (see :meth:`encode`).
            values: Their ``k`` function values (evaluated when omitted).

        Returns:
            ``k`` booleans, or ``None`` when the problem defines no success.
        """
        if self.success is None:
            return None
        encoded = self.encode(X)
        if values is None:
            values = self.evaluate(X)
        return self.success(encoded, values)

    def _frame_from_dict(self, params: Mapping[str, Any]) -> pd.DataFrame:
        if not isinstance(params, Mapping):
            raise TypeError(f"Problem {self.name!r}: params must be a mapping name -> value.")
        missing = [n for n in self._names if n not in params]
        unknown = [n for n in params if n not in self._names]
        if missing or unknown:
            raise ValueError(
                f"Problem {self.name!r}: params must name the parameters {list(self._names)}; "
                f"missing {missing}, unknown {unknown}."
            )
        frame = {}
        for n in self._names:
            column = np.empty(1, dtype=object)
            column[0] = params[n]
            frame[n] = column
        return pd.DataFrame(frame)

    def evaluate_dict(self, params: Mapping[str, Any]) -> float:
        r"""Evaluate one design given as ``{parameter name: value}`` (an Ax arm).

        Args:
            params: One value per parameter; categorical values are level objects.

        Returns:
            The function value.
        """
        return float(self.evaluate(self._frame_from_dict(params))[0])

    def distance_to_optimum(
        self, X: pd.DataFrame | np.ndarray, *, normalize: bool = False
    ) -> np.ndarray:
        r"""Distance of each design to the nearest known global optimiser.

        .. math::

            \mathrm{dist}(v) = \min_{v^*} \Big( \sum_{j \in \mathrm{num}}
            \big((v_j - v^*_j) / s_j\big)^2 + \sum_{j \in \mathrm{cat}}
            \mathbb{1}[v_j \neq v^*_j] \Big)^{1/2}

        with ``s_j = 1`` (raw units, the fusion paper's "feature-space
        distance") or ``s_j = upper_j - lower_j`` when ``normalize``; a
        categorical mismatch counts 1 (Hamming) whatever the level values.

        Args:
            X: ``k`` designs (see :meth:`encode`).
            normalize: Scale numerical coordinates by their ranges.

        Returns:
            ``k`` non-negative distances.

        Raises:
            ValueError: If the problem has no known optimiser.
        """
        if self.optimizer is None:
            raise ValueError(f"Problem {self.name!r} has no known optimizer.")
        encoded = self.encode(X)
        optima = self.encode(pd.concat([self._frame_from_dict(o) for o in self.optimizers]))
        categorical = np.array([p.kind == "categorical" for p in self.parameters])
        scale = np.array(
            [
                1.0 if (p.kind == "categorical" or not normalize) else p.bounds[1] - p.bounds[0]
                for p in self.parameters
            ]
        )
        diff = (encoded[:, None, :] - optima[None, :, :]) / scale  # k x n_opt x d
        sq = np.where(categorical, (diff != 0.0).astype(np.float64), diff**2)
        return np.sqrt(sq.sum(axis=-1).min(axis=-1))


_REGISTRY: dict[str, Callable[..., TestProblem]] = {}


def register_problem(
    name: str, factory: Callable[..., TestProblem], *, overwrite: bool = False
) -> None:
    r"""Register a factory that builds a :class:`TestProblem`.

    Args:
        name: Registry key (non-empty string).
        factory: Callable returning a ``TestProblem``; keyword arguments given
            to :func:`get_problem` are passed to it.
        overwrite: Replace an existing entry instead of raising.

    Raises:
        ValueError: If ``name`` is empty or already registered (and not ``overwrite``).
        TypeError: If ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Problem name must be a non-empty string, got {name!r}.")
    if not callable(factory):
        raise TypeError(f"Factory for problem {name!r} must be callable.")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"Problem {name!r} is already registered (pass overwrite=True).")
    _REGISTRY[name] = factory


def unregister_problem(name: str) -> None:
    """Remove a registered problem.

    Raises:
        KeyError: If ``name`` is not registered.
    """
    if name not in _REGISTRY:
        raise KeyError(f"Problem {name!r} is not registered.")
    del _REGISTRY[name]


def get_problem(name: str, **kwargs: Any) -> TestProblem:
    r"""Build a registered problem.

    Args:
        name: Registry key (see :func:`list_problems`).
        **kwargs: Passed to the problem's factory (e.g. ``dim``, ``shift``, ``seed``).

    Returns:
        A new :class:`TestProblem`.

    Raises:
        KeyError: If ``name`` is not registered.
        TypeError: If the factory does not return a ``TestProblem``.
    """
    if name not in _REGISTRY:
        raise KeyError(f"Unknown problem {name!r}; registered problems: {list_problems()}.")
    problem = _REGISTRY[name](**kwargs)
    if not isinstance(problem, TestProblem):
        raise TypeError(
            f"Factory of problem {name!r} returned {type(problem).__name__}, not TestProblem."
        )
    return problem


def list_problems() -> list[str]:
    """Names of the registered problems, sorted."""
    return sorted(_REGISTRY)
