r"""Categorical columns as features: one-hot, ordinal codes or descriptor tables.

A lab's pool holds text columns (solvent, base, ligand, precursor) next to numeric
ones. :class:`FeatureEncoder` turns such a table into the ``n x p`` float matrix the
optimiser runs on and remembers how, so that measured rows, a resumed campaign and
the suggestions table all use the same levels:

- **numeric** columns are kept as they are (one output column);
- **categorical** columns -- detected automatically (object, string, boolean or
  ``category`` dtype) or declared (``categorical=[...]``, e.g. an integer-coded
  column) -- become one indicator per level, ``"col=level"``, levels sorted (the
  layout of :meth:`axfusion.data.Dataset.feature_matrix`);
- **ordinal** columns (``ordinal={"col": ["low", "mid", "high"]}``) become one
  numeric column of level ranks ``0 .. L-1``;
- **descriptor** columns (``descriptors={"col": table}``) become the level's row of a
  user table of numeric descriptors, ``"col:descriptor"``; a level missing from the
  table is an error naming it;
- **SMILES** columns (``smiles=[...]``) are descriptor columns whose table is the
  levels' Morgan fingerprints (:mod:`axfusion.data.molecules`, RDKit: ``axfusion[chem]``).

**Scales** (:attr:`FeatureEncoder.column_scale_`, docs/method.md "Categorical
columns"): the optimiser standardises every input column by its standard deviation on
the measured rows -- except where a fixed scale is given. A one-hot indicator has the
fixed scale ``sqrt(2)``, so two different levels of one column are at distance 1, like
one standard deviation of a numeric column, whatever the number of levels and their
frequencies (per-column standardisation would put two rare levels ``~sqrt(2 L)`` apart
and let one many-level column decide k-NN distances and the clusters). A descriptor
column ``j`` of a ``p``-descriptor table has the fixed scale ``sd_j * sqrt(2 p)``
(``sd_j`` over the table's levels), so two levels are on average about 1 apart as well.
Numeric and ordinal columns: ``NaN`` (standardised as usual).
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from axfusion.data.errors import DataValidationError

__all__ = [
    "ColumnEncoding",
    "FeatureEncoder",
    "ONE_HOT_SCALE",
    "column_groups",
    "is_text_column",
    "one_hot",
    "read_descriptor_table",
]

ONE_HOT_SEPARATOR: str = "="
DESCRIPTOR_SEPARATOR: str = ":"
ONE_HOT_SCALE: float = math.sqrt(2.0)
r"""Fixed scale of a one-hot indicator: two different levels are at distance 1."""

ColumnKind = Literal["numeric", "categorical", "ordinal", "descriptors"]
MAX_LISTED: int = 5


def one_hot(codes: np.ndarray, n_levels: int) -> np.ndarray:
    r"""``n`` level codes ``0 .. L-1`` -> the ``n x L`` float64 indicator matrix."""
    return np.eye(n_levels, dtype=np.float64)[np.asarray(codes, dtype=np.int64)]


def is_text_column(series: pd.Series) -> bool:
    r"""Whether a column is categorical by its dtype (object, string, boolean or category)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_complex_dtype(dtype)


