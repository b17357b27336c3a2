"""Generated closed pools (axfusion.benchmarks.synthetic_pools) and the large_pools suite."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.suites import get_suite, get_task
from axfusion.benchmarks.synthetic_pools import (
    CHUNK,
    GENERATED_POOLS,
    NEEDLE_FRACTION,
    generated_dataset,
    pool_chunk,
    pool_data,
)


@pytest.mark.parametrize("name", sorted(GENERATED_POOLS))
def test_a_pool_is_deterministic_and_its_first_rows_do_not_depend_on_its_size(name):
    d = GENERATED_POOLS[name][0]
    X, y = pool_data(name, 300, seed=3)
    assert X.shape == (300, d) and X.dtype == np.float32 and y.shape == (300,) and y.dtype == np.float64
    assert np.isfinite(X).all() and np.isfinite(y).all() and np.unique(y).size == 300
    X2, y2 = pool_data(name, 300, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    Xb, yb = pool_data(name, 1_000, seed=3)
    np.testing.assert_array_equal(Xb[:300], X)
    np.testing.assert_array_equal(yb[:300], y)
    Xc, _ = pool_data(name, 300, seed=4)
    assert not np.array_equal(Xc, X)


def test_rows_of_a_later_chunk_are_those_of_the_whole_pool():
    X, y = pool_data("smooth20", CHUNK + 50, seed=0)
    Xc, yc = pool_chunk("smooth20", CHUNK + 10, CHUNK + 50, seed=0)
    np.testing.assert_array_equal(X[CHUNK + 10:], Xc)
    np.testing.assert_array_equal(y[CHUNK + 10:], yc)
    with pytest.raises(ValueError, match="one chunk"):
        pool_chunk("smooth20", CHUNK - 5, CHUNK + 5)


def test_the_needle_pools_top_rows_lie_in_one_small_cluster_away_from_the_trend():
    X, y = pool_data("needle10", 20_000, seed=0)
    order = np.argsort(y)[::-1]
    top = X[order[:10]].astype(np.float64)
    centre = top.mean(axis=0)
    near = np.linalg.norm(X - centre, axis=1) < 0.3
    # the bump's cluster: about NEEDLE_FRACTION of the rows, every top-10 row among them
    assert 0.5 * NEEDLE_FRACTION * y.size < near.sum() < 2.0 * NEEDLE_FRACTION * y.size
    assert near[order[:10]].all()
    # the rest of the pool trends away from it: the best row outside the cluster is far from it
    outside = order[~near[order]][0]
    assert np.linalg.norm(X[outside] - centre) > 0.5
    # and a row drawn at or below the median (the harness's initial rows) is never in it
    assert not near[y <= np.median(y)].any()


def test_unknown_pools_and_sizes_are_refused():
    with pytest.raises(ValueError, match="no generated pool 'needle'"):
        pool_data("needle", 10)
    with pytest.raises(ValueError, match="n_rows must be at least 1"):
        pool_data("needle10", 0)


def test_the_large_pools_suite_builds_its_tasks_from_generated_pools():
    suite = get_suite("large_pools")
    assert {"needle10_20k", "latent135_20k", "needle10_100k"} == set(suite.tasks)
    spec = get_task("needle10_20k")
    assert spec.source == "generated:needle10" and spec.options == {"n_rows": 20_000, "seed": 0}
    assert (spec.n_initial, spec.batch_size, spec.n_iterations) == (20, 10, 50)
    ds = generated_dataset("latent135", 500, seed=0)
    assert ds.X.shape == (500, 135) and list(ds.Y.columns) == ["y"] and ds.orientation == {"y": "maximize"}
    task = get_task("needle10_20k").with_budget(n_iterations=1).build(seed=0)
    assert task.kind == "pool" and len(task.dataset.Y) == 20_000
