r"""The ``axfusion suggest`` sub-command end to end (:mod:`axfusion.suggest.cli`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import ROW_ID_COLUMN, default_campaign_path

from .conftest import FEATURES, _cli, _error, _suggest_cmd, _truth, _write_lab


def test_cli_writes_next_batch_and_campaign_then_continues(tmp_path, capsys):
    pool, measured, frame = _write_lab(tmp_path)
    pool_bytes, measured_bytes = pool.read_bytes(), measured.read_bytes()
    out = tmp_path / "next.csv"
    assert _cli(_suggest_cmd(pool, measured, out)) == 0
    captured = capsys.readouterr()
    assert "failed measurement" in captured.err and "'Tc' in row 3 (line 5)" in captured.err
    assert "iteration 1" in captured.out

    nxt = pd.read_csv(out)
    expected = [ROW_ID_COLUMN, "iteration", "utility", "pi", "acquisition", "mean[Tc]", "std[Tc]",
                "model[Tc]", "fusion[Tc]", "cluster", "reason"]
    assert list(nxt.columns) == expected
    assert len(nxt) == 10 and nxt[ROW_ID_COLUMN].is_unique and (nxt["iteration"] == 1).all()
    first = set(nxt[ROW_ID_COLUMN].tolist())
    assert not first & set(range(0, 200, 10))  # measured rows are never suggested
    assert nxt["reason"].str.contains("rank").all()
    np.testing.assert_allclose(nxt["utility"], nxt["pi"] * nxt["acquisition"])

    campaign = default_campaign_path(out)
    assert campaign == tmp_path / "next.campaign.json"
    state = json.loads(campaign.read_text())
    assert state["iteration"] == 1 and sorted(state["pending"]) == sorted(first)
    assert len(state["observations"]) == 20 and sum(o["failed"] for o in state["observations"]) == 1

    # The lab measures half of the batch and appends the rows (by row_id) to measured.csv.
    done = nxt[ROW_ID_COLUMN].to_numpy()[:5]
    y = _truth(frame[FEATURES].to_numpy())
    extra = pd.DataFrame({ROW_ID_COLUMN: done, "Tc": y[done]})
    pd.concat([pd.read_csv(measured), extra]).to_csv(measured, index=False, float_format="%.17g")
    measured_bytes = measured.read_bytes()

    # --out exists: refused without --force, nothing changes.
    err = _error(capsys, _suggest_cmd(pool, measured, out))
    assert "already exists" in err and "--force" in err
    assert json.loads(campaign.read_text())["iteration"] == 1

    assert _cli(_suggest_cmd(pool, measured, out, "--force")) == 0
    captured = capsys.readouterr()
    assert "iteration 2" in captured.out and "5 new" in captured.out
    assert "failed" not in captured.err  # the old failed row is not re-reported
    nxt2 = pd.read_csv(out)
    assert (nxt2["iteration"] == 2).all()
    second = set(nxt2[ROW_ID_COLUMN].tolist())
    still_pending = first - set(done.tolist())
    assert not second & first and not second & set(range(0, 200, 10))
    state = json.loads(campaign.read_text())
    assert state["iteration"] == 2 and len(state["observations"]) == 25
    assert sorted(state["pending"]) == sorted(still_pending | second)

    # A third call writing elsewhere continues the same campaign when it is named.
    other = tmp_path / "batch3.csv"
    assert _cli(_suggest_cmd(pool, measured, other, "--campaign", str(campaign), batch=3)) == 0
    capsys.readouterr()
    third = set(pd.read_csv(other)[ROW_ID_COLUMN].tolist())
    assert not third & (first | second) and json.loads(campaign.read_text())["iteration"] == 3
    # the user's files were only read
    assert pool.read_bytes() == pool_bytes and measured.read_bytes() == measured_bytes


def test_user_files_are_never_overwritten(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    before = measured.read_bytes()
    err = _error(capsys, _suggest_cmd(pool, measured, measured, "--force"))
    assert "is the --measured file" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", "--campaign", str(pool)))
    assert "is the pool file" in err
    err = _error(capsys, _suggest_cmd(pool, pool, tmp_path / "n.csv"))
    assert "same file" in err
    assert measured.read_bytes() == before


def _solvent_lab(tmp_path):
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"temp": rng.uniform(20, 100, 200).round(1), "time": rng.uniform(1, 10, 200).round(2),
                         "solvent": rng.choice(["water", "ethanol", "toluene"], 200)})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    measured = pool.iloc[:20].copy()
    effect = measured["solvent"].map({"water": 0, "ethanol": 3, "toluene": 1})
    measured["Tc"] = (measured["temp"] / 10 + effect).round(3)
    measured.to_csv(tmp_path / "measured.csv", index=False)
    return tmp_path / "pool.csv", tmp_path / "measured.csv", pool, measured


def test_text_column_is_categorical_and_comes_back_as_written(tmp_path, capsys):
    pool_path, measured_path, pool, _ = _solvent_lab(tmp_path)
    out = tmp_path / "next.csv"
    assert _cli(_suggest_cmd(pool_path, measured_path, out, batch=5)) == 0
    printed = capsys.readouterr().out
    assert "`solvent`: categorical, 3 levels" in printed and "200 rows x 5 features" in printed
    table = pd.read_csv(out)
    assert table["solvent"].tolist() == pool["solvent"].iloc[table["row_id"]].tolist()
    # the next call continues the campaign with the same encoding
    assert _cli(_suggest_cmd(pool_path, measured_path, tmp_path / "next2.csv", "--campaign",
                             str(tmp_path / "next.campaign.json"), batch=5)) == 0


def test_categorical_errors_are_one_line(tmp_path, capsys):
    pool_path, measured_path, pool, measured = _solvent_lab(tmp_path)
    bad = measured.copy()
    bad.loc[3, "solvent"] = "Water"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool_path, tmp_path / "bad.csv", tmp_path / "o1.csv"))
    assert "level 'Water' in row 3" in err and "closest: ['water']" in err and err.count("\n") == 1
    pd.DataFrame({"solvent": ["water", "ethanol"], "polarity": [1.0, 0.65]}).to_csv(tmp_path / "s.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool_path, measured_path, tmp_path / "o2.csv", "--descriptors",
                                      f"solvent={tmp_path / 's.csv'}"))
    assert "Level 'toluene' of column 'solvent' is missing from its descriptor table" in err
    err = _error(capsys, _suggest_cmd(pool_path, measured_path, tmp_path / "o3.csv", "--ordinal", "solvent"))
    assert "COLUMN=low,mid,high" in err
    err = _error(capsys, _suggest_cmd(pool_path, measured_path, tmp_path / "o4.csv", "--categorical", "tmp"))
    assert "['tmp']" in err


def test_descriptors_ordinal_and_declared_categorical(tmp_path, capsys):
    pool_path, measured_path, _, _ = _solvent_lab(tmp_path)
    pd.DataFrame({"solvent": ["water", "ethanol", "toluene"], "polarity": [1.0, 0.65, 0.1],
                  "bp": [100, 78, 111]}).to_csv(tmp_path / "s.csv", index=False)
    assert _cli(_suggest_cmd(pool_path, measured_path, tmp_path / "a.csv", "--descriptors",
                             f"solvent={tmp_path / 's.csv'}", batch=3)) == 0
    assert "`solvent`: categorical, 3 levels, 2 descriptors" in capsys.readouterr().out
    assert _cli(_suggest_cmd(pool_path, measured_path, tmp_path / "b.csv", "--ordinal",
                             "solvent=water,ethanol,toluene", batch=3)) == 0
    assert "ordinal, 3 levels (water < ethanol < toluene)" in capsys.readouterr().out


def test_smiles_column(tmp_path, capsys):
    pytest.importorskip("rdkit")
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"temp": rng.uniform(20, 100, 120).round(1),
                         "solvent": rng.choice(["O", "CCO", "Cc1ccccc1", "CC(C)=O"], 120)})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    measured = pool.iloc[:20].copy()
    measured["Tc"] = (measured["temp"] / 10 + (measured["solvent"] == "CCO") * 3.0).round(3)
    measured.to_csv(tmp_path / "measured.csv", index=False)
    out = tmp_path / "next.csv"
    assert _cli(_suggest_cmd(tmp_path / "pool.csv", tmp_path / "measured.csv", out, "--smiles-column", "solvent",
                             batch=4)) == 0
    assert "fingerprint bits (SMILES)" in capsys.readouterr().out
    assert set(pd.read_csv(out)["solvent"]) <= {"O", "CCO", "Cc1ccccc1", "CC(C)=O"}
    pool.loc[7, "solvent"] = "C1CC("
    pool.to_csv(tmp_path / "bad.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "bad.csv", tmp_path / "measured.csv", tmp_path / "o.csv",
                                      "--smiles-column", "solvent"))
    assert "'C1CC('" in err and "(row 7) does not parse" in err
