"""Tests of the ``fusion`` benchmark method (FusionOptimizer on functions and pools).

``run_method``, ``assert_valid``, ``pool_task`` and the other helpers are fixtures of
``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods import fusion
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.tasks import FunctionTask

#: Small settings so that a test iteration takes a second or two.
FAST = {
    "families": ("ridge", "knn"),
    "n_members": 2,
    "n_box_candidates": 60,
    "box_de_maxiter": 3,
    "box_de_popsize": 4,
}
#: The model settings of ``FAST``, for the pool runs.
POOL_FAST = {"families": FAST["families"], "n_members": FAST["n_members"]}


@pytest.fixture(scope="module")
def mixed_task(make_mixed_task):
    return make_mixed_task(n_initial=6, n_iterations=2)


def test_fusion_function_budget_valid_seeded(mixed_task, run_method, assert_valid, assert_seeded):
    m = get_method("fusion", **FAST)
    a = run_method(m, mixed_task, seed=0)
    assert_valid(mixed_task, a)
    assert len({tuple(r) for r in a.X}) == a.n_evaluated  # never proposes a measured design
    recs = m.diagnostics()
    assert [r["iteration"] for r in recs] == [1, 2]
    assert recs[0]["n_observed"] == mixed_task.n_initial
    assert_seeded("fusion", mixed_task, a, **FAST)


def test_fusion_pool_rows_distinct_and_seeded(pool_task, run_method, assert_pool_valid, assert_seeded):
    m = get_method("fusion", **POOL_FAST)
    a = run_method(m, pool_task, seed=0)
    assert_pool_valid(pool_task, a)
    recs = m.diagnostics()
    assert len(recs) == pool_task.n_iterations
    assert recs[0]["batch"] == a.rows[pool_task.n_initial : pool_task.n_initial + pool_task.batch_size].tolist()
    assert_seeded("fusion", pool_task, a, field="rows", other_seed=None, **POOL_FAST)


def test_fusion_pool_two_targets(two_target_task, run_method, assert_pool_valid):
    m = get_method("fusion", **POOL_FAST)
    ev = run_method(m, two_target_task)
    assert_pool_valid(two_target_task, ev)
    assert len(m.diagnostics()[0]["best_so_far"]) == 2


def test_search_space_and_points_round_trip(mixed_task):
    space = fusion.search_space(mixed_task.problem)
    assert space.names == ("x", "n", "c")
    X = mixed_task.space.sample(8, 0, "random")
    designs = mixed_task.designs(X)
    assert space.contains(designs).all()
    np.testing.assert_array_equal(fusion.to_points(mixed_task, designs), X)


def test_fusion_options():
    task = FunctionTask.from_problem("ackley", dim=2, n_initial=5, batch_size=3)
    m = get_method("fusion", n_members=3, n_jobs=1)
    assert m.settings(task, box=True).stage1.n_members == 3
    cfg = get_method("fusion").settings(task, box=True)
    assert cfg.stage2.box.time_budget_s is None and cfg.loop.batch_size == 3
    assert (cfg.stage2.box.maxiter, cfg.stage2.box.popsize) == (8, 10)
    # any option of the settings tree, by dotted path, and a preset
    paper = get_method("fusion", preset="paper", **{"stage3.fusion.kalman.channels": "r2"}).settings(task, box=True)
    assert paper.stage3.fusion.kalman.channels == "r2" and paper.stage2.box.n_candidates == 10_000
    assert get_method("fusion").settings(task, box=False).stage2.box.n_candidates == 2_000
    with pytest.raises(TypeError, match="bogus"):
        get_method("fusion", bogus=1)
    with pytest.raises(TypeError, match="n_members"):
        get_method("fusion", n_members=2.5)
    with pytest.raises(TypeError):
        get_method("fusion", batch_size=5)  # comes from the task
