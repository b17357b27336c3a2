from __future__ import annotations

import numpy as np
import pytest
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
from ax.storage.json_store.decoder import object_from_json
from ax.storage.json_store.encoder import object_to_json

from axfusion.ax import (
    ROW_ID,
    FusionGenerationNode,
    PoolRandomNode,
    configure_pool_experiment,
    fusion_generation_strategy,
    generation_strategy,
    register_pool,
    unregister_pool,
)
from axfusion.ax.observations import FUSION_ITERATION


def _loop(client, evaluate, steps, max_trials=2):
    out = []
    for _ in range(steps):
        trials = client.get_next_trials(max_trials=max_trials)
        for index, params in trials.items():
            client.complete_trial(index, evaluate(params))
        out.append(trials)
    return out


def _box_client(fast_options) -> Client:
    client = Client(random_seed=0)
    client.configure_experiment(
        name="json-box",
        parameters=[
            RangeParameterConfig(name="x", parameter_type="float", bounds=(-2.0, 2.0)),
            ChoiceParameterConfig(name="c", parameter_type="str", values=["a", "b", "c"], is_ordered=False),
        ],
    )
    client.configure_optimization(objective="-loss")
    options = dict(fast_options, box_time_budget_s=None, families=("ridge", "knn"))  # no clock: deterministic DE
    client.set_generation_strategy(fusion_generation_strategy(n_initial=5, seed=0, batch_size=2, **options))
    return client


def _loss(p):
    return {"loss": (p["x"] - 0.5) ** 2 + 0.5 * (p["c"] == "b")}


def test_node_json_round_trip_keeps_its_arguments(fast_options):
    node = FusionGenerationNode(seed=4, batch_size=3, options=fast_options, include_failed=False)
    back = object_from_json(object_to_json(node))
    assert type(back) is FusionGenerationNode and back.init_args() == node.init_args()
    gs = generation_strategy("fusion", pool=np.eye(3), n_initial=5, seed=2)
    first = gs._nodes[0]
    back = object_from_json(object_to_json(first))
    assert type(back) is PoolRandomNode and back.init_args() == first.init_args()
    assert [type(c).__name__ for c in back.pausing_criteria] == ["MaxTrialsAwaitingData"]


def test_json_round_trip_mid_experiment_continues_identically(fast_options, tmp_path):
    client = _box_client(fast_options)
    _loop(client, _loss, steps=4)  # 5 Sobol trials, then the first fusion batch
    path = tmp_path / "snapshot.json"
    client.save_to_json_file(str(path))
    reloaded = Client.load_from_json_file(str(path))
    assert reloaded._generation_strategy.current_node_name == "Fusion"
    ahead = _loop(client, _loss, steps=2)
    again = _loop(reloaded, _loss, steps=2)
    # The fusion node is a function of the experiment and the seed.
    assert ahead == again
    node = reloaded._generation_strategy.nodes_by_name["Fusion"]
    assert node.optimizer.iteration >= 2


def test_json_round_trip_of_a_pool_experiment_needs_the_pool(fast_options, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(400, 3))
    y = -((X - 0.5) ** 2).sum(axis=1)
    client = Client(random_seed=0)
    ref = configure_pool_experiment(client, X, name="test-ax-json-pool")
    try:
        client.configure_optimization(objective="y")
        client.set_generation_strategy(
            fusion_generation_strategy(pool=ref, n_initial=5, seed=0, batch_size=2, **fast_options)
        )
        _loop(client, lambda p: {"y": float(y[p[ROW_ID]])}, steps=4)
        path = tmp_path / "pool.json"
        client.save_to_json_file(str(path))
        unregister_pool("test-ax-json-pool")  # as in a new process
        reloaded = Client.load_from_json_file(str(path))
        with pytest.raises(LookupError, match="register_pool"):
            reloaded.get_next_trials(max_trials=2)
        register_pool("test-ax-json-pool", X)
        ahead = _loop(client, lambda p: {"y": float(y[p[ROW_ID]])}, steps=1)
        again = _loop(reloaded, lambda p: {"y": float(y[p[ROW_ID]])}, steps=1)
        assert ahead == again
    finally:
        unregister_pool("test-ax-json-pool")


def test_sqlite_round_trip_mid_experiment_then_continue(fast_options, tmp_path):
    from ax.api.configs import StorageConfig
    from ax.storage.sqa_store.db import create_all_tables, get_engine, init_engine_and_session_factory

    url = f"sqlite:///{tmp_path / 'ax.db'}"
    init_engine_and_session_factory(url=url, force_init=True)
    create_all_tables(get_engine())
    storage = StorageConfig(url=url)
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(300, 3))
    y = -((X - 0.5) ** 2).sum(axis=1)
    client = Client(storage_config=storage, random_seed=0)
    ref = configure_pool_experiment(client, X, name="test-ax-sql-pool")
    try:
        client.configure_optimization(objective="y")
        client.set_generation_strategy(
            fusion_generation_strategy(pool=ref, n_initial=5, seed=0, batch_size=2, **fast_options)
        )
        _loop(client, lambda p: {"y": float(y[p[ROW_ID]])}, steps=4)
        n_trials = len(client._experiment.trials)
        reloaded = Client.load_from_database("test-ax-sql-pool", storage_config=storage)
        exp = reloaded._experiment
        assert len(exp.trials) == n_trials
        # Every completed trial's data came back (the nodes keep fit times floats).
        assert set(exp.lookup_data().df["trial_index"]) == set(range(n_trials))
        assert reloaded._generation_strategy.current_node_name == "Fusion"
        new = _loop(reloaded, lambda p: {"y": float(y[p[ROW_ID]])}, steps=2)
        rows = [t.arm.parameters[ROW_ID] for t in reloaded._experiment.trials.values()]
        assert len(rows) == len(set(rows)) > n_trials
        last = reloaded._experiment.trials[max(new[-1])].generator_runs[0]
        assert last._generation_node_name == "Fusion"
        assert next(iter(last.candidate_metadata_by_arm_signature.values()))[FUSION_ITERATION] >= 2
    finally:
        unregister_pool("test-ax-sql-pool")
