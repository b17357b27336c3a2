r"""Ax benchmark: the fusion strategy against Ax's GP-BO, LVGP-BO, RF-BO and Sobol.

The problems of the LVGP-vs-Lolo seed paper, minimised through Ax's ``Client`` ask/tell
loop (every method from the same seeded Sobol design):

- ``mixed_rosenbrock_10d`` -- 10-D Rosenbrock, 5 continuous and 5 categorical inputs;
- ``mixed_branin`` -- Branin with a categorical second input;
- ``hartmann6`` -- Hartmann-6 on ``[0, 1]^6``, continuous (the standard BO test function).

For every problem, method and seed it records the value of every trial, the best value
so far, and the generation time per trial (the wall time of ``get_next_trials`` divided
by the trials it returned). Prints a table and writes ``benchmarks/results/ax.json`` and
``ax.md``.

    python benchmarks/bench_ax.py                    # 5 seeds x 40 trials, all methods
    python benchmarks/bench_ax.py --quick             # 2 seeds x 16 trials
    python benchmarks/bench_ax.py --methods fusion gpbo --problems mixed_branin --jobs 2
    python benchmarks/bench_ax.py --problems hartmann6 --methods fusion gpbo --trials 50 --batch-size 2
    python benchmarks/bench_ax.py --problems hartmann6 --methods fusion --fusion-option n_local=500
    python benchmarks/bench_ax.py --problems hartmann6 --methods fusion gpbo --batch-size 4 --node-batch-size 1

``--node-batch-size`` sets the fusion node's ``batch_size`` apart from the trials asked per
``get_next_trials`` call (``--batch-size``): with 1 the node continues its batch on the
same fit for the call's later trials. Each fusion run also records the reservoir fits per
call (``fits_per_call``: iterations whose ``model`` stage ran).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

PROBLEMS: tuple[str, ...] = ("mixed_rosenbrock_10d", "mixed_branin", "hartmann6")
METHODS: tuple[str, ...] = ("fusion", "gpbo", "lvgp", "rfbo", "sobol")

#: Fusion settings of the benchmark (the method's defaults are for pools of real data).
FUSION_OPTIONS: dict[str, Any] = {
    "n_members": 4,
    "n_box_candidates": 1000,
    "box_time_budget_s": 4.0,
}
QUICK_FUSION_OPTIONS: dict[str, Any] = {
    "families": ["ridge", "knn", "lightgbm", "mlp"],
    "n_members": 3,
    "n_box_candidates": 400,
    "box_time_budget_s": 1.5,
}
#: The notes' advice: LVGP is refitted several times per Ax step; keep its restarts few.
MODEL_OPTIONS: dict[str, dict[str, Any]] = {"lvgp": {"num_restarts": 3}, "rfbo": {"n_estimators": 100}}


def _parameter_configs(problem: Any) -> list[Any]:
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    out = []
    for p in problem.parameters:
        if p.kind == "continuous":
            out.append(RangeParameterConfig(name=p.name, parameter_type="float", bounds=(p.lower, p.upper)))
        elif p.kind == "integer":
            out.append(RangeParameterConfig(name=p.name, parameter_type="int", bounds=(int(p.lower), int(p.upper))))
        else:
            kind = "int" if all(isinstance(v, int) for v in p.levels) else "float"
            out.append(ChoiceParameterConfig(name=p.name, parameter_type=kind, values=list(p.levels), is_ordered=False))
    return out


def run_one(
    problem_name: str,
    method: str,
    seed: int,
    n_trials: int,
    n_initial: int,
    batch_size: int,
    fusion_options: dict[str, Any],
    node_batch_size: int | None = None,
) -> dict[str, Any]:
    r"""One optimisation run through Ax's ``Client``; never raises (errors are recorded)."""
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from ax.api.client import Client

    from axfusion.ax import generation_strategy
    from axfusion.benchmarks import get_problem

    problem = get_problem(problem_name)
    values: list[float] = []
    gen_times: list[float] = []
    nodes: list[str] = []
    fits_per_call: list[int] = []
    error = None
    t_start = time.perf_counter()
    try:
        client = Client(random_seed=seed)
        client.configure_experiment(parameters=_parameter_configs(problem), name=f"{problem_name}-{method}-{seed}")
        client.configure_optimization(objective="-f")
        extra = dict(fusion_options) if method == "fusion" else {}
        client.set_generation_strategy(
            generation_strategy(
                method,
                seed=seed,
                n_initial=n_initial,
                batch_size=node_batch_size or batch_size,
                model_options=MODEL_OPTIONS.get(method),
                **extra,
            )
        )
        while len(values) < n_trials:
            t0 = time.perf_counter()
            trials = client.get_next_trials(max_trials=min(batch_size, n_trials - len(values)))
            dt = time.perf_counter() - t0
            if not trials:
                raise RuntimeError("get_next_trials returned no trial")
            fits_per_call.append(_fits(client, trials))
            for index in sorted(trials):
                y = float(problem.evaluate_dict(trials[index]))
                client.complete_trial(index, {"f": y})
                values.append(y)
                gen_times.append(dt / len(trials))
                nodes.append(str(client._experiment.trials[index].generator_runs[0]._generation_node_name))
    except Exception:  # a failing method must not stop the benchmark
        error = traceback.format_exc(limit=8)
    best = np.minimum.accumulate(values).tolist() if values else []
    return {
        "problem": problem_name,
        "method": method,
        "seed": seed,
        "values": values,
        "best": best,
        "regret": [b - problem.optimal_value for b in best] if problem.optimal_value is not None else None,
        "gen_time_s": gen_times,
        "nodes": nodes,
        "fits_per_call": fits_per_call,
        "wall_time_s": time.perf_counter() - t_start,
        "error": error,
    }


