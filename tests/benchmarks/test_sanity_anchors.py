r"""benchmarks/sanity_anchors.py: the decision layer's anchors, checked on committed runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "benchmarks" / "results" / "gp_ard_decision"


@pytest.fixture(scope="module")
def anchors(load_script):
    return load_script("sanity_anchors")


def _row(better: int, worse: int, median: float, old_median: float, p: float) -> dict:
    return {"better": better, "worse": worse, "median": median, "old_median": old_median, "p_sign": p}


def test_verdict_needs_more_comparator_wins_and_a_median_not_worse(anchors):
    assert anchors.verdict(_row(3, 3, 2.0, 3.0, 1.0)) == "holds"  # as many wins as losses
    assert anchors.verdict(_row(5, 2, 4.0, 3.0, 0.45)) == "holds"  # more wins, but a worse median
    assert anchors.verdict(_row(5, 2, 3.0, 3.0, 0.45)) == "violated"
    assert anchors.verdict(_row(9, 1, 2.0, 4.0, 0.02)) == "violated (p < 0.05)"


def test_committed_runs_show_the_qlognei_anchor_violated_on_crossed_barrel(anchors, tmp_path, capsys):
    # gp_ard_decision holds fusion and fusion:qlognei on crossed_barrel, seeds 0-9 (no GP-BO there)
    rows = anchors.check([FOLDER])
    assert [(r["task"], r["comparator"]) for r in rows] == [("crossed_barrel", "fusion:qlognei")]
    row = rows[0]
    assert (row["fusion_median"], row["comparator_median"]) == (5.0, 3.0)
    assert (row["comparator_better"], row["comparator_worse"], row["ties"]) == (7, 2, 1)
    assert row["verdict"] == "violated"
    out = tmp_path / "anchors.json"
    assert anchors.main([str(FOLDER), "--json", str(out)]) == 0
    assert "| violated |" in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["task"] == "crossed_barrel"


def test_no_pair_of_methods_is_a_clear_error(anchors, tmp_path):
    with pytest.raises(SystemExit, match="No task has runs of both sides"):
        anchors.main([str(tmp_path)])
