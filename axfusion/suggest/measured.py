r"""Loading the measured table: its targets, and every measured row matched to a pool position."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from axfusion.suggest.errors import SuggestInputError, SuggestWarning
from axfusion.suggest.hashing import row_hashes
from axfusion.suggest.pool import _formula_strings, _magpie_rows, _Pool
from axfusion.suggest.tables import (
    MAX_COLUMNS_SHOWN,
    MAX_LISTED,
    ROW_ID_COLUMN,
    TableSource,
    _cap,
    _columns_hint,
    _listed,
    _plain,
    _plural,
    _Table,
    _verb,
    read_table,
)

MIN_SUCCESSFUL: int = 5
"""Successful measurements the fusion optimiser needs to fit its surrogates."""

MATCH_RTOL: float = 1e-10
"""Relative tolerance for a measured feature row that matches no pool row exactly: values
re-written with fewer digits (a spreadsheet keeps 15) still match, with a warning."""


@dataclass
class _Measured:
    r"""Measured rows matched to pool positions."""

    table: _Table
    positions: np.ndarray  # (n,) pool row per measured row
    Y: np.ndarray  # (n, m), NaN where missing
    failed: np.ndarray  # (n,) any target missing


def _targets_of(table: _Table, names: Sequence[str]) -> np.ndarray:
    r"""The target columns as float64 (NaN = missing); non-numbers and empty columns are errors."""
    for name in names:
        table.require(name, "target")
    out = np.empty((len(table.frame), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        col = table.frame[name]
        if pd.api.types.is_bool_dtype(col):
            raise SuggestInputError(f"Target column {name!r} of {table.label} holds booleans, not numbers.")
        if pd.api.types.is_numeric_dtype(col):
            values = col.to_numpy(dtype=np.float64)
        else:
            as_obj = col.astype(object)
            blank = as_obj.map(lambda v: isinstance(v, str) and not v.strip())
            values = pd.to_numeric(as_obj.mask(blank), errors="coerce").to_numpy(dtype=np.float64)
            bad = np.flatnonzero(np.isnan(values) & col.notna().to_numpy() & ~blank.to_numpy())
            if bad.size:
                i = int(bad[0])
                raise SuggestInputError(
                    f"Target column {name!r} of {table.label} is not numeric: value {col.iloc[i]!r} in "
                    f"{table.row(i)}{f' and {bad.size - 1} more rows' if bad.size > 1 else ''}. "
                    "Leave the cell empty for a failed measurement."
                )
        inf = np.flatnonzero(np.isinf(values))
        if inf.size:
            raise SuggestInputError(
                f"Target column {name!r} of {table.label} has infinite values in {table.rows(inf.tolist())}."
            )
        from axfusion.campaign.sources import MAX_ABS_VALUE

        with np.errstate(invalid="ignore"):
            huge = np.flatnonzero(np.abs(values) > MAX_ABS_VALUE)
        if huge.size:
            raise SuggestInputError(
                f"Target column {name!r} of {table.label} has values beyond {MAX_ABS_VALUE:g} in magnitude in "
                f"{table.rows(huge.tolist())}; the models' standardisation would overflow. Rescale the target "
                "(other units, or its logarithm)."
            )
        if np.isnan(values).all():
            raise SuggestInputError(
                f"Target column {name!r} of {table.label} is empty: none of its {_plural(len(values), 'row')} "
                "has a value."
            )
        out[:, j] = values
    return out


def _match_ids(table: _Table, pool: _Pool) -> np.ndarray:
    r"""Pool positions of the measured rows by the id column."""
    assert pool.id_column is not None and pool.ids is not None
    table.require(pool.id_column, "id")
    mids = table.frame[pool.id_column]
    empty = np.flatnonzero(mids.isna().to_numpy())
    if empty.size:
        raise SuggestInputError(
            f"The id column {pool.id_column!r} of {table.label} is empty in {table.rows(empty.tolist())}."
        )
    pids = pool.ids
    same_kind = pd.api.types.is_numeric_dtype(pids) == pd.api.types.is_numeric_dtype(mids)
    index = pd.Index(pids if same_kind else pids.astype(str))
    positions = index.get_indexer(mids if same_kind else mids.astype(str))
    unmatched = np.flatnonzero(positions < 0)
    if unmatched.size:
        shown = [f"{mids.iloc[i]!r} ({table.row(int(i))})" for i in unmatched[:MAX_LISTED]]
        raise SuggestInputError(
            f"{_plural(unmatched.size, 'measured row')} of {table.label} "
            f"{_verb(unmatched.size, 'has an id that is', 'have ids that are')} not in {pool.table.named} "
            f"(column {pool.id_column!r}): {_listed(shown, limit=len(shown))}"
            f"{f' and {unmatched.size - len(shown)} more' if unmatched.size > len(shown) else ''}."
        )
    return positions.astype(np.int64)


def _match_positions(table: _Table, col: pd.Series, pool: _Pool, rows: np.ndarray) -> np.ndarray:
    r"""Pool positions given in the measured ``row_id`` column (for ``rows``)."""
    values = pd.to_numeric(col.iloc[rows], errors="coerce").to_numpy(dtype=np.float64)
    bad = rows[~np.isfinite(values) | (values != np.round(values))]
    if bad.size:
        raise SuggestInputError(
            f"The {ROW_ID_COLUMN!r} column of {table.label} must hold pool positions (whole numbers); "
            f"see {table.rows(bad.tolist())} (value {col.iloc[int(bad[0])]!r})."
        )
    out = values.astype(np.int64)
    outside = rows[(out < 0) | (out >= pool.n_rows)]
    if outside.size:
        raise SuggestInputError(
            f"{_cap(table.label)} names {ROW_ID_COLUMN} {_listed([int(col.iloc[int(i)]) for i in outside])} "
            f"({table.rows(outside.tolist())}), outside the pool, whose rows are 0..{pool.n_rows - 1}."
        )
    return out


def _check_positions_agree(table: _Table, rows: np.ndarray, positions: np.ndarray, pool: _Pool) -> None:
    r"""A ``row_id`` must name the pool row whose features the measured row carries (where it carries any).

    Numeric columns agree within :data:`MATCH_RTOL`; a categorical column (the pool's encoder)
    agrees when its level encodes to the pool row's features, and an unknown level is the
    encoder's error naming the closest levels."""
    cols = [c for c in pool.raw_features if c in table.frame.columns]
    if not cols or rows.size == 0:
        return
    frame = table.frame.iloc[rows]
    encodings = {} if pool.encoder is None else {e.name: e for e in pool.encoder.columns_}
    given_parts: list[np.ndarray] = []
    where: list[int] = []
    owner: list[str] = []
    for c in cols:
        enc = encodings.get(c)
        if enc is None or enc.kind == "numeric":
            part = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64).reshape(-1, 1)
            names = [c]
        else:
            values = frame[c]
            known = values.notna().to_numpy()
            part = np.full((rows.size, len(enc.output_names)), np.nan)
            if known.any():
                try:
                    part[known] = enc.encode(values[known], label=table.label)
                except ValueError as error:  # DataValidationError: an unknown level, named with the closest
                    raise SuggestInputError(str(error)) from error
            names = enc.output_names
        given_parts.append(part)
        where.extend(pool.feature_names.index(n) for n in names)
        owner.extend([c] * len(names))
    given = np.hstack(given_parts)
    distinct, back = np.unique(positions, return_inverse=True)  # take() wants distinct ids
    expected = np.asarray(pool.pool.take(distinct), dtype=np.float64)[back][:, where]
    differ = ~np.isclose(given, expected, rtol=MATCH_RTOL, atol=0.0) & ~np.isnan(given)
    bad = np.flatnonzero(differ.any(axis=1))
    if bad.size:
        k = int(bad[0])
        j = int(np.flatnonzero(differ[k])[0])
        name, pos = owner[j], int(positions[k])
        if name in encodings and encodings[name].kind != "numeric":
            shown, held = repr(str(frame[name].iloc[k])), repr(str(pool.table.frame[name].iloc[pos]))
        else:
            shown, held = _plain(given[k, j]), _plain(expected[k, j])
        raise SuggestInputError(
            f"{_cap(table.label)} {table.row(int(rows[k]))} gives {ROW_ID_COLUMN} {pos}, but its feature "
            f"{name!r} is {shown} where pool row {pos} has {held}"
            f"{f' ({bad.size - 1} more rows disagree too)' if bad.size > 1 else ''}. Correct the {ROW_ID_COLUMN} "
            "(or empty it, to match the row by its features)."
        )


