r"""Vectorised 64-bit hashes of feature rows, to match measured rows to pool rows without an ``N x n`` comparison."""

from __future__ import annotations

import numpy as np

_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    r"""The splitmix64 finaliser on a ``uint64`` array (arithmetic modulo ``2**64``)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def row_hashes(X: np.ndarray) -> np.ndarray:
    r"""A 64-bit hash of each row of a float array, equal for exactly equal rows.

    ``-0.0`` and ``0.0`` hash alike (as they compare equal). Hash hits must still be
    verified: distinct rows may collide (with probability about ``2**-64`` per pair).

    Args:
        X: ``n x d`` finite values.

    Returns:
        ``(n,)`` ``uint64`` hashes.
    """
    bits = np.ascontiguousarray(np.asarray(X, dtype=np.float64) + 0.0).view(np.uint64)
    h = np.zeros(bits.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bits.shape[1]):
            salt = np.uint64(((j + 1) * 0x9E3779B97F4A7C15) & _M64)
            h = _mix(h ^ _mix(bits[:, j] + salt))
    return h
