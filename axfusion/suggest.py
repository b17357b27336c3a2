r"""The real-lab workflow: a candidate pool, the measurements so far -> the next batch.

A scientist has a *pool* of candidate materials (a CSV or Parquet table of numeric
features, optionally with a chemical-formula column featurised with Magpie) and a
*measured* table (the rows measured so far and their target values). One call

.. code-block:: bash

    axfusion suggest --pool pool.csv --measured measured.csv --target Tc \
        --batch 10 --out next.csv

or, in Python, :func:`suggest_next` runs one iteration of the fusion optimiser
(:class:`~axfusion.optimizer.FusionOptimizer`) and returns the next batch: the
row (id, pool position ``row_id``, formula), the predicted mean and spread per
target, the fusion utility with its channel breakdown, the cluster and a
one-line reason (:attr:`~axfusion.optimizer.Suggestion.table`).

Campaign. The state is kept in a campaign file (JSON; the CLI default is
``<out stem>.campaign.json`` next to ``--out``), so the next call continues it:
measurements already in the campaign are not observed again, new rows of the
measured table are observed, and rows suggested earlier but not yet measured stay
pending (never suggested twice). A campaign file belongs to one pool and one set
of targets; giving another pool or other targets is an error.

Matching measured rows to pool rows, per measured row, in this order:

1. ``id_column`` given: by the value of that column (in both tables);
2. otherwise, a ``row_id`` column in the measured table (the pool position, as
   written in the ``row_id`` column of the output) where it has a value, unless
   the pool itself has a column named ``row_id``;
3. otherwise by the feature vector (the feature columns, and the formula's Magpie
   features): rows are hashed (64-bit, vectorised) and hash hits are verified
   exactly, so no ``N x n`` comparison is ever formed. A row without an exact
   match (values re-written with fewer digits, e.g. by a spreadsheet) is matched
   up to a relative ``1e-10`` through the pool's sorted most-distinct column, with
   a warning. Identical pool rows are taken in pool order (a pool row with the
   same formula string first).

A Parquet pool without a formula column is streamed
(:meth:`~axfusion.candidates.CandidatePool.from_parquet`); a CSV, a DataFrame or a
pool with formulas is held in memory.

Measured rows with an empty (NaN) target are failed measurements: they are
recorded, never suggested again, and not modelled (a warning says which).
Nothing the user gave is written to: the pool and measured tables are only read,
and the CLI refuses to overwrite an existing ``--out`` file unless ``--force``.

Every problem with the input raises :class:`SuggestInputError` (a
:class:`ValueError`) with a message naming the column, row, id, formula or file
concerned; the CLI prints it as ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # imported where used: the CLI parser is built without torch/botorch
    from axfusion.acquisition.targets import Target
    from axfusion.candidates import CandidatePool
    from axfusion.optimizer import FusionOptimizer

__all__ = [
    "MATCH_RTOL",
    "ROW_ID_COLUMN",
    "SuggestInputError",
    "SuggestWarning",
    "add_suggest_parser",
    "default_campaign_path",
    "row_hashes",
    "run_suggest_command",
    "suggest_next",
]

ROW_ID_COLUMN: str = "row_id"
"""Column of pool positions (0-based) in the output, and accepted in the measured table."""

MIN_SUCCESSFUL: int = 5
"""Successful measurements the fusion optimiser needs to fit its surrogates."""

MAX_LISTED: int = 5
"""How many rows, ids or formulas a message lists before summarising the rest."""

MAX_COLUMNS_SHOWN: int = 30
"""How many available column names an unknown-column message lists."""

_PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
_EXTRA_OPTIONS: tuple[str, ...] = ("fusion_config", "hv_config", "ref_point")
_EXECUTION_ONLY: tuple[str, ...] = ("n_jobs",)

TableSource = Union[str, os.PathLike, pd.DataFrame]
DirectionSpec = Union[str, float, int, tuple, list, "Target", None]


class SuggestInputError(ValueError):
    r"""Bad input to :func:`suggest_next` or ``axfusion suggest``; the message says what and where."""


class SuggestWarning(UserWarning):
    r"""Something in the input was handled on the user's behalf (failed measurements, changed values)."""


