r"""Property-based bad-input tests of ``axfusion suggest`` and of campaign files (issue 22).

Hypothesis generates pools, measurement files and campaign files with random corruptions. Each
example must end in a clear refusal -- exit status 2, one ``error: ...`` line (after any
``warning: ...`` lines), no file written or changed -- or be accepted with exactly the
measurements the files hold: never a traceback, never a silent change. The fit is not under test:
``FusionOptimizer.suggest`` is replaced by a probe that stops the call once the input has been
checked and observed, so the whole suite runs in well under two minutes.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axfusion.campaign import CampaignFileError, CampaignMismatchError, FusionOptimizer
from axfusion.campaign.state import CampaignState

from .conftest import _cli

N_POOL, N_MEASURED = 60, 12
COLUMNS = ["a", "b", "c"]
FAST = ["--families", "ridge", "--members", "2", "--jobs", "1"]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class _Reached(Exception):
    r"""The call got past every input check to the fit; carries the optimiser."""

    def __init__(self, opt: FusionOptimizer) -> None:
        super().__init__("reached the fit")
        self.opt = opt


def _probe(self: FusionOptimizer, n: Any = None) -> None:
    raise _Reached(self)


@pytest.fixture(autouse=True)
def _no_fit(monkeypatch):
    monkeypatch.setattr(FusionOptimizer, "suggest", _probe)


def _lab() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    pool = pd.DataFrame(rng.uniform(size=(N_POOL, len(COLUMNS))), columns=COLUMNS)
    rows = np.arange(0, N_POOL, N_POOL // N_MEASURED)
    measured = pool.iloc[rows].copy()
    measured["Tc"] = np.sin(4 * measured["a"]) + measured["b"]
    return pool, measured.reset_index(drop=True)


def _run(folder: Path, pool_text: str, measured_text: str, *extra: str) -> tuple[str, Any]:
    r"""``("accepted", optimiser)`` or ``("refused", error line)``; asserts the refusal's form and that
    nothing was written."""
    (folder / "pool.csv").write_text(pool_text)
    (folder / "measured.csv").write_text(measured_text)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    argv = ["suggest", "--pool", str(folder / "pool.csv"), "--measured", str(folder / "measured.csv"),
            "--target", "Tc", "--batch", "3", "--out", str(folder / "next.csv"), *extra, *FAST]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rc = _cli(argv)
        except _Reached as reached:
            return "accepted", reached.opt
    lines = err.getvalue().splitlines()
    assert rc == 2, err.getvalue()
    assert lines and lines[-1].startswith("error: ") and len(lines[-1]) > 20, lines
    assert all(line.startswith("warning: ") for line in lines[:-1]), lines
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before  # nothing written, nothing changed
    return "refused", lines[-1]


def _expected(pool: pd.DataFrame, measured: pd.DataFrame) -> dict[int, float]:
    r"""Pool position -> measured value, matching rows by their features (first free row)."""
    taken: set[int] = set()
    out = {}
    values = pool[COLUMNS].to_numpy()
    for _, row in measured.iterrows():
        hits = [int(i) for i in np.flatnonzero((values == row[COLUMNS].to_numpy(dtype=float)).all(axis=1))]
        pos = next(i for i in hits if i not in taken)
        taken.add(pos)
        out[pos] = float(row["Tc"])
    return out


def _observed(opt: FusionOptimizer) -> dict[int, float]:
    return {int(o.key): (np.nan if o.failed else float(o.y[0])) for o in opt.observations}


POOL_CORRUPTIONS = st.sampled_from([
    "none", "nan_cell", "text_cell", "id_column", "duplicate_header", "semicolons", "huge_column", "truncate",
    "constant", "shuffle", "drop_column", "extra_text_column", "row_id_column", "empty", "header_only",
])

MUST_REFUSE_POOL = {
    "nan_cell", "text_cell", "id_column", "duplicate_header", "semicolons", "huge_column",
    "extra_text_column", "row_id_column", "empty", "header_only",
}


@PROPERTY_SETTINGS
@given(kind=POOL_CORRUPTIONS, seed=st.integers(0, 2**16), id_name=st.sampled_from(
    ["id", "ID", "sample_no", "Unnamed: 0", "material_id", "index", "sampleNo"]))
def test_corrupted_pools_are_refused_or_read_exactly(kind, seed, id_name):
    rng = np.random.default_rng(seed)
    pool, measured = _lab()
    i, j = int(rng.integers(N_POOL)), int(rng.integers(len(COLUMNS)))
    text = None
    if kind == "nan_cell":
        pool = pool.astype(object)
        pool.iat[i, j] = np.nan
    elif kind == "text_cell":
        pool = pool.astype(object)
        pool.iat[i, j] = str(rng.choice(["N/A", "abc", "1,5", "-"]))
    elif kind == "id_column":
        pool.insert(int(rng.integers(len(COLUMNS) + 1)), id_name, rng.permutation(N_POOL) + int(rng.integers(3)))
    elif kind == "duplicate_header":
        lines = pool.to_csv(index=False).splitlines()
        names = lines[0].split(",")
        names[(j + 1) % len(names)] = names[j]
        text = "\n".join([",".join(names), *lines[1:]]) + "\n"
    elif kind == "semicolons":
        text = pool.to_csv(index=False, sep=";", decimal=",")
    elif kind == "huge_column":
        pool[COLUMNS[j]] = pool[COLUMNS[j]] * 10.0 ** int(rng.integers(101, 308))
    elif kind == "truncate":
        full = pool.to_csv(index=False)
        text = full[: int(rng.integers(1, len(full)))]
    elif kind == "constant":
        pool[COLUMNS] = 0.5
    elif kind == "shuffle":
        pool = pool.iloc[rng.permutation(N_POOL)].reset_index(drop=True)
    elif kind == "drop_column":
        pool = pool.drop(columns=COLUMNS[j])
    elif kind == "extra_text_column":
        pool["note"] = "x"
    elif kind == "row_id_column":
        pool.insert(0, "row_id", np.arange(N_POOL))
    elif kind == "empty":
        text = ""
    elif kind == "header_only":
        text = ",".join(COLUMNS) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        outcome, detail = _run(Path(folder), text if text is not None else pool.to_csv(index=False),
                               measured.to_csv(index=False))
    if kind in MUST_REFUSE_POOL:
        assert outcome == "refused", kind
    if outcome == "accepted":
        assert kind in ("none", "shuffle", "truncate", "constant", "drop_column"), kind
        if kind == "drop_column":  # the measured rows still carry the column; they match on the others
            assert _observed(detail) == _expected(pool.assign(**{COLUMNS[j]: _lab()[0][COLUMNS[j]]}), measured)
        elif kind == "truncate":
            # a cut inside the last rows may leave a valid, shorter pool: the measured rows must match it exactly
            shorter = pd.read_csv(io.StringIO(text), float_precision="round_trip")
            assert _observed(detail) == _expected(shorter, measured)
        else:
            assert _observed(detail) == _expected(pool, measured)


MEASURED_CORRUPTIONS = st.sampled_from([
    "none", "target_text", "target_na", "target_inf", "target_huge", "target_blank", "target_bool", "row_id_out",
    "row_id_negative", "row_id_fraction", "row_id_contradicts", "row_id_agrees", "repeated_row", "unknown_row",
    "missing_feature", "extra_column", "rounded", "semicolons", "no_rows", "duplicate_header",
])

MUST_REFUSE_MEASURED = {
    "target_text", "target_inf", "target_huge", "target_bool", "row_id_out", "row_id_negative", "row_id_fraction",
    "row_id_contradicts", "repeated_row", "unknown_row", "missing_feature", "semicolons", "no_rows",
    "duplicate_header",
}


@PROPERTY_SETTINGS
@given(kind=MEASURED_CORRUPTIONS, seed=st.integers(0, 2**16))
def test_corrupted_measurement_files_are_refused_or_read_exactly(kind, seed):
    rng = np.random.default_rng(seed)
    pool, measured = _lab()
    i = int(rng.integers(N_MEASURED))
    text = None
    positions = np.arange(0, N_POOL, N_POOL // N_MEASURED)
    if kind == "target_text":
        measured["Tc"] = measured["Tc"].astype(object)
        measured.at[i, "Tc"] = str(rng.choice(["high", "1,5", "?", "12 K"]))
    elif kind == "target_na":
        measured["Tc"] = measured["Tc"].astype(object)
        measured.at[i, "Tc"] = "N/A"
    elif kind == "target_inf":
        measured.at[i, "Tc"] = np.inf
    elif kind == "target_huge":
        measured.at[i, "Tc"] = 10.0 ** int(rng.integers(101, 308))
    elif kind == "target_blank":
        measured.at[i, "Tc"] = np.nan
    elif kind == "target_bool":
        measured["Tc"] = measured["Tc"] > 0.5
    elif kind.startswith("row_id"):
        ids: list[Any] = positions.tolist()
        if kind == "row_id_out":
            ids[i] = N_POOL + int(rng.integers(0, 1000))
        elif kind == "row_id_negative":
            ids[i] = -int(rng.integers(1, 10))
        elif kind == "row_id_fraction":
            ids[i] = positions[i] + 0.5
        elif kind == "row_id_contradicts":
            ids[i] = int((positions[i] + 1 + rng.integers(N_POOL - 1)) % N_POOL)
        measured.insert(0, "row_id", ids)
    elif kind == "repeated_row":
        measured = pd.concat([measured, measured.iloc[[i]]], ignore_index=True)
    elif kind == "unknown_row":
        measured.at[i, "a"] = 2.0
    elif kind == "missing_feature":
        measured = measured.drop(columns=str(rng.choice(COLUMNS)))
    elif kind == "extra_column":
        measured["operator"] = "ann"
    elif kind == "rounded":
        measured[COLUMNS] = measured[COLUMNS].round(int(rng.integers(3, 16)))
    elif kind == "semicolons":
        text = measured.to_csv(index=False, sep=";", decimal=",")
    elif kind == "no_rows":
        text = ",".join([*COLUMNS, "Tc"]) + "\n"
    elif kind == "duplicate_header":
        lines = measured.to_csv(index=False).splitlines()
        text = "\n".join([lines[0].replace("b", "a"), *lines[1:]]) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        outcome, detail = _run(Path(folder), pool.to_csv(index=False),
                               text if text is not None else measured.to_csv(index=False))
    if kind in MUST_REFUSE_MEASURED:
        assert outcome == "refused", kind
    if outcome == "accepted":
        got = _observed(detail)
        expected = {int(p): float(v) for p, v in zip(positions, _lab()[1]["Tc"])}
        if kind in ("target_blank", "target_na"):
            expected[int(positions[i])] = np.nan  # an empty or N/A cell is a failed measurement (with a warning)
        assert got.keys() == expected.keys(), kind
        np.testing.assert_array_equal([got[k] for k in sorted(got)], [expected[k] for k in sorted(expected)])


# ------------------------------------------------------------------ campaign files
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.lists(st.integers(-2, 100), max_size=3), st.just({}),
)
_FIELDS = ["observations", "pending", "suggestions", "seed", "iteration", "targets", "target_names", "settings",
           "version", "kind", "source", "ref_point", "tuning", "diagnostics", "box_generations"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            out += _paths(v, (*prefix, k))
    return out


def _corrupt(d: dict[str, Any], field: str, pick: int, value: Any, delete: bool) -> dict[str, Any]:
    r"""``d`` with one leaf under ``field`` (the ``pick``-th, cyclically) replaced by ``value`` or deleted."""
    paths = _paths(d[field], (field,))
    path = paths[pick % len(paths)]
    parent: Any = d
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return d


_CAMPAIGN: dict[str, Any] = {}


def _saved_campaign() -> dict[str, Any]:
    r"""One real pool campaign file (20 measurements, one failed, 3 pending), made once."""
    if not _CAMPAIGN:
        pool, _ = _lab()
        opt = FusionOptimizer(pool.to_numpy(), "maximize", options={"families": ("ridge",), "n_members": 2}, seed=0)
        y = np.sin(4 * pool["a"].to_numpy())
        opt.observe(ids=np.arange(20), Y=np.where(np.arange(20) == 3, np.nan, y[:20]))
        opt.set_pending([30, 31, 32])
        _CAMPAIGN.update(opt.state_dict())
    return json.loads(json.dumps(_CAMPAIGN))


@PROPERTY_SETTINGS
@given(field=st.sampled_from(_FIELDS), pick=st.integers(0, 10**6), value=_VALUES, delete=st.booleans())
def test_corrupted_campaign_files_are_refused_by_field_or_kept_exactly(field, pick, value, delete):
    d = _corrupt(_saved_campaign(), field, pick, value, delete)
    pool, _ = _lab()
    with tempfile.TemporaryDirectory() as folder:
        path_file = Path(folder) / "c.campaign.json"
        path_file.write_text(json.dumps(d))
        try:
            opt = FusionOptimizer.resume(path_file, pool.to_numpy(), save=False)
        except (CampaignFileError, CampaignMismatchError) as error:
            message = str(error)
            assert "\n" not in message and "c.campaign.json" in message, message
            return
    # accepted: what the campaign holds is what the file says, nothing coerced
    state = opt.state.as_dict()
    for name in ("observations", "pending", "suggestions", "seed", "iteration", "target_names"):
        assert json.dumps(state[name]) == json.dumps(d[name]), name
    CampaignState.from_dict(state)  # and it saves a valid file


_CLI_CAMPAIGN: dict[str, Any] = {}


def _cli_campaign() -> dict[str, Any]:
    r"""A campaign of ``axfusion suggest``'s kind over the lab's pool (target ``Tc``), made once without a fit."""
    if not _CLI_CAMPAIGN:
        pool, measured = _lab()
        X = pd.read_csv(io.StringIO(pool.to_csv(index=False)), float_precision="round_trip").to_numpy()
        opt = FusionOptimizer(X, ["maximize"], target_names=["Tc"], options={"families": ("ridge",), "n_members": 2})
        rows = np.arange(0, N_POOL, N_POOL // N_MEASURED)[:8]
        opt.observe(ids=rows, Y=measured["Tc"].to_numpy()[:8])
        opt.set_pending([1, 2, 3])
        _CLI_CAMPAIGN.update(opt.state_dict())
    return json.loads(json.dumps(_CLI_CAMPAIGN))


@PROPERTY_SETTINGS
@given(field=st.sampled_from(_FIELDS), pick=st.integers(0, 10**6), value=_VALUES, delete=st.booleans())
def test_corrupted_campaign_files_given_to_the_cli_are_refused_or_kept_exactly(field, pick, value, delete):
    d = _corrupt(_cli_campaign(), field, pick, value, delete)
    pool, measured = _lab()
    with tempfile.TemporaryDirectory() as folder:
        campaign = Path(folder) / "c.campaign.json"
        campaign.write_text(json.dumps(d))
        outcome, detail = _run(Path(folder), pool.to_csv(index=False), measured.to_csv(index=False),
                               "--campaign", str(campaign))
    if outcome == "accepted":
        recorded = {o["key"]: o["y"][0] for o in d["observations"]}
        got = {int(o.key): (None if o.failed else o.y[0]) for o in detail.observations}
        assert {k: got[k] for k in recorded} == recorded  # the file's measurements, as written
