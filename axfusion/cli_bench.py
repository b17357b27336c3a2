r"""``axfusion bench`` and ``axfusion report``: the head-to-head benchmark harness.

::

    axfusion bench --suite pools --methods fusion gpbo random --seeds 10 --jobs 2 --out results/pools
    axfusion bench --suite smoke --seeds 1 --out results/smoke          # CI: seconds
    axfusion bench --tasks curie_temp ackley20 --methods random --seeds 3 --iterations 5 --out results/try
    axfusion bench --csv my_pool.csv --target Tc --methods fusion random --seeds 5 --out results/mine
    axfusion bench --list                                               # suites, tasks, methods
    axfusion report results/pools                                       # report.md, report.json, figures/

``--seeds N`` runs seeds ``0 .. N-1``; several values (``--seeds 3 4 5``) are
the seeds themselves. A second ``bench`` call into the same folder runs only
what is missing (resume). ``--method-option fusion.n_jobs=1`` passes an option
(values parsed as JSON when they can be) to one method.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from axfusion.cli_common import root_parser, run

__all__ = ["add_bench_parsers"]


MAX_SEED_COUNT: int = 10_000
"""The largest count ``--seeds N`` accepts (a typo such as ``--seeds 100000000`` would never end)."""


def _seed_list(values: list[int]) -> list[int]:
    r"""``--seeds``: one value ``N`` is the count (seeds ``0 .. N-1``), several values are the
    seeds themselves (repeats dropped, so ``--seeds 7 7`` runs seed 7 alone)."""
    if len(values) == 1:
        if values[0] < 1:
            raise SystemExit(
                f"error: --seeds {values[0]} asks for no run: one value is a count (--seeds 5 runs seeds "
                "0-4); to run chosen seeds give two or more (--seeds 0 3), or one seed twice (--seeds 7 7)"
            )
        if values[0] > MAX_SEED_COUNT:
            raise SystemExit(
                f"error: --seeds {values[0]} would run {values[0]} seeds per task and method; one value is a count "
                f"(at most {MAX_SEED_COUNT}); to run chosen seeds give two or more (--seeds {values[0]} {values[0]})"
            )
        return list(range(values[0]))
    if min(values) < 0:
        raise SystemExit(f"error: --seeds {min(values)}: seeds are whole numbers >= 0")
    return list(dict.fromkeys(values))

def _parse_option(text: str) -> tuple[str, str, Any]:
    key, eq, value = text.partition("=")
    method, dot, name = key.partition(".")
    if not (eq and dot and method and name):
        raise argparse.ArgumentTypeError(f"bad --method-option {text!r}; use METHOD.NAME=VALUE")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = {"true": True, "false": False, "none": None}.get(value.lower(), value)
    return method, name, parsed


def _print_listing() -> None:
    from axfusion.benchmarks.methods import list_methods
    from axfusion.benchmarks.runner import _ensure_methods_loaded
    from axfusion.benchmarks.suites import get_suite, get_task, list_suites, list_tasks

    errors = _ensure_methods_loaded()
    print("suites:")
    for s in list_suites():
        su = get_suite(s)
        print(f"  {s:<16}{su.description} -- tasks: {', '.join(su.tasks)}; default methods: "
              f"{', '.join(su.default_methods)}")
    print("tasks (initial + batch x iterations):")
    for t in list_tasks():
        sp = get_task(t)
        print(f"  {t:<24}{sp.kind:<9}{sp.n_initial} + {sp.batch_size} x {sp.n_iterations}  {sp.description}")
    print("methods: " + (", ".join(list_methods()) or "(none registered)"))
    for e in errors:
        print(f"  not available: {e}")


def _cmd_bench(args: argparse.Namespace) -> int:
    from axfusion.benchmarks.methods import base
    from axfusion.benchmarks.metrics import load_runs
    from axfusion.benchmarks.report import render_markdown, suite_tables
    from axfusion.benchmarks.runner import _ensure_methods_loaded, run_benchmark, run_path
    from axfusion.benchmarks.suites import TaskSpec, csv_task, get_suite, get_task

    if args.list:
        _print_listing()
        return 0
    if not (args.suite or args.tasks or args.csv):
        raise SystemExit("error: name a --suite, --tasks or a --csv file (axfusion bench --list shows them)")
    if args.csv and not args.target:
        raise SystemExit("error: --csv needs --target COLUMN")
    if args.out is None:
        raise SystemExit("error: --out FOLDER is required")

    specs: list[TaskSpec] = []
    suites: dict[str, list[str]] = {}
    for s in args.suite or []:
        try:
            su = get_suite(s)
        except KeyError as err:
            raise SystemExit(f"error: {err.args[0]}") from None
        suites[s] = list(su.tasks)
        specs.extend(get_task(t) for t in su.tasks)
    for t in args.tasks or []:
        try:
            specs.append(get_task(t))
        except (KeyError, ValueError, FileNotFoundError) as err:
            raise SystemExit(f"error: {err.args[0] if err.args else err}") from None
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise SystemExit(f"error: --out {args.out} is a file; give a folder for the results")
    if args.id_column is not None and not args.csv:
        raise SystemExit("error: --id-column applies to a --csv pool")
    if args.csv:
        extra: dict[str, Any] = {} if args.id_column is None else {"id_column": args.id_column}
        try:
            from axfusion.suggest.cli import parse_categorical_arguments
            from axfusion.suggest.errors import SuggestInputError

            try:
                categorical, ordinal, descriptors = parse_categorical_arguments(args)
            except SuggestInputError as err:
                raise ValueError(str(err)) from None
            if ordinal:
                extra["ordinal"] = ordinal
            if getattr(args, "smiles_column", None):
                extra["smiles"] = list(dict.fromkeys(args.smiles_column))
            if categorical:
                extra["categorical"] = categorical
            if descriptors:
                extra["descriptors"] = descriptors
            spec = csv_task(args.csv, args.target, args.direction, name=args.name, **extra)
            if os.path.exists(args.csv):
                ds = spec.dataset()  # bad levels, descriptor tables or columns are reported now, in one line
                for column, levels in ordinal.items():
                    print(f"  {args.csv}: `{column}`: ordinal, {len(levels)} levels ({' < '.join(levels)})")
                for line in ds.encoder().describe():
                    print(f"  {args.csv}: {line}")
        except (ValueError, FileNotFoundError, KeyError) as err:
            raise SystemExit(f"error: {err.args[0] if isinstance(err, KeyError) and err.args else err}") from None
        specs.append(spec)
        suites.setdefault("csv", []).append(spec.name)
    seen: dict[str, Any] = {}
    for sp in specs:
        seen.setdefault(sp.name, sp)
    specs = list(seen.values())

    if args.methods:
        methods = list(dict.fromkeys(args.methods))
    else:
        _ensure_methods_loaded()
        defaults = [m for s in (args.suite or []) for m in get_suite(s).default_methods] or ["random"]
        methods = [m for m in dict.fromkeys(defaults) if m in base._METHODS]
        if not methods:
            raise SystemExit(f"error: none of the default methods {sorted(set(defaults))} is registered; "
                             "name --methods")
    options: dict[str, dict[str, Any]] = {}
    for m, name, value in args.method_option or []:
        options.setdefault(m, {})[name] = value
    seeds = _seed_list(args.seeds)

    print(f"axfusion bench: {len(specs)} task(s) x {len(methods)} method(s) x {len(seeds)} seed(s) "
          f"-> {args.out}\n  tasks: {', '.join(s.name for s in specs)}\n  methods: {', '.join(methods)}\n"
          f"  seeds: {seeds}; engine {args.engine}, {args.jobs} job(s)", flush=True)
    try:
        result = run_benchmark(
            specs, methods, seeds, args.out, n_jobs=args.jobs, engine=args.engine, method_options=options,
            progress=not args.no_progress, n_iterations=args.iterations, batch_size=args.batch,
            n_initial=args.initial, address=args.address, threads_per_run=args.threads,
            retry_failed=args.retry_failed, suites=suites, stop_at_success=args.stop_at_success,
        )
    except (KeyError, ImportError, ValueError) as err:
        raise SystemExit(f"error: {err.args[0] if err.args else err}") from None
    n_ok = sum(c["status"] == "ok" for c in result.completed)
    print(f"\n{len(result.completed)} run(s) done ({n_ok} ok, {len(result.failed)} failed), "
          f"{len(result.skipped)} already finished (skipped), "
          f"{len(result.unsupported)} unsupported (task, method) pair(s).")
    for t, m in result.unsupported:
        print(f"  skipped: {m} does not support {t}")
    for c in result.failed:
        print(f"  failed: {c['task']}/{c['method']}/seed{c['seed']}: {c['error']}")
    if result.error:
        print(f"  stopped early: {result.error} (rerun the same command to resume)")
    print(f"Run files: {result.out_dir / 'runs'} (one compact .json.gz per run, e.g. "
          f"{run_path(result.out_dir, specs[0].name, methods[0], seeds[0])})")
    names = {s.name for s in specs}
    runs = [r for r in load_runs(result.out_dir) if r["task"] in names and r["method"] in methods]
    if runs:
        tables, _, _ = suite_tables(runs, {"suites": suites})
        print("\n" + render_markdown(tables))
    if args.report:
        from axfusion.benchmarks.report import make_report

        rep = make_report(result.out_dir, figures=not args.no_figures, pdf=args.pdf)
        print(f"Report: {rep.paths[0]}")
    else:
        print(f"Full report with figures: axfusion report {result.out_dir}")
    return 0 if result.error is None else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from axfusion.benchmarks.report import make_report

    if args.drop_diagnostics and not args.pack:
        raise SystemExit("error: --drop-diagnostics only applies to the archive; add --pack.")
    try:
        rep = make_report(args.folder, figures=not args.no_figures, all_diagnostics=args.all_diagnostics,
                          pdf=args.pdf)
    except FileNotFoundError as err:
        raise SystemExit(f"error: {err}") from None
    print(rep.summary())
    n_fig = sum(1 for p in rep.paths if p.suffix == ".png")
    print(f"Wrote {rep.paths[0]}, {rep.paths[1]}, {rep.paths[2].name} and {n_fig} figure(s) "
          f"({'PNG + PDF' if args.pdf else 'PNG'}) under "
          f"{rep.paths[0].parent / 'figures'}")
    if args.pack:
        from axfusion.benchmarks.metrics import RUNS_ARCHIVE, iter_run_files, pack_runs

        if iter_run_files(args.folder):
            archive = pack_runs(args.folder, drop_diagnostics=args.drop_diagnostics)
            dropped = " (without their per-iteration diagnostics)" if args.drop_diagnostics else ""
            print(f"Packed the run files into {archive}{dropped}")
        else:
            print(f"The run files are already packed ({RUNS_ARCHIVE}).")
    return 0


def add_bench_parsers(subparsers: Any) -> None:
    r"""Add the ``bench`` and ``report`` sub-commands to an ``argparse`` sub-parser set."""
    from axfusion.benchmarks.runner import ENGINES

    p = subparsers.add_parser(
        "bench", help="head-to-head benchmark of optimisers on suites of pools and test functions",
        description=(__doc__ or "").replace("``", "").replace("\n\n::\n", "\n\nexamples:\n").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", nargs="+", default=None, metavar="SUITE",
                   help="suite(s): pools, reactions, multiobjective, synthetic20, mixed, ablations, smoke")
    p.add_argument("--tasks", nargs="+", default=None, metavar="TASK",
                   help="task names, pool:FILE.csv:TARGET[:minimize] or function:PROBLEM[:k=v,...]")
    p.add_argument("--csv", default=None, metavar="FILE", help="a closed pool from a CSV file")
    p.add_argument("--target", nargs="+", default=None, metavar="COLUMN", help="target column(s) of --csv")
    p.add_argument("--direction", nargs="+", default=None, choices=("maximize", "minimize", "max", "min"),
                   help="direction per --target (default: maximize)")
    p.add_argument("--name", default=None, help="task name of --csv (default: FILE_TARGET)")
    p.add_argument("--id-column", default=None, metavar="COLUMN",
                   help="row ids of --csv (not a feature); id-like columns are otherwise refused")
    from axfusion.suggest.cli import add_categorical_arguments

    add_categorical_arguments(p)
    p.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="registered methods (default: the suite's default methods that are registered)")
    p.add_argument("--seeds", nargs="+", type=int, default=[10],
                   help="N: seeds 0..N-1; several values: those seeds, e.g. 7 7 for seed 7 alone (default 10)")
    p.add_argument("--iterations", type=int, default=None, help="override the budget in iterations")
    p.add_argument("--batch", type=int, default=None, help="override the batch size")
    p.add_argument("--initial", type=int, default=None, help="override the initial design size")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (default 1)")
    p.add_argument("--engine", choices=ENGINES, default="joblib", help="parallel engine (default joblib)")
    p.add_argument("--address", default=None, help="dask scheduler / ray cluster address")
    p.add_argument("--threads", type=int, default=None, help="threads per run (default: CPUs / jobs)")
    p.add_argument("--method-option", action="append", type=_parse_option, default=None,
                   metavar="METHOD.NAME=VALUE", help="an option for one method (repeatable)")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    p.add_argument(
        "--stop-at-success", action="store_true",
        help="pools: end a run once a success row was evaluated (curves are carried forward; "
        "EF/AF become lower bounds)",
    )
    p.add_argument("--out", default=None, metavar="FOLDER", help="results folder")
    p.add_argument("--report", action="store_true", help="also write report.md, report.json and figures")
    p.add_argument("--no-figures", action="store_true", help="with --report: no figures")
    p.add_argument("--pdf", action="store_true", help="with --report: PDF figures too (default: PNG only)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--list", action="store_true", help="list suites, tasks and methods, then exit")
    p.set_defaults(func=_cmd_bench)

    p = subparsers.add_parser("report", help="write report.md, report.json and figures of a benchmark folder")
    p.add_argument("folder", help="the folder axfusion bench wrote")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument("--pdf", action="store_true", help="PDF figures too (default: PNG only)")
    p.add_argument("--all-diagnostics", action="store_true",
                   help="diagnostic panels for every fusion run (default: the lowest seed per task and method)")
    p.add_argument("--pack", action="store_true",
                   help="then pack runs/ into runs.tar.xz (about 4x smaller; read by report, unpacked by bench)")
    p.add_argument("--drop-diagnostics", action="store_true",
                   help="with --pack: leave the per-iteration diagnostics out of the archive (the tables stay "
                        "the same; the diagnostic figures cannot be redrawn; a fusion run's file ~10x smaller)")
    p.set_defaults(func=_cmd_report)


if __name__ == "__main__":  # pragma: no cover
    # ``python -m axfusion.cli_bench ARGS`` is ``axfusion bench ARGS``.
    _parser, _sub = root_parser()
    add_bench_parsers(_sub)
    sys.exit(run(_parser, ["bench", *sys.argv[1:]]))
