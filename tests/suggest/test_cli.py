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
    saved = json.loads((tmp_path / "next.campaign.json").read_text())["source"]
    assert saved["column_groups"] == [-1, -1, 2, 2, 2]  # the solvent's indicators form one input
    # the next call continues the campaign with the same encoding
    assert _cli(_suggest_cmd(pool_path, measured_path, tmp_path / "next2.csv", "--campaign",
                             str(tmp_path / "next.campaign.json"), batch=5)) == 0


def test_suggested_rows_appended_with_their_row_id_and_levels_continue_the_campaign(tmp_path, capsys):
    # the lab loop: next.csv holds row_id and the categorical levels; the user adds the yield and appends it
    pool_path, measured_path, pool, measured = _solvent_lab(tmp_path)
    out = tmp_path / "next.csv"
    assert _cli(_suggest_cmd(pool_path, measured_path, out, batch=3)) == 0
    picked = pd.read_csv(out)[[ROW_ID_COLUMN, "solvent"]]
    picked["Tc"] = [5.0, 6.0, 7.0]
    lab = pd.concat([measured.assign(**{ROW_ID_COLUMN: np.arange(20)}), picked], ignore_index=True)
    lab.to_csv(measured_path, index=False)
    assert _cli(_suggest_cmd(pool_path, measured_path, tmp_path / "next2.csv", batch=3)) == 0
    assert "23 rows, 23 new" in capsys.readouterr().out
    wrong = lab.copy()
    row = int(picked[ROW_ID_COLUMN].iloc[0])
    wrong.loc[20, "solvent"] = next(lv for lv in ("water", "ethanol", "toluene") if lv != pool["solvent"].iloc[row])
    wrong.to_csv(measured_path, index=False)
    err = _error(capsys, _suggest_cmd(pool_path, measured_path, tmp_path / "n3.csv"))
    assert f"gives row_id {row}, but its feature 'solvent' is {wrong.loc[20, 'solvent']!r}" in err
    assert f"pool row {row} has {pool['solvent'].iloc[row]!r}" in err and err.count("\n") == 1
    wrong.loc[20, "solvent"] = "Water"
    wrong.to_csv(measured_path, index=False)
    err = _error(capsys, _suggest_cmd(pool_path, measured_path, tmp_path / "n4.csv"))
    assert "level 'Water'" in err and "closest: ['water']" in err


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
# ------------------------------------------------------------------ bad input (issue 22)
def _fast_campaign_run(pool, measured, out, *extra):
    import os
    import subprocess
    import sys

    from .conftest import FAST

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    cmd = [sys.executable, "-m", "axfusion.cli", "suggest", "--pool", str(pool), "--measured", str(measured),
           "--target", "Tc", "--batch", "5", "--out", str(out), *extra, *FAST]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_on_one_campaign_never_overlap_or_lose_a_batch(tmp_path, capsys):
    import time

    from axfusion.files import CampaignLockedError, campaign_lock

    pool, measured, _ = _write_lab(tmp_path)
    campaign = tmp_path / "shared.campaign.json"
    first = _fast_campaign_run(pool, measured, tmp_path / "a.csv", "--campaign", str(campaign), "--wait", "60")
    try:
        deadline = time.time() + 120
        while True:  # until the first run holds the lock
            assert first.poll() is None, first.communicate()
            assert time.time() < deadline
            try:
                with campaign_lock(campaign):
                    pass
            except CampaignLockedError:
                break
            time.sleep(0.05)
        err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "b.csv", "--campaign", str(campaign)))
        assert "in use by another run" in err and "shared.campaign.json.lock" in err and "--wait" in err
        assert err.count("\n") == 1 and not (tmp_path / "b.csv").exists()
    finally:
        out, errors = first.communicate(timeout=300)
    assert first.returncode == 0, errors
    assert _cli(_suggest_cmd(pool, measured, tmp_path / "b.csv", "--campaign", str(campaign))) == 0
    a = set(pd.read_csv(tmp_path / "a.csv")[ROW_ID_COLUMN])
    b = set(pd.read_csv(tmp_path / "b.csv")[ROW_ID_COLUMN])
    assert not a & b
    assert set(json.loads(campaign.read_text())["pending"]) == a | b


