r"""Checks and cleaning steps applied to every table that becomes a :class:`Dataset`.

Each function does one check or one cleaning step on pandas objects indexed by
the 0-based row number of the source table (header excluded), so that error
messages can name the rows as the user sees them, together with their
identifiers. Problems raise :class:`~axfusion.data.errors.DataValidationError`
naming the column(s) and row(s); the orchestration (which steps run, in which
order, and which emit warnings) lives in :func:`axfusion.data.load_csv`.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from axfusion.data.errors import DataValidationError

MAX_REPORTED: int = 5
"""How many rows, columns or groups an error or warning message lists at most."""

CLOSE_MATCHES: int = 3
"""How many close column-name matches an unknown-column error suggests."""

CLOSE_MATCH_CUTOFF: float = 0.6
"""Similarity (``difflib`` ratio in [0, 1]) a name needs to be suggested."""


def count_noun(count: int, noun: str) -> str:
    r"""``"1 row"``, ``"2 rows"``: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe_rows(
    rows: Sequence[Hashable] | pd.Index,
    ids: pd.Series | None = None,
    *,
    limit: int = MAX_REPORTED,
) -> str:
    r"""Human-readable list of rows, e.g. ``"rows 3 (id 'ZnO'), 7 (id 'GaN') and 2 more"``.

    Args:
        rows: Row labels (0-based row numbers of the source table).
        ids: Identifier per row label; identifiers equal to the row number
            are not repeated.
        limit: Number of rows to list before summarising the rest.
    """
    rows = list(rows)
    parts = []
    for row in rows[:limit]:
        text = str(row)
        if ids is not None:
            identifier = ids.loc[row]
            if not (isinstance(identifier, (int, np.integer)) and identifier == row):
                text += f" (id {identifier!r})"
        parts.append(text)
    label = "row" if len(rows) == 1 else "rows"
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{label} {', '.join(parts)}{more}"


def check_columns_exist(
    requested: Sequence[str], available: Sequence[str], *, role: str
) -> None:
    r"""Raise if a requested column is not in the table, suggesting close matches.

    Args:
        requested: Column names asked for.
        available: Column names present in the table.
        role: What the columns were requested as (``"target"``, ``"feature"``, ...),
            used in the message.
    """
    available = [str(column) for column in available]
    for column in requested:
        if column in available:
            continue
        matches = difflib.get_close_matches(
            str(column), available, n=CLOSE_MATCHES, cutoff=CLOSE_MATCH_CUTOFF
        )
        hint = f" Did you mean {matches}?" if matches else ""
        shown = available if len(available) <= 20 else available[:20] + ["..."]
        raise DataValidationError(
            f"Unknown {role} column {column!r}.{hint} Available columns: {shown}."
        )


def _first_bad_value(
    original: pd.Series, converted: pd.Series
) -> tuple[Hashable, object] | None:
    """Row label and value of the first entry that did not convert to a number."""
    bad = converted.isna() & original.notna()
    if not bad.any():
        return None
    row = bad.index[np.flatnonzero(bad.to_numpy())[0]]
    return row, original.loc[row]


