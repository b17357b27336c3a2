from __future__ import annotations

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
from axfusion.candidates import CandidatePool


@pytest.fixture
def pool_array() -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(500, 3))


def test_references_check_the_pool(pool_array, tmp_path):
    ref = register_pool("test-pool-a", pool_array)
    try:
        assert "test-pool-a" in registered_pools()
        assert ref.n_rows == 500 and ref.open().n_available == 500
        assert PoolReference.from_dict(ref.as_dict()) == ref
        with pytest.raises(ValueError, match="different pool"):
            register_pool("test-pool-a", pool_array[::-1].copy())
        other = PoolReference(key="test-pool-a", path=None, fingerprint=dict(ref.fingerprint, n_rows=7))
        with pytest.raises(ValueError, match="not the pool"):
            other.storage()
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
    unregister_pool("test-pool-b")


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
