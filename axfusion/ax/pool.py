r"""Closed candidate pools inside Ax.

A pool experiment has one Ax parameter, the integer :data:`ROW_ID` in ``[0, N - 1]``:
each arm is one pool row, and the trial's parameterization *is* the row id. The pool's
features never enter Ax; the fusion node reads them from a
:class:`~axfusion.candidates.CandidatePool`, which masks evaluated and pending rows by
index (two boolean vectors of length ``N``), so no ``N x n`` mask or ``X_avoid`` tensor
is ever built.

The pool itself cannot live in Ax's storage (it may have 10^6 rows). What is stored is a
:class:`PoolReference`: a file path (``.npy``, opened as a memory map, or ``.parquet``)
or the key of a pool registered in this process with :func:`register_pool`, plus a
fingerprint of every row (:func:`~axfusion.candidates.pool_fingerprint`: shape, SHA-256 of
all rows, per-block and order-independent digests) that is checked whenever the pool is
resolved, so a reloaded experiment cannot silently run on another pool: a changed row, a
re-sorted pool or another row count raises
:class:`~axfusion.candidates.PoolMismatchError` naming what differs. A reference stored
before the full fingerprint (``{"n_rows", "n_features", "sha256_sample"}``) still loads; only
its shape is checked, with a
:class:`~axfusion.candidates.fingerprint.LegacyPoolFingerprintWarning`.

A registered pool is hashed once, when registered (do not change its rows in place
afterwards); a pool file is hashed when first opened and again only when the file's size,
modification time or inode change.

Example:
    >>> client = Client()
    >>> ref = configure_pool_experiment(client, X_pool, name="perovskites")
    >>> client.configure_optimization(objective="-formation_energy")
    >>> client.set_generation_strategy(fusion_generation_strategy(pool=ref, seed=0))
    >>> for index, params in client.get_next_trials(max_trials=5).items():
    ...     client.complete_trial(index, {"formation_energy": measure(params["row_id"])})
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from ax.api.configs import RangeParameterConfig
from ax.core.parameter import ParameterType, RangeParameter
from ax.core.search_space import SearchSpace as AxSearchSpace

from axfusion.candidates import ArrayStorage, CandidatePool, ParquetStorage, PoolStorage
from axfusion.candidates.fingerprint import PoolFingerprint, check_pool, compare, pool_fingerprint

__all__ = [
    "ROW_ID",
    "PoolReference",
    "PoolSource",
    "configure_pool_experiment",
    "pool_parameter_config",
    "pool_reference",
    "pool_search_space",
    "register_pool",
    "registered_pools",
    "unregister_pool",
]

#: Name of the Ax parameter that carries the pool row id.
ROW_ID = "row_id"

PoolSource: TypeAlias = CandidatePool | PoolStorage | np.ndarray | pd.DataFrame | str | os.PathLike[str]
r"""What a pool may be given as: a pool or its row source, an ``N x d`` array, a DataFrame
(text, boolean and ``category`` columns are categorical: encoded by
:meth:`~axfusion.candidates.CandidatePool.from_table`, one-hot with fixed scales), or the
path of a ``.npy``/``.parquet`` file."""

_REGISTRY: dict[str, PoolStorage] = {}
#: key -> (the FeatureEncoder of a pool with categorical columns, its table as given or None)
_REGISTERED_TABLES: dict[str, tuple[Any, pd.DataFrame | None]] = {}
_REGISTERED_FINGERPRINTS: dict[str, PoolFingerprint] = {}
_FILE_FINGERPRINTS: dict[tuple[str, int, int, int], PoolFingerprint] = {}
_FILE_CACHE_SIZE = 16


def _storage_of(pool: CandidatePool) -> PoolStorage:
    r"""The row source of a pool (a fresh :class:`CandidatePool` over it has clean masks)."""
    return pool.storage


def _is_numeric_column(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _parts(source: PoolSource) -> tuple[PoolStorage, tuple[Any, pd.DataFrame | None]]:
    r"""The row source of ``source`` and ``(encoder, table)`` when it has categorical columns:
    a DataFrame with a text, boolean or ``category`` column (encoded once; the table kept as
    given) or a pool built by :meth:`CandidatePool.from_table` (no table); else ``(None, None)``."""
    if isinstance(source, CandidatePool):
        return _storage_of(source), (source.encoder, None)
    if isinstance(source, pd.DataFrame) and not all(_is_numeric_column(source[c]) for c in source.columns):
        pool = CandidatePool.from_table(source)
        return _storage_of(pool), (pool.encoder, source.reset_index(drop=True).copy())
    return _storage_from(source), (None, None)


def _storage_from(source: PoolSource) -> PoolStorage:
    r"""The row source of a pool without categorical columns (:func:`_parts` takes the others)."""
    if isinstance(source, CandidatePool):
        return _storage_of(source)
    if isinstance(source, pd.DataFrame):
        return _storage_of(CandidatePool.from_frame(source))
    if isinstance(source, np.ndarray):
        return ArrayStorage(np.asarray(source, dtype=np.float64))
    if isinstance(source, (str, os.PathLike)):
        return _open_path(os.fspath(source))
    if all(hasattr(source, a) for a in ("n_rows", "n_features", "read_rows", "iter_blocks")):
        return source
    raise TypeError(
        "A pool must be a CandidatePool, an N x d array, a numeric DataFrame or a .npy/.parquet "
        f"path; got {type(source).__name__}."
    )


def _open_path(path: str) -> PoolStorage:
    if not os.path.exists(path):
        raise FileNotFoundError(f"Pool file not found: {path}")
    if path.endswith(".npy"):
        return ArrayStorage(np.load(path, mmap_mode="r", allow_pickle=False))
    if path.endswith(".parquet") or path.endswith(".pq"):
        storage = ParquetStorage(path)
        if storage.nbytes <= 64 * 2**20:
            return ArrayStorage(storage.read_all(), storage.feature_names)
        return storage
    raise ValueError(f"Pool files must be .npy or .parquet, got {path!r}.")


def fingerprint(storage: PoolStorage) -> dict[str, Any]:
    r"""The stored fingerprint of a pool's row source: every row hashed.

    Returns:
        :meth:`PoolFingerprint.as_dict` of :func:`~axfusion.candidates.pool_fingerprint`
        (``{"version", "n_rows", "n_features", "sha256", "chunk_rows", "chunk_sha256",
        "multiset", "positional"}``; about 0.4 s for ``10^6 x 20``).
    """
    return pool_fingerprint(storage).as_dict()


def _file_stamp(path: str) -> tuple[str, int, int, int]:
    st = os.stat(path)
    return (path, int(st.st_size), int(st.st_mtime_ns), int(st.st_ino))


def _remember_file(stamp: tuple[str, int, int, int], fp: PoolFingerprint) -> None:
    if stamp not in _FILE_FINGERPRINTS and len(_FILE_FINGERPRINTS) >= _FILE_CACHE_SIZE:
        _FILE_FINGERPRINTS.pop(next(iter(_FILE_FINGERPRINTS)))
    _FILE_FINGERPRINTS[stamp] = fp


def _file_fingerprint(path: str) -> tuple[PoolStorage, PoolFingerprint]:
    r"""Open the pool file at ``path`` and fingerprint it (hashing it only when it changed)."""
    stamp = _file_stamp(path)
    storage = _open_path(path)
    fp = _FILE_FINGERPRINTS.get(stamp)
    if fp is None:
        fp = pool_fingerprint(storage)
        _remember_file(stamp, fp)
    return storage, fp


def register_pool(key: str, source: PoolSource) -> PoolReference:
    r"""Register a pool under ``key`` for this process and return its reference.

    Register the same pool again under the same key before continuing a reloaded
    experiment that refers to it (the fingerprint is checked). Every row is hashed here,
    once (about 0.4 s for ``10^6 x 20``); do not change the rows in place afterwards.

    Raises:
        ValueError: if ``key`` is already registered for a different pool.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("A pool key must be a non-empty string.")
    storage, table = _parts(source)
    return _register(key, storage, pool_fingerprint(storage), table)