def _level_text(value: Any) -> str:
    r"""The text of a level: integral floats (``3.0``, as pandas reads an int column with gaps) as ``"3"``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _sorted_levels(values: Sequence[Any]) -> list[str]:
    r"""Distinct values as text, numerically sorted when all are numbers, else as strings."""
    unique = list(pd.unique(pd.Series(list(values), dtype=object)))
    try:
        unique = sorted(unique)
    except TypeError:
        unique = sorted(unique, key=str)
    texts = [_level_text(v) for v in unique]
    out: list[str] = []
    for t in texts:
        if t not in out:
            out.append(t)
    return out


def closest_levels(value: str, levels: Sequence[str], n: int = 3) -> list[str]:
    r"""The levels closest to ``value`` (case-insensitive first, then by ``difflib`` similarity)."""
    folded = [lv for lv in levels if lv.strip().lower() == value.strip().lower()]
    if folded:
        return folded[:n]
    return difflib.get_close_matches(value, list(levels), n=n, cutoff=0.0)


def read_descriptor_table(
    table: str | os.PathLike[str] | pd.DataFrame, column: str
) -> pd.DataFrame:
    r"""A descriptor table: index = level text, ``p`` numeric columns.

    Args:
        table: A CSV path or a DataFrame. The level column is the one named ``column``,
            ``"level"`` or ``"name"``, else the first column (a DataFrame may instead
            carry the levels as its index when no such column exists and it has only
            numeric columns).
        column: The categorical column described (for the messages).

    Raises:
        DataValidationError: unreadable file, no numeric descriptor, missing or infinite
            values, or a level listed twice.
    """
    if isinstance(table, pd.DataFrame):
        frame, label = table.copy(), f"the descriptor table of {column!r}"
        if not any(c in frame.columns for c in (column, "level", "name")) and all(
            pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns
        ):
            frame = frame.reset_index()
    else:
        path = Path(table)
        label = f"the descriptor table {str(path)!r} of {column!r}"
        if not path.is_file():
            raise DataValidationError(f"No such descriptor table for {column!r}: {str(path)!r}.")
        try:
            frame = pd.read_csv(path)
        except (ValueError, OSError, UnicodeDecodeError) as error:
            raise DataValidationError(f"Cannot read {label}: {error}") from error
    frame.columns = [str(c) for c in frame.columns]
    key = next((c for c in (column, "level", "name") if c in frame.columns), frame.columns[0])
    values = frame.drop(columns=[key])
    values = values.loc[:, [c for c in values.columns if pd.api.types.is_numeric_dtype(values[c])]]
    if values.shape[1] == 0:
        raise DataValidationError(f"{label[0].upper()}{label[1:]} has no numeric descriptor column.")
    levels = [_level_text(v) for v in frame[key]]
    dup = sorted({lv for lv in levels if levels.count(lv) > 1})
    if dup:
        raise DataValidationError(f"{label[0].upper()}{label[1:]} lists level(s) {dup[:MAX_LISTED]} more than once.")
    X = values.to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        bad = [levels[i] for i in np.flatnonzero(~np.isfinite(X).all(axis=1))]
        raise DataValidationError(
            f"{label[0].upper()}{label[1:]} has missing or infinite descriptors for level(s) {bad[:MAX_LISTED]}."
        )
    return pd.DataFrame(X, index=pd.Index(levels, name=column), columns=list(values.columns))


def column_groups(scale: np.ndarray, widths: Sequence[int]) -> np.ndarray:
    r"""``d`` integers: for each feature column, the index of the table column it encodes when
    its scale is fixed (a one-hot indicator or descriptor of a categorical column), else
    ``-1``; ``widths`` are the table columns' feature counts, in order."""
    owner = np.repeat(np.arange(len(widths)), np.asarray(widths, dtype=np.int64))
    return np.where(np.isfinite(np.asarray(scale, dtype=np.float64)), owner, -1).astype(np.int64)


