"""The benchmark runner: run files (compact and full), resume, failures, unsupported methods, engines,
determinism, older plain-JSON run files."""

from __future__ import annotations

import gzip
import json
import shutil
import sys

import numpy as np
import pytest

from axfusion.benchmarks import metrics as M
from axfusion.benchmarks.methods import Method, register_method
from axfusion.benchmarks.metrics import load_runs, read_run_file
from axfusion.benchmarks.runner import (
    RUN_SCHEMA,
    compact_run_record,
    convert_run_files,
    full_run_path,
    run_benchmark,
    run_path,
)
from axfusion.benchmarks.suites import TaskSpec

# cheap tasks: a mixed-variable function and a small pool
FN = TaskSpec("rt_fn", "function", "mixed_branin", n_initial=4, batch_size=3, n_iterations=3)
POOL = TaskSpec("rt_pool", "pool", "agnp", targets=("loss",), directions=("minimize",), n_initial=6,
                batch_size=4, n_iterations=3)
# a function with a success criterion on its values (some random points meet it)
RAST = TaskSpec("rt_rast", "function", "rastrigin", options={"dim": 2, "success_threshold": 15.0}, n_initial=4,
                batch_size=3, n_iterations=3)


class _Counting(Method):
    """Random search that counts its calls (serial engine only)."""

    name = "_rt_random"
    calls = 0

    def run(self, task, evaluator):
        type(self).calls += 1
        rng = np.random.default_rng([evaluator.seed, 11])
        while True:
            if task.kind == "pool":
                free = np.flatnonzero(~evaluator.evaluated_mask)
                evaluator.evaluate_rows(rng.choice(free, size=task.batch_size, replace=False))
            else:
                evaluator.evaluate(task.space.sample(task.batch_size, int(rng.integers(2**31)), "random"))

    def diagnostics(self):
        return [{"iteration": 1, "note": np.float64(1.5), "bad": float("nan")}]


class _Raising(Method):
    name = "_rt_raising"

    def run(self, task, evaluator):
        evaluator.evaluate(task.space.sample(task.batch_size, 0, "random"))
        raise RuntimeError("boom in iteration 1")


class _PoolsOnly(_Counting):
    name = "_rt_pools_only"

    def supports(self, task):
        return task.kind == "pool"


for _cls in (_Counting, _Raising, _PoolsOnly):
    register_method(_cls.name, _cls, overwrite=True)

# the joblib workers unpickle these classes by value (this module is not importable there)
try:
    from joblib.externals import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
except Exception:  # pragma: no cover
    pass


def _load(path):
    return read_run_file(path)


