from __future__ import annotations

import numpy as np
import pytest

from axfusion.data import DataValidationError, featurize_formulas, featurize_formulas_cached
from axfusion.data import featurize as featurize_module
from axfusion.data.cache import CACHE_ENV_VAR


def test_three_formulas_give_magpie_columns():
    table = featurize_formulas(["NaCl", "Fe2O3", "Ti2AlC"])
    assert table.shape == (3, 132)
    assert table.index.tolist() == ["NaCl", "Fe2O3", "Ti2AlC"]
    assert table.columns[0] == "MagpieData minimum Number"
    assert {"MagpieData mean Number", "MagpieData range Electronegativity"} <= set(table.columns)
    assert table.dtypes.eq(np.float64).all()
    # Atomic number statistics: Na = 11, Cl = 17; Fe = 26, O = 8 (fractions 2/5, 3/5).
    assert table.loc["NaCl", "MagpieData mean Number"] == pytest.approx(14.0)
    assert table.loc["NaCl", "MagpieData range Number"] == pytest.approx(6.0)
    assert table.loc["Fe2O3", "MagpieData mean Number"] == pytest.approx(0.4 * 26 + 0.6 * 8)


def test_features_depend_on_fractional_composition_and_repeat_duplicates():
    table = featurize_formulas(["Fe2O3", "Fe4O6", "Fe2O3"])
    assert len(table) == 3
    np.testing.assert_array_equal(table.iloc[0], table.iloc[1])
    np.testing.assert_array_equal(table.iloc[0], table.iloc[2])


def test_bad_formulas_raise_naming_them():
    with pytest.raises(DataValidationError) as info:
        featurize_formulas(["NaCl", "GaAs0.1P0.9G1128", "Xx2O", ""])
    message = str(info.value)
    assert message.startswith("3 formula(s)")
    assert "'GaAs0.1P0.9G1128'" in message and "'Xx2O'" in message and "''" in message
    assert "'NaCl'" not in message
    with pytest.raises(TypeError, match="single string"):
        featurize_formulas("NaCl")


def test_drop_policy_and_missing_element_data():
    table = featurize_formulas(["NaCl", "Qq", "KBr"], on_invalid="drop")
    assert table.index.tolist() == ["NaCl", "KBr"]
    with pytest.raises(DataValidationError, match=r"'He'.*without complete magpie data"):
        featurize_formulas(["He"])
    imputed = featurize_formulas(["He"], impute_nan=True)
    assert np.isfinite(imputed.to_numpy()).all()


def test_cached_featurisation_writes_once(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    table, invalid = featurize_formulas_cached(["NaCl", "KBr", "NaCl", "Zz9"])
    assert table.index.tolist() == ["KBr", "NaCl"] and invalid == ["Zz9"]
    entries = list((tmp_path / featurize_module.COMPOSITION_CACHE_NAMESPACE).glob("*.parquet"))
    assert len(entries) == 1

    def fail(*args, **kwargs):
        raise AssertionError("featurised again despite the cache")

    monkeypatch.setattr(featurize_module, "featurize_formulas", fail)
    again, invalid_again = featurize_formulas_cached(["KBr", "NaCl", "Zz9"])
    np.testing.assert_array_equal(again.to_numpy(), table.to_numpy())
    assert invalid_again == ["Zz9"]
    with pytest.raises(AssertionError, match="featurised again"):
        featurize_formulas_cached(["LiF"])
