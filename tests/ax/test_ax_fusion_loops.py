from __future__ import annotations

import numpy as np
import pandas as pd
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
from ax.generation_strategy.generation_strategy import GenerationStrategy
from ax.service.ax_client import AxClient, ObjectiveProperties

from axfusion.ax import (
    ROW_ID,
    FusionGenerationNode,
    configure_pool_experiment,
    fusion_generation_strategy,
    pool_reference,
    unregister_pool,
)
from axfusion.ax.observations import FUSION_ITERATION


def _fusion_runs(client: Client) -> list:
    return [gr for gr in client._generation_strategy._generator_runs if gr._generation_node_name == "Fusion"]


def _fusion_iterations(client: Client) -> list[int]:
    return [m[FUSION_ITERATION] for gr in _fusion_runs(client) for m in gr.candidate_metadata_by_arm_signature.values()]


def _run_until(client, evaluate, n_fusion: int, max_trials: int, fail_first_fusion: bool = False) -> None:
    r"""Ask and tell until the fusion node has chosen ``n_fusion`` batches (iterations)."""
    failed = False
    for _ in range(4 * n_fusion + 10):
        if len(set(_fusion_iterations(client))) >= n_fusion:
            return
        for index, params in client.get_next_trials(max_trials=max_trials).items():
            trial = client._experiment.trials[index]
            if fail_first_fusion and not failed and trial.generator_runs[0]._generation_node_name == "Fusion":
                client.mark_trial_failed(index)
                failed = True
                continue
            client.complete_trial(index, evaluate(params))
    raise AssertionError("the loop did not reach the fusion node")


def test_continuous_loop_honours_constraints_and_survives_a_failed_trial(fast_options):
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(-2.0, 2.0)) for i in range(3)],
        parameter_constraints=["x0 + x1 <= 1.0"],
    )
    client.configure_optimization(objective="-loss")
    client.set_generation_strategy(fusion_generation_strategy(n_initial=5, seed=0, batch_size=2, **fast_options))

    def loss(p):
        return {"loss": float(sum((p[f"x{i}"] - 0.5) ** 2 for i in range(3)))}

    _run_until(client, loss, n_fusion=3, max_trials=2, fail_first_fusion=True)
    exp = client._experiment
    arms = [t.arm.parameters for t in exp.trials.values()]
    assert all(p["x0"] + p["x1"] <= 1.0 + 1e-9 for p in arms)
    assert len({tuple(sorted(p.items())) for p in arms}) == len(arms)
    failed = [t for t in exp.trials.values() if t.status.is_failed]
    assert len(failed) == 1
    # The failed design is kept as a failed measurement: not modelled, not proposed again.
    node = client._generation_strategy.nodes_by_name["Fusion"]
    assert sum(o.failed for o in node.optimizer.observations) == 1
    iterations = _fusion_iterations(client)
    assert iterations == sorted(iterations) and iterations[0] == 1 and iterations[-1] == 3
    meta = next(iter(_fusion_runs(client)[-1].candidate_metadata_by_arm_signature.values()))
    assert {"utility", "pi", "mean[loss]", "std[loss]", "reason"} <= set(meta)


def test_mixed_loop_with_three_categoricals(fast_options):
    client = Client(random_seed=1)
    client.configure_experiment(
        parameters=[
            ChoiceParameterConfig(
                name="M", parameter_type="str", values=["Sc", "Ti", "V", "Cr", "Zr", "Nb"], is_ordered=False
            ),
            ChoiceParameterConfig(name="A", parameter_type="str", values=["Al", "Si", "Ga", "Ge"], is_ordered=False),
            ChoiceParameterConfig(name="X", parameter_type="str", values=["C", "N"], is_ordered=False),
            RangeParameterConfig(name="n", parameter_type="int", bounds=(1, 3)),
        ]
    )
    client.configure_optimization(objective="bulk_modulus")
    client.set_generation_strategy(fusion_generation_strategy(n_initial=6, seed=1, batch_size=3, **fast_options))
    m = {"Sc": 0.2, "Ti": 1.0, "V": 1.4, "Cr": 0.8, "Zr": 1.1, "Nb": 1.6}
    a = {"Al": 0.5, "Si": 1.0, "Ga": 0.2, "Ge": 0.7}

    def modulus(p):
        return {"bulk_modulus": m[p["M"]] * a[p["A"]] + 0.5 * (p["X"] == "N") + 0.1 * p["n"]}

    _run_until(client, modulus, n_fusion=3, max_trials=3)
    fusion_arms = [
        t.arm.parameters for t in client._experiment.trials.values()
        if t.generator_runs[0]._generation_node_name == "Fusion"
    ]
    assert len(fusion_arms) >= 3
    assert all(isinstance(p["n"], int) and 1 <= p["n"] <= 3 for p in fusion_arms)
    assert {p["M"] for p in fusion_arms} <= set(m)


