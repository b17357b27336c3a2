from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from axfusion.data import DataValidationError, DataWarning, load_csv


def _frame(n: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(n)],
            "temperature": rng.uniform(300, 900, n),
            "pressure": rng.uniform(1, 5, n),
            "solvent": ["water", "ethanol"] * (n // 2),
            "strength": rng.normal(100, 10, n),
            "cost": rng.uniform(1, 2, n),
        }
    )


def _load(frame: pd.DataFrame, **options):
    arguments = dict(
        targets=["strength"],
        id_column="sample",
        categorical=["solvent"],
        exclude=["cost"],
        name="toy",
    )
    arguments.update(options)
    return load_csv(frame, **arguments)


def test_csv_round_trip(tmp_path):
    frame = _frame()
    path = tmp_path / "experiments.csv.gz"
    frame.to_csv(path, index=False)
    ds = load_csv(
        path,
        targets="strength",
        id_column="sample",
        categorical=["solvent"],
        exclude=["cost"],
        units={"strength": "MPa", "other": "x"},
        orientation={"strength": "maximize"},
    )
    assert ds.name == "experiments"
    assert list(ds.X.columns) == ["temperature", "pressure", "solvent"]
    assert ds.categorical == ["solvent"]
    assert list(ds.X["solvent"].cat.categories) == ["ethanol", "water"]
    np.testing.assert_allclose(ds.X["temperature"], frame["temperature"])
    np.testing.assert_allclose(ds.target_matrix()[:, 0], frame["strength"])
    assert ds.ids.tolist() == frame["sample"].tolist()
    assert ds.units == {"strength": "MPa"}
    assert ds.orientation == {"strength": "maximize"}
    assert ds.n_source_rows == 8 and ds.n_dropped_missing == 0 and ds.n_averaged == 0


def test_frame_is_not_modified_and_load_is_deterministic():
    frame = _frame()
    before = frame.copy()
    first, second = _load(frame), _load(frame)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(first.X, second.X)
    pd.testing.assert_frame_equal(first.Y, second.Y)


def test_explicit_features_keep_requested_order():
    ds = _load(_frame(), features=["pressure", "temperature"], categorical=[])
    assert list(ds.X.columns) == ["pressure", "temperature"]


def test_unknown_column_suggests_close_matches():
    with pytest.raises(DataValidationError, match=r"'strenght'.*\['strength'\]"):
        _load(_frame(), targets=["strenght"])
    with pytest.raises(DataValidationError, match=r"Unknown categorical column 'solvnt'"):
        _load(_frame(), categorical=["solvnt"])


def test_role_conflicts_are_rejected():
    with pytest.raises(DataValidationError, match="'strength'.*also the target"):
        _load(_frame(), features=["temperature", "strength"], categorical=[])
    with pytest.raises(DataValidationError, match="'cost'.*not feature columns"):
        _load(_frame(), categorical=["cost"])


def test_non_numeric_feature_names_column_and_value():
    frame = _frame()
    frame["pressure"] = frame["pressure"].astype(object)
    frame.loc[3, "pressure"] = "high"
    with pytest.raises(DataValidationError, match=r"'pressure'.*'high'.*row 3 \(id 's3'\)"):
        _load(frame)
    with pytest.raises(DataValidationError, match=r"'solvent'.*'water'.*categorical"):
        _load(_frame(), categorical=[])


def test_numeric_strings_and_booleans_are_accepted():
    frame = _frame()
    frame["pressure"] = frame["pressure"].map(str)
    frame["flag"] = [True, False] * 4
    ds = _load(frame)
    assert ds.X["pressure"].dtype == np.float64
    assert ds.X["flag"].tolist() == [1.0, 0.0] * 4


