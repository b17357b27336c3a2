r"""Command-line interface: ``axfusion <command>``.

Commands:

- ``axfusion datasets`` -- list the built-in datasets;
- ``axfusion run`` -- the main job: closed-pool campaigns (the paper's
  protocol) on a built-in dataset, a few seeds, printing iterations to a
  top-10 material and the best materials found;
- ``axfusion suggest`` -- the real-lab loop: the next batch from a candidate
  pool and the measurements so far, kept in a campaign file;
- ``axfusion reservoir`` -- fit the surrogate reservoir (Stages 0-1) on a
  built-in dataset and print the capacity report and the per-family
  reliability table;
- ``axfusion plot CAMPAIGN.json`` -- the per-run diagnostic panels of a
  campaign file (or of an Ax experiment JSON file) as PNG/PDF.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from axfusion.cli_common import root_parser, run

__all__ = ["main"]


def _cmd_datasets(args: argparse.Namespace) -> int:
    from axfusion.data import list_datasets

    table = list_datasets()
    if not args.all:
        table = table[table["shipped"]]
    with_pd_opts = table.to_string(index=False, max_colwidth=60)
    print(with_pd_opts)
    return 0


def _family_table(model) -> str:
    header = (
        f"{'family':<13}{'tier':<8}{'OOB R2':>8}{'+-':>7}{'accuracy':>10}{'calib.':>8}"
        f"{'trend':>7}{'weight':>8}  hyper-parameters"
    )
    lines = [header, "-" * len(header)]
    weights = model.ensemble_weights.reshape(len(model.family_names), -1).sum(-1).tolist()
    for (name, scores), w in zip(model.family_scores.items(), weights):
        fam = next(f for f in model.families if f.name == name)
        s = scores[0]
        params = model.family_params[name][0]
        ptxt = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        lines.append(
            f"{name:<13}{fam.tier:<8}{s.r2_mean:>8.3f}{s.r2_std:>7.3f}{s.accuracy:>10.3f}"
            f"{s.calibration:>8.3f}{s.trend:>7.3f}{w:>8.3f}  {ptxt}"
        )
    for name, msg in model.dropped_families.items():
        lines.append(f"{name:<13}dropped: {msg}")
    return "\n".join(lines)


def _check_run_arguments(args: argparse.Namespace, counts: Sequence[str]) -> None:
    r"""Refuse counts below 1 and a ``--json`` file that cannot be written, before any work."""
    from axfusion.files import OutputPathError, check_output_path

    for name in counts:
        value = getattr(args, name)
        if value < 1:
            raise SystemExit(f"error: --{name} must be at least 1; got {value}")
    if args.json:
        try:
            check_output_path(args.json, "--json")
        except OutputPathError as error:
            raise SystemExit(f"error: {error}") from None


def _load_dataset(name: str) -> Any:
    r"""A built-in dataset, or the one-line error naming the shipped ones."""
    from axfusion.data import load_dataset

    try:
        return load_dataset(name)
    except (KeyError, ValueError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error.args[0] if error.args else error}") from None


def _write_json(path: str, payload: object) -> None:
    r"""Write ``payload`` to ``path`` atomically (the previous file stays whole if this fails)."""
    from axfusion.files import atomic_write

    try:
        atomic_write(path, lambda fh: json.dump(payload, fh, indent=2))
    except OSError as error:
        raise SystemExit(f"error: cannot write --json {path}: {error.strerror or error}") from None


def _cmd_reservoir(args: argparse.Namespace) -> int:
    import torch

    from axfusion.models import ReservoirModel

    _check_run_arguments(args, ("n", "members", "jobs"))
    ds = _load_dataset(args.dataset)
    target = args.target or ds.targets[0]
    if target not in ds.targets:
        raise SystemExit(f"error: unknown target {target!r}; {args.dataset} has {ds.targets}")
    X = ds.feature_matrix()
    y = ds.target_matrix([target])
    rng = np.random.default_rng(args.seed)
    n = min(args.n, len(ds))
    idx = np.sort(rng.choice(len(ds), size=n, replace=False))
    print(
        f"axfusion reservoir: reservoir on {ds.name} ({len(ds)} rows x {X.shape[1]} features), "
        f"target {target!r}, {n} random training rows, seed {args.seed}",
        flush=True,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        model = ReservoirModel(
            torch.as_tensor(X[idx]),
            torch.as_tensor(y[idx]),
            n_members=args.members,
            n_jobs=args.jobs,
            seed=args.seed,
        ).fit()
    elapsed = time.perf_counter() - t0
    cap = model.capacity
    assert cap is not None  # Stage 0 ran in fit()
    print(
        f"\nStage 0: d_unsup={cap.d_unsup} d_sup={cap.d_sup} d_est={cap.d_est} "
        f"-> d_eff={cap.d_eff}; N_budget={cap.n_budget}, capacity C={cap.capacity}"
    )
    print(f"Stage 1: {len(model.family_names)} families x {model.n_members} members fitted in {elapsed:.1f} s"
          f" (target-biased bootstrap: {model.bootstrap_biased})\n")
    print(_family_table(model))

    rest = np.setdiff1d(np.arange(len(ds)), idx)
    if rest.size:
        with torch.no_grad():
            post = model.posterior(torch.as_tensor(X[rest]))
        mu = post.mean.squeeze(-1).numpy()
        truth = y[rest, 0]
        r2 = 1 - np.sum((mu - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
        from scipy.stats import spearmanr

        rho = spearmanr(mu, truth).statistic
        top = np.argsort(-mu)[:10]
        print(
            f"\nHeld-out rows ({rest.size}): R2 = {r2:.3f}, Spearman = {rho:.3f}; "
            f"true {target} of the 10 highest-predicted: median {np.median(truth[top]):.4g} "
            f"(held-out median {np.median(truth):.4g}, max {truth.max():.4g})"
        )
    if args.json:
        _write_json(args.json, model.diagnostics())
        print(f"\nDiagnostics written to {args.json}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from axfusion.protocols import random_search_expectation, run_closed_pool, success_set_size, summarize

    _check_run_arguments(args, ("initial", "batch", "iterations", "jobs"))
    ds = _load_dataset(args.dataset)
    target = args.target or ds.targets[0]
    if target not in ds.targets:
        raise SystemExit(f"error: unknown target {target!r}; {args.dataset} has {ds.targets}")
    direction = ds.orientation.get(target, "maximize")
    N = len(ds)
    k = success_set_size(N)
    print(
        f"axfusion run: closed-pool campaigns on {ds.name} ({N} candidates x {ds.n_features} features), "
        f"target {target!r} ({direction}).\nProtocol: {args.initial} initial rows at or below the median, "
        f"batches of {args.batch}, budget {args.iterations} iterations; success = one of the top {k} rows.",
        flush=True,
    )
    results = []
    y = ds.target_matrix([target])[:, 0]
    sign = -1.0 if direction == "minimize" else 1.0
    for seed in args.seeds:
        r = run_closed_pool(
            ds,
            targets=[target],
            seed=seed,
            n_initial=args.initial,
            batch_size=args.batch,
            n_iterations=args.iterations,
            stop_at_success=True,
            progress=not args.no_progress,
            n_jobs=args.jobs,
        )
        results.append(r)
        ev = np.asarray(r.evaluated_ids)
        best = ev[np.argsort(-sign * y[ev])[:3]]
        names = ", ".join(f"{ds.ids.iloc[i]} ({y[i]:.4g})" for i in best)
        its = "not within budget" if r.iterations_to_success is None else f"{r.iterations_to_success}"
        print(
            f"seed {seed}: iterations to a top-{k} row: {its}; top-5: {r.iterations_to_top5}; "
            f"best row: {r.iterations_to_best}; {len(ev)} evaluated in {r.wall_time:.0f} s; best found: {names}",
            flush=True,
        )
    table = summarize(results)
    rnd = random_search_expectation(N, k, args.initial, args.batch, args.iterations)
    print("\nSummary over seeds (iterations after the initial design):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"Random search, exact expectation of iterations to a top-{k} row: {rnd:.1f}")
    if args.json:
        _write_json(args.json, [r.as_dict() for r in results])
        print(f"Campaign results written to {args.json}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    path = Path(args.campaign)
    name = path.name[: -len(".json")] if path.name.endswith(".json") else path.stem
    out = Path(args.out) if args.out else path.parent / f"{name}_plots"
    blocking = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        print(f"error: --out {out}: {blocking} is a file, not a folder; give a folder for the figures", file=sys.stderr)
        return 2
    try:
        from axfusion import plots
    except ImportError as error:  # pragma: no cover - matplotlib is an optional dependency
        print(f"error: axfusion plot needs matplotlib (pip install 'axfusion[plots]'): {error}", file=sys.stderr)
        return 2
    try:
        figures = plots.campaign(path, out, pdf=args.pdf)
    except (OSError, plots.CampaignFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"axfusion plot: {len(figures)} figure files from {path.name} in {out}")
    for p in figures:
        print(f"  {p.name}")
    for note in figures.notes:
        print(f"not drawn: {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, sub = root_parser()

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.add_argument("--all", action="store_true", help="also list datasets loaded from a path")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser("run", help="closed-pool campaigns with the fusion optimiser (main job)")
    p.add_argument("--dataset", default="curie_temp", help="built-in dataset (default: curie_temp)")
    p.add_argument("--target", default=None, help="target column (default: the dataset's first)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="campaign seeds")
    p.add_argument("--initial", type=int, default=20, help="initial rows (at or below the median)")
    p.add_argument("--batch", type=int, default=10, help="rows per iteration")
    p.add_argument("--iterations", type=int, default=50, help="budget in iterations")
    p.add_argument("--jobs", type=int, default=2, help="processes for fitting surrogate families")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", default=None, help="write the campaign results to this JSON file")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("reservoir", help="fit the surrogate reservoir on a built-in dataset")
    p.add_argument("--dataset", default="curie_temp", help="built-in dataset (default: curie_temp)")
    p.add_argument("--target", default=None, help="target column (default: the dataset's first)")
    p.add_argument("--n", type=int, default=200, help="random training rows (default: 200)")
    p.add_argument("--members", type=int, default=8, help="bootstrap members per family")
    p.add_argument("--jobs", type=int, default=2, help="processes for fitting families")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the diagnostics to this JSON file")
    p.set_defaults(func=_cmd_reservoir)

    p = sub.add_parser("plot", help="diagnostic panels of a campaign file (or an Ax experiment JSON file)")
    p.add_argument("campaign", help="campaign JSON (FusionOptimizer(state_path=...), axfusion suggest) or Ax JSON")
    p.add_argument("--out", default=None, help="folder for the figures (default: <campaign>_plots next to the file)")
    p.add_argument("--pdf", action="store_true", help="also write PDF copies")
    p.set_defaults(func=_cmd_plot)

    from axfusion.suggest import add_suggest_parser

    add_suggest_parser(sub)

    from axfusion.cli_bench import add_bench_parsers

    add_bench_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
