r"""Molecules as features: a column of SMILES strings encoded by Morgan fingerprints (RDKit).

A SMILES column is a categorical column whose levels are molecules: each distinct SMILES
string gets its Morgan fingerprint (radius 2, :data:`N_BITS` bits; bits set by no level are
dropped) as its descriptor row, and :class:`~axfusion.data.encoding.FeatureEncoder` encodes
the column by that table like any descriptor table (the same fixed scales: two molecules
are on average about one unit apart). RDKit is an optional extra::

    pip install "axfusion[chem]"
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from axfusion.data.errors import DataValidationError

__all__ = ["N_BITS", "RADIUS", "smiles_descriptor_table"]

N_BITS: int = 512
r"""Fingerprint length (bits) before the bits no level sets are dropped."""

RADIUS: int = 2
r"""Morgan radius (ECFP4)."""

MISSING_EXTRA: str = (
    "SMILES columns need RDKit, which is not installed; install the extra with: pip install 'axfusion[chem]'"
)


def _rdkit() -> tuple[object, object]:
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem import rdFingerprintGenerator
    except ImportError as error:
        raise DataValidationError(MISSING_EXTRA) from error
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    return Chem, rdFingerprintGenerator


def smiles_descriptor_table(
    values: pd.Series, column: str, *, label: str = "the table", n_bits: int = N_BITS, radius: int = RADIUS
) -> pd.DataFrame:
    r"""The descriptor table of a SMILES column: one row per distinct string, its fingerprint bits.

    Args:
        values: ``n`` SMILES strings (the index labels name the rows in messages).
        column: The column's name (for the messages and the descriptor names).
        label: The table's name (for the messages).
        n_bits, radius: Morgan fingerprint length and radius.

    Returns:
        ``L x p`` float table indexed by the ``L`` distinct strings; columns ``fp<k>`` for the
        ``p`` bits set by some but not all levels (at least one column).

    Raises:
        DataValidationError: RDKit is missing (naming the extra), a cell is empty, or a string
            does not parse (naming the first such row).
    """
    chem, generator_module = _rdkit()
    empty = values.isna() | values.astype(str).str.strip().eq("")
    if empty.any():
        raise DataValidationError(
            f"The SMILES column {column!r} of {label} is empty in row {values.index[int(np.argmax(empty.to_numpy()))]}."
        )
    texts = values.astype(str)
    levels = list(dict.fromkeys(texts.tolist()))
    generator = generator_module.GetMorganGenerator(radius=radius, fpSize=n_bits)  # type: ignore[attr-defined]
    rows = []
    for smiles in levels:
        mol = chem.MolFromSmiles(smiles)  # type: ignore[attr-defined]
        if mol is None:
            row = texts.index[int(np.argmax((texts == smiles).to_numpy()))]
            raise DataValidationError(
                f"The SMILES string {smiles!r} in column {column!r} of {label} (row {row}) does not parse; "
                "fix it or remove the row."
            )
        rows.append(np.asarray(generator.GetFingerprintAsNumPy(mol), dtype=np.float64))
    bits = np.vstack(rows) if rows else np.zeros((0, n_bits))
    varying = bits.std(axis=0) > 0
    if not varying.any():  # one level, or identical fingerprints: keep one constant column
        varying[0] = True
    names = [f"fp{k}" for k in np.flatnonzero(varying)]
    return pd.DataFrame(bits[:, varying], index=pd.Index(levels, name=column), columns=names)


def smiles_tables(
    frame: pd.DataFrame, columns: Sequence[str], *, label: str = "the table"
) -> dict[str, pd.DataFrame]:
    r"""Column -> :func:`smiles_descriptor_table` for each SMILES column of ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{label[0].upper()}{label[1:]} has no SMILES column(s) {missing}.")
    return {c: smiles_descriptor_table(frame[c], c, label=label) for c in columns}
