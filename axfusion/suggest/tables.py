r"""Reading the user's tables (CSV, Parquet or a DataFrame) and naming their rows and columns in messages."""

from __future__ import annotations

import difflib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from axfusion.suggest.errors import SuggestInputError

ROW_ID_COLUMN: str = "row_id"
"""Column of pool positions (0-based) in the output, and accepted in the measured table."""

MAX_LISTED: int = 5
"""How many rows, ids or formulas a message lists before summarising the rest."""

MAX_COLUMNS_SHOWN: int = 30
"""How many available column names an unknown-column message lists."""

_PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")

TableSource: TypeAlias = str | os.PathLike | pd.DataFrame


# --------------------------------------------------------------------------- small helpers
def _plural(count: int, noun: str) -> str:
    r"""``"1 row"``, ``"2 rows"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _verb(count: int, singular: str, plural: str) -> str:
    r"""The verb form that agrees with ``count``."""
    return singular if count == 1 else plural


def _plain(value: Any) -> Any:
    r"""A numpy scalar as the Python value (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _cap(text: str) -> str:
    r"""``text`` with its first letter in upper case when it starts with a word (``"the pool"``), not a file name."""
    return text[:1].upper() + text[1:] if text.startswith("the ") else text


def _listed(items: Sequence[Any], limit: int = MAX_LISTED) -> str:
    r"""The first ``limit`` items, comma-separated, and how many more."""
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _columns_hint(name: str, available: Sequence[str]) -> str:
    r"""Close matches of ``name`` and the available columns, for an unknown-column message."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in available], n=3, cutoff=0.6)
    hint = f" Did you mean {matches}?" if matches else ""
    shown = list(available[:MAX_COLUMNS_SHOWN]) + (["..."] if len(available) > MAX_COLUMNS_SHOWN else [])
    return f"{hint} Available columns: {shown}."


@dataclass(frozen=True)
class _Table:
    r"""A table as read, with what messages need to name it and its rows."""

    frame: pd.DataFrame
    label: str  # "pool.csv" or "the pool DataFrame"
    path: Path | None
    role: str = "pool"  # "pool" or "measured"

    @property
    def named(self) -> str:
        r"""``"the pool file pool.csv"`` or ``"the pool DataFrame"``, for messages."""
        return f"the {self.role} file {self.label}" if self.path is not None else self.label

    def row(self, i: int) -> str:
        r"""``"row 3 (line 5)"`` for CSV files (header on line 1), else ``"row 3"`` (0-based)."""
        if self.path is not None and not _is_parquet(self.path):
            return f"row {i} (line {i + 2})"
        return f"row {i}"

    def rows(self, positions: Sequence[int]) -> str:
        r"""The first :data:`MAX_LISTED` of ``positions`` as :meth:`row` names, and how many more."""
        parts = [self.row(int(i)) for i in list(positions)[:MAX_LISTED]]
        more = f" and {len(positions) - MAX_LISTED} more" if len(positions) > MAX_LISTED else ""
        return ", ".join(parts) + more

    def require(self, name: str, role: str) -> None:
        r"""Raise naming ``name`` and the available columns unless the table has it."""
        if name not in self.frame.columns:
            raise SuggestInputError(
                f"Unknown {role} column {name!r} in {self.label}." + _columns_hint(name, list(self.frame.columns))
            )


def _is_parquet(path: Path) -> bool:
    r"""Whether ``path`` names a Parquet file (by its suffix)."""
    return path.suffix.lower() in _PARQUET_SUFFIXES


def _as_path(source: str | os.PathLike[str], role: str) -> Path:
    r"""``source`` as a path to an existing file, or a clear error."""
    path = Path(source)
    if not path.is_file():
        raise SuggestInputError(f"The {role} file {str(path)!r} does not exist (or is not a file).")
    return path


def read_table(source: TableSource, role: str) -> _Table:
    r"""Read a CSV/Parquet file or copy a DataFrame; column names become strings."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        label, path = f"the {role} DataFrame", None
    elif isinstance(source, (str, os.PathLike)):
        path = _as_path(source, role)
        label = path.name
        try:
            if _is_parquet(path):
                frame = pd.read_parquet(path)
            else:
                # round_trip: the parsed floats equal the values the file was written from,
                # so feature rows copied between files match exactly.
                frame = pd.read_csv(path, float_precision="round_trip")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as error:
            # ValueError: pyarrow's ArrowInvalid for a corrupt Parquet file
            raise SuggestInputError(f"Cannot read the {role} file {str(path)!r}: {error}") from error
    else:
        raise TypeError(f"The {role} must be a file path or a pandas DataFrame, not {type(source).__name__}.")
    if path is not None and not _is_parquet(path):
        from axfusion.data.validation import csv_layout_problem

        problem = csv_layout_problem(path, frame)
        if problem is not None:
            raise SuggestInputError(f"The {role} file {path.name} cannot be used: {problem}.")
    frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted(c for c, k in Counter(frame.columns).items() if k > 1)
    if duplicated:
        raise SuggestInputError(f"{label} has duplicated column names: {duplicated}.")
    return _Table(frame.reset_index(drop=True), label, path, role)


def _same_file(a: Path | None, b: Path | None) -> bool:
    r"""Whether two paths (either may be missing) name the same file."""
    if a is None or b is None:
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
