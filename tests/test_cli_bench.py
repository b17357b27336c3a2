"""``axfusion bench`` / ``axfusion report``: the CI smoke benchmark, resume, report outputs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from axfusion.benchmarks.methods import Method, register_method
from axfusion.benchmarks.metrics import read_run_file
from axfusion.benchmarks.runner import resolve_method_factory
from axfusion.cli import main


class _CliRandom(Method):
    """Random rows / points; counts its calls."""

    name = "_cli_random"
    calls = 0

    def run(self, task, evaluator):
        type(self).calls += 1
        rng = np.random.default_rng([evaluator.seed, 3])
        while True:
            evaluator.evaluate(task.space.sample(task.batch_size, int(rng.integers(2**31)), "random"))


register_method("_cli_random", _CliRandom, overwrite=True)


def _methods() -> list[str]:
    methods = ["_cli_random"]
    try:
        resolve_method_factory("random")
        methods.append("random")
    except KeyError:
        pass
    return methods


def test_smoke_benchmark_resume_and_report(tmp_path, capsys):
    out = tmp_path / "smoke"
    methods = _methods()
    _CliRandom.calls = 0
    args = ["bench", "--suite", "smoke", "--seeds", "1", "--methods", *methods, "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"{2 * len(methods)} run(s) done ({2 * len(methods)} ok, 0 failed)" in text
    assert "## Suite `smoke`" in text and "random (exact E)" in text and str(out / "runs") in text
    for task in ("smoke_pool", "smoke_function"):
        for m in methods:
            path = out / "runs" / task / m / "seed0.json.gz"
            rec = read_run_file(path)
            assert rec["status"] == "ok" and rec["budget_spent"] and rec["compact"]
            assert path.stat().st_size < 2000  # a compact run file
            assert (out / "full" / "runs" / task / m / "seed0.json.gz").exists()
    assert _CliRandom.calls == 2
    # resume: the second call runs nothing
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"0 run(s) done (0 ok, 0 failed), {2 * len(methods)} already finished" in text
    assert _CliRandom.calls == 2
    # the report
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| smoke_pool | _cli_random |" in text and "Wrote" in text
    assert (out / "report.md").exists() and json.loads((out / "report.json").read_text())["suites"]["smoke"]
    assert "(PNG)" in text and (out / "report_data.json.gz").exists()
    for stem in ("convergence_smoke", "success_smoke", "ef_af_smoke"):
        assert (out / "figures" / f"{stem}.png").exists() and not (out / "figures" / f"{stem}.pdf").exists()
    # the report from the compact files alone (a fresh clone has no full/), with PDF copies on request
    shutil.rmtree(out / "full")
    assert main(["report", str(out), "--pdf"]) == 0
    assert "| smoke_pool | _cli_random |" in capsys.readouterr().out
    for stem in ("convergence_smoke", "success_smoke", "ef_af_smoke"):
        assert (out / "figures" / f"{stem}.pdf").exists()


def test_bench_csv_pool_and_options(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.uniform(size=(80, 3)), columns=["a", "b", "c"])
    df["y"] = (df.a - 0.3) ** 2 + df.b
    csv = tmp_path / "pool.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "csv"
    rc = main(["bench", "--csv", str(csv), "--target", "y", "--direction", "minimize", "--methods", "_cli_random",
               "--seeds", "3", "5", "--iterations", "2", "--initial", "5", "--batch", "3", "--out", str(out),
               "--no-progress", "--engine", "serial"])
    assert rc == 0
    capsys.readouterr()
    recs = sorted((out / "runs" / "pool_y" / "_cli_random").glob("seed*.json*"))
    assert [p.name for p in recs] == ["seed3.json.gz", "seed5.json.gz"]
    rec = read_run_file(recs[0])
    assert rec["task_info"]["n_iterations"] == 2 and len(rec["history"]["rows"]) == 5 + 2 * 3
    assert rec["task_info"]["directions"][0]["kind"] == "minimize"
    man = json.loads((out / "benchmark.json").read_text())
    assert man["suites"] == {"csv": ["pool_y"]}


def test_bench_csv_text_columns_are_categorical(tmp_path, capsys):
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": rng.uniform(size=60), "solvent": rng.choice(["water", "ethanol", "toluene"], 60)})
    df["y"] = df.a + df.solvent.map({"water": 0.0, "ethanol": 1.0, "toluene": 0.5})
    csv = tmp_path / "pool.csv"
    df.to_csv(csv, index=False)
    common = ["bench", "--csv", str(csv), "--target", "y", "--methods", "_cli_random", "--seeds", "1",
              "--iterations", "1", "--initial", "5", "--batch", "3", "--no-progress", "--engine", "serial"]
    assert main([*common, "--out", str(tmp_path / "one_hot")]) == 0
    assert "`solvent`: categorical, 3 levels" in capsys.readouterr().out
    rec = read_run_file(next((tmp_path / "one_hot" / "runs" / "pool_y" / "_cli_random").glob("seed*")))
    assert rec["task_spec"]["options"]["categorical"] == ["solvent"] and rec["task_info"]["dim"] == 4
    table = tmp_path / "solvents.csv"
    pd.DataFrame({"solvent": ["water", "ethanol"], "polarity": [1.0, 0.65]}).to_csv(table, index=False)
    with pytest.raises(SystemExit) as exc:
        main([*common, "--out", str(tmp_path / "desc"), "--descriptors", f"solvent={table}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "level 'toluene' of column 'solvent' is missing from its descriptor table" in err


def test_bench_usage_errors_and_listing(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--suite"):
        main(["bench", "--methods", "_cli_random", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="Unknown suite"):
        main(["bench", "--suite", "nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="Unknown method"):
        main(["bench", "--tasks", "smoke_function", "--methods", "nope", "--out", str(tmp_path), "--seeds", "1"])
    with pytest.raises(SystemExit, match="No run files"):
        main(["report", str(tmp_path / "empty")])
    bench = ["bench", "--tasks", "smoke_function", "--methods", "_cli_random", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match=r"--seeds 0 asks for no run.*--seeds 7 7"):
        main([*bench, "--seeds", "0"])
    with pytest.raises(SystemExit, match="whole numbers >= 0"):
        main([*bench, "--seeds", "1", "-2"])
    assert main(["bench", "--list"]) == 0
    text = capsys.readouterr().out
    assert "synthetic20" in text and "curie_temp" in text and "_cli_random" in text


def test_seed_lists():
    from axfusion.cli_bench import _seed_list

    assert _seed_list([3]) == [0, 1, 2]
    assert _seed_list([7, 7]) == [7]
    assert _seed_list([4, 2, 4, 9]) == [4, 2, 9]


# ------------------------------------------------------------------ bad input (issue 22)
def _usage_error(capsys, argv, match):
    with pytest.raises(SystemExit, match=match) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_bench_bad_input_is_one_line_with_status_2(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.uniform(size=(40, 3)), columns=["a", "b", "c"])
    df.insert(0, "sample_no", np.arange(1, 41))
    df["y"] = df.a + df.b
    csv = tmp_path / "pool.csv"
    df.to_csv(csv, index=False)
    bench = ["bench", "--methods", "_cli_random", "--seeds", "1", "--iterations", "1", "--initial", "5",
             "--no-progress", "--engine", "serial"]
    _usage_error(capsys, [*bench, "--csv", str(csv), "--target", "y", "--out", str(tmp_path / "o1")],
                 r"Column 'sample_no' looks like a row id.*--id-column sample_no")
    assert not (tmp_path / "o1" / "runs").exists()
    assert main([*bench, "--csv", str(csv), "--target", "y", "--id-column", "sample_no",
                 "--out", str(tmp_path / "o2")]) == 0
    capsys.readouterr()
    df.drop(columns="sample_no").to_csv(tmp_path / "indexed.csv")  # pandas' saved index
    _usage_error(capsys, [*bench, "--csv", str(tmp_path / "indexed.csv"), "--target", "y", "--out", str(tmp_path)],
                 "Column 'Unnamed: 0' looks like a row id")
    _usage_error(capsys, ["bench", "--tasks", "smoke_function", "--methods", "random", "--seeds", "1",
                          "--method-option", "random.bogus=1", "--out", str(tmp_path / "o3")],
                 r"--method-option for random: .*unknown options \['bogus'\]; its options are \['n_threads'\]")
    (tmp_path / "afile").write_text("x")
    _usage_error(capsys, [*bench, "--tasks", "smoke_function", "--out", str(tmp_path / "afile")],
                 "--out .*afile is a file; give a folder")
    _usage_error(capsys, [*bench, "--tasks", "smoke_function", "--address", "tcp://127.0.0.1:9",
                          "--out", str(tmp_path / "o4")], "add --engine dask or --engine ray")
    _usage_error(capsys, [*bench, "--tasks", "smoke_function", "--id-column", "x", "--out", str(tmp_path / "o5")],
                 "--id-column applies to a --csv pool")
    _usage_error(capsys, [*bench[:3], "--seeds", "100000000", "--tasks", "smoke_function", "--out", str(tmp_path)],
                 r"--seeds 100000000 would run 100000000 seeds.*at most 10000")


def test_a_cluster_address_runs_on_the_cluster_even_with_one_job(tmp_path, monkeypatch):
    import axfusion.benchmarks.runner as runner

    used = []

    def fake_dask(jobs, n_jobs, address):
        used.append(address)
        return iter(())

    monkeypatch.setitem(runner._ENGINES, "dask", fake_dask)
    runner.run_benchmark(["smoke_function"], ["_cli_random"], [0], tmp_path, engine="dask",
                         address="tcp://scheduler:8786", n_jobs=1, progress=False)
    assert used == ["tcp://scheduler:8786"]


def _reaction_csv(tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.uniform(size=60), "temp": rng.choice(["low", "mid", "high"], 60),
                       "solvent": rng.choice(["O", "CCO", "Cc1ccccc1"], 60)})
    df["y"] = df.a + df.temp.map({"low": 0.0, "mid": 1.0, "high": 2.0}) + (df.solvent == "CCO")
    csv = tmp_path / "pool.csv"
    df.to_csv(csv, index=False)
    return csv, ["bench", "--csv", str(csv), "--target", "y", "--methods", "_cli_random", "--seeds", "1",
                 "--iterations", "1", "--initial", "5", "--batch", "3", "--no-progress", "--engine", "serial"]


def test_bench_csv_ordinal_column(tmp_path, capsys):
    _, common = _reaction_csv(tmp_path)
    assert main([*common, "--out", str(tmp_path / "ord"), "--ordinal", "temp=low,mid,high"]) == 0
    out = capsys.readouterr().out
    assert "`temp`: ordinal, 3 levels (low < mid < high)" in out and "`solvent`: categorical, 3 levels" in out
    rec = read_run_file(next((tmp_path / "ord" / "runs" / "pool_y" / "_cli_random").glob("seed*")))
    opts = rec["task_spec"]["options"]
    assert opts["ordinal"] == {"temp": ["low", "mid", "high"]} and opts["categorical"] == ["solvent"]
    assert rec["task_info"]["dim"] == 1 + 1 + 3  # a, the rank of temp, solvent one-hot
    X = np.asarray(rec["history"]["X"], dtype=float) if "X" in rec["history"] else None
    if X is not None:
        assert set(np.unique(X[:, 1])) <= {0.0, 1.0, 2.0}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ordinal", "temp=low,medium,high"], "has level 'mid' in row"),
        (["--ordinal", "temp"], "--ordinal 'temp': write it as COLUMN=low,mid,high"),
        (["--ordinal", "temp=low,,high"], "a level is empty"),
        (["--ordinal", "heat=low,mid,high"], "'heat'"),
        (["--ordinal", "temp=low,mid,high", "--categorical", "temp"], "only one role"),
        (["--smiles-column", "nope"], "'nope'"),
    ],
)
def test_bench_csv_bad_ordinal_or_smiles_is_one_line_and_exit_2(tmp_path, capsys, flags, message):
    _, common = _reaction_csv(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([*common, "--out", str(tmp_path / "bad"), *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and message in err, err
    assert not (tmp_path / "bad" / "runs").exists()


def test_bench_csv_smiles_column(tmp_path, capsys):
    pytest.importorskip("rdkit")
    _, common = _reaction_csv(tmp_path)
    assert main([*common, "--out", str(tmp_path / "smi"), "--smiles-column", "solvent",
                 "--ordinal", "temp=low,mid,high"]) == 0
    out = capsys.readouterr().out
    assert "`solvent`: categorical, 3 levels" in out and "fingerprint bits (SMILES)" in out
    rec = read_run_file(next((tmp_path / "smi" / "runs" / "pool_y" / "_cli_random").glob("seed*")))
    assert rec["task_spec"]["options"]["smiles"] == ["solvent"]
    assert "categorical" not in rec["task_spec"]["options"]  # the SMILES column is not one-hot as well
    assert rec["task_info"]["dim"] > 1 + 1 + 3  # fingerprint bits instead of three indicators
    with pytest.raises(SystemExit) as exc:  # a SMILES column that does not parse
        main([*common, "--out", str(tmp_path / "bad"), "--smiles-column", "temp"])
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1
