from __future__ import annotations

import numpy as np
from ax.api.client import Client
from ax.api.configs import RangeParameterConfig

from axfusion.ax.objectives import targets_from_config
from axfusion.ax.observations import collect_observations


def _client() -> Client:
    client = Client()
    client.configure_experiment(parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))])
    client.configure_optimization(objective="-loss", outcome_constraints=["c <= 1.0"])
    return client


def test_measured_failed_pending_and_repeated_arms():
    client = _client()
    t_ok = client.attach_trial({"x": 0.1})
    client.complete_trial(t_ok, {"loss": 1.0, "c": 0.5})
    t_missing = client.attach_trial({"x": 0.2})
    client.complete_trial(t_missing, {"loss": 2.0})  # the constraint metric is missing
    t_failed = client.attach_trial({"x": 0.3})
    client.mark_trial_failed(t_failed)
    client.attach_trial({"x": 0.4})  # running: pending, not an observation
    t_repeat = client.attach_trial({"x": 0.1})
    client.complete_trial(t_repeat, {"loss": 3.0, "c": 1.5})

    exp = client._experiment
    specs = targets_from_config(exp.optimization_config)
    table = collect_observations(exp, exp.lookup_data(), specs)
    assert [p["x"] for p in table.parameters] == [0.1, 0.2, 0.3]
    np.testing.assert_allclose(table.Y[0], [2.0, 1.0])  # the two measurements of x=0.1 averaged
    assert table.failed.tolist() == [False, True, True]
    assert np.isnan(table.Y[1:]).all()
    assert table.n_missing == 1 and table.n_successful == 1
    assert table.iteration.tolist() == [0, 0, 0]

    forgetful = collect_observations(exp, exp.lookup_data(), specs, include_failed=False)
    assert [p["x"] for p in forgetful.parameters] == [0.1]


def test_empty_experiment_has_no_observations():
    client = _client()
    exp = client._experiment
    table = collect_observations(exp, exp.lookup_data(), targets_from_config(exp.optimization_config))
    assert table.Y.shape == (0, 2) and table.n_successful == 0


def test_a_nan_metric_value_is_a_failed_measurement():
    # issue 22: a NaN metric must not reach Ax's or the fusion's models; the arm is failed, not retried
    client = _client()
    t_ok = client.attach_trial({"x": 0.1})
    client.complete_trial(t_ok, {"loss": 1.0, "c": 0.5})
    t_nan = client.attach_trial({"x": 0.2})
    client.complete_trial(t_nan, {"loss": float("nan"), "c": 0.5})
    exp = client._experiment
    table = collect_observations(exp, exp.lookup_data(), targets_from_config(exp.optimization_config))
    assert [p["x"] for p in table.parameters] == [0.1, 0.2]
    assert table.failed.tolist() == [False, True] and np.isnan(table.Y[1]).all()
    assert table.n_missing == 1 and table.n_successful == 1
