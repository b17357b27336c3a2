import json

from axfusion.cli import main


def test_cli_run_prints_the_family_table(tmp_path, capsys):
    out = tmp_path / "diag.json"
    rc = main(
        ["reservoir", "--dataset", "steel_strength", "--n", "40", "--members", "2", "--jobs", "1", "--json", str(out)]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "Stage 0: d_unsup=" in text
    for family in ("lasso", "ridge", "knn", "mlp", "lightgbm", "xgboost"):
        assert family in text
    assert "Held-out rows (" in text
    diag = json.loads(out.read_text())
    assert diag["n_members"] == 2 and "capacity" in diag


def test_cli_datasets_lists_builtins(capsys):
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    assert "curie_temp" in text and "crossed_barrel" in text