@dataclass(frozen=True)
class ColumnEncoding:
    r"""How one table column becomes features.

    Attributes:
        name: The column.
        kind: ``"numeric"``, ``"categorical"`` (one-hot), ``"ordinal"`` (ranks) or
            ``"descriptors"``.
        levels: The ``L`` level texts in code order (categorical, ordinal, descriptors).
        descriptor_names: The ``p`` descriptor names (descriptors).
        descriptors: ``L x p`` descriptor values (descriptors).
        declared: Whether the user declared the column categorical (else detected).
    """

    name: str
    kind: ColumnKind
    levels: tuple[str, ...] = ()
    descriptor_names: tuple[str, ...] = ()
    descriptors: np.ndarray | None = field(default=None, compare=False)
    declared: bool = False
    smiles: bool = False

    @property
    def output_names(self) -> list[str]:
        r"""Names of this column's output features."""
        if self.kind == "categorical":
            return [f"{self.name}{ONE_HOT_SEPARATOR}{lv}" for lv in self.levels]
        if self.kind == "descriptors":
            return [f"{self.name}{DESCRIPTOR_SEPARATOR}{d}" for d in self.descriptor_names]
        return [self.name]

    @property
    def scale(self) -> np.ndarray:
        r"""Fixed standardisation scale of each output column (``NaN``: its standard deviation)."""
        if self.kind == "categorical":
            return np.full(len(self.levels), ONE_HOT_SCALE)
        if self.kind == "descriptors":
            assert self.descriptors is not None
            sd = self.descriptors.std(axis=0)
            p = self.descriptors.shape[1]
            return np.where(sd > 1e-12, sd, 1.0) * math.sqrt(2.0 * p)
        return np.array([np.nan])

    def describe(self) -> str:
        r"""One line, e.g. ```solvent`: categorical, 3 levels``."""
        if self.kind == "numeric":
            return f"`{self.name}`: numeric"
        how = {"categorical": "categorical", "ordinal": "ordinal", "descriptors": "categorical"}[self.kind]
        text = f"`{self.name}`: {how}, {len(self.levels)} level{'s' if len(self.levels) != 1 else ''}"
        if self.kind == "ordinal":
            text += f" ({' < '.join(self.levels)})"
        if self.kind == "descriptors":
            what = "fingerprint bits (SMILES)" if self.smiles else "descriptors"
            text += f", {len(self.descriptor_names)} {what}"
        return text

    def codes(self, values: pd.Series, label: str = "the table", *, known: str = "a level of the pool") -> np.ndarray:
        r"""``n`` level codes of ``values``; an unknown level raises naming the closest ones
        (rows are named by the index labels of ``values``: the table's row numbers)."""
        texts = [_level_text(v) for v in values]
        index = {lv: i for i, lv in enumerate(self.levels)}
        missing = pd.isna(values).to_numpy()
        if missing.any():
            rows = [values.index[i] for i in np.flatnonzero(missing)[:MAX_LISTED]]
            raise DataValidationError(f"Column {self.name!r} of {label} is empty in row(s) {rows}.")
        unknown = [(values.index[i], t) for i, t in enumerate(texts) if t not in index]
        if unknown:
            row, text = unknown[0]
            near = closest_levels(text, self.levels)
            more = f" (and {len(unknown) - 1} more row(s))" if len(unknown) > 1 else ""
            raise DataValidationError(
                f"Column {self.name!r} of {label} has level {text!r} in row {row}{more}, which is not {known}; "
                f"closest: {near}."
            )
        return np.array([index[t] for t in texts], dtype=np.int64)

    def encode(self, values: pd.Series, label: str = "the table") -> np.ndarray:
        r"""``n`` values -> ``n x k`` features (``k = len(output_names)``)."""
        if self.kind == "numeric":
            return pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64).reshape(-1, 1)
        codes = self.codes(values, label)
        if self.kind == "categorical":
            return one_hot(codes, len(self.levels))
        if self.kind == "ordinal":
            return codes.astype(np.float64).reshape(-1, 1)
        assert self.descriptors is not None
        return self.descriptors[codes]

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-able record (stored in campaign files)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "levels": list(self.levels)}
        if self.kind == "descriptors":
            assert self.descriptors is not None
            out["descriptor_names"] = list(self.descriptor_names)
            out["descriptors"] = self.descriptors.tolist()
            out["smiles"] = self.smiles
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnEncoding:
        desc = data.get("descriptors")
        return cls(
            name=str(data["name"]), kind=data["kind"], levels=tuple(data.get("levels", ())),
            descriptor_names=tuple(data.get("descriptor_names", ())),
            descriptors=None if desc is None else np.asarray(desc, dtype=np.float64),
            smiles=bool(data.get("smiles", False)),
        )


