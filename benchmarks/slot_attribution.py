r"""Which part of axfusion's batch found the first top-k row of each closed-pool run.

A batch of ``q`` picks holds, in this order, the fused-utility picks, the exploration
slots and the family slots (``stage3.batch``; docs/method.md, batch selection step 4), and
the harness evaluates a batch in that order. For every run of a results folder that found a
success row, this script takes the batch that found it, the position of that batch's best
row (for one target every row at least as good as a success row is one), and counts the
position's kind. Slots are counted per kind and per slot, so that kinds with different
numbers of slots compare::

    python benchmarks/slot_attribution.py benchmarks/results/pools_slots --method fusion
    python benchmarks/slot_attribution.py DIR --method fusion --json out.json

Runs with several targets are skipped (their success is a Pareto-optimal row, which the
best scalar loss need not be).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from axfusion.benchmarks.metrics import load_runs, run_metrics
from axfusion.settings import Settings

KINDS = ("fused", "exploration", "family")


def slot_layout(q: int, options: dict[str, Any]) -> list[str]:
    r"""The kind of each of the ``q`` positions of a batch under the run's options."""
    batch = Settings().with_options(dict(options or {})).stage3.batch
    n_family = min(int(math.floor(batch.family_share * q + 1e-9)), q - 1)
    n_explore = max(min(int(math.floor(batch.explore_share * q + 1e-9)), q - 1 - n_family), 0)
    return ["fused"] * (q - n_family - n_explore) + ["exploration"] * n_explore + ["family"] * n_family


def attribute(runs: list[dict[str, Any]], method: str) -> dict[str, dict[str, Any]]:
    r"""Per task: hits per kind, slots per batch per kind, and the runs counted."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run.get("method") != method or run.get("status") != "ok":
            continue
        hit = run_metrics(run).get("iterations_to_success")
        history = run["history"]
        loss = np.asarray(history["loss"], dtype=np.float64)
        if hit is None or loss.ndim != 1:
            continue
        iteration = np.asarray(history["iteration"])
        rows = np.flatnonzero(iteration == hit)
        layout = slot_layout(rows.size, run.get("method_options") or {})
        kind = layout[int(np.argmin(loss[rows]))]
        entry = out.setdefault(
            str(run["task"]), {"hits": defaultdict(int), "slots": {k: layout.count(k) for k in KINDS}, "runs": 0}
        )
        entry["hits"][kind] += 1
        entry["runs"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="results folders (run files under <folder>/runs)")
    parser.add_argument("--method", default="fusion")
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args()
    runs = [r for folder in args.folders for r in load_runs(folder)]
    table = attribute(runs, args.method)
    total = {k: 0 for k in KINDS}
    slots = {k: 0 for k in KINDS}
    print(f"| task | runs | {' | '.join(f'{k} (slots)' for k in KINDS)} |")
    print("|---|---|" + "---|" * len(KINDS))
    for task, entry in sorted(table.items()):
        cells = [f"{entry['hits'][k]} ({entry['slots'][k]})" for k in KINDS]
        print(f"| {task} | {entry['runs']} | {' | '.join(cells)} |")
        for k in KINDS:
            total[k] += entry["hits"][k]
            slots[k] += entry["slots"][k] * entry["runs"]
    n = sum(total.values())
    if n:
        per_slot = {k: (total[k] / slots[k] if slots[k] else float("nan")) for k in KINDS}
        print(f"| all | {n} | {' | '.join(f'{total[k]} ({per_slot[k]:.3f} per slot)' for k in KINDS)} |")
    if args.json:
        data = {t: {"runs": e["runs"], "hits": dict(e["hits"]), "slots": e["slots"]} for t, e in table.items()}
        Path(args.json).write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
