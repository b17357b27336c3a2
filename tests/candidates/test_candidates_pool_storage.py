"""Memmap and Parquet pools: masking by index, chunked reads, random access, bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from axfusion.candidates import CandidatePool, ParquetStorage


def write_parquet(path: Path, data: np.ndarray, row_group_size: int) -> list[str]:
    names = [f"f{j}" for j in range(data.shape[1])]
    columns = {n: data[:, j] for j, n in enumerate(names)}
    table = pa.table(columns | {"label": [str(i) for i in range(len(data))]})
    pq.write_table(table, path, row_group_size=row_group_size)
    return names


@pytest.fixture
def data() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(2_000, 4))


@pytest.fixture(params=["memmap", "parquet-stream", "parquet-memory"])
def pool(request: pytest.FixtureRequest, tmp_path: Path, data: np.ndarray) -> CandidatePool:
    if request.param == "memmap":
        np.save(tmp_path / "pool.npy", data)
        pool = CandidatePool.from_npy(tmp_path / "pool.npy", mmap=True)
        assert isinstance(pool._storage._data, np.memmap)
        return pool
    path = tmp_path / "pool.parquet"
    write_parquet(path, data, row_group_size=300)
    limit = 0 if request.param == "parquet-stream" else 2**30
    pool = CandidatePool.from_parquet(path, materialize_max_bytes=limit)
    assert isinstance(pool._storage, ParquetStorage) == (request.param == "parquet-stream")
    return pool


def score(X: np.ndarray) -> np.ndarray:
    return X @ np.array([0.5, 1.0, -1.0, 0.1])


def test_masking_by_index_on_disk_backed_pools(pool: CandidatePool, data: np.ndarray) -> None:
    assert pool.n_rows == 2_000 and pool.n_features == 4
    evaluated = np.arange(0, 2_000, 5)
    pool.mark_evaluated(evaluated)
    pool.mark_pending([1, 2, 3])
    ids, scores = pool.score(score, chunk_size=128)
    expected = np.setdiff1d(np.arange(2_000), np.r_[evaluated, 1, 2, 3])
    assert np.array_equal(ids, expected)
    np.testing.assert_allclose(scores, score(data[expected]))
    top, _ = pool.top_k(score, k=10, chunk_size=128)
    full = score(data[expected])
    assert np.array_equal(top, expected[np.argsort(-full, kind="stable")[:10]])


def test_random_access_across_row_groups(pool: CandidatePool, data: np.ndarray) -> None:
    ids = np.array([1999, 0, 301, 299, 300, 1234])
    np.testing.assert_array_equal(pool.take(ids), data[ids])
    chunks = list(pool.iter_chunks(chunk_size=4, ids=ids))
    assert [c[0].tolist() for c in chunks] == [[0, 299, 300, 301], [1234, 1999]]
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), data[np.sort(ids)])


def test_parquet_columns_and_errors(tmp_path: Path, data: np.ndarray) -> None:
    path = tmp_path / "pool.parquet"
    names = write_parquet(path, data, row_group_size=500)
    pool = CandidatePool.from_parquet(path, columns=["f2", "f0"], materialize_max_bytes=0)
    assert pool.feature_names == ("f2", "f0")
    np.testing.assert_array_equal(pool.take([7]), data[[7]][:, [2, 0]])
    assert CandidatePool.from_parquet(path).feature_names == tuple(names)  # 'label' skipped
    with pytest.raises(TypeError, match="not numeric: label"):
        CandidatePool.from_parquet(path, columns=["f0", "label"])
    with pytest.raises(KeyError, match="nope"):
        CandidatePool.from_parquet(path, columns=["nope"])
    with pytest.raises(FileNotFoundError):
        CandidatePool.from_parquet(tmp_path / "missing.parquet")


def test_parquet_missing_values_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"a": [1.0, None, 3.0]}), path)
    pool = CandidatePool.from_parquet(path, materialize_max_bytes=0)
    with pytest.raises(ValueError, match="column 'a'.*missing values"):
        pool.score(lambda X: X[:, 0])


def test_from_frame() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "name": ["a", "b"], "n": [3, 4]})
    pool = CandidatePool.from_frame(frame)
    assert pool.feature_names == ("x", "n")
    np.testing.assert_array_equal(pool.take([1]), [[2.0, 4.0]])


def _top_k_peak(path: Path, k: int, chunk_size: int) -> tuple[np.ndarray, int]:
    pool = CandidatePool.from_npy(path, mmap=True)
    pool.mark_evaluated(np.arange(0, pool.n_rows, 1000))
    w = np.linspace(-1.0, 1.0, pool.n_features)
    tracemalloc.start()
    try:
        ids, _ = pool.top_k(lambda X: X @ w, k=k, chunk_size=chunk_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return ids, peak


def test_top_k_on_a_million_row_memmap_has_bounded_memory(tmp_path: Path) -> None:
    n, d = 1_000_000, 4
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(2)
    for start in range(0, n, 250_000):
        mm[start : start + 250_000] = rng.normal(size=(250_000, d))
    mm.flush()
    del mm
    ids, peak = _top_k_peak(tmp_path / "big.npy", k=100, chunk_size=32_768)
    table_bytes = n * d * 8
    # One float64 chunk is 1 MiB; the masks are 2 MB; the table would be 32 MB as float64.
    assert peak < 8 * 2**20, peak
    assert peak < table_bytes / 4
    data = np.load(tmp_path / "big.npy")
    full = data.astype(np.float64) @ np.linspace(-1.0, 1.0, d)
    full[::1000] = -np.inf
    assert np.array_equal(ids, np.argsort(-full, kind="stable")[:100])


@pytest.mark.slow
def test_top_k_on_a_large_memmap_has_bounded_memory_slow(tmp_path: Path) -> None:
    n, d = 4_000_000, 32
    mm = np.lib.format.open_memmap(tmp_path / "huge.npy", mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(3)
    for start in range(0, n, 200_000):
        mm[start : start + 200_000] = rng.normal(size=(200_000, d))
    mm.flush()
    del mm
    ids, peak = _top_k_peak(tmp_path / "huge.npy", k=1_000, chunk_size=65_536)
    assert ids.size == 1_000
    assert peak < 48 * 2**20, peak  # the table is 1 GiB