def test_nan_and_inf_features_name_columns_and_rows():
    frame = _frame()
    frame.loc[2, "temperature"] = np.nan
    frame.loc[5, "pressure"] = np.inf
    with pytest.raises(DataValidationError) as info:
        _load(frame)
    message = str(info.value)
    assert "'temperature'" in message and "row 2 (id 's2')" in message
    assert "'pressure'" in message and "row 5 (id 's5')" in message


def test_missing_categorical_value_is_an_error():
    frame = _frame()
    frame.loc[4, "solvent"] = None
    with pytest.raises(DataValidationError, match=r"'solvent'.*row 4"):
        _load(frame)


def test_missing_targets_raise_by_default_naming_rows():
    frame = _frame()
    frame.loc[[1, 6], "strength"] = np.nan
    expected = r"2 rows with missing.*'strength'.*rows 1 \(id 's1'\), 6"
    with pytest.raises(DataValidationError, match=expected):
        _load(frame)


def test_missing_targets_dropped_with_warning_and_count():
    frame = _frame()
    frame.loc[[1, 6], "strength"] = np.nan
    with pytest.warns(DataWarning, match="dropped 2 rows with missing target"):
        ds = _load(frame, drop_missing_targets=True)
    assert len(ds) == 6 and ds.n_dropped_missing == 2
    assert "s1" not in ds.ids.tolist() and "s6" not in ds.ids.tolist()
    assert not ds.Y.isna().any().any()
    assert ds.X.index.equals(pd.RangeIndex(6))


