r"""Paired comparison of the method with its ablations (or any method with a baseline).

For every task and every other method, the runs of the same seed (same initial rows or
design) are paired with the baseline's: on pools the iterations to success (a run that
never succeeded counts as its budget + 1: censored, and ranked after every success), on
functions the final best value (lower is better). The table gives both medians, the
pairs, how often the variant was better / worse / tied, and the two-sided sign-test
p-value over the untied pairs (``scipy.stats.binomtest``, p = 1/2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from axfusion.benchmarks import metrics as _m

__all__ = ["ablation_markdown", "paired_table", "run_score"]


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
