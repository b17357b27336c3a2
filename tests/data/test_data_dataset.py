from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.data import Dataset, DataValidationError


def _dataset(**overrides) -> Dataset:
    X = pd.DataFrame(
        {
            "x1": [0.5, 1.5, 2.5, 3.5],
            "site": pd.Categorical(["b", "a", "c", "a"], categories=["a", "b", "c"]),
            "x2": [10.0, 20.0, 30.0, 40.0],
        }
    )
    Y = pd.DataFrame({"y1": [1.0, 2.0, 3.0, 4.0], "y2": [-1.0, -2.0, -3.0, -4.0]})
    ids = pd.Series(["p", "q", "r", "s"], name="id")
    arguments = dict(
        name="toy",
        X=X,
        Y=Y,
        ids=ids,
        categorical=["site"],
        orientation={"y1": "maximize", "y2": "minimize"},
    )
    arguments.update(overrides)
    return Dataset(**arguments)


def test_sizes_and_targets():
    ds = _dataset()
    assert len(ds) == 4
    assert ds.n_features == 3
    assert ds.targets == ["y1", "y2"]
    assert "n=4" in repr(ds) and "toy" in repr(ds)


def test_feature_matrix_one_hot_in_column_order():
    ds = _dataset()
    assert ds.feature_names() == ["x1", "site=a", "site=b", "site=c", "x2"]
    F = ds.feature_matrix()
    assert F.dtype == np.float64 and F.shape == (4, 5)
    expected = np.array(
        [
            [0.5, 0, 1, 0, 10.0],
            [1.5, 1, 0, 0, 20.0],
            [2.5, 0, 0, 1, 30.0],
            [3.5, 1, 0, 0, 40.0],
        ]
    )
    np.testing.assert_array_equal(F, expected)
    # Every row has exactly one level set per categorical column.
    np.testing.assert_array_equal(F[:, 1:4].sum(axis=1), np.ones(4))


def test_target_matrix_order_and_selection():
    ds = _dataset()
    np.testing.assert_array_equal(ds.target_matrix(), ds.Y.to_numpy())
    np.testing.assert_array_equal(ds.target_matrix(["y2", "y1"])[:, 0], [-1, -2, -3, -4])
    assert ds.target_matrix("y1").shape == (4, 1)
    with pytest.raises(DataValidationError, match="nope"):
        ds.target_matrix(["nope"])


def test_constructor_rejects_mismatched_parts():
    with pytest.raises(DataValidationError, match="same number of rows"):
        _dataset(ids=pd.Series(["p", "q"]))
    with pytest.raises(DataValidationError, match="'x1'.*category"):
        _dataset(categorical=["x1"])
    with pytest.raises(DataValidationError, match="'y1'.*'up'"):
        _dataset(orientation={"y1": "up"})
    with pytest.raises(DataValidationError, match="'y9'"):
        _dataset(orientation={"y9": "maximize"})
