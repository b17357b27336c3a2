from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

#: Small, fast fusion settings for every Ax test.
FAST: dict[str, Any] = {
    "families": ("ridge", "knn", "lightgbm"),
    "n_members": 3,
    "n_box_candidates": 200,
    "box_time_budget_s": 1.0,
    "hv_n_samples": 16,
}


@pytest.fixture(autouse=True)
def _quiet_single_thread() -> Iterator[None]:
    r"""One torch thread (2-core machine) and no Ax INFO logging."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(previous)
    torch.set_num_threads(threads)


@pytest.fixture
def fast_options() -> dict[str, Any]:
    return dict(FAST)


@pytest.fixture
def run_client() -> Callable[..., list[dict[int, dict[str, Any]]]]:
    r"""``run(client, evaluate, steps, max_trials)``: ask/tell loop; returns the batches."""

    def run(client: Any, evaluate: Callable[[dict[str, Any]], dict[str, float]], steps: int, max_trials: int) -> list:
        batches = []
        for _ in range(steps):
            trials = client.get_next_trials(max_trials=max_trials)
            for index, params in trials.items():
                client.complete_trial(index, evaluate(params))
            batches.append(trials)
        return batches

    return run