# --------------------------------------------------------------------------- small helpers
def _plural(count: int, noun: str) -> str:
    r"""``"1 row"``, ``"2 rows"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _verb(count: int, singular: str, plural: str) -> str:
    r"""The verb form that agrees with ``count``."""
    return singular if count == 1 else plural


def _plain(value: Any) -> Any:
    r"""A numpy scalar as the Python value (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _cap(text: str) -> str:
    r"""``text`` with its first letter in upper case (for a sentence that starts with a name)."""
    return text[:1].upper() + text[1:]


def _listed(items: Sequence[Any], limit: int = MAX_LISTED) -> str:
    r"""The first ``limit`` items, comma-separated, and how many more."""
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _columns_hint(name: str, available: Sequence[str]) -> str:
    r"""Close matches of ``name`` and the available columns, for an unknown-column message."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in available], n=3, cutoff=0.6)
    hint = f" Did you mean {matches}?" if matches else ""
    shown = list(available[:MAX_COLUMNS_SHOWN]) + (["..."] if len(available) > MAX_COLUMNS_SHOWN else [])
    return f"{hint} Available columns: {shown}."


@dataclass(frozen=True)
class _Table:
    r"""A table as read, with what messages need to name it and its rows."""

    frame: pd.DataFrame
    label: str  # "pool.csv" or "the pool DataFrame"
    path: Path | None
    role: str = "pool"  # "pool" or "measured"

    @property
    def named(self) -> str:
        r"""``"the pool file pool.csv"`` or ``"the pool DataFrame"``, for messages."""
        return f"the {self.role} file {self.label}" if self.path is not None else self.label

    def row(self, i: int) -> str:
        r"""``"row 3 (line 5)"`` for CSV files (header on line 1), else ``"row 3"`` (0-based)."""
        if self.path is not None and not _is_parquet(self.path):
            return f"row {i} (line {i + 2})"
        return f"row {i}"

    def rows(self, positions: Sequence[int]) -> str:
        r"""The first :data:`MAX_LISTED` of ``positions`` as :meth:`row` names, and how many more."""
        parts = [self.row(int(i)) for i in list(positions)[:MAX_LISTED]]
        more = f" and {len(positions) - MAX_LISTED} more" if len(positions) > MAX_LISTED else ""
        return ", ".join(parts) + more

    def require(self, name: str, role: str) -> None:
        r"""Raise naming ``name`` and the available columns unless the table has it."""
        if name not in self.frame.columns:
            raise SuggestInputError(
                f"Unknown {role} column {name!r} in {self.label}." + _columns_hint(name, list(self.frame.columns))
            )


def _is_parquet(path: Path) -> bool:
    r"""Whether ``path`` names a Parquet file (by its suffix)."""
    return path.suffix.lower() in _PARQUET_SUFFIXES


def _as_path(source: str | os.PathLike[str], role: str) -> Path:
    r"""``source`` as a path to an existing file, or a clear error."""
    path = Path(source)
    if not path.is_file():
        raise SuggestInputError(f"The {role} file {str(path)!r} does not exist (or is not a file).")
    return path


def _read_table(source: TableSource, role: str) -> _Table:
    r"""Read a CSV/Parquet file or copy a DataFrame; column names become strings."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        label, path = f"the {role} DataFrame", None
    elif isinstance(source, (str, os.PathLike)):
        path = _as_path(source, role)
        label = path.name
        try:
            if _is_parquet(path):
                frame = pd.read_parquet(path)
            else:
                # round_trip: the parsed floats equal the values the file was written from,
                # so feature rows copied between files match exactly.
                frame = pd.read_csv(path, float_precision="round_trip")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as error:
            # ValueError: pyarrow's ArrowInvalid for a corrupt Parquet file
            raise SuggestInputError(f"Cannot read the {role} file {str(path)!r}: {error}") from error
    else:
        raise TypeError(f"The {role} must be a file path or a pandas DataFrame, not {type(source).__name__}.")
    frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted(c for c, k in Counter(frame.columns).items() if k > 1)
    if duplicated:
        raise SuggestInputError(f"{label} has duplicated column names: {duplicated}.")
    return _Table(frame.reset_index(drop=True), label, path, role)


def _same_file(a: Path | None, b: Path | None) -> bool:
    r"""Whether two paths (either may be missing) name the same file."""
    if a is None or b is None:
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# --------------------------------------------------------------------------- row hashing
_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    r"""The splitmix64 finaliser on a ``uint64`` array (arithmetic modulo ``2**64``)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def row_hashes(X: np.ndarray) -> np.ndarray:
    r"""A 64-bit hash of each row of a float array, equal for exactly equal rows.

    ``-0.0`` and ``0.0`` hash alike (as they compare equal). Hash hits must still be
    verified: distinct rows may collide (with probability about ``2**-64`` per pair).

    Args:
        X: ``n x d`` finite values.

    Returns:
        ``(n,)`` ``uint64`` hashes.
    """
    bits = np.ascontiguousarray(np.asarray(X, dtype=np.float64) + 0.0).view(np.uint64)
    h = np.zeros(bits.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bits.shape[1]):
            salt = np.uint64(((j + 1) * 0x9E3779B97F4A7C15) & _M64)
            h = _mix(h ^ _mix(bits[:, j] + salt))
    return h


MATCH_RTOL: float = 1e-10
"""Relative tolerance for a measured feature row that matches no pool row exactly: values
re-written with fewer digits (a spreadsheet keeps 15) still match, with a warning."""

_SAMPLE_ROWS: int = 10_000
"""Pool rows read to choose the most distinct column for tolerant matching."""


# --------------------------------------------------------------------------- targets
_MAX_WORDS = {"max", "maximize", "maximise"}
_MIN_WORDS = {"min", "minimize", "minimise"}


def _one_direction(name: str, spec: DirectionSpec) -> Target:
    r"""One target column's direction as a named :class:`Target`."""
    from axfusion.acquisition.targets import Target

    try:
        if spec is None:
            return Target.maximize(name)
        if isinstance(spec, Target):
            return dataclasses.replace(spec, name=name)
        if isinstance(spec, str):
            word = spec.strip().lower()
            if word in _MAX_WORDS:
                return Target.maximize(name)
            if word in _MIN_WORDS:
                return Target.minimize(name)
            raise SuggestInputError(
                f"Unknown direction {spec!r} for target {name!r}; use 'maximize', 'minimize', "
                "a number (reach that value), a (low, high) window or a Target."
            )
        if isinstance(spec, (tuple, list)):
            if len(spec) != 2:
                raise SuggestInputError(
                    f"A window for target {name!r} needs (low, high); got {list(spec)}."
                )
            lo, hi = (None if v is None else float(v) for v in spec)
            lo = None if lo is not None and lo == -math.inf else lo
            hi = None if hi is not None and hi == math.inf else hi
            return Target.window(lo, hi, name=name)
        if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, (bool, np.bool_)):
            return Target.reach(float(spec), name=name)
    except SuggestInputError:
        raise
    except (TypeError, ValueError) as error:
        raise SuggestInputError(f"Invalid direction {spec!r} for target {name!r}: {error}") from error
    raise SuggestInputError(
        f"Invalid direction {spec!r} ({type(spec).__name__}) for target {name!r}; use 'maximize', "
        "'minimize', a number, a (low, high) window or a Target."
    )


def _parse_targets(
    targets: Sequence[str] | str, directions: Mapping[str, DirectionSpec] | Sequence[DirectionSpec] | DirectionSpec
) -> tuple[list[str], list[Target]]:
    r"""Target column names and one :class:`Target` per name."""
    from axfusion.acquisition.targets import Target

    names = [targets] if isinstance(targets, str) else [str(t) for t in targets]
    if not names:
        raise SuggestInputError("Give at least one target column (e.g. --target Tc).")
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        raise SuggestInputError(f"Target column(s) {repeated} are given more than once.")
    if directions is None or isinstance(directions, (str, Target)):
        specs: list[DirectionSpec] = [directions] * len(names)
    elif isinstance(directions, Mapping):
        unknown = [k for k in directions if k not in names]
        if unknown:
            raise SuggestInputError(f"directions names {unknown}, which are not targets; the targets are {names}.")
        specs = [directions.get(n) for n in names]
    elif isinstance(directions, (int, float)) and not isinstance(directions, bool):
        specs = [directions] * len(names)
    elif isinstance(directions, Sequence):
        specs = list(directions)
        if len(specs) != len(names):
            raise SuggestInputError(
                f"directions has {len(specs)} entries for {_plural(len(names), 'target')} {names}; "
                "give one per target (a window is one entry: [(low, high)]) or a dict {target: direction}."
            )
    else:
        raise SuggestInputError(
            f"directions must be a direction, a list of them or a dict; got {type(directions).__name__}."
        )
    return names, [_one_direction(n, s) for n, s in zip(names, specs)]


def _describe_target(t: Target) -> str:
    r"""``"Tc (minimize)"``, ``"gap (window [1.1, 1.7])"``, for messages."""
    if t.kind == "window":
        return f"{t.name} (window [{t.lower}, {t.upper}])"
    if t.kind == "value":
        return f"{t.name} (value {t.value})"
    return f"{t.name} ({t.kind})"


