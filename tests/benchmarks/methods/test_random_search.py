"""Tests of the ``random`` benchmark method (uniform points / random pool rows).

``run_method``, ``assert_valid``, ``pool_task`` and the other helpers are fixtures of
``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from axfusion.benchmarks.methods import base
from axfusion.benchmarks.methods.base import get_method
from axfusion.benchmarks.tasks import PoolTask


@pytest.fixture(scope="module")
def mixed_task(make_mixed_task):
    return make_mixed_task(n_iterations=3)


def test_random_function_budget_valid_and_seeded(mixed_task, run_method, assert_valid, assert_seeded):
    ev = run_method("random", mixed_task, seed=0)
    assert_valid(mixed_task, ev)
    assert ev.iteration.max() == mixed_task.n_iterations
    assert_seeded("random", mixed_task, ev)


def test_random_pool_rows_distinct_and_seeded(pool_task, run_method, assert_pool_valid, assert_seeded):
    ev = run_method("random", pool_task, seed=0)
    assert_pool_valid(pool_task, ev)
    assert_seeded("random", pool_task, ev, field="rows")


def test_random_pool_stops_when_the_pool_is_empty(run_method):
    task = PoolTask.from_dataset("crossed_barrel", n_initial=20, batch_size=100, n_iterations=50)
    ev = run_method("random", task)
    assert ev.n_evaluated == task.N
    assert np.unique(ev.rows).size == task.N


def test_limited_threads_restores_torch_threads():
    before = torch.get_num_threads()
    with base.limited_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_random_rejects_unknown_options():
    with pytest.raises(TypeError):
        get_method("random", bogus=1)
