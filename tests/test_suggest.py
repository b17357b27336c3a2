r"""The real-lab ``suggest`` workflow: CLI handler and :func:`axfusion.suggest.suggest_next`."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import (
    ROW_ID_COLUMN,
    SuggestInputError,
    SuggestWarning,
    add_suggest_parser,
    default_campaign_path,
    row_hashes,
    suggest_next,
)

FAST = ["--families", "ridge", "knn", "lightgbm", "--members", "3", "--jobs", "1"]
FAST_OPTIONS = {"families": ("ridge", "knn", "lightgbm"), "n_members": 3, "n_jobs": 1}
FEATURES = ["a", "b", "c", "d"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Magpie tables are cached on disk; keep the tests' cache out of the user's home.
    monkeypatch.setenv("AXFUSION_CACHE", str(tmp_path_factory.getbasetemp() / "axfusion-cache"))


def _truth(X: np.ndarray) -> np.ndarray:
    return np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2


def _pool_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.uniform(size=(n, 4)), columns=FEATURES)
    frame.insert(0, "id", [f"S{i:03d}" for i in range(n)])
    return frame


def _write_lab(tmp_path: Path, *, with_id_in_pool: bool = False, measured_ids: bool = False) -> tuple[Path, Path, pd.DataFrame]:
    """pool.csv (200 x 4, optionally with an id column) and measured.csv (20 rows, one failed)."""
    frame = _pool_frame()
    pool = frame if with_id_in_pool else frame[FEATURES]
    pool_path = tmp_path / "pool.csv"
    pool.to_csv(pool_path, index=False)
    rows = np.arange(0, 200, 10)
    measured = frame.iloc[rows][["id"] if measured_ids else FEATURES].copy()
    measured["Tc"] = _truth(frame[FEATURES].to_numpy())[rows]
    measured.iloc[3, measured.columns.get_loc("Tc")] = np.nan  # a failed measurement
    measured_path = tmp_path / "measured.csv"
    measured.to_csv(measured_path, index=False)
    return pool_path, measured_path, frame


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="axfusion")
    sub = parser.add_subparsers(dest="command", required=True)
    add_suggest_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def _suggest_cmd(pool: Path, measured: Path, out: Path, *extra: str, batch: int = 10) -> list[str]:
    return ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tc",
            "--batch", str(batch), "--out", str(out), *extra, *FAST]


def _error(capsys, argv: list[str]) -> str:
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") or "\nerror: " in err
    return err


# --------------------------------------------------------------------------- end to end
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


def test_python_api_with_id_column_dataframes_and_directions(tmp_path):
    frame = _pool_frame()
    y = _truth(frame[FEATURES].to_numpy())
    rows = np.arange(0, 200, 8)
    measured = pd.DataFrame({"id": frame["id"].iloc[rows].to_numpy(), "Tc": y[rows]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", SuggestWarning)  # nothing to warn about
        table = suggest_next(frame, measured, "Tc", directions="minimize", batch_size=6, id_column="id",
                             seed=1, **FAST_OPTIONS)
    assert list(table.columns[:3]) == ["id", ROW_ID_COLUMN, "iteration"]
    assert len(table) == 6
    pos = table[ROW_ID_COLUMN].to_numpy()
    assert (frame["id"].to_numpy()[pos] == table["id"].to_numpy()).all()
    assert not set(pos.tolist()) & set(rows.tolist())
    assert y[pos].mean() < np.median(y)  # minimised
    # deterministic
    again = suggest_next(frame, measured, "Tc", directions="minimize", batch_size=6, id_column="id",
                         seed=1, **FAST_OPTIONS)
    pd.testing.assert_frame_equal(table, again)


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


def test_formula_pool_featurised_with_magpie(tmp_path, capsys):
    metals = ["Fe", "Co", "Ni", "Mn", "Cu", "Zn", "Ti"]
    anions = ["O", "S", "N", "Cl"]
    formulas = [f"{m}{1 + i % 2}{a}{1 + (i + j) % 3}" for i, m in enumerate(metals) for j, a in enumerate(anions)]
    formulas += ["Fe2O3", "NaCl", "Al2O3", "SiO2", "GaAs", "ZnO", "MgO", "TiO2"]
    pool = pd.DataFrame({"formula": formulas, "T_anneal": np.linspace(300.0, 900.0, len(formulas))})
    pool_path = tmp_path / "pool.csv"
    pool.to_csv(pool_path, index=False)
    rng = np.random.default_rng(3)
    rows = rng.choice(len(formulas), size=10, replace=False)
    measured = pool.iloc[rows].copy()  # matched by formula + T_anneal (feature rows)
    measured["gap"] = rng.uniform(0.0, 3.0, size=rows.size)
    measured_path = tmp_path / "measured.csv"
    measured.to_csv(measured_path, index=False)
    out = tmp_path / "next.csv"
    argv = ["suggest", "--pool", str(pool_path), "--measured", str(measured_path), "--target", "gap",
            "--value", "1.4", "--formula-column", "formula", "--batch", "3", "--out", str(out), *FAST]
    assert _cli(argv) == 0
    assert "133 features" in capsys.readouterr().out  # 132 Magpie columns + T_anneal
    nxt = pd.read_csv(out)
    assert list(nxt.columns[:3]) == [ROW_ID_COLUMN, "formula", "iteration"]
    assert set(nxt["formula"]) <= set(formulas) and not set(nxt[ROW_ID_COLUMN]) & set(rows.tolist())
    assert (pool["formula"].to_numpy()[nxt[ROW_ID_COLUMN]] == nxt["formula"].to_numpy()).all()

    # Measured rows may mix row_id and formula rows; an unknown formula is named with its own row.
    mixed = pd.DataFrame({ROW_ID_COLUMN: [0, 1, np.nan, np.nan, np.nan],
                          "formula": [formulas[0], formulas[1], formulas[2], formulas[3], "Qz3"],
                          "T_anneal": pool["T_anneal"].iloc[:5].to_numpy(), "gap": [1.0, 2.0, 1.5, 0.5, 1.2]})
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    err = _error(capsys, ["suggest", "--pool", str(pool_path), "--measured", str(tmp_path / "mixed.csv"),
                          "--target", "gap", "--formula-column", "formula", "--out", str(tmp_path / "m.csv")])
    assert "1 formula in the measured file mixed.csv cannot be parsed" in err and "'Qz3' (row 4 (line 6))" in err

    # A formula that does not parse is named, with its row.
    bad = pool.copy()
    bad.loc[5, "formula"] = "Xq2O3"
    bad_path = tmp_path / "bad_pool.csv"
    bad.to_csv(bad_path, index=False)
    err = _error(capsys, ["suggest", "--pool", str(bad_path), "--measured", str(measured_path), "--target", "gap",
                          "--formula-column", "formula", "--out", str(tmp_path / "b.csv")])
    assert "'Xq2O3'" in err and "row 5 (line 7)" in err and "cannot be parsed" in err


# --------------------------------------------------------------------------- bad input
def test_unknown_columns_list_the_available_ones(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    out = tmp_path / "n.csv"
    err = _error(capsys, ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tcc",
                          "--out", str(out)])
    assert "Unknown target column 'Tcc' in measured.csv" in err and "Did you mean ['Tc']" in err
    assert "Available columns: ['a', 'b', 'c', 'd', 'Tc']" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--id-column", "sample"))
    assert "Unknown id column 'sample' in pool.csv" in err and "['a', 'b', 'c', 'd']" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--features", "a", "e"))
    assert "Unknown feature column 'e'" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--formula-column", "formula"))
    assert "Unknown formula column 'formula'" in err
    assert not out.exists() and not default_campaign_path(out).exists()


def test_measured_rows_not_in_the_pool_are_named(tmp_path, capsys):
    pool, _, frame = _write_lab(tmp_path, with_id_in_pool=True)
    y = _truth(frame[FEATURES].to_numpy())
    by_id = pd.DataFrame({"id": ["S000", "S010", "X999", "S020", "S030", "S040"], "Tc": y[:6]})
    path = tmp_path / "m_ids.csv"
    by_id.to_csv(path, index=False)
    err = _error(capsys, _suggest_cmd(pool, path, tmp_path / "n.csv", "--id-column", "id"))
    assert "'X999' (row 2 (line 4))" in err and "not in the pool" in err

    feats = frame[FEATURES].iloc[[0, 10, 20, 30, 40, 50]].copy()
    feats.iloc[4, 0] = 0.123456  # no such pool row
    feats["Tc"] = y[:6]
    path = tmp_path / "m_feats.csv"
    feats.to_csv(path, index=False)
    err = _error(capsys, _suggest_cmd(pool, path, tmp_path / "n.csv", "--features", *FEATURES))
    assert "1 measured row of m_feats.csv matches no pool row (row 4 (line 6))" in err
    assert "{'a': 0.123456, 'b': " in err

    pos = pd.DataFrame({ROW_ID_COLUMN: [0, 1, 2, 3, 250], "Tc": y[:5]})
    path = tmp_path / "m_pos.csv"
    pos.to_csv(path, index=False)
    err = _error(capsys, _suggest_cmd(pool, path, tmp_path / "n.csv", "--features", *FEATURES))
    assert "250" in err and "outside the pool, whose rows are 0..199" in err

    missing = pd.DataFrame({"a": [0.1], "Tc": [1.0]})
    path = tmp_path / "m_cols.csv"
    missing.to_csv(path, index=False)
    err = _error(capsys, _suggest_cmd(pool, path, tmp_path / "n.csv", "--features", *FEATURES))
    assert "lacks the feature column(s) ['b', 'c', 'd']" in err


def test_targets_empty_column_non_numeric_and_too_few(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    m = pd.read_csv(measured)
    out = tmp_path / "n.csv"
    empty = m.assign(Tc=np.nan)
    empty.to_csv(tmp_path / "empty.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool, tmp_path / "empty.csv", out))
    assert "Target column 'Tc' of empty.csv is empty: none of its 20 rows has a value" in err

    words = m.astype({"Tc": object})
    words.loc[7, "Tc"] = "broken"
    words.to_csv(tmp_path / "words.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool, tmp_path / "words.csv", out))
    assert "value 'broken' in row 7 (line 9)" in err and "Leave the cell empty" in err

    few = m.iloc[:5]  # one of them failed
    few.to_csv(tmp_path / "few.csv", index=False)
    err = _error(capsys, _suggest_cmd(pool, tmp_path / "few.csv", out))
    assert "at least 5 successful measurements" in err and "there are 4 (and 1 failed measurement)" in err


def test_batch_larger_than_remaining_pool_names_both_numbers(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", batch=181))
    assert "batch of 181 rows is larger than the remaining pool: 180 rows are left" in err
    assert "(200 pool rows - 20 measured - 0 pending)" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", batch=0))
    assert "at least 1" in err


def test_duplicate_pool_ids_and_repeated_measurements(tmp_path, capsys):
    frame = _pool_frame(50)
    frame.loc[7, "id"] = "S003"
    frame.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ["S001"], "Tc": [1.0]}).to_csv(tmp_path / "m.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "pool.csv", tmp_path / "m.csv", tmp_path / "n.csv",
                                      "--id-column", "id"))
    assert "duplicated ids: 'S003' (row 3 (line 5), row 7 (line 9))" in err

    frame = _pool_frame(50)
    frame.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ["S001", "S002", "S001"], "Tc": [1.0, 2.0, 1.5]}).to_csv(tmp_path / "m.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "pool.csv", tmp_path / "m.csv", tmp_path / "n.csv",
                                      "--id-column", "id"))
    assert "measures the same pool row (id 'S001') more than once: row 0 (line 2), row 2 (line 4)" in err


def test_campaign_of_another_pool_is_refused(tmp_path, capsys):
    pool, measured, frame = _write_lab(tmp_path)
    out = tmp_path / "next.csv"
    assert _cli(_suggest_cmd(pool, measured, out, batch=3)) == 0
    capsys.readouterr()
    other = frame[FEATURES].copy()
    other.iloc[::7, 1] += 1.0  # another pool with the same shape
    # keep the measured rows present so that only the campaign check can fail
    other.iloc[np.arange(0, 200, 10)] = frame[FEATURES].iloc[np.arange(0, 200, 10)].to_numpy()
    other.to_csv(tmp_path / "other.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "other.csv", measured, tmp_path / "o.csv",
                                      "--campaign", str(default_campaign_path(out))))
    assert "belongs to another pool" in err and "200 rows x 4 features with different values" in err
    (tmp_path / "junk.json").write_text("not json")
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "o.csv", "--campaign", str(tmp_path / "junk.json")))
    assert "junk.json is not an axfusion campaign file" in err


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


def test_resumed_campaign_warns_about_ignored_options(tmp_path):
    pool, measured, _ = _write_lab(tmp_path)
    campaign = tmp_path / "c.json"
    with pytest.warns(SuggestWarning, match=r"'Tc' in row 3 \(line 5\)\): treated as failed measurements"):
        suggest_next(pool, measured, "Tc", batch_size=3, campaign=campaign, **FAST_OPTIONS)
    assert json.loads(campaign.read_text())["iteration"] == 1
    options = dict(FAST_OPTIONS, n_members=5)
    with pytest.warns(SuggestWarning, match="ignored: {'n_members': 5}"):
        with pytest.raises(SuggestInputError, match="larger than the remaining pool"):
            suggest_next(pool, measured, "Tc", batch_size=500, campaign=campaign, **options)


# --------------------------------------------------------------------------- row matching
def test_row_hashes_match_equal_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    h = row_hashes(X)
    assert len(np.unique(h)) == 500
    np.testing.assert_array_equal(row_hashes(X[::-1].copy())[::-1], h)
    np.testing.assert_array_equal(row_hashes(np.asfortranarray(X)), h)
    Z = X.copy()
    Z[0, 0] = np.nextafter(Z[0, 0], np.inf)
    assert row_hashes(Z)[0] != h[0] and (row_hashes(Z)[1:] == h[1:]).all()
    assert row_hashes(np.array([[0.0, 1.0]]))[0] == row_hashes(np.array([[-0.0, 1.0]]))[0]
    # column order matters
    assert row_hashes(np.array([[1.0, 2.0]]))[0] != row_hashes(np.array([[2.0, 1.0]]))[0]


def test_rounded_feature_rows_match_with_a_warning(tmp_path):
    pool, _, frame = _write_lab(tmp_path)
    rows = np.arange(0, 200, 10)
    rounded = frame[FEATURES].iloc[rows].copy()
    rounded["Tc"] = _truth(frame[FEATURES].to_numpy())[rows]
    path = tmp_path / "rounded.csv"
    rounded.to_csv(path, index=False, float_format="%.13g")  # as a spreadsheet might keep them
    with pytest.warns(SuggestWarning, match=r"20 measured rows of rounded.csv .* match a pool row only up to a rel"):
        with pytest.raises(SuggestInputError, match="180 rows are left"):
            suggest_next(pool, path, "Tc", batch_size=181)
    # ... but values that differ by more than rounding do not match
    rounded.iloc[2, 1] *= 1 + 1e-8
    rounded.to_csv(path, index=False, float_format="%.13g")
    with pytest.raises(SuggestInputError, match=r"1 measured row of rounded.csv matches no pool row \(row 2 \(line 4\)\)"):
        suggest_next(pool, path, "Tc", batch_size=5)


def test_unknown_family_and_bad_options(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    err = _error(capsys, ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tc",
                          "--out", str(tmp_path / "n.csv"), "--families", "ridge", "forest"])
    assert "Unknown surrogate family name(s) ['forest']" in err and "'lightgbm'" in err
    with pytest.raises(SuggestInputError, match="n_members must be a whole number of at least 2"):
        suggest_next(pool, measured, "Tc", n_members=1)