def test_full_records_hold_the_full_history(tmp_path):
    res = run_benchmark([FN, POOL], ["_rt_random"], [0, 1], tmp_path, engine="serial", progress=False)
    assert len(res.completed) == 4 and not res.failed and res.error is None
    assert res.completed[0]["full_path"] == str(full_run_path(tmp_path, "rt_fn", "_rt_random", 0))
    fn = _load(full_run_path(tmp_path, "rt_fn", "_rt_random", 1))
    assert "compact" not in fn
    assert fn["schema"] == RUN_SCHEMA and fn["status"] == "ok" and fn["error"] is None
    assert fn["budget_spent"] is True
    h = fn["history"]
    assert len(h["loss"]) == len(h["iteration"]) == len(h["X"]) == len(h["Y"]) == 4 + 3 * 3
    assert h["iteration"] == [0] * 4 + [1] * 3 + [2] * 3 + [3] * 3
    assert len(h["distance"]) == 13 and all(d >= 0 for d in h["distance"])
    assert len(fn["iteration_times"]) == 3
    assert fn["task_info"]["kind"] == "function" and fn["task_info"]["optimal_value"] is not None
    assert fn["task_spec"]["name"] == "rt_fn"
    assert fn["resources"]["peak_rss_mib"] > 10 and fn["resources"]["ru_maxrss_mib"] > 10
    assert fn["versions"]["numpy"] == np.__version__
    assert fn["diagnostics"] == [{"iteration": 1, "note": 1.5, "bad": None}]  # JSON-safe
    assert len(fn["reference"]["best_so_far"]) > 3 and fn["reference"]["best_so_far"][0] == min(h["loss"][:4])
    pool = _load(full_run_path(tmp_path, "rt_pool", "_rt_random", 0))
    rows = pool["history"]["rows"]
    assert len(rows) == len(set(rows)) == 6 + 4 * 3 and "X" not in pool["history"]
    info = pool["task_info"]
    assert info["N"] == 164 and len(info["success_rows"]) >= 1 and info["raw_sign"] == 1.0
    assert set(info["top_percent_rows"]) >= set(info["best_rows"])
    assert pool["reference"]["success_probability"][0] == 0.0
    # the shared initial design is the protocol's
    from axfusion.protocols import closed_pool_setup

    init = closed_pool_setup("agnp", targets=["loss"], directions=["minimize"], seed=0, n_initial=6).initial_ids
    assert sorted(rows[:6]) == init.tolist()
    # the full records are kept out of git
    assert (tmp_path / "full" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_compact_run_files_are_gzip_small_and_enough_for_the_metrics(tmp_path):
    run_benchmark([FN, POOL, RAST], ["_rt_random"], [0, 1], tmp_path, engine="serial", progress=False)
    for task in ("rt_fn", "rt_pool", "rt_rast"):
        path = run_path(tmp_path, task, "_rt_random", 1)
        assert path.name == "seed1.json.gz" and path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
        assert path.stat().st_size < 1500, (task, path.stat().st_size)
        raw = json.loads(gzip.decompress(path.read_bytes()))
        # the values shared by many runs are stored once, in runs/_shared
        assert set(raw["task_info"]) == {"$shared"} and set(raw["reference"]) == {"$shared"}
        assert (tmp_path / "runs" / "_shared" / f"{raw['task_info']['$shared']}.json.gz").exists()
        small, full = _load(path), _load(full_run_path(tmp_path, task, "_rt_random", 1))
        assert small["schema"] == RUN_SCHEMA and small["compact"]["format"] == 1
        assert full["history"]["X" if task != "rt_pool" else "rows"]
        assert "X" not in small["history"] and "Y" not in small["history"]
        # losses, rows, iterations and the task info (but its space) are kept exactly
        for key in ("iteration", "loss", "rows"):
            assert small["history"].get(key) == full["history"].get(key)
        assert small["task_info"] == {k: v for k, v in full["task_info"].items() if k != "space"}
        assert small["best_loss"] == full["best_loss"] and small["method_options"] == full["method_options"]
        assert small["versions"] == full["versions"] and small["task_spec"] == full["task_spec"]
        # every number of the report comes out the same: exactly, but for the rounded
        # timings, memory and distances (6 significant digits)
        a, b = M.run_metrics(small), M.run_metrics(full)
        assert a.keys() == b.keys()
        T = full["task_info"]["n_iterations"]
        rounded = ("s_per_iteration", "s_per_iteration_mean", "wall_time", "peak_rss_mib", "final_distance",
                   "distance")
        for key, value in a.items():
            other = b[key]
            if isinstance(value, np.ndarray) and key.startswith("ref_"):  # read up to the budget
                assert value.size >= T + 1
                value, other = value[: T + 1], other[: T + 1]
            if key in rounded:
                np.testing.assert_allclose(value, other, rtol=1e-5, err_msg=key)
            elif isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, other, err_msg=key)
            elif isinstance(value, float):
                assert value == other or (np.isnan(value) and np.isnan(other)), key
            else:
                assert value == other, key
        # the incumbent's distance is kept, the others are not
        d_small, d_full = small["history"].get("distance"), full["history"].get("distance")
        if d_full:
            assert sum(d is not None for d in d_small) < len(d_full)
    # pools: the random-search curves left out are recomputed bit for bit
    small = _load(run_path(tmp_path, "rt_pool", "_rt_random", 0))
    full = _load(full_run_path(tmp_path, "rt_pool", "_rt_random", 0))
    assert "top_fraction" not in small["reference"] and "success_probability" not in small["reference"]
    ref = M.run_reference(small)
    for key in ("success_probability", "top5_probability", "best_probability", "top_fraction"):
        assert ref[key] == full["reference"][key], key
    # a test function's success flags, judged on the full-precision points, replace the points
    small = _load(run_path(tmp_path, "rt_rast", "_rt_random", 0))
    flags, label = M.function_successes(_load(full_run_path(tmp_path, "rt_rast", "_rt_random", 0)))
    assert 0 < flags.sum() < flags.size  # the test sees both kinds
    assert small["success_criterion"] == {"label": label, "flags": flags.astype(int).tolist()}
    np.testing.assert_array_equal(M.function_successes(small)[0], flags)
    assert compact_run_record(small) == small  # compacting twice changes nothing


