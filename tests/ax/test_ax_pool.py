from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from ax.api.client import Client

from axfusion.ax import (
    ROW_ID,
    PoolRandomNode,
    PoolReference,
    configure_pool_experiment,
    pool_reference,
    register_pool,
    registered_pools,
    unregister_pool,
)
from axfusion.candidates import CandidatePool, PoolMismatchError, pool_fingerprint
from axfusion.candidates.fingerprint import LegacyPoolFingerprintWarning


@pytest.fixture
def pool_array() -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(500, 3))


def test_references_check_the_pool(pool_array, tmp_path):
    ref = register_pool("test-pool-a", pool_array)
    try:
        assert "test-pool-a" in registered_pools()
        assert ref.n_rows == 500 and ref.open().n_available == 500
        assert PoolReference.from_dict(ref.as_dict()) == ref
        with pytest.raises(
            ValueError,
            match=r"different pool is already registered under 'test-pool-a' \(the same rows are in another order",
        ):
            register_pool("test-pool-a", pool_array[::-1].copy())
        other = PoolReference(key="test-pool-a", path=None, fingerprint=dict(ref.fingerprint, n_rows=7))
        with pytest.raises(PoolMismatchError) as info:
            other.storage()
        assert str(info.value) == (
            "The experiment referring to the pool registered as 'test-pool-a' was started on another "
            "pool: the pool has 500 rows; the saved pool had 7. Give the same pool (same rows in the "
            "same order) or create a new experiment."
        )
    finally:
        unregister_pool("test-pool-a")
    with pytest.raises(LookupError, match="not registered"):
        ref.storage()
    # A file is referenced by path; a CandidatePool and a DataFrame by their rows.
    path = tmp_path / "pool.npy"
    np.save(path, pool_array)
    by_path = pool_reference(str(path))
    assert by_path.path == str(path) and by_path.open().n_rows == 500
    by_pool = pool_reference(CandidatePool.from_array(pool_array), key="test-pool-b")
    by_frame = pool_reference(pd.DataFrame(pool_array, columns=list("abc")), key="test-pool-b")
    assert by_pool.fingerprint == by_frame.fingerprint == by_path.fingerprint
    assert by_path.fingerprint == pool_fingerprint(pool_array).as_dict()
    assert by_path.fingerprint["sha256"] and "sha256_sample" not in by_path.fingerprint
    unregister_pool("test-pool-b")


def test_a_changed_row_is_refused_on_open(pool_array, tmp_path):
    # A registered key now names another pool: one row changed.
    ref = register_pool("test-pool-e", pool_array)
    unregister_pool("test-pool-e")
    changed = pool_array.copy()
    changed[250, 1] += 1e-9
    register_pool("test-pool-e", changed)
    try:
        with pytest.raises(PoolMismatchError, match=r"started on another pool: row 250 differs from the saved pool's"):
            ref.open()
    finally:
        unregister_pool("test-pool-e")
    # A pool file re-written, re-sorted, after the experiment referenced it.
    path = tmp_path / "pool.npy"
    np.save(path, pool_array)
    by_path = pool_reference(str(path))
    assert by_path.open().n_rows == 500
    np.save(path, pool_array[::-1])
    stat = os.stat(path)  # the timestamp may be coarse: make sure the file looks changed
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(
        PoolMismatchError,
        match=r"pool file .*pool.npy' was started on another pool: the same rows are in another order",
    ):
        by_path.open()


def test_a_legacy_reference_still_opens_checking_the_shape(pool_array):
    old = {"n_rows": 500, "n_features": 3, "sha256_sample": "0" * 64}
    stored = {"key": "test-pool-f", "path": None, "fingerprint": old}
    ref = PoolReference.from_dict(stored)
    assert ref.as_dict() == stored and ref.n_rows == 500
    register_pool("test-pool-f", pool_array)
    try:
        with pytest.warns(LegacyPoolFingerprintWarning, match=r"only the shape \(500 x 3\) was checked"):
            assert ref.open().n_rows == 500
        short = PoolReference.from_dict(dict(stored, fingerprint=dict(old, n_rows=400)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(PoolMismatchError, match="the pool has 500 rows; the saved pool had 400"):
                short.open()
    finally:
        unregister_pool("test-pool-f")


def test_open_gives_clean_masks(pool_array):
    ref = register_pool("test-pool-c", pool_array)
    first = ref.open()
    first.mark_evaluated([1, 2, 3])
    assert ref.open().n_available == 500
    unregister_pool("test-pool-c")


def test_pool_random_node_skips_finished_and_pending_rows(pool_array):
    client = Client()
    ref = configure_pool_experiment(client, pool_array[:12], name="test-pool-d")
    client.configure_optimization(objective="y")
    exp = client._experiment
    assert list(exp.search_space.parameters) == [ROW_ID]
    done = client.attach_trial({ROW_ID: 0})
    client.complete_trial(done, {"y": 1.0})
    failed = client.attach_trial({ROW_ID: 1})
    client.mark_trial_failed(failed)
    node = PoolRandomNode(ref, seed=3)
    node.update_generator_state(exp, exp.lookup_data())
    pending = [{ROW_ID: i} for i in range(2, 8)]
    draws = {node.get_next_candidate(pending)[ROW_ID] for _ in range(40)}
    assert draws <= set(range(8, 12)) and len(draws) > 1
    # Same experiment, same seed: same draw.
    again = PoolRandomNode(ref, seed=3)
    again.update_generator_state(exp, exp.lookup_data())
    node.update_generator_state(exp, exp.lookup_data())
    assert again.get_next_candidate(pending) == node.get_next_candidate(pending)
    unregister_pool("test-pool-d")


def test_an_unchanged_pool_file_is_hashed_once(pool_array, tmp_path, monkeypatch):
    import axfusion.ax.pool as ax_pool
    import axfusion.candidates.fingerprint as fingerprint_module

    calls = []
    real = fingerprint_module.pool_fingerprint

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ax_pool, "pool_fingerprint", counting)
    monkeypatch.setattr(fingerprint_module, "pool_fingerprint", counting)
    path = tmp_path / "cached.npy"
    np.save(path, pool_array)
    ref = pool_reference(str(path))
    for _ in range(3):
        assert ref.open().n_rows == 500
    assert len(calls) == 1
