r"""Row storage behind a :class:`~axfusion.candidates.pool.CandidatePool`.

A storage only knows how to read rows of an ``(N, d)`` numeric table; masking, scoring and
selection live in the pool. Two back-ends:

- :class:`ArrayStorage` -- an in-memory ``numpy`` array or a read-only ``numpy.memmap``; blocks
  are slices (views of the map: the operating system pages them in, nothing is copied until a
  block is converted to ``float64``).
- :class:`ParquetStorage` -- a Parquet file streamed with ``pyarrow`` in record batches of
  ``max(chunk_size, read_batch_rows)`` rows, served in chunks of ``chunk_size``; random access
  reads only the row groups that hold the requested rows.

Both return ``float64`` blocks and raise on NaN or infinite values when ``check_finite`` is set,
naming the first offending row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from axfusion.candidates._validation import check_positive_int


class PoolStorage(Protocol):
    r"""Read access to an ``(N, d)`` numeric table."""

    @property
    def n_rows(self) -> int:
        r"""Number of rows ``N``."""

    @property
    def n_features(self) -> int:
        r"""Number of columns ``d``."""

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        r"""Column names, when the source has them."""

    def iter_blocks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
        r"""Yield ``(start, block)`` with ``block`` the ``(b, d)`` float64 rows
        ``start .. start + b - 1``, ``b <= chunk_size``, covering the table in order."""

    def read_rows(self, sorted_ids: np.ndarray) -> np.ndarray:
        r"""Return the ``(k, d)`` float64 rows for ascending, distinct ids ``(k,)``."""


def _check_finite(block: np.ndarray, start: int | np.ndarray) -> None:
    r"""Raise naming the first row of ``block`` with a NaN or infinite value.

    ``start`` is the id of the first row, or the ``(b,)`` ids of all rows."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = block.sum()
    if np.isfinite(total):  # fast path; a sum that overflows falls through to the scan
        return
    bad = ~np.isfinite(block).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        row = start + first if isinstance(start, int) else int(start[first])
        raise ValueError(f"candidate pool row {row} contains NaN or infinite values")


class ArrayStorage:
    r"""An ``(N, d)`` numpy array or memmap.

    Args:
        data: ``(N, d)`` array of a real or integer dtype. A memmap stays on disk.
        feature_names: Optional ``d`` column names.
        check_finite: Raise when a block read contains NaN or infinite values.
    """

    def __init__(
        self,
        data: np.ndarray,
        feature_names: Sequence[str] | None = None,
        *,
        check_finite: bool = True,
    ) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"pool data must be a numpy array, got {type(data).__name__}")
        if data.ndim != 2:
            raise ValueError(f"pool data must be 2-D (N, d), got shape {data.shape}")
        if data.dtype == bool or not (
            np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)
        ):
            raise TypeError(f"pool data must have a real numeric dtype, got {data.dtype}")
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise ValueError(f"pool data must have at least one row and column, got {data.shape}")
        self._data = data
        self._names = _check_names(feature_names, data.shape[1])
        self._check_finite = check_finite

    @property
    def n_rows(self) -> int:
        return int(self._data.shape[0])

    @property
    def n_features(self) -> int:
        return int(self._data.shape[1])

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return self._names

    def iter_blocks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.n_rows, chunk_size):
            block = np.asarray(self._data[start : start + chunk_size], dtype=np.float64)
            if np.shares_memory(block, self._data):
                block = block.view()
                block.flags.writeable = False  # a view of the pool: callers must not edit it
            if self._check_finite:
                _check_finite(block, start)
            yield start, block

    def read_rows(self, sorted_ids: np.ndarray) -> np.ndarray:
        block = np.asarray(self._data[sorted_ids], dtype=np.float64)
        if self._check_finite:
            _check_finite(block, sorted_ids)
        return block


