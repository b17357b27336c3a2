r"""Ax experiments with the fusion strategy, reloaded from JSON or SQLite mid-experiment,
propose exactly what the uninterrupted experiment would, under every preset and
non-default options (also with a DE time budget in a box: its decision travels with the
arms' metadata)."""

from __future__ import annotations

import numpy as np
import pytest
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

from axfusion.ax import ROW_ID, configure_pool_experiment, fusion_generation_strategy, unregister_pool
from axfusion.ax.observations import BOX_GENERATIONS

SMALL = {"families": ("ridge", "knn", "lightgbm"), "n_members": 3, "hv_n_samples": 16}
BOX = {"n_candidates": 200, "time_budget_s": 0.3, "maxiter": 300, "popsize": 5}

CASES = [
    ("paper", {}),
    ("authors_code", {}),
    ("default", {"stage3.batch.cluster_bandwidth": False, "use_fusion_channel": False, "pi_range": (0.7, 1.0)}),
]


def _box_client(preset, options) -> Client:
    client = Client(random_seed=0)
    client.configure_experiment(
        name="resume-box",
        parameters=[
            RangeParameterConfig(name="x", parameter_type="float", bounds=(-2.0, 2.0)),
            RangeParameterConfig(name="z", parameter_type="float", bounds=(-1.0, 1.0)),
            ChoiceParameterConfig(name="c", parameter_type="str", values=["a", "b", "c"], is_ordered=False),
        ],
    )
    client.configure_optimization(objective="-loss")
    strategy = fusion_generation_strategy(n_initial=5, seed=0, batch_size=2, preset=preset, **SMALL, **BOX, **options)
    client.set_generation_strategy(strategy)
    return client


def _loss(p):
    return {"loss": (p["x"] - 0.5) ** 2 + p["z"] ** 2 + 0.5 * (p["c"] == "b")}


@pytest.mark.parametrize(("preset", "options"), CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_json_reload_continues_exactly(tmp_path, preset, options, run_client):
    client = _box_client(preset, options)
    run_client(client, _loss, 4, 2)  # 5 Sobol trials, then the first fusion batch (its DE budget decides)
    metas = [
        m
        for t in client._experiment.trials.values()
        for gr in t.generator_runs
        for m in (gr.candidate_metadata_by_arm_signature or {}).values()
    ]
    assert any(m and m.get(BOX_GENERATIONS) for m in metas)
    path = tmp_path / "snapshot.json"
    client.save_to_json_file(str(path))
    reloaded = Client.load_from_json_file(str(path))
    node = reloaded._generation_strategy.nodes_by_name["Fusion"]
    original = client._generation_strategy.nodes_by_name["Fusion"]
    assert node.settings == original.settings
    assert run_client(client, _loss, 2, 2) == run_client(reloaded, _loss, 2, 2)


def test_sqlite_reload_continues_like_the_uninterrupted_experiment(tmp_path, run_client):
    from ax.api.configs import StorageConfig
    from ax.storage.sqa_store.db import create_all_tables, get_engine, init_engine_and_session_factory

    url = f"sqlite:///{tmp_path / 'ax.db'}"
    init_engine_and_session_factory(url=url, force_init=True)
    create_all_tables(get_engine())
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(300, 3))
    y = -((X - 0.5) ** 2).sum(axis=1)

    def evaluate(p):
        return {"y": float(y[p[ROW_ID]])}

    def start(name, storage=None):
        client = Client(storage_config=storage, random_seed=0) if storage else Client(random_seed=0)
        ref = configure_pool_experiment(client, X, name=name)
        client.configure_optimization(objective="y")
        client.set_generation_strategy(
            fusion_generation_strategy(
                pool=ref, n_initial=5, seed=0, batch_size=2, preset="authors_code",
                **SMALL, **{"stage3.batch.diversity_check": False},
            )
        )
        return client

    try:
        stored = start("test-ax-sql-resume", StorageConfig(url=url))
        run_client(stored, evaluate, 4, 2)
        reloaded = Client.load_from_database("test-ax-sql-resume", storage_config=StorageConfig(url=url))
        node = reloaded._generation_strategy.nodes_by_name["Fusion"]
        assert node.settings.stage3.fusion.kalman.channels == "r2" and not node.settings.stage3.batch.diversity_check
        uninterrupted = start("test-ax-sql-plain")
        first = run_client(uninterrupted, evaluate, 4, 2)
        assert [sorted(p[ROW_ID] for p in b.values()) for b in first] == [
            sorted(t.arm.parameters[ROW_ID] for i, t in reloaded._experiment.trials.items() if i in b) for b in first
        ]
        rows = lambda batches: [sorted(p[ROW_ID] for p in b.values()) for b in batches]  # noqa: E731
        assert rows(run_client(reloaded, evaluate, 2, 2)) == rows(run_client(uninterrupted, evaluate, 2, 2))
    finally:
        unregister_pool("test-ax-sql-resume")
        unregister_pool("test-ax-sql-plain")
