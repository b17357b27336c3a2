r"""benchmarks/pool_oracle.py: the pool statistic of every measured configuration and of the oracle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def oracle(load_script):
    return load_script("pool_oracle")


def test_the_oracle_takes_each_pools_lowest_median_of_the_configurations_that_cover_every_pool(oracle):
    peers = {"a": 2.0, "b": 4.0}
    configs = {"x": {"a": 2.0, "b": 8.0}, "y": {"a": 4.0, "b": 2.0}, "partial": {"a": 1.0}}
    table = oracle.oracle_table(configs, peers)
    assert [r["name"] for r in table["configurations"]] == ["y", "x"]  # "partial" misses pool b
    assert table["configurations"][1]["ratio"] == pytest.approx(np.sqrt(1.0 * 2.0))
    assert table["oracle"] == {"a": 2.0, "b": 2.0}
    assert table["oracle_ratio"] == pytest.approx(np.sqrt(1.0 * 0.5))
    assert "**0.707**" in oracle.markdown(table)
    with pytest.raises(ValueError, match="covers every pool"):
        oracle.oracle_table({"partial": {"a": 1.0}}, peers)


def test_configurations_read_paired_files_and_score_tables(oracle, tmp_path):
    (tmp_path / "pools_v").mkdir()
    (tmp_path / "pools_v" / "paired_vs_default.json").write_text(
        json.dumps({"method": "fusion:v", "tasks": [{"task": "a", "median": 3.0, "old_median": 4.0}]})
    )
    (tmp_path / "pools_w").mkdir()
    pd.DataFrame(
        {"task": ["a"] * 3, "method": ["fusion:w"] * 3, "seed": [0, 1, 10], "iterations_to_success": [1.0, 3.0, 50.0]}
    ).to_csv(tmp_path / "pools_w" / "scores.csv.gz", index=False)
    configs = oracle.configurations(tmp_path)
    assert configs == {
        "fusion:v (pools_v)": {"a": 3.0}, "default paired with it (pools_v)": {"a": 4.0},
        "fusion:w (pools_w)": {"a": 2.0},  # seed 10 is not one of seeds 0-9
    }
