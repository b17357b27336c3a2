r"""The ``axfusion suggest`` sub-command: arguments, writing ``--out`` and the printed summary."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from axfusion.files import OutputPathError, atomic_write, check_output_path
from axfusion.suggest.campaign import _Outcome, _run
from axfusion.suggest.errors import SuggestInputError, SuggestWarning
from axfusion.suggest.tables import ROW_ID_COLUMN, _same_file


def default_campaign_path(out: str | os.PathLike[str]) -> Path:
    r"""The campaign file kept next to ``out``: ``next.csv`` -> ``next.campaign.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.campaign.json")


def _parse_bound(text: str) -> float | None:
    r"""A window end: a number, or ``none``/``inf`` for an open end."""
    word = text.strip().lower()
    if word in ("none", "inf", "+inf", "-inf", "open"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number (or 'none' for an open end): {text!r}") from None


class _TargetAction(argparse.Action):
    r"""``--target COLUMN``: start a new target (maximised unless a direction follows)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        specs = list(getattr(namespace, self.dest) or [])
        specs.append({"name": str(values), "direction": None, "set_by": None})
        setattr(namespace, self.dest, specs)


class _DirectionAction(argparse.Action):
    r"""``--maximize``/``--minimize``/``--window LO HI``/``--value V``: the direction of the last ``--target``."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        specs = list(getattr(namespace, self.dest) or [])
        if not specs:
            raise argparse.ArgumentError(
                self, "give --target COLUMN first; a direction applies to the --target before it"
            )
        last = dict(specs[-1])
        if last["set_by"] is not None:
            raise argparse.ArgumentError(
                self, f"target {last['name']!r} already has a direction ({last['set_by']}); give one per --target"
            )
        if self.kind == "window":
            lo, hi = values
            direction: Any = (lo, hi)
        elif self.kind == "value":
            direction = float(values)
        else:
            direction = self.kind
        last.update(direction=direction, set_by=option_string)
        specs[-1] = last
        setattr(namespace, self.dest, specs)


_EPILOG = """\
Each --target may be followed by its direction (--maximize is the default):
  --target Tc --minimize --target gap --window 1.1 1.7
--window takes 'none' for an open end (e.g. --window 300 none).

Rows of --measured are matched to --pool rows by --id-column (in both files),
else by a 'row_id' column (pool positions, as written to --out), else by their
feature row (exactly, or up to rounding with a warning). An empty target cell
marks a failed measurement.

The campaign file (default: <out stem>.campaign.json next to --out) records the
measurements and the pending suggestions; the next call with the same campaign
observes only the new rows of --measured and never re-suggests pending rows.
--out is never overwritten unless --force is given; to write the next batch to
another file, pass the same --campaign.
"""


def add_suggest_parser(subparsers: Any) -> None:
    r"""Add the ``suggest`` sub-command to an ``argparse`` sub-parser set (sets ``func``).

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.
    """
    p = subparsers.add_parser(
        "suggest",
        help="suggest the next batch of pool rows to measure (real-lab workflow)",
        description=(
            "Suggest the next batch of candidates to measure from a pool, given the\n"
            "measurements so far, and keep a campaign file so that the next call continues.\n"
            "Writes one row per suggestion: row id, predicted mean and spread per target,\n"
            "the fusion utility with its channels, the cluster and a one-line reason."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--pool", required=True, metavar="FILE",
                   help="candidate pool: CSV or Parquet, one row per candidate")
    p.add_argument("--measured", required=True, metavar="FILE",
                   help="measurements so far: CSV or Parquet with the target column(s)")
    p.add_argument("--target", dest="targets", action=_TargetAction, required=True, metavar="COLUMN",
                   help="target column in --measured (repeat for several targets)")
    p.add_argument("--maximize", dest="targets", nargs=0, action=_DirectionAction, kind="maximize",
                   help="maximise the preceding --target (default)")
    p.add_argument("--minimize", dest="targets", nargs=0, action=_DirectionAction, kind="minimize",
                   help="minimise the preceding --target")
    p.add_argument("--window", dest="targets", nargs=2, type=_parse_bound, metavar=("LO", "HI"),
                   action=_DirectionAction, kind="window", help="bring the preceding --target into [LO, HI]")
    p.add_argument("--value", dest="targets", type=float, metavar="V", action=_DirectionAction, kind="value",
                   help="bring the preceding --target as close as possible to V")
    p.add_argument("--batch", type=int, default=10, metavar="N", help="rows to suggest (default: 10)")
    p.add_argument("--out", required=True, metavar="FILE", help="CSV to write the suggestions to")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--id-column", default=None, metavar="COLUMN", help="unique row ids, in both files")
    p.add_argument("--formula-column", default=None, metavar="COLUMN",
                   help="chemical formulas in the pool, featurised with Magpie")
    p.add_argument("--features", nargs="*", default=None, metavar="COLUMN",
                   help="pool columns to use as features (default: all but id, formula and targets); "
                   "text columns are categorical")
    add_categorical_arguments(p)
    p.add_argument("--campaign", default=None, metavar="FILE",
                   help="campaign state file (default: <out stem>.campaign.json next to --out)")
    p.add_argument("--seed", type=int, default=0, help="seed of a new campaign (default: 0)")
    p.add_argument("--families", nargs="+", default=None, metavar="NAME",
                   help="surrogate families of a new campaign (default: the reservoir's defaults)")
    p.add_argument("--members", type=int, default=None, metavar="B",
                   help="bootstrap members per family of a new campaign")
    p.add_argument("--jobs", type=int, default=None, metavar="J", help="processes fitting the families")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same campaign to finish (default: refuse at once)")
    p.set_defaults(func=run_suggest_command)


def add_categorical_arguments(p: argparse.ArgumentParser) -> None:
    r"""``--categorical``, ``--ordinal`` and ``--descriptors`` (shared by ``suggest`` and ``bench --csv``)."""
    p.add_argument("--categorical", nargs="+", default=[], metavar="COLUMN",
                   help="integer-coded columns to treat as categorical (text columns are categorical anyway)")
    p.add_argument("--ordinal", action="append", default=[], metavar="COLUMN=LOW,MID,HIGH",
                   help="an ordered categorical column and its levels, lowest first (repeatable)")
    p.add_argument("--descriptors", action="append", default=[], metavar="COLUMN=FILE.csv",
                   help="encode a categorical column by a descriptor table: a CSV with the level "
                   "column, then numeric descriptors (repeatable)")
    p.add_argument("--smiles-column", nargs="+", default=[], metavar="COLUMN",
                   help="columns of SMILES strings, encoded by Morgan fingerprints (needs RDKit: "
                   "pip install 'axfusion[chem]')")


def parse_categorical_arguments(
    args: argparse.Namespace,
) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    r"""``(categorical, ordinal, descriptors)`` from the parsed arguments.

    Raises:
        SuggestInputError: an ``--ordinal`` or ``--descriptors`` value is not ``COLUMN=...``
            or names a column twice.
    """
    def pairs(values: Sequence[str], flag: str, example: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for text in values:
            column, eq, rest = str(text).partition("=")
            if not eq or not column.strip() or not rest.strip():
                raise SuggestInputError(f"{flag} {text!r}: write it as {example}.")
            if column.strip() in out:
                raise SuggestInputError(f"{flag} names column {column.strip()!r} twice.")
            out[column.strip()] = rest.strip()
        return out

    ordinal = {
        c: [v.strip() for v in levels.split(",")]
        for c, levels in pairs(getattr(args, "ordinal", []) or [], "--ordinal", "COLUMN=low,mid,high").items()
    }
    for column, levels in ordinal.items():
        if any(not v for v in levels):
            raise SuggestInputError(f"--ordinal {column}: a level is empty in {','.join(levels)!r}.")
    descriptors = pairs(getattr(args, "descriptors", []) or [], "--descriptors", "COLUMN=FILE.csv")
    return list(getattr(args, "categorical", []) or []), ordinal, descriptors


def _write_csv(table: pd.DataFrame, out: Path, *, force: bool) -> None:
    r"""Write ``table`` to ``out`` through a temporary file; without ``force`` an existing file is never replaced.

    The file appears whole or not at all (a full disk leaves no empty or partial file):
    with ``force`` it replaces ``out`` atomically; without it, it is linked into place, so
    a file that appeared since the first check is not overwritten either.
    """
    try:
        atomic_write(out, lambda fh: table.to_csv(fh, index=False), exclusive=not force)
    except FileExistsError:
        raise SuggestInputError(f"--out {out} already exists; pass --force to overwrite it.") from None
    except OSError as error:
        raise SuggestInputError(
            f"Cannot write --out {out}: {error.strerror or error}. Nothing was written and the campaign is "
            "unchanged; free space or choose a writable folder and run again."
        ) from error


def _summary(outcome: _Outcome, out: Path, id_column: str | None, names: Sequence[str]) -> str:
    r"""What the CLI prints after a successful call: counts and the batch in brief."""
    lines = [
        f"axfusion suggest: iteration {outcome.iteration}"
        + (f" of the campaign {outcome.campaign}" if outcome.campaign is not None else ""),
        f"  pool {outcome.pool_label}: {outcome.n_pool_rows} rows x {outcome.n_features} features",
        *[f"    {line}" for line in outcome.encoding],
        f"  measured {outcome.measured_label}: {outcome.n_measured_rows} rows, {outcome.n_new} new"
        f" ({outcome.n_new_failed} failed)" + (", the rest already in the campaign" if outcome.resumed else ""),
        f"  pending (suggested, not yet measured): {outcome.n_pending} rows, incl. this batch;"
        f" {outcome.n_available} rows left to suggest",
        f"  wrote {len(outcome.table)} suggestions to {out}",
        "",
    ]
    cols = [c for c in (id_column, ROW_ID_COLUMN) if c is not None and c in outcome.table.columns][:1]
    for name in names:
        cols += [f"mean[{name}]", f"std[{name}]"]
    cols += ["utility", "cluster"]
    lines.append(outcome.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return "\n".join(lines)


def run_suggest_command(args: argparse.Namespace) -> int:
    r"""The ``axfusion suggest`` handler.

    Prints the summary and returns 0; on bad input prints ``error: ...`` to stderr
    and returns 2. :class:`SuggestWarning` messages are printed as ``warning: ...``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SuggestWarning)
        try:
            outcome, out, names = _command(args)
        except SuggestInputError as error:
            _print_warnings(caught)
            print(f"error: {error}", file=sys.stderr)
            return 2
    _print_warnings(caught)
    print(_summary(outcome, out, args.id_column, names))
    return 0


def _print_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    r"""Print :class:`SuggestWarning` as ``warning: ...``; show other warnings as Python would."""
    for w in caught:
        if issubclass(w.category, SuggestWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _command(args: argparse.Namespace) -> tuple[_Outcome, Path, list[str]]:
    r"""Check the CLI arguments, run the call and write ``--out``."""
    specs = args.targets or []
    names = [s["name"] for s in specs]
    directions = [s["direction"] for s in specs]
    out = Path(args.out)
    campaign = Path(args.campaign) if args.campaign is not None else default_campaign_path(out)
    for given, role in ((args.pool, "--pool"), (args.measured, "--measured"), (campaign, "--campaign")):
        if _same_file(out, Path(given)):
            raise SuggestInputError(f"--out {out} is the {role} file; it would be overwritten. Choose another --out.")
    try:
        check_output_path(out, "--out")
    except OutputPathError as error:
        raise SuggestInputError(str(error)) from error
    if out.exists() and not args.force:
        hint = (
            f" (to write the next batch elsewhere and continue this campaign, pass --campaign {campaign})"
            if args.campaign is None
            else ""
        )
        raise SuggestInputError(
            f"--out {out} already exists; pass --force to overwrite it, or choose another --out{hint}."
        )
    categorical, ordinal, descriptors = parse_categorical_arguments(args)
    if not 0 <= args.wait < float("inf"):
        raise SuggestInputError(f"--wait must be 0 or more seconds; got {args.wait}.")
    previous = out.read_bytes() if out.is_file() else None  # restored if the campaign cannot be saved

    def retract() -> None:
        if previous is None:
            out.unlink(missing_ok=True)
        else:
            atomic_write(out, lambda fh: fh.write(previous), binary=True)

    options: dict[str, Any] = {}
    if args.families is not None:
        options["families"] = tuple(args.families)
    if args.members is not None:
        options["n_members"] = args.members
    if args.jobs is not None:
        options["n_jobs"] = args.jobs
    outcome = _run(
        args.pool,
        args.measured,
        names,
        directions=directions,
        batch_size=args.batch,
        id_column=args.id_column,
        formula_column=args.formula_column,
        features=args.features,
        campaign=campaign,
        seed=args.seed,
        optimizer_options=options,
        deliver=lambda table: _write_csv(table, out, force=args.force),
        categorical=categorical,
        ordinal=ordinal,
        descriptors=descriptors,
        smiles=list(args.smiles_column or []),
        retract=retract,
        wait=args.wait,
        on_wait=lambda message: print(f"axfusion suggest: {message} (up to {args.wait:g} s)", file=sys.stderr),
    )
    return outcome, out, names
