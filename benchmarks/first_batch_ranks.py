r"""Which score ranks a pool's best rows highest when the first batch is decided?

For each pool and seed, the benchmark's initial design (the same rows as ``axfusion bench``) is
given to the fusion optimiser with its default settings, and its first proposal is stopped just
before the batch is chosen. Every unmeasured row is then ranked by several scores computed from
that iteration's reservoir, and the table reports the best rank (1 = first) of a *success* row
(the pool's top ``min(10, N/100)``), median over the seeds. A batch of 10 finds a success row only
if some score it follows ranks one among its first few rows::

    python benchmarks/first_batch_ranks.py --tasks agnp p3ht --seeds 6 --out ranks.json

Scores (oriented, standardised units; ``mu``, ``sigma`` averaged over the families):

- ``utility``: the fused utility ``U = pi A`` (the fused picks);
- ``mean``: the reservoir's mean;
- ``exploration``: the exploration slots' ``mean + 2 sigma_d`` (``sigma`` widened by the
  out-of-bag error away from the measured rows);
- ``family:<name>``: one family's mean (a family slot follows one of its members);
- ``gp_ei``, ``gp_ucb``: an ARD Gaussian process fitted on the same rows (expected improvement;
  mean + 2 std), what GP-BO would follow.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The tasks of the ``pools`` suite.
POOLS: tuple[str, ...] = (
    "agnp", "p3ht", "madml_steel_strength", "crossed_barrel", "curie_temp", "am_lpbf", "supercon",
    "dielectric_constant", "double_perovskites_gap", "heusler_magnetic", "perovskite_stability",
)


class _Stop(Exception):
    r"""Raised where the first batch would be chosen."""


def first_batch_scores(task_name: str, seed: int) -> dict[str, Any]:
    r"""The scores of every unmeasured row at the first batch of ``task_name`` under ``seed``.

    Returns:
        ``{"scores": {name: (k,) array}, "success": (k,) bool}``: ``k`` unmeasured rows.
    """
    import axfusion.campaign.loop as loop
    from axfusion.acquisition.exploration import gp_ei_slots, gp_ucb_slots
    from axfusion.benchmarks.methods.fusion import Fusion
    from axfusion.benchmarks.suites import get_task
    from axfusion.benchmarks.tasks import Evaluator

    seen: dict[str, Any] = {}
    slots, batch = loop.stage3_slots, loop.stage3_batch

    def spy_slots(state: Any, model: Any, acqf: Any, moments: Any, scores: Any, *args: Any, **kw: Any) -> Any:
        seen.update(acqf=acqf, moments=moments, scores=scores, model=model)
        return slots(state, model, acqf, moments, scores, *args, **kw)

    def stop(state: Any, cands: Any, *args: Any, **kw: Any) -> Any:
        seen["keys"] = np.asarray(cands.keys)
        raise _Stop

    task = get_task(task_name).build(seed=seed)
    ev = Evaluator(task, seed=seed)
    ev.evaluate_initial()
    loop.stage3_slots, loop.stage3_batch = spy_slots, stop  # type: ignore[assignment]
    try:
        Fusion().run(task, ev)
    except _Stop:
        pass
    finally:
        loop.stage3_slots, loop.stage3_batch = slots, batch  # type: ignore[assignment]
    acqf, mom, model = seen["acqf"], seen["moments"], seen["model"]
    Xs = acqf.fusion_model.standardised_training_data()[0]
    Y = np.asarray(acqf.scorer.Y_std)
    every = np.ones(mom.Z.shape[0], dtype=bool)
    scores = {
        "utility": np.asarray(seen["scores"]["utility"]),
        "mean": mom.mu.mean(axis=0).mean(axis=1),
        "exploration": acqf.exploration(mom),
        **{f"family:{name}": mom.mu[i].mean(axis=1) for i, name in enumerate(model.family_names)},
        "gp_ei": gp_ei_slots(Xs, Y.mean(axis=1), mom.Z, 1, support=every, seed=seed)[0],
        "gp_ucb": gp_ucb_slots(Xs, Y, mom.Z, 1, support=every, seed=seed)[0],
    }
    success = np.isin(seen["keys"], np.asarray(sorted(task.setup(0).success)))
    return {"scores": scores, "success": success}


def best_rank(values: np.ndarray, success: np.ndarray) -> int:
    r"""The best rank (1 = largest value) of a success row; ties broken by position."""
    from scipy.stats import rankdata

    ranks = rankdata(-np.nan_to_num(np.asarray(values, dtype=float), nan=-np.inf), method="ordinal")
    return int(ranks[success].min())


def run(tasks: Sequence[str], seeds: Sequence[int], progress: bool = True) -> dict[str, dict[str, list[int]]]:
    r"""``task -> score -> best rank per seed``."""
    out: dict[str, dict[str, list[int]]] = {}
    for task in tasks:
        for seed in seeds:
            got = first_batch_scores(task, int(seed))
            for name, values in got["scores"].items():
                out.setdefault(task, {}).setdefault(name, []).append(best_rank(values, got["success"]))
            if progress:
                print(f"  {task} seed {seed}: done", flush=True)
    return out


def markdown(result: dict[str, dict[str, list[int]]]) -> str:
    r"""One row per task: the median best rank under each score (the families' best in a column)."""
    fixed = ("utility", "mean", "exploration", "gp_ei", "gp_ucb")
    lines = [
        "| pool | U (fused picks) | mean | exploration | best family (its name) | GP EI | GP UCB |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, ranks in result.items():
        med = {k: float(np.median(v)) for k, v in ranks.items()}
        fams = {k.split(":", 1)[1]: v for k, v in med.items() if k.startswith("family:")}
        best = min(fams, key=lambda f: fams[f]) if fams else ""
        cells = [f"{med[k]:g}" for k in fixed[:3]] + [f"{fams[best]:g} ({best})" if best else "–"]
        cells += [f"{med[k]:g}" for k in fixed[3:]]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(POOLS), help="pool tasks (default: the pools suite)")
    ap.add_argument("--seeds", type=int, default=6, help="seeds 0..N-1 (6)")
    ap.add_argument("--out", help="write the ranks as JSON here (and the table next to it as .md)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(args.tasks, range(args.seeds))
    table = markdown(result)
    print(table)
    if args.out:
        out = Path(args.out)
        out.write_text(json.dumps(result, indent=1) + "\n")
        out.with_suffix(".md").write_text(
            "Median over seeds of the best rank (1 = first) of a top-k row among the unmeasured rows "
            "at the first batch (`benchmarks/first_batch_ranks.py`).\n\n" + table + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
