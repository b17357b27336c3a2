r"""benchmarks/first_batch_ranks.py: the best rank of a pool's top rows under each first-batch score."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ranks(load_script):
    return load_script("first_batch_ranks")


def test_best_rank_is_the_first_position_of_a_success_row(ranks):
    values = np.array([0.1, 0.9, 0.5, np.nan, 0.7])
    assert ranks.best_rank(values, np.array([False, False, True, False, True])) == 2  # 0.7 is second
    assert ranks.best_rank(values, np.array([False, False, False, True, False])) == 5  # NaN ranks last


def test_a_pool_gives_every_score_a_rank_and_a_table(ranks, tmp_path, capsys):
    got = ranks.first_batch_scores("agnp", 0)
    k = got["success"].size
    assert k == 164 - 20 and got["success"].sum() == 1  # the unmeasured rows; agnp's top 1
    assert {"utility", "mean", "exploration", "gp_ei", "gp_ucb"} <= set(got["scores"])
    assert any(name.startswith("family:") for name in got["scores"])
    assert all(np.asarray(v).shape == (k,) for v in got["scores"].values())
    out = tmp_path / "ranks.json"
    ranks.main(["--tasks", "agnp", "--seeds", "1", "--out", str(out)])
    data = json.loads(out.read_text())
    assert all(1 <= r[0] <= k for r in data["agnp"].values())
    assert "| agnp |" in capsys.readouterr().out and out.with_suffix(".md").exists()
