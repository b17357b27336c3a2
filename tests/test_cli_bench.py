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