class FeatureEncoder:
    r"""Encode a table's numeric and categorical columns as an ``n x p`` float matrix.

    A scikit-learn-like transformer: parameters are stored by ``__init__``, :meth:`fit`
    learns the levels and returns ``self``, fitted attributes end in ``_``.

    Args:
        categorical: Columns to treat as categorical although numeric (integer codes).
            Text, boolean and ``category`` columns are categorical in any case.
        ordinal: Column -> its levels from lowest to highest; encoded as ranks.
        descriptors: Column -> descriptor table (a CSV path or a DataFrame, see
            :func:`read_descriptor_table`); the column's levels are encoded by their
            descriptors instead of one-hot.
        smiles: Columns of SMILES strings, encoded by their Morgan fingerprints
            (:mod:`axfusion.data.molecules`; needs RDKit, ``pip install 'axfusion[chem]'``).

    Attributes:
        columns_: One :class:`ColumnEncoding` per input column, in table order.
        feature_names_out_: The ``p`` output names.
        column_scale_: ``p`` fixed scales (``NaN``: standardise by the standard deviation).
    """

    def __init__(
        self,
        categorical: Sequence[str] = (),
        ordinal: Mapping[str, Sequence[Any]] | None = None,
        descriptors: Mapping[str, str | os.PathLike[str] | pd.DataFrame] | None = None,
        smiles: Sequence[str] = (),
    ) -> None:
        self.categorical = categorical
        self.ordinal = ordinal
        self.descriptors = descriptors
        self.smiles = smiles

    # ---------------------------------------------------------------- fit
    def fit(self, frame: pd.DataFrame, *, label: str = "the pool") -> FeatureEncoder:
        r"""Learn each column's encoding from the ``n x d`` table ``frame``.

        Raises:
            DataValidationError: a named column is missing or named twice in different
                roles, an ordinal column has a value outside its levels, a level is missing
                from its descriptor table, or a categorical column is empty in some row.
        """
        categorical = [self.categorical] if isinstance(self.categorical, str) else list(self.categorical)
        ordinal = {str(k): [_level_text(v) for v in vs] for k, vs in dict(self.ordinal or {}).items()}
        descriptors = dict(self.descriptors or {})
        smiles = [self.smiles] if isinstance(self.smiles, str) else [str(c) for c in self.smiles]
        columns = [str(c) for c in frame.columns]
        for role, names in (
            ("categorical", categorical), ("ordinal", list(ordinal)), ("descriptor", list(descriptors)),
            ("SMILES", smiles),
        ):
            unknown = [c for c in names if c not in columns]
            if unknown:
                near = {c: difflib.get_close_matches(c, columns, n=1) for c in unknown}
                hint = "; ".join(f"{c!r} (closest: {near[c][0]!r})" if near[c] else repr(c) for c in unknown)
                raise DataValidationError(f"{label[0].upper()}{label[1:]} has no {role} column {hint}.")
        both = sorted((set(ordinal) | set(smiles)) & (set(categorical) | set(descriptors))) + sorted(
            set(ordinal) & set(smiles)
        )
        if both:
            raise DataValidationError(
                f"Column(s) {both} can have only one role: categorical, ordinal, described or SMILES."
            )
        if smiles:
            from axfusion.data.molecules import smiles_tables

            descriptors.update(smiles_tables(frame, smiles, label=label))
        encodings: list[ColumnEncoding] = []
        for name in columns:
            series = frame[name]
            if name in ordinal:
                levels = ordinal[name]
                if len(set(levels)) != len(levels):
                    raise DataValidationError(f"The ordinal levels of {name!r} repeat a level: {levels}.")
                enc = ColumnEncoding(name, "ordinal", tuple(levels), declared=True)
                enc.codes(series, label, known=f"one of its --ordinal levels {list(levels)}")
            elif name in descriptors or name in categorical or is_text_column(series):
                if series.isna().any():
                    rows = np.flatnonzero(series.isna().to_numpy())[:MAX_LISTED].tolist()
                    raise DataValidationError(
                        f"Categorical column {name!r} of {label} is empty in row(s) {rows}; fill or remove them."
                    )
                values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
                found = tuple(_sorted_levels(values))
                if name in descriptors:
                    table = read_descriptor_table(descriptors[name], name)
                    missing = [lv for lv in found if lv not in table.index]
                    if missing:
                        raise DataValidationError(
                            f"Level {missing[0]!r} of column {name!r} is missing from its descriptor table"
                            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
                            "add a row for it."
                        )
                    enc = ColumnEncoding(
                        name, "descriptors", found, tuple(str(c) for c in table.columns),
                        table.loc[list(found)].to_numpy(dtype=np.float64), declared=True, smiles=name in smiles,
                    )
                else:
                    enc = ColumnEncoding(name, "categorical", found, declared=name in categorical)
            else:
                enc = ColumnEncoding(name, "numeric")
            encodings.append(enc)
        self._set(encodings)
        return self

    def _set(self, encodings: list[ColumnEncoding]) -> None:
        self.columns_ = encodings
        self.feature_names_out_ = [n for e in encodings for n in e.output_names]
        self.column_scale_ = (
            np.concatenate([e.scale for e in encodings]) if encodings else np.zeros(0)
        )
        self.column_groups_ = column_groups(self.column_scale_, [len(e.output_names) for e in encodings])

    # ---------------------------------------------------------------- use
    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise RuntimeError("FeatureEncoder is not fitted; call fit(frame) first.")

    @property
    def has_categorical(self) -> bool:
        r"""Whether any column is categorical, ordinal or described."""
        self._check_fitted()
        return any(e.kind != "numeric" for e in self.columns_)

    def transform(self, frame: pd.DataFrame, *, label: str = "the table") -> np.ndarray:
        r"""The ``n x p`` float64 features of ``frame`` (which has the fitted columns).

        Raises:
            DataValidationError: a column is missing, or a level is not one of the fitted
                levels (the message names the closest ones).
        """
        self._check_fitted()
        missing = [e.name for e in self.columns_ if e.name not in frame.columns]
        if missing:
            raise DataValidationError(f"{label[0].upper()}{label[1:]} has no column(s) {missing[:MAX_LISTED]}.")
        blocks = [e.encode(frame[e.name], label) for e in self.columns_]
        if not blocks:
            return np.zeros((len(frame), 0))
        return np.hstack(blocks)

    def inverse_transform(self, X: np.ndarray) -> pd.DataFrame:
        r"""The table rows of encoded features ``X`` (``n x p``): numeric columns as they are,
        categorical, ordinal and described columns as their level texts (the level whose
        indicators, rank or descriptors are closest to the row's)."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names_out_):
            raise ValueError(f"Expected an n x {len(self.feature_names_out_)} array, got shape {X.shape}.")
        out: dict[str, Any] = {}
        j = 0
        for e in self.columns_:
            k = len(e.output_names)
            block = X[:, j : j + k]
            j += k
            if e.kind == "numeric":
                out[e.name] = block[:, 0]
                continue
            if e.kind == "categorical":
                codes = np.argmax(block, axis=1)
            elif e.kind == "ordinal":
                codes = np.clip(np.rint(block[:, 0]), 0, len(e.levels) - 1).astype(np.int64)
            else:
                assert e.descriptors is not None
                codes = np.argmin(((block[:, None, :] - e.descriptors[None, :, :]) ** 2).sum(axis=2), axis=1)
            out[e.name] = np.asarray(e.levels, dtype=object)[codes]
        return pd.DataFrame(out)

    def fit_transform(self, frame: pd.DataFrame, *, label: str = "the pool") -> np.ndarray:
        r""":meth:`fit` then :meth:`transform`."""
        return self.fit(frame, label=label).transform(frame, label=label)

    def describe(self, *, numeric: bool = False) -> list[str]:
        r"""One line per categorical (and, with ``numeric``, numeric) column."""
        self._check_fitted()
        return [e.describe() for e in self.columns_ if numeric or e.kind != "numeric"]

    @property
    def groups_or_none(self) -> np.ndarray | None:
        r""":attr:`column_groups_`, or ``None`` when every column is numeric."""
        self._check_fitted()
        return self.column_groups_ if (self.column_groups_ >= 0).any() else None

    @property
    def scale_or_none(self) -> np.ndarray | None:
        r""":attr:`column_scale_`, or ``None`` when every column is numeric (nothing fixed)."""
        self._check_fitted()
        return self.column_scale_ if np.isfinite(self.column_scale_).any() else None

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-able record of the fitted encoding (levels in code order, descriptors)."""
        self._check_fitted()
        return {"columns": [e.as_dict() for e in self.columns_]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        r"""The fitted encoder recorded by :meth:`as_dict`."""
        enc = cls()
        enc._set([ColumnEncoding.from_dict(c) for c in data["columns"]])
        return enc

    @classmethod
    def from_dataset(cls, dataset: Any) -> FeatureEncoder:
        r"""The fitted encoder of a :class:`~axfusion.data.Dataset`'s ``X`` (its categorical
        columns one-hot with their stored levels, its descriptor tables where it has some)."""
        encodings = []
        tables = getattr(dataset, "descriptors", {}) or {}
        for name in dataset.X.columns:
            if name in dataset.categorical:
                levels = tuple(str(lv) for lv in dataset.X[name].cat.categories)
                if name in tables:
                    table = tables[name]
                    encodings.append(ColumnEncoding(
                        name, "descriptors", levels, tuple(str(c) for c in table.columns),
                        table.loc[list(levels)].to_numpy(dtype=np.float64),
                        smiles=name in (getattr(dataset, "smiles", ()) or ()),
                    ))
                else:
                    encodings.append(ColumnEncoding(name, "categorical", levels))
            else:
                encodings.append(ColumnEncoding(str(name), "numeric"))
        enc = cls()
        enc._set(encodings)
        return enc

    def __repr__(self) -> str:
        if not hasattr(self, "columns_"):
            return "FeatureEncoder()"
        return f"FeatureEncoder({'; '.join(self.describe(numeric=True))})"
