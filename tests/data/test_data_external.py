from __future__ import annotations

import gzip
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from axfusion.data import (
    DataValidationError,
    DataWarning,
    list_datasets,
    load_3dsc,
    load_olympus,
)
from axfusion.data.registry import OLYMPUS_ENTRIES, THREE_DSC_ENTRY

RAW_DATA = Path(os.environ.get("AXFUSION_RAW_DATA", "/work/shared/data"))
needs_raw_data = pytest.mark.skipif(
    not RAW_DATA.is_dir(), reason=f"raw data folder {RAW_DATA} not available"
)


def _olympus_folder(root: Path, name: str = "toy") -> Path:
    folder = root / f"dataset_{name}"
    folder.mkdir(parents=True)
    config = {
        "parameters": [
            {"name": "ligand", "type": "categorical", "options": ["L1", "L2"]},
            {"name": "cycles", "type": "discrete", "low": 1, "high": 3},
            {"name": "ratio", "type": "continuous", "low": 0, "high": 1},
        ],
        "measurements": [
            {"name": "yield", "type": "continuous"},
            {"name": "impurity", "type": "continuous", "goal": "minimize"},
            {"name": "quality", "type": "ordinal", "options": ["bad", "ok", "good"]},
        ],
        "default_goal": "maximize",
    }
    (folder / "config.json").write_text(json.dumps(config))
    rows = [
        ("L1", 1, 0.1, 10.0, 0.5, "bad"),
        ("L2", 2, 0.2, 20.0, 0.4, "good"),
        ("L1", 3, 0.3, 30.0, 0.3, "ok"),
        ("L2", 1, 0.4, 40.0, 0.2, "good"),
        ("L1", 2, 0.5, 50.0, 0.1, "ok"),
        ("L2", 3, 0.6, 60.0, 0.0, "bad"),
    ]
    pd.DataFrame(rows).to_csv(folder / "data.csv", header=False, index=False)
    (folder / "description.txt").write_text("A toy reaction.\n")
    return folder


def test_load_olympus_types_and_orientation(tmp_path):
    _olympus_folder(tmp_path)
    ds = load_olympus("toy", tmp_path)
    assert ds.name == "olympus_toy"
    assert list(ds.X.columns) == ["ligand", "cycles", "ratio"]
    assert ds.categorical == ["ligand"] and ds.X["cycles"].dtype == np.float64
    assert ds.targets == ["yield", "impurity", "quality"]
    assert ds.orientation == {"yield": "maximize", "impurity": "minimize", "quality": "maximize"}
    assert ds.Y["quality"].tolist() == [0.0, 2.0, 1.0, 2.0, 1.0, 0.0]
    assert ds.description == "A toy reaction."
    only_yield = load_olympus("toy", tmp_path, targets=["yield"])
    assert only_yield.targets == ["yield"] and only_yield.orientation == {"yield": "maximize"}


def test_load_olympus_errors(tmp_path):
    folder = _olympus_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Did you mean \['toy'\]"):
        load_olympus("tyo", tmp_path)
    data = pd.read_csv(folder / "data.csv", header=None)
    data.iloc[:, :5].to_csv(folder / "data.csv", header=False, index=False)
    with pytest.raises(DataValidationError, match="5 columns.*3 parameters and 3 measurements"):
        load_olympus("toy", tmp_path)


def _three_dsc_file(path: Path) -> Path:
    lines = ['"The 3DSC_ICSD without the ICSD data except for the ICSD ID."']
    lines.append("formula_sc,tc,database_id_2,synth_doped")
    rows = [
        ("MgB2", 39.0, "ICSD-1", False),
        ("MgB2", 39.0, "ICSD-2", False),
        ("Nb3Sn", 18.0, "ICSD-3", False),
        ("NbN", 16.0, "ICSD-4", False),
        ("YBa2Cu3O7", 92.0, "ICSD-5", False),
        ("Y2Ba4Cu6O14", 92.0, "ICSD-6", False),
        ("La1.85Sr0.15CuO4", 38.0, "ICSD-7", True),
        ("V3Si", 17.0, "ICSD-8", False),
        ("Pb", 7.2, "ICSD-9", False),
        ("Ba0.6K0.4Fe2As2", 38.0, "ICSD-10", True),
    ]
    lines += [f"{f},{t},{i},{s}" for f, t, i, s in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_load_3dsc_averages_compositions_and_caches(tmp_path):
    _three_dsc_file(tmp_path / "3DSC_ICSD_only_IDs.csv.gz")
    cache = tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_3dsc(tmp_path, cache_dir=cache)
    # MgB2 twice and YBa2Cu3O7 == Y2Ba4Cu6O14 as fractional compositions: 10 -> 8 rows.
    assert len(ds) == 8 and ds.n_averaged == 2 and ds.n_source_rows == 10
    assert ds.targets == ["tc"] and ds.units == {"tc": "K"}
    assert ds.ids.iloc[0] == "MgB2"
    assert not {"database_id_2", "synth_doped"} & set(ds.X.columns)
    assert len(list(cache.rglob("*.parquet"))) == 1
    with pytest.warns(DataWarning) as record:
        again = load_3dsc(tmp_path / "3DSC_ICSD_only_IDs.csv.gz", cache_dir=cache, warn=True)
    assert any("10 rows -> 8 rows" in str(w.message) for w in record)
    pd.testing.assert_frame_equal(ds.X, again.X)
    with pytest.raises(FileNotFoundError, match="3DSC"):
        load_3dsc(tmp_path / "cache")


@needs_raw_data
def test_olympus_registry_sizes_match_real_loads():
    root = RAW_DATA / "olympus_datasets"
    for entry in OLYMPUS_ENTRIES:
        ds = load_olympus(entry.name.removeprefix("olympus_"), root, warn=False)
        assert (len(ds), ds.n_features, tuple(ds.targets), len(ds.categorical)) == (
            entry.n_rows,
            entry.n_features,
            entry.targets,
            entry.n_categorical,
        ), entry.name
    listed = list_datasets().set_index("name")
    assert not listed.loc["olympus_crossed_barrel", "shipped"]


@needs_raw_data
@pytest.mark.slow
def test_3dsc_registry_size_matches_real_load(tmp_path):
    ds = load_3dsc(RAW_DATA / "3dsc_superconductors", cache_dir=tmp_path)
    assert (len(ds), ds.n_features, ds.targets) == (
        THREE_DSC_ENTRY.n_rows,
        THREE_DSC_ENTRY.n_features,
        list(THREE_DSC_ENTRY.targets),
    )
    assert ds.n_source_rows == 86490
