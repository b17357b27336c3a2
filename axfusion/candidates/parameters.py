r"""Parameters of a box search space and linear constraints between them.

Each parameter moves between four representations of ``k`` designs (shapes per parameter):

- **raw** -- the values a user sees: floats, Python ints, or the exact level objects of a
  categorical parameter (``(k,)``, an object array for categoricals);
- **code** -- one canonical float per design: the value itself for continuous and integer
  parameters, the level index for a categorical one (``(k,)``);
- **feature** -- what the surrogate models see: the value (``log10`` of it on a log scale), or
  a one-hot block of ``n_levels`` columns (``(k, n_features)``);
- **vector** -- the optimiser's coordinate (``(k,)``) inside :attr:`vector_bounds`: the value
  (``log10`` on a log scale); an integer's value rounded then clipped, from bounds widened by
  one half so every integer gets an equal share; a categorical's value in
  ``[0, n_levels)`` floored to a level index. Any vector in the bounds decodes to a valid
  design, so differential evolution never produces a fractional one-hot or a non-integer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a parameter name must be a non-empty string, got {name!r}")
    return name


def _check_real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite real number, got {value!r}")
    return float(value)


def _numeric_values(values: Any, name: str) -> np.ndarray:
    r"""Raw values of a numeric parameter as float64 ``(k,)``; NaN where not a real number."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"values of parameter {name!r} must be one-dimensional, got {arr.shape}")
    if arr.dtype == object:
        out = np.full(arr.shape, np.nan)
        for i, v in enumerate(arr):
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                out[i] = float(v)
        return out
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        return np.full(arr.shape, np.nan)
    return arr.astype(np.float64)


@dataclass(frozen=True)
class ContinuousParameter:
    r"""A real parameter in ``[lower, upper]``.

    Args:
        name: Parameter name.
        lower: Lower bound.
        upper: Upper bound (``> lower``).
        log_scale: Search and model on ``log10``; requires ``lower > 0``.
    """

    name: str
    lower: float
    upper: float
    log_scale: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name)
        lower = _check_real(self.lower, f"lower bound of {self.name!r}")
        upper = _check_real(self.upper, f"upper bound of {self.name!r}")
        if not lower < upper:
            raise ValueError(f"parameter {self.name!r} needs lower < upper, got [{lower}, {upper}]")
        if self.log_scale and lower <= 0:
            raise ValueError(f"log-scale parameter {self.name!r} needs lower > 0, got {lower}")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "log_scale", bool(self.log_scale))

    @property
    def is_numeric(self) -> bool:
        return True

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (f"log10({self.name})",) if self.log_scale else (self.name,)

    @property
    def vector_bounds(self) -> tuple[float, float]:
        if self.log_scale:
            return math.log10(self.lower), math.log10(self.upper)
        return self.lower, self.upper

    def vector_to_code(self, v: np.ndarray) -> np.ndarray:
        value = 10.0**v if self.log_scale else v
        return np.clip(value, self.lower, self.upper)

    def code_to_vector(self, code: np.ndarray) -> np.ndarray:
        return np.log10(code) if self.log_scale else code.copy()

    def code_to_features(self, code: np.ndarray) -> np.ndarray:
        return (np.log10(code) if self.log_scale else code)[:, None]

    def code_to_raw(self, code: np.ndarray) -> np.ndarray:
        return code.astype(np.float64)

    def valid_raw(self, values: Any) -> np.ndarray:
        x = _numeric_values(values, self.name)
        with np.errstate(invalid="ignore"):
            return np.isfinite(x) & (x >= self.lower) & (x <= self.upper)

    def raw_to_code(self, values: Any) -> np.ndarray:
        x = _numeric_values(values, self.name)
        bad = ~self.valid_raw(values)
        if bad.any():
            raise ValueError(
                f"values of parameter {self.name!r} must be real numbers in "
                f"[{self.lower}, {self.upper}], got {np.asarray(values)[bad][:5].tolist()}"
            )
        return x


@dataclass(frozen=True)
class IntegerParameter:
    r"""An integer parameter in ``{lower, ..., upper}``.

    Args:
        name: Parameter name.
        lower: Smallest value.
        upper: Largest value (``>= lower``).
    """

    name: str
    lower: int
    upper: int

    def __post_init__(self) -> None:
        _check_name(self.name)
        for bound, what in ((self.lower, "lower"), (self.upper, "upper")):
            if isinstance(bound, bool) or not isinstance(bound, numbers.Integral):
                raise TypeError(
                    f"{what} bound of integer parameter {self.name!r} must be an int, got {bound!r}"
                )
        if not self.lower <= self.upper:
            raise ValueError(
                f"parameter {self.name!r} needs lower <= upper, got [{self.lower}, {self.upper}]"
            )
        object.__setattr__(self, "lower", int(self.lower))
        object.__setattr__(self, "upper", int(self.upper))

    @property
    def is_numeric(self) -> bool:
        return True

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def vector_bounds(self) -> tuple[float, float]:
        return self.lower - 0.5, self.upper + 0.5

    def vector_to_code(self, v: np.ndarray) -> np.ndarray:
        return np.clip(np.round(v), self.lower, self.upper)

    def code_to_vector(self, code: np.ndarray) -> np.ndarray:
        return code.astype(np.float64)

    def code_to_features(self, code: np.ndarray) -> np.ndarray:
        return code[:, None].astype(np.float64)

    def code_to_raw(self, code: np.ndarray) -> np.ndarray:
        return code.astype(np.int64)

    def valid_raw(self, values: Any) -> np.ndarray:
        x = _numeric_values(values, self.name)
        with np.errstate(invalid="ignore"):
            return np.isfinite(x) & (x == np.round(x)) & (x >= self.lower) & (x <= self.upper)

    def raw_to_code(self, values: Any) -> np.ndarray:
        x = _numeric_values(values, self.name)
        bad = ~self.valid_raw(values)
        if bad.any():
            raise ValueError(
                f"values of integer parameter {self.name!r} must be integers in "
                f"[{self.lower}, {self.upper}], got {np.asarray(values)[bad][:5].tolist()}"
            )
        return x


