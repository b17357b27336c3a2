r"""A method's runs in one results folder against its runs in another, seed by seed.

When a change of the method is measured by re-running it on the seeds of an earlier results
folder (same tasks, same seeds, hence the same initial rows), the two folders hold runs under
the same method name. This script pairs them by (task, seed) and prints, per task, both
medians, how many seeds each is better on and the two-sided sign test (pools: iterations to
success, a run without success counting as budget + 1; functions: final best;
:func:`axfusion.benchmarks.ablation.run_score`, as the ablation tables)::

    python benchmarks/compare_runs.py benchmarks/results/reactions_levels benchmarks/results/reactions
    python benchmarks/compare_runs.py NEW OLD --method fusion --old-method fusion --json paired.json
    python benchmarks/compare_runs.py NEW OLD1 OLD2 OLD3 --method fusion:fused_draws --old-method fusion

Several OLD folders (one per group of tasks) are read in order; the first that holds a
(task, seed) run wins.

The last row sums the better / worse seeds over the tasks, with the sign test over all of
them and the mean over every pair of ``log(new / old)`` (pools; below 0: the new runs need
fewer batches).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest

from axfusion.benchmarks.ablation import run_score
from axfusion.benchmarks.metrics import load_runs, run_metrics

Scores = dict[tuple[str, int], tuple[float, str]]


def scores(runs: Sequence[dict[str, Any]], method: str) -> Scores:
    r"""``(task, seed) -> (score, kind)`` of ``method``'s finished runs; lower is better (pools:
    iterations to success, budget + 1 without one; functions: the final best)."""
    out: Scores = {}
    for r in runs:
        if r.get("method") != method or r.get("status") != "ok":
            continue
        m = run_metrics(r)
        out[(str(r["task"]), int(r["seed"]))] = (run_score(m)[0], str(m.get("kind")))
    return out


def compare(new: Scores, old: Scores) -> dict[str, Any]:
    r"""``{"tasks": [per-task rows], "total": {...}}``: ``new`` against ``old`` (:func:`scores`),
    paired by task and seed."""
    rows, logs = [], []
    for task in sorted({t for t, _ in new}):
        seeds = sorted(s for t, s in new if t == task and (t, s) in old)
        if not seeds:
            continue
        a = np.array([new[(task, s)][0] for s in seeds])
        b = np.array([old[(task, s)][0] for s in seeds])
        better, worse = int((a < b).sum()), int((a > b).sum())
        rows.append({
            "task": task, "n_pairs": len(seeds), "median": float(np.median(a)), "old_median": float(np.median(b)),
            "better": better, "worse": worse, "ties": len(seeds) - better - worse,
            "p_sign": float(binomtest(better, better + worse, 0.5).pvalue) if better + worse else 1.0,
        })
        if new[(task, seeds[0])][1] == "pool":
            logs += [math.log(x / y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    better, worse = sum(r["better"] for r in rows), sum(r["worse"] for r in rows)
    total = {
        "better": better, "worse": worse, "ties": sum(r["ties"] for r in rows),
        "p_sign": float(binomtest(better, better + worse, 0.5).pvalue) if better + worse else 1.0,
        "mean_log_ratio": float(np.mean(logs)) if logs else math.nan, "n_pairs": len(logs),
    }
    return {"tasks": rows, "total": total}


def markdown(result: dict[str, Any], title: str = "") -> str:
    r"""The comparison as a markdown table (under ``title``)."""
    lines = [title, ""] if title else []
    lines += [
        "| task | seeds | new median | old median | better / worse / ties | p (sign) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["tasks"]:
        lines.append(
            f"| {r['task']} | {r['n_pairs']} | {r['median']:g} | {r['old_median']:g} | "
            f"{r['better']} / {r['worse']} / {r['ties']} | {r['p_sign']:.3f} |"
        )
    t = result["total"]
    lines.append(
        f"| all | {t['n_pairs'] or ''} | – | – | {t['better']} / {t['worse']} / {t['ties']} | {t['p_sign']:.3f} |"
    )
    if t["n_pairs"]:
        lines += ["", f"Mean log(new / old) over the {t['n_pairs']} paired pool runs: {t['mean_log_ratio']:+.3f}."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("new", help="results folder of the new runs")
    ap.add_argument(
        "old", nargs="+",
        help="results folder(s) of the earlier runs (same tasks and seeds; the first that has a run wins)",
    )
    ap.add_argument("--method", default="fusion", help="method name in the new folder (default fusion)")
    ap.add_argument("--old-method", default=None, help="method name in the old folder (default: --method)")
    ap.add_argument("--json", default=None, help="also write the comparison to this JSON file")
    args = ap.parse_args(argv)
    new = scores(load_runs(args.new), args.method)
    old: Scores = {}
    for folder in args.old:
        for key, value in scores(load_runs(folder), args.old_method or args.method).items():
            old.setdefault(key, value)
    result = compare(new, old)
    if not result["tasks"]:
        raise SystemExit(f"No (task, seed) of `{args.method}` is in both folders; nothing to compare.")
    label = args.old[0] if len(args.old) == 1 else ", ".join(args.old)
    result = {"new": args.new, "old": label, "method": args.method, **result}
    print(markdown(result, f"`{args.method}` in `{args.new}` (new) against `{label}` (old), same tasks and seeds:"))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
