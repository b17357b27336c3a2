r"""Loading the pool: Magpie features of formulas and unique ids (:mod:`axfusion.suggest.pool`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from axfusion.suggest import ROW_ID_COLUMN

from .conftest import FAST, _cli, _error, _pool_frame, _suggest_cmd


def test_formula_pool_featurised_with_magpie(tmp_path, capsys):
    metals = ["Fe", "Co", "Ni", "Mn", "Cu", "Zn", "Ti"]
    anions = ["O", "S", "N", "Cl"]
    formulas = [f"{m}{1 + i % 2}{a}{1 + (i + j) % 3}" for i, m in enumerate(metals) for j, a in enumerate(anions)]
    formulas += ["Fe2O3", "NaCl", "Al2O3", "SiO2", "GaAs", "ZnO", "MgO", "TiO2"]
    pool = pd.DataFrame({"formula": formulas, "T_anneal": np.linspace(300.0, 900.0, len(formulas))})
    pool_path = tmp_path / "pool.csv"
    pool.to_csv(pool_path, index=False)
    rng = np.random.default_rng(3)
    rows = rng.choice(len(formulas), size=10, replace=False)
    measured = pool.iloc[rows].copy()  # matched by formula + T_anneal (feature rows)
    measured["gap"] = rng.uniform(0.0, 3.0, size=rows.size)
    measured_path = tmp_path / "measured.csv"
    measured.to_csv(measured_path, index=False)
    out = tmp_path / "next.csv"
    argv = ["suggest", "--pool", str(pool_path), "--measured", str(measured_path), "--target", "gap",
            "--value", "1.4", "--formula-column", "formula", "--batch", "3", "--out", str(out), *FAST]
    assert _cli(argv) == 0
    assert "133 features" in capsys.readouterr().out  # 132 Magpie columns + T_anneal
    nxt = pd.read_csv(out)
    assert list(nxt.columns[:3]) == [ROW_ID_COLUMN, "formula", "iteration"]
    assert set(nxt["formula"]) <= set(formulas) and not set(nxt[ROW_ID_COLUMN]) & set(rows.tolist())
    assert (pool["formula"].to_numpy()[nxt[ROW_ID_COLUMN]] == nxt["formula"].to_numpy()).all()

    # Measured rows may mix row_id and formula rows; an unknown formula is named with its own row.
    mixed = pd.DataFrame({ROW_ID_COLUMN: [0, 1, np.nan, np.nan, np.nan],
                          "formula": [formulas[0], formulas[1], formulas[2], formulas[3], "Qz3"],
                          "T_anneal": pool["T_anneal"].iloc[:5].to_numpy(), "gap": [1.0, 2.0, 1.5, 0.5, 1.2]})
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    err = _error(capsys, ["suggest", "--pool", str(pool_path), "--measured", str(tmp_path / "mixed.csv"),
                          "--target", "gap", "--formula-column", "formula", "--out", str(tmp_path / "m.csv")])
    assert "1 formula in the measured file mixed.csv cannot be parsed" in err and "'Qz3' (row 4 (line 6))" in err

    # A formula that does not parse is named, with its row.
    bad = pool.copy()
    bad.loc[5, "formula"] = "Xq2O3"
    bad_path = tmp_path / "bad_pool.csv"
    bad.to_csv(bad_path, index=False)
    err = _error(capsys, ["suggest", "--pool", str(bad_path), "--measured", str(measured_path), "--target", "gap",
                          "--formula-column", "formula", "--out", str(tmp_path / "b.csv")])
    assert "'Xq2O3'" in err and "row 5 (line 7)" in err and "cannot be parsed" in err


def test_duplicate_pool_ids_and_repeated_measurements(tmp_path, capsys):
    frame = _pool_frame(50)
    frame.loc[7, "id"] = "S003"
    frame.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ["S001"], "Tc": [1.0]}).to_csv(tmp_path / "m.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "pool.csv", tmp_path / "m.csv", tmp_path / "n.csv",
                                      "--id-column", "id"))
    assert "duplicated ids: 'S003' (row 3 (line 5), row 7 (line 9))" in err

    frame = _pool_frame(50)
    frame.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ["S001", "S002", "S001"], "Tc": [1.0, 2.0, 1.5]}).to_csv(tmp_path / "m.csv", index=False)
    err = _error(capsys, _suggest_cmd(tmp_path / "pool.csv", tmp_path / "m.csv", tmp_path / "n.csv",
                                      "--id-column", "id"))
    assert "measures the same pool row (id 'S001') more than once: row 0 (line 2), row 2 (line 4)" in err
