"""The benchmark runner: run files, resume, failures, unsupported methods, engines, determinism."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from axfusion.benchmarks.methods import Method, register_method
from axfusion.benchmarks.runner import RUN_SCHEMA, run_benchmark, run_path
from axfusion.benchmarks.suites import TaskSpec

# cheap tasks: a mixed-variable function and a small pool
FN = TaskSpec("rt_fn", "function", "mixed_branin", n_initial=4, batch_size=3, n_iterations=3)
POOL = TaskSpec("rt_pool", "pool", "agnp", targets=("loss",), directions=("minimize",), n_initial=6,
                batch_size=4, n_iterations=3)


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
    with open(path) as fh:
        return json.load(fh)


def test_run_files_hold_the_full_history(tmp_path):
    res = run_benchmark([FN, POOL], ["_rt_random"], [0, 1], tmp_path, engine="serial", progress=False)
    assert len(res.completed) == 4 and not res.failed and res.error is None
    fn = _load(run_path(tmp_path, "rt_fn", "_rt_random", 1))
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
    pool = _load(run_path(tmp_path, "rt_pool", "_rt_random", 0))
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


def test_resume_skips_finished_runs(tmp_path):
    _Counting.calls = 0
    first = run_benchmark([FN], ["_rt_random"], 3, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 3 and len(first.completed) == 3
    again = run_benchmark([FN], ["_rt_random"], 3, tmp_path, engine="serial", progress=False)
    assert _Counting.calls == 3 and not again.completed and len(again.skipped) == 3
    # a lost run file is run again, and only it
    run_path(tmp_path, "rt_fn", "_rt_random", 1).unlink()
    (tmp_path / "runs" / "rt_fn" / "_rt_random" / "seed2.json").write_text("{truncated")
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
        ra = _load(run_path(tmp_path / "a", "rt_fn", "_rt_random", s))
        rb = _load(run_path(tmp_path / "b", "rt_fn", "_rt_random", s))
        assert ra["history"] == rb["history"]
        assert rb["resources"]["threads"] == 1  # 2 CPUs or fewer shared by 2 jobs
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
    rec = json.loads(run_path(tmp_path, "rt_pool", _SuccessFirst.name, 0).read_text())
    assert rec["status"] == "ok" and rec["stop_at_success"] and rec["stopped_at_success"]
    assert rec["n_evaluations"] == POOL.n_initial + POOL.batch_size  # one batch, then stop
    # the same folder without the early stop runs it again, over the whole budget
    with pytest.warns(UserWarning, match="stop_at_success"):
        res = run_benchmark([POOL], [_SuccessFirst.name], [0], tmp_path, engine="serial", progress=False)
    assert not res.skipped
    rec = json.loads(run_path(tmp_path, "rt_pool", _SuccessFirst.name, 0).read_text())
    assert not rec["stopped_at_success"] and rec["n_evaluations"] == POOL.n_initial + 3 * POOL.batch_size
