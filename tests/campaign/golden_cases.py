r"""Campaigns whose batches are pinned in ``data/golden_batches.json``.

The file was first written by ``python tests/campaign/golden_cases.py`` on the
code *before* the campaign core was split into state, sources and stages (commit
8d2bc84, with the old ``FusionOptimizer(config=OptimizerConfig(...))``), and the
refactored loop reproduces it exactly. Rewrite it only for a deliberate change of
the method's decisions, and say which in the commit (so far: one embedding per
iteration; the exploration and family slots with the bias rule of the authors' code as
defaults; coverage slots in a stalled pool's batch, which changed ``pool_no_structure``'s third
batch). Each case runs a few
iterations on a deterministic "measurement" and records every batch (pool row
ids, or the designs of a box).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).with_name("data") / "golden_batches.json"
N_ITER = 3


def pool_problem(m: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.uniform(size=(400, 5))
    y1 = np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2 + 0.05 * rng.normal(size=400)
    if m == 1:
        return X, y1[:, None]
    y2 = np.cos(3 * X[:, 3]) - X[:, 0] + 0.3 * X[:, 4]
    return X, np.column_stack([y1, y2])


def box_measure(frame: pd.DataFrame) -> np.ndarray:
    shift = frame["c"].map({"a": 0.0, "b": 0.7, "c": -0.4}).to_numpy()
    return -((frame["x1"].to_numpy() - 0.3) ** 2) - (frame["x2"].to_numpy() + 0.2) ** 2 + shift


def run_case(name: str, make: Any, n_iter: int = N_ITER) -> list[list[Any]]:
    r"""Run case ``name`` with the optimiser factory ``make(case) -> optimiser``."""
    case = CASES[name]
    opt = make(case)
    batches: list[list[Any]] = []
    if case["kind"] == "pool":
        X, Y = pool_problem(case["m"])
        init = np.arange(0, 400, 20)
        opt.observe(ids=init, Y=Y[init])
        for _ in range(n_iter):
            s = opt.suggest()
            ids = [int(i) for i in s.row_ids]
            batches.append(ids)
            opt.observe(ids=ids, Y=Y[ids])
    else:
        rng = np.random.default_rng(3)
        init = pd.DataFrame(
            {"x1": rng.uniform(-1, 1, 12), "x2": rng.uniform(-1, 1, 12), "c": rng.choice(["a", "b", "c"], 12)}
        )
        opt.observe(X=init, Y=box_measure(init))
        for _ in range(n_iter):
            s = opt.suggest()
            frame = s.table[["x1", "x2", "c"]]
            rows = frame.itertuples(index=False)
            batches.append([[round(float(a), 12), round(float(b), 12), str(c)] for a, b, c in rows])
            opt.observe(X=frame, Y=box_measure(frame))
    return batches


CASES: dict[str, dict[str, Any]] = {
    "pool_default_families": {"kind": "pool", "m": 1, "options": {"n_members": 4, "batch_size": 5}},
    "pool_two_targets": {
        "kind": "pool",
        "m": 2,
        "options": {"families": ["ridge", "knn", "lightgbm"], "n_members": 3, "batch_size": 4},
    },
    "pool_no_structure": {
        "kind": "pool",
        "m": 1,
        "options": {
            "families": ["lasso", "decision_tree", "xgboost"], "n_members": 3, "batch_size": 5, "use_structure": False,
        },
    },
    "box_mixed": {
        "kind": "box",
        "m": 1,
        "options": {
            "families": ["ridge", "knn", "lightgbm"],
            "n_members": 3,
            "batch_size": 4,
            "n_box_candidates": 300,
            "box_time_budget_s": None,
            "box_de_maxiter": 4,
            "box_de_popsize": 5,
        },
    },
}


def make_optimizer(case: dict[str, Any]) -> Any:
    r"""The optimiser of a case (current API)."""
    from axfusion.campaign import FusionOptimizer
    from axfusion.candidates import CategoricalParameter, ContinuousParameter, SearchSpace

    targets = ["maximize"] * case["m"]
    if case["kind"] == "pool":
        X, _ = pool_problem(case["m"])
        return FusionOptimizer(X, targets, options=case["options"], seed=11)
    space = SearchSpace(
        [ContinuousParameter("x1", -1, 1), ContinuousParameter("x2", -1, 1), CategoricalParameter("c", ["a", "b", "c"])]
    )
    return FusionOptimizer(space, targets, options=case["options"], seed=11)


if __name__ == "__main__":
    out = {name: run_case(name, make_optimizer) for name in (sys.argv[1:] or CASES)}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out))
