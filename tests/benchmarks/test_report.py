"""The benchmark report: markdown and JSON tables, figures, fusion diagnostic panels."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from axfusion.benchmarks.methods import Method, register_method
from axfusion.benchmarks.metrics import read_run_file
from axfusion.benchmarks.report import DATA_FILE, format_table, load_report_data, make_report
from axfusion.benchmarks.runner import full_run_path, run_benchmark, run_path
from axfusion.benchmarks.suites import TaskSpec
from axfusion.diagnostics import IterationRecord

FN = TaskSpec("rp_fn", "function", "mixed_branin", n_initial=4, batch_size=2, n_iterations=3)
POOL = TaskSpec("rp_pool", "pool", "agnp", targets=("loss",), directions=("minimize",), n_initial=6,
                batch_size=4, n_iterations=3)


def _record(i: int) -> dict:
    return IterationRecord(
        iteration=i, n_observed=10 + i, best_so_far=[1.0], batch=[1, 2], batch_distance_to_best=0.5,
        best_distance_to_best=0.2, capacity={"d_eff": 3},
        families={"gp": [{"r2_mean": 0.3 + 0.1 * i, "elpd_per_point": -1.0 + 0.1 * i}],
                  "rf": [{"r2_mean": 0.5, "elpd_per_point": -0.8}]},
        fusion={"target_0": {"y_star": 1.0, "kappa": 0.1, "lambda": 0.4, "D_r2": 0.1 * i, "D_elpd": 0.05,
                             "families": {}}},
        diversity={"diversified": True}, clusters={"batch_labels": [0, 1], "bandwidth": {"0": 1, "1": 1 + i % 2,
                                                                                          "-1": 0}},
        intra_batch_distance=1.0 - 0.1 * i, novelty=float("nan") if i == 1 else 0.5, timings={"total": 0.1},
    ).as_dict()


class _FakeFusion(Method):
    """Random rows that report IterationRecord diagnostics."""

    name = "_rp_fusion"

    def __init__(self, **options):
        super().__init__(**options)
        self._records = []

    def run(self, task, evaluator):
        rng = np.random.default_rng(evaluator.seed)
        self._records = []
        while True:
            self._records.append(_record(len(self._records) + 1))
            evaluator.evaluate(task.space.sample(task.batch_size, int(rng.integers(2**31)), "random"))

    def diagnostics(self):
        return self._records


class _Fails(Method):
    name = "_rp_fails"

    def run(self, task, evaluator):
        raise ValueError("no candidates")


register_method("_rp_fusion", _FakeFusion, overwrite=True)
register_method("_rp_fails", _Fails, overwrite=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    run_benchmark([FN, POOL], ["_rp_fusion"], 3, out, engine="serial", progress=False,
                  suites={"tiny": ["rp_fn", "rp_pool"]})
    run_benchmark([FN], ["_rp_fails"], 1, out, engine="serial", progress=False)
    return out


def test_report_tables_json_and_figures(results):
    rep = make_report(results)
    md = (results / "report.md").read_text()
    assert "## Suite `tiny`" in md and "## Suite `other`" not in md
    assert md.count("| *rp_pool* | *random (exact E)* |") == md.count("| *rp_fn* | *random (exact E)* |") == 1
    assert "| rp_pool | _rp_fusion | 3 |" in md and "| rp_fn | _rp_fusion | 3 |" in md
    assert "## Failed runs" in md and "ValueError: no candidates" in md
    assert "Liang et al." in md
    data = json.loads((results / "report.json").read_text())
    assert data["schema"] == "axfusion.bench.report/2" and data["data"] == DATA_FILE
    rows = {(r["task"], r["method"]): r for r in data["suites"]["tiny"]}
    assert rows[("rp_pool", "_rp_fusion")]["ok"] == 3
    assert 0 <= rows[("rp_pool", "random (exact E)")]["success"] <= 1
    assert rows[("rp_fn", "_rp_fusion")]["regret_median"] >= 0
    # the per-run scalars and the curves, gzip-compressed next to it
    extra = load_report_data(results)
    assert (results / DATA_FILE).read_bytes()[:2] == b"\x1f\x8b" and "curves" not in data
    fails = [r for r in extra["runs"] if r["status"] == "failed"]
    assert len(fails) == 1 and fails[0]["method"] == "_rp_fails"
    assert len(extra["curves"]["rp_fn/_rp_fusion"]["best_so_far_median"]) == 4
    stems = ("convergence_tiny", "success_tiny", "ef_af_tiny", "diagnostics/rp_fn___rp_fusion__seed0",
             "diagnostics/rp_pool___rp_fusion__seed0")
    for stem in stems:  # PNG only by default
        p = results / "figures" / f"{stem}.png"
        assert p.exists() and p.stat().st_size > 1000, p
        assert not (results / "figures" / f"{stem}.pdf").exists()
    assert not (results / "figures" / "diagnostics" / "rp_fn___rp_fusion__seed1.png").exists()
    assert (results / "report.md") in rep.paths and "random (exact E)" in rep.summary()
    # PDF copies on request
    with_pdf = make_report(results, pdf=True)
    for stem in stems:
        assert (results / "figures" / f"{stem}.pdf") in with_pdf.paths
        assert (results / "figures" / f"{stem}.pdf").stat().st_size > 1000
    for p in (results / "figures").rglob("*.pdf"):
        p.unlink()


def _tables(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def test_a_report_from_compact_files_alone_matches_one_from_full_records(results, tmp_path):
    # the compact run files of a fresh clone (no full/ folder) ...
    compact = tmp_path / "compact"
    shutil.copytree(results, compact, ignore=shutil.ignore_patterns("full", "figures", "report*"))
    assert not (compact / "full").exists()
    # ... and the full records, as the plain run files of earlier versions
    full = tmp_path / "full"
    full.mkdir()
    shutil.copy(results / "benchmark.json", full / "benchmark.json")
    for p in (results / "full" / "runs").glob("*/*/seed*.json.gz"):
        dest = full / p.relative_to(results / "full").with_name(p.name[: -len(".gz")])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(read_run_file(p)))
    a, b = make_report(compact, figures=False), make_report(full, figures=False)
    assert _tables(a.markdown) == _tables(b.markdown) and len(_tables(a.markdown)) > 10
    # the diagnostic panels read the same series from the compact fusion run files
    from axfusion.benchmarks.plots import diagnostic_series

    for task in ("rp_fn", "rp_pool"):
        small = read_run_file(run_path(results, task, "_rp_fusion", 0))
        whole = read_run_file(full_run_path(results, task, "_rp_fusion", 0))
        assert len(small["diagnostics"]) == len(whole["diagnostics"]) == 3
        assert "batch" not in small["diagnostics"][0] and "timings" not in small["diagnostics"][0]
        s, w = diagnostic_series(small["diagnostics"]), diagnostic_series(whole["diagnostics"])
        assert s.keys() == w.keys()
        for key in s:
            if isinstance(s[key], dict):
                assert s[key].keys() == w[key].keys()
                for k in s[key]:
                    np.testing.assert_allclose(s[key][k], w[key][k], rtol=1e-6)
            elif key == "bandwidth_labels":
                assert s[key] == w[key]
            else:
                np.testing.assert_allclose(s[key], w[key], rtol=1e-6)
        assert run_path(results, task, "_rp_fusion", 0).stat().st_size < 2000


def test_diagnostic_series_reads_iteration_records():
    from axfusion.benchmarks.plots import diagnostic_series, has_fusion_diagnostics

    recs = [_record(i) for i in (1, 2, 3)]
    s = diagnostic_series(recs)
    assert has_fusion_diagnostics(recs) and not has_fusion_diagnostics([{"iteration": 1}])
    assert s["bandwidth_labels"] == ["0", "1", "-1"]
    np.testing.assert_array_equal(s["bandwidth"], [[1, 2, 0], [1, 1, 0], [1, 2, 0]])
    np.testing.assert_allclose(s["r2"]["gp"], [0.4, 0.5, 0.6])
    np.testing.assert_allclose(s["deviation"]["D_r2"], [0.1, 0.2, 0.3])
    assert np.isnan(s["novelty"][0]) and s["intra_batch_distance"][2] == pytest.approx(0.7)


def test_method_styles_are_stable_and_distinct():
    from axfusion.benchmarks.plots import method_styles

    a = method_styles(["fusion", "gpbo", "random", "zzz"])
    b = method_styles(["random", "fusion", "cmaes", "de", "zzz"])
    for m in ("fusion", "random", "zzz"):
        assert a[m] == b[m]
    known = method_styles(["fusion", "gpbo", "rfbo", "lvgp", "turbo", "cmaes", "ga", "clpso", "de", "sa",
                           "gwo_woa", "hi_woa", "acor", "abc", "aoa", "run", "random", "sobol"])
    combos = {(s["color"], s["linestyle"]) for s in known.values()}
    assert len(combos) == len(known)


def test_format_table_marks_missing_values():
    row = {"task": "t", "method": "m", "kind": "function", "runs": 2, "ok": 2, "failed": 1,
           "final_median": 1.5, "final_q25": 1.0, "final_q75": 2.0, "regret_median": float("nan"),
           "ef": 1.25, "af": None, "s_per_iteration": 0.012, "peak_rss_mib": 300.0}
    text = format_table([row], "function")
    assert "| t | m | 2 (1 failed) | 1.5 [1–2] | – | – | 1.25 | – | 0.012 | 300 |" in text
    assert "success" not in text  # no problem criterion: no success columns
    hit = {**row, "success_label": "f <= 0.5", "its_hits": 1, "its_median": 4.0, "its_p20": 4.0, "its_p80": 4.0}
    text = format_table([hit, {**row, "method": "random (exact E)"}], "function")
    assert "| success | iterations to success |" in text
    assert "| t | m | 2 (1 failed) | 1/2 (f <= 0.5) | 4 [4–4] | 1.5 [1–2] |" in text
    assert "| *t* | *random (exact E)* | exact | – | – |" in text


def test_report_of_an_empty_folder_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="No run files"):
        make_report(tmp_path)
