"""Closed-pool fingerprints: every row hashed, another pool refused with a sentence naming why."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from axfusion.candidates import (
    ArrayStorage,
    CandidatePool,
    ParquetStorage,
    PoolFingerprint,
    PoolMismatchError,
    check_pool,
    compare_fingerprints,
    pool_fingerprint,
)
from axfusion.candidates.fingerprint import LegacyPoolFingerprintWarning, compare

WHAT = "campaign file runs/x.campaign.json"


def refusal(sentence: str) -> str:
    return (
        f"{WHAT} was started on another pool: {sentence}. Give the same pool (same rows in the "
        "same order) or start a new campaign."
    )


def refused(saved: PoolFingerprint, pool: object) -> str:
    with pytest.raises(PoolMismatchError) as info:
        check_pool(saved, pool, what=WHAT)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, ValueError)
    return message


@pytest.fixture
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(1000, 3))


@pytest.fixture
def saved(X: np.ndarray) -> PoolFingerprint:
    return pool_fingerprint(X)


# ---------------------------------------------------------------------------- the same pool
def test_same_pool_is_accepted_from_every_source(X, saved, tmp_path):
    np.save(tmp_path / "pool.npy", X)
    memmap = np.load(tmp_path / "pool.npy", mmap_mode="r")
    pool = CandidatePool.from_npy(tmp_path / "pool.npy", mmap=True)
    pool.mark_evaluated([0, 1, 2])  # masks do not matter: every row is hashed
    pool.mark_pending([500])
    for source in (X.copy(), memmap, pool, ArrayStorage(X), np.asfortranarray(X)):
        assert pool_fingerprint(source) == saved
        assert compare(saved, pool_fingerprint(source)) is None
        assert check_pool(saved, source, what=WHAT) == saved
        assert check_pool(saved.as_dict(), source) == saved  # the stored dict works too


def test_parquet_batches_are_rechunked_to_the_same_blocks(X, tmp_path):
    path = tmp_path / "pool.parquet"
    pq.write_table(pa.table({f"f{j}": X[:, j] for j in range(3)}), path, row_group_size=130)
    stream = ParquetStorage(path, read_batch_rows=70)  # batches straddle the 100-row blocks
    assert pool_fingerprint(stream, chunk_rows=100) == pool_fingerprint(X, chunk_rows=100)


def test_the_digest_is_the_sha256_of_the_float64_rows_and_independent_of_blocks(X):
    expected = hashlib.sha256(X.astype("<f8").tobytes()).hexdigest()
    by_100, by_7 = pool_fingerprint(X, chunk_rows=100), pool_fingerprint(X, chunk_rows=7)
    assert by_100.sha256 == by_7.sha256 == expected
    assert by_100.multiset == by_7.multiset and by_100.positional == by_7.positional
    assert len(by_100.chunk_sha256) == 10 and len(by_7.chunk_sha256) == 143
    assert by_100.chunk_sha256[3] == hashlib.sha256(X[300:400].tobytes()).hexdigest()[:16]
    assert compare(by_100, by_7) is None


def test_negative_zero_equals_zero_and_integers_equal_their_floats():
    a = np.array([[0.0, 1.0], [2.0, 0.0], [3.0, 4.0]])
    b = a.copy()
    b[0, 0] = b[1, 1] = -0.0
    assert np.signbit(b[0, 0]) and pool_fingerprint(b) == pool_fingerprint(a)
    assert check_pool(pool_fingerprint(a), b) == pool_fingerprint(a)
    assert pool_fingerprint(a.astype(np.int32)) == pool_fingerprint(a)
    c = a.copy()
    c[0, 0] = 5e-324  # the smallest subnormal is not zero
    assert compare(pool_fingerprint(a), pool_fingerprint(c)) == (
        "row 0 differs from the saved pool's (one row was changed; every other row is the same)"
    )


def test_the_stored_format_is_pinned():
    X = np.array([[0.5, -0.0, 3.0], [1.0, 2.0, -4.25], [0.0, 1e-300, 7.0]])
    stored = pool_fingerprint(X, chunk_rows=2).as_dict()
    assert stored == {
        "version": 2,
        "n_rows": 3,
        "n_features": 3,
        "sha256": "06957dbe682c85baa9897bacfbdab5f8b2eb7767afab324a8544e7e3dc5a1282",
        "chunk_rows": 2,
        "chunk_sha256": ["c4bf82d65a8ff2b8", "5f67cd15f7e84243"],
        "multiset": "caf9c5b636b2390b:4c92cac6b3491bf5",
        "positional": "f8721e7c9c210508",
    }
    assert PoolFingerprint.from_dict(json.loads(json.dumps(stored))) == pool_fingerprint(X, chunk_rows=2)


def test_the_stored_dict_stays_small_for_a_million_rows():
    fp = PoolFingerprint(
        n_rows=10**6,
        n_features=20,
        sha256="0" * 64,
        chunk_rows=65_536,
        chunk_sha256=("0" * 16,) * 16,
        multiset="0" * 16 + ":" + "0" * 16,
        positional="0" * 16,
    )
    text = json.dumps(fp.as_dict())
    assert len(text) < 1000 and PoolFingerprint.from_dict(json.loads(text)) == fp


# ---------------------------------------------------------------------------- another pool
def test_one_row_replaced_in_the_middle_is_refused_naming_the_row(X, saved):
    Y = X.copy()
    Y[500] = [1.0, 2.0, 3.0]
    assert refused(saved, Y) == refusal(
        "row 500 differs from the saved pool's (one row was changed; every other row is the same)"
    )
    Y = X.copy()
    Y[999, 2] = np.nextafter(Y[999, 2], np.inf)  # one ulp in the last row
    assert "row 999 differs" in refused(saved, Y)


def test_a_resorted_pool_is_refused_as_resorted(X, saved):
    order = np.random.default_rng(1).permutation(1000)
    assert refused(saved, X[order]) == refusal(
        "the same rows are in another order (the pool was re-sorted; the first difference is in rows 0-999)"
    )
    assert "another order" in refused(saved, X[::-1].copy())


def test_an_added_or_removed_row_names_the_row_count(X, saved):
    assert refused(saved, np.vstack([X, X[:1]])) == refusal("the pool has 1001 rows; the saved pool had 1000")
    assert refused(saved, X[1:]) == refusal("the pool has 999 rows; the saved pool had 1000")


def test_another_feature_column_count_is_named(X, saved):
    assert refused(saved, X[:, :2]) == refusal("the pool has 2 feature columns; the saved pool had 3")
    assert refused(saved, np.hstack([X, X])[:999]) == refusal(
        "the pool is 999 x 6 (rows x feature columns); the saved pool was 1000 x 3"
    )


def test_shape_is_checked_before_any_row_is_read(saved):
    class Unreadable:
        n_rows, n_features, feature_names = 1000, 4, None

        def iter_blocks(self, chunk_size):
            raise AssertionError("rows were read")

    assert "the pool has 4 feature columns" in refused(saved, Unreadable())


def test_blocks_locate_the_first_difference(X):
    saved = pool_fingerprint(X, chunk_rows=100)
    Y = X.copy()
    Y[[350, 370]] += 1.0
    assert refused(saved, Y) == refusal(
        "rows 300-399 differ from the saved pool's (at least one row was changed, added or removed)"
    )
    Y[720] += 1.0
    assert refused(saved, Y) == refusal(
        "rows 300-399 differ from the saved pool's, and so does 1 later block of 100 rows "
        "(at least one row was changed, added or removed)"
    )
    # A row inserted at 450 and the last one dropped: every block from 400 on differs.
    inserted = np.vstack([X[:450], np.zeros((1, 3)), X[450:999]])
    assert refused(saved, inserted) == refusal(
        "rows 400-499 differ from the saved pool's, and so do 5 later blocks of 100 rows "
        "(at least one row was changed, added or removed)"
    )
    # Two rows swapped across blocks: the same rows, re-sorted, first seen in rows 200-299.
    Y = X.copy()
    Y[[250, 800]] = Y[[800, 250]]
    assert "re-sorted; the first difference is in rows 200-299" in refused(saved, Y)
    # A single change is located to the row, in any block.
    Y = X.copy()
    Y[654, 1] = 0.0
    assert "row 654 differs from the saved pool's (one row was changed" in refused(saved, Y)


def test_a_last_partial_block_is_located(X):
    Z = np.vstack([X, X[:50] + 1.0])  # 1050 rows: the last block has 50
    saved = pool_fingerprint(Z, chunk_rows=100)
    assert len(saved.chunk_sha256) == 11
    Y = Z.copy()
    Y[[1010, 1049]] = 0.0
    assert "rows 1000-1049 differ from the saved pool's (at least" in refused(saved, Y)


def test_compare_without_common_blocks_still_refuses(X):
    saved = pool_fingerprint(X, chunk_rows=100)
    Y = X.copy()
    Y[[3, 4]] = 0.0
    assert compare_fingerprints(saved, pool_fingerprint(Y, chunk_rows=64)) == (
        "the rows differ from the saved pool's (at least one row was changed, added or removed)"
    )
    # check_pool hashes in the saved blocks whatever `found` it was handed.
    with pytest.raises(PoolMismatchError, match="rows 0-99 differ from the saved pool's"):
        check_pool(saved, Y, found=pool_fingerprint(Y, chunk_rows=64))


# ---------------------------------------------------------------------------- legacy
def test_a_legacy_fingerprint_loads_and_checks_the_shape_only(X, saved):
    old = {"n_rows": 1000, "n_features": 3, "sha256_sample": "ab" * 32}
    legacy = PoolFingerprint.from_dict(old)
    assert legacy.legacy and legacy.sha256 is None and legacy.chunk_sha256 == ()
    assert legacy.as_dict() == old  # written back unchanged
    Y = X.copy()
    Y[500] = 0.0
    assert compare(legacy, pool_fingerprint(Y)) is None  # a weak fingerprint cannot see it
    with pytest.warns(LegacyPoolFingerprintWarning, match="only the shape .1000 x 3. was checked"):
        found = check_pool(old, X, what=WHAT)
    assert found == saved  # the full fingerprint, to store from now on
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert refused(legacy, X[:-1]) == refusal("the pool has 999 rows; the saved pool had 1000")
        assert refused(legacy, X[:, :2]) == refusal("the pool has 2 feature columns; the saved pool had 3")


def test_malformed_or_newer_dicts_are_refused(saved):
    stored = saved.as_dict()
    with pytest.raises(ValueError, match="newer axfusion"):
        PoolFingerprint.from_dict(dict(stored, version=3))
    with pytest.raises(ValueError, match="2 block digests; 1000 rows in blocks of 65536 need 1"):
        PoolFingerprint.from_dict(dict(stored, chunk_sha256=["a", "b"]))
    with pytest.raises(ValueError, match="has no 'multiset'"):
        PoolFingerprint.from_dict({k: v for k, v in stored.items() if k != "multiset"})
    with pytest.raises(ValueError, match="'n_rows' must be an integer >= 1"):
        PoolFingerprint.from_dict(dict(stored, n_rows="1000"))
    with pytest.raises(TypeError, match="CandidatePool, a PoolStorage or an"):
        pool_fingerprint([[1.0, 2.0]])  # type: ignore[arg-type]