def test_pool_loop_proposes_only_unevaluated_rows(fast_options):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(10_000, 4))
    y = -((X - 0.3) ** 2).sum(axis=1)
    client = Client(random_seed=0)
    ref = configure_pool_experiment(client, X, name="test-ax-pool-loop")
    try:
        client.configure_optimization(objective="y")
        client.set_generation_strategy(
            fusion_generation_strategy(pool=ref, n_initial=6, seed=0, batch_size=3, **fast_options)
        )
        _run_until(client, lambda p: {"y": float(y[p[ROW_ID]])}, n_fusion=3, max_trials=3)
        steered = [
            t.arm.parameters[ROW_ID] for t in client._experiment.trials.values()
            if t.generator_runs[0]._generation_node_name == "Fusion"
        ]
        # Two calls without completing: the second sees the first as pending.
        first = client.get_next_trials(max_trials=3)
        second = client.get_next_trials(max_trials=3)
        rows = [t.arm.parameters[ROW_ID] for t in client._experiment.trials.values()]
        assert all(isinstance(r, int) and 0 <= r < 10_000 for r in rows)
        assert len(set(rows)) == len(rows)
        assert not {p[ROW_ID] for p in first.values()} & {p[ROW_ID] for p in second.values()}
        fusion_rows = [
            t.arm.parameters[ROW_ID] for t in client._experiment.trials.values()
            if t.generator_runs[0]._generation_node_name == "Fusion"
        ]
        # The surrogates steer towards the optimum: the fusion rows chosen with data beat the pool's median.
        assert np.median(y[steered]) > np.median(y) and set(steered) < set(fusion_rows)
    finally:
        unregister_pool("test-ax-pool-loop")


def test_two_objective_loop(fast_options):
    client = Client(random_seed=2)
    client.configure_experiment(
        parameters=[RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(0.0, 1.0)) for i in range(2)]
    )
    client.configure_optimization(objective="f1, f2", outcome_constraints=["f1 >= -2.0", "f2 >= -2.0"])
    client.set_generation_strategy(fusion_generation_strategy(n_initial=6, seed=2, batch_size=2, **fast_options))

    def f(p):
        x0, x1 = p["x0"], p["x1"]
        return {"f1": -((x0 - 0.2) ** 2 + (x1 - 0.2) ** 2), "f2": -((x0 - 0.8) ** 2 + (x1 - 0.8) ** 2)}

    _run_until(client, f, n_fusion=3, max_trials=2)
    node = client._generation_strategy.nodes_by_name["Fusion"]
    assert [s.name for s in node.targets] == ["f1", "f2"]
    assert node.optimizer.ref_point == [-2.0, -2.0]
    meta = next(iter(_fusion_runs(client)[-1].candidate_metadata_by_arm_signature.values()))
    assert "mean[f1]" in meta and "mean[f2]" in meta


def test_fusion_node_alone_starts_space_filling(fast_options):
    client = Client(random_seed=0)
    client.configure_experiment(parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))])
    client.configure_optimization(objective="-loss")
    node = FusionGenerationNode(seed=5, batch_size=2, options=fast_options)
    client.set_generation_strategy(GenerationStrategy(nodes=[node]))
    reasons = []
    for _ in range(4):
        for index, params in client.get_next_trials(max_trials=2).items():
            gr = client._experiment.trials[index].generator_runs[0]
            reasons.append(next(iter(gr.candidate_metadata_by_arm_signature.values()))["reason"])
            client.complete_trial(index, {"loss": (params["x"] - 0.3) ** 2})
    assert all(r.startswith("space-filling") for r in reasons[:5])
    assert reasons[-2].startswith("rank")  # a fused pick, then the box batch's trust-region slot
    assert reasons[-1].startswith("trust-region slot")


def test_axclient_loop_and_batch_trial(fast_options):
    gs = fusion_generation_strategy(n_initial=5, seed=0, batch_size=3, **fast_options)
    ax_client = AxClient(generation_strategy=gs, random_seed=0, verbose_logging=False)
    ax_client.create_experiment(
        name="axclient",
        parameters=[{"name": n, "type": "range", "bounds": [0.0, 1.0]} for n in ("x", "y")],
        objectives={"f": ObjectiveProperties(minimize=True)},
    )
    for _ in range(3):
        trials, _ = ax_client.get_next_trials(max_trials=2)
        for index, p in trials.items():
            ax_client.complete_trial(index, raw_data={"f": (p["x"] - 0.2) ** 2 + (p["y"] - 0.7) ** 2})
    exp = ax_client.experiment
    gr = gs.gen_single_trial(experiment=exp, n=3)
    batch = exp.new_batch_trial(generator_run=gr)
    signatures = {arm.signature for arm in batch.arms}
    assert len(batch.arms) == 3 and len(signatures) == 3
    assert gr._generation_node_name == "Fusion"
    assert not signatures & {t.arm.signature for t in exp.trials.values() if hasattr(t, "arm") and t.arm}


