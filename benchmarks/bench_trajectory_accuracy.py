r"""Reservoir accuracy along real optimisation trajectories (the evidence issue, item 2).

``benchmarks/bench_reservoir.py`` scores the surrogates on random training sets; a BO
campaign fits them on the rows it chose, which crowd where the method looked. This script
takes the rows each benchmark run actually measured, in order, and at ``n`` = 30, 60, 120
and 250 measured rows fits on the first ``n`` of them

- the reservoir (:class:`axfusion.models.ReservoirModel`, default families) and each of its
  families alone, with the family's share of the ensemble weight,
- BoTorch's ``SingleTaskGP`` (ARD Matérn-5/2, as in ``bench_reservoir.py``),
- a 100-tree random forest (mean and spread of its trees),

and scores each on *every unmeasured row of the pool*: out-of-sample R², Gaussian ELPD per
row and 90 % coverage (standardised target), and -- what matters for BO -- the Spearman
correlation of prediction and truth among the top 5 % of the unmeasured rows
(``rho_top5``). The model functions are ``bench_reservoir.py``'s. A second table asks which
score ranks the families as the unmeasured rows do: their out-of-bag ``R^2`` (what the
reservoir weights by) or their ``R^2`` on the next batch the run measured (what
``stage3.fusion.family_weighting = "ahead"`` uses).

    axfusion bench --tasks supercon curie_temp crossed_barrel madml_steel_strength heusler_magnetic \
        --methods fusion --seeds 3 --iterations 23 --jobs 1 --threads 1 --out benchmarks/out/trajectories
    python benchmarks/bench_trajectory_accuracy.py benchmarks/out/trajectories \
        --out benchmarks/results/trajectory_accuracy.json.gz --figure benchmarks/results/trajectory_accuracy.png

Prints a table (mean over the runs per pool, ``n`` and model); writes the JSON (every row),
the table as ``.md`` next to it and a figure (``rho_top5`` and R² against ``n``, one column per pool).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SIZES: tuple[int, ...] = (30, 60, 120, 250)
TOP_FRACTION = 0.05
METRICS: tuple[str, ...] = ("test_r2", "elpd", "cov90", "rho_top5")


def _reservoir_bench() -> Any:
    path = Path(__file__).with_name("bench_reservoir.py")
    spec = importlib.util.spec_from_file_location("bench_reservoir", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_reservoir", module)
    spec.loader.exec_module(module)
    return module


def trajectories(folder: Path, method: str) -> list[tuple[str, int, list[int]]]:
    r"""``(task, seed, measured rows in order)`` of every pool run of ``method`` under ``folder/runs``
    (or in ``folder/runs.tar.xz``, a packed results folder)."""
    runs_dir = folder / "runs"
    if not runs_dir.is_dir() and (folder / "runs.tar.xz").is_file():  # a committed, packed results folder
        import tarfile
        import tempfile

        unpacked = Path(tempfile.mkdtemp(prefix="axfusion_runs_"))
        with tarfile.open(folder / "runs.tar.xz") as tar:
            tar.extractall(unpacked, filter="data")
        runs_dir = unpacked / "runs"
    out = []
    for path in sorted(runs_dir.glob(f"*/{method}/seed*.json*")):
        if path.suffix not in (".json", ".gz"):
            continue
        with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as fh:
            rec = json.load(fh)
        rows = rec.get("history", {}).get("rows")
        if rec.get("status", "ok") == "ok" and rows:
            out.append((path.parent.parent.name, int(rec["seed"]), [int(r) for r in rows]))
    return out


def study_run(
    task_name: str, seed: int, rows: list[int], sizes: tuple[int, ...], n_members: int
) -> list[dict[str, Any]]:
    r"""Every model's metrics at every ``n`` in ``sizes`` not beyond the run's length."""
    from axfusion.benchmarks.suites import get_task

    br = _reservoir_bench()
    task = get_task(task_name).build()
    batch = task.batch_size
    setup = task.setup(0)
    X = np.asarray(setup.X, dtype=np.float64)
    y = -np.asarray(task.loss(setup.Y), dtype=np.float64).reshape(-1)  # larger is better
    out = []
    for n in sizes:
        if n > len(rows):
            continue
        train = np.asarray(rows[:n])
        test = np.setdiff1d(np.arange(X.shape[0]), train)
        payload = {
            "X_train": X[train], "y_train": y[train], "X_test": X[test], "y_test": y[test],
            "model_seed": seed, "n_members": n_members, "n_jobs": 1, "threads": 1, "warmup": False,
            "top_fraction": TOP_FRACTION, "return_predictions": True,
        }
        # the next batch the run measured (rows n .. n + batch - 1), a subset of the test rows
        nxt = np.isin(test, np.asarray(rows[n : n + batch]))
        for work in (br.work_reservoir, br.work_gp, br.work_rf):
            for r in work(payload):
                if r["method"] in ("reservoir+noise", "reservoir_uniform"):
                    continue
                keep = {k: r.get(k) for k in ("method", "weight", "oob_r2", *METRICS)}
                if "prediction" in r and nxt.sum() >= 3:
                    yb, fb = y[test][nxt], np.asarray(r["prediction"])[nxt]
                    keep["next_batch_r2"] = float(1.0 - np.mean((yb - fb) ** 2) / yb.var()) if yb.var() > 0 else None
                out.append({"task": task_name, "seed": seed, "n": n, **keep})
        print(f"  {task_name} seed {seed} n={n}: done", file=sys.stderr, flush=True)
    return out


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""Mean of each metric over the runs, per (task, n, method)."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["n"], r["method"]), []).append(r)
    out = []
    for (task, n, method), rs in sorted(groups.items()):
        entry: dict[str, Any] = {"task": task, "n": n, "method": method, "runs": len(rs)}
        for k in (*METRICS, "weight"):
            v = np.array([r[k] for r in rs if r.get(k) is not None], dtype=np.float64)
            v = v[np.isfinite(v)]
            entry[k] = float(v.mean()) if v.size else None
        out.append(entry)
    return out


def family_score_agreement(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""Which score tells the families apart as the unmeasured rows do: per pool, the mean over
    (run, n) of the Spearman correlation across families between a score -- the out-of-bag
    ``R^2`` (what the reservoir weights by) or the ``R^2`` on the next batch the run measured
    (what ``family_weighting = "ahead"`` uses one iteration later) -- and the family's ``R^2``
    on every unmeasured row; and the unmeasured-row ``R^2`` of the family each score ranks first."""
    from scipy.stats import spearmanr

    cells: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for r in rows:
        if r["method"].startswith("fam:"):
            cells.setdefault((r["task"], r["seed"], r["n"]), []).append(r)
    per_task: dict[str, dict[str, list[float]]] = {}
    for (task, _, _), fams in cells.items():
        if len(fams) < 3 or any(f.get("next_batch_r2") is None or f.get("test_r2") is None for f in fams):
            continue
        truth = np.array([f["test_r2"] for f in fams], dtype=np.float64)
        keys = ("rho_oob", "rho_next", "pick_oob", "pick_next", "best", "mean")
        acc = per_task.setdefault(task, {k: [] for k in keys})
        for key, score in (("oob", "oob_r2"), ("next", "next_batch_r2")):
            v = np.array([f[score] for f in fams], dtype=np.float64)
            acc[f"rho_{key}"].append(float(spearmanr(v, truth).statistic))
            acc[f"pick_{key}"].append(float(truth[int(np.nanargmax(v))]))
        acc["best"].append(float(truth.max()))
        acc["mean"].append(float(truth.mean()))
    return [{"task": t, "cells": len(v["best"]), **{k: float(np.nanmean(x)) for k, x in v.items()}}
            for t, v in sorted(per_task.items())]