def test_only_requested_targets_are_checked_for_missing_values():
    frame = _frame()
    frame.loc[1, "cost"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _load(frame, exclude=[], features=["temperature", "pressure", "solvent"])
    assert len(ds) == 8
    with pytest.raises(DataValidationError, match="'cost'"):
        _load(frame, targets=["strength", "cost"], exclude=[])


def test_missing_rows_of_unrequested_columns_do_not_matter_once_dropped():
    frame = _frame()
    frame.loc[2, "strength"] = np.nan
    frame.loc[2, "temperature"] = np.nan
    ds = _load(frame, drop_missing_targets=True, warn=False)
    assert len(ds) == 7


def test_fewer_than_five_rows_is_an_error():
    with pytest.raises(DataValidationError, match="Only 4 rows.*at least 5"):
        _load(_frame(4))
    frame = _frame(6)
    frame.loc[[0, 1], "strength"] = np.nan
    with pytest.raises(DataValidationError, match="Only 4 rows.*missing targets 2"):
        _load(frame, drop_missing_targets=True, warn=False)


def _with_duplicates() -> pd.DataFrame:
    frame = _frame()
    for copy_row, source_row in [(3, 0), (5, 0), (6, 1)]:
        frame.loc[copy_row, ["temperature", "pressure", "solvent"]] = frame.loc[
            source_row, ["temperature", "pressure", "solvent"]
        ]
    return frame


def test_duplicates_warn_by_default_and_are_kept():
    with pytest.warns(DataWarning, match=r"3 rows repeat.*rows 0 \(id 's0'\), 3 \(id 's3'\), 5"):
        ds = _load(_with_duplicates())
    assert len(ds) == 8 and ds.n_duplicates == 3 and ds.n_averaged == 0


def test_duplicates_error_policy_names_rows():
    expected = r"3 rows repeat.*2 distinct.*rows 1 \(id 's1'\), 6"
    with pytest.raises(DataValidationError, match=expected):
        _load(_with_duplicates(), on_duplicates="error")


def test_duplicates_ignore_policy_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _load(_with_duplicates(), on_duplicates="ignore")
    assert ds.n_duplicates == 3


def test_average_duplicates_means_targets_and_counts():
    frame = _with_duplicates()
    with pytest.warns(DataWarning, match=r"8 rows -> 5 rows \(3 rows merged\)"):
        ds = _load(frame, average_duplicates=True)
    assert len(ds) == 5 and ds.n_averaged == 3 and ds.n_duplicates == 0
    assert ds.ids.tolist() == ["s0", "s1", "s2", "s4", "s7"]
    np.testing.assert_allclose(ds.Y["strength"].iloc[0], frame["strength"][[0, 3, 5]].mean())
    np.testing.assert_allclose(ds.Y["strength"].iloc[1], frame["strength"][[1, 6]].mean())
    np.testing.assert_allclose(ds.Y["strength"].iloc[2], frame["strength"][2])


def test_constant_column_dropped_with_warning():
    frame = _frame()
    frame["furnace"] = 3.0
    frame["batch"] = "A"
    with pytest.warns(DataWarning, match=r"constant feature column\(s\) \['furnace', 'batch'\]"):
        ds = _load(frame, categorical=["solvent", "batch"])
    assert ds.dropped_constant == ["furnace", "batch"]
    assert "furnace" not in ds.X.columns and ds.categorical == ["solvent"]


def test_single_duplicate_message_is_singular():
    frame = pd.DataFrame({"a": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": np.arange(6.0)})
    with pytest.warns(DataWarning, match=r"1 row repeats the feature vector.*rows 0, 1\."):
        load_csv(frame, targets=["y"])


def test_all_features_constant_is_an_error():
    frame = pd.DataFrame({"a": [1.0] * 6, "y": np.arange(6.0)})
    with pytest.raises(DataValidationError, match="every feature column is constant"):
        load_csv(frame, targets=["y"], on_duplicates="ignore")


def test_categorical_levels_sorted_numerically_and_unused_levels_removed():
    frame = _frame()
    frame["grade"] = [10, 2, 1, 2, 10, 1, 2, 1]
    ds = _load(frame, categorical=["solvent", "grade"])
    assert list(ds.X["grade"].cat.categories) == ["1", "2", "10"]
    frame.loc[0, "strength"] = np.nan
    frame.loc[4, "strength"] = np.nan
    ds = _load(frame, categorical=["solvent", "grade"], drop_missing_targets=True, warn=False)
    assert list(ds.X["grade"].cat.categories) == ["1", "2"]
    assert "grade=10" not in ds.feature_names()


def test_bad_targets_and_options():
    frame = _frame()
    frame["strength"] = frame["strength"].astype(object)
    frame.loc[2, "strength"] = "n/a"
    with pytest.raises(DataValidationError, match=r"Target column 'strength'.*'n/a'.*row 2"):
        _load(frame)
    frame = _frame()
    frame.loc[2, "strength"] = np.inf
    with pytest.raises(DataValidationError, match=r"'strength' has infinite values in row 2"):
        _load(frame)
    with pytest.raises(ValueError, match="on_duplicates"):
        _load(_frame(), on_duplicates="maybe")
    with pytest.raises(DataValidationError, match="At least one target"):
        _load(_frame(), targets=[])
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_csv("missing.csv", targets=["y"])


def test_rows_without_identifier_are_numbered():
    ds = load_csv(_frame().drop(columns=["sample", "solvent"]), targets=["strength"])
    assert ds.ids.tolist() == list(range(8))
    frame = _frame().drop(columns=["sample", "solvent"])
    frame.loc[4, "cost"] = np.nan
    with pytest.raises(DataValidationError, match=r"'cost'.*row 4\)"):
        load_csv(frame, targets=["strength"])


# ------------------------------------------------------------------ id-like columns, CSV layout (issue 22)
@pytest.mark.parametrize(("name", "values"), [
    ("sample_no", np.arange(1, 13)),
    ("ID", np.arange(100, 112)),
    ("Unnamed: 0", np.arange(12)),
    ("materialId", np.arange(12)[::-1] * 7),
    ("counter", np.arange(3, 15)),  # consecutive unique integers, whatever the name
])
def test_id_like_columns_are_refused_unless_named_as_the_identifier(name, values):
    frame = _frame(12).drop(columns=["sample", "solvent"])
    frame.insert(0, name, values)
    with pytest.raises(DataValidationError, match=rf"Column '{name}' looks like a row id.*id_column='{name}'"):
        load_csv(frame, targets=["strength"])
    ds = load_csv(frame, targets=["strength"], id_column=name)
    assert name not in ds.feature_names() and ds.ids.tolist() == list(values)
    assert name not in load_csv(frame, targets=["strength"], exclude=[name]).feature_names()


def test_integer_features_that_are_not_ids_stay_features():
    frame = _frame(12).drop(columns=["sample", "solvent"])
    frame["layers"] = [1, 2, 3] * 4  # repeated
    frame["n_atoms"] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]  # unique, not consecutive, not an id name
    ds = load_csv(frame, targets=["strength"])
    assert {"layers", "n_atoms"} <= set(ds.feature_names())


def test_csv_layouts_pandas_would_misread_are_named(tmp_path):
    frame = _frame(8).drop(columns=["sample", "solvent"])
    frame.to_csv(tmp_path / "semi.csv", sep=";", decimal=",", index=False)
    with pytest.raises(DataValidationError, match=r"semi.csv cannot be used.*separated by ';'.*decimal point"):
        load_csv(tmp_path / "semi.csv", targets=["strength"])
    text = frame.to_csv(index=False).splitlines()
    (tmp_path / "dup.csv").write_text("\n".join(["temperature,pressure,temperature,cost", *text[1:]]) + "\n")
    with pytest.raises(DataValidationError, match=r"duplicated column names \['temperature'\]"):
        load_csv(tmp_path / "dup.csv", targets=["cost"])


def test_property_names_with_number_or_index_are_not_ids():
    from axfusion.data.validation import id_like_name

    assert not any(map(id_like_name, ["atomic_number", "num_atoms", "no_layers", "solid", "acid"]))
    assert all(map(id_like_name, ["id", "sample_no", "sampleNo", "materialId", "run_number", "Unnamed: 0"]))
    frame = _frame(12).drop(columns=["sample", "solvent"])
    frame["atomic_number"] = [3, 5, 8, 13, 14, 22, 26, 29, 30, 47, 79, 82]  # unique, not consecutive
    assert "atomic_number" in load_csv(frame, targets=["strength"]).feature_names()


def test_ordinal_columns_become_ranks_and_smiles_columns_fingerprints():
    frame = pd.DataFrame({"temp": ["low", "high", "mid", "low", "high"], "x": [0.1, 0.5, 0.3, 0.9, 0.2],
                          "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    ds = load_csv(frame, targets=["y"], ordinal={"temp": ["low", "mid", "high"]}, min_rows=2)
    assert ds.categorical == [] and ds.X["temp"].tolist() == [0.0, 2.0, 1.0, 0.0, 2.0]
    with pytest.raises(DataValidationError, match=r"level 'mid' in row 2.*closest"):
        load_csv(frame, targets=["y"], ordinal={"temp": ["low", "medium", "high"]}, min_rows=2)
    with pytest.raises(DataValidationError, match="only one role"):
        load_csv(frame, targets=["y"], ordinal={"temp": ["low", "mid", "high"]}, categorical=["temp"], min_rows=2)
    with pytest.raises(DataValidationError, match="repeat a level"):
        load_csv(frame, targets=["y"], ordinal={"temp": ["low", "low", "high"]}, min_rows=2)
    pytest.importorskip("rdkit")
    mols = frame.assign(solvent=["O", "CCO", "CCO", "O", "Cc1ccccc1"])
    ds = load_csv(mols, targets=["y"], ordinal={"temp": ["low", "mid", "high"]}, smiles=["solvent"], min_rows=2)
    assert ds.categorical == ["solvent"] and ds.smiles == ["solvent"]
    assert sorted(ds.descriptors["solvent"].index) == ["CCO", "Cc1ccccc1", "O"]
    assert "fingerprint bits (SMILES)" in ds.encoder().describe()[0]
