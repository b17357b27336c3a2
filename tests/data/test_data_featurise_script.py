from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from axfusion.data.builtin import COMPOSITION_FEATURE_FILE, DATA_FILE, INVALID_FORMULA_FILE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "featurise_builtin.py"


def _script():
    spec = importlib.util.spec_from_file_location("featurise_builtin", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_reproducible_tables(tmp_path, capsys):
    folder = tmp_path / "bandgap"
    folder.mkdir()
    frame = pd.DataFrame(
        {"formula": ["ZnO", "GaN", "ZnO", "Si", "Bad9Q"], "gap expt": [3.4, 3.4, 3.3, 1.1, 0.0]}
    )
    (folder / DATA_FILE).write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    script = _script()
    script.main(["bandgap", "--root", str(tmp_path), "--quiet"])
    table = pd.read_csv(folder / COMPOSITION_FEATURE_FILE, index_col=0)
    assert table.index.tolist() == ["GaN", "Si", "ZnO"] and table.shape[1] == 132
    invalid = pd.read_csv(folder / INVALID_FORMULA_FILE)
    assert invalid["formula"].tolist() == ["Bad9Q"] and "does not parse" in invalid["reason"][0]
    first = (folder / COMPOSITION_FEATURE_FILE).read_bytes()
    script.main(["bandgap", "--root", str(tmp_path), "--quiet"])
    assert (folder / COMPOSITION_FEATURE_FILE).read_bytes() == first
    assert "3 formulas featurised, 1 invalid" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main(["m2ax", "--root", str(tmp_path)])
