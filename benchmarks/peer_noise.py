r"""How far the pool target's statistic moves with the seeds: each method against the best of the others.

The sample-efficiency target on closed pools compares axfusion's median iterations to success
(ten seeds) with the *smallest* of its peers' medians on every pool and asks for a geometric
mean of the ratios of at most 0.7. This script reads committed results folders and prints, for
every method named, the same statistic against the best of the *other* methods named (so every
method gets the test axfusion gets), a paired seed bootstrap of it (seeds resampled within each
pool, the same draw for every method: the runs of one seed share their initial rows), and what a
method *equal in distribution* to one of the peers would score against the best of the others
(each method's seeds redrawn independently: the bias of comparing with a minimum of noisy
medians)::

    python benchmarks/peer_noise.py \
        --source axfusion=benchmarks/results/pools_slots:fusion \
        --source axfusion=benchmarks/results/pools_rest:fusion \
        --source gpbo=benchmarks/results/pools:gpbo --source rfbo=benchmarks/results/pools:rfbo \
        --out benchmarks/results/peer_noise.json

A label may be given several ``--source`` folders (one per group of pools); the first folder that
holds a (pool, seed) run wins. Scores are those of ``compare_runs.py``: iterations to success, a
run without one counting as budget + 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from axfusion.benchmarks.metrics import load_runs

#: Bootstrap draws.
N_BOOT = 2000
#: The target on the geometric mean of the ratios.
TARGET = 0.7


def _compare_runs() -> Any:
    r"""``benchmarks/compare_runs.py`` (its per-run scores), loaded from this script's folder."""
    spec = importlib.util.spec_from_file_location("compare_runs", Path(__file__).with_name("compare_runs.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collect(sources: Sequence[tuple[str, str, str]]) -> dict[str, dict[str, dict[int, float]]]:
    r"""``label -> pool -> seed -> score`` from ``(label, folder, method)`` sources (first wins)."""
    scores = _compare_runs().scores
    cache: dict[str, list[dict[str, Any]]] = {}
    out: dict[str, dict[str, dict[int, float]]] = {}
    for label, folder, method in sources:
        if folder not in cache:
            cache[folder] = list(load_runs(folder))
        for (task, seed), (value, kind) in scores(cache[folder], method).items():
            if kind != "pool":
                continue
            out.setdefault(label, {}).setdefault(task, {}).setdefault(seed, value)
    return out


def _geomean_ratio(med: dict[str, dict[str, float]], label: str, pools: Sequence[str]) -> float:
    r"""Geometric mean over ``pools`` of ``label``'s median over the best other median."""
    logs = []
    for p in pools:
        others = [m[p] for lab, m in med.items() if lab != label and p in m]
        if p in med[label] and others:
            logs.append(math.log(med[label][p] / min(others)))
    return math.exp(float(np.mean(logs))) if logs else math.nan


def analyse(data: dict[str, dict[str, dict[int, float]]], seed: int = 0) -> dict[str, Any]:
    r"""Per pool medians and ratios, the observed statistic per method, its paired seed bootstrap
    and the statistic of a method equal in distribution to the others (see the module docstring).

    Only pools where every label has runs, and only the seeds every label ran there, count.
    """
    labels = sorted(data)
    pools = sorted(p for p in set.intersection(*(set(data[lab]) for lab in labels)))
    seeds = {p: sorted(set.intersection(*(set(data[lab][p]) for lab in labels))) for p in pools}
    pools = [p for p in pools if seeds[p]]
    arr = {lab: {p: np.array([data[lab][p][s] for s in seeds[p]]) for p in pools} for lab in labels}
    med = {lab: {p: float(np.median(arr[lab][p])) for p in pools} for lab in labels}
    observed = {lab: _geomean_ratio(med, lab, pools) for lab in labels}
    rng = np.random.default_rng(seed)
    paired: dict[str, list[float]] = {lab: [] for lab in labels}
    equal: dict[str, list[float]] = {lab: [] for lab in labels}
    for _ in range(N_BOOT):
        idx = {p: rng.integers(0, len(seeds[p]), len(seeds[p])) for p in pools}
        bm = {lab: {p: float(np.median(arr[lab][p][idx[p]])) for p in pools} for lab in labels}
        for lab in labels:
            paired[lab].append(_geomean_ratio(bm, lab, pools))
        # a method distributed as `lab` against independent redraws of the same runs for every peer
        for lab in labels:
            fake = {
                name: {p: float(np.median(rng.choice(arr[lab][p], len(seeds[p])))) for p in pools}
                for name in labels
            }
            equal[lab].append(_geomean_ratio(fake, lab, pools))

    def summary(values: list[float]) -> dict[str, float]:
        v = np.asarray(values)
        return {
            "median": float(np.median(v)), "p05": float(np.quantile(v, 0.05)), "p95": float(np.quantile(v, 0.95)),
            "p_at_most_target": float((v <= TARGET + 1e-12).mean()),
        }

    return {
        "pools": pools, "seeds": seeds, "labels": labels, "medians": med,
        "ratio_to_best_other": {
            lab: {p: med[lab][p] / min(med[o][p] for o in labels if o != lab) for p in pools} for lab in labels
        },
        "observed": observed,
        "bootstrap_paired": {lab: summary(paired[lab]) for lab in labels},
        "equal_to_peers": {lab: summary(equal[lab]) for lab in labels},
        "target": TARGET, "n_boot": N_BOOT,
    }


def markdown(result: dict[str, Any]) -> str:
    r"""The tables of :func:`analyse`."""
    labels, pools = result["labels"], result["pools"]
    lines = [
        "| pool (seeds) | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for p in pools:
        cells = [f"{result['medians'][lab][p]:g} ({result['ratio_to_best_other'][lab][p]:.2f})" for lab in labels]
        lines.append(f"| {p} ({len(result['seeds'][p])}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Median iterations to success (in brackets: ÷ the best median of the other methods).",
        "",
        "| method | geometric mean ÷ best other | paired seed bootstrap, median [5–95 %] | "
        f"P(≤ {result['target']}) | a method equal to it, median [5–95 %] | P(≤ {result['target']}) |",
        "|---|---|---|---|---|---|",
    ]
    for lab in labels:
        b, e = result["bootstrap_paired"][lab], result["equal_to_peers"][lab]
        lines.append(
            f"| {lab} | {result['observed'][lab]:.2f} | {b['median']:.2f} [{b['p05']:.2f}–{b['p95']:.2f}] | "
            f"{b['p_at_most_target']:.3f} | {e['median']:.2f} [{e['p05']:.2f}–{e['p95']:.2f}] | "
            f"{e['p_at_most_target']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--source", action="append", required=True, metavar="LABEL=FOLDER:METHOD",
        help="a method's runs in a results folder (repeat; a label may have several folders)",
    )
    ap.add_argument("--out", help="write the analysis as JSON here")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    args = ap.parse_args(argv)
    sources = []
    for text in args.source:
        label, _, rest = text.partition("=")
        # a method name may hold a colon (``fusion:stall_coverage``): split at the first colon
        # after which the folder exists, else at the last
        cuts = [i for i, ch in enumerate(rest) if ch == ":"]
        at = next((i for i in cuts if Path(rest[:i]).is_dir()), cuts[-1] if cuts else -1)
        folder, method = (rest[:at], rest[at + 1:]) if at >= 0 else ("", "")
        if not label or not folder or not method:
            ap.error(f"--source {text!r}: write LABEL=FOLDER:METHOD, e.g. gpbo=benchmarks/results/pools:gpbo")
        sources.append((label, folder, method))
    result = analyse(collect(sources), seed=args.seed)
    if len(result["labels"]) < 2 or not result["pools"]:
        ap.error("needs runs of at least two methods on at least one common pool")
    print(markdown(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
