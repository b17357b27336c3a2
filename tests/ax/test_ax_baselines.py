from __future__ import annotations

import numpy as np
import pytest
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
from ax.exceptions.core import UnsupportedError

from axfusion.ax import ROW_ID, STRATEGY_NAMES, configure_pool_experiment, generation_strategy, unregister_pool
from axfusion.baselines import LVGP, RandomForestModel
from axfusion.benchmarks import get_problem

BRANIN = get_problem("mixed_branin")
MODEL_OPTIONS = {"lvgp": {"num_restarts": 2}, "rfbo": {"n_estimators": 30}}


def _branin_client(name: str, seed: int = 0) -> Client:
    client = Client(random_seed=seed)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name="x", parameter_type="float", bounds=(-5.0, 10.0)),
            ChoiceParameterConfig(name="t", parameter_type="int", values=[0, 5, 10, 15], is_ordered=False),
        ]
    )
    client.configure_optimization(objective="-f")
    client.set_generation_strategy(
        generation_strategy(name, seed=seed, n_initial=5, model_options=MODEL_OPTIONS.get(name))
    )
    return client


def _loop(client: Client, steps: int) -> None:
    for _ in range(steps):
        for index, params in client.get_next_trials(max_trials=2).items():
            client.complete_trial(index, {"f": BRANIN.evaluate_dict(params)})


@pytest.mark.parametrize("name", ["gpbo", "lvgp", "rfbo", "sobol", "random"])
def test_baseline_runs_a_client_loop(name):
    client = _branin_client(name)
    _loop(client, steps=5)  # 2 + 2 + 1 initial trials, then two model-based calls
    exp = client._experiment
    nodes = [t.generator_runs[0]._generation_node_name for t in exp.trials.values()]
    assert len(nodes) >= 7
    expected = {"gpbo": "MBM", "lvgp": "LVGP", "rfbo": "RFBO", "sobol": "Sobol", "random": "Random"}[name]
    assert nodes[-1] == expected
    assert all(t.arm.parameters["t"] in (0, 5, 10, 15) for t in exp.trials.values())
    if name in ("lvgp", "rfbo"):
        model = client._generation_strategy.adapter.generator.surrogate.model
        assert isinstance(model, LVGP if name == "lvgp" else RandomForestModel)
        # The categorical reaches the model as one column of level codes with 4 levels.
        assert model.cat_dims == [1] and model.num_levels == [4]


def test_baselines_start_from_the_same_sobol_design():
    firsts = []
    for name in ("fusion", "gpbo", "lvgp"):
        client = _branin_client(name)
        firsts.append(list(client.get_next_trials(max_trials=3).values()))
    assert firsts[0] == firsts[1] == firsts[2]


def test_lvgp_strategy_survives_a_json_round_trip(tmp_path):
    client = _branin_client("lvgp")
    _loop(client, steps=4)
    path = tmp_path / "lvgp.json"
    client.save_to_json_file(str(path))
    reloaded = Client.load_from_json_file(str(path))
    _loop(reloaded, steps=1)
    last = reloaded._experiment.trials[max(reloaded._experiment.trials)]
    assert last.generator_runs[0]._generation_node_name == "LVGP"


def test_names_and_pool_rules():
    assert STRATEGY_NAMES == ("fusion", "gpbo", "lvgp", "rfbo", "sobol", "random")
    with pytest.raises(ValueError, match="Unknown strategy"):
        generation_strategy("tpe")
    with pytest.raises(UnsupportedError, match="fusion"):
        generation_strategy("gpbo", n_members=3)
    with pytest.raises(UnsupportedError, match="apply to"):
        generation_strategy("fusion", model_options={"num_restarts": 2})
    pool = np.random.default_rng(0).uniform(size=(50, 2))
    with pytest.raises(UnsupportedError, match="closed"):
        generation_strategy("rfbo", pool=pool)
    client = Client(random_seed=0)
    ref = configure_pool_experiment(client, pool, name="test-ax-pool-random")
    try:
        client.configure_optimization(objective="y")
        client.set_generation_strategy(generation_strategy("random", pool=ref, seed=0))
        rows = []
        for _ in range(3):
            for index, params in client.get_next_trials(max_trials=4).items():
                rows.append(params[ROW_ID])
                client.complete_trial(index, {"y": float(pool[params[ROW_ID]].sum())})
        assert len(rows) == 12 and len(set(rows)) == 12
    finally:
        unregister_pool("test-ax-pool-random")


@pytest.mark.parametrize("name", ["gpbo", "lvgp", "rfbo"])
def test_model_baselines_handle_two_objectives(name):
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0)),
            ChoiceParameterConfig(name="c", parameter_type="str", values=["a", "b", "c"], is_ordered=False),
        ]
    )
    client.configure_optimization(objective="f1, -f2")
    client.set_generation_strategy(
        generation_strategy(name, seed=0, n_initial=5, model_options=MODEL_OPTIONS.get(name))
    )
    shift = {"a": 0.0, "b": 0.3, "c": 0.6}
    for _ in range(4):
        for index, p in client.get_next_trials(max_trials=2).items():
            client.complete_trial(index, {"f1": -((p["x"] - shift[p["c"]]) ** 2), "f2": p["x"] ** 2})
    last = client._experiment.trials[max(client._experiment.trials)]
    assert last.generator_runs[0]._generation_node_name in ("MBM", "LVGP", "RFBO")
