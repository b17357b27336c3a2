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


def test_cli_bad_arguments_are_one_line_errors_before_any_work(tmp_path, capsys):
    import pytest

    (tmp_path / "afile").write_text("x")
    cases = [
        (["run", "--dataset", "bogus"], "Unknown dataset 'bogus'. Shipped datasets"),
        (["reservoir", "--dataset", "bogus"], "Unknown dataset 'bogus'"),
        (["run", "--batch", "0"], "--batch must be at least 1; got 0"),
        (["reservoir", "--members", "0"], "--members must be at least 1"),
        (["reservoir", "--json", str(tmp_path / "afile" / "d.json")], "afile is a file, not a folder"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit, match=message) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_cli_plot_refuses_an_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        assert main(["plot", str(tmp_path / "c.json"), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out") and "is a file, not a folder" in err and err.count("\n") == 1