def _match_features(table: _Table, rows: np.ndarray, pool: _Pool, taken: set[int]) -> np.ndarray:
    r"""Pool positions of measured ``rows`` by their feature vectors.

    First exactly (64-bit row hashes looked up in the pool's sorted hashes, hits
    verified); rows left over are then looked up within :data:`MATCH_RTOL` in the
    pool's most distinct column (sorted) and verified on every column, with a
    :class:`SuggestWarning`. Identical pool rows are assigned in pool order, a row
    with the same formula string first; ``taken`` (pool rows already matched) is
    updated.
    """
    needed = ([pool.formula_column] if pool.formula_column else []) + list(pool.raw_features)
    missing = [c for c in needed if c not in table.frame.columns]
    if missing:
        how = f"the id column {pool.id_column!r}" if pool.id_column else f"a {ROW_ID_COLUMN!r} column"
        raise SuggestInputError(
            f"{_cap(table.label)} cannot be matched to the pool: rows are matched by {how} or by their full feature "
            f"row, and it lacks the feature column(s) {missing[:MAX_COLUMNS_SHOWN]}."
            + _columns_hint(missing[0], list(table.frame.columns))
        )
    # keep the index: labels are the row numbers of the measured table, for messages
    sub = _Table(table.frame.iloc[rows], table.label, table.path, table.role)
    blocks = []
    formulas = None
    if pool.formula_column:
        formulas = _formula_strings(sub, pool.formula_column)
        blocks.append(_magpie_rows(sub, formulas, pool.magpie))
    if pool.raw_features and pool.encoder is not None:  # categorical columns: the pool's levels
        from axfusion.data.errors import DataValidationError

        try:
            blocks.append(pool.encoder.transform(sub.frame[pool.raw_features], label=table.label))
        except (DataValidationError, ValueError) as error:
            raise SuggestInputError(str(error)) from error
    elif pool.raw_features:
        frame = sub.frame[pool.raw_features]
        non_numeric = [c for c in pool.raw_features if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise SuggestInputError(f"Feature column(s) {non_numeric} of {table.label} are not numeric.")
        Xr = frame.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(Xr)
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            cols = [pool.raw_features[j] for j in np.flatnonzero(bad[i])]
            raise SuggestInputError(
                f"{_cap(table.label)} {table.row(int(rows[i]))} has no value for feature column(s) {cols}; "
                "a measured row is matched to the pool by its full feature row "
                f"(or by {ROW_ID_COLUMN!r} / --id-column)."
            )
        blocks.append(Xr)
    X = np.hstack(blocks)
    out = np.full(rows.size, -1, dtype=np.int64)
    exhausted: list[tuple[int, list[int]]] = []
    unresolved: list[int] = []
    tolerant_hits: list[int] = []

    def assign(k: int, cands: np.ndarray, tolerant: bool) -> None:
        free = [int(c) for c in np.sort(cands) if int(c) not in taken]
        if formulas is not None and pool.formulas is not None:
            same = [c for c in free if pool.formulas.iloc[c] == formulas.iloc[k]]
            free = same + [c for c in free if c not in same]
        if not free:
            exhausted.append((k, np.sort(cands).tolist()))
            return
        out[k] = free[0]
        taken.add(free[0])
        if tolerant:
            tolerant_hits.append(k)

    # exact: hash lookup, verified
    sorted_h, order = pool.hash_index()
    hashes = row_hashes(X)
    lo = np.searchsorted(sorted_h, hashes, side="left")
    hi = np.searchsorted(sorted_h, hashes, side="right")
    for k in range(rows.size):
        cands = order[lo[k] : hi[k]]
        if cands.size:
            cands = cands[(pool.pool.take(cands) == X[k]).all(axis=1)]
        if cands.size:
            assign(k, cands, tolerant=False)
        else:
            unresolved.append(k)
    # tolerant: rows within MATCH_RTOL in the most distinct column, verified on every column
    if unresolved:
        j, values, order = pool.column_index()
        still: list[int] = []
        for k in unresolved:
            v = X[k, j]
            lo_k = np.searchsorted(values, v - MATCH_RTOL * abs(v), side="left")
            hi_k = np.searchsorted(values, v + MATCH_RTOL * abs(v), side="right")
            cands = order[lo_k:hi_k]
            if cands.size:
                cands = cands[np.isclose(pool.pool.take(cands), X[k], rtol=MATCH_RTOL, atol=0.0).all(axis=1)]
            if cands.size:
                assign(k, cands, tolerant=True)
            else:
                still.append(k)
        unresolved = still
    if unresolved:
        k = unresolved[0]
        shown = {c: _plain(sub.frame[c].iloc[k]) for c in needed[:8]}
        more = f" (+{len(needed) - 8} more columns)" if len(needed) > 8 else ""
        raise SuggestInputError(
            f"{_plural(len(unresolved), 'measured row')} of {table.label} "
            f"{_verb(len(unresolved), 'matches', 'match')} no pool row "
            f"({table.rows([int(rows[u]) for u in unresolved])}). The first unmatched feature row is "
            f"{shown}{more}. Feature values must equal the pool's (up to a relative {MATCH_RTOL:g}); "
            f"or match rows by --id-column or a {ROW_ID_COLUMN!r} column."
        )
    if exhausted:
        k, same_rows = exhausted[0]
        raise SuggestInputError(
            f"{_cap(table.label)} {table.row(int(rows[k]))} repeats a design that is already matched: its feature row "
            f"occurs {_plural(len(same_rows), 'time')} in the pool (pool rows {_listed(same_rows)}) and every one is "
            "taken by another measured row. Each design is measured once: average repeated measurements into one row."
        )
    if tolerant_hits:
        warnings.warn(
            f"{_plural(len(tolerant_hits), 'measured row')} of {table.label} "
            f"({table.rows([int(rows[k]) for k in tolerant_hits])}) {_verb(len(tolerant_hits), 'matches', 'match')} "
            f"a pool row only up to a relative {MATCH_RTOL:g} (the file's feature values were rounded); "
            "they are matched to those rows.",
            SuggestWarning,
            stacklevel=5,
        )
    return out


def load_measured(source: TableSource, pool: _Pool, names: Sequence[str]) -> _Measured:
    r"""Read the measured table, check its targets and match every row to a pool position."""
    table = read_table(source, "measured")
    frame = table.frame
    if len(frame) == 0:
        raise SuggestInputError(
            f"{_cap(table.named)} has no rows; the optimiser needs at least {MIN_SUCCESSFUL} measurements."
        )
    Y = _targets_of(table, names)
    n = len(frame)
    if pool.id_column is not None:
        positions = _match_ids(table, pool)
    else:
        positions = np.full(n, -1, dtype=np.int64)
        by_position = np.zeros(n, dtype=bool)
        pool_has_row_id = ROW_ID_COLUMN in pool.table.frame.columns or ROW_ID_COLUMN in pool.feature_names
        if ROW_ID_COLUMN in frame.columns and not pool_has_row_id:
            by_position = frame[ROW_ID_COLUMN].notna().to_numpy()
            rows = np.flatnonzero(by_position)
            positions[rows] = _match_positions(table, frame[ROW_ID_COLUMN], pool, rows)
            _check_positions_agree(table, rows, positions[rows], pool)
        rest = np.flatnonzero(~by_position)
        if rest.size:
            taken = set(positions[by_position].tolist())
            positions[rest] = _match_features(table, rest, pool, taken)
    counts = Counter(positions.tolist())
    repeated = [p for p, k in counts.items() if k > 1]
    if repeated:
        p = repeated[0]
        repeats = np.flatnonzero(positions == p).tolist()
        who = f"id {pool.ids.iloc[p]!r}" if pool.ids is not None else f"{ROW_ID_COLUMN} {p}"
        raise SuggestInputError(
            f"{_cap(table.label)} measures the same pool row ({who}) more than once: {table.rows(repeats)}"
            f"{f'; {len(repeated) - 1} more pool rows are repeated' if len(repeated) > 1 else ''}. "
            "Each design is measured once: average repeated measurements into one row."
        )
    failed = np.isnan(Y).any(axis=1)
    return _Measured(table, positions, Y, failed)