def _register(
    key: str, storage: PoolStorage, fp: PoolFingerprint, table: tuple[Any, pd.DataFrame | None] = (None, None)
) -> PoolReference:
    if key in _REGISTRY:
        problem = compare(_REGISTERED_FINGERPRINTS[key], fp)
        if problem is not None:
            raise ValueError(f"A different pool is already registered under {key!r} ({problem}); unregister it first.")
    _REGISTRY[key] = storage
    _REGISTERED_FINGERPRINTS[key] = fp
    if table[0] is not None:
        _REGISTERED_TABLES[key] = table
    else:
        _REGISTERED_TABLES.pop(key, None)
    return PoolReference(key=key, path=None, fingerprint=fp.as_dict())


def unregister_pool(key: str) -> None:
    r"""Forget the pool registered under ``key``."""
    if key not in _REGISTRY:
        raise KeyError(f"No pool is registered under {key!r}.")
    del _REGISTRY[key]
    _REGISTERED_FINGERPRINTS.pop(key, None)
    _REGISTERED_TABLES.pop(key, None)


def registered_pools() -> list[str]:
    r"""Keys of the pools registered in this process."""
    return sorted(_REGISTRY)


@dataclass(frozen=True)
class PoolReference:
    r"""A storable handle on a pool: a registered key or a file path, and a fingerprint.

    Attributes:
        key: Key of a pool registered with :func:`register_pool`.
        path: Path of a ``.npy`` or ``.parquet`` file.
        fingerprint: The stored :class:`~axfusion.candidates.PoolFingerprint` dict
            (:meth:`~axfusion.candidates.PoolFingerprint.as_dict`); a legacy
            ``{"n_rows", "n_features", "sha256_sample"}`` dict is accepted (shape checked only).
    """

    key: str | None
    path: str | None
    fingerprint: dict[str, Any]

    def __post_init__(self) -> None:
        if (self.key is None) == (self.path is None):
            raise ValueError("A pool reference needs exactly one of `key` and `path`.")

    @property
    def n_rows(self) -> int:
        return int(self.fingerprint["n_rows"])

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "fingerprint": dict(self.fingerprint)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolReference:
        return cls(key=d.get("key"), path=d.get("path"), fingerprint=dict(d["fingerprint"]))

    def storage(self) -> PoolStorage:
        r"""The pool's row source (checked against the fingerprint).

        Raises:
            LookupError: if the key is not registered in this process.
            PoolMismatchError: (a ``ValueError``) if the pool found differs from the one
                referenced; the message says how (row count, feature columns, re-sorted,
                which rows changed).
        """
        saved = PoolFingerprint.from_dict(self.fingerprint)
        if self.key is not None:
            if self.key not in _REGISTRY:
                raise LookupError(
                    f"The pool {self.key!r} ({self.n_rows} rows) is not registered in this process; "
                    "call axfusion.ax.register_pool(key, pool) before generating."
                )
            storage = _REGISTRY[self.key]
            check_pool(
                saved,
                storage,
                what=f"The experiment referring to the pool registered as {self.key!r}",
                instead="create a new experiment",
                found=_REGISTERED_FINGERPRINTS.get(self.key),
            )
        else:
            path = str(self.path)
            stamp = _file_stamp(path) if os.path.exists(path) else None
            storage = _open_path(path)
            found = check_pool(
                saved,
                storage,
                what=f"The experiment referring to the pool file {path!r}",
                instead="create a new experiment",
                found=_FILE_FINGERPRINTS.get(stamp) if stamp is not None else None,
            )
            if stamp is not None:
                _remember_file(stamp, found)
        return storage

    def open(self) -> CandidatePool:
        r"""A :class:`~axfusion.candidates.CandidatePool` with clean masks over the pool (with
        the encoder and the fixed one-hot scales of a pool registered with categorical columns)."""
        pool = CandidatePool(self.storage())
        encoder = _REGISTERED_TABLES.get(self.key, (None, None))[0] if self.key is not None else None
        if encoder is not None:
            pool.encoder = encoder
            pool.column_scale = encoder.scale_or_none
            pool.column_groups = encoder.groups_or_none
        return pool

    def rows(self, ids: Any) -> pd.DataFrame:
        r"""The pool rows ``ids`` (e.g. the ``row_id`` of trials), indexed by their row ids.

        A pool registered from a DataFrame gives its rows as written (text levels
        included); one registered from a :meth:`CandidatePool.from_table` pool its levels
        decoded from the features; any other pool its numeric features.

        Raises:
            IndexError: an id is not a row of the pool.
        """
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_rows):
            raise IndexError(f"Row ids must lie in [0, {self.n_rows - 1}]; got {ids.tolist()[:10]}.")
        encoder, table = _REGISTERED_TABLES.get(self.key, (None, None)) if self.key is not None else (None, None)
        if table is not None:
            self.storage()  # the fingerprint check
            out = table.iloc[ids].copy()
        else:
            storage = self.storage()
            order = np.argsort(ids, kind="stable")
            distinct, back = np.unique(ids[order], return_inverse=True)
            X = np.empty((ids.size, storage.n_features))
            X[order] = storage.read_rows(distinct)[back]
            if encoder is not None:
                out = encoder.inverse_transform(X)
            else:
                names = storage.feature_names or [f"x{j}" for j in range(storage.n_features)]
                out = pd.DataFrame(X, columns=list(names))
        out.index = pd.Index(ids, name=ROW_ID)
        return out


