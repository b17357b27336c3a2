r"""Closed candidate pools: a fixed table of ``N`` rows, masked by index and scored in chunks.

Stage 2 of the method (closed pool): the candidate set is every row that is neither evaluated
nor pending. Rows are identified by their position ``0 .. N - 1`` only; evaluated and pending
rows are two boolean masks of length ``N`` (``2 N`` bytes), never a comparison of feature
vectors, so the cost of masking does not grow with the number of evaluated rows.

All reading goes through :meth:`CandidatePool.iter_chunks`, which holds one chunk of
``chunk_size`` rows in memory at a time (for Parquet, one decoded record batch);
:meth:`CandidatePool.top_k` keeps a bounded candidate set, so its memory is
``O(chunk_size + k)`` whatever ``N`` is (the back-end may be a memmap or a Parquet file larger
than memory).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from axfusion.candidates._ranking import RunningTopK
from axfusion.candidates._validation import as_row_ids, check_non_negative_int, check_positive_int
from axfusion.candidates.storage import ArrayStorage, ParquetStorage, PoolStorage

DEFAULT_CHUNK_SIZE = 16_384
r"""Rows read per chunk unless a call says otherwise (128 KiB per float64 column: a chunk of a
few dozen columns stays cache-sized, and larger chunks were not faster in the benchmark)."""

ScoreFn = Callable[[np.ndarray], np.ndarray]


class CandidatePool:
    r"""A closed pool of ``N`` candidate rows with ``d`` numeric features.

    Args:
        storage: The row source: a ``(N, d)`` numpy array (or memmap), or any
            :class:`~axfusion.candidates.storage.PoolStorage`. Prefer the constructors
            :meth:`from_array`, :meth:`from_npy`, :meth:`from_parquet` and :meth:`from_frame`.
        feature_names: Column names for an array source (``d`` strings).

    Attributes:
        column_scale: ``(d,)`` fixed input scales the optimiser uses instead of a column's
            standard deviation where finite (categorical columns; see
            :mod:`axfusion.data.encoding`), or ``None``.
        column_groups: ``(d,)`` for each column, the categorical input it encodes (its
            one-hot indicators or descriptors share one index), ``-1`` for a numeric column;
            or ``None`` when unknown (each fixed-scale column then counts as its own input).
        encoder: The :class:`~axfusion.data.encoding.FeatureEncoder` that built the
            features from a table with categorical columns (:meth:`from_table`), or ``None``.

    Example:
        >>> pool = CandidatePool.from_npy("pool.npy", mmap=True)
        >>> pool.mark_evaluated([3, 17])
        >>> ids, scores = pool.top_k(lambda X: X.sum(axis=1), k=10)
    """

    def __init__(
        self,
        storage: PoolStorage | np.ndarray,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(storage, np.ndarray):
            storage = ArrayStorage(storage, feature_names)
        else:
            if feature_names is not None:
                raise ValueError("feature_names applies to an array source only")
            needed = ("n_rows", "n_features", "feature_names", "iter_blocks", "read_rows")
            if not all(hasattr(storage, attr) for attr in needed):
                raise TypeError(
                    f"storage must be a numpy array or a PoolStorage, got {type(storage).__name__}"
                )
        self._storage = storage
        self._evaluated = np.zeros(storage.n_rows, dtype=bool)
        self._pending = np.zeros(storage.n_rows, dtype=bool)
        self.column_scale: np.ndarray | None = None
        self.column_groups: np.ndarray | None = None
        self.encoder: Any = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        feature_names: Sequence[str] | None = None,
        *,
        check_finite: bool = True,
    ) -> CandidatePool:
        r"""A pool over an in-memory ``(N, d)`` array (not copied)."""
        return cls(ArrayStorage(np.asarray(data), feature_names, check_finite=check_finite))

    @classmethod
    def from_npy(
        cls,
        path: str | os.PathLike[str],
        *,
        mmap: bool = True,
        feature_names: Sequence[str] | None = None,
        check_finite: bool = True,
    ) -> CandidatePool:
        r"""A pool over a ``.npy`` file holding an ``(N, d)`` array.

        Args:
            path: The ``.npy`` file.
            mmap: Map the file read-only (``numpy.load(mmap_mode="r")``) instead of loading it.
            feature_names: Optional ``d`` column names.
            check_finite: Raise when a chunk read contains NaN or infinite values.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"pool file not found: {path}")
        data = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        return cls(ArrayStorage(data, feature_names, check_finite=check_finite))

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        columns: Sequence[str] | None = None,
        *,
        materialize_max_bytes: int = 64 * 2**20,
        check_finite: bool = True,
    ) -> CandidatePool:
        r"""A pool over numeric columns of a Parquet file.

        The file is streamed in record batches with ``pyarrow``; it is read into memory once
        only when the ``float64`` table, ``8 N d`` bytes, is at most ``materialize_max_bytes``.

        Args:
            path: The Parquet file; row ``i`` of the file is pool row ``i``.
            columns: The feature columns, in order; default every numeric column.
            materialize_max_bytes: Load the table into memory when it is at most this big
                (``0`` always streams).
            check_finite: Raise when a chunk read contains NaN or infinite values.
        """
        check_non_negative_int(materialize_max_bytes, "materialize_max_bytes")
        storage = ParquetStorage(path, columns, check_finite=check_finite)
        if storage.nbytes <= materialize_max_bytes:
            return cls(
                ArrayStorage(
                    storage.read_all(), storage.feature_names, check_finite=check_finite
                )
            )
        return cls(storage)

    @classmethod
    def from_table(
        cls,
        frame: pd.DataFrame,
        *,
        categorical: Sequence[str] = (),
        ordinal: Mapping[str, Sequence[Any]] | None = None,
        descriptors: Mapping[str, Any] | None = None,
        smiles: Sequence[str] = (),
    ) -> CandidatePool:
        r"""A pool over every column of a table, categorical columns encoded.

        Text, boolean and ``category`` columns (and those named in ``categorical``) become
        one-hot indicators, ``ordinal`` columns their level ranks, ``descriptors`` columns
        their levels' descriptors, ``smiles`` columns their molecules' fingerprints
        (:class:`~axfusion.data.encoding.FeatureEncoder`); the
        pool records the encoder and the fixed scales of the categorical columns.

        Raises:
            DataValidationError: see :meth:`FeatureEncoder.fit`.
        """
        from axfusion.data.encoding import FeatureEncoder

        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        encoder = FeatureEncoder(categorical=categorical, ordinal=ordinal, descriptors=descriptors, smiles=smiles)
        X = encoder.fit_transform(frame.reset_index(drop=True))
        if X.shape[1] == 0:
            raise ValueError("The table has no columns.")
        bad = ~np.isfinite(X)
        if bad.any():
            cols = sorted({encoder.feature_names_out_[j] for j in np.flatnonzero(bad.any(axis=0))})
            raise ValueError(f"The table has missing or infinite values in column(s) {cols[:5]}.")
        pool = cls(ArrayStorage(X, list(encoder.feature_names_out_)))
        pool.column_scale = encoder.scale_or_none
        pool.column_groups = encoder.groups_or_none
        pool.encoder = encoder
        return pool

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> CandidatePool:
        r"""A pool over numeric columns of a DataFrame (copied to a float64 array).

        Args:
            frame: ``N`` rows; pool row ``i`` is the ``i``-th row (the index is ignored).
            columns: The feature columns, in order; default every numeric, non-boolean column.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        if columns is None:
            columns = [
                c
                for c in frame.columns
                if pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])
            ]
        columns = list(columns)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"columns not found in the frame: {missing}")
        non_numeric = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise TypeError(f"columns are not numeric: {non_numeric}")
        data = frame[columns].to_numpy(dtype=np.float64)
        return cls(ArrayStorage(data, [str(c) for c in columns]))

    # ------------------------------------------------------------------ shape and state
    @property
    def n_rows(self) -> int:
        r"""Total number of rows ``N`` (masked or not)."""
        return self._storage.n_rows

    def __len__(self) -> int:
        return self.n_rows

    @property
    def storage(self) -> PoolStorage:
        r"""The row source (array, memmap or Parquet); masks live on the pool, not here."""
        return self._storage

    @property
    def n_features(self) -> int:
        r"""Number of feature columns ``d``."""
        return self._storage.n_features

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        r"""Column names, when the source has them."""
        return self._storage.feature_names

    @property
    def n_available(self) -> int:
        r"""Number of rows neither evaluated nor pending."""
        return self.n_rows - int(np.count_nonzero(self._evaluated | self._pending))

    @property
    def n_evaluated(self) -> int:
        r"""Number of evaluated rows."""
        return int(np.count_nonzero(self._evaluated))

    @property
    def n_pending(self) -> int:
        r"""Number of pending rows."""
        return int(np.count_nonzero(self._pending))

    def available_ids(self) -> np.ndarray:
        r"""Ids of the rows neither evaluated nor pending, ascending, shape ``(n_available,)``."""
        return np.flatnonzero(~(self._evaluated | self._pending))

    def evaluated_ids(self) -> np.ndarray:
        r"""Ids of the evaluated rows, ascending."""
        return np.flatnonzero(self._evaluated)

    def pending_ids(self) -> np.ndarray:
        r"""Ids of the pending rows, ascending."""
        return np.flatnonzero(self._pending)

    def is_available(self, ids: Any) -> np.ndarray:
        r"""Boolean ``(k,)``: whether each of the ``k`` given rows is available."""
        ids = as_row_ids(ids, self.n_rows)
        return ~(self._evaluated[ids] | self._pending[ids])

    # ------------------------------------------------------------------ masking
    def mark_evaluated(self, ids: Any) -> None:
        r"""Mark rows as evaluated (idempotent); they stop being pending.

        Raises:
            IndexError: for an id outside ``0 .. N - 1``.
            ValueError: for a duplicated id.
        """
        ids = as_row_ids(ids, self.n_rows)
        self._evaluated[ids] = True
        self._pending[ids] = False

    def mark_pending(self, ids: Any) -> None:
        r"""Mark rows as pending (proposed, not yet evaluated).

        Raises:
            IndexError: for an id outside ``0 .. N - 1``.
            ValueError: for a duplicated id or a row that is already evaluated.
        """
        ids = as_row_ids(ids, self.n_rows)
        done = ids[self._evaluated[ids]]
        if done.size:
            raise ValueError(
                f"rows already evaluated cannot be marked pending: {done[:5].tolist()}"
            )
        self._pending[ids] = True

    def clear_pending(self, ids: Any = None) -> None:
        r"""Release pending rows: the given ones, or all of them when ``ids`` is None."""
        if ids is None:
            self._pending[:] = False
            return
        self._pending[as_row_ids(ids, self.n_rows)] = False

    def check_batch_size(self, q: int, ids: Any = None) -> None:
        r"""Raise unless ``q`` rows can be drawn from the available rows (of ``ids``, if given).

        Raises:
            ValueError: naming ``q`` and the number of available rows.
        """
        q = check_non_negative_int(q, "batch size")
        if ids is None:
            n_avail = self.n_available
            where = (
                f"pool of {self.n_rows} rows ({self.n_evaluated} evaluated, "
                f"{self.n_pending} pending)"
            )
        else:
            n_avail = int(self.is_available(ids).sum())
            where = f"{np.asarray(ids).size} given rows"
        if q > n_avail:
            raise ValueError(
                f"a batch of {q} rows was requested but only {n_avail} rows are available "
                f"in the {where}"
            )

    # ------------------------------------------------------------------ reading
    def iter_chunks(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE, ids: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        r"""Iterate over rows in chunks of at most ``chunk_size`` rows.

        Args:
            chunk_size: The most rows per chunk.
            ids: None for every available row (storage order, ascending id; chunks may hold
                fewer rows where masked rows were skipped); otherwise exactly these rows,
                masked or not, in ascending id order.

        Yields:
            ``(row_ids, X_chunk)`` with ``row_ids`` ``(k,)`` int64 and ``X_chunk`` ``(k, d)``
            float64.
        """
        chunk_size = check_positive_int(chunk_size, "chunk_size")
        if ids is None:
            yield from self._iter_available(chunk_size)
            return
        ids = np.sort(as_row_ids(ids, self.n_rows))
        for start in range(0, ids.size, chunk_size):
            chunk_ids = ids[start : start + chunk_size]
            yield chunk_ids, self._storage.read_rows(chunk_ids)

    def _iter_available(self, chunk_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start, block in self._storage.iter_blocks(chunk_size):
            stop = start + block.shape[0]
            keep = ~(self._evaluated[start:stop] | self._pending[start:stop])
            if keep.all():
                yield np.arange(start, stop, dtype=np.int64), block
            elif keep.any():
                local = np.flatnonzero(keep)
                yield local + start, block[local]

    def take(self, ids: Any) -> np.ndarray:
        r"""Rows ``ids`` (masked or not) in the order given, shape ``(k, d)`` float64."""
        ids = as_row_ids(ids, self.n_rows)
        order = np.argsort(ids, kind="stable")
        out = np.empty((ids.size, self.n_features), dtype=np.float64)
        if ids.size:
            out[order] = self._storage.read_rows(ids[order])
        return out

    def _candidate_chunks(
        self, chunk_size: int, ids: Any
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        r"""Chunks of available rows: all of them, or those of ``ids`` that are available."""
        if ids is None:
            return self.iter_chunks(chunk_size)
        ids = as_row_ids(ids, self.n_rows)
        return self.iter_chunks(chunk_size, ids=ids[~(self._evaluated[ids] | self._pending[ids])])

    # ------------------------------------------------------------------ scoring
    def score(
        self, fn: ScoreFn, chunk_size: int = DEFAULT_CHUNK_SIZE, ids: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Score every available row (or the available rows among ``ids``).

        Args:
            fn: Maps an ``(k, d)`` chunk to scores of shape ``(k,)`` or ``(k, m)``.
            chunk_size: The most rows per call of ``fn``.
            ids: Optional restriction; evaluated and pending rows among them are skipped.

        Returns:
            ``(row_ids, scores)``: ``(n,)`` ascending ids and ``(n,)`` or ``(n, m)`` scores.
        """
        all_ids: list[np.ndarray] = []
        all_scores: list[np.ndarray] = []
        n_outputs: int | None = None
        for row_ids, X in self._candidate_chunks(chunk_size, ids):
            s = _call_score_fn(fn, X)
            shape = s.shape[1:]
            if n_outputs is None:
                n_outputs = -1 if not shape else shape[0]
            elif (-1 if not shape else shape[0]) != n_outputs:
                raise ValueError("the score function changed its output width between chunks")
            all_ids.append(row_ids)
            all_scores.append(s)
        if not all_ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return np.concatenate(all_ids), np.concatenate(all_scores)

    def top_k(
        self,
        fn: ScoreFn,
        k: int,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        ids: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""The ``k`` available rows with the largest scores, in ``O(chunk_size + k)`` memory.

        Each chunk is cut to its best ``k`` rows (a partition around the ``k``-th largest
        score) and merged into a running set of at most ``2k`` rows, so the whole score vector
        never exists. Equal
        scores prefer the smaller row id: the result equals the first ``k`` entries of a full
        stable descending sort.

        Args:
            fn: Maps an ``(b, d)`` chunk to ``(b,)`` scores (no NaN).
            k: Number of rows to return.
            chunk_size: The most rows per call of ``fn``.
            ids: Optional restriction; evaluated and pending rows among them are skipped.

        Returns:
            ``(row_ids, scores)``, each ``(k,)``, best first.

        Raises:
            ValueError: if ``k`` exceeds the number of available rows (both numbers named).
        """
        k = check_positive_int(k, "k")
        self.check_batch_size(k, ids)
        best = RunningTopK(k)
        for row_ids, X in self._candidate_chunks(chunk_size, ids):
            s = _call_score_fn(fn, X)
            if s.ndim != 1:
                raise ValueError(
                    f"top_k needs one score per row, the function returned shape {s.shape}"
                )
            best.push(row_ids, s)
        best_ids, best_scores, _ = best.result()
        return best_ids, best_scores

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_rows={self.n_rows}, n_features={self.n_features}, "
            f"n_evaluated={self.n_evaluated}, n_pending={self.n_pending}, "
            f"storage={type(self._storage).__name__})"
        )


def _call_score_fn(fn: ScoreFn, X: np.ndarray) -> np.ndarray:
    r"""Call ``fn`` on a ``(k, d)`` chunk and check that it returns ``(k,)`` or ``(k, m)``."""
    s = np.asarray(fn(X), dtype=np.float64)
    if s.ndim not in (1, 2) or s.shape[0] != X.shape[0]:
        raise ValueError(
            f"the score function must return shape ({X.shape[0]},) or ({X.shape[0]}, m) "
            f"for a chunk of {X.shape[0]} rows, got {s.shape}"
        )
    if np.isnan(s).any():
        raise ValueError("the score function returned NaN")
    return s
