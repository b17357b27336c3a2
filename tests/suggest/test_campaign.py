r"""One suggest call and its campaign: :func:`axfusion.suggest.suggest_next` (:mod:`axfusion.suggest.campaign`)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from axfusion.suggest import (
    ROW_ID_COLUMN,
    SuggestInputError,
    SuggestWarning,
    default_campaign_path,
    suggest_next,
)

from .conftest import (
    FAST_OPTIONS,
    FEATURES,
    _cli,
    _error,
    _pool_frame,
    _suggest_cmd,
    _truth,
    _write_lab,
)


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


def test_batch_larger_than_remaining_pool_names_both_numbers(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", batch=181))
    assert "batch of 181 rows is larger than the remaining pool: 180 rows are left" in err
    assert "(200 pool rows - 20 measured - 0 pending)" in err
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "n.csv", batch=0))
    assert "at least 1" in err


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
    assert "belongs to another pool" in err and "rows 0-199 differ" in err and "200 rows x 4 features" in err
    (tmp_path / "junk.json").write_text("not json")
    err = _error(capsys, _suggest_cmd(pool, measured, tmp_path / "o.csv", "--campaign", str(tmp_path / "junk.json")))
    assert "junk.json is not an axfusion campaign file" in err


def test_resumed_campaign_warns_about_ignored_options(tmp_path):
    pool, measured, _ = _write_lab(tmp_path)
    campaign = tmp_path / "c.json"
    with pytest.warns(SuggestWarning, match=r"'Tc' in row 3 \(line 5\)\): treated as failed measurements"):
        suggest_next(pool, measured, "Tc", batch_size=3, campaign=campaign, **FAST_OPTIONS)
    assert json.loads(campaign.read_text())["iteration"] == 1
    options = dict(FAST_OPTIONS, n_members=5)
    with (
        pytest.warns(SuggestWarning, match="ignored: {'n_members': 5}"),
        pytest.raises(SuggestInputError, match="larger than the remaining pool"),
    ):
        suggest_next(pool, measured, "Tc", batch_size=500, campaign=campaign, **options)


def test_unknown_family_and_bad_options(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    err = _error(capsys, ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tc",
                          "--out", str(tmp_path / "n.csv"), "--families", "ridge", "forest"])
    assert "Unknown surrogate family name(s) ['forest']" in err and "'lightgbm'" in err
    with pytest.raises(SuggestInputError, match="n_members must be a whole number of at least 2"):
        suggest_next(pool, measured, "Tc", n_members=1)


def test_python_api_refuses_a_numeric_id_column_it_would_model(tmp_path):
    frame = _pool_frame()[FEATURES]
    frame.insert(0, "ID", np.arange(5000, 5200))
    y = _truth(frame[FEATURES].to_numpy())
    rows = np.arange(0, 200, 8)
    measured = frame.iloc[rows].copy()
    measured["Tc"] = y[rows]
    with pytest.raises(SuggestInputError, match=r"The pool DataFrame column 'ID' looks like a row id.*id_column='ID'"):
        suggest_next(frame, measured, "Tc", batch_size=3, **FAST_OPTIONS)
    table = suggest_next(frame, measured[["ID", "Tc"]], "Tc", batch_size=3, id_column="ID", **FAST_OPTIONS)
    assert table["ID"].isin(frame["ID"]).all() and not table["ID"].isin(measured["ID"]).any()


def test_python_api_holds_the_campaign_lock(tmp_path):
    import os
    import subprocess
    import sys

    from axfusion.files import campaign_lock

    pool, measured, _ = _write_lab(tmp_path)
    campaign = tmp_path / "c.campaign.json"
    hold = "import sys, time\nfrom axfusion.files import campaign_lock\nwith campaign_lock(sys.argv[1]):\n" \
           "    print('held', flush=True)\n    time.sleep(30)\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-c", hold, str(campaign)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(SuggestInputError, match="in use by another run"):
            suggest_next(pool, measured, "Tc", batch_size=3, campaign=campaign, **FAST_OPTIONS)
        assert not campaign.exists()
    finally:
        proc.kill()
        proc.wait()
    with campaign_lock(campaign):
        pass


def test_python_api_argument_types_are_named(tmp_path):
    pool, measured, _ = _write_lab(tmp_path)
    with pytest.raises(TypeError, match="campaign must be a file path or None; got int"):
        suggest_next(pool, measured, "Tc", campaign=123, **FAST_OPTIONS)
    with pytest.raises(TypeError, match="targets must be a column name or a list of column names; got 5"):
        suggest_next(pool, measured, 5, **FAST_OPTIONS)
    with pytest.raises(TypeError, match="pool must be a file path or a pandas DataFrame; got list"):
        suggest_next([[1.0, 2.0]], measured, "Tc", **FAST_OPTIONS)
    with pytest.raises(SuggestInputError, match="seed must be a whole number; got 1.5"):
        suggest_next(pool, measured, "Tc", seed=1.5, **FAST_OPTIONS)
    with pytest.raises(SuggestInputError, match="batch size must be a whole number"):
        suggest_next(pool, measured, "Tc", batch_size=2.0, **FAST_OPTIONS)