def test_compact_run_files_stay_small_where_full_records_grow(tmp_path):
    big = TaskSpec("rt_big", "function", "rastrigin", options={"dim": 20}, n_initial=10, batch_size=10,
                   n_iterations=10)
    run_benchmark([big], ["_rt_random"], [0], tmp_path, engine="serial", progress=False)
    small = run_path(tmp_path, "rt_big", "_rt_random", 0).stat().st_size
    full = full_run_path(tmp_path, "rt_big", "_rt_random", 0).stat().st_size
    assert small < 3000 and full > 10 * small, (small, full)  # 110 points x 20 coordinates in the full record


def test_resume_from_compact_files_alone(tmp_path):
    _Counting.calls = 0
    run_benchmark([FN, POOL], ["_rt_random"], 2, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 4
    shutil.rmtree(tmp_path / "full")  # a fresh clone has only the compact files
    again = run_benchmark([FN, POOL], ["_rt_random"], 2, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 4 and len(again.skipped) == 4 and not again.completed
    # other options or another budget are still noticed from the compact files
    with pytest.warns(UserWarning, match="other method options"):
        opts = run_benchmark([FN], ["_rt_random"], [0], tmp_path, engine="serial", progress=False,
                             method_options={"_rt_random": {"flavour": 1}})
    assert len(opts.completed) == 1 and _load(run_path(tmp_path, "rt_fn", "_rt_random", 0))["method_options"] == {
        "flavour": 1}
    with pytest.warns(UserWarning, match="another budget"):
        budget = run_benchmark([POOL], ["_rt_random"], [1], tmp_path, engine="serial", progress=False,
                               n_iterations=2)
    assert len(budget.completed) == 1
    # a missing shared entry makes the run unreadable: it is run again
    small = json.loads(gzip.decompress(run_path(tmp_path, "rt_pool", "_rt_random", 0).read_bytes()))
    (tmp_path / "runs" / "_shared" / f"{small['reference']['$shared']}.json.gz").unlink()
    rerun = run_benchmark([POOL], ["_rt_random"], [0], tmp_path, engine="serial", progress=False)
    assert [c["seed"] for c in rerun.completed] == [0]
    assert len(load_runs(tmp_path)) == 4


def test_older_plain_json_run_files_are_read_resumed_and_converted(tmp_path):
    run_benchmark([FN, POOL], ["_rt_random"], 2, tmp_path / "new", engine="serial", progress=False,
                  suites={"t": ["rt_fn", "rt_pool"]})
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(tmp_path / "new" / "benchmark.json", old / "benchmark.json")
    for p in (tmp_path / "new" / "full" / "runs").glob("*/*/seed*.json.gz"):
        dest = old / p.relative_to(tmp_path / "new" / "full").with_name(p.name[: -len(".gz")])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(_load(p)))  # the uncompressed full record of earlier versions
    assert len(load_runs(old)) == 4 and not list(old.rglob("*.json.gz"))
    _Counting.calls = 0
    again = run_benchmark([FN, POOL], ["_rt_random"], 2, old, engine="serial", progress=False)
    assert _Counting.calls == 0 and len(again.skipped) == 4
    # a changed budget reruns it and replaces the plain file
    with pytest.warns(UserWarning, match="another budget"):
        run_benchmark([FN], ["_rt_random"], [0], old, engine="serial", progress=False, n_iterations=2)
    assert not (old / "runs" / "rt_fn" / "_rt_random" / "seed0.json").exists()
    assert _load(run_path(old, "rt_fn", "_rt_random", 0))["task_info"]["n_iterations"] == 2
    assert len(load_runs(old)) == 4
    # the conversion: every plain file becomes a compact one (the full record under full/)
    stats = convert_run_files(old)
    assert stats["converted"] == 3 and stats["bytes_after"] < stats["bytes_before"] / 3
    assert not list((old / "runs").glob("*/*/*.json"))
    assert len(list((old / "full" / "runs").glob("*/*/seed*.json.gz"))) == 4  # 3 converted, 1 rerun
    for p in (tmp_path / "new" / "runs").glob("*/*/seed1.json.gz"):
        assert _load(old / p.relative_to(tmp_path / "new")) == _load(p)


def test_resume_skips_finished_runs(tmp_path):
    _Counting.calls = 0
    first = run_benchmark([FN], ["_rt_random"], 3, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 3 and len(first.completed) == 3
    again = run_benchmark([FN], ["_rt_random"], 3, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 3 and not again.completed and len(again.skipped) == 3
    # a lost run file is run again, and only it
    run_path(tmp_path, "rt_fn", "_rt_random", 1).unlink()
    broken = run_path(tmp_path, "rt_fn", "_rt_random", 2)
    broken.write_bytes(broken.read_bytes()[:40])  # a truncated gzip file
    third = run_benchmark([FN], ["_rt_random"], 3, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 5 and sorted(c["seed"] for c in third.completed) == [1, 2]
    # another budget is not the same run
    with pytest.warns(UserWarning, match="another budget"):
        fourth = run_benchmark([FN], ["_rt_random"], [0], tmp_path, engine="serial", progress=False, n_iterations=2)
    assert len(fourth.completed) == 1
    assert _load(run_path(tmp_path, "rt_fn", "_rt_random", 0))["task_info"]["n_iterations"] == 2
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_a_failing_method_is_recorded_and_the_others_finish(tmp_path):
    res = run_benchmark([FN], ["_rt_raising", "_rt_random"], 2, tmp_path, engine="serial", progress=False)
    assert len(res.completed) == 4
    assert sorted((c["method"], c["status"]) for c in res.completed) == [
        ("_rt_raising", "failed"), ("_rt_raising", "failed"), ("_rt_random", "ok"), ("_rt_random", "ok")]
    rec = _load(run_path(tmp_path, "rt_fn", "_rt_raising", 0))
    assert rec["status"] == "failed" and "RuntimeError: boom in iteration 1" in rec["error"]
    assert rec["error"] == _load(full_run_path(tmp_path, "rt_fn", "_rt_raising", 0))["error"]
    assert len(rec["history"]["loss"]) == 4 + 3  # what it evaluated before failing is kept
    # failed runs count as finished, unless asked to retry them
    assert not run_benchmark([FN], ["_rt_raising"], 2, tmp_path, engine="serial", progress=False).completed
    retry = run_benchmark([FN], ["_rt_raising"], 2, tmp_path, engine="serial", progress=False, retry_failed=True)
    assert len(retry.completed) == 2


def test_unsupported_pairs_are_skipped_and_noted(tmp_path):
    res = run_benchmark([FN, POOL], ["_rt_pools_only"], [0], tmp_path, engine="serial", progress=False)
    assert res.unsupported == [("rt_fn", "_rt_pools_only")]
    assert [(c["task"], c["status"]) for c in res.completed] == [("rt_pool", "ok")]
    man = _load(tmp_path / "benchmark.json")
    assert {"task": "rt_fn", "method": "_rt_pools_only", "reason": "supports(task) is false"} in man["unsupported"]
    assert not run_path(tmp_path, "rt_fn", "_rt_pools_only", 0).exists()


def test_runs_are_deterministic_and_joblib_matches_serial(tmp_path):
    a = run_benchmark([FN], ["_rt_random"], [0, 1], tmp_path / "a", engine="serial", progress=False)
    b = run_benchmark([FN], ["_rt_random"], [0, 1], tmp_path / "b", engine="joblib", n_jobs=2, progress=False)
    assert not a.failed and not b.failed, b.completed
    for s in (0, 1):
        ra = _load(full_run_path(tmp_path / "a", "rt_fn", "_rt_random", s))
        rb = _load(full_run_path(tmp_path / "b", "rt_fn", "_rt_random", s))
        assert ra["history"] == rb["history"]
        assert rb["resources"]["threads"] == 1  # 2 CPUs or fewer shared by 2 jobs
        ca = run_path(tmp_path / "a", "rt_fn", "_rt_random", s)
        assert _load(ca)["history"] == _load(run_path(tmp_path / "b", "rt_fn", "_rt_random", s))["history"]
    h0 = _load(run_path(tmp_path / "a", "rt_fn", "_rt_random", 0))["history"]["loss"]
    h1 = _load(run_path(tmp_path / "a", "rt_fn", "_rt_random", 1))["history"]["loss"]
    assert h0 != h1


def test_engine_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="Unknown engine"):
        run_benchmark([FN], ["_rt_random"], 1, tmp_path, engine="spark")
    with pytest.raises(KeyError, match="Unknown method"):
        run_benchmark([FN], ["no_such_method"], 1, tmp_path, engine="serial")
    with pytest.raises(ValueError, match="method_options"):
        run_benchmark([FN], ["_rt_random"], 1, tmp_path, method_options={"other": {}})
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="dask"):
            run_benchmark([FN], ["_rt_random"], 2, tmp_path / "d", engine="dask", n_jobs=2, progress=False)


def test_dask_engine(tmp_path):
    pytest.importorskip("dask.distributed")
    res = run_benchmark([FN], ["_rt_random"], 2, tmp_path, engine="dask", n_jobs=2, progress=False)
    assert len(res.completed) == 2 and not res.failed


def test_a_ready_task_object_runs_too(tmp_path):
    task = FN.build(n_iterations=2)
    res = run_benchmark([task], ["_rt_random"], [3], tmp_path, engine="serial", progress=False)
    rec = _load(res.completed[0]["path"])
    assert rec["task"] == "rt_fn" and rec["task_spec"] is None and rec["n_iterations_done"] == 2


class _SuccessFirst(Method):
    """Evaluates a success row in its first batch (to test the early stop)."""

    name = "_rt_success_first"

    def run(self, task, evaluator):
        target = sorted(task.setup(0).success)[:1]
        free = np.flatnonzero(~evaluator.evaluated_mask)
        others = [int(r) for r in free if int(r) not in task.setup(0).success][: task.batch_size - 1]
        evaluator.evaluate_rows(target + others)
        while True:
            free = np.flatnonzero(~evaluator.evaluated_mask)
            evaluator.evaluate_rows(free[: task.batch_size])


register_method(_SuccessFirst.name, _SuccessFirst, overwrite=True)


def test_stop_at_success_ends_pool_runs_early_and_reruns_when_changed(tmp_path):
    run_benchmark([POOL], [_SuccessFirst.name], [0], tmp_path, engine="serial", progress=False, stop_at_success=True)
    rec = _load(run_path(tmp_path, "rt_pool", _SuccessFirst.name, 0))
    assert rec["status"] == "ok" and rec["stop_at_success"] and rec["stopped_at_success"]
    assert rec["n_evaluations"] == POOL.n_initial + POOL.batch_size  # one batch, then stop
    # the same folder without the early stop runs it again, over the whole budget
    with pytest.warns(UserWarning, match="stop_at_success"):
        res = run_benchmark([POOL], [_SuccessFirst.name], [0], tmp_path, engine="serial", progress=False)
    assert not res.skipped
    rec = _load(run_path(tmp_path, "rt_pool", _SuccessFirst.name, 0))
    assert not rec["stopped_at_success"] and rec["n_evaluations"] == POOL.n_initial + 3 * POOL.batch_size


def test_packed_runs_are_read_by_report_and_unpacked_by_bench(tmp_path):
    import shutil

    from axfusion.benchmarks import metrics
    from axfusion.benchmarks.runner import run_benchmark

    out = tmp_path / "res"
    run_benchmark(["smoke_pool"], ["random"], [0, 1], out, n_jobs=1, progress=False)
    before = metrics.load_runs(out)
    archive = metrics.pack_runs(out)
    assert archive.name == metrics.RUNS_ARCHIVE and not (out / "runs").exists()
    shutil.rmtree(out / "full", ignore_errors=True)  # a fresh clone has no full records
    after = metrics.load_runs(out)
    strip = lambda runs: [{k: v for k, v in r.items() if k != "_path"} for r in runs]  # noqa: E731
    assert strip(after) == strip(before)
    # bench unpacks, skips the finished runs and adds the new seed
    res = run_benchmark(["smoke_pool"], ["random"], [0, 1, 2], out, n_jobs=1, progress=False)
    assert not archive.exists() and len(metrics.iter_run_files(out)) == 3
    assert sorted(s for _, _, s in res.skipped) == [0, 1]


def test_a_pack_without_diagnostics_keeps_every_other_field_and_says_so(tmp_path, capsys):
    from axfusion.benchmarks import metrics
    from axfusion.benchmarks.runner import run_benchmark
    from axfusion.cli import main

    out = tmp_path / "res"
    run_benchmark(["smoke_pool"], ["random"], [0, 1], out, n_jobs=1, progress=False)
    for p in metrics.iter_run_files(out):  # as a fusion run would carry them
        rec = metrics.read_run_file(p)
        rec["diagnostics"] = [{"iteration": 1, "timings": {"model": 0.5}}]
        data = json.dumps(rec).encode()
        p.write_bytes(data if p.suffix == ".json" else gzip.compress(data))
    before = metrics.load_runs(out)
    assert all(r["diagnostics"] for r in before)
    with pytest.raises(SystemExit, match="add --pack"):
        main(["report", str(out), "--no-figures", "--drop-diagnostics"])
    assert main(["report", str(out), "--no-figures", "--pack", "--drop-diagnostics"]) == 0
    assert "without their per-iteration diagnostics" in capsys.readouterr().out
    shutil.rmtree(out / "full", ignore_errors=True)
    after = metrics.load_runs(out)
    drop = lambda runs: [{k: v for k, v in r.items() if k not in ("_path", "diagnostics", "diagnostics_dropped")}  # noqa: E731
                         for r in runs]
    assert drop(after) == drop(before)
    assert all(r["diagnostics"] == [] and r["diagnostics_dropped"] for r in after)
