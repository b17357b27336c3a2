r"""benchmarks/bench_speed.py: the data, the table and one tiny run (shapes only, never timings)."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("bench_speed")


def test_pools_are_deterministic_prefixes_and_memmaps_match(bench, tmp_path):
    X, y = bench.pool_data(1000, 20, seed=0)
    assert X.shape == (1000, 20) and X.dtype == np.float32 and y.shape == (1000,)
    X2, y2 = bench.pool_data(70_000, 20, seed=0)  # two generation chunks
    np.testing.assert_array_equal(X2[:1000], X)
    np.testing.assert_array_equal(y2[:1000], y)
    assert not np.array_equal(bench.pool_data(1000, 20, seed=1)[0], X)
    M, ym = bench.pool_data(500, 135, seed=0)
    assert M.shape == (500, 135) and np.isfinite(M).all() and np.isfinite(ym).all()
    corr = np.corrcoef(M[:, 90:100].astype(np.float64), rowvar=False)
    assert np.abs(corr[np.triu_indices(10, 1)]).mean() > 0.2  # correlated, Magpie-like columns
    y_mm = bench.write_memmap(tmp_path / "pool.npy", 70_000, 20, seed=0)
    np.testing.assert_array_equal(np.load(tmp_path / "pool.npy", mmap_mode="r")[:], X2)
    np.testing.assert_array_equal(y_mm, y2)


def test_initial_rows_are_the_harness_rows(bench):
    X, y = bench.pool_data(600, 20, seed=0)
    task = bench.pool_task(X, y, 40, "speed20")
    np.testing.assert_array_equal(bench.initial_rows(y, 40, seed=0), task.initial_rows(0))
    assert task.N == 600 and task.space.dim == 20


def _record(method, status, seconds=None, **extra):
    r = {"kind": "pool", "problem": "synthetic", "N": 10**6, "d": 20, "n": 100, "method": method,
         "status": status, "limit_s": 300.0, "peak_mib": 900.0}
    if seconds is not None:
        r["seconds"] = seconds
    r.update(extra)
    return r


def test_table_has_limits_ratios_and_stages(bench):
    stages = {"model": 5.0, "candidates": 76.0, "structure": 19.0, "acquisition": 4.0, "batch": 1.0}
    records = [
        _record("axfusion", "ok", 100.0, stages=stages),
        _record("gpbo", "ok", 50.0),
        _record("rfbo", "limit"),
        _record("baybe", "skipped", peak_mib=None),
        {**_record("axfusion", "ok", 2.0, stages=stages), "kind": "box", "problem": "ackley20", "N": None},
        {**_record("axfusion_box", "ok", 1.0, stages=stages), "kind": "box", "problem": "ackley20", "N": None},
    ]
    table = bench.render(records, 300.0)
    lines = table.splitlines()
    header = lines[0]
    for name in ("axfusion", "GP-BO", "RF-BO", "BayBE", "axfusion stages"):
        assert name in header
    row = next(line for line in lines if line.startswith("| synthetic"))
    assert row.count("|") == header.count("|")
    assert "100 s · 900 MiB" in row and "50.0 s · 900 MiB · ×0.5" in row
    assert "> 300 s · 900 MiB · > ×3" in row and "> 300 s†" in row
    assert "5.0 / 76.0 / 19.0 / 4.0 / 1.0" in row
    box = next(line for line in lines if line.startswith("| ackley20"))
    assert "cut-down" in lines[lines.index(box) - 2] and "×0.5" in box
    tg = {t["target"]: t for t in bench.targets(records)}
    assert tg["pool_1e6"]["met"] is False and tg["box_d20_full"]["met"] is True
    assert tg["pool_4e6"]["met"] is None and tg["linear_in_N"]["met"] is None
    assert "**missed**" in bench.render_targets(list(tg.values()))


def test_box_table_gains_the_paper_preset_and_its_stages(bench):
    stages = {"model": 5.0, "candidates": 76.0, "structure": 19.0, "acquisition": 4.0, "batch": 1.0}
    box = {"kind": "box", "problem": "ackley20", "N": None}
    records = [{**_record("axfusion", "ok", 2.0, stages=stages), **box},
               {**_record("axfusion_paper", "ok", 8.0, stages={**stages, "candidates": 300.0}), **box}]
    lines = bench.render(records, 300.0).splitlines()
    header = lines[0]
    assert "axfusion paper preset" in header and "paper preset stages (s)" in header
    assert "cut-down" not in header  # no column for a method the run did not measure
    row = next(line for line in lines if line.startswith("| ackley20"))
    assert row.count("|") == header.count("|") and "×4" in row
    assert row.endswith("| 5.0 / 76.0 / 19.0 / 4.0 / 1.0 | 5.0 / 300 / 19.0 / 4.0 / 1.0 |")


def test_paper_preset_method_is_the_harness_fusion_paper(bench):
    assert bench.make_method("axfusion_paper", box=True).options["preset"] == "paper"
    assert bench.make_method("axfusion_box", box=True).options["preset"] == "default"


def test_quick_run_writes_json_and_table(bench, tmp_path, capsys):
    out = tmp_path / "speed.json"
    argv = ["--pools", "300:20:30", "--boxes", "none", "--methods", "axfusion", "rfbo", "--limit", "240",
            "--out", str(out)]
    assert bench.main(argv) == 0
    data = json.loads(out.read_text())
    env = data["meta"]["environment"]
    assert env["threads"] == 1 and env["versions"]["torch"] and env["cpus"] >= 1
    assert [(m["method"], m["status"]) for m in data["measurements"]] == [("axfusion", "ok"), ("rfbo", "ok")]
    ax = data["measurements"][0]
    assert set(ax["stages"]) >= {"model", "candidates", "structure", "acquisition", "batch", "total"}
    for m in data["measurements"]:
        assert m["n_proposed"] == 10 and m["peak_mib"] >= m["rss_ready_mib"] > 0 and m["seconds"] > 0
    assert {t["target"] for t in data["targets"]} >= {"pool_1e6", "pool_1e4_n1000", "box_d20_full"}
    md = out.with_suffix(".md").read_text()
    assert "| synthetic | 300 | 20 | 30 |" in md and "Targets (issue 18)" in md
    assert "| synthetic | 300 | 20 | 30 |" in capsys.readouterr().out
