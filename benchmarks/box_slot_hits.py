r"""Which kind of pick improves the incumbent in a box campaign on Hartmann-6.

A box batch of ``q`` holds trust-region picks, family slots, exploration slots and fused
picks (``stage3.batch``; docs/method.md). This script runs :class:`FusionOptimizer` directly
(no Ax) on BoTorch's Hartmann-6 (minimised), 10 scrambled-Sobol initial designs per seed and
``--batches`` batches of ``--q``, the full differential evolution (``stage2.box.maxiter =
100``, ``popsize = 15``, no time budget, so a seed reproduces its run exactly), and counts,
per kind of pick (read from each suggestion's ``reason``), how many picks beat the best value
measured before their batch::

    python benchmarks/box_slot_hits.py --seeds 0 1 2 3 4 --json hits.json
    python benchmarks/box_slot_hits.py --seeds 0 --option stage3.batch.family_share=0

Prints a table and, with ``--json``, writes every pick (seed, batch, kind, value, improved).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import torch

#: Words of a suggestion's ``reason`` that name the kind of its slot (the rest are fused picks).
KINDS: tuple[str, ...] = ("trust", "family", "explor", "coverage", "lead")


def pick_kind(reason: str) -> str:
    r"""The kind of pick a suggestion's ``reason`` names: one of :data:`KINDS` or ``"fused"``."""
    text = reason.lower()
    return next((k for k in KINDS if k in text), "fused")


def run_seed(seed: int, q: int, batches: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    r"""One campaign; one record per pick."""
    from botorch.test_functions import Hartmann
    from torch.quasirandom import SobolEngine

    from axfusion.campaign import FusionOptimizer
    from axfusion.candidates import ContinuousParameter, SearchSpace

    f = Hartmann(dim=6)
    names = [f"x{i}" for i in range(6)]
    space = SearchSpace([ContinuousParameter(n, 0.0, 1.0) for n in names])
    settings = {
        "batch_size": q, "n_members": 4, "n_box_candidates": 1000, "box_time_budget_s": None,
        "stage2.box.maxiter": 100, "stage2.box.popsize": 15, **options,
    }
    opt = FusionOptimizer(space, ["minimize"], target_names=["y"], seed=seed, options=settings)
    X0 = SobolEngine(6, scramble=True, seed=seed).draw(10).double()
    y0 = f(X0).numpy()
    opt.observe(X=pd.DataFrame(X0.numpy(), columns=names), Y=y0.reshape(-1, 1))
    best = float(y0.min())
    out = []
    for batch in range(batches):
        s = opt.suggest()
        X = s.table[names]
        y = f(torch.as_tensor(X.to_numpy())).numpy()
        for reason, v in zip(s.table["reason"], y):
            out.append({"seed": seed, "batch": batch, "kind": pick_kind(str(reason)), "value": float(v),
                        "improved": bool(v < best)})
        best = min(best, float(y.min()))
        opt.observe(X=X, Y=y.reshape(-1, 1))
    return out


def _option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--q", type=int, default=4, help="batch size (default 4)")
    parser.add_argument("--batches", type=int, default=10, help="batches after the 10 initial designs")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="a settings option")
    parser.add_argument("--json", default=None, help="write every pick here")
    args = parser.parse_args(argv)
    options = dict(_option(o) for o in args.option)
    picks: list[dict[str, Any]] = []
    for seed in args.seeds:
        rows = run_seed(seed, args.q, args.batches, options)
        picks.extend(rows)
        print(f"seed {seed}: best {min(r['value'] for r in rows):.4f}", flush=True)
    table: dict[str, list[float]] = defaultdict(list)
    hits: dict[str, int] = defaultdict(int)
    for r in picks:
        table[r["kind"]].append(r["value"])
        hits[r["kind"]] += r["improved"]
    print("\n| kind of pick | picks | beat the incumbent | median value |\n|---|---|---|---|")
    for kind, values in sorted(table.items(), key=lambda kv: -hits[kv[0]]):
        print(f"| {kind} | {len(values)} | {hits[kind]} | {np.median(values):.3f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seeds": args.seeds, "q": args.q, "batches": args.batches, "options": options,
                       "picks": picks}, fh)


if __name__ == "__main__":
    main()
