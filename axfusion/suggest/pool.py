r"""Loading the candidate pool: validation, features (numeric columns, categorical columns -- one-hot,
ordinal ranks or descriptor tables, :mod:`axfusion.data.encoding` -- and Magpie features of formulas)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from axfusion.suggest.errors import SuggestInputError
from axfusion.suggest.hashing import row_hashes
from axfusion.suggest.tables import (
    MAX_COLUMNS_SHOWN,
    MAX_LISTED,
    ROW_ID_COLUMN,
    TableSource,
    _as_path,
    _cap,
    _is_parquet,
    _listed,
    _plural,
    _Table,
    read_table,
)

if TYPE_CHECKING:  # imported where used: the CLI parser is built without torch/botorch
    from axfusion.candidates import CandidatePool

_SAMPLE_ROWS: int = 10_000
"""Pool rows read to choose the most distinct column for tolerant matching."""


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
    encoder: Any = None  # FeatureEncoder of raw_features when one of them is categorical
    _hash_index: tuple[np.ndarray, np.ndarray] | None = None
    _column_index: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def n_rows(self) -> int:
        r"""Rows in the pool."""
        return self.pool.n_rows

    @property
    def categorical_columns(self) -> list[str]:
        r"""The pool columns encoded as categorical (one-hot, ordinal or by descriptors)."""
        if self.encoder is None:
            return []
        return [e.name for e in self.encoder.columns_ if e.kind != "numeric"]

    def encoding_lines(self) -> list[str]:
        r"""One line per categorical column, e.g. ```solvent`: categorical, 3 levels``."""
        return [] if self.encoder is None else self.encoder.describe()

    def hash_index(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Sorted row hashes and the pool positions in that order (stable: ascending id on ties)."""
        if self._hash_index is None:
            self._check_unmasked()
            parts = [row_hashes(block) for _, block in self.pool.iter_chunks()]
            hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
            order = np.argsort(hashes, kind="stable")
            self._hash_index = (hashes[order], order)
        return self._hash_index

    def column_index(self) -> tuple[int, np.ndarray, np.ndarray]:
        r"""The pool column with the most distinct values (in the first rows), its sorted values and order.

        Rows whose values lie within a tolerance of a measured row's value in this
        column are the candidates of a tolerant match.
        """
        if self._column_index is None:
            self._check_unmasked()
            _, sample = next(self.pool.iter_chunks(chunk_size=min(_SAMPLE_ROWS, self.n_rows)))
            j = int(np.argmax([np.unique(sample[:, c]).size for c in range(sample.shape[1])]))
            values = np.concatenate([block[:, j] for _, block in self.pool.iter_chunks()])
            order = np.argsort(values, kind="stable")
            self._column_index = (j, values[order], order)
        return self._column_index

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
        # non-numeric columns are categorical features (axfusion.data.encoding)
        return [c for c in table.frame.columns if c not in reserved and c not in set(targets)]
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
    return chosen


def _encoded_features(
    table: _Table,
    raw: Sequence[str],
    *,
    categorical: Sequence[str],
    ordinal: Mapping[str, Sequence[Any]] | None,
    descriptors: Mapping[str, Any] | None,
    smiles: Sequence[str] = (),
) -> tuple[np.ndarray, list[str], Any]:
    r"""The raw feature columns encoded: ``(X, names, encoder)``; the encoder is ``None`` when
    every column is numeric (then ``X`` is :func:`_numeric_frame`)."""
    from axfusion.data.encoding import FeatureEncoder, is_text_column
    from axfusion.data.errors import DataValidationError

    declared = set(categorical) | set(ordinal or {}) | set(descriptors or {}) | set(smiles)
    unknown = sorted(c for c in declared if c not in raw)
    if unknown:
        where = "is not a column of" if all(c not in table.frame.columns for c in unknown) else "is not a feature of"
        raise SuggestInputError(
            f"Categorical, ordinal or descriptor column(s) {unknown} {where} {table.named}."
            + (f" Columns: {list(table.frame.columns)[:MAX_COLUMNS_SHOWN]}." if "column of" in where else "")
        )
    text = [c for c in raw if c in declared or is_text_column(table.frame[c])]
    if not text:
        return _numeric_frame(table, raw), list(raw), None
    numeric = [c for c in raw if c not in text]
    if numeric:
        _numeric_frame(table, numeric)  # names missing or infinite values
    encoder = FeatureEncoder(categorical=list(categorical), ordinal=ordinal, descriptors=descriptors, smiles=smiles)
    try:
        X = encoder.fit_transform(table.frame[list(raw)], label=table.named)
    except DataValidationError as error:
        raise SuggestInputError(str(error)) from error
    return X, list(encoder.feature_names_out_), encoder
