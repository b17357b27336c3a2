r"""Turn a CSV file or a DataFrame into a validated :class:`Dataset`.

:func:`load_csv` is the single code path through which every dataset enters
axfusion: the built-in loaders, :func:`~axfusion.data.load_3dsc`,
:func:`~axfusion.data.load_olympus` and user tables. The steps, in order:

1. resolve the target, identifier, excluded, feature and categorical columns
   (unknown names raise, suggesting close matches);
2. type the features: numeric columns become ``float64`` (a non-numeric value
   in a column not declared categorical raises), categorical columns become
   pandas ``category`` with sorted string levels;
3. type the targets (``float64``; non-numeric or infinite values raise);
4. missing targets: only the requested targets count. By default a missing
   value raises naming the rows; with ``drop_missing_targets=True`` those rows
   are dropped, counted and reported with a :class:`DataWarning`;
5. NaN or infinite numeric features raise, naming columns and rows;
6. duplicated feature vectors: with ``average_duplicates=True`` the targets of
   identical feature vectors are averaged (repeated measurements), counted and
   reported. Otherwise ``on_duplicates`` decides: ``"warn"`` (default) keeps them
   and warns, ``"error"`` raises naming them, ``"ignore"`` keeps them silently.
   The default is a warning rather than an error because identical feature
   vectors are common and legitimate in materials tables (distinct compounds
   whose composition descriptors coincide, polymorphs); the count is recorded
   on the dataset either way;
7. constant feature columns are dropped (``drop_constant=True``, default),
   named in a warning and recorded;
8. fewer than ``min_rows`` (default 5) rows left raises.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from axfusion.data.dataset import Dataset
from axfusion.data.errors import DataValidationError, DataWarning
from axfusion.data.validation import (
    average_duplicate_rows,
    check_columns_exist,
    check_finite_features,
    check_min_rows,
    coerce_categorical_features,
    coerce_numeric_features,
    coerce_targets,
    constant_columns,
    count_noun,
    csv_layout_problem,
    describe_duplicates,
    describe_missing_targets,
    feature_row_groups,
    id_like_columns,
    missing_target_rows,
)

MIN_ROWS: int = 5
"""Default minimum number of rows a dataset must keep after cleaning."""

DEFAULT_FRAME_NAME: str = "dataset"
"""Name given to a dataset built from a DataFrame when no name is passed."""

DuplicatePolicy = Literal["warn", "error", "ignore"]
DUPLICATE_POLICIES: tuple[str, ...] = ("warn", "error", "ignore")


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _read_table(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    read_csv_kwargs: Mapping[str, Any] | None,
) -> tuple[pd.DataFrame, str]:
    """Read the table; return it with a default name (file stem or DEFAULT_FRAME_NAME)."""
    if isinstance(path_or_frame, pd.DataFrame):
        if read_csv_kwargs:
            raise TypeError("read_csv_kwargs only applies when a path is given, not a DataFrame.")
        return path_or_frame.copy(), DEFAULT_FRAME_NAME
    path = Path(path_or_frame)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {str(path)!r}.")
    frame = pd.read_csv(path, **dict(read_csv_kwargs or {}))
    problem = csv_layout_problem(path, frame, **dict(read_csv_kwargs or {}))
    if problem is not None:
        raise DataValidationError(f"The data file {path.name} cannot be used: {problem}.")
    stem = path.name
    for suffix in (".gz", ".bz2", ".xz", ".zip", ".csv", ".tsv", ".txt"):
        stem = stem.removesuffix(suffix)
    return frame, stem


def _resolve_columns(
    frame: pd.DataFrame,
    *,
    targets: list[str],
    features: list[str] | None,
    id_column: str | None,
    categorical: list[str],
    exclude: list[str],
) -> list[str]:
    """Check all named columns; return the feature columns (table order if not given)."""
    columns = list(frame.columns)
    duplicated = sorted(c for c, k in Counter(columns).items() if k > 1)
    if duplicated:
        raise DataValidationError(f"The table has duplicated column names: {duplicated}.")
    if not targets:
        raise DataValidationError("At least one target column must be given (targets=[...]).")
    repeated_targets = sorted(t for t, k in Counter(targets).items() if k > 1)
    if repeated_targets:
        raise DataValidationError(f"Target column(s) {repeated_targets} are listed twice.")
    check_columns_exist(targets, columns, role="target")
    if id_column is not None:
        check_columns_exist([id_column], columns, role="identifier")
        if id_column in targets:
            raise DataValidationError(
                f"Column {id_column!r} cannot be both the identifier and a target."
            )
    check_columns_exist(exclude, columns, role="excluded")
    reserved = set(targets) | ({id_column} if id_column is not None else set())
    if features is None:
        features = [c for c in columns if c not in reserved and c not in set(exclude)]
        if id_column is None:
            found = id_like_columns(frame, [c for c in features if c not in set(categorical)])
            if found:
                name, reason = next(iter(found.items()))
                raise DataValidationError(
                    f"Column {name!r} looks like a row id, not a property to model ({reason}). Name it the "
                    f"identifier with id_column={name!r} (axfusion bench --id-column {name}), leave it out with "
                    f"exclude=[{name!r}], or choose the features."
                )
    else:
        check_columns_exist(features, columns, role="feature")
        clash = [c for c in features if c in reserved]
        if clash:
            raise DataValidationError(
                f"Column(s) {clash} are listed as features but are also the target(s) "
                "or the identifier."
            )
        repeated_features = sorted(f for f, k in Counter(features).items() if k > 1)
        if repeated_features:
            raise DataValidationError(f"Feature column(s) {repeated_features} are listed twice.")
    if not features:
        raise DataValidationError(
            "No feature column is left once targets, identifier and excluded columns "
            "are removed."
        )
    check_columns_exist(categorical, columns, role="categorical")
    not_features = [c for c in categorical if c not in features]
    if not_features:
        raise DataValidationError(
            f"Categorical column(s) {not_features} are not feature columns "
            f"(they are targets, the identifier or excluded)."
        )
    return features


Notify = Callable[[str], None]


def _handle_missing_targets(
    X: pd.DataFrame,
    Y: pd.DataFrame,
    ids: pd.Series,
    *,
    drop: bool,
    name: str,
    notify: Notify,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, int]:
    """Raise on missing targets, or drop those rows; return the rows kept and the count."""
    missing = missing_target_rows(Y)
    if not len(missing):
        return X, Y, ids, 0
    details = describe_missing_targets(Y, ids)
    if not drop:
        raise DataValidationError(
            f"{name}: {count_noun(len(missing), 'row')} with missing target values "
            f"({details}). "
            "Pass drop_missing_targets=True to drop them, or request only "
            "targets that are complete."
        )
    keep = ~Y.index.isin(missing)
    notify(
        f"dropped {count_noun(len(missing), 'row')} with missing target values ({details})."
    )
    return X[keep], Y[keep], ids[keep], len(missing)


def _handle_duplicates(
    X: pd.DataFrame,
    Y: pd.DataFrame,
    ids: pd.Series,
    *,
    average: bool,
    policy: DuplicatePolicy,
    name: str,
    notify: Notify,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, int, int]:
    """Average, reject or keep identical feature vectors.

    Returns the rows kept, the number of rows merged by averaging and the number
    of duplicated rows kept.
    """
    labels = feature_row_groups(X)
    n_repeats, text = describe_duplicates(labels, X.index, ids)
    if not n_repeats:
        return X, Y, ids, 0, 0
    if average:
        n_before = len(X)
        X, Y, ids = average_duplicate_rows(X, Y, ids, labels)
        notify(
            f"averaged the targets of repeated feature vectors: {n_before} rows -> "
            f"{len(X)} rows ({count_noun(n_before - len(X), 'row')} merged)."
        )
        return X, Y, ids, n_before - len(X), 0
    if policy == "error":
        raise DataValidationError(
            f"{name}: {text}. Pass average_duplicates=True to average their targets, "
            "or on_duplicates='warn' or 'ignore' to keep them."
        )
    if policy == "warn":
        notify(
            f"{text}. They are kept; pass average_duplicates=True to average their "
            "targets or on_duplicates='ignore' to silence this."
        )
    return X, Y, ids, 0, n_repeats


def _drop_constant_columns(
    X: pd.DataFrame, *, name: str, notify: Notify
) -> tuple[pd.DataFrame, list[str]]:
    """Drop constant feature columns; raise if every column is constant."""
    dropped = constant_columns(X)
    if not dropped:
        return X, []
    if len(dropped) == X.shape[1]:
        raise DataValidationError(
            f"{name}: every feature column is constant ({dropped}); there is nothing "
            "to learn from."
        )
    notify(f"dropped constant feature column(s) {dropped}.")
    return X.drop(columns=dropped), dropped


def load_csv(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    *,
    targets: Sequence[str] | str,
    features: Sequence[str] | None = None,
    id_column: str | None = None,
    categorical: Sequence[str] = (),
    exclude: Sequence[str] = (),
    name: str | None = None,
    drop_missing_targets: bool = False,
    average_duplicates: bool = False,
    on_duplicates: DuplicatePolicy = "warn",
    drop_constant: bool = True,
    min_rows: int = MIN_ROWS,
    warn: bool = True,
    units: Mapping[str, str] | None = None,
    orientation: Mapping[str, str] | None = None,
    citation: str = "",
    licence: str = "",
    source: str = "",
    description: str = "",
    n_dropped_invalid: int = 0,
    read_csv_kwargs: Mapping[str, Any] | None = None,
    descriptors: Mapping[str, Any] | None = None,
    ordinal: Mapping[str, Sequence[Any]] | None = None,
    smiles: Sequence[str] = (),
) -> Dataset:
    r"""Load a table of features and targets into a validated :class:`Dataset`.

    Rows are referred to in messages by their 0-based position in the table as
    read (header excluded) and by their identifier when ``id_column`` is given.
    Column names are converted to strings.

    Args:
        path_or_frame: Path of a CSV file (compression inferred from the suffix)
            or a DataFrame (copied, never modified).
        targets: Target column name(s); only these are checked for missing values.
        features: Feature columns, in the order wanted in ``X``; ``None`` means
            every column that is not a target, the identifier or in ``exclude``,
            in table order.
        id_column: Column of row identifiers (formula, compound, sample id); not
            a feature. Without it the identifiers are the row numbers.
        categorical: Feature columns to treat as categorical.
        exclude: Columns that are neither features nor targets (only used when
            ``features`` is ``None``).
        name: Dataset name; defaults to the file name without suffixes.
        drop_missing_targets: Drop rows with a missing requested target (with a
            warning) instead of raising.
        average_duplicates: Average the targets of rows with identical feature
            vectors (repeated measurements).
        on_duplicates: What to do with identical feature vectors when they are
            not averaged: ``"warn"``, ``"error"`` or ``"ignore"``.
        drop_constant: Drop constant feature columns (with a warning).
        min_rows: Minimum number of rows left after cleaning.
        warn: Emit a :class:`DataWarning` for each cleaning action; the counts
            are recorded on the dataset either way.
        units: Target -> unit, where known.
        orientation: Target -> ``"maximize"``/``"minimize"``; entries for targets
            that were not requested are ignored.
        citation: How to cite the data.
        licence: Licence of the data.
        source: Where the data comes from.
        description: What the data is.
        n_dropped_invalid: Rows the caller already removed because their inputs
            could not be featurised; recorded on the dataset.
        read_csv_kwargs: Extra keyword arguments for :func:`pandas.read_csv`
            (e.g. ``{"encoding": "utf-8-sig"}``).
        descriptors: Categorical column -> descriptor table (CSV path or DataFrame,
            :func:`~axfusion.data.encoding.read_descriptor_table`); the column is then
            encoded by its levels' descriptors. A level missing from the table raises.
        ordinal: Feature column -> its levels from lowest to highest; the column is
            replaced by the levels' ranks ``0 .. L-1`` (a numeric feature, as
            :class:`~axfusion.data.encoding.FeatureEncoder` encodes an ordinal column).
            A value that is not one of the levels raises, naming the closest ones.
        smiles: Feature columns of SMILES strings: categorical, encoded by the Morgan
            fingerprints of their levels (:mod:`axfusion.data.molecules`; needs RDKit,
            ``pip install 'axfusion[chem]'``).

    Returns:
        The validated dataset with ``X`` (``n x d``), ``Y`` (``n x q``) and ``ids``
        indexed ``0 .. n-1``.

    Raises:
        DataValidationError: See the module docstring for every check.
    """
    if on_duplicates not in DUPLICATE_POLICIES:
        raise ValueError(
            f"on_duplicates must be one of {DUPLICATE_POLICIES}, not {on_duplicates!r}."
        )
    if min_rows < 1:
        raise ValueError(f"min_rows must be at least 1, not {min_rows}.")
    frame, default_name = _read_table(path_or_frame, read_csv_kwargs)
    name = default_name if name is None else name
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.reset_index(drop=True)
    n_source_rows = len(frame)
    check_min_rows(n_source_rows, min_rows, context=f"in the source table of {name!r}")

    target_names = _as_list(targets)
    categorical_names = _as_list(categorical)
    ordinal_levels = {str(k): list(v) for k, v in dict(ordinal or {}).items()}
    smiles_names = _as_list(smiles)
    descriptors = dict(descriptors or {})
    twice = sorted((set(ordinal_levels) & (set(categorical_names) | set(smiles_names) | set(descriptors)))
                   | (set(smiles_names) & set(descriptors)))
    if twice:
        raise DataValidationError(
            f"{name}: column(s) {twice} can have only one role: categorical, ordinal, described or SMILES."
        )
    categorical_names += [c for c in smiles_names if c not in categorical_names]
    feature_names = _resolve_columns(
        frame,
        targets=target_names,
        features=None if features is None else _as_list(features),
        id_column=id_column,
        categorical=categorical_names,
        exclude=_as_list(exclude),
    )
    ids = (
        frame[id_column].copy()
        if id_column is not None
        else pd.Series(frame.index.to_numpy(), index=frame.index, name="row")
    )
    if ordinal_levels or smiles_names:
        frame = _encode_ordinal_and_smiles(frame, feature_names, ordinal_levels, smiles_names, descriptors, name)

    categorical_set = set(categorical_names)
    numeric = coerce_numeric_features(
        frame[[c for c in feature_names if c not in categorical_set]], ids
    )
    categories = coerce_categorical_features(
        frame[[c for c in feature_names if c in categorical_set]], ids
    )
    X = pd.concat([numeric, categories], axis=1)[feature_names]
    Y = coerce_targets(frame[target_names], ids)

    def notify(message: str) -> None:
        if warn:
            warnings.warn(f"{name}: {message}", DataWarning, stacklevel=4)

    X, Y, ids, n_dropped_missing = _handle_missing_targets(
        X, Y, ids, drop=drop_missing_targets, name=name, notify=notify
    )
    check_finite_features(X, ids)
    X, Y, ids, n_averaged, n_duplicates = _handle_duplicates(
        X, Y, ids, average=average_duplicates, policy=on_duplicates, name=name, notify=notify
    )
    X = X.copy()
    for column in categorical_names:
        X[column] = X[column].cat.remove_unused_categories()
    dropped_constant: list[str] = []
    if drop_constant:
        X, dropped_constant = _drop_constant_columns(X, name=name, notify=notify)

    check_min_rows(
        len(X),
        min_rows,
        context=(
            f"in {name!r} after cleaning (source rows {n_source_rows}, dropped for "
            f"missing targets {n_dropped_missing}, merged by averaging {n_averaged})"
        ),
    )

    X = X.reset_index(drop=True)
    Y = Y.reset_index(drop=True)
    ids = ids.reset_index(drop=True)
    kept_categorical = [c for c in X.columns if c in categorical_set]
    tables: dict[str, pd.DataFrame] = {}
    if descriptors:
        from axfusion.data.encoding import read_descriptor_table

        for column, table in descriptors.items():
            if column in smiles_names and column in dropped_constant:
                continue  # one molecule throughout: dropped like any constant column
            if column not in kept_categorical:
                raise DataValidationError(
                    f"{name}: descriptors are given for {column!r}, which is not a categorical feature column."
                )
            tables[column] = read_descriptor_table(table, column)
            missing = [lv for lv in X[column].cat.categories if lv not in tables[column].index]
            if missing:
                raise DataValidationError(
                    f"{name}: level {missing[0]!r} of column {column!r} is missing from its descriptor table."
                )
    return Dataset(
        name=name,
        X=X,
        Y=Y,
        ids=ids,
        categorical=kept_categorical,
        units={t: u for t, u in (units or {}).items() if t in target_names},
        orientation={t: o for t, o in (orientation or {}).items() if t in target_names},
        citation=citation,
        licence=licence,
        source=source,
        description=description,
        n_source_rows=n_source_rows + n_dropped_invalid,
        n_dropped_invalid=n_dropped_invalid,
        n_dropped_missing=n_dropped_missing,
        n_averaged=n_averaged,
        n_duplicates=n_duplicates,
        dropped_constant=dropped_constant,
        descriptors=tables,
        smiles=[c for c in smiles_names if c in tables],
    )


def _encode_ordinal_and_smiles(
    frame: pd.DataFrame,
    features: Sequence[str],
    ordinal: Mapping[str, Sequence[Any]],
    smiles: Sequence[str],
    descriptors: dict[str, Any],
    name: str,
) -> pd.DataFrame:
    r"""``frame`` with its ordinal columns replaced by ranks; adds the fingerprint tables of the
    SMILES columns to ``descriptors`` (in place)."""
    from axfusion.data.encoding import ColumnEncoding, _level_text

    unknown = [c for c in [*ordinal, *smiles] if c not in features]
    if unknown:
        raise DataValidationError(f"{name}: ordinal or SMILES column(s) {unknown} are not feature columns.")
    frame = frame.copy()
    for column, levels in ordinal.items():
        texts = tuple(_level_text(v) for v in levels)
        if len(set(texts)) != len(texts) or not all(texts):
            raise DataValidationError(f"{name}: the ordinal levels of {column!r} repeat a level or are empty: "
                                      f"{list(texts)}.")
        enc = ColumnEncoding(column, "ordinal", texts, declared=True)
        codes = enc.codes(frame[column], name, known=f"one of its ordinal levels {list(texts)}")
        frame[column] = codes.astype(np.float64)
    if smiles:
        from axfusion.data.molecules import smiles_tables

        descriptors.update(smiles_tables(frame, list(smiles), label=name))
    return frame
