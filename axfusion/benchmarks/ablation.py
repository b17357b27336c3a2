r"""Paired comparison of the method with its ablations (or any method with a baseline).

For every task and every other method, the runs of the same seed (same initial rows or
design) are paired with the baseline's: on pools the iterations to success (a run that
never succeeded counts as its budget + 1: censored, and ranked after every success), on
functions the final best value (lower is better). The table gives both medians, the
pairs, how often the variant was better / worse / tied, and the two-sided sign-test
p-value over the untied pairs (``scipy.stats.binomtest``, p = 1/2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from axfusion.benchmarks import metrics as _m

__all__ = ["ablation_markdown", "compare_scores", "folder_scores", "method_scores", "paired_table", "run_score"]

#: ``(task, seed) -> (score, kind)``: a method's runs scored by :func:`run_score` (lower is better).
Scores = dict[tuple[str, int], tuple[float, str]]


def run_score(m: Mapping[str, Any]) -> tuple[float, bool]:
    r"""``(value, censored)`` of a run's metrics (:func:`~axfusion.benchmarks.metrics.run_metrics`),
    lower is better: pools, the iterations to success (budget + 1 without one, censored);
    functions, the final best."""
    if m.get("kind") == "pool":
        its = m.get("iterations_to_success")
        if its is None:
            return float(m.get("T", 0)) + 1.0, True
        return float(its), False
    return float(m.get("final_best", np.nan)), False


def method_scores(runs: Sequence[Mapping[str, Any]], method: str) -> Scores:
    r"""``(task, seed) -> (score, kind)`` of ``method``'s finished runs; lower is better (pools:
    iterations to success, budget + 1 without one; functions: the final best)."""
    out: Scores = {}
    for r in runs:
        if r.get("method") != method or r.get("status") != "ok":
            continue
        m = _m.run_metrics(r)
        out[(str(r["task"]), int(r["seed"]))] = (run_score(m)[0], str(m.get("kind")))
    return out


def folder_scores(folders: Sequence[Any], methods: Sequence[str]) -> dict[str, Scores]:
    r"""``method -> Scores`` (:func:`method_scores`) over results ``folders`` read in order: the
    first folder holding a (task, seed) run of a method wins."""
    out: dict[str, Scores] = {m: {} for m in methods}
    for folder in folders:
        runs = _m.load_runs(folder)
        for m in methods:
            for key, value in method_scores(runs, m).items():
                out[m].setdefault(key, value)
    return out


def compare_scores(new: Scores, old: Scores) -> dict[str, Any]:
    r"""``{"tasks": [per-task rows], "total": {...}}``: ``new`` against ``old``
    (:func:`method_scores`), paired by task and seed. A row holds ``task``, ``n_pairs``, both
    medians, ``better`` / ``worse`` / ``ties`` (seeds where ``new`` is lower / higher / equal)
    and the two-sided sign test ``p_sign``; the total sums them and gives the mean of
    ``log(new / old)`` over the paired pool runs."""
    rows: list[dict[str, Any]] = []
    logs: list[float] = []
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


def paired_table(runs: Sequence[Mapping[str, Any]], baseline: str = "fusion") -> pd.DataFrame:
    r"""One row per (task, method != baseline) with paired statistics against ``baseline``.

    Columns: ``task``, ``kind``, ``method``, ``n_pairs``, ``median`` (the method's),
    ``baseline_median``, ``better``, ``worse``, ``ties``, ``p_sign`` (two-sided),
    ``censored`` (the method's runs without success, pools).
    """
    scores: dict[tuple[str, str], dict[int, tuple[float, bool]]] = {}
    kinds: dict[str, str] = {}
    for run in runs:
        if run.get("status") != "ok":
            continue
        m = _m.run_metrics(run)
        scores.setdefault((str(run["task"]), str(run["method"])), {})[int(run["seed"])] = run_score(m)
        kinds[str(run["task"])] = str(m.get("kind"))
    rows = []
    for (task, method), per_seed in sorted(scores.items()):
        base = scores.get((task, baseline))
        if method == baseline or base is None:
            continue
        seeds = sorted(set(per_seed) & set(base))
        if not seeds:
            continue
        a = np.array([per_seed[s][0] for s in seeds])
        b = np.array([base[s][0] for s in seeds])
        better, worse = int((a < b).sum()), int((a > b).sum())
        n = better + worse
        rows.append(
            {
                "task": task, "kind": kinds.get(task), "method": method, "n_pairs": len(seeds),
                "median": float(np.median(a)), "baseline_median": float(np.median(b)),
                "baseline_all": float(np.median([v for v, _ in base.values()])), "baseline_n": len(base),
                "better": better, "worse": worse, "ties": len(seeds) - n,
                "p_sign": float(binomtest(better, n, 0.5).pvalue) if n else 1.0,
                "censored": int(sum(per_seed[s][1] for s in seeds)),
            }
        )
    return pd.DataFrame(rows)


def ablation_markdown(table: pd.DataFrame, baseline: str = "fusion") -> str:
    r"""The paired table as markdown, one section per task."""
    if table.empty:
        return ""
    out = [
        f"## Paired comparison with `{baseline}` (same seeds, same initial rows)\n",
        "Pools: median iterations to success (a run without success counts as budget + 1); functions: "
        "median final best (lower is better). better/worse/ties count seeds; p is the two-sided sign test "
        "over untied seeds (10 seeds cannot show p < 0.05 for fewer than 9 of 10 in one direction).\n",
    ]
    for task, group in table.groupby("task", sort=True):
        kind = group["kind"].iloc[0]
        what = "iterations to success" if kind == "pool" else "final best"
        first = group.iloc[0]
        out.append(
            f"### {task} ({what}; `{baseline}`: median {first['baseline_all']:.4g} over {first['baseline_n']} seeds)\n"
        )
        out.append("| method | seeds | median | baseline on the same seeds | better / worse / ties | p (sign) |")
        out.append("|---|---|---|---|---|---|")
        for r in group.sort_values("median").to_dict("records"):
            cens = f" ({r['censored']} without success)" if r["censored"] else ""
            out.append(
                f"| `{r['method']}` | {r['n_pairs']} | {r['median']:.4g}{cens} | {r['baseline_median']:.4g} | "
                f"{r['better']} / {r['worse']} / {r['ties']} | {r['p_sign']:.3f} |"
            )
        out.append("")
    return "\n".join(out)
