r"""Matching measured rows to the pool and reading their targets (:mod:`axfusion.suggest.measured`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import ROW_ID_COLUMN, SuggestInputError, SuggestWarning, suggest_next

from .conftest import FEATURES, _error, _suggest_cmd, _truth, _write_lab


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


def test_rounded_feature_rows_match_with_a_warning(tmp_path):
    pool, _, frame = _write_lab(tmp_path)
    rows = np.arange(0, 200, 10)
    rounded = frame[FEATURES].iloc[rows].copy()
    rounded["Tc"] = _truth(frame[FEATURES].to_numpy())[rows]
    path = tmp_path / "rounded.csv"
    rounded.to_csv(path, index=False, float_format="%.13g")  # as a spreadsheet might keep them
    with (
        pytest.warns(SuggestWarning, match=r"20 measured rows of rounded.csv .* match a pool row only up to a rel"),
        pytest.raises(SuggestInputError, match="180 rows are left"),
    ):
        suggest_next(pool, path, "Tc", batch_size=181)
    # ... but values that differ by more than rounding do not match
    rounded.iloc[2, 1] *= 1 + 1e-8
    rounded.to_csv(path, index=False, float_format="%.13g")
    no_match = r"1 measured row of rounded.csv matches no pool row \(row 2 \(line 4\)\)"
    with pytest.raises(SuggestInputError, match=no_match):
        suggest_next(pool, path, "Tc", batch_size=5)
