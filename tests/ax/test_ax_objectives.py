from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ax.api.client import Client
from ax.api.configs import RangeParameterConfig
from ax.exceptions.core import UnsupportedError

from axfusion.ax.objectives import metric_names, reference_point, target_values, targets_from_config


def _config(objective: str, constraints: list[str] | None = None):
    client = Client()
    client.configure_experiment(parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))])
    client.configure_optimization(objective=objective, outcome_constraints=constraints)
    return client._experiment.optimization_config


def test_single_objective_directions():
    (spec,) = targets_from_config(_config("-loss"))
    assert spec.target.kind == "minimize" and spec.weights == (("loss", 1.0),) and spec.role == "objective"
    (spec,) = targets_from_config(_config("strength"))
    assert spec.target.kind == "maximize"


def test_scalarised_objective_is_one_maximised_combination():
    (spec,) = targets_from_config(_config("2*a - b"))
    assert spec.target.kind == "maximize"
    assert dict(spec.weights) == {"a": 2.0, "b": -1.0}
    values = spec.value(pd.DataFrame({"a": [1.0, 0.5], "b": [1.0, 3.0]}))
    np.testing.assert_allclose(values, [1.0, -2.0])


def test_multi_objective_with_thresholds_gives_reference_point():
    config = _config("strength, -cost", ["strength >= 2.0", "cost <= 5.0"])
    specs = targets_from_config(config)
    assert [(s.name, s.target.kind, s.role) for s in specs] == [
        ("strength", "maximize", "objective"),
        ("cost", "minimize", "objective"),
    ]
    assert reference_point(config, specs) == [2.0, -5.0]
    assert reference_point(_config("strength, -cost"), targets_from_config(_config("strength, -cost"))) is None


def test_outcome_constraints_become_window_targets():
    specs = targets_from_config(_config("-loss", ["density <= 6.0", "2*a + b >= 1"]))
    assert [s.role for s in specs] == ["objective", "constraint", "constraint"]
    density, combo = specs[1], specs[2]
    assert density.target.kind == "window" and density.target.upper == 6.0 and density.target.lower is None
    assert combo.target.lower == 1.0 and dict(combo.weights) == {"a": 2.0, "b": 1.0}
    # Oriented, a constraint is minus its violation: 0 when it holds.
    np.testing.assert_allclose(density.target.orient(np.array([5.0, 7.5])), [0.0, -1.5])
    assert metric_names(specs)[:2] == ["loss", "density"] and set(metric_names(specs)) == {"loss", "density", "a", "b"}
    Y = target_values(specs, pd.DataFrame({"loss": [1.0], "density": [5.0], "a": [0.1]}))
    assert Y.shape == (1, 3) and np.isnan(Y[0, 2])


def test_relative_constraints_are_rejected():
    with pytest.raises(UnsupportedError, match="Relative"):
        targets_from_config(_config("-loss", ["qps >= 0.95 * baseline"]))
