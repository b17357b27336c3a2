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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from axfusion.benchmarks.ablation import compare_scores, folder_scores, method_scores
from axfusion.benchmarks.metrics import load_runs

#: The library's pairing (:func:`~axfusion.benchmarks.ablation.method_scores`,
#: :func:`~axfusion.benchmarks.ablation.compare_scores`) under this script's names.
scores, compare = method_scores, compare_scores


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
    old_method = args.old_method or args.method
    new = scores(load_runs(args.new), args.method)
    result = compare(new, folder_scores(args.old, [old_method])[old_method])
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
