r"""Stage 1 input: the targets as the members see them -- the bad tail winsorized.

A heavy tail of poor measurements (Rosenbrock's ``100 (v_{i+1} - v_i^2)^2`` far from the
valley, a failed synthesis logged as a very low yield) dominates a target's mean and standard
deviation, so every member spends its fit on the difference between bad and very bad designs
and the good region -- the only one a campaign cares about -- is squeezed into a sliver of the
standardised scale. Ax's default GP-BO clips that tail before fitting (its ``Winsorize``
transform, Tukey's fences); the members here get the same treatment:

.. math::

    y \leftarrow \max\big(y,\; Q_1 - c \cdot (Q_3 - Q_1)\big) \quad \text{(maximised target)}

(``min(y, Q_3 + c IQR)`` for a minimised one), with ``c`` = ``stage1.winsorize`` (1.5,
Tukey's fence). Only the bad side moves, so the incumbent and every value near it are
unchanged; targets aimed at a value or a window are left as they are (both sides are bad).
The measurements the user recorded are never changed -- only the copy the reservoir fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

BadSide = Literal["lower", "upper"] | None
r"""Which side of a target is bad: ``"lower"`` (maximised), ``"upper"`` (minimised), ``None``."""


def tukey_fence(y: np.ndarray, side: Literal["lower", "upper"], fence: float) -> float:
    r"""Tukey's fence of the finite values of ``y`` on ``side``.

    Quartiles as in Ax's ``Winsorize`` (``Q1`` rounded down, ``Q3`` rounded up to a data
    value).

    Args:
        y: ``(n,)`` values.
        side: ``"lower"``: ``Q1 - fence * IQR``; ``"upper"``: ``Q3 + fence * IQR``.
        fence: The multiplier ``c >= 0``.
    """
    finite = np.asarray(y, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return -np.inf if side == "lower" else np.inf
    q1 = float(np.percentile(finite, 25, method="lower"))
    q3 = float(np.percentile(finite, 75, method="higher"))
    iqr = q3 - q1
    return q1 - fence * iqr if side == "lower" else q3 + fence * iqr


def winsorize_bad_tail(Y: np.ndarray, sides: Sequence[BadSide], fence: float | None) -> np.ndarray:
    r"""A copy of ``Y`` with each target's bad tail clipped at Tukey's fence.

    Args:
        Y: ``(n, m)`` measurements (raw units; NaN allowed and kept).
        sides: ``m`` entries: the bad side of each target, or ``None`` to leave it.
        fence: Tukey's multiplier ``c >= 0``; ``None`` returns an unchanged copy.

    Returns:
        ``(n, m)`` float64 array; ``Y`` itself is not modified.
    """
    out = np.array(Y, dtype=np.float64, copy=True)
    if out.ndim != 2 or out.shape[1] != len(sides):
        raise ValueError(f"Y must be (n, {len(sides)}) for {len(sides)} sides, got shape {out.shape}")
    if fence is None:
        return out
    if not (np.isfinite(fence) and fence >= 0):
        raise ValueError(f"fence must be a finite number >= 0 or None, got {fence}")
    for j, side in enumerate(sides):
        if side is None:
            continue
        if side not in ("lower", "upper"):
            raise ValueError(f"sides[{j}] must be 'lower', 'upper' or None, got {side!r}")
        cut = tukey_fence(out[:, j], side, fence)
        col = out[:, j]
        ok = np.isfinite(col)
        col[ok] = np.maximum(col[ok], cut) if side == "lower" else np.minimum(col[ok], cut)
    return out
