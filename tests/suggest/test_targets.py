r"""Targets and their directions, from the CLI and from Python (:mod:`axfusion.suggest.targets`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import ROW_ID_COLUMN, SuggestInputError, default_campaign_path, suggest_next

from .conftest import FAST, FEATURES, _cli, _error, _pool_frame, _suggest_cmd, _truth, _write_lab


def test_cli_minimize_and_window_directions(tmp_path, capsys):
    pool, measured, frame = _write_lab(tmp_path)
    y = _truth(frame[FEATURES].to_numpy())
    out_min = tmp_path / "min.csv"
    assert _cli(_suggest_cmd(pool, measured, out_min, "--minimize")) == 0
    ids_min = pd.read_csv(out_min)[ROW_ID_COLUMN].to_numpy()
    assert y[ids_min].mean() < np.median(y)
    state = json.loads(default_campaign_path(out_min).read_text())
    assert state["targets"][0]["kind"] == "minimize"

    lo, hi = 1.0, 1.2  # mid-range: a window batch differs from a minimising one
    out_win = tmp_path / "win.csv"
    assert _cli(_suggest_cmd(pool, measured, out_win, "--window", str(lo), str(hi))) == 0
    capsys.readouterr()
    nxt = pd.read_csv(out_win)

    def gap(values: np.ndarray) -> float:
        return float(np.median(np.maximum(lo - values, 0) + np.maximum(values - hi, 0)))

    assert gap(nxt["mean[Tc]"].to_numpy()) < 0.5 * gap(pd.read_csv(out_min)["mean[Tc]"].to_numpy())
    assert gap(y[nxt[ROW_ID_COLUMN].to_numpy()]) < gap(y[ids_min])
    target = json.loads(default_campaign_path(out_win).read_text())["targets"][0]
    assert (target["kind"], target["lower"], target["upper"]) == ("window", lo, hi)

    # The same campaign asked for another direction: refused, named.
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "x.csv", "--campaign",
                                      str(default_campaign_path(out_win)), "--minimize"))
    assert "was started for the targets Tc (window [1.0, 1.2])" in err and "Tc (minimize)" in err


def test_cli_two_targets_each_with_its_direction_and_open_window(tmp_path, capsys):
    frame = _pool_frame(120)
    X = frame[FEATURES].to_numpy()
    pool = tmp_path / "pool.parquet"  # streamed Parquet pool, matched by id
    frame.to_parquet(pool)
    rows = np.arange(0, 120, 6)
    measured = pd.DataFrame({"id": frame["id"].iloc[rows], "Tc": _truth(X)[rows], "Ms": X[rows, 3] * 2})
    measured_path = tmp_path / "measured.csv"
    measured.to_csv(measured_path, index=False)
    out = tmp_path / "next.csv"
    argv = ["suggest", "--pool", str(pool), "--measured", str(measured_path), "--id-column", "id",
            "--target", "Tc", "--minimize", "--target", "Ms", "--window", "1.0", "none",
            "--batch", "4", "--out", str(out), *FAST]
    assert _cli(argv) == 0
    capsys.readouterr()
    nxt = pd.read_csv(out)
    for col in ("id", "mean[Tc]", "std[Tc]", "mean[Ms]", "std[Ms]", "fusion[Ms]", "model[Tc]"):
        assert col in nxt.columns
    assert set(nxt["id"]) <= set(frame["id"]) and not set(nxt["id"]) & set(measured["id"])
    targets = json.loads(default_campaign_path(out).read_text())["targets"]
    assert [(t["kind"], t["lower"], t["upper"]) for t in targets] == [("minimize", None, None), ("window", 1.0, None)]


def test_direction_arguments_and_python_direction_errors(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        _cli(["suggest", "--pool", str(pool), "--measured", str(measured), "--minimize", "--target", "Tc",
              "--out", str(tmp_path / "n.csv")])
    assert exit_info.value.code == 2
    assert "give --target COLUMN first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tc", "--minimize",
              "--window", "1", "2", "--out", str(tmp_path / "n.csv")])
    assert "already has a direction (--minimize)" in capsys.readouterr().err
    with pytest.raises(SuggestInputError, match="directions has 2 entries for 1 target"):
        suggest_next(pool, measured, "Tc", directions=(1.1, 1.7))
    with pytest.raises(SuggestInputError, match="Unknown direction 'up' for target 'Tc'"):
        suggest_next(pool, measured, "Tc", directions="up")
    with pytest.raises(SuggestInputError, match="window target needs lower <= upper"):
        suggest_next(pool, measured, "Tc", directions=[(2.0, 1.0)])
    with pytest.raises(TypeError, match="Unknown optimizer option"):
        suggest_next(pool, measured, "Tc", n_memberz=3)
