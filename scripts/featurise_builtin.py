r"""Regenerate the Magpie feature tables shipped with the formula-only built-in datasets.

For every built-in dataset that declares a ``formula_column`` (``bandgap``,
``matbench_expt_gap``), read the shipped ``data.csv.gz``, featurise its distinct
formulas with :func:`axfusion.data.featurize_formulas` (matminer's Magpie
preset, offline) and write, next to the data:

- ``magpie.csv.gz``: one row per featurisable formula (sorted), indexed by
  formula, 132 columns; written as a reproducible gzip (no timestamp);
- ``invalid_formulas.csv``: the formulas that cannot be featurised, with the
  reason.

The loaders read these files instead of featurising at run time. Usage::

    python scripts/featurise_builtin.py            # all formula datasets
    python scripts/featurise_builtin.py bandgap    # one dataset
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import pandas as pd

from axfusion.data.builtin import (
    BUILTIN_SPECS,
    COMPOSITION_FEATURE_FILE,
    DATA_FILE,
    INVALID_FORMULA_FILE,
    BuiltinSpec,
)
from axfusion.data.errors import DataValidationError
from axfusion.data.featurize import featurize_formulas

GZIP_LEVEL: int = 9


def _write_gzip_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV gzip whose bytes depend only on the content (mtime 0, no file name)."""
    text = frame.to_csv(lineterminator="\n").encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=GZIP_LEVEL
    ) as handle:
        handle.write(text)
    path.write_bytes(buffer.getvalue())


def _reason(formula: str) -> str:
    """The featuriser's reason for rejecting ``formula``."""
    try:
        featurize_formulas([formula])
    except DataValidationError as error:
        return str(error)
    raise RuntimeError(f"{formula!r} was dropped but featurises on its own.")


def featurise_dataset(spec: BuiltinSpec, folder: Path, *, progress: bool = True) -> None:
    r"""Write the Magpie table and invalid-formula list of one dataset into ``folder``."""
    frame = pd.read_csv(folder / DATA_FILE, **dict(spec.read_csv_kwargs))
    formulas = sorted(set(frame[spec.formula_column].astype(str)))
    table = featurize_formulas(formulas, on_invalid="drop", progress=progress)
    valid = set(table.index)
    invalid = [f for f in formulas if f not in valid]
    _write_gzip_csv(table, folder / COMPOSITION_FEATURE_FILE)
    pd.DataFrame(
        {"formula": invalid, "reason": [_reason(f) for f in invalid]}
    ).to_csv(folder / INVALID_FORMULA_FILE, index=False, lineterminator="\n")
    print(
        f"{spec.name}: {len(table)} formulas featurised, {len(invalid)} invalid "
        f"-> {folder / COMPOSITION_FEATURE_FILE}"
    )


def main(argv: list[str] | None = None) -> None:
    formula_specs = {n: s for n, s in BUILTIN_SPECS.items() if s.formula_column is not None}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names",
        nargs="*",
        help=f"datasets to featurise, among {sorted(formula_specs)} (default: all)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="folder holding the <name>/ data folders (default: the package's builtin/)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(formula_specs))
    if unknown:
        parser.error(f"not formula-only built-in datasets: {unknown}")
    for name in args.names or list(formula_specs):
        spec = formula_specs[name]
        folder = spec.folder if args.root is None else args.root / name
        featurise_dataset(spec, folder, progress=not args.quiet)


if __name__ == "__main__":
    main()
