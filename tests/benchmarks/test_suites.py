"""Named benchmark tasks and suites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.benchmarks.suites import (
    Suite,
    TaskSpec,
    csv_task,
    get_suite,
    get_task,
    list_suites,
    list_tasks,
    register_suite,
    register_task,
    resolve_tasks,
)


def test_suites_and_their_protocols():
    assert {"pools", "synthetic20", "mixed", "multiobjective", "smoke"} <= set(list_suites())
    pools = get_suite("pools").tasks
    assert len(pools) >= 6 and {"curie_temp", "supercon", "agnp", "perovskite_stability"} <= set(pools)
    for t in pools + get_suite("multiobjective").tasks:
        s = get_task(t)
        assert (s.kind, s.n_initial, s.batch_size, s.n_iterations) == ("pool", 20, 10, 50), t
    for t in get_suite("synthetic20").tasks:
        s = get_task(t)
        assert (s.kind, s.n_initial, s.batch_size, s.n_iterations, s.options["dim"]) == ("function", 10, 10, 100, 20)
    assert get_task("ackley20").options["shift"] and get_task("rastrigin20").options["shift"]
    for fn in ("ackley", "rastrigin"):  # the rotated twins: same shift and budget, optimum 0 at the shift
        plain, rotated = get_task(f"{fn}20").build(seed=0), get_task(f"{fn}20_rotated").build(seed=0)
        assert get_task(f"{fn}20_rotated").kind == "function" and rotated.n_iterations == 100
        opt = np.array([[rotated.problem.optimizer[f"x{i + 1}"] for i in range(20)]])
        assert opt.tolist() == [[plain.problem.optimizer[f"x{i + 1}"] for i in range(20)]]
        assert float(rotated.problem.evaluate(opt)[0]) == pytest.approx(0.0, abs=1e-9)
        x = opt + 0.7
        assert float(rotated.problem.evaluate(x)[0]) != pytest.approx(float(plain.problem.evaluate(x)[0]))
    assert get_suite("synthetic20_rotated").tasks == ("ackley20_rotated", "rastrigin20_rotated")
    for t in get_suite("mixed").tasks:
        s = get_task(t)
        assert s.kind == "function" and s.batch_size == 2 and s.source.startswith("mixed_")
    assert get_task("agnp").directions == ("minimize",)
    assert get_task("perovskite_stability").directions == ("minimize",)
    assert get_task("curie_temp").targets == ("Tc_real",)
    for t in get_suite("smoke").tasks:
        s = get_task(t)
        assert s.n_initial + s.batch_size * s.n_iterations <= 30
    for name in list_suites():
        assert all(t in list_tasks() for t in get_suite(name).tasks)


def test_build_with_overrides_and_fixed_or_per_seed_shift():
    spec = get_task("smoke_function")
    task = spec.build(n_iterations=7, batch_size=3)
    assert (task.name, task.kind, task.n_initial, task.batch_size, task.n_iterations) == (
        "smoke_function", "function", 5, 3, 7)
    a = get_task("ackley20").build(seed=1).problem
    b = get_task("ackley20").build(seed=2).problem
    x = np.zeros((1, 20))
    assert a.evaluate(x) == b.evaluate(x)  # fixed shift: the same function for every seed
    per_seed = TaskSpec("ack", "function", "ackley", options={"dim": 3, "shift": True}, problem_seed="run")
    assert per_seed.seed_dependent
    assert per_seed.build(seed=1).problem.evaluate(np.zeros((1, 3))) != per_seed.build(seed=2).problem.evaluate(
        np.zeros((1, 3)))
    with pytest.raises(ValueError):
        spec.build(n_iterations=0)


def test_pool_tasks_build_with_their_targets():
    mo = get_task("steel_strength_mo").build(n_iterations=2)
    assert mo.N == 312 and mo.n_objectives == 2 and mo.targets == ["yield strength", "tensile strength"]
    win = get_task("bandgap_window").build()
    d = win.directions[0]
    assert (d.kind, d.lower, d.upper) == ("window", 1.1, 1.5)
    y = win.Y[sorted(win.success_rows), 0]
    assert len(y) == 495 and np.all((y >= 1.1) & (y <= 1.5))


def test_csv_and_function_strings(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.uniform(size=(60, 3)), columns=["a", "b", "c"])
    df["y"] = df.a - df.b
    df["z"] = df.c
    path = tmp_path / "my pool.csv"
    df.to_csv(path, index=False)
    spec = get_task(f"pool:{path}:y:minimize")
    assert spec.kind == "pool" and spec.csv and spec.targets == ("y",) and spec.directions == ("minimize",)
    task = spec.build(n_initial=5, n_iterations=3)
    assert task.N == 60 and task.space.dim == 4 and task.directions[0].kind == "minimize"  # z is a feature
    assert int(np.argmin(task.Y[:, 0])) in task.success_rows
    two = get_task(f"pool:{path}:y,z")
    assert two.targets == ("y", "z") and two.directions is None
    same = csv_task(path, "y", "min", name="mine")
    assert same.name == "mine" and same.directions == ("minimize",)
    builtin = get_task("pool:supercon:Tc")
    assert not builtin.csv and builtin.source == "supercon"
    fn = get_task("function:ackley:dim=3,shift=true")
    t = fn.build(n_iterations=2)
    assert t.space.dim == 3 and fn.options == {"dim": 3, "shift": True}
    with pytest.raises(FileNotFoundError):
        get_task(f"pool:{tmp_path / 'missing.csv'}:y")
    with pytest.raises(KeyError):
        get_task("function:no_such_problem")
    with pytest.raises(KeyError, match="Unknown task"):
        get_task("no_such_task")


def test_registering_a_task_and_a_suite():
    spec = TaskSpec("_test_sphere", "function", "ackley", options={"dim": 2}, n_initial=3, batch_size=1,
                    n_iterations=2)
    register_task(spec, overwrite=True)
    with pytest.raises(ValueError, match="already registered"):
        register_task(spec)
    register_suite(Suite("_test_suite", ("_test_sphere", "smoke_pool")), overwrite=True)
    specs = resolve_tasks(["_test_suite"], ["_test_sphere", "smoke_function"])
    assert [s.name for s in specs] == ["_test_sphere", "smoke_pool", "smoke_function"]
    with pytest.raises(ValueError, match="unknown tasks"):
        register_suite(Suite("_bad", ("nope",)))
    with pytest.raises(ValueError):
        TaskSpec("bad", "grid", "x")
    d = get_task("bandgap_window").as_dict()
    assert d["directions"][0]["kind"] == "window" and d["n_iterations"] == 50
    assert hash(get_task("bandgap_window")) == hash(get_task("bandgap_window"))


def _fake_olympus(root, name: str = "rx_fake") -> None:
    import json

    folder = root / name
    folder.mkdir(parents=True)
    config = {
        "parameters": [{"name": "ligand", "type": "categorical", "options": ["L1", "L2", "L3"]},
                       {"name": "base", "type": "categorical", "options": ["B1", "B2"]}],
        "measurements": [{"name": "yield"}], "default_goal": "maximize",
    }
    (folder / "config.json").write_text(json.dumps(config))
    rows = [f"{lig},{b},{10 * i + j}" for i, lig in enumerate(["L1", "L2", "L3"]) for j, b in enumerate(["B1", "B2"])]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")


def test_reactions_suite_reads_buchwald_b_to_e_from_a_local_olympus_copy(tmp_path, monkeypatch):
    from axfusion.data.external import OLYMPUS_ROOT_ENV_VAR

    tasks = get_suite("reactions").tasks
    assert tasks[:3] == ("buchwald_a", "suzuki_edbo", "suzuki_edbo_dft")
    assert tasks[3:] == ("buchwald_b", "buchwald_c", "buchwald_d", "buchwald_e")
    for t in tasks:
        s = get_task(t)
        assert (s.kind, s.n_initial, s.batch_size, s.n_iterations, s.targets) == ("pool", 20, 10, 50, ("yield",))
    assert get_task("buchwald_c").source == "olympus:buchwald_c"  # not shipped
    # an ``olympus:NAME`` source is read from $AXFUSION_OLYMPUS_ROOT
    _fake_olympus(tmp_path)
    monkeypatch.setenv(OLYMPUS_ROOT_ENV_VAR, str(tmp_path))
    spec = TaskSpec("rx", "pool", "olympus:rx_fake", targets=("yield",), n_initial=2, batch_size=1, n_iterations=2)
    ds = spec.dataset()
    assert len(ds.X) == 6 and list(ds.categorical) == ["ligand", "base"]
    task = spec.build()
    assert task.name == "rx" and task.budget == 4
    with pytest.raises(FileNotFoundError, match="rx_missing"):
        TaskSpec("rx2", "pool", "olympus:rx_missing", targets=("yield",)).dataset()
    monkeypatch.setenv(OLYMPUS_ROOT_ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=OLYMPUS_ROOT_ENV_VAR):
        spec.dataset()


def test_buchwald_b_to_e_load_like_the_shipped_buchwald_a():
    from axfusion.data.external import olympus_root

    try:
        olympus_root()
    except FileNotFoundError:
        pytest.skip("no local Olympus copy ($AXFUSION_OLYMPUS_ROOT)")
    a = get_task("buchwald_a").dataset()
    for case in "bcde":
        ds = get_task(f"buchwald_{case}").dataset()
        assert len(ds.X) == 792 and list(ds.categorical) == list(a.categorical), case
        assert ds.orientation == {"yield": "maximize"} and ds.feature_matrix().shape == a.feature_matrix().shape
        # the same additives, bases and ligands as case a; another aryl-halide family
        assert set(ds.X["base"]) == set(a.X["base"]) and set(ds.X["ligand"]) == set(a.X["ligand"])
        assert not set(ds.X["aryl_halide"]) & set(a.X["aryl_halide"])


def test_held_out_suite_reads_one_target_of_each_olympus_pool_and_keeps_the_others_out_of_the_features(
    tmp_path, monkeypatch
):
    import json

    from axfusion.data.external import OLYMPUS_ROOT_ENV_VAR

    tasks = get_suite("pools_held_out").tasks
    assert tasks == ("hplc_peak_area", "photo_pce10_degradation", "liquid_water_error", "dye_lasers_peak_score")
    assert get_task("photo_pce10_degradation").directions == ("minimize",)
    assert all(get_task(t).source.startswith("olympus:") for t in tasks)  # not shipped
    folder = tmp_path / "dye_lasers"
    folder.mkdir()
    config = {
        "parameters": [{"name": "frag_a", "type": "categorical"}, {"name": "frag_b", "type": "categorical"}],
        "measurements": [{"name": "peak_score"}, {"name": "fluo_rate"}], "default_goal": "maximize",
    }
    (folder / "config.json").write_text(json.dumps(config))
    rows = [f"A{i},B{j},{i + j},{10 * i}" for i in range(3) for j in range(2)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv(OLYMPUS_ROOT_ENV_VAR, str(tmp_path))
    ds = get_task("dye_lasers_peak_score").dataset()
    assert list(ds.Y.columns) == ["peak_score"] and "fluo_rate" not in " ".join(map(str, ds.X.columns))
    assert len(ds.X) == 6 and sorted(ds.categorical) == ["frag_a", "frag_b"]
