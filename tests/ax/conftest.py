from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

#: Small, fast fusion settings for every Ax test.
FAST: dict[str, Any] = {
    "families": ("ridge", "knn", "lightgbm"),
    "n_members": 3,
    "n_box_candidates": 200,
    "box_time_budget_s": 1.0,
    "hv_n_samples": 16,
}


@pytest.fixture(autouse=True)
def _quiet_single_thread(quiet_single_thread: None) -> None:
    r"""Every test here runs quiet and single-threaded (tests/conftest.py)."""


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
