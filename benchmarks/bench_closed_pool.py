r"""Closed-pool benchmark of the fusion optimiser (the paper's protocol).

For each task and seed: 20 initial rows at or below the median, batches of 10,
50 iterations at most, success = a top-min(10, floor(N/100)) row evaluated (for
two targets: a Pareto-optimal row). Reports the success rate, median and
20-80 % range of iterations to success (also top-5 and the single best row),
wall time per iteration, and the exact hypergeometric expectation of random
search in the same table.

    python benchmarks/bench_closed_pool.py                      # 10 seeds, all tasks
    python benchmarks/bench_closed_pool.py --quick               # 2 seeds, short budget
    python benchmarks/bench_closed_pool.py --tasks curie_temp --seeds 0 1 2

Writes ``benchmarks/results/closed_pool.json`` and ``closed_pool.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

#: name -> (dataset, targets, directions)
TASKS: dict[str, tuple[str, list[str], list[str] | None]] = {
    "curie_temp": ("curie_temp", ["Tc_real"], None),
    "crossed_barrel": ("crossed_barrel", ["toughness"], None),
    "supercon": ("supercon", ["Tc"], None),
    "steel_yield": ("madml_steel_strength", ["yield_strength"], None),
    "steel_yield_tensile": ("steel_strength", ["yield strength", "tensile strength"], ["maximize", "maximize"]),
}


def _run_one(task: str, seed: int, n_iterations: int, n_jobs: int) -> dict:
    import warnings

    from axfusion.protocols import run_closed_pool

    warnings.simplefilter("ignore")
    dataset, targets, directions = TASKS[task]
    r = run_closed_pool(
        dataset,
        targets=targets,
        directions=directions,
        seed=seed,
        n_iterations=n_iterations,
        stop_at_success=True,
        n_jobs=n_jobs,
    )
    per_iter = [t["wall_time"] for t in r.trajectory]
    return {
        "task": task,
        "seed": seed,
        "iterations_to_success": r.iterations_to_success,
        "iterations_to_top5": r.iterations_to_top5,
        "iterations_to_best": r.iterations_to_best,
        "n_success_rows": len(r.success_rows),
        "iterations_run": len(r.trajectory),
        "wall_time": r.wall_time,
        "wall_per_iteration_median": float(np.median(per_iter)) if per_iter else None,
        "wall_per_iteration_max": float(np.max(per_iter)) if per_iter else None,
    }


def _stats(vals: list[int | None]) -> dict:
    hits = np.array([v for v in vals if v is not None], dtype=float)
    return {
        "success": int(hits.size),
        "runs": len(vals),
        "median": float(np.median(hits)) if hits.size else None,
        "p20": float(np.percentile(hits, 20)) if hits.size else None,
        "p80": float(np.percentile(hits, 80)) if hits.size else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="campaigns run in parallel")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10 iterations")
    parser.add_argument("--out", default="benchmarks/results/closed_pool.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.iterations = args.seeds[:2], min(args.iterations, 10)

    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from axfusion.data import load_dataset
    from axfusion.protocols import random_search_expectation, success_set_size

    jobs = [(t, s) for t in args.tasks for s in args.seeds]
    inner = 1 if args.workers > 1 else 2
    rows = []
    t0 = time.time()
    with tqdm(total=len(jobs), desc="campaigns", unit="run") as bar:
        par = Parallel(n_jobs=args.workers, return_as="generator_unordered")
        for row in par(delayed(_run_one)(t, s, args.iterations, inner) for t, s in jobs):
            rows.append(row)
            bar.update(1)
            bar.set_postfix(task=row["task"], its=row["iterations_to_success"])
    total = time.time() - t0

    summary = {}
    lines = [
        "| task | N | success set | success | median [20-80 %] | top-5 | best row | random (exact E) "
        "| s / iteration (median, max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        tr = sorted((r for r in rows if r["task"] == task), key=lambda r: r["seed"])
        dataset, targets, _ = TASKS[task]
        N = len(load_dataset(dataset, targets=targets))
        k = tr[0]["n_success_rows"]
        crit = success_set_size(N) if len(targets) == 1 else k
        rnd = random_search_expectation(N, k, 20, 10, args.iterations)
        keys = ("iterations_to_success", "iterations_to_top5", "iterations_to_best")
        s = {key: _stats([r[key] for r in tr]) for key in keys}
        wt = [r["wall_per_iteration_median"] for r in tr if r["wall_per_iteration_median"] is not None]
        wmax = [r["wall_per_iteration_max"] for r in tr if r["wall_per_iteration_max"] is not None]
        summary[task] = {"N": N, "success_set": k, "criterion_top": crit, "random_expectation": rnd, **s,
                         "wall_per_iteration_median": float(np.median(wt)) if wt else None,
                         "wall_per_iteration_max": float(np.max(wmax)) if wmax else None}

        def fmt(d: dict) -> str:
            if d["median"] is None:
                return f"{d['success']}/{d['runs']}"
            return f"{d['success']}/{d['runs']}: {d['median']:.1f} [{d['p20']:.1f}, {d['p80']:.1f}]"

        label = f"top {crit}" if len(targets) == 1 else f"Pareto ({k} rows)"
        lines.append(
            f"| {task} | {N} | {label} | {s['iterations_to_success']['success']}/{len(tr)} | "
            f"{fmt(s['iterations_to_success']).split(': ')[-1]} | {fmt(s['iterations_to_top5'])} | "
            f"{fmt(s['iterations_to_best'])} | {rnd:.1f} | "
            f"{summary[task]['wall_per_iteration_median']:.1f}, {summary[task]['wall_per_iteration_max']:.1f} |"
        )
    table = "\n".join(lines)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "protocol": {"n_initial": 20, "batch_size": 10, "n_iterations": args.iterations, "seeds": args.seeds},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "workers": args.workers,
        "total_wall_s": total,
    }
    out.write_text(json.dumps({"meta": meta, "summary": summary, "runs": rows}, indent=1))
    out.with_suffix(".md").write_text(
        "Closed-pool protocol (20 initial rows at or below the median, batch 10, "
        f"{args.iterations} iterations; iterations counted after the initial design). "
        f"{len(args.seeds)} seeds, {args.workers} campaigns in parallel on {os.cpu_count()} cores.\n\n" + table + "\n"
    )
    print(f"\nwrote {out} and {out.with_suffix('.md')} ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
