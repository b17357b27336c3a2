r"""The :class:`Dataset` container returned by every loader in :mod:`axfusion.data`.

A dataset is a design table ``X`` (``n`` rows, ``d`` raw feature columns, some of
which may be categorical), a target table ``Y`` (``n`` rows, ``q`` targets), one
identifier per row and the provenance of the data. Loaders build it through
:func:`axfusion.data.load_csv`, which validates the tables; the constructor here
only checks that the parts fit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from axfusion.data.encoding import ONE_HOT_SEPARATOR as ONE_HOT_SEPARATOR
from axfusion.data.encoding import FeatureEncoder
from axfusion.data.errors import DataValidationError

ORIENTATIONS: tuple[str, ...] = ("maximize", "minimize")


@dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    r"""A validated design table with its targets and provenance.

    Attributes:
        name: Short name of the dataset (e.g. ``"m2ax"``).
        X: ``n x d`` features, indexed ``0 .. n-1``. Numeric columns are
            ``float64``; categorical columns have pandas ``category`` dtype with
            string levels in sorted order. No NaN or infinite values.
        Y: ``n x q`` ``float64`` targets, same index as ``X``. No NaN or
            infinite values.
        ids: ``n`` row identifiers (e.g. formula or compound name; the 0-based
            row number in the source table when the source has no identifier
            column), same index as ``X``. After averaging repeated
            measurements, the identifier of the first row of each group.
        categorical: Names of the categorical columns of ``X``, in column order.
        units: Target name -> unit string, for the targets whose unit is known.
        orientation: Target name -> ``"maximize"`` or ``"minimize"``, the
            direction in which the source (or the benchmark protocol that uses
            it) optimises the target.
        citation: How to cite the data.
        licence: Licence of the data.
        source: Where the data comes from (short text).
        description: What the data is and how the loader processed it.
        n_source_rows: Number of rows in the source table before any cleaning.
        n_dropped_invalid: Rows removed by a loader before validation because
            their inputs could not be featurised (e.g. an unparseable formula).
        n_dropped_missing: Rows dropped because a requested target was missing.
        n_averaged: Rows removed by averaging the targets of rows with identical
            feature vectors (source rows minus resulting rows of those groups).
        n_duplicates: Rows kept although their feature vector equals that of an
            earlier row (0 when duplicates were averaged).
        dropped_constant: Feature columns dropped because they were constant.
        descriptors: Categorical column -> descriptor table (index: every level,
            ``p`` numeric columns); such a column is encoded by its levels'
            descriptors instead of one-hot (:mod:`axfusion.data.encoding`).
        smiles: The described columns whose table holds the Morgan fingerprints of
            SMILES levels (:mod:`axfusion.data.molecules`).
    """

    name: str
    X: pd.DataFrame
    Y: pd.DataFrame
    ids: pd.Series
    categorical: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    orientation: dict[str, str] = field(default_factory=dict)
    citation: str = ""
    licence: str = ""
    source: str = ""
    description: str = ""
    n_source_rows: int = 0
    n_dropped_invalid: int = 0
    n_dropped_missing: int = 0
    n_averaged: int = 0
    n_duplicates: int = 0
    dropped_constant: list[str] = field(default_factory=list)
    descriptors: dict[str, pd.DataFrame] = field(default_factory=dict)
    smiles: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.X)
        if len(self.Y) != n or len(self.ids) != n:
            raise DataValidationError(
                f"Dataset {self.name!r}: X has {n} rows, Y has {len(self.Y)} and "
                f"ids has {len(self.ids)}; they must have the same number of rows."
            )
        if not (self.X.index.equals(self.Y.index) and self.X.index.equals(self.ids.index)):
            raise DataValidationError(
                f"Dataset {self.name!r}: X, Y and ids must share the same index."
            )
        if self.Y.shape[1] == 0:
            raise DataValidationError(f"Dataset {self.name!r} has no target column.")
        if self.X.shape[1] == 0:
            raise DataValidationError(f"Dataset {self.name!r} has no feature column.")
        for column in self.categorical:
            if column not in self.X.columns:
                raise DataValidationError(
                    f"Dataset {self.name!r}: categorical column {column!r} is not a "
                    "feature column."
                )
            if not isinstance(self.X[column].dtype, pd.CategoricalDtype):
                raise DataValidationError(
                    f"Dataset {self.name!r}: categorical column {column!r} must have "
                    f"pandas 'category' dtype, not {self.X[column].dtype}."
                )
        for column, table in self.descriptors.items():
            if column not in self.categorical:
                raise DataValidationError(
                    f"Dataset {self.name!r}: descriptors given for {column!r}, which is not a "
                    "categorical column."
                )
            missing = [lv for lv in self.X[column].cat.categories if lv not in table.index]
            if missing:
                raise DataValidationError(
                    f"Dataset {self.name!r}: level {missing[0]!r} of {column!r} is missing from its "
                    "descriptor table."
                )
        for target, direction in self.orientation.items():
            if target not in self.Y.columns:
                raise DataValidationError(
                    f"Dataset {self.name!r}: orientation given for {target!r}, which "
                    f"is not a target; targets are {list(self.Y.columns)}."
                )
            if direction not in ORIENTATIONS:
                raise DataValidationError(
                    f"Dataset {self.name!r}: orientation of {target!r} is {direction!r}; "
                    f"expected one of {ORIENTATIONS}."
                )

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n={len(self)}, d={self.n_features}, "
            f"categorical={len(self.categorical)}, targets={self.targets})"
        )

    @property
    def n_features(self) -> int:
        r"""Number ``d`` of raw feature columns (a categorical column counts once)."""
        return self.X.shape[1]

    @property
    def targets(self) -> list[str]:
        r"""Names of the ``q`` target columns, in the order of ``Y``."""
        return list(self.Y.columns)

    def encoder(self) -> FeatureEncoder:
        r"""The fitted :class:`~axfusion.data.encoding.FeatureEncoder` of ``X``: numeric
        columns as they are, categorical ones one-hot (or by their descriptor table)."""
        return FeatureEncoder.from_dataset(self)

    def feature_names(self) -> list[str]:
        r"""Names of the ``p`` columns of :meth:`feature_matrix`.

        Numeric columns keep their name; a categorical column ``c`` with levels
        ``l_1 < ... < l_k`` becomes ``k`` indicator columns ``"c=l_1" ... "c=l_k"``
        in its place (``"c:descriptor"`` columns when it has a descriptor table), so
        the order is stable for a given dataset.
        """
        return list(self.encoder().feature_names_out_)

    def feature_matrix(self) -> np.ndarray:
        r"""The features as a ``float64`` array of shape ``(n, p)``.

        Categorical columns are one-hot encoded with one indicator per level
        (no level is dropped), or replaced by their levels' descriptors; see
        :meth:`feature_names` for the column order.
        """
        return self.encoder().transform(self.X)

    def column_scale(self) -> np.ndarray:
        r"""``(p,)`` fixed input scales of :meth:`feature_matrix`'s columns: ``sqrt(2)`` for a
        one-hot indicator, ``sd * sqrt(2 p)`` for a descriptor, ``NaN`` (standardise by the
        standard deviation) for a numeric column; see :mod:`axfusion.data.encoding`."""
        return self.encoder().column_scale_

    def column_groups(self) -> np.ndarray:
        r"""``(p,)`` for each column of :meth:`feature_matrix`, the index of the categorical
        column it encodes (its one-hot indicators or descriptors), ``-1`` for a numeric one."""
        return self.encoder().column_groups_

    def target_matrix(self, targets: Sequence[str] | str | None = None) -> np.ndarray:
        r"""The targets as a ``float64`` array of shape ``(n, q)``.

        Args:
            targets: Target names (or one name) in the desired column order;
                all targets in the order of ``Y`` when ``None``.

        Returns:
            ``(n, q)`` array, ``q = len(targets)``; values in the source units
            and orientation (no sign flip for minimised targets).
        """
        if targets is None:
            selected = self.targets
        else:
            selected = [targets] if isinstance(targets, str) else list(targets)
            unknown = [t for t in selected if t not in self.Y.columns]
            if unknown:
                raise DataValidationError(
                    f"Dataset {self.name!r} has no target(s) {unknown}; "
                    f"targets are {self.targets}."
                )
        return self.Y[selected].to_numpy(dtype=np.float64)
