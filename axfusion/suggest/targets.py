r"""Target columns and their directions (maximise, minimise, reach a value, a window) as :class:`Target` objects."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

from axfusion.suggest.errors import SuggestInputError
from axfusion.suggest.tables import _plural

if TYPE_CHECKING:  # imported where used: the CLI parser is built without torch/botorch
    from axfusion.acquisition.targets import Target

DirectionSpec = Union[str, float, int, tuple, list, "Target", None]

_MAX_WORDS = {"max", "maximize", "maximise"}
_MIN_WORDS = {"min", "minimize", "minimise"}


def _one_direction(name: str, spec: DirectionSpec) -> Target:
    r"""One target column's direction as a named :class:`Target`."""
    from axfusion.acquisition.targets import Target

    try:
        if spec is None:
            return Target.maximize(name)
        if isinstance(spec, Target):
            return dataclasses.replace(spec, name=name)
        if isinstance(spec, str):
            word = spec.strip().lower()
            if word in _MAX_WORDS:
                return Target.maximize(name)
            if word in _MIN_WORDS:
                return Target.minimize(name)
            raise SuggestInputError(
                f"Unknown direction {spec!r} for target {name!r}; use 'maximize', 'minimize', "
                "a number (reach that value), a (low, high) window or a Target."
            )
        if isinstance(spec, (tuple, list)):
            if len(spec) != 2:
                raise SuggestInputError(
                    f"A window for target {name!r} needs (low, high); got {list(spec)}."
                )
            lo, hi = (None if v is None else float(v) for v in spec)
            lo = None if lo is not None and lo == -math.inf else lo
            hi = None if hi is not None and hi == math.inf else hi
            return Target.window(lo, hi, name=name)
        if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, (bool, np.bool_)):
            return Target.reach(float(spec), name=name)
    except SuggestInputError:
        raise
    except (TypeError, ValueError) as error:
        raise SuggestInputError(f"Invalid direction {spec!r} for target {name!r}: {error}") from error
    raise SuggestInputError(
        f"Invalid direction {spec!r} ({type(spec).__name__}) for target {name!r}; use 'maximize', "
        "'minimize', a number, a (low, high) window or a Target."
    )


def parse_targets(
    targets: Sequence[str] | str, directions: Mapping[str, DirectionSpec] | Sequence[DirectionSpec] | DirectionSpec
) -> tuple[list[str], list[Target]]:
    r"""Target column names and one :class:`Target` per name."""
    from axfusion.acquisition.targets import Target

    names = [targets] if isinstance(targets, str) else [str(t) for t in targets]
    if not names:
        raise SuggestInputError("Give at least one target column (e.g. --target Tc).")
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        raise SuggestInputError(f"Target column(s) {repeated} are given more than once.")
    if directions is None or isinstance(directions, (str, Target)):
        specs: list[DirectionSpec] = [directions] * len(names)
    elif isinstance(directions, Mapping):
        unknown = [k for k in directions if k not in names]
        if unknown:
            raise SuggestInputError(f"directions names {unknown}, which are not targets; the targets are {names}.")
        specs = [directions.get(n) for n in names]
    elif isinstance(directions, (int, float)) and not isinstance(directions, bool):
        specs = [directions] * len(names)
    elif isinstance(directions, Sequence):
        specs = list(directions)
        if len(specs) != len(names):
            raise SuggestInputError(
                f"directions has {len(specs)} entries for {_plural(len(names), 'target')} {names}; "
                "give one per target (a window is one entry: [(low, high)]) or a dict {target: direction}."
            )
    else:
        raise SuggestInputError(
            f"directions must be a direction, a list of them or a dict; got {type(directions).__name__}."
        )
    return names, [_one_direction(n, s) for n, s in zip(names, specs)]


def describe_target(t: Target) -> str:
    r"""``"Tc (minimize)"``, ``"gap (window [1.1, 1.7])"``, for messages."""
    if t.kind == "window":
        return f"{t.name} (window [{t.lower}, {t.upper}])"
    if t.kind == "value":
        return f"{t.name} (value {t.value})"
    return f"{t.name} ({t.kind})"