def pool_reference(pool: PoolSource | PoolReference, key: str | None = None) -> PoolReference:
    r"""A reference to ``pool``: a path is referenced as such; an in-memory pool is
    registered (under ``key``, or a key derived from its fingerprint)."""
    if isinstance(pool, PoolReference):
        return pool
    if isinstance(pool, (str, os.PathLike)) and key is None:
        path = os.path.abspath(os.fspath(pool))
        return PoolReference(key=None, path=path, fingerprint=_file_fingerprint(path)[1].as_dict())
    storage, table = _parts(pool)
    fp = pool_fingerprint(storage)
    if key is None:
        key = "pool-" + str(fp.sha256)[:16]
    elif not isinstance(key, str) or not key:
        raise ValueError("A pool key must be a non-empty string.")
    return _register(key, storage, fp, table)


def pool_parameter_config(pool: PoolSource | PoolReference) -> RangeParameterConfig:
    r"""The ``Client`` parameter of a pool experiment: integer ``row_id`` in ``[0, N - 1]``."""
    n = pool.n_rows if isinstance(pool, (PoolReference, CandidatePool)) else pool_reference(pool).n_rows
    if n < 2:
        raise ValueError(f"A pool needs at least 2 rows, got {n}.")
    return RangeParameterConfig(name=ROW_ID, parameter_type="int", bounds=(0, n - 1))