def _refuse_id_like(table: _Table, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    r"""Refuse automatically chosen feature columns that hold row ids (``row_id``, ``sample_no``, a saved index).

    A column of row ids would be modelled as a property of the material; it must be named
    as the id column, or dropped. Columns chosen with ``features`` are taken as given.
    """
    from axfusion.data.validation import id_like_columns

    if ROW_ID_COLUMN in columns:
        raise SuggestInputError(
            f"{_cap(table.named)} has a {ROW_ID_COLUMN!r} column, as axfusion suggest writes to --out: is it a "
            "suggestions file? Give the candidate pool as --pool. If the column holds the pool's own row ids, "
            f"name it with --id-column {ROW_ID_COLUMN} (id_column={ROW_ID_COLUMN!r} in Python), or drop it."
        )
    found = id_like_columns(frame, [c for c in columns if c in frame.columns])
    if found:
        name, reason = next(iter(found.items()))
        more = f" (also {sorted(found)[1:]})" if len(found) > 1 else ""
        raise SuggestInputError(
            f"{_cap(table.named)} column {name!r}{more} looks like a row id, not a property to model ("
            f"{reason}). Name it as the id column with --id-column {name!r} (id_column={name!r} in Python; the "
            "measured file then carries it too), or drop it from the pool, or choose the feature columns with "
            "--features."
        )


def _numeric_frame(table: _Table, columns: Sequence[str]) -> np.ndarray:
    r"""``columns`` of ``table`` as a finite float64 array; non-finite values are named."""
    from axfusion.campaign.sources import MAX_ABS_VALUE

    X = table.frame[list(columns)].astype(np.float64).to_numpy()

    def where(mask: np.ndarray) -> tuple[list[str], str]:
        cols = [columns[int(j)] for j in np.flatnonzero(mask.any(axis=0))]
        return cols[:MAX_LISTED], table.rows(np.flatnonzero(mask.any(axis=1)).tolist())

    bad = ~np.isfinite(X)
    if bad.any():
        cols, rows = where(bad)
        raise SuggestInputError(
            f"{_cap(table.named)} has missing or infinite values in feature column(s) {cols} "
            f"({rows}). Fill or remove these rows, or leave the columns out of --features."
        )
    huge = np.abs(X) > MAX_ABS_VALUE
    if huge.any():
        cols, rows = where(huge)
        raise SuggestInputError(
            f"{_cap(table.named)} has values beyond {MAX_ABS_VALUE:g} in magnitude in feature column(s) "
            f"{cols} ({rows}); the models' standardisation would overflow. Rescale the "
            "column(s) (other units, or a logarithm), or leave them out with --features."
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
    if features is None:
        from axfusion.data.validation import id_like_name

        named = [c for c in raw if c == ROW_ID_COLUMN or id_like_name(c)]
        if named:
            try:
                values = pq.read_table(path, columns=named).to_pandas()
            except (pa.ArrowException, OSError) as error:
                raise SuggestInputError(f"Cannot read the pool file {str(path)!r}: {error}") from error
            _refuse_id_like(shell, values, named)
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


def load_pool(
    source: TableSource,
    *,
    id_column: str | None,
    formula_column: str | None,
    features: Sequence[str] | None,
    targets: Sequence[str],
    categorical: Sequence[str] = (),
    ordinal: Mapping[str, Sequence[Any]] | None = None,
    descriptors: Mapping[str, Any] | None = None,
    smiles: Sequence[str] = (),
) -> _Pool:
    r"""Read and validate the pool; build the :class:`CandidatePool` the optimiser runs on.

    Text, boolean and ``category`` columns, and those named in ``categorical``, ``ordinal``
    or ``descriptors``, are categorical features (:class:`~axfusion.data.encoding.FeatureEncoder`);
    the pool records their fixed input scales."""
    declared = bool(categorical) or bool(ordinal) or bool(descriptors) or bool(smiles)
    if (
        not isinstance(source, pd.DataFrame) and formula_column is None and not declared
        and _is_parquet(Path(source)) and _parquet_all_numeric(Path(source), id_column, features, targets)
    ):
        return _load_parquet_pool(Path(source), id_column=id_column, features=features, targets=targets)
    table = read_table(source, "pool")
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
    if features is None and ROW_ID_COLUMN in frame.columns and ROW_ID_COLUMN not in (id_column, formula_column):
        _refuse_id_like(table, frame, [ROW_ID_COLUMN])
    raw = _resolve_features(
        table, numeric, features=features, id_column=id_column, formula_column=formula_column, targets=targets
    )
    if features is None:
        _refuse_id_like(table, frame, raw)
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
    encoder = None
    if raw:
        X_raw, raw_names, encoder = _encoded_features(
            table, raw, categorical=categorical, ordinal=ordinal, descriptors=descriptors, smiles=smiles
        )
        blocks.append(X_raw)
        names.extend(raw_names)
    if not blocks:
        raise SuggestInputError(
            f"{_cap(table.named)} has no feature column: give numeric feature columns or a --formula-column."
        )
    from axfusion.candidates import CandidatePool

    X = np.hstack(blocks)
    pool = CandidatePool.from_array(X, feature_names=names)
    if encoder is not None and encoder.scale_or_none is not None:
        n_magpie = X.shape[1] - encoder.column_scale_.size
        pool.column_scale = np.concatenate([np.full(n_magpie, np.nan), encoder.column_scale_])
        pool.column_groups = np.concatenate([np.full(n_magpie, -1), encoder.column_groups_])
        pool.encoder = encoder
    ids = frame[id_column] if id_column is not None else None
    out = _Pool(pool, table, names, raw, id_column, formula_column, ids, formulas, magpie, encoder)
    _check_pool_ids(out)
    return out


def _parquet_all_numeric(
    path: Path, id_column: str | None, features: Sequence[str] | None, targets: Sequence[str]
) -> bool:
    r"""Whether a Parquet pool's feature columns are all numeric (then it is streamed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return True  # the streaming loader reports the error
    names = [str(n) for n in schema.names]
    chosen = list(features) if features is not None else [
        n for n in names if n != id_column and n not in set(targets)
    ]
    return all(_arrow_numeric(schema.field(n).type) for n in chosen if n in names)


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
