r"""Input checks shared by the structure package.

The checks never copy a large array: a ``numpy.memmap`` stays on disk and is only
read in chunks by the callers.  Finiteness of large inputs is checked chunk by chunk
where the rows are read (see :func:`check_finite_chunk`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_matrix(
    X: Any,
    name: str,
    *,
    allow_empty: bool = False,
    n_features: int | None = None,
) -> np.ndarray:
    r"""Return ``X`` as a 2-D numeric array without copying arrays (memmaps stay lazy).

    Args:
        X: ``(n, d)`` array-like of real numbers.
        name: Name used in error messages (e.g. ``"candidates"``).
        allow_empty: Whether ``n == 0`` rows are accepted.
        n_features: Required number of columns ``d``, if any.

    Returns:
        The ``(n, d)`` array; ``X`` itself when it already is a numeric ``ndarray``.

    Raises:
        TypeError: If the values are not real numbers.
        ValueError: If the shape is not ``(n, d)`` or does not match ``n_features``.
    """
    if X is None:
        raise ValueError(f"{name} must be an (n, d) array, got None")
    arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, d) array, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column, got shape {arr.shape}")
    if not allow_empty and arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row, got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns but {n_features} were expected"
        )
    return arr


def check_finite_chunk(
    chunk: np.ndarray, name: str, offset: int = 0, rows: np.ndarray | None = None
) -> None:
    r"""Raise if a ``(c, d)`` chunk holds NaN or infinity, naming the first bad row.

    Args:
        chunk: ``(c, d)`` float array, rows ``offset .. offset + c - 1`` of ``name``.
        name: Name of the full array, for the message.
        offset: Row index of ``chunk[0]`` in the full array.
        rows: ``(c,)`` row indices of the chunk in the full array, when it is not a
            contiguous block (overrides ``offset``).
    """
    finite = np.isfinite(chunk)
    if not finite.all():
        position = int(np.flatnonzero(~finite.all(axis=1))[0])
        row = int(rows[position]) if rows is not None else position + offset
        raise ValueError(f"{name} contains NaN or infinite values (first at row {row})")


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    r"""Return ``value`` as an ``int`` after checking ``value >= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_seed(seed: Any) -> int:
    r"""Return a non-negative integer seed (the package is deterministic given it)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def sample_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    r"""Sorted row indices of a uniform sample without replacement.

    Args:
        n: Number of rows to sample from.
        size: Maximum sample size; all ``n`` rows are returned when ``n <= size``.
        rng: Source of randomness.

    Returns:
        ``(min(n, size),)`` int64 array of increasing row indices.
    """
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)
