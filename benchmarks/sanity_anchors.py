r"""The decision layer's sanity anchors (issue "win head to head"), checked on benchmark runs.

Two comparisons separate the surrogate from the decision, on the same seeds and initial rows:

1. **qLogNEI on the reservoir must not beat the fusion acquisition on it**: ``fusion`` against
   ``fusion:qlognei`` (the same reservoir under BoTorch's qLogNEI; no fusion channels, no batch
   rules). Where qLogNEI wins, the fusion decision layer loses iterations of its own.
2. **A GP-only reservoir under the fusion acquisition must not lose to GP-BO**:
   ``fusion:family=gp_ard`` (the ARD GP family alone, BoTorch ``SingleTaskGP``) against
   ``gpbo`` (a ``SingleTaskGP`` under qLogNEI). Where GP-BO wins, the same kind of model decides
   worse inside the fusion acquisition than inside expected improvement.

Per task the script pairs the runs by seed (pools: iterations to success, a run without success
counting as budget + 1; functions: final best; lower is better;
:func:`axfusion.benchmarks.ablation.compare_scores`) and gives a verdict: **holds** when the
comparator is better on no more seeds than the fusion side, **violated** when it is better on
more seeds and its median is not worse, **violated (p < 0.05)** when the sign test says so too.
It prints a markdown table and, with ``--json``, writes the rows::

    python benchmarks/sanity_anchors.py benchmarks/results/anchors
    python benchmarks/sanity_anchors.py NEW_FOLDER OLD_FOLDER --json anchors.json

Several folders are read in order; the first that holds a (task, method, seed) run wins. The
runs come from ``axfusion bench --methods fusion fusion:qlognei fusion:family=gp_ard gpbo``
(``--stop-at-success`` on pools).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from axfusion.benchmarks.ablation import compare_scores, folder_scores

#: ``(anchor, fusion side, comparator)``: the comparator must not beat the fusion side.
ANCHORS: tuple[tuple[str, str, str], ...] = (
    ("qLogNEI on the reservoir must not beat the fusion acquisition", "fusion", "fusion:qlognei"),
    ("a GP-only reservoir under fusion must not lose to GP-BO", "fusion:family=gp_ard", "gpbo"),
)


def verdict(row: dict[str, Any]) -> str:
    r"""``"holds"``, ``"violated"`` or ``"violated (p < 0.05)"`` for a row of
    :func:`~axfusion.benchmarks.ablation.compare_scores` (comparator as ``new``)."""
    if row["better"] <= row["worse"] or row["median"] > row["old_median"]:
        return "holds"
    return "violated (p < 0.05)" if row["p_sign"] < 0.05 else "violated"


def check(folders: Sequence[str | Path], anchors: Sequence[tuple[str, str, str]] = ANCHORS) -> list[dict[str, Any]]:
    r"""One row per (anchor, task) where both sides have runs: the anchor, both methods and
    medians, the comparator's better / worse / tied seeds, the sign test and the verdict."""
    scores = folder_scores(folders, sorted({m for _, a, b in anchors for m in (a, b)}))
    rows = []
    for name, side, comparator in anchors:
        for r in compare_scores(scores[comparator], scores[side])["tasks"]:
            rows.append({
                "anchor": name, "fusion_side": side, "comparator": comparator, "task": r["task"],
                "n_pairs": r["n_pairs"], "fusion_median": r["old_median"], "comparator_median": r["median"],
                "comparator_better": r["better"], "comparator_worse": r["worse"], "ties": r["ties"],
                "p_sign": r["p_sign"], "verdict": verdict(r),
            })
    return rows


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    r"""The rows of :func:`check` as a markdown table."""
    lines = [
        "| anchor | task | seeds | fusion side (median) | comparator (median) | comparator better / worse / ties "
        "| p (sign) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['anchor']} | {r['task']} | {r['n_pairs']} | `{r['fusion_side']}` {r['fusion_median']:g} | "
            f"`{r['comparator']}` {r['comparator_median']:g} | {r['comparator_better']} / {r['comparator_worse']} / "
            f"{r['ties']} | {r['p_sign']:.3f} | {r['verdict']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="results folders (read in order; the first run of a seed wins)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    rows = check(args.folders)
    if not rows:
        raise SystemExit(
            "No task has runs of both sides of an anchor; run `axfusion bench --methods fusion fusion:qlognei "
            "fusion:family=gp_ard gpbo` first."
        )
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
