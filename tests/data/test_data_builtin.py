from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.data import DataValidationError, DataWarning, list_datasets, load_dataset
from axfusion.data.builtin import (
    BUILTIN_SPECS,
    COMPOSITION_FEATURE_FILE,
    DATA_FILE,
    SOURCE_FILE,
    builtin_root,
)

# name: (N, d, targets, categorical) as documented for a default load.
DOCUMENTED = {
    "curie_temp": (1474, 135, ["Tc_real", "MagnetizationDensity"], 0),
    "steel_strength": (303, 13, ["yield strength", "tensile strength", "elongation"], 0),
    "m2ax": (223, 3, ["elastic modulus", "bulk modulus", "shear modulus"], 3),
    "crossed_barrel": (600, 4, ["toughness"], 0),
    "agnp": (164, 5, ["loss"], 0),
    "autoam": (100, 4, ["Score"], 0),
    "p3ht": (178, 5, ["Conductivity (measured) (S/cm)"], 0),
    "perovskite": (94, 3, ["Instability index"], 0),
    "supercon": (6252, 20, ["Tc"], 0),
    "madml_steel_strength": (312, 14, ["yield_strength"], 0),
    "dielectric_constant": (1056, 416, ["log(poly_total)"], 0),
    "double_perovskites_gap": (1306, 343, ["gap gllbsc"], 0),
    "heusler_magnetic": (1081, 357, ["mu_b saturation"], 0),
    "elastic_tensor_2015": (1181, 409, ["log(K_VRH)"], 0),
    "perovskite_stability": (1918, 340, ["EnergyAboveHull"], 0),
    "rpv_fluence": (2049, 9, ["Measured_DT41J_[C]"], 0),
    "diffusion": (408, 25, ["E_regression"], 0),
    "am_lpbf": (1375, 11, ["RD (%)"], 4),
    "bandgap": (6353, 132, ["gap expt"], 0),
    "matbench_expt_gap": (4604, 132, ["gap expt"], 0),
    "buchwald_a": (792, 4, ["yield"], 4),
    "suzuki_edbo": (3696, 5, ["yield"], 5),
}

IDENTIFIERS = ("group", "mat", "Unnamed: 0", "No", "No.", "compound", "formula", "DOI")


@pytest.fixture(scope="module")
def loaded():
    return {name: load_dataset(name) for name in BUILTIN_SPECS}


def test_every_documented_dataset_is_registered():
    assert set(DOCUMENTED) == set(BUILTIN_SPECS)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_builtin_loads_as_documented(loaded, name):
    ds = loaded[name]
    n_rows, n_features, targets, n_categorical = DOCUMENTED[name]
    assert ds.name == name
    assert (len(ds), ds.n_features, ds.targets, len(ds.categorical)) == (
        n_rows,
        n_features,
        targets,
        n_categorical,
    )
    F = ds.feature_matrix()
    assert F.shape[0] == n_rows and np.isfinite(F).all()
    assert not ds.X.isna().any().any()
    assert np.isfinite(ds.target_matrix()).all()
    assert set(ds.orientation) == set(targets)
    assert not set(IDENTIFIERS) & set(ds.X.columns)
    assert ds.citation and ds.licence and ds.source and ds.description


def test_list_datasets_matches_real_loads(loaded):
    table = list_datasets()
    assert list(table.columns) == [
        "name", "N", "d", "targets", "categorical", "shipped", "description"
    ]
    shipped = table[table["shipped"]].set_index("name")
    assert set(shipped.index) == set(BUILTIN_SPECS)
    for name, ds in loaded.items():
        row = shipped.loc[name]
        assert (row["N"], row["d"], row["targets"], row["categorical"]) == (
            len(ds),
            ds.n_features,
            ds.targets,
            len(ds.categorical),
        ), name


def test_shipped_files_and_provenance_exist():
    root = builtin_root()
    for name, spec in BUILTIN_SPECS.items():
        assert (root / name / DATA_FILE).is_file(), name
        source = (root / name / SOURCE_FILE).read_text()
        assert "## Licence" in source and "## Citation" in source, name
        if spec.formula_column is not None:
            assert (root / name / COMPOSITION_FEATURE_FILE).is_file(), name
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 12 * 2**20