def _fits(client: Any, trials: dict[int, Any]) -> int:
    r"""Reservoir fits behind ``trials``: the fusion node's iterations among them whose
    ``model`` stage ran (0 for other nodes)."""
    node = client._generation_strategy._curr
    records = getattr(getattr(node, "optimizer", None), "records", None) or []
    done = {r.iteration: r for r in records}
    iterations = set()
    for index in trials:
        for gr in client._experiment.trials[index].generator_runs:
            iterations.update((gr.gen_metadata or {}).get("fusion_iterations", []))
    return sum(1 for i in iterations if i in done and done[i].timings.get("model", 0.0) > 0.0)


def summarise(runs: list[dict[str, Any]], n_trials: int, n_initial: int) -> list[dict[str, Any]]:
    r"""Per problem and method: best value at checkpoints (mean, std, median over seeds)
    and the mean generation time per trial after the initial design."""
    checkpoints = sorted({c for c in (n_initial, n_trials // 2, n_trials) if 1 <= c <= n_trials})
    rows = []
    for problem in dict.fromkeys(r["problem"] for r in runs):
        for method in dict.fromkeys(r["method"] for r in runs):
            group = [r for r in runs if r["problem"] == problem and r["method"] == method]
            if not group:
                continue
            done = [r for r in group if r["error"] is None and len(r["best"]) == n_trials]
            row: dict[str, Any] = {"problem": problem, "method": method, "runs": len(group), "completed": len(done)}
            for c in checkpoints:
                vals = np.array([r["best"][c - 1] for r in done]) if done else np.array([])
                row[f"best@{c}"] = {
                    "mean": float(vals.mean()) if vals.size else None,
                    "std": float(vals.std()) if vals.size else None,
                    "median": float(np.median(vals)) if vals.size else None,
                }
            model_times = [t for r in done for t in r["gen_time_s"][n_initial:]]
            row["gen_time_per_trial_s"] = float(np.mean(model_times)) if model_times else None
            row["wall_time_per_run_s"] = float(np.mean([r["wall_time_s"] for r in done])) if done else None
            fits = [f for r in done for f in r.get("fits_per_call", [])]
            row["max_fits_per_call"] = max(fits) if fits and method == "fusion" else None
            rows.append(row)
    return rows


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def table(summary: list[dict[str, Any]], n_trials: int) -> str:
    r"""A markdown table of the summary."""
    checkpoints = [k for k in summary[0] if k.startswith("best@")] if summary else []
    head = ["problem", "method", "runs"] + [f"{k} mean ± std (median)" for k in checkpoints]
    head += ["gen s/trial", "s/run", "fits/call (max)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in summary:
        cells = [row["problem"], row["method"], f"{row['completed']}/{row['runs']}"]
        for k in checkpoints:
            s = row[k]
            cells.append(f"{_fmt(s['mean'])} ± {_fmt(s['std'], 2)} ({_fmt(s['median'])})")
        fits = row.get("max_fits_per_call")
        cells += [_fmt(row["gen_time_per_trial_s"], 2), _fmt(row["wall_time_per_run_s"], 3)]
        cells.append("-" if fits is None else str(fits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 seeds x 16 trials, small fusion settings")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0..4; quick: 0 1)")
    parser.add_argument("--trials", type=int, help="trials per run (default 40; quick: 16)")
    parser.add_argument("--n-initial", type=int, help="initial Sobol trials (default 10; quick: 6)")
    parser.add_argument("--batch-size", type=int, default=1, help="trials per get_next_trials call")
    parser.add_argument(
        "--node-batch-size", type=int, help="the fusion node's batch_size (default: --batch-size)"
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS) + ["random"])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes, one thread each)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "ax.json"))
    parser.add_argument(
        "--fusion-option", action="append", default=[], metavar="NAME=VALUE",
        help="a fusion option on top of the benchmark's (values parsed as JSON when they can be; repeatable)",
    )
    args = parser.parse_args(argv)

    seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else list(range(5)))
    n_trials = args.trials or (16 if args.quick else 40)
    n_initial = args.n_initial or (6 if args.quick else 10)
    fusion_options = dict(QUICK_FUSION_OPTIONS if args.quick else FUSION_OPTIONS)
    for item in args.fusion_option:
        name, sep, text = item.partition("=")
        if not sep or not name:
            parser.error(f"--fusion-option needs NAME=VALUE, got {item!r}")
        try:
            fusion_options[name] = json.loads(text)
        except json.JSONDecodeError:
            fusion_options[name] = text
    if n_initial >= n_trials:
        parser.error("--n-initial must be smaller than --trials")

    jobs = [
        (problem, method, seed, n_trials, n_initial, args.batch_size, fusion_options, args.node_batch_size)
        for problem in args.problems
        for seed in seeds
        for method in args.methods
    ]
    config = {
        "problems": args.problems,
        "methods": args.methods,
        "seeds": seeds,
        "trials": n_trials,
        "n_initial": n_initial,
        "batch_size": args.batch_size,
        "node_batch_size": args.node_batch_size or args.batch_size,
        "jobs": args.jobs,
        "fusion_options": fusion_options,
        "model_options": MODEL_OPTIONS,
        "quick": args.quick,
        "objective": "minimise f (best = smallest value so far)",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs: list[dict[str, Any]] = []

    def record(r: dict[str, Any]) -> None:
        runs.append(r)
        _report(r)
        # Written after every run, so an interrupted benchmark leaves its results.
        _write(out, config, runs, n_trials, n_initial, time.perf_counter() - t0, complete=len(runs) == len(jobs))

    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for r in pool.map(run_one, *zip(*jobs)):
                record(r)
    else:
        for job in jobs:
            record(run_one(*job))
    print()
    print(table(summarise(runs, n_trials, n_initial), n_trials))
    print(f"\nwrote {out} and {out.with_suffix('.md')}")
    return 1 if any(r["error"] for r in runs) else 0


def _write(
    out: Path,
    config: dict[str, Any],
    runs: list[dict[str, Any]],
    n_trials: int,
    n_initial: int,
    wall_time_s: float,
    complete: bool,
) -> None:
    r"""Write the JSON results and the markdown table (``complete`` marks a finished run)."""
    summary = summarise(runs, n_trials, n_initial)
    payload = {
        "config": config,
        "complete": complete,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "total_wall_time_s": wall_time_s,
        "summary": summary,
        "runs": runs,
    }
    out.write_text(json.dumps(payload, separators=(",", ":")))  # compact: the table is in the .md file
    seeds = config["seeds"]
    header = (
        f"# Ax benchmark ({'quick' if config['quick'] else 'full'}{'' if complete else ', incomplete'})\n\n"
        f"{len(seeds)} seeds x {n_trials} trials ({n_initial} Sobol), batch {config['batch_size']}, "
        f"{config['jobs']} run(s) in parallel; best value so far (minimised, lower is better) at the "
        "given trial; generation time per trial after the initial design. Written by "
        "`benchmarks/bench_ax.py`.\n\n"
    )
    out.with_suffix(".md").write_text(header + table(summary, n_trials) + "\n")


def _report(r: dict[str, Any]) -> None:
    status = "ERROR" if r["error"] else f"best {r['best'][-1]:.4g}"
    print(f"{r['problem']:>22} {r['method']:>7} seed {r['seed']}: {status} ({r['wall_time_s']:.0f} s)", flush=True)
    if r["error"]:
        print(r["error"], file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
