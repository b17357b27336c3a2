from __future__ import annotations

import json
from types import MappingProxyType

import numpy as np
import pandas as pd

from axfusion.diagnostics import jsonable


class _HasDict:
    def as_dict(self):
        return {"a": np.float32(1.5), "b": (1, 2)}


def test_jsonable_converts_numpy_missing_values_and_records():
    obj = {
        1: np.arange(3),
        "nan": float("nan"),
        "inf": np.float64(np.inf),
        "flag": np.bool_(True),
        "int": np.int64(7),
        "na": pd.NA,
        "nested": MappingProxyType({"t": (np.float64(0.25), None, "x")}),
        "record": _HasDict(),
    }
    out = jsonable(obj)
    assert out == {
        "1": [0, 1, 2], "nan": None, "inf": None, "flag": True, "int": 7, "na": None,
        "nested": {"t": [0.25, None, "x"]}, "record": {"a": 1.5, "b": [1, 2]},
    }
    json.dumps(out)  # serialisable as is


def test_jsonable_fallback_for_unknown_objects():
    marker = object()
    assert jsonable({"m": marker})["m"] is marker
    assert jsonable({"m": marker}, fallback=str)["m"] == str(marker)