def test_output_problems_are_refused_before_the_fit(tmp_path, capsys, monkeypatch):
    from axfusion.campaign import FusionOptimizer

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(FusionOptimizer, "suggest", no_fit)
    pool, measured, _ = _write_lab(tmp_path)
    err = _error(capsys, _suggest_cmd(pool, measured, pool / "next.csv"))
    assert "pool.csv is a file, not a folder" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", "--campaign", str(pool / "c.json")))
    assert "The campaign file" in err and "is a file, not a folder" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path))
    assert "is a directory" in err
    for wait in ("-1", "nan", "inf"):
        err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", "--wait", wait))
        assert "--wait must be 0 or more seconds" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", "--seed", str(10**22)))
    assert "seed must lie between" in err


def test_a_full_disk_leaves_no_partial_file_and_the_campaign_unchanged(tmp_path, capsys, monkeypatch):
    pool, measured, _ = _write_lab(tmp_path)
    out, campaign = tmp_path / "n.csv", tmp_path / "n.campaign.json"
    assert _cli(_suggest_cmd(pool, measured, out)) == 0
    saved, first = campaign.read_bytes(), out.read_bytes()
    real = pd.DataFrame.to_csv

    def full_disk(self, fh=None, *args, **kwargs):
        if hasattr(fh, "write"):
            fh.write("row_id,util")
            raise OSError(28, "No space left on device")
        return real(self, fh, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "m.csv", "--campaign", str(campaign)))
    assert "No space left on device" in err and "Nothing was written" in err
    assert not (tmp_path / "m.csv").exists() and campaign.read_bytes() == saved
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--force"))
    assert out.read_bytes() == first and campaign.read_bytes() == saved
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_campaign_that_cannot_be_saved_takes_the_suggestions_back(tmp_path, capsys, monkeypatch):
    import axfusion.campaign.optimizer as facade

    pool, measured, _ = _write_lab(tmp_path)
    out, campaign = tmp_path / "n.csv", tmp_path / "n.campaign.json"
    assert _cli(_suggest_cmd(pool, measured, out)) == 0
    saved, first = campaign.read_bytes(), out.read_bytes()

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(facade, "_atomic_write_json", read_only)
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "m.csv", "--campaign", str(campaign)))
    assert "Cannot save the campaign file" in err and "Permission denied" in err
    assert not (tmp_path / "m.csv").exists() and campaign.read_bytes() == saved
    _error(capsys, _suggest_cmd(pool, measured, out, "--force"))
    assert out.read_bytes() == first and campaign.read_bytes() == saved  # the old --out is restored


def _pool_with(tmp_path, name, values):
    pool, measured, frame = _write_lab(tmp_path)
    table = pd.read_csv(pool)
    table.insert(0, name, values)
    table.to_csv(pool, index=False)
    return pool, measured, frame


def test_id_like_pool_columns_are_refused_with_the_fix_or_used_as_ids(tmp_path, capsys):
    for name, values in (("sample_no", np.arange(1, 201)), ("id", np.arange(1000, 1200)),
                         ("Unnamed: 0", np.arange(200)), ("run", np.arange(5, 205)[::-1])):
        pool, measured, _ = _pool_with(tmp_path, name, values)
        err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv"))
        assert f"column {name!r} looks like a row id" in err and f"--id-column {name!r}" in err
        assert err.count("\n") == 1
    pool, measured, frame = _pool_with(tmp_path, "sample_no", np.arange(1, 201))
    table = pd.read_csv(measured)
    table.insert(0, "sample_no", np.arange(0, 200, 10) + 1)
    table.drop(columns=FEATURES).to_csv(measured, index=False)
    assert _cli(_suggest_cmd(pool, measured, tmp_path / "n.csv", "--id-column", "sample_no")) == 0
    assert "sample_no" in pd.read_csv(tmp_path / "n.csv").columns
    # a non-consecutive integer feature with an ordinary name stays a feature
    pool, measured, _ = _pool_with(tmp_path, "n_layers", np.tile(np.arange(1, 11), 20))
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "m.csv"))
    assert "lacks the feature column(s) ['n_layers']" in err  # matched as a feature, not refused as an id