class ParquetStorage:
    r"""Numeric columns of a Parquet file, read in record batches.

    Row ``i`` of the pool is row ``i`` of the file. Nothing is read at construction except the
    file's metadata.

    Args:
        path: The Parquet file.
        columns: The feature columns, in order; default every column of a numeric (integer
            or floating) Arrow type.
        check_finite: Raise when a block read contains NaN or infinite values.
        read_batch_rows: Rows decoded per ``pyarrow`` record batch when the requested chunks
            are smaller (decoding many small batches is slower); the batch is then served in
            chunks.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Sequence[str] | None = None,
        *,
        check_finite: bool = True,
        read_batch_rows: int = 65_536,
    ) -> None:
        self._path = os.fspath(path)
        if not os.path.exists(self._path):
            raise FileNotFoundError(f"Parquet pool file not found: {self._path}")
        self._file = pq.ParquetFile(self._path)
        schema = self._file.schema_arrow
        if columns is None:
            columns = [f.name for f in schema if _is_numeric(f.type)]
            if not columns:
                raise ValueError(f"Parquet file {self._path} has no numeric columns")
        else:
            if isinstance(columns, str):
                raise TypeError("columns must be a sequence of column names, not a string")
            columns = list(columns)
            missing = [c for c in columns if c not in schema.names]
            if missing:
                raise KeyError(f"columns not found in {self._path}: {missing}")
            non_numeric = [c for c in columns if not _is_numeric(schema.field(c).type)]
            if non_numeric:
                raise TypeError(
                    f"columns of {self._path} are not numeric: "
                    + ", ".join(f"{c} ({schema.field(c).type})" for c in non_numeric)
                )
        self._columns = tuple(_check_names(columns, len(columns)) or ())
        metadata = self._file.metadata
        self._group_rows = np.array(
            [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)],
            dtype=np.int64,
        )
        self._group_starts = np.r_[0, np.cumsum(self._group_rows)]
        if self.n_rows == 0:
            raise ValueError(f"Parquet pool file {self._path} has no rows")
        self._check_finite = check_finite
        self._read_batch_rows = check_positive_int(read_batch_rows, "read_batch_rows")

    @property
    def path(self) -> str:
        r"""The Parquet file."""
        return self._path

    @property
    def n_rows(self) -> int:
        return int(self._group_starts[-1])

    @property
    def n_features(self) -> int:
        return len(self._columns)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._columns

    @property
    def nbytes(self) -> int:
        r"""Size of the table as float64, ``8 N d`` bytes."""
        return 8 * self.n_rows * self.n_features

    def iter_blocks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
        start = 0
        batch_size = max(chunk_size, self._read_batch_rows)
        for batch in self._file.iter_batches(batch_size=batch_size, columns=list(self._columns)):
            block = self._to_numpy(batch, start)
            for offset in range(0, block.shape[0], chunk_size):
                yield start + offset, block[offset : offset + chunk_size]
            start += block.shape[0]

    def read_rows(self, sorted_ids: np.ndarray) -> np.ndarray:
        out = np.empty((sorted_ids.size, self.n_features), dtype=np.float64)
        groups = np.searchsorted(self._group_starts, sorted_ids, side="right") - 1
        bounds = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            group = int(groups[lo])
            table = self._file.read_row_group(group, columns=list(self._columns))
            local = sorted_ids[lo:hi] - self._group_starts[group]
            out[lo:hi] = self._to_numpy(table.take(pa.array(local)), sorted_ids[lo:hi])
        return out

    def read_all(self) -> np.ndarray:
        r"""Materialise the whole table as an ``(N, d)`` float64 array."""
        return self._to_numpy(self._file.read(columns=list(self._columns)), 0)

    def _to_numpy(self, table: pa.Table | pa.RecordBatch, start: int | np.ndarray) -> np.ndarray:
        block = np.empty((table.num_rows, self.n_features), dtype=np.float64)
        for j, name in enumerate(self._columns):
            column = table.column(j)
            if column.null_count:
                raise ValueError(
                    f"column {name!r} of {self._path} has missing values in the rows read"
                )
            block[:, j] = column.to_numpy(zero_copy_only=False)
        if self._check_finite:
            _check_finite(block, start)
        return block


def _is_numeric(arrow_type: pa.DataType) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _check_names(names: Sequence[str] | None, n: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    names = tuple(names)
    if len(names) != n:
        raise ValueError(f"expected {n} feature names, got {len(names)}")
    if any(not isinstance(name, str) for name in names):
        raise TypeError("feature names must be strings")
    if len(set(names)) != n:
        raise ValueError(f"feature names must be distinct, got {list(names)}")
    return names