# --------------------------------------------------------------------------- the pool
@dataclass
class _Pool:
    r"""The loaded pool: rows, features, ids and formulas, and the lookups that match to it."""

    pool: CandidatePool
    table: _Table  # only the columns read (ids, formulas, features for in-memory pools)
    feature_names: list[str]  # the optimiser's columns (Magpie first, then raw features)
    raw_features: list[str]  # pool columns used as features
    id_column: str | None
    formula_column: str | None
    ids: pd.Series | None
    formulas: pd.Series | None
    magpie: dict[str, np.ndarray]  # formula -> Magpie vector
    _indexes: dict[str, tuple[np.ndarray, ...]] = dataclasses.field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        r"""Rows in the pool."""
        return self.pool.n_rows

    def hash_index(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Sorted row hashes and the pool positions in that order (stable: ascending id on ties)."""
        if "hash" not in self._indexes:
            self._check_unmasked()
            parts = [row_hashes(block) for _, block in self.pool.iter_chunks()]
            hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
            order = np.argsort(hashes, kind="stable")
            self._indexes["hash"] = (hashes[order], order)
        return self._indexes["hash"]

    def column_index(self) -> tuple[int, np.ndarray, np.ndarray]:
        r"""The pool column with the most distinct values (in the first rows), its sorted values and order.

        Rows whose values lie within a tolerance of a measured row's value in this
        column are the candidates of a tolerant match.
        """
        if "column" not in self._indexes:
            self._check_unmasked()
            _, sample = next(self.pool.iter_chunks(chunk_size=min(_SAMPLE_ROWS, self.n_rows)))
            j = int(np.argmax([np.unique(sample[:, c]).size for c in range(sample.shape[1])]))
            values = np.concatenate([block[:, j] for _, block in self.pool.iter_chunks()])
            order = np.argsort(values, kind="stable")
            self._indexes["column"] = (np.array([j]), values[order], order)
        (j,), values, order = self._indexes["column"]
        return int(j), values, order

    def _check_unmasked(self) -> None:
        r"""The indexes read the available rows: they must be built while every row is available."""
        if self.pool.n_available != self.n_rows:
            raise RuntimeError("The pool indexes must be built before rows are marked evaluated or pending.")


def _resolve_features(
    table: _Table,
    numeric: Mapping[str, bool],
    *,
    features: Sequence[str] | None,
    id_column: str | None,
    formula_column: str | None,
    targets: Sequence[str],
) -> list[str]:
    r"""The pool columns used as (raw) features."""
    reserved = {c for c in (id_column, formula_column) if c is not None}
    if features is None:
        chosen = [c for c in table.frame.columns if c not in reserved and c not in set(targets)]
        bad = [c for c in chosen if not numeric[c]]
        if bad:
            raise SuggestInputError(
                f"{_cap(table.label)} has non-numeric column(s) {bad[:MAX_COLUMNS_SHOWN]}. Name the id column "
                "(--id-column) and the formula column (--formula-column), or choose the numeric feature "
                "columns with --features."
            )
        return chosen
    if isinstance(features, str):
        features = [features]
    chosen = [str(f) for f in features]
    for name in chosen:
        table.require(name, "feature")
    repeated = sorted(c for c, k in Counter(chosen).items() if k > 1)
    if repeated:
        raise SuggestInputError(f"Feature column(s) {repeated} are listed more than once.")
    clash = [c for c in chosen if c in reserved or c in set(targets)]
    if clash:
        raise SuggestInputError(f"Column(s) {clash} cannot be features: they are the id, formula or target column(s).")
    bad = [c for c in chosen if not numeric[c]]
    if bad:
        raise SuggestInputError(f"Feature column(s) {bad} of {table.label} are not numeric.")
    return chosen


def _numeric_frame(table: _Table, columns: Sequence[str]) -> np.ndarray:
    r"""``columns`` of ``table`` as a finite float64 array; non-finite values are named."""
    X = table.frame[list(columns)].astype(np.float64).to_numpy()
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [columns[j] for j in np.flatnonzero(bad.any(axis=0))]
        rows = np.flatnonzero(bad.any(axis=1)).tolist()
        raise SuggestInputError(
            f"{_cap(table.named)} has missing or infinite values in feature column(s) {cols[:MAX_LISTED]} "
            f"({table.rows(rows)}). Fill or remove these rows, or leave the columns out of --features."
        )
    return X


def _featurize(formulas: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    r"""Magpie vectors of distinct formulas (cached on disk) and the formulas that cannot be featurised."""
    from axfusion.data import featurize_formulas_cached

    table, invalid = featurize_formulas_cached(list(formulas))
    vectors = {str(f): row for f, row in zip(table.index, table.to_numpy(dtype=np.float64))}
    return vectors, invalid


def _formula_strings(table: _Table, column: str) -> pd.Series:
    r"""The formula column as strings; empty cells are named."""
    values = table.frame[column]
    empty = values.index[(values.isna() | values.astype(str).str.strip().eq("")).to_numpy()]
    if empty.size:
        raise SuggestInputError(
            f"The formula column {column!r} of {table.named} is empty in {table.rows(empty.tolist())}."
        )
    return values.astype(str)


def _magpie_rows(table: _Table, formulas: pd.Series, magpie: dict[str, np.ndarray]) -> np.ndarray:
    r"""The Magpie block for ``formulas``; new formulas are featurised, unparsable ones are named."""
    missing = sorted({f for f in formulas if f not in magpie})
    if missing:
        found, invalid = _featurize(missing)
        if invalid:
            where = []
            for f in invalid[:MAX_LISTED]:
                first = int(formulas.index[(formulas == f).to_numpy()][0])
                where.append(f"{f!r} ({table.row(first)})")
            raise SuggestInputError(
                f"{_plural(len(invalid), 'formula')} in {table.named} cannot be parsed or featurised with "
                f"Magpie: {_listed(where, limit=len(where))}{' and more' if len(invalid) > MAX_LISTED else ''}. "
                "Fix the formulas (e.g. 'Fe2O3') or remove these rows."
            )
        magpie.update(found)
    return np.vstack([magpie[f] for f in formulas]) if len(formulas) else np.zeros((0, 0))


def _arrow_numeric(arrow_type: Any) -> bool:
    r"""Whether a Parquet column can be a streamed feature (integer or floating Arrow type)."""
    import pyarrow as pa

    return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))


def _load_parquet_pool(
    path: Path, *, id_column: str | None, features: Sequence[str] | None, targets: Sequence[str]
) -> _Pool:
    r"""A Parquet pool without formulas, streamed: only the schema and the id column are read whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from axfusion.candidates import CandidatePool

    path = _as_path(path, "pool")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise SuggestInputError(f"Cannot read the pool file {str(path)!r}: {error}") from error
    names = [str(n) for n in schema.names]
    numeric = {n: _arrow_numeric(schema.field(n).type) for n in names}
    shell = _Table(pd.DataFrame(columns=names), path.name, path, "pool")
    if id_column is not None:
        shell.require(id_column, "id")
    raw = _resolve_features(
        shell, numeric, features=features, id_column=id_column, formula_column=None, targets=targets
    )
    if not raw:
        raise SuggestInputError(
            f"{_cap(shell.named)} has no feature column once the id and target columns are set aside."
        )
    try:
        pool = CandidatePool.from_parquet(path, columns=raw)
        ids = None if id_column is None else pq.read_table(path, columns=[id_column]).column(0).to_pandas()
    except (pa.ArrowException, ValueError, KeyError, TypeError, OSError) as error:
        raise SuggestInputError(f"Cannot read the pool file {str(path)!r}: {error}") from error
    frame = pd.DataFrame(index=range(pool.n_rows)) if ids is None else pd.DataFrame({id_column: ids})
    out = _Pool(pool, _Table(frame, path.name, path, "pool"), raw, raw, id_column, None, ids, None, {})
    _check_pool_ids(out)
    try:
        out.hash_index()  # reads every row once: NaN or infinite values are reported here
    except ValueError as error:
        raise SuggestInputError(f"{_cap(shell.named)} has invalid values: {error}.") from error
    return out


def _load_pool(
    source: TableSource,
    *,
    id_column: str | None,
    formula_column: str | None,
    features: Sequence[str] | None,
    targets: Sequence[str],
) -> _Pool:
    r"""Read and validate the pool; build the :class:`CandidatePool` the optimiser runs on."""
    if not isinstance(source, pd.DataFrame) and formula_column is None and _is_parquet(Path(source)):
        return _load_parquet_pool(Path(source), id_column=id_column, features=features, targets=targets)
    table = _read_table(source, "pool")
    frame = table.frame
    if len(frame) == 0:
        raise SuggestInputError(f"{_cap(table.named)} has no rows.")
    if id_column is not None:
        table.require(id_column, "id")
    if formula_column is not None:
        table.require(formula_column, "formula")
    numeric = {
        c: bool(pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_complex_dtype(frame[c]))
        for c in frame.columns
    }
    raw = _resolve_features(
        table, numeric, features=features, id_column=id_column, formula_column=formula_column, targets=targets
    )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    magpie: dict[str, np.ndarray] = {}
    formulas = None
    if formula_column is not None:
        from axfusion.data import composition_feature_names

        magpie_names = composition_feature_names()
        clash = [c for c in raw if c in set(magpie_names)]
        if clash:
            raise SuggestInputError(
                f"{_cap(table.named)} already has Magpie column(s) {clash[:MAX_LISTED]}; drop --formula-column "
                "to use them as they are, or leave them out with --features."
            )
        formulas = _formula_strings(table, formula_column)
        blocks.append(_magpie_rows(table, formulas, magpie))
        names.extend(magpie_names)
    if raw:
        blocks.append(_numeric_frame(table, raw))
        names.extend(raw)
    if not blocks:
        raise SuggestInputError(
            f"{_cap(table.named)} has no feature column: give numeric feature columns or a --formula-column."
        )
    from axfusion.candidates import CandidatePool

    X = np.hstack(blocks)
    pool = CandidatePool.from_array(X, feature_names=names)
    ids = frame[id_column] if id_column is not None else None
    out = _Pool(pool, table, names, raw, id_column, formula_column, ids, formulas, magpie)
    _check_pool_ids(out)
    return out


def _check_pool_ids(p: _Pool) -> None:
    r"""Pool ids must be present and unique (they name rows in both tables)."""
    if p.ids is None:
        return
    missing = np.flatnonzero(p.ids.isna().to_numpy())
    if missing.size:
        raise SuggestInputError(
            f"The id column {p.id_column!r} of {p.table.named} is empty in {p.table.rows(missing.tolist())}."
        )
    dup = p.ids.duplicated(keep=False).to_numpy()
    if dup.any():
        values = list(dict.fromkeys(p.ids[dup].tolist()))
        detail = []
        for v in values[:MAX_LISTED]:
            rows = np.flatnonzero((p.ids == v).to_numpy()).tolist()
            detail.append(f"{v!r} ({p.table.rows(rows)})")
        raise SuggestInputError(
            f"The id column {p.id_column!r} of {p.table.named} has duplicated ids: {_listed(detail)}. "
            "Each pool row needs its own id."
        )


# --------------------------------------------------------------------------- the measurements
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
    if pool.raw_features:
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
    unresolved = np.array(unresolved, dtype=np.int64)
    if unresolved.size:
        k = int(unresolved[0])
        shown = {c: _plain(sub.frame[c].iloc[k]) for c in needed[:8]}
        more = f" (+{len(needed) - 8} more columns)" if len(needed) > 8 else ""
        raise SuggestInputError(
            f"{_plural(unresolved.size, 'measured row')} of {table.label} "
            f"{_verb(unresolved.size, 'matches', 'match')} no pool row "
            f"({table.rows([int(rows[u]) for u in unresolved])}). The first unmatched feature row is "
            f"{shown}{more}. Feature values must equal the pool's (up to a relative {MATCH_RTOL:g}); "
            f"or match rows by --id-column or a {ROW_ID_COLUMN!r} column."
        )
    if exhausted:
        k, cands = exhausted[0]
        raise SuggestInputError(
            f"{_cap(table.label)} {table.row(int(rows[k]))} repeats a design that is already matched: its feature row "
            f"occurs {_plural(len(cands), 'time')} in the pool (pool rows {_listed(cands)}) and every one is taken "
            "by another measured row. Each design is measured once: average repeated measurements into one row."
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


def _load_measured(source: TableSource, pool: _Pool, names: Sequence[str]) -> _Measured:
    r"""Read the measured table, check its targets and match every row to a pool position."""
    table = _read_table(source, "measured")
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
        rest = np.flatnonzero(~by_position)
        if rest.size:
            taken = set(positions[by_position].tolist())
            positions[rest] = _match_features(table, rest, pool, taken)
    counts = Counter(positions.tolist())
    repeated = [p for p, k in counts.items() if k > 1]
    if repeated:
        p = repeated[0]
        rows = np.flatnonzero(positions == p).tolist()
        who = f"id {pool.ids.iloc[p]!r}" if pool.ids is not None else f"{ROW_ID_COLUMN} {p}"
        raise SuggestInputError(
            f"{_cap(table.label)} measures the same pool row ({who}) more than once: {table.rows(rows)}"
            f"{f'; {len(repeated) - 1} more pool rows are repeated' if len(repeated) > 1 else ''}. "
            "Each design is measured once: average repeated measurements into one row."
        )
    failed = np.isnan(Y).any(axis=1)
    return _Measured(table, positions, Y, failed)


# --------------------------------------------------------------------------- the campaign
def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r"""``**optimizer_options`` -> (OptimizerConfig fields, constructor extras)."""
    from axfusion.optimizer import OptimizerConfig

    fields = {f.name for f in dataclasses.fields(OptimizerConfig)}
    unknown = sorted(k for k in options if k not in fields and k not in _EXTRA_OPTIONS)
    if unknown:
        raise TypeError(
            f"Unknown optimizer option(s) {unknown}; use OptimizerConfig fields {sorted(fields)} "
            f"or {list(_EXTRA_OPTIONS)}."
        )
    cfg = {k: v for k, v in options.items() if k in fields}
    if cfg.get("families") is not None:
        from axfusion.models import list_families

        families = [cfg["families"]] if isinstance(cfg["families"], str) else list(cfg["families"])
        known = list_families()
        unknown_families = [f for f in families if isinstance(f, str) and f not in known]
        if not families:
            raise SuggestInputError(f"Give at least one surrogate family; the registered families are {known}.")
        if unknown_families:
            raise SuggestInputError(
                f"Unknown surrogate family name(s) {unknown_families}; the registered families are {known}."
            )
        cfg["families"] = tuple(families)
    for key, least in (("n_members", 2), ("n_jobs", 1), ("batch_size", 1)):
        value = cfg.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least):
            raise SuggestInputError(f"The option {key} must be a whole number of at least {least}, not {value!r}.")
    return cfg, {k: v for k, v in options.items() if k in _EXTRA_OPTIONS}


def _open_campaign(
    campaign: Path | None,
    pool: _Pool,
    names: list[str],
    targets: list[Target],
    *,
    seed: int,
    batch_size: int,
    options: Mapping[str, Any],
) -> tuple[FusionOptimizer, bool]:
    r"""A new optimiser, or the one resumed from ``campaign``; also whether it was resumed."""
    from axfusion.acquisition.targets import Target
    from axfusion.optimizer import CampaignMismatchError, FusionOptimizer, OptimizerConfig

    cfg, extra = _split_options(options)
    if campaign is None or not campaign.exists():
        config = OptimizerConfig(**{"batch_size": batch_size, **cfg})
        opt = FusionOptimizer(
            pool.pool, targets, target_names=names, config=config, seed=seed, state_path=None, **extra
        )
        return opt, False
    if not campaign.is_file():
        raise SuggestInputError(f"The campaign path {str(campaign)!r} exists but is not a file.")
    try:
        with open(campaign) as fh:
            state = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SuggestInputError(f"{campaign.name} is not an axfusion campaign file (not JSON: {error}).") from error
    except OSError as error:
        raise SuggestInputError(f"Cannot read the campaign file {str(campaign)!r}: {error}") from error
    if not isinstance(state, dict) or "observations" not in state or "targets" not in state:
        raise SuggestInputError(f"{campaign.name} is not an axfusion campaign file.")
    if state.get("kind") != "pool":
        raise SuggestInputError(f"{campaign.name} is a campaign over a search space, not over a candidate pool.")
    try:
        saved = [Target(**{k: t[k] for k in ("kind", "value", "lower", "upper", "name")}) for t in state["targets"]]
    except (KeyError, TypeError, ValueError) as error:
        raise SuggestInputError(
            f"{campaign.name} is not a complete axfusion campaign file (targets: {error})."
        ) from error
    if list(state.get("target_names", [])) != names or [dataclasses.replace(t, name=None) for t in saved] != [
        dataclasses.replace(t, name=None) for t in targets
    ]:
        saved_names = state.get("target_names", [])
        was = ", ".join(_describe_target(dataclasses.replace(t, name=n)) for t, n in zip(saved, saved_names))
        now = ", ".join(_describe_target(t) for t in targets)
        raise SuggestInputError(
            f"The campaign {campaign.name} was started for the targets {was}; this call asks for {now}. "
            "Use the campaign's targets, or start a new campaign with another --campaign path."
        )
    try:
        opt = FusionOptimizer.resume(
            campaign, pool.pool, **{k: v for k, v in extra.items() if k != "ref_point"}
        )
    except CampaignMismatchError as error:
        saved_pool = state.get("pool") or {}
        shape = (saved_pool.get("n_rows"), saved_pool.get("n_features"))
        same_shape = shape == (pool.n_rows, len(pool.feature_names))
        raise SuggestInputError(
            f"The campaign {campaign.name} belongs to another pool: it was started on a pool of "
            f"{shape[0]} rows x {shape[1]} features, and this pool ({pool.table.named}) has {pool.n_rows} rows x "
            f"{len(pool.feature_names)} features{' with different values' if same_shape else ''}. Give the "
            "campaign's pool (same rows, order and feature columns), or start a new campaign with another "
            "--campaign path."
        ) from error
    except ValueError as error:
        raise SuggestInputError(f"Cannot continue the campaign {campaign.name}: {error}") from error
    except (KeyError, TypeError) as error:
        raise SuggestInputError(
            f"{campaign.name} is not a complete axfusion campaign file (missing {error})."
        ) from error
    current = {**{k: getattr(opt.config, k) for k in cfg}, "ref_point": opt.ref_point}
    given = dict(cfg)
    if extra.get("ref_point") is not None:
        given["ref_point"] = [float(v) for v in extra["ref_point"]]
    ignored = {k: v for k, v in given.items() if k not in _EXECUTION_ONLY and current[k] != v}
    if ignored:
        warnings.warn(
            f"the campaign {campaign.name} keeps the settings it was started with, so that it continues exactly; "
            f"ignored: {ignored} (the campaign has {({k: current[k] for k in ignored})}).",
            SuggestWarning,
            stacklevel=4,
        )
    execution = {k: v for k, v in cfg.items() if k in _EXECUTION_ONLY}
    if execution:
        opt.config = dataclasses.replace(opt.config, **execution)
    opt.state_path = None  # saved once, when the whole call has succeeded
    return opt, True


@dataclass
class _Outcome:
    r"""What one suggest call did (for the CLI's summary)."""

    table: pd.DataFrame
    iteration: int
    campaign: Path | None
    resumed: bool
    n_measured_rows: int
    n_new: int
    n_new_failed: int
    n_pending: int
    n_available: int
    pool_label: str
    measured_label: str
    n_pool_rows: int
    n_features: int


def _output_table(s_table: pd.DataFrame, iteration: int, pool: _Pool) -> pd.DataFrame:
    r"""The suggestion table with the pool's id and formula in front."""
    rid = s_table[ROW_ID_COLUMN].to_numpy(dtype=np.int64)
    front: dict[str, Any] = {}
    if pool.id_column is not None:
        front[pool.id_column] = pool.ids.iloc[rid].to_numpy()
    if pool.id_column != ROW_ID_COLUMN:
        front[ROW_ID_COLUMN] = rid
    if pool.formula_column is not None and pool.formula_column != pool.id_column:
        front[pool.formula_column] = pool.formulas.iloc[rid].to_numpy()
    front["iteration"] = np.full(rid.size, iteration, dtype=np.int64)
    rest = s_table.drop(columns=[ROW_ID_COLUMN]).reset_index(drop=True)
    clash = [c for c in front if c in rest.columns]
    if clash:
        raise SuggestInputError(
            f"The id/formula column name(s) {clash} clash with output columns {list(rest.columns)}; rename them."
        )
    return pd.concat([pd.DataFrame(front), rest], axis=1)


def _run(
    pool: TableSource,
    measured: TableSource,
    targets: Sequence[str] | str,
    *,
    directions: Any = None,
    batch_size: int = 10,
    id_column: str | None = None,
    formula_column: str | None = None,
    features: Sequence[str] | None = None,
    campaign: str | os.PathLike[str] | None = None,
    seed: int = 0,
    optimizer_options: Mapping[str, Any] | None = None,
    deliver: Callable[[pd.DataFrame], None] | None = None,
) -> _Outcome:
    r"""The whole suggest call; see :func:`suggest_next`.

    ``deliver`` (the CLI's writer of ``--out``) receives the table before the
    campaign is saved, so a batch that could not be delivered is never left pending.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SuggestInputError(f"The batch size must be a whole number of at least 1, not {batch_size!r}.")
    batch_size = int(batch_size)
    names, target_specs = _parse_targets(targets, directions)
    pool_path = None if isinstance(pool, pd.DataFrame) else Path(pool)
    measured_path = None if isinstance(measured, pd.DataFrame) else Path(measured)
    campaign_path = None if campaign is None else Path(campaign)
    if _same_file(pool_path, measured_path):
        raise SuggestInputError(
            f"The pool and the measured table are the same file ({pool_path}); the measured table lists only the "
            "measured rows (an empty target marks a failed measurement)."
        )
    for given, role in ((pool_path, "pool"), (measured_path, "measured")):
        if _same_file(campaign_path, given):
            raise SuggestInputError(
                f"The campaign path {str(campaign_path)!r} is the {role} file; it would be overwritten. "
                "Choose another campaign path."
            )
    for name in names:
        if name in (id_column, formula_column):
            raise SuggestInputError(f"Column {name!r} cannot be both a target and the id/formula column.")

    p = _load_pool(pool, id_column=id_column, formula_column=formula_column, features=features, targets=names)
    m = _load_measured(measured, p, names)
    opt, resumed = _open_campaign(
        campaign_path, p, names, target_specs, seed=seed, batch_size=batch_size, options=optimizer_options or {}
    )

    def who(pos: int) -> str:
        return f"id {p.ids.iloc[pos]!r}" if p.ids is not None else f"{ROW_ID_COLUMN} {pos}"

    recorded = {o.key: o for o in opt.observations}
    new = np.array([int(pos) not in recorded for pos in m.positions], dtype=bool)
    changed = []
    for i in np.flatnonzero(~new):
        o = recorded[int(m.positions[i])]
        old = np.array([np.nan if v is None else v for v in o.y], dtype=np.float64)
        old_failed = bool(o.failed)
        if old_failed != bool(m.failed[i]) or (not old_failed and not np.allclose(old, m.Y[i], rtol=1e-12, atol=0.0)):
            changed.append(f"{m.table.row(int(i))} ({who(int(m.positions[i]))})")
    if changed:
        warnings.warn(
            f"{_plural(len(changed), 'row')} of {m.table.label} {_verb(len(changed), 'differs', 'differ')} "
            "from the values the campaign recorded "
            f"earlier: {_listed(changed)}. The campaign keeps the recorded values (a design is measured once); "
            "start a new campaign to use the corrected values.",
            SuggestWarning,
            stacklevel=3,
        )
    in_file = set(int(x) for x in m.positions)
    absent = [k for k in recorded if int(k) not in in_file]
    if absent:
        warnings.warn(
            f"{_plural(len(absent), 'measurement')} recorded in the campaign {_verb(len(absent), 'is', 'are')} "
            f"not in {m.table.label} "
            f"({_listed([who(int(k)) for k in absent])}); the campaign keeps them.",
            SuggestWarning,
            stacklevel=3,
        )
    new_failed = np.flatnonzero(new & m.failed)
    if new_failed.size:
        parts = []
        for j, name in enumerate(names):
            miss = new_failed[np.isnan(m.Y[new_failed, j])]
            if miss.size:
                parts.append(f"{name!r} in {m.table.rows(miss.tolist())}")
        warnings.warn(
            f"{_plural(new_failed.size, 'measured row')} of {m.table.label} "
            f"{_verb(new_failed.size, 'has', 'have')} no value for a target "
            f"({'; '.join(parts)}): treated as failed measurements -- recorded in the campaign, never suggested "
            "again, and not used to fit the surrogates.",
            SuggestWarning,
            stacklevel=3,
        )

    n_success = opt.n_observed + int((new & ~m.failed).sum())
    if n_success < MIN_SUCCESSFUL:
        n_fail = sum(o.failed for o in opt.observations) + int(new_failed.size)
        raise SuggestInputError(
            f"The fusion optimiser needs at least {MIN_SUCCESSFUL} successful measurements to fit its surrogates; "
            f"there {'is' if n_success == 1 else 'are'} {n_success} (and {_plural(n_fail, 'failed measurement')}) "
            f"in {m.table.label}{' and the campaign' if resumed else ''}."
        )
    new_pos = m.positions[new]
    n_evaluated = len(opt.observations) + int(new.sum())
    pending = [q for q in opt.pending if q not in set(new_pos.tolist())]
    available = p.n_rows - n_evaluated - len(pending)
    if batch_size > available:
        raise SuggestInputError(
            f"The batch of {batch_size} rows is larger than the remaining pool: {available} rows are left to suggest "
            f"({p.n_rows} pool rows - {n_evaluated} measured - {len(pending)} pending). Ask for at most {available}."
        )
    if new.any():
        opt.observe(ids=new_pos, Y=m.Y[new], failed=m.failed[new])
    suggestion = opt.suggest(batch_size)
    table = _output_table(suggestion.table, suggestion.iteration, p)
    if deliver is not None:
        deliver(table)
    if campaign_path is not None:
        opt.state_path = campaign_path
        opt.save()
    return _Outcome(
        table=table,
        iteration=suggestion.iteration,
        campaign=campaign_path,
        resumed=resumed,
        n_measured_rows=len(m.positions),
        n_new=int(new.sum()),
        n_new_failed=int(new_failed.size),
        n_pending=len(opt.pending),
        n_available=p.pool.n_available,
        pool_label=p.table.label,
        measured_label=m.table.label,
        n_pool_rows=p.n_rows,
        n_features=len(p.feature_names),
    )


def suggest_next(
    pool: TableSource,
    measured: TableSource,
    targets: Sequence[str] | str,
    *,
    directions: Mapping[str, DirectionSpec] | Sequence[DirectionSpec] | DirectionSpec = None,
    batch_size: int = 10,
    id_column: str | None = None,
    formula_column: str | None = None,
    features: Sequence[str] | None = None,
    campaign: str | os.PathLike[str] | None = None,
    seed: int = 0,
    **optimizer_options: Any,
) -> pd.DataFrame:
    r"""Suggest the next batch of pool rows to measure, given the measurements so far.

    Example:
        >>> nxt = suggest_next("pool.csv", "measured.csv", "Tc", batch_size=10,
        ...                    id_column="id", campaign="tc.campaign.json")
        >>> nxt[["id", "mean[Tc]", "std[Tc]", "utility", "reason"]]

    Args:
        pool: The candidate pool: a CSV or Parquet (``.parquet``/``.pq``) file, or a
            DataFrame; one row per candidate. Read only.
        measured: The measurements so far: a CSV/Parquet file or a DataFrame with the
            target column(s) and, per row, the id column, a ``row_id`` (pool position)
            or the full feature row (see the module docstring for the matching rules).
            An empty target marks a failed measurement. Read only.
        targets: Target column name(s) in ``measured``.
        directions: What to do with each target: ``None`` (maximise all), one
            direction for all targets, a list with one per target, or a dict
            ``{target: direction}``. A direction is ``"maximize"``, ``"minimize"``, a
            number (reach that value), a ``(low, high)`` window (``None`` for an open
            end) or a :class:`~axfusion.acquisition.Target`.
        batch_size: Rows to suggest (at most the rows neither measured nor pending).
        id_column: Column of unique row ids, in both tables; rows are matched by it.
        formula_column: Column of chemical formulas in the pool (and in ``measured``
            when rows are matched by features), featurised with Magpie (132 columns,
            cached on disk; see :func:`~axfusion.data.featurize_formulas_cached`).
        features: Numeric pool columns used as features; default every column that is
            not the id, formula or a target column. The formula's Magpie features are
            added to these.
        campaign: Campaign file (JSON). If it exists the campaign continues: rows it
            has recorded are not observed again and its pending rows are not
            suggested; it is (re)written when the call succeeds. ``None`` keeps no
            state: every measured row is observed afresh and nothing is pending.
        seed: Seed of a new campaign (a resumed campaign keeps its own seed).
        **optimizer_options: :class:`~axfusion.optimizer.OptimizerConfig` fields
            (e.g. ``families=("ridge", "knn", "lightgbm")``, ``n_members=3``,
            ``n_jobs=2``) and ``fusion_config``, ``hv_config``, ``ref_point``. They
            apply when a campaign starts; a resumed campaign keeps its settings
            (``n_jobs`` excepted) and warns about options that differ.

    Returns:
        One row per suggestion, best first: the id column (when given), ``row_id``
        (pool position), the formula column (when given), ``iteration``,
        ``utility`` (the fusion score ``U = pi * acquisition``), ``pi`` (structural
        weight), ``acquisition``; per target ``mean[t]``, ``std[t]`` (the ensemble's
        prediction and spread, in the target's units), ``model[t]`` and
        ``fusion[t]`` (the two acquisition channels); ``cluster`` and ``reason``.

    Raises:
        SuggestInputError: Any problem with the input, named in the message.
        TypeError: An unknown optimizer option.

    Warns:
        SuggestWarning: Failed (empty-target) measurements, rows whose values differ
            from the campaign's record, campaign rows missing from ``measured``, and
            ignored options of a resumed campaign.
    """
    return _run(
        pool,
        measured,
        targets,
        directions=directions,
        batch_size=batch_size,
        id_column=id_column,
        formula_column=formula_column,
        features=features,
        campaign=campaign,
        seed=seed,
        optimizer_options=optimizer_options,
    ).table


# --------------------------------------------------------------------------- the CLI
def default_campaign_path(out: str | os.PathLike[str]) -> Path:
    r"""The campaign file kept next to ``out``: ``next.csv`` -> ``next.campaign.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.campaign.json")


def _parse_bound(text: str) -> float | None:
    r"""A window end: a number, or ``none``/``inf`` for an open end."""
    word = text.strip().lower()
    if word in ("none", "inf", "+inf", "-inf", "open"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number (or 'none' for an open end): {text!r}") from None


class _TargetAction(argparse.Action):
    r"""``--target COLUMN``: start a new target (maximised unless a direction follows)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        specs = list(getattr(namespace, self.dest) or [])
        specs.append({"name": str(values), "direction": None, "set_by": None})
        setattr(namespace, self.dest, specs)


class _DirectionAction(argparse.Action):
    r"""``--maximize``/``--minimize``/``--window LO HI``/``--value V``: the direction of the last ``--target``."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        specs = list(getattr(namespace, self.dest) or [])
        if not specs:
            raise argparse.ArgumentError(
                self, "give --target COLUMN first; a direction applies to the --target before it"
            )
        last = dict(specs[-1])
        if last["set_by"] is not None:
            raise argparse.ArgumentError(
                self, f"target {last['name']!r} already has a direction ({last['set_by']}); give one per --target"
            )
        if self.kind == "window":
            lo, hi = values
            direction: Any = (lo, hi)
        elif self.kind == "value":
            direction = float(values)
        else:
            direction = self.kind
        last.update(direction=direction, set_by=option_string)
        specs[-1] = last
        setattr(namespace, self.dest, specs)


_EPILOG = """\
Each --target may be followed by its direction (--maximize is the default):
  --target Tc --minimize --target gap --window 1.1 1.7
--window takes 'none' for an open end (e.g. --window 300 none).

Rows of --measured are matched to --pool rows by --id-column (in both files),
else by a 'row_id' column (pool positions, as written to --out), else by their
feature row (exactly, or up to rounding with a warning). An empty target cell
marks a failed measurement.

The campaign file (default: <out stem>.campaign.json next to --out) records the
measurements and the pending suggestions; the next call with the same campaign
observes only the new rows of --measured and never re-suggests pending rows.
--out is never overwritten unless --force is given; to write the next batch to
another file, pass the same --campaign.
"""


def add_suggest_parser(subparsers: Any) -> None:
    r"""Add the ``suggest`` sub-command to an ``argparse`` sub-parser set (sets ``func``).

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.
    """
    p = subparsers.add_parser(
        "suggest",
        help="suggest the next batch of pool rows to measure (real-lab workflow)",
        description=(
            "Suggest the next batch of candidates to measure from a pool, given the\n"
            "measurements so far, and keep a campaign file so that the next call continues.\n"
            "Writes one row per suggestion: row id, predicted mean and spread per target,\n"
            "the fusion utility with its channels, the cluster and a one-line reason."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--pool", required=True, metavar="FILE",
                   help="candidate pool: CSV or Parquet, one row per candidate")
    p.add_argument("--measured", required=True, metavar="FILE",
                   help="measurements so far: CSV or Parquet with the target column(s)")
    p.add_argument("--target", dest="targets", action=_TargetAction, required=True, metavar="COLUMN",
                   help="target column in --measured (repeat for several targets)")
    p.add_argument("--maximize", dest="targets", nargs=0, action=_DirectionAction, kind="maximize",
                   help="maximise the preceding --target (default)")
    p.add_argument("--minimize", dest="targets", nargs=0, action=_DirectionAction, kind="minimize",
                   help="minimise the preceding --target")
    p.add_argument("--window", dest="targets", nargs=2, type=_parse_bound, metavar=("LO", "HI"),
                   action=_DirectionAction, kind="window", help="bring the preceding --target into [LO, HI]")
    p.add_argument("--value", dest="targets", type=float, metavar="V", action=_DirectionAction, kind="value",
                   help="bring the preceding --target as close as possible to V")
    p.add_argument("--batch", type=int, default=10, metavar="N", help="rows to suggest (default: 10)")
    p.add_argument("--out", required=True, metavar="FILE", help="CSV to write the suggestions to")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--id-column", default=None, metavar="COLUMN", help="unique row ids, in both files")
    p.add_argument("--formula-column", default=None, metavar="COLUMN",
                   help="chemical formulas in the pool, featurised with Magpie")
    p.add_argument("--features", nargs="*", default=None, metavar="COLUMN",
                   help="numeric pool columns to use as features (default: all but id, formula and targets)")
    p.add_argument("--campaign", default=None, metavar="FILE",
                   help="campaign state file (default: <out stem>.campaign.json next to --out)")
    p.add_argument("--seed", type=int, default=0, help="seed of a new campaign (default: 0)")
    p.add_argument("--families", nargs="+", default=None, metavar="NAME",
                   help="surrogate families of a new campaign (default: the reservoir's defaults)")
    p.add_argument("--members", type=int, default=None, metavar="B",
                   help="bootstrap members per family of a new campaign")
    p.add_argument("--jobs", type=int, default=None, metavar="J", help="processes fitting the families")
    p.set_defaults(func=run_suggest_command)


def _write_csv(table: pd.DataFrame, out: Path, *, force: bool) -> None:
    r"""Write ``table`` to ``out``; without ``force`` an existing file is never replaced.

    With ``force`` the file is replaced atomically (temporary file, then rename);
    without it the file is created exclusively, so a file that appeared since the
    first check is not overwritten either.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            with open(out, "x", newline="") as fh:
                table.to_csv(fh, index=False)
        except FileExistsError:
            raise SuggestInputError(f"--out {out} already exists; pass --force to overwrite it.") from None
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            table.to_csv(fh, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _summary(outcome: _Outcome, out: Path, id_column: str | None, names: Sequence[str]) -> str:
    r"""What the CLI prints after a successful call: counts and the batch in brief."""
    lines = [
        f"axfusion suggest: iteration {outcome.iteration}"
        + (f" of the campaign {outcome.campaign}" if outcome.campaign is not None else ""),
        f"  pool {outcome.pool_label}: {outcome.n_pool_rows} rows x {outcome.n_features} features",
        f"  measured {outcome.measured_label}: {outcome.n_measured_rows} rows, {outcome.n_new} new"
        f" ({outcome.n_new_failed} failed)" + (", the rest already in the campaign" if outcome.resumed else ""),
        f"  pending (suggested, not yet measured): {outcome.n_pending} rows, incl. this batch;"
        f" {outcome.n_available} rows left to suggest",
        f"  wrote {len(outcome.table)} suggestions to {out}",
        "",
    ]
    cols = [c for c in (id_column, ROW_ID_COLUMN) if c is not None and c in outcome.table.columns][:1]
    for name in names:
        cols += [f"mean[{name}]", f"std[{name}]"]
    cols += ["utility", "cluster"]
    lines.append(outcome.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return "\n".join(lines)


def run_suggest_command(args: argparse.Namespace) -> int:
    r"""The ``axfusion suggest`` handler.

    Prints the summary and returns 0; on bad input prints ``error: ...`` to stderr
    and returns 2. :class:`SuggestWarning` messages are printed as ``warning: ...``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SuggestWarning)
        try:
            outcome, out, names = _command(args)
        except SuggestInputError as error:
            _print_warnings(caught)
            print(f"error: {error}", file=sys.stderr)
            return 2
    _print_warnings(caught)
    print(_summary(outcome, out, args.id_column, names))
    return 0


def _print_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    r"""Print :class:`SuggestWarning` as ``warning: ...``; show other warnings as Python would."""
    for w in caught:
        if issubclass(w.category, SuggestWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _command(args: argparse.Namespace) -> tuple[_Outcome, Path, list[str]]:
    r"""Check the CLI arguments, run the call and write ``--out``."""
    specs = args.targets or []
    names = [s["name"] for s in specs]
    directions = [s["direction"] for s in specs]
    out = Path(args.out)
    campaign = Path(args.campaign) if args.campaign is not None else default_campaign_path(out)
    for given, role in ((args.pool, "--pool"), (args.measured, "--measured"), (campaign, "--campaign")):
        if _same_file(out, Path(given)):
            raise SuggestInputError(f"--out {out} is the {role} file; it would be overwritten. Choose another --out.")
    if out.is_dir():
        raise SuggestInputError(f"--out {out} is a directory; give a file name.")
    if out.exists() and not args.force:
        hint = (
            f" (to write the next batch elsewhere and continue this campaign, pass --campaign {campaign})"
            if args.campaign is None
            else ""
        )
        raise SuggestInputError(
            f"--out {out} already exists; pass --force to overwrite it, or choose another --out{hint}."
        )
    options: dict[str, Any] = {}
    if args.families is not None:
        options["families"] = tuple(args.families)
    if args.members is not None:
        options["n_members"] = args.members
    if args.jobs is not None:
        options["n_jobs"] = args.jobs
    outcome = _run(
        args.pool,
        args.measured,
        names,
        directions=directions,
        batch_size=args.batch,
        id_column=args.id_column,
        formula_column=args.formula_column,
        features=args.features,
        campaign=campaign,
        seed=args.seed,
        optimizer_options=options,
        deliver=lambda table: _write_csv(table, out, force=args.force),
    )
    return outcome, out, names