def _to_float(series: pd.Series) -> tuple[pd.Series, tuple[Hashable, object] | None]:
    """Convert to ``float64``; also return the first value that is not a number."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(np.float64), None
    if pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
        series.dtype, pd.CategoricalDtype
    ):
        return series.astype(np.float64), None
    values = series.astype(object)
    converted = pd.to_numeric(values, errors="coerce").astype(np.float64)
    return converted, _first_bad_value(values, converted)


def coerce_numeric_features(
    frame: pd.DataFrame, ids: pd.Series | None = None
) -> pd.DataFrame:
    r"""Convert numeric feature columns to ``float64``.

    Args:
        frame: ``n x k`` feature columns that are not declared categorical.
        ids: Row identifiers, for messages.

    Returns:
        ``n x k`` ``float64`` frame (booleans become 0/1; numeric strings are parsed).

    Raises:
        DataValidationError: A column holds a value that is not a number; the
            message names the column and an example value with its row.
    """
    out = {}
    for column in frame.columns:
        converted, bad = _to_float(frame[column])
        if bad is not None:
            row, value = bad
            raise DataValidationError(
                f"Feature column {column!r} is not numeric (e.g. value {value!r} in "
                f"{describe_rows([row], ids)}) and is not declared categorical. "
                f"Pass categorical=[{column!r}] to treat it as categorical, or "
                "exclude it from the features."
            )
        out[column] = converted
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _sorted_levels(values: pd.Series) -> list[object]:
    """Distinct values, numerically sorted when possible, else sorted as strings."""
    unique = list(pd.unique(values))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def coerce_categorical_features(
    frame: pd.DataFrame, ids: pd.Series | None = None
) -> pd.DataFrame:
    r"""Convert categorical feature columns to pandas ``category`` with string levels.

    Levels are the distinct values in sorted order (numerically sorted when all
    values are numbers), converted to strings.

    Args:
        frame: ``n x k`` columns declared categorical.
        ids: Row identifiers, for messages.

    Raises:
        DataValidationError: A categorical column has missing values (names the
            column and rows).
    """
    out = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        missing = series.isna()
        if missing.any():
            raise DataValidationError(
                f"Categorical feature column {column!r} has missing values in "
                f"{describe_rows(series.index[missing.to_numpy()], ids)}."
            )
        levels = _sorted_levels(series)
        labels = [str(level) for level in levels]
        if len(set(labels)) != len(labels):
            raise DataValidationError(
                f"Categorical feature column {column!r} has distinct values with the "
                f"same text (levels {labels}); make the values unique as strings."
            )
        mapping = dict(zip(levels, labels))
        out[column] = pd.Categorical(
            series.map(mapping), categories=labels, ordered=False
        )
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def check_finite_features(X: pd.DataFrame, ids: pd.Series | None = None) -> None:
    r"""Raise if a numeric feature column holds NaN or an infinite value.

    Args:
        X: ``n x d`` features; only non-categorical columns are checked.
        ids: Row identifiers, for messages.

    Raises:
        DataValidationError: Names every offending column with its first rows.
    """
    problems = []
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            continue
        bad = ~np.isfinite(X[column].to_numpy(dtype=np.float64))
        if bad.any():
            problems.append(
                f"{column!r} ({int(bad.sum())} values; {describe_rows(X.index[bad], ids)})"
            )
    if problems:
        more = len(problems) - MAX_REPORTED
        raise DataValidationError(
            "Feature column(s) contain NaN or infinite values: "
            + "; ".join(problems[:MAX_REPORTED])
            + (f"; and {more} more columns" if more > 0 else "")
            + ". Impute or remove these values, or exclude the column(s)."
        )


def coerce_targets(Y: pd.DataFrame, ids: pd.Series | None = None) -> pd.DataFrame:
    r"""Convert target columns to ``float64``, keeping NaN for missing values.

    Args:
        Y: ``n x q`` target columns.
        ids: Row identifiers, for messages.

    Raises:
        DataValidationError: A target holds a non-numeric value or an infinite
            value (names the column, the value and its row).
    """
    out = {}
    for column in Y.columns:
        converted, bad = _to_float(Y[column])
        if bad is not None:
            row, value = bad
            raise DataValidationError(
                f"Target column {column!r} is not numeric (e.g. value {value!r} in "
                f"{describe_rows([row], ids)})."
            )
        infinite = np.isinf(converted.to_numpy())
        if infinite.any():
            raise DataValidationError(
                f"Target column {column!r} has infinite values in "
                f"{describe_rows(converted.index[infinite], ids)}."
            )
        out[column] = converted
    return pd.DataFrame(out, index=Y.index, columns=Y.columns)


def missing_target_rows(Y: pd.DataFrame) -> pd.Index:
    r"""Labels of the rows where at least one target of ``Y`` (``n x q``) is NaN."""
    return Y.index[Y.isna().any(axis=1).to_numpy()]


def describe_missing_targets(Y: pd.DataFrame, ids: pd.Series | None = None) -> str:
    r"""Per-target count and first rows of missing values, for messages."""
    parts = []
    for column in Y.columns:
        missing = Y[column].isna().to_numpy()
        if missing.any():
            rows = describe_rows(Y.index[missing], ids)
            parts.append(f"{column!r}: {int(missing.sum())} missing ({rows})")
    return "; ".join(parts)


def feature_row_groups(X: pd.DataFrame) -> np.ndarray:
    r"""Label rows with identical feature vectors.

    Exact equality (``-0.0 == 0.0``), computed by factorising the columns one at
    a time, so the cost is linear in the table size.

    Args:
        X: ``n x d`` validated features (``float64`` or categorical columns,
            no NaN).

    Returns:
        ``(n,)`` integer labels; equal labels mean identical feature vectors.
        Labels are numbered ``0 .. g-1`` in order of first appearance.
    """
    labels = np.zeros(len(X), dtype=np.int64)
    for column in X.columns:
        series = X[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.cat.codes.to_numpy(dtype=np.int64)
            n_levels = len(series.cat.categories)
        else:
            codes, uniques = pd.factorize(series.to_numpy(dtype=np.float64) + 0.0)
            n_levels = len(uniques)
        labels, _ = pd.factorize(labels * max(n_levels, 1) + codes)
    return np.asarray(labels, dtype=np.int64)


def describe_duplicates(
    labels: np.ndarray, index: pd.Index, ids: pd.Series | None = None
) -> tuple[int, str]:
    r"""Count and describe repeated feature vectors.

    Args:
        labels: ``(n,)`` output of :func:`feature_row_groups`.
        index: Row labels matching ``labels``.
        ids: Row identifiers, for messages.

    Returns:
        ``(n_repeats, text)``: the number of rows whose feature vector equals
        that of an earlier row, and a message listing the first groups.
    """
    counts = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    repeated_groups = np.flatnonzero(counts > 1)
    n_repeats = int((counts[repeated_groups] - 1).sum())
    lines = []
    for group in repeated_groups[:MAX_REPORTED]:
        members = index[labels == group]
        lines.append(describe_rows(members, ids))
    more = (
        f"; and {len(repeated_groups) - MAX_REPORTED} more groups"
        if len(repeated_groups) > MAX_REPORTED
        else ""
    )
    verb = "repeats" if n_repeats == 1 else "repeat"
    text = (
        f"{count_noun(n_repeats, 'row')} {verb} the feature vector of an earlier row "
        f"({len(repeated_groups)} distinct feature vector(s) occur more than once): "
        + "; ".join(lines)
        + more
    )
    return n_repeats, text


def average_duplicate_rows(
    X: pd.DataFrame, Y: pd.DataFrame, ids: pd.Series, labels: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    r"""Average the targets of rows with identical feature vectors.

    Args:
        X: ``n x d`` features.
        Y: ``n x q`` targets (no NaN).
        ids: ``n`` identifiers.
        labels: ``(n,)`` output of :func:`feature_row_groups`.

    Returns:
        ``(X, Y, ids)`` with ``g`` rows, one per distinct feature vector in order
        of first appearance: the features and identifier of the group's first
        row and the arithmetic mean of its targets. Indexed by the row label of
        each group's first row.
    """
    _, first_positions = np.unique(labels, return_index=True)
    means = Y.groupby(labels, sort=True).mean()
    X_out = X.iloc[first_positions]
    Y_out = pd.DataFrame(
        means.to_numpy(dtype=np.float64), index=X_out.index, columns=Y.columns
    )
    return X_out, Y_out, ids.iloc[first_positions]


def constant_columns(X: pd.DataFrame) -> list[str]:
    r"""Names of the columns of ``X`` (``n x d``) that take a single value on every row."""
    return [column for column in X.columns if X[column].nunique(dropna=False) <= 1]


def check_min_rows(n_rows: int, min_rows: int, *, context: str) -> None:
    r"""Raise if fewer than ``min_rows`` rows are left.

    Args:
        n_rows: Rows left.
        min_rows: Rows required.
        context: What happened to the table so far, for the message.
    """
    if n_rows < min_rows:
        raise DataValidationError(
            f"Only {n_rows} rows are left {context}; at least {min_rows} rows are needed."
        )


#: Name parts that mark a column as a row identifier (``id``, ``sample_no``, ``material_ID``,
#: ``sampleIndex``), compared with the name's words in lower case.
ID_WORDS: frozenset[str] = frozenset({"id", "ids", "no", "nr", "idx", "index", "key", "uid", "uuid"})

#: ``number``/``num`` name an identifier only alone or after one of these words (``sample_number``,
#: ``run_num``), not in a property such as ``atomic_number``.
NUMBERED_WORDS: frozenset[str] = frozenset(
    {"sample", "row", "run", "serial", "entry", "record", "item", "experiment", "exp", "batch", "lot", "trial"}
)

#: Consecutive unique whole numbers in a column without an id-like name are taken for a row
#: number from this many rows on (below it a short feature column may be ``1, 2, 3`` by chance).
MIN_ROWS_FOR_COUNTER: int = 10


def _name_words(name: str) -> list[str]:
    r"""``"sampleNo"`` -> ``["sample", "no"]``; ``"material_ID"`` -> ``["material", "id"]``."""
    import re

    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def id_like_name(name: str) -> bool:
    r"""Whether a column name reads like a row identifier (``id``, ``sample_no``, ``Unnamed: 0``)."""
    words = _name_words(name)
    if str(name).startswith("Unnamed:"):
        return True
    if not words:
        return False
    if words[-1] in ID_WORDS or words[0] in {"id", "idx", "uid", "uuid"}:
        return True
    return words[-1] in ("number", "num") and (len(words) == 1 or words[-2] in NUMBERED_WORDS)


def id_like_reason(name: str, values: pd.Series) -> str | None:
    r"""Why the column ``name`` looks like a row identifier rather than a measured property, or ``None``.

    A column is id-like when its values are unique whole numbers and it is pandas' saved index
    (``Unnamed: 0``), or named like an id (a word of :data:`ID_WORDS`, e.g. ``id``,
    ``sample_no``), or -- with at least :data:`MIN_ROWS_FOR_COUNTER` rows -- the values are
    consecutive (``1, 2, ..., n`` in any order). Non-numeric columns are never id-like here.

    Args:
        name: The column name.
        values: The column.
    """
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    v = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if v.size < 2 or not np.isfinite(v).all() or not np.array_equal(v, np.round(v)):
        return None
    if np.unique(v).size != v.size:
        return None
    lo, hi = int(v.min()), int(v.max())
    span = f"unique whole numbers {lo}..{hi}"
    if str(name).startswith("Unnamed:"):
        return f"an unnamed column of {span}, the row index pandas writes with DataFrame.to_csv(index=True)"
    if id_like_name(name):
        return f"named like an id and holds {span}"
    if v.size >= MIN_ROWS_FOR_COUNTER and hi - lo == v.size - 1:
        return f"a column of consecutive {span}, like a row number"
    return None


def id_like_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    r"""The id-like ones among ``columns`` of ``frame``, each with the reason (see :func:`id_like_reason`)."""
    found = {}
    for c in columns:
        reason = id_like_reason(c, frame[c])
        if reason is not None:
            found[c] = reason
    return found


def csv_layout_problem(path: str | os.PathLike[str], frame: pd.DataFrame, **read_csv_kwargs: Any) -> str | None:
    r"""What is wrong with a CSV file's layout as :func:`pandas.read_csv` read it into ``frame``, or ``None``.

    Two problems pandas hides: a repeated column name (pandas renames the second ``a`` to
    ``a.1``), and a file exported with ``;`` separators (and ``,`` decimals, as spreadsheets do in
    many locales), which reads as one text column.

    Args:
        path: The CSV file.
        frame: The table read from it.
        **read_csv_kwargs: The options it was read with (the header is re-read with them).
    """
    if len(frame.columns) == 1:
        name = str(frame.columns[0])
        for sep, word in ((";", "semicolons"), ("\t", "tabs")):
            if sep in name:
                return (
                    f"its header {name[:60]!r} is one column holding {word}: the file is separated by {sep!r}, "
                    "not commas (a spreadsheet export in a locale with decimal commas). Save it as CSV with "
                    "commas between columns and '.' as the decimal point"
                )
    if read_csv_kwargs.get("header", "infer") in (0, "infer") and not read_csv_kwargs.get("names"):
        options = {k: v for k, v in read_csv_kwargs.items() if k in ("sep", "delimiter", "encoding", "compression")}
        try:
            header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
            return None
        names = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
        repeated = sorted(c for c, k in Counter(names).items() if k > 1)
        if repeated:
            return f"it has duplicated column names {repeated}; give every column its own name"
    return None