def agreement_markdown(agreement: list[dict[str, Any]]) -> str:
    lines = ["| pool | (run, n) cells | ρ(OOB R², truth) | ρ(next-batch R², truth) | R² of the family ranked first "
             "by OOB | … by next batch | best family | mean family |", "|---|---|---|---|---|---|---|---|"]
    for a in agreement:
        lines.append(f"| {a['task']} | {a['cells']} | {a['rho_oob']:.2f} | {a['rho_next']:.2f} | {a['pick_oob']:.2f} "
                     f"| {a['pick_next']:.2f} | {a['best']:.2f} | {a['mean']:.2f} |")
    return "\n".join(lines)


def _rounded(obj: Any, digits: int = 4) -> Any:
    r"""``obj`` with every float rounded to ``digits`` decimals (the JSON stays small)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(summary: list[dict[str, Any]]) -> str:
    lines = ["| pool | n | model | runs | R² | ELPD/row | cov90 | ρ top 5 % | weight |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        lines.append(
            f"| {e['task']} | {e['n']} | {e['method']} | {e['runs']} | {_fmt(e['test_r2'])} | {_fmt(e['elpd'])} "
            f"| {_fmt(e['cov90'])} | {_fmt(e['rho_top5'])} | {_fmt(e['weight'])} |"
        )
    return "\n".join(lines)


def figure(summary: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({e["task"] for e in summary})
    fig, axes = plt.subplots(2, len(tasks), figsize=(3.2 * len(tasks), 5.6), squeeze=False, sharex=True)
    for j, task in enumerate(tasks):
        for method in sorted({e["method"] for e in summary if e["task"] == task}):
            pts = sorted((e["n"], e) for e in summary if e["task"] == task and e["method"] == method)
            ns = [n for n, _ in pts]
            style = {"lw": 2.2} if method in ("reservoir", "gp", "rf") else {"lw": 0.9, "ls": "--"}
            for i, key in enumerate(("rho_top5", "test_r2")):
                vals = [np.nan if e[key] is None else e[key] for _, e in pts]
                axes[i, j].plot(ns, vals, marker="o", ms=3, label=method, **style)
        axes[0, j].set_title(task, fontsize=9)
        axes[1, j].set_xlabel("measured rows n")
        axes[1, j].set_xscale("log")
        sizes = sorted({e["n"] for e in summary if e["task"] == task})
        axes[1, j].minorticks_off()
        axes[1, j].set_xticks(sizes, [str(n) for n in sizes])
    axes[0, 0].set_ylabel("Spearman ρ, top 5 % unmeasured")
    axes[1, 0].set_ylabel("R², unmeasured rows")
    for ax in axes[1]:
        ax.set_ylim(-1.0, 1.0)
    axes[0, -1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="bench output folder whose runs/ hold pool runs")
    ap.add_argument("--method", default="fusion", help="whose trajectories (default fusion)")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--members", type=int, default=8, help="bootstrap members per family (8)")
    ap.add_argument("--max-runs", type=int, default=None, help="at most this many runs per pool")
    ap.add_argument("--out", type=Path, default=None, help="JSON (.json or .json.gz) to write")
    ap.add_argument("--figure", type=Path, default=None, help="PNG to write")
    args = ap.parse_args(argv)

    runs = trajectories(args.folder, args.method)
    if not runs:
        print(f"error: no pool runs of {args.method!r} under {args.folder / 'runs'}; run `axfusion bench` first",
              file=sys.stderr)
        return 2
    taken: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for task, seed, measured in runs:
        if args.max_runs is not None and taken.get(task, 0) >= args.max_runs:
            continue
        taken[task] = taken.get(task, 0) + 1
        rows.extend(study_run(task, seed, measured, tuple(args.sizes), args.members))
    summary = summarise(rows)
    agreement = family_score_agreement(rows)
    print(markdown(summary))
    print("\n" + agreement_markdown(agreement))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_rounded({"top_fraction": TOP_FRACTION, "summary": summary,
                                    "family_score_agreement": agreement, "rows": rows}), allow_nan=True) + "\n"
        args.out.write_bytes(gzip.compress(text.encode(), mtime=0) if args.out.suffix == ".gz" else text.encode())
        base = args.out.with_suffix("") if args.out.suffix == ".gz" else args.out
        header = (f"# Reservoir accuracy along real trajectories\n\nRuns of `{args.method}` in `{args.folder}`; "
                  f"models fitted on the first n measured rows, scored on every unmeasured row (means over the runs; "
                  f"ρ: Spearman among the top {100 * TOP_FRACTION:.0f} % of the unmeasured rows; weight: the "
                  f"family's share of the reservoir's ensemble weight).\n\n")
        agree = ("\n\n## Which score ranks the families as the unmeasured rows do\n\n"
                 "Spearman correlation across the families (mean over runs and n) between a score and the "
                 "family's R² on the unmeasured rows, and the unmeasured-row R² of the family each score ranks "
                 "first.\n\n" + agreement_markdown(agreement))
        base.with_suffix(".md").write_text(header + markdown(summary) + agree + "\n")
    if args.figure is not None:
        figure(summary, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
