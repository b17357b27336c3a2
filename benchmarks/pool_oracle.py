r"""How far the pool target is from every configuration of axfusion measured so far.

The win-head-to-head issue asks, on the eleven pools of the ``pools`` suite, for a geometric
mean of axfusion's median iterations to success over the best peer's (GP-BO, RF-BO, BayBE:
the lowest of their medians, per pool) of at most 0.7. This script reads the committed
results folders and prints, for every configuration of axfusion measured on all eleven pools
with seeds 0-9 and the same initial rows (a variant's median from its folder's
``paired_vs_default.json`` or ``scores.csv.gz``; the default it was paired with, from the
same file), that statistic -- and the statistic of an *oracle* that takes, per pool, the
lowest median of any of them, chosen after the fact. The oracle is an optimistic bound: a
minimum over noisy medians is biased low. If even it stays above the target, no choice among
the measured configurations reaches it::

    python benchmarks/pool_oracle.py
    python benchmarks/pool_oracle.py --json oracle.json

Peers: ``benchmarks/results/pools`` and ``pools_rest`` (GP-BO, RF-BO), ``am_lpbf``,
``baybe_pools`` and ``baybe_supercon`` (BayBE; the pools it was run on).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEER_FOLDERS = ("pools", "pools_rest", "am_lpbf", "baybe_pools", "baybe_supercon")
PEERS = ("gpbo", "rfbo", "baybe")
SEEDS = range(10)

#: ``{configuration: {pool: median iterations to success}}``.
Medians = dict[str, dict[str, float]]


def best_peer(results: Path = RESULTS) -> dict[str, float]:
    r"""Per pool, the lowest median (seeds 0-9) of GP-BO, RF-BO and BayBE."""
    from axfusion.benchmarks.ablation import folder_scores

    scores = folder_scores([results / f for f in PEER_FOLDERS], list(PEERS))
    best: dict[str, float] = {}
    for per_run in scores.values():
        for task in {t for t, _ in per_run}:
            values = [v for (t, s), (v, _) in per_run.items() if t == task and s in SEEDS]
            if values:
                best[task] = min(best.get(task, np.inf), float(np.median(values)))
    return best


def configurations(results: Path = RESULTS) -> Medians:
    r"""Per configuration of axfusion measured on the pools (folders ``pools_*``), its median
    per pool over seeds 0-9: from ``paired_vs_default.json`` (the variant and the default it
    was paired with) and from ``scores.csv.gz`` (every method in it)."""
    out: Medians = {}
    for path in sorted(results.glob("pools_*/paired_vs_default.json")):
        data = json.loads(path.read_text())
        folder = path.parent.name
        for row in data["tasks"]:
            out.setdefault(f"{data.get('method', 'variant')} ({folder})", {})[row["task"]] = float(row["median"])
            out.setdefault(f"default paired with it ({folder})", {})[row["task"]] = float(row["old_median"])
    for path in sorted(results.glob("pools_*/scores.csv.gz")):
        df = pd.read_csv(path)
        df = df[df["seed"].isin(SEEDS)]
        for (method, task), group in df.groupby(["method", "task"]):
            out.setdefault(f"{method} ({path.parent.name})", {})[task] = float(group["iterations_to_success"].median())
    return out


def ratio(medians: Mapping[str, float], peers: Mapping[str, float]) -> float:
    r"""Geometric mean over ``peers``' pools of ``medians[pool] / peers[pool]``."""
    return float(np.exp(np.mean([np.log(medians[t] / peers[t]) for t in peers])))


def oracle_table(configs: Medians, peers: Mapping[str, float]) -> dict[str, Any]:
    r"""Each configuration that covers every pool of ``peers``, its statistic, and the
    oracle's (per pool the lowest median of those configurations).

    Returns:
        ``{"configurations": [{"name", "ratio"}, ...] (ascending), "oracle": {pool: median},
        "oracle_ratio": float, "best_peer": {pool: median}}``.
    """
    full = {k: v for k, v in configs.items() if all(t in v for t in peers)}
    if not full:
        raise ValueError("no configuration covers every pool of the peers.")
    rows = sorted(({"name": k, "ratio": ratio(v, peers)} for k, v in full.items()), key=lambda r: r["ratio"])
    oracle = {t: min(v[t] for v in full.values()) for t in peers}
    return {"configurations": rows, "oracle": oracle, "oracle_ratio": ratio(oracle, peers), "best_peer": dict(peers)}


def markdown(table: Mapping[str, Any]) -> str:
    r"""The table as markdown."""
    lines = ["| configuration | geometric mean of axfusion ÷ best peer |", "|---|---|"]
    lines += [f"| {r['name']} | {r['ratio']:.3f} |" for r in table["configurations"]]
    lines.append(f"| **oracle: per pool the lowest median above** | **{table['oracle_ratio']:.3f}** |")
    pools = sorted(table["oracle"])
    lines += ["", "| pool | best peer | oracle |", "|---|---|---|"]
    lines += [f"| {t} | {table['best_peer'][t]:g} | {table['oracle'][t]:g} |" for t in pools]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)
    table = oracle_table(configurations(), best_peer())
    print(markdown(table))
    if args.json is not None:
        args.json.write_text(json.dumps(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
