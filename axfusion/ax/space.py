r"""Ax search spaces as axfusion box spaces, and designs between the two.

:func:`translate_search_space` maps an Ax ``SearchSpace`` to a
:class:`~axfusion.candidates.SearchSpace`:

=============================================  =================================================
Ax                                             axfusion
=============================================  =================================================
``RangeParameter`` (float, log scale or not)   :class:`~axfusion.candidates.ContinuousParameter`
``RangeParameter`` (int)                       :class:`~axfusion.candidates.IntegerParameter`
``ChoiceParameter`` (ordered or not)           :class:`~axfusion.candidates.CategoricalParameter`
                                               (booleans become the levels ``0``/``1``)
``FixedParameter``                             left out of the box, added back to every design
``ParameterConstraint`` (inequality)           :class:`~axfusion.candidates.LinearConstraint`
=============================================  =================================================

Derived parameters, equality constraints and hierarchical search spaces have no
counterpart and raise ``UnsupportedError``. A logit-scale range parameter is searched
on its linear scale.

A design moves between three forms: an Ax parameterization (``dict``), a row of a raw
``DataFrame`` (the axfusion space's columns) and a hashable key (the tuple of the raw row,
which is how :class:`~axfusion.optimizer.FusionOptimizer` identifies box designs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from ax.core.parameter import (
    ChoiceParameter,
    DerivedParameter,
    FixedParameter,
    ParameterType,
    RangeParameter,
)
from ax.core.search_space import SearchSpace as AxSearchSpace
from ax.exceptions.core import UnsupportedError

from axfusion.candidates import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
    SearchSpace,
)

__all__ = ["SpaceTranslation", "translate_search_space"]

Parameterization = dict[str, Any]


def _python_scalar(value: Any) -> Any:
    r"""A numpy scalar as the Python scalar Ax stores (``np.int64`` -> ``int``)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class SpaceTranslation:
    r"""An Ax search space seen as an axfusion box.

    Attributes:
        space: The axfusion :class:`~axfusion.candidates.SearchSpace` (tunable parameters).
        fixed: Values of Ax's fixed parameters, added to every design.
        python_types: Per tunable parameter, the Python type Ax expects of its values.
    """

    space: SearchSpace
    fixed: dict[str, Any] = field(default_factory=dict)
    python_types: dict[str, type] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return self.space.names

    def to_frame(self, parameterizations: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        r"""Raw designs (``k`` rows, the space's columns) of ``k`` Ax parameterizations.

        Raises:
            KeyError: if a parameterization lacks a tunable parameter.
        """
        rows: dict[str, list[Any]] = {name: [] for name in self.names}
        for params in parameterizations:
            for name in self.names:
                if name not in params:
                    raise KeyError(f"The parameterization {dict(params)} lacks the parameter {name!r}.")
                value = params[name]
                rows[name].append(int(value) if self.python_types[name] is bool else value)
        frame = {}
        for p in self.space.parameters:
            values = rows[p.name]
            if isinstance(p, CategoricalParameter):
                column = np.empty(len(values), dtype=object)
                column[:] = values
                frame[p.name] = column
            elif isinstance(p, IntegerParameter):
                frame[p.name] = np.asarray(values, dtype=np.int64) if values else np.empty(0, dtype=np.int64)
            else:
                frame[p.name] = np.asarray(values, dtype=np.float64) if values else np.empty(0)
        return pd.DataFrame(frame, columns=list(self.names))

    def keys(self, raw: pd.DataFrame) -> list[tuple[Any, ...]]:
        r"""Hashable keys of the ``k`` rows of a raw frame (as FusionOptimizer keys them)."""
        return [tuple(r) for r in raw[list(self.names)].itertuples(index=False, name=None)]

    def to_parameterization(self, row: Mapping[str, Any]) -> Parameterization:
        r"""The Ax parameterization of one raw design (fixed parameters added)."""
        params: Parameterization = {}
        for name in self.names:
            value = _python_scalar(row[name])
            kind = self.python_types[name]
            if kind is bool:
                value = bool(value)
            elif kind is float:
                value = float(value)
            elif kind is int:
                value = int(value)
            params[name] = value
        params.update(self.fixed)
        return params


def _range_parameter(p: RangeParameter) -> ContinuousParameter | IntegerParameter:
    if p.parameter_type == ParameterType.INT:
        return IntegerParameter(p.name, int(p.lower), int(p.upper))
    return ContinuousParameter(p.name, float(p.lower), float(p.upper), log_scale=bool(p.log_scale))


def _choice_parameter(p: ChoiceParameter) -> CategoricalParameter:
    values: list[Any] = list(p.values)  # CategoricalParameter checks that they are str, int or float
    if p.parameter_type == ParameterType.BOOL:
        values = [int(bool(v)) for v in values]
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise UnsupportedError(f"Choice parameter {p.name!r} has a non-finite value {v!r}.")
    return CategoricalParameter(p.name, values)


def translate_search_space(ax_space: AxSearchSpace) -> SpaceTranslation:
    r"""The axfusion box of an Ax search space (see the module docstring).

    Args:
        ax_space: An Ax ``SearchSpace`` (not hierarchical).

    Returns:
        The :class:`SpaceTranslation`.

    Raises:
        UnsupportedError: for hierarchical spaces, derived parameters, equality
            constraints or a space without tunable parameters.
    """
    if ax_space.is_hierarchical:
        raise UnsupportedError("The fusion generation node does not support hierarchical search spaces.")
    parameters: list[ContinuousParameter | IntegerParameter | CategoricalParameter] = []
    fixed: dict[str, Any] = {}
    python_types: dict[str, type] = {}
    for p in ax_space.parameters.values():
        if isinstance(p, DerivedParameter):
            raise UnsupportedError(
                f"The fusion generation node does not support derived parameters ({p.name!r})."
            )
        if isinstance(p, FixedParameter):
            fixed[p.name] = p.value
            continue
        if isinstance(p, RangeParameter):
            parameters.append(_range_parameter(p))
        elif isinstance(p, ChoiceParameter):
            parameters.append(_choice_parameter(p))
        else:
            raise UnsupportedError(f"Unsupported Ax parameter type {type(p).__name__} ({p.name!r}).")
        python_types[p.name] = {
            ParameterType.BOOL: bool,
            ParameterType.INT: int,
            ParameterType.FLOAT: float,
            ParameterType.STRING: str,
        }[p.parameter_type]
    if not parameters:
        raise UnsupportedError("The search space has no tunable parameters.")
    constraints = []
    for c in ax_space.parameter_constraints:
        if getattr(c, "is_equality", False):
            raise UnsupportedError(
                f"The fusion generation node supports linear inequality constraints only, got {c}."
            )
        constraints.append(LinearConstraint(dict(c.constraint_dict), float(c.bound)))
    return SpaceTranslation(
        space=SearchSpace(parameters, constraints), fixed=fixed, python_types=python_types
    )
