r"""benchmarks/peer_noise.py: each method against the best of the others, with its seed noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "benchmarks" / "results" / "pools_seeds10_29"


@pytest.fixture(scope="module")
def peer_noise(load_script):
    return load_script("peer_noise")


def _fake(values: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, dict[int, float]]]:
    return {lab: {p: dict(enumerate(v)) for p, v in pools.items()} for lab, pools in values.items()}


def test_the_statistic_is_the_geometric_mean_of_ratios_to_the_best_other(peer_noise, monkeypatch):
    monkeypatch.setattr(peer_noise, "N_BOOT", 50)
    data = _fake({
        "a": {"p": [2, 2, 2], "r": [4, 4, 4]},
        "b": {"p": [4, 4, 4], "r": [2, 2, 2]},
        "c": {"p": [8, 8, 8], "r": [8, 8, 8], "only_c": [1, 1, 1]},
    })
    result = peer_noise.analyse(data)
    assert result["pools"] == ["p", "r"]  # pools every method ran
    assert result["ratio_to_best_other"]["a"] == {"p": 0.5, "r": 2.0}
    assert result["observed"]["a"] == pytest.approx(1.0)
    assert result["observed"]["c"] == pytest.approx(4.0)
    # constant runs: no seed noise, so every bootstrap draw gives the observed value
    assert result["bootstrap_paired"]["c"]["p05"] == pytest.approx(4.0)
    # a method distributed as c against copies of itself ties
    assert result["equal_to_peers"]["c"]["median"] == pytest.approx(1.0)
    assert result["bootstrap_paired"]["a"]["p_at_most_target"] == 0.0


def test_noisy_peers_make_a_method_equal_to_them_look_worse_than_one(peer_noise, monkeypatch):
    monkeypatch.setattr(peer_noise, "N_BOOT", 200)
    rng = np.random.default_rng(0)
    same = {f"p{i}": rng.geometric(0.3, 10).astype(float).tolist() for i in range(5)}
    result = peer_noise.analyse(_fake({"a": same, "b": same, "c": same}))
    # the same runs under three names tie exactly, but the minimum of independent noisy
    # medians is biased low: a method equal to its peers scores above 1
    assert result["observed"]["a"] == pytest.approx(1.0)
    assert result["equal_to_peers"]["a"]["median"] > 1.0


def test_committed_runs_print_a_table(peer_noise, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(peer_noise, "N_BOOT", 20)
    out = tmp_path / "noise.json"
    peer_noise.main([
        "--source", f"axfusion={FOLDER}:fusion", "--source", f"gpbo={FOLDER}:gpbo", "--out", str(out),
    ])
    text = capsys.readouterr().out
    assert "| crossed_barrel (20) | 4 (1.33) | 3 (0.75) |" in text
    assert out.exists()
    with pytest.raises(SystemExit):
        peer_noise.main(["--source", "no-separator"])


def test_a_method_name_with_a_colon_is_read_from_its_folder(peer_noise, monkeypatch):
    seen = []
    monkeypatch.setattr(peer_noise, "collect", lambda sources: seen.extend(sources) or {})
    monkeypatch.setattr(peer_noise, "analyse", lambda runs, seed: {"labels": [], "pools": []})
    with pytest.raises(SystemExit):  # no runs: the usage error, after the sources were parsed
        peer_noise.main(["--source", f"new={FOLDER}:fusion:stall_coverage", "--source", "old=no/such:fusion"])
    assert seen == [("new", str(FOLDER), "fusion:stall_coverage"), ("old", "no/such", "fusion")]