def test_a_suggestions_file_given_as_the_pool_is_named_as_such(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    assert _cli(_suggest_cmd(pool, measured, tmp_path / "n.csv")) == 0
    capsys.readouterr()
    err = _error(capsys, _suggest_cmd(tmp_path / "n.csv", measured, tmp_path / "m.csv"))
    assert "The pool file n.csv has a 'row_id' column" in err and "suggestions file" in err
    assert "measured.csv" not in err


def test_a_row_id_that_contradicts_the_rows_features_is_an_error(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    table = pd.read_csv(measured)
    table.insert(0, ROW_ID_COLUMN, np.arange(0, 200, 10))
    table.to_csv(measured, index=False)
    assert _cli(_suggest_cmd(pool, measured, tmp_path / "n.csv")) == 0
    table.loc[3, ROW_ID_COLUMN] = 7
    table.to_csv(measured, index=False)
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "m.csv"))
    assert "row 3 (line 5) gives row_id 7, but its feature 'a' is" in err and "pool row 7 has" in err


def test_files_pandas_would_misread_are_refused(tmp_path, capsys):
    pool, measured, frame = _write_lab(tmp_path)
    pd.read_csv(pool).to_csv(tmp_path / "semi.csv", sep=";", decimal=",", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "semi.csv", measured, tmp_path / "n.csv"))
    assert "separated by ';'" in err and "'.' as the decimal point" in err
    pd.read_csv(measured).to_csv(tmp_path / "msemi.csv", sep=";", decimal=",", index=False)
    err = _error(capsys, _suggest_cmd(pool, tmp_path / "msemi.csv", tmp_path / "n.csv"))
    assert "measured file msemi.csv" in err and "separated by ';'" in err
    text = pool.read_text().splitlines()
    (tmp_path / "dup.csv").write_text("\n".join(["a,b,a,d", *text[1:]]) + "\n")
    err = _error(capsys, _suggest_cmd(tmp_path / "dup.csv", measured, tmp_path / "n.csv"))
    assert "duplicated column names ['a']" in err


def test_values_beyond_float_range_are_named_by_column(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    table = pd.read_csv(pool)
    table["b"] *= 1e300
    table.to_csv(tmp_path / "huge.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "huge.csv", measured, tmp_path / "n.csv"))
    assert "beyond 1e+100 in magnitude in feature column(s) ['b']" in err
    m = pd.read_csv(measured)
    m["Tc"] *= 1e160
    m.to_csv(tmp_path / "bigy.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool, tmp_path / "bigy.csv", tmp_path / "n.csv"))
    assert "Target column 'Tc' of bigy.csv has values beyond 1e+100" in err


def test_a_pool_with_nothing_new_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(size=(20, 4)), columns=FEATURES)
    pd.concat([X, X]).to_csv(tmp_path / "pool.csv", index=False)
    m = X.copy()
    m["Tc"] = _truth(X.to_numpy())
    m.to_csv(tmp_path / "measured.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "pool.csv", tmp_path / "measured.csv", tmp_path / "n.csv", batch=2))
    assert "No batch of 2 rows can be suggested from the pool file pool.csv" in err and "Ask for fewer rows" in err
    assert not (tmp_path / "n.csv").exists() and not (tmp_path / "n.campaign.json").exists()