def test_m2ax_sites_are_parsed_from_formula(loaded):
    ds = loaded["m2ax"]
    sites = ds.X.assign(formula=ds.ids).set_index("formula")
    assert tuple(sites.loc["Ti2AlC"]) == ("Ti", "Al", "C")
    assert tuple(sites.loc["Sc2SC"]) == ("Sc", "S", "C")
    assert tuple(sites.loc["Zr2TlN"]) == ("Zr", "Tl", "N")
    assert tuple(sites.loc["Hf2SnC"]) == ("Hf", "Sn", "C")
    assert set(ds.X["A"].cat.categories) >= {"Ga", "In", "Sn", "Tl", "Al", "S"}
    assert list(ds.X["X"].cat.categories) == ["C", "N"]
    assert ds.X["M"].nunique() == 10 and ds.X["A"].nunique() == 12
    assert not {"a", "c", "d_mx", "d_ma", "c11", "c44"} & set(ds.X.columns)
    assert ds.units == {t: "GPa" for t in ds.targets}


def test_crossed_barrel_averages_three_replicates(loaded):
    ds = loaded["crossed_barrel"]
    assert len(ds) == 600 and ds.n_averaged == 1200 and ds.n_source_rows == 1800
    raw = pd.read_csv(builtin_root() / "crossed_barrel" / DATA_FILE)
    first = raw[(raw[["n", "theta", "r", "t"]] == ds.X.iloc[0].to_numpy()).all(axis=1)]
    assert len(first) == 3
    assert ds.Y["toughness"].iloc[0] == pytest.approx(first["toughness"].mean())
    assert ds.orientation == {"toughness": "maximize"}


def test_orientation_of_minimised_pools(loaded):
    assert loaded["agnp"].orientation == {"loss": "minimize"}
    assert loaded["perovskite"].orientation == {"Instability index": "minimize"}
    assert loaded["perovskite"].n_averaged == 45


def test_steel_requested_targets_decide_missing_rows(loaded):
    full = loaded["steel_strength"]
    assert full.n_dropped_missing == 9 and full.units["elongation"] == "%"
    two = load_dataset("steel_strength", targets=["yield strength", "tensile strength"])
    assert len(two) == 312 and two.n_dropped_missing == 0
    assert "elongation" not in two.X.columns and two.n_features == 13
    with pytest.warns(DataWarning, match="elongation"):
        load_dataset("steel_strength", warn=True)


def test_curie_and_madml_steel_drop_documented_constants(loaded):
    assert loaded["curie_temp"].dropped_constant == [
        "min_NpValence", "min_NfValence", "min_NpUnfilled", "min_NfUnfilled", "min_GSbandgap"
    ]
    assert loaded["madml_steel_strength"].dropped_constant == ["valence_difference"]


def test_am_lpbf_categorical_inputs(loaded):
    ds = loaded["am_lpbf"]
    assert ds.categorical == [
        "Material", "Density Measurement Method", "Atmosphere", "Printed Geom."
    ]
    assert ds.n_averaged == 204 and ds.units == {"RD (%)": "%"}
    assert not {"Printer Model", "DOI", "No."} & set(ds.X.columns)


def test_formula_datasets_use_cached_magpie_features(loaded):
    from axfusion.data import featurize_formulas

    ds = loaded["bandgap"]
    assert ds.n_dropped_invalid == 1 and ds.n_source_rows == 6354
    assert "GaAs0.1P0.9G1128" not in set(ds.ids)
    picks = [0, 1, 2]
    fresh = featurize_formulas(ds.ids.iloc[picks].tolist())
    np.testing.assert_allclose(ds.X.iloc[picks].to_numpy(), fresh.to_numpy(), rtol=1e-12)
    averaged = load_dataset("bandgap", average_duplicates=True)
    assert len(averaged) == len(ds) - ds.n_duplicates


def test_unknown_names_and_options():
    with pytest.raises(ValueError, match=r"Did you mean \['m2ax'\]"):
        load_dataset("m2x")
    with pytest.raises(ValueError, match="not shipped.*load_3dsc"):
        load_dataset("3dsc")
    with pytest.raises(TypeError, match="categorical"):
        load_dataset("m2ax", categorical=[])


def test_reaction_pools_one_hot_and_descriptors(loaded):
    ds = loaded["suzuki_edbo"]
    assert ds.feature_matrix().shape == (3696, 4 + 3 + 7 + 11 + 4)
    assert np.allclose(ds.column_scale(), np.sqrt(2.0))
    dft = load_dataset("suzuki_edbo", descriptors=True)
    assert dft.name == "suzuki_edbo_dft" and set(dft.descriptors) == set(ds.categorical)
    F = dft.feature_matrix()
    assert F.shape[0] == 3696 and F.shape[1] < 29 and np.isfinite(F).all()
    assert all(":dft_pc" in n for n in dft.feature_names())
    # two reactions differing only in the ligand differ only in the ligand's block
    assert np.isfinite(dft.column_scale()).all()
    with pytest.raises(DataValidationError, match="no descriptor table"):
        load_dataset("buchwald_a", descriptors=True)
