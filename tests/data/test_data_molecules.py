from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from axfusion.data import DataValidationError
from axfusion.data.encoding import FeatureEncoder
from axfusion.data.molecules import smiles_descriptor_table

SMILES = pd.Series(["CCO", "c1ccccc1", "CCO", "CC(=O)O", "CCN"])


def test_missing_rdkit_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "rdkit" or m.startswith("rdkit.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rdkit", None)  # import rdkit -> ImportError
    with pytest.raises(DataValidationError, match=r"pip install 'axfusion\[chem\]'"):
        smiles_descriptor_table(SMILES, "solvent")


def test_fingerprints_of_levels_and_unparsable_row():
    pytest.importorskip("rdkit")
    table = smiles_descriptor_table(SMILES, "solvent")
    assert list(table.index) == ["CCO", "c1ccccc1", "CC(=O)O", "CCN"]
    assert set(np.unique(table.to_numpy())) <= {0.0, 1.0} and (table.std(axis=0) > 0).all()
    bad = SMILES.copy()
    bad.iloc[3] = "C1CC("
    with pytest.raises(DataValidationError, match=r"'C1CC\(' in column 'solvent' of the table \(row 3\) does not"):
        smiles_descriptor_table(bad, "solvent")


def test_encoder_smiles_column_round_trips_without_rdkit():
    pytest.importorskip("rdkit")
    frame = pd.DataFrame({"t": np.arange(5.0), "solvent": SMILES})
    enc = FeatureEncoder(smiles=["solvent"]).fit(frame)
    assert enc.describe()[0].startswith("`solvent`: categorical, 4 levels, ") and "(SMILES)" in enc.describe()[0]
    X = enc.transform(frame)
    assert np.array_equal(X[0, 1:], X[2, 1:]) and np.isfinite(enc.column_scale_[1:]).all()
    again = FeatureEncoder.from_dict(enc.as_dict())  # stored fingerprints: no RDKit needed to resume
    assert np.array_equal(again.transform(frame), X)
    with pytest.raises(DataValidationError, match="only one role"):
        FeatureEncoder(smiles=["solvent"], categorical=["solvent"]).fit(frame)