Level = str | int | float


@dataclass(frozen=True)
class CategoricalParameter:
    r"""A categorical parameter with an ordered tuple of distinct levels.

    Levels are strings, integers or finite floats and come back as the very objects given.

    Args:
        name: Parameter name.
        levels: At least one distinct level.
    """

    name: str
    levels: tuple[Level, ...]
    _index: dict[Level, int] = field(init=False, repr=False, compare=False)

    def __init__(self, name: str, levels: Sequence[Level]) -> None:
        _check_name(name)
        if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence):
            raise TypeError(f"levels of {name!r} must be a sequence of levels, got {levels!r}")
        levels = tuple(levels)
        if not levels:
            raise ValueError(f"categorical parameter {name!r} needs at least one level")
        for level in levels:
            if isinstance(level, bool) or not isinstance(level, (str, numbers.Real)):
                raise TypeError(f"levels of {name!r} must be str, int or float, got {level!r}")
            if (
                isinstance(level, numbers.Real)
                and not isinstance(level, numbers.Integral)
                and not math.isfinite(level)
            ):
                raise ValueError(f"levels of {name!r} must be finite, got {level!r}")
        index: dict[Level, int] = {}
        for i, level in enumerate(levels):
            if level in index:
                raise ValueError(f"levels of {name!r} must be distinct, {level!r} is repeated")
            index[level] = i
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "_index", index)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def is_numeric(self) -> bool:
        return False

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}={level}" for level in self.levels)

    @property
    def vector_bounds(self) -> tuple[float, float]:
        return 0.0, float(self.n_levels)

    def vector_to_code(self, v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(v), 0, self.n_levels - 1)

    def code_to_vector(self, code: np.ndarray) -> np.ndarray:
        return code + 0.5

    def code_to_features(self, code: np.ndarray) -> np.ndarray:
        out = np.zeros((code.shape[0], self.n_levels))
        out[np.arange(code.shape[0]), code.astype(np.int64)] = 1.0
        return out

    def code_to_raw(self, code: np.ndarray) -> np.ndarray:
        levels = np.empty(self.n_levels, dtype=object)
        levels[:] = self.levels
        return levels[code.astype(np.int64)]

    def _lookup(self, values: Any) -> np.ndarray:
        arr = np.asarray(values, dtype=object)
        if arr.ndim != 1:
            raise ValueError(
                f"values of parameter {self.name!r} must be one-dimensional, got {arr.shape}"
            )
        out = np.full(arr.shape, -1, dtype=np.int64)
        for i, v in enumerate(arr):
            try:
                out[i] = self._index.get(v, -1) if not isinstance(v, bool) else -1
            except TypeError:  # unhashable value: not a level
                out[i] = -1
        return out

    def valid_raw(self, values: Any) -> np.ndarray:
        return self._lookup(values) >= 0

    def raw_to_code(self, values: Any) -> np.ndarray:
        idx = self._lookup(values)
        bad = idx < 0
        if bad.any():
            raise ValueError(
                f"values of categorical parameter {self.name!r} must be one of "
                f"{list(self.levels)}, "
                f"got {np.asarray(values, dtype=object)[bad][:5].tolist()}"
            )
        return idx.astype(np.float64)


Parameter = ContinuousParameter | IntegerParameter | CategoricalParameter


@dataclass(frozen=True)
class LinearConstraint:
    r"""A linear inequality ``sum_i weights[name_i] · x_i <= bound`` over numeric parameters.

    ``x_i`` is the raw value (not its logarithm on a log scale).

    Args:
        weights: Parameter name -> weight; at least one non-zero weight.
        bound: Right-hand side ``b``.
    """

    weights: Mapping[str, float]
    bound: float

    def __post_init__(self) -> None:
        if not isinstance(self.weights, Mapping) or not self.weights:
            raise TypeError(
                "a linear constraint needs a non-empty mapping of parameter name -> weight"
            )
        weights = {
            _check_name(name): _check_real(w, f"weight of {name!r}")
            for name, w in self.weights.items()
        }
        if not any(weights.values()):
            raise ValueError("a linear constraint needs at least one non-zero weight")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bound", _check_real(self.bound, "constraint bound"))

    def __str__(self) -> str:
        lhs = " + ".join(f"{w:g}*{name}" for name, w in self.weights.items())
        return f"{lhs} <= {self.bound:g}"
