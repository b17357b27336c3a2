r"""Smoke test of benchmarks/bench_trajectory_accuracy.py (one short agnp run, two sizes)."""

from __future__ import annotations

import gzip
import json

import numpy as np


def test_trajectory_study_scores_every_model_on_the_unmeasured_rows(tmp_path, capsys, quiet_single_thread,
                                                                    load_script):
    from axfusion.benchmarks.runner import run_benchmark

    run_benchmark(["agnp"], ["random"], [0], tmp_path / "bench", progress=False, n_iterations=2)
    module = load_script("bench_trajectory_accuracy")
    out, fig = tmp_path / "acc.json.gz", tmp_path / "acc.png"
    assert module.main([str(tmp_path / "bench"), "--method", "random", "--sizes", "25", "30", "60",
                        "--members", "2", "--out", str(out), "--figure", str(fig)]) == 0
    data = json.loads(gzip.decompress(out.read_bytes()))
    assert {r["n"] for r in data["rows"]} == {25, 30}  # the run measured 40 rows: no n = 60
    fams = [r for r in data["rows"] if r["method"].startswith("fam:")]
    assert all(np.isfinite(r["next_batch_r2"]) for r in fams)  # rows 25..34 and 30..39 were measured
    (agree,) = data["family_score_agreement"]
    assert agree["task"] == "agnp" and agree["cells"] == 2 and agree["best"] >= agree["pick_next"]
    methods = {r["method"] for r in data["rows"]}
    assert {"reservoir", "gp", "rf"} <= methods and any(m.startswith("fam:") for m in methods)
    for r in data["rows"]:
        assert 0.0 <= r["cov90"] <= 1.0 and np.isfinite(r["elpd"]) and "rho_top5" in r
    weights = [r["weight"] for r in data["rows"] if r["method"].startswith("fam:") and r["n"] == 25]
    assert abs(sum(weights) - 1.0) < 1e-3  # rounded to 4 decimals in the JSON
    assert fig.stat().st_size > 0
    assert "| agnp | 30 | reservoir | 1 |" in capsys.readouterr().out
    assert "| agnp | 30 | reservoir | 1 |" in (tmp_path / "acc.md").read_text()
    assert module.main([str(tmp_path / "bench"), "--method", "fusion"]) == 2  # no such runs
    # a committed results folder keeps its runs packed in runs.tar.xz
    import tarfile

    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "runs.tar.xz", "w:xz") as tar:
        tar.add(tmp_path / "bench" / "runs", arcname="runs")
    assert [r[:2] for r in module.trajectories(packed, "random")] == [("agnp", 0)]