def test_one_reservoir_fit_serves_every_arm_of_a_get_next_trials_call(fast_options, monkeypatch):
    # issue 18: a call for batch_size trials rebuilds the optimiser once and fits one reservoir
    from axfusion.campaign import FusionOptimizer

    fits: list[bool] = []
    suggest = FusionOptimizer.suggest

    def counted(self, *args, **kwargs):
        fits.append(kwargs.get("refit", True))
        return suggest(self, *args, **kwargs)

    monkeypatch.setattr(FusionOptimizer, "suggest", counted)
    for batch_size in (4, 1):  # a batch of 4 at once; or 4 batches of one, continued without a refit
        client = Client(random_seed=0)
        client.configure_experiment(
            parameters=[RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(0.0, 1.0)) for i in range(3)]
        )
        client.configure_optimization(objective="-loss")
        client.set_generation_strategy(
            fusion_generation_strategy(n_initial=8, seed=0, batch_size=batch_size, **fast_options)
        )
        per_step = []
        for _ in range(4):  # two steps of Sobol trials, then two of fusion trials
            fits.clear()
            trials: dict = {}
            calls = 0
            while len(trials) < 4:  # Ax returns one trial from the call that leaves the Sobol node
                trials.update(client.get_next_trials(max_trials=4 - len(trials)))
                calls += 1
            for index, p in trials.items():
                client.complete_trial(index, {"loss": sum((v - 0.3) ** 2 for v in p.values())})
            per_step.append((calls, fits.count(True), len(fits)))
            assert len({tuple(p.values()) for p in trials.values()}) == 4
        # every step's 4 trials come from one reservoir fit, the first step after the initial
        # design included (its second call continues the first call's batch)
        assert [f for _, f, _ in per_step] == [0, 0, 1, 1]
        assert per_step[2][0] == 2 and per_step[3] == (1, 1, 4 // batch_size)


def test_pool_loop_on_a_table_with_text_columns(fast_options):
    from axfusion.candidates import CandidatePool

    rng = np.random.default_rng(1)
    ligands, bases = ["XPhos", "t-BuXPhos", "BrettPhos", "AdBrettPhos"], ["P2Et", "BTMG", "MTBD"]
    grid = pd.DataFrame([(lig, b, t) for lig in ligands for b in bases for t in (25.0, 40.0, 60.0, 80.0)],
                        columns=["ligand", "base", "temperature"])
    frame = pd.concat([grid] * 5, ignore_index=True).sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame["temperature"] += rng.uniform(-2, 2, size=len(frame))
    yields = (30 * (frame["ligand"] == "t-BuXPhos") + 20 * (frame["base"] == "MTBD") + 0.2 * frame["temperature"]
              + rng.normal(0, 1, size=len(frame))).to_numpy()
    client = Client(random_seed=1)
    ref = configure_pool_experiment(client, frame, name="test-ax-pool-text")
    try:
        # the same rows, encoded like suggest's pools: one-hot with the fixed scale sqrt(2)
        assert ref.fingerprint == pool_reference(CandidatePool.from_table(frame), key="test-ax-pool-text-b").fingerprint
        pool = ref.open()
        assert pool.n_features == 4 + 3 + 1 and pool.encoder is not None
        np.testing.assert_allclose(pool.column_scale[:7], np.sqrt(2.0))
        assert np.isnan(pool.column_scale[7])
        assert pool.column_groups.tolist() == [0] * 4 + [1] * 3 + [-1]
        client.configure_optimization(objective="yield_pct")  # "yield" is a Python keyword: Ax cannot parse it
        client.set_generation_strategy(
            fusion_generation_strategy(pool=ref, n_initial=8, seed=1, batch_size=4, **fast_options)
        )
        _run_until(client, lambda p: {"yield_pct": float(yields[p[ROW_ID]])}, n_fusion=2, max_trials=4)
        trials = client._experiment.trials.values()
        ids = [t.arm.parameters[ROW_ID] for t in trials]
        # the measured rows, levels as written
        rows = ref.rows(ids)
        assert list(rows.columns) == ["ligand", "base", "temperature"] and list(rows.index) == ids
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), frame.iloc[ids].reset_index(drop=True))
        assert set(rows["ligand"]) <= set(ligands) and rows["ligand"].dtype == object
        # a pool registered from the encoded CandidatePool decodes the levels from its features
        decoded = pool_reference(CandidatePool.from_table(frame), key="test-ax-pool-text-b").rows(ids[:5])
        pd.testing.assert_frame_equal(decoded.reset_index(drop=True)[["ligand", "base"]],
                                      frame.iloc[ids[:5]][["ligand", "base"]].reset_index(drop=True))
        np.testing.assert_allclose(decoded["temperature"], frame["temperature"].iloc[ids[:5]])
        fusion_rows = [t.arm.parameters[ROW_ID] for t in trials
                       if t.generator_runs[0]._generation_node_name == "Fusion"]
        assert len(fusion_rows) >= 4 and np.median(yields[fusion_rows]) > np.median(yields)
    finally:
        unregister_pool("test-ax-pool-text")
        unregister_pool("test-ax-pool-text-b")
