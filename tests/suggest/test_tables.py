r"""Reading the tables: unknown columns are named with the available ones (:mod:`axfusion.suggest.tables`)."""

from __future__ import annotations

from axfusion.suggest import default_campaign_path

from .conftest import _error, _suggest_cmd, _write_lab


def test_unknown_columns_list_the_available_ones(tmp_path, capsys):
    pool, measured, _ = _write_lab(tmp_path)
    out = tmp_path / "n.csv"
    err = _error(capsys, ["suggest", "--pool", str(pool), "--measured", str(measured), "--target", "Tcc",
                          "--out", str(out)])
    assert "Unknown target column 'Tcc' in measured.csv" in err and "Did you mean ['Tc']" in err
    assert "Available columns: ['a', 'b', 'c', 'd', 'Tc']" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--id-column", "sample"))
    assert "Unknown id column 'sample' in pool.csv" in err and "['a', 'b', 'c', 'd']" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--features", "a", "e"))
    assert "Unknown feature column 'e'" in err
    err = _error(capsys, _suggest_cmd(pool, measured, out, "--formula-column", "formula"))
    assert "Unknown formula column 'formula'" in err
    assert not out.exists() and not default_campaign_path(out).exists()
