from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.data import DataValidationError, load_csv
from axfusion.data.encoding import ONE_HOT_SCALE, FeatureEncoder, is_text_column, read_descriptor_table


def _frame(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "temp": rng.uniform(20, 100, n),
        "solvent": (["water", "ethanol", "toluene"] * n)[:n],
        "grade": (["low", "mid", "high", "mid"] * n)[:n],
        "site": ([1, 2, 3, 4, 5, 6] * n)[:n],
    })


def test_text_columns_detected_and_one_hot_levels_one_unit_apart():
    enc = FeatureEncoder().fit(_frame())
    assert [e.kind for e in enc.columns_] == ["numeric", "categorical", "categorical", "numeric"]
    assert enc.describe() == ["`solvent`: categorical, 3 levels", "`grade`: categorical, 3 levels"]
    X = enc.transform(_frame())
    assert X.shape == (12, 1 + 3 + 3 + 1)
    assert enc.feature_names_out_[1:4] == ["solvent=ethanol", "solvent=toluene", "solvent=water"]
    scale = enc.column_scale_
    assert np.isnan(scale[0]) and np.isnan(scale[-1]) and np.allclose(scale[1:7], ONE_HOT_SCALE)
    assert enc.column_groups_.tolist() == [-1, 1, 1, 1, 2, 2, 2, -1]  # each input's indicators share one index
    assert np.array_equal(enc.groups_or_none, enc.column_groups_)
    # two different levels of one column: distance 1 in the scaled space, whatever the level count
    block = X[:, 1:4] / scale[1:4]
    assert np.isclose(np.linalg.norm(block[0] - block[1]), 1.0)


def test_declared_categorical_and_ordinal():
    enc = FeatureEncoder(categorical=["site"], ordinal={"grade": ["low", "mid", "high"]}).fit(_frame())
    kinds = {e.name: e.kind for e in enc.columns_}
    assert kinds == {"temp": "numeric", "solvent": "categorical", "grade": "ordinal", "site": "categorical"}
    X = enc.transform(_frame())
    grade = X[:, enc.feature_names_out_.index("grade")]
    assert grade[:4].tolist() == [0.0, 1.0, 2.0, 1.0]
    assert "site=6" in enc.feature_names_out_ and "(low < mid < high)" in enc.describe()[1]
    with pytest.raises(DataValidationError, match="'mid' in row 1.*--ordinal levels"):
        FeatureEncoder(ordinal={"grade": ["low", "high"]}).fit(_frame())
    with pytest.raises(DataValidationError, match="no categorical column 'sites' \\(closest: 'site'\\)"):
        FeatureEncoder(categorical=["sites"]).fit(_frame())


def test_unknown_level_names_the_closest():
    enc = FeatureEncoder().fit(_frame())
    bad = _frame().iloc[[2, 5]].copy()
    bad.loc[5, "solvent"] = "Water"
    match = "'Water' in row 5, which is not a level of the pool; closest: \\['water'\\]"
    with pytest.raises(DataValidationError, match=match):
        enc.transform(bad, label="measured.csv")


def test_descriptor_tables(tmp_path):
    table = pd.DataFrame(
        {"solvent": ["water", "ethanol", "toluene"], "polarity": [1.0, 0.65, 0.1], "bp": [100, 78, 111]}
    )
    path = tmp_path / "solv.csv"
    table.to_csv(path, index=False)
    enc = FeatureEncoder(descriptors={"solvent": path}).fit(_frame())
    assert enc.feature_names_out_[1:3] == ["solvent:polarity", "solvent:bp"]
    assert enc.describe()[0] == "`solvent`: categorical, 3 levels, 2 descriptors"
    X = enc.transform(_frame())
    assert X[0, 1:3].tolist() == [1.0, 100.0]  # row 0 is water
    assert enc.column_groups_[1:3].tolist() == [1, 1]  # one input's descriptors share one index
    scale = enc.column_scale_[1:3]
    # sd over the levels times sqrt(2 p), p = 2 descriptors: two levels about one unit apart
    assert np.allclose(scale, [np.std([1.0, 0.65, 0.1]) * 2.0, np.std([100.0, 78.0, 111.0]) * 2.0])
    table.iloc[:2].to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="Level 'toluene' of column 'solvent' is missing from its descriptor"):
        FeatureEncoder(descriptors={"solvent": path}).fit(_frame())
    with pytest.raises(DataValidationError, match="No such descriptor table"):
        read_descriptor_table(tmp_path / "nope.csv", "solvent")


def test_round_trip_and_dataset_layout():
    frame = _frame()
    enc = FeatureEncoder(ordinal={"grade": ["low", "mid", "high"]}).fit(frame)
    again = FeatureEncoder.from_dict(enc.as_dict())
    assert np.array_equal(again.transform(frame), enc.transform(frame))
    ds = load_csv(frame.assign(y=np.arange(12.0)), targets="y", categorical=["solvent", "grade"], warn=False)
    expected = FeatureEncoder().fit(frame[["temp", "solvent", "grade", "site"]]).transform(frame)
    assert np.array_equal(ds.feature_matrix(), expected)
    assert ds.feature_names()[1:4] == ["solvent=ethanol", "solvent=toluene", "solvent=water"]
    assert np.allclose(ds.column_scale()[1:7], ONE_HOT_SCALE)
    assert ds.column_groups().tolist() == [-1, 1, 1, 1, 2, 2, 2, -1]
    assert is_text_column(frame["solvent"]) and not is_text_column(frame["site"])