def pool_search_space(pool: PoolSource | PoolReference) -> AxSearchSpace:
    r"""The Ax ``SearchSpace`` of a pool experiment (for ``Experiment``/``AxClient`` users)."""
    n = pool.n_rows if isinstance(pool, (PoolReference, CandidatePool)) else pool_reference(pool).n_rows
    if n < 2:
        raise ValueError(f"A pool needs at least 2 rows, got {n}.")
    return AxSearchSpace(
        parameters=[RangeParameter(name=ROW_ID, parameter_type=ParameterType.INT, lower=0, upper=n - 1)]
    )


def configure_pool_experiment(
    client: Any,
    pool: PoolSource | PoolReference,
    *,
    name: str | None = None,
    key: str | None = None,
    description: str | None = None,
) -> PoolReference:
    r"""Configure ``client`` (an ``ax.api.Client``) for a closed-pool experiment.

    The experiment has the single integer parameter :data:`ROW_ID`; the pool is
    referenced (registered under ``key``, by default the experiment name, when it is in
    memory). Pass the returned reference to
    :func:`~axfusion.ax.fusion_generation_strategy` (``pool=...``).

    Returns:
        The :class:`PoolReference`.
    """
    if key is None and not isinstance(pool, (str, os.PathLike, PoolReference)):
        key = name
    ref = pool_reference(pool, key=key)
    client.configure_experiment(parameters=[pool_parameter_config(ref)], name=name, description=description)
    return ref
