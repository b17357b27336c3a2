r"""Target-oriented objectives: maximise, minimise, reach a value, land in a window.

Internally every target is oriented so that larger is better (docs/method.md): a
minimised target is negated; a target value ``v`` or a window ``[lo, hi]``
becomes ``-distance(y, window)`` (0 inside it). The same map is applied to the
observations *and* to every surrogate member's prediction, so the fusion
acquisition never needs to know what the user asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Target", "orient", "pareto_rows", "parse_targets"]

_KINDS = ("maximize", "minimize", "value", "window")


@dataclass(frozen=True)
class Target:
    r"""What the user wants of one target.

    Args:
        kind: ``"maximize"``, ``"minimize"``, ``"value"`` (reach ``value``) or
            ``"window"`` (land in ``[lower, upper]``).
        value: The target value for ``kind="value"``.
        lower: Lower end of the window (may be ``-inf``).
        upper: Upper end of the window (may be ``inf``).
        name: Optional column name, for messages and reports.

    Example:
        >>> Target.window(1.1, 1.7, name="band gap")   # eV
        >>> Target.minimize("loss")
    """

    kind: str = "maximize"
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Unknown target kind {self.kind!r}; use one of {_KINDS}.")
        if self.kind == "value" and (self.value is None or not math.isfinite(self.value)):
            raise ValueError("A 'value' target needs a finite `value`.")
        if self.kind == "window":
            lo = -math.inf if self.lower is None else float(self.lower)
            hi = math.inf if self.upper is None else float(self.upper)
            if math.isnan(lo) or math.isnan(hi) or lo > hi or (math.isinf(lo) and math.isinf(hi)):
                raise ValueError(
                    "A window target needs lower <= upper with at least one finite end; "
                    f"got [{self.lower}, {self.upper}]."
                )

    @classmethod
    def maximize(cls, name: str | None = None) -> Target:
        return cls("maximize", name=name)

    @classmethod
    def minimize(cls, name: str | None = None) -> Target:
        return cls("minimize", name=name)

    @classmethod
    def reach(cls, value: float, name: str | None = None) -> Target:
        return cls("value", value=float(value), name=name)

    @classmethod
    def window(cls, lower: float | None, upper: float | None, name: str | None = None) -> Target:
        return cls("window", lower=lower, upper=upper, name=name)

    def orient(self, y: np.ndarray) -> np.ndarray:
        r"""Map raw values to larger-is-better values (any shape)."""
        y = np.asarray(y, dtype=np.float64)
        if self.kind == "maximize":
            return y
        if self.kind == "minimize":
            return -y
        if self.kind == "value":
            return -np.abs(y - self.value)
        lo = -np.inf if self.lower is None else self.lower
        hi = np.inf if self.upper is None else self.upper
        return -(np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))

    def satisfied(self, y: np.ndarray) -> np.ndarray:
        r"""For value/window targets: whether ``y`` hits the target (boolean)."""
        o = self.orient(y)
        if self.kind in ("value", "window"):
            return o >= 0.0
        raise ValueError(f"A {self.kind!r} target has no 'satisfied' set.")

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "value": self.value, "lower": self.lower, "upper": self.upper, "name": self.name}


def parse_targets(targets: Sequence[Target | str] | Target | str | None, m: int) -> list[Target]:
    r"""Normalise a target specification to ``m`` :class:`Target` objects.

    Strings are target kinds (``"maximize"``/``"minimize"``); ``None`` means
    maximise every target.
    """
    if targets is None:
        return [Target() for _ in range(m)]
    if isinstance(targets, (Target, str)):
        targets = [targets]
    out = [t if isinstance(t, Target) else Target(kind=str(t)) for t in targets]
    if len(out) != m:
        raise ValueError(f"Got {len(out)} target specifications for {m} targets.")
    return out


def orient(Y: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    r"""Orient the last axis of ``Y`` (``... x m``) target by target."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape[-1] != len(targets):
        raise ValueError(f"Y has {Y.shape[-1]} targets but {len(targets)} specifications were given.")
    return np.stack([t.orient(Y[..., j]) for j, t in enumerate(targets)], axis=-1)


def pareto_rows(O: np.ndarray) -> np.ndarray:
    r"""Indices of the Pareto-optimal rows of ``N x m`` oriented targets (maximised)."""
    O = np.asarray(O, dtype=np.float64)
    n = O.shape[0]
    keep = np.ones(n, dtype=bool)
    # A dominating row has a strictly larger sum, so it is visited first.
    order = np.argsort(-O.sum(axis=1), kind="stable")
    front: list[int] = []
    for i in order:
        dominated = False
        for j in front:
            if np.all(O[j] >= O[i]) and np.any(O[j] > O[i]):
                dominated = True
                break
        if dominated:
            keep[i] = False
        else:
            front.append(int(i))
    return np.flatnonzero(keep)
