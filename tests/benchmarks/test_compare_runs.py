r"""benchmarks/compare_runs.py: pairs a method's runs across two results folders by task and seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "benchmarks" / "results" / "pools_seeds10_29"
TASKS = ("agnp", "crossed_barrel", "madml_steel_strength", "p3ht")


@pytest.fixture(scope="module")
def compare_runs(load_script):
    return load_script("compare_runs")


@pytest.fixture(scope="module")
def scores(compare_runs):
    from axfusion.benchmarks.metrics import load_runs

    runs = [r for r in load_runs(FOLDER) if r["method"] in ("fusion", "gpbo")]
    return {m: compare_runs.scores(runs, m) for m in ("fusion", "gpbo")}


def test_runs_against_themselves_tie_on_every_seed(compare_runs, scores):
    result = compare_runs.compare(scores["fusion"], scores["fusion"])
    assert [r["task"] for r in result["tasks"]] == list(TASKS)
    assert all(r["n_pairs"] == 20 and r["ties"] == 20 for r in result["tasks"])
    assert result["total"]["better"] == result["total"]["worse"] == 0
    assert result["total"]["n_pairs"] == 80 and result["total"]["mean_log_ratio"] == 0.0


def test_two_methods_are_paired_seed_by_seed(compare_runs, scores):
    result = compare_runs.compare(scores["gpbo"], scores["fusion"])
    rows = {r["task"]: r for r in result["tasks"]}
    # the README's table for these seeds: GP-BO 3.5 / 3 / 4 / 3, axfusion 3 / 4 / 4 / 2.5
    assert [rows[t]["median"] for t in TASKS] == [3.5, 3, 4, 3]
    assert [rows[t]["old_median"] for t in TASKS] == [3, 4, 4, 2.5]
    assert all(r["better"] + r["worse"] + r["ties"] == 20 for r in rows.values())
    assert result["total"]["better"] == sum(r["better"] for r in rows.values())
    text = compare_runs.markdown(result)
    assert "| crossed_barrel | 20 | 3 | 4 |" in text and "Mean log(new / old)" in text


def test_folders_without_common_runs_are_a_clear_error(compare_runs, tmp_path):
    (tmp_path / "a" / "runs").mkdir(parents=True)
    (tmp_path / "b" / "runs").mkdir(parents=True)
    with pytest.raises(SystemExit, match="nothing to compare"):
        compare_runs.main([str(tmp_path / "a"), str(tmp_path / "b")])


def test_several_old_folders_are_read_in_order(compare_runs, tmp_path, capsys):
    out = tmp_path / "paired.json"
    compare_runs.main([str(FOLDER), str(tmp_path), str(FOLDER), "--method", "gpbo", "--old-method", "fusion",
                       "--json", str(out)])
    result = json.loads(out.read_text())
    # the empty first folder holds no run, so every pair comes from the second: as with one folder
    rows = {r["task"]: r for r in result["tasks"]}
    assert [rows[t]["old_median"] for t in TASKS] == [3, 4, 4, 2.5]
    assert result["old"] == f"{tmp_path}, {FOLDER}"
    assert "against" in capsys.readouterr().out
