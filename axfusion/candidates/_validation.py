r"""Argument checks shared by the candidate-set modules.

Every check raises an exception whose message names the offending argument and value, so that
a caller several layers up can tell what went wrong without reading this module.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def check_positive_int(value: Any, name: str) -> int:
    r"""Return ``value`` as a Python ``int`` after checking that it is a positive integer.

    Raises:
        TypeError: if ``value`` is not an integer (booleans are rejected).
        ValueError: if ``value`` < 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_non_negative_int(value: Any, name: str) -> int:
    r"""Return ``value`` as a Python ``int`` after checking that it is an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def check_fraction(value: Any, name: str) -> float:
    r"""Return ``value`` as a float after checking that it lies in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def as_row_ids(ids: Any, n_rows: int, *, name: str = "ids") -> np.ndarray:
    r"""Validate a collection of row ids of a table with ``n_rows`` rows.

    Args:
        ids: An integer array-like of shape ``(k,)`` (a scalar is read as one id).
        n_rows: The number of rows ``N`` of the table; valid ids are ``0 .. N - 1``.
        name: The argument name used in error messages.

    Returns:
        An ``int64`` array of shape ``(k,)`` in the order given.

    Raises:
        TypeError: if ``ids`` is not integer-valued (boolean masks are rejected: pass
            ``np.flatnonzero(mask)``).
        ValueError: if ``ids`` is not one-dimensional or contains duplicates.
        IndexError: if an id is outside ``0 .. N - 1``.
    """
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must be integer row ids, got dtype {arr.dtype}"
            + (" (pass np.flatnonzero(mask) for a boolean mask)" if arr.dtype == bool else "")
        )
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr >= n_rows)
    if bad.any():
        shown = arr[bad][:5].tolist()
        raise IndexError(
            f"{name} out of range for a table of {n_rows} rows (valid ids 0..{n_rows - 1}): "
            f"{shown}{' ...' if int(bad.sum()) > 5 else ''}"
        )
    sorted_ids = np.sort(arr)
    dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
    if dup.size:
        shown = np.unique(dup)[:5].tolist()
        raise ValueError(f"{name} contains duplicated row ids: {shown}")
    return arr


def as_float_matrix(x: Any, name: str, *, n_columns: int | None = None) -> np.ndarray:
    r"""Return ``x`` as a finite ``float64`` matrix of shape ``(k, n_columns)``.

    Raises:
        ValueError: if ``x`` is not two-dimensional, has the wrong number of columns or
            contains NaN or infinite values.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (k, p), got shape {arr.shape}")
    if n_columns is not None and arr.shape[1] != n_columns:
        raise ValueError(f"{name} must have {n_columns} columns, got {arr.shape[1]}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr
