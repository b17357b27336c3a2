r"""The paired ablation table: pairs by seed, censors runs without success, sign test."""

from __future__ import annotations

import pytest

from axfusion.benchmarks import ablation


def _runs(method, values, kind="pool"):
    return [{"task": "t", "method": method, "seed": s, "status": "ok", "_m": v, "_kind": kind}
            for s, v in enumerate(values)]


@pytest.fixture
def fake_metrics(monkeypatch):
    def run_metrics(run):
        v = run["_m"]
        if run["_kind"] == "pool":
            return {"kind": "pool", "iterations_to_success": v, "T": 10}
        return {"kind": "function", "final_best": v}

    monkeypatch.setattr(ablation._m, "run_metrics", run_metrics)


def test_paired_sign_test_and_censoring(fake_metrics):
    runs = _runs("fusion", [3, 4, 5, 6, 2, 3, 4, 5, 6, 7]) + _runs("fusion:x", [2, 3, 4, 5, 1, 2, 3, 4, 5, None])
    table = ablation.paired_table(runs)
    row = table.iloc[0]
    assert row["method"] == "fusion:x" and row["n_pairs"] == 10
    # nine seeds better, the censored one (budget 10 + 1 = 11) worse than 7
    assert (row["better"], row["worse"], row["ties"], row["censored"]) == (9, 1, 0, 1)
    assert row["p_sign"] == pytest.approx(0.021484375)
    md = ablation.ablation_markdown(table)
    assert "9 / 1 / 0" in md and "1 without success" in md


def test_functions_compare_final_best_and_unpaired_seeds_are_dropped(fake_metrics):
    runs = _runs("fusion", [1.0, 2.0, 3.0], kind="function") + _runs("fusion:y", [1.0, 5.0], kind="function")
    row = ablation.paired_table(runs).iloc[0]
    assert (row["n_pairs"], row["better"], row["worse"], row["ties"]) == (2, 0, 1, 1)
    assert ablation.paired_table(_runs("fusion:y", [1.0], kind="function")).empty  # no baseline


def test_folder_scores_reads_folders_in_order_and_the_first_run_of_a_seed_wins():
    from pathlib import Path

    from axfusion.benchmarks.ablation import folder_scores, method_scores
    from axfusion.benchmarks.metrics import load_runs

    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
    first, second = results / "gp_ard_decision", results / "anchors"  # both hold fusion on crossed_barrel
    merged = folder_scores([first, second], ["fusion"])["fusion"]
    own_first = method_scores(load_runs(first), "fusion")
    own_second = method_scores(load_runs(second), "fusion")
    assert {k for k in own_first if k[0] == "crossed_barrel"} == {("crossed_barrel", s) for s in range(10)}
    assert any(own_first[k] != own_second[k] for k in own_first)  # the two folders disagree on some seed
    assert all(merged[k] == v for k, v in own_first.items())
    assert all(merged[k] == v for k, v in own_second.items() if k not in own_first)  # agnp, p3ht, steel
    assert set(merged) == set(own_first) | set(own_second)
