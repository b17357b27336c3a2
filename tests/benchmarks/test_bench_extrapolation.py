r"""Smoke test of benchmarks/bench_extrapolation.py (one pool, one draw)."""

from __future__ import annotations

import json

import numpy as np


def test_extrapolation_study_writes_its_table(tmp_path, capsys, quiet_single_thread, load_script):
    module = load_script("bench_extrapolation")
    out = tmp_path / "extrapolation.json"
    assert module.main(["--pools", "agnp", "--draws", "1", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    names = {"ridge", "knn", "random_forest", "lightgbm", "gp_mean", "gp_mean_plus_2std"}
    assert {(r["n"], r["surrogate"]) for r in data["summary"]} == {(n, s) for n in (20, 50) for s in names}
    for r in data["rows"]:
        assert -1.0 <= r["spearman"] <= 1.0
        assert r["first_top_rank"] is None or 1 <= r["first_top_rank"] <= 164 - r["n"]
    assert np.isfinite([r["spearman_mean"] for r in data["summary"]]).all()
    assert "| agnp | 20 | ridge |" in capsys.readouterr().out
