from __future__ import annotations

import math

import numpy as np
import pytest
from ax.core.parameter import ChoiceParameter, DerivedParameter, FixedParameter, ParameterType, RangeParameter
from ax.core.parameter_constraint import ParameterConstraint
from ax.core.search_space import SearchSpace as AxSearchSpace
from ax.exceptions.core import UnsupportedError

from axfusion.ax.space import translate_search_space
from axfusion.candidates import CategoricalParameter, ContinuousParameter, IntegerParameter


def _space(**extra) -> AxSearchSpace:
    params = [
        RangeParameter("x", ParameterType.FLOAT, 0.0, 2.0),
        RangeParameter("lr", ParameterType.FLOAT, 1e-4, 1e-1, log_scale=True),
        RangeParameter("n", ParameterType.INT, 1, 8),
        ChoiceParameter("metal", ParameterType.STRING, ["Ti", "V", "Cr"], is_ordered=False),
        ChoiceParameter("flag", ParameterType.BOOL, [False, True], is_ordered=False),
        FixedParameter("site", ParameterType.STRING, "A"),
    ]
    return AxSearchSpace(parameters=params, **extra)


def test_ax_parameters_map_to_axfusion_parameters():
    tr = translate_search_space(_space())
    kinds = {p.name: type(p) for p in tr.space.parameters}
    assert kinds == {
        "x": ContinuousParameter,
        "lr": ContinuousParameter,
        "n": IntegerParameter,
        "metal": CategoricalParameter,
        "flag": CategoricalParameter,
    }
    lr = tr.space.parameters[1]
    assert lr.log_scale and math.isclose(lr.lower, 1e-4)
    assert tr.space.parameters[4].levels == (0, 1)
    assert tr.fixed == {"site": "A"}


def test_designs_round_trip_with_ax_types():
    tr = translate_search_space(_space())
    params = {"x": 1.5, "lr": 0.01, "n": 3, "metal": "V", "flag": True, "site": "A"}
    frame = tr.to_frame([params])
    assert tr.space.contains(frame).all()
    back = tr.to_parameterization(frame.iloc[0].to_dict())
    assert back == params
    assert type(back["n"]) is int and type(back["flag"]) is bool and type(back["x"]) is float
    # Keys of the same design agree whatever numeric types it came with.
    other = dict(params, n=np.int64(3), x=np.float64(1.5))
    assert tr.keys(tr.to_frame([other])) == tr.keys(frame)


def test_parameter_constraints_become_linear_constraints():
    space = AxSearchSpace(
        parameters=[RangeParameter(f"x{i}", ParameterType.FLOAT, 0.0, 1.0) for i in range(3)],
        parameter_constraints=[ParameterConstraint(inequality="x0 + 2*x1 <= 1")],
    )
    tr = translate_search_space(space)
    (c,) = tr.space.linear_constraints
    assert c.weights == {"x0": 1.0, "x1": 2.0} and c.bound == 1.0
    frame = tr.to_frame([{"x0": 0.5, "x1": 0.5, "x2": 0.0}, {"x0": 0.2, "x1": 0.3, "x2": 0.9}])
    assert tr.space.contains(frame).tolist() == [False, True]


def test_unsupported_spaces_raise():
    eq = AxSearchSpace(
        parameters=[RangeParameter(f"x{i}", ParameterType.FLOAT, 0.0, 1.0) for i in range(2)],
        parameter_constraints=[ParameterConstraint(equality="x0 + x1 == 1")],
    )
    with pytest.raises(UnsupportedError, match="inequality"):
        translate_search_space(eq)
    derived = AxSearchSpace(
        parameters=[
            RangeParameter("a", ParameterType.FLOAT, 0.0, 1.0),
            DerivedParameter("b", ParameterType.FLOAT, expression_str="2 * a"),
        ]
    )
    with pytest.raises(UnsupportedError, match="derived"):
        translate_search_space(derived)
    fixed_only = AxSearchSpace(parameters=[FixedParameter("s", ParameterType.STRING, "A")])
    with pytest.raises(UnsupportedError, match="no tunable"):
        translate_search_space(fixed_only)
