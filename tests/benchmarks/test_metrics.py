"""Metrics of the benchmark harness: exact random-search references, EF/AF, per-run curves."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from axfusion.benchmarks import metrics as M
from axfusion.benchmarks.methods import Method, register_method
from axfusion.benchmarks.runner import run_benchmark


# ------------------------------------------------------ exact references
def test_expected_best_without_replacement_equals_enumeration():
    losses = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])  # ties included
    for incumbent in (np.inf, 3.5, 0.5):
        got = M.expected_best_without_replacement(losses, range(0, 9), incumbent)
        for k in range(0, 9):
            if k == 0:
                want = incumbent
            else:
                want = np.mean([min(incumbent, min(c)) for c in itertools.combinations(losses, k)])
            assert got[k] == pytest.approx(want, abs=1e-12), (k, incumbent)


def test_expected_best_with_replacement_equals_enumeration():
    sample = np.array([2.0, 0.5, 7.0, 0.5, 3.0])
    got = M.expected_best_with_replacement(sample, [0, 1, 2, 3], incumbent=2.5)
    for n in (1, 2, 3):
        want = np.mean([min(2.5, min(c)) for c in itertools.product(sample, repeat=n)])
        assert got[n] == pytest.approx(want, abs=1e-12)
    assert got[0] == 2.5


def test_success_probability_equals_hypergeometric_and_protocol_expectation():
    from math import comb

    from axfusion.protocols import random_search_expectation

    M_, S = 40, 3
    p = M.success_probability_without_replacement(M_, S, [0, 5, 10, 37, 38, 40])
    for k, v in zip([0, 5, 10, 37, 38, 40], p):
        want = 1 - comb(M_ - S, k) / comb(M_, k) if k <= M_ - S else 1.0
        assert v == pytest.approx(want, abs=1e-12)
    # E[min(T, budget)] from the curve = the protocol's exact expectation
    N, n_init, b, T = 60, 20, 5, 6
    curve = M.success_probability_without_replacement(N - n_init, S, np.arange(T + 1) * b)
    assert np.sum(1 - curve[:T]) == pytest.approx(random_search_expectation(N, S, n_init, b, T), abs=1e-12)


def test_pool_reference_matches_brute_force_simulation():
    rng = np.random.default_rng(0)
    N, b, H = 30, 3, 6
    losses = np.round(rng.normal(size=N), 1)  # ties
    order = np.argsort(losses)
    init = order[-8:]  # the worst rows, as the protocol draws at or below the median
    success, top = order[:2], order[:4]
    ref = M.pool_reference(losses, init, b, H, sets={"success": success}, top_rows=top)
    rest = np.setdiff1d(np.arange(N), init)
    a = losses[init].min()
    n_sim = 40_000
    perm = rest[rng.random((n_sim, rest.size)).argsort(axis=1)]  # random orderings, brute force
    L = np.minimum.accumulate(losses[perm], axis=1)
    first_success = np.isin(perm, success).argmax(axis=1)  # position of the first success row
    top_pos = np.stack([(perm == r).argmax(axis=1) for r in top], axis=1)
    best, found, frac = np.zeros(H + 1), np.zeros(H + 1), np.zeros(H + 1)
    for t in range(H + 1):
        k = t * b
        best[t] = np.minimum(a, L[:, k - 1]).sum() if k else a * n_sim
        found[t] = (first_success < k).sum()
        frac[t] = (top_pos < k).mean(axis=1).sum()
    np.testing.assert_allclose(ref["best_so_far"], best / n_sim, atol=0.01)
    np.testing.assert_allclose(ref["success_probability"], found / n_sim, atol=0.01)
    np.testing.assert_allclose(ref["top_fraction"], frac / n_sim, atol=0.01)
    assert ref["best_so_far"][0] == pytest.approx(a)


# ---------------------------------------------------------------- EF / AF
def test_crossing_and_acceleration_factor():
    assert M.crossing_iteration(np.array([0.0, 0.2, 0.6, 1.0]), 0.4) == pytest.approx(1.5)
    assert np.isnan(M.crossing_iteration(np.array([0.0, 0.1]), 0.5))
    method = np.array([0.0, 0.5, 1.0, 1.0, 1.0])
    random = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    # both reach 1.0 by T = 4: the method at t = 2, random at t = 4
    assert M.acceleration_factor(method, random) == pytest.approx(2.0)
    assert M.acceleration_factor(method, random, level=0.5) == pytest.approx(2.0)
    # worse than random: AF < 1 at the method's final level
    assert M.acceleration_factor(random[:5] / 2, random) == pytest.approx(0.5)
    assert np.isnan(M.acceleration_factor(np.zeros(5), random))


class _RandomRows(Method):
    """Uniform random search: random points (functions), random unevaluated rows (pools)."""

    name = "_metrics_random"

    def run(self, task, evaluator):
        rng = np.random.default_rng([evaluator.seed, 7])
        while True:
            if task.kind == "pool":
                free = np.flatnonzero(~evaluator.evaluated_mask)
                evaluator.evaluate_rows(rng.choice(free, size=min(task.batch_size, free.size), replace=False))
            else:
                evaluator.evaluate(task.space.sample(task.batch_size, int(rng.integers(2**31)), "random"))


register_method("_metrics_random", _RandomRows, overwrite=True)


def _tiny_pool(n: int = 150, seed: int = 1):
    from axfusion.benchmarks.tasks import PoolTask
    from axfusion.data import load_csv

    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["y"] = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=n)
    ds = load_csv(df, targets=["y"], name="tiny", warn=False)
    return PoolTask.from_dataset(ds, targets=["y"], n_initial=5, batch_size=5, n_iterations=5, name="tiny_pool")


def test_random_search_has_enhancement_and_acceleration_factor_one(tmp_path):
    from axfusion.benchmarks.suites import TaskSpec

    fn = TaskSpec("tiny_fn", "function", "mixed_six_hump_camel", n_initial=4, batch_size=4, n_iterations=5)
    res = run_benchmark([_tiny_pool(), fn], ["_metrics_random"], 80, tmp_path, engine="serial", progress=False)
    assert len(res.completed) == 160 and not res.failed
    table, curves = M.aggregate(M.load_runs(tmp_path))
    pool = table[table.task == "tiny_pool"].iloc[0]
    func = table[table.task == "tiny_fn"].iloc[0]
    assert pool["ef_top"] == pytest.approx(1.0, abs=0.2)
    assert pool["ef_best"] == pytest.approx(1.0, abs=0.1)
    assert func["ef_best"] == pytest.approx(1.0, abs=0.1)
    assert func["af_best"] == pytest.approx(1.0, abs=0.35)
    # the EF(t) curve hovers around 1, and the success rate around the exact P
    c = curves[("tiny_pool", "_metrics_random")]
    assert np.nanmax(np.abs(c["ef_top"][2:] - 1)) < 0.3
    np.testing.assert_allclose(c["success_rate"], c["ref_success_mean"][: c["t"].size], atol=0.12)
    np.testing.assert_allclose(c["best_so_far_mean"], c["ref_best_mean"][: c["t"].size],
                               atol=0.1 * np.ptp(c["ref_best_mean"]) + 1e-9)


# --------------------------------------------------------------- per run
def _fake_run(kind: str = "pool") -> dict:
    info = {
        "kind": kind, "n_iterations": 3, "n_initial": 2, "batch_size": 2, "n_objectives": 1,
        "loss_best": -10.0, "loss_median": 0.0, "raw_sign": -1.0,
    }
    history = {"iteration": [0, 0, 1, 1, 2, 2, 3, 3], "loss": [0.0, 1.0, -2.0, 0.5, -1.0, -5.0, 3.0, -4.0]}
    if kind == "pool":
        info.update(success_rows=[7], top5_rows=[5, 7], best_rows=[7], top_percent_rows=[5, 7])
        history["rows"] = [10, 11, 2, 3, 5, 4, 9, 8]
    else:
        info.update(optimal_value=-10.0, raw_sign=1.0)
        history["distance"] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.1, 0.5, 0.4]
    return {
        "task": "t", "method": "m", "seed": 0, "status": "ok", "task_info": info, "history": history,
        "iteration_times": [0.1, 0.3, 0.2], "wall_time": 1.0, "resources": {"peak_rss_mib": 100.0},
        "reference": {"best_so_far": [0.0, -1.0, -2.0, -3.0, -3.5], "top_fraction": [0, 0.25, 0.5, 0.75, 1.0],
                      "success_probability": [0, 0.2, 0.4, 0.6, 0.8]},
    }


def test_run_metrics_on_a_pool_run():
    m = M.run_metrics(_fake_run("pool"))
    np.testing.assert_allclose(m["best_so_far"], [0.0, -2.0, -5.0, -5.0])
    np.testing.assert_allclose(m["best_raw"], [0.0, 2.0, 5.0, 5.0])
    assert m["iterations_to_success"] is None  # row 7 never evaluated
    assert m["iterations_to_top5"] == 2  # row 5 in iteration 2
    np.testing.assert_allclose(m["top_fraction"], [0, 0, 0.5, 0.5])
    assert m["s_per_iteration"] == pytest.approx(0.2)
    assert m["ef_top"] == pytest.approx(0.5 / 0.75)
    np.testing.assert_allclose(m["perf"], [0.0, 0.2, 0.5, 0.5])


def test_run_metrics_on_a_function_run():
    m = M.run_metrics(_fake_run("function"))
    np.testing.assert_allclose(m["regret"], [10.0, 8.0, 5.0, 5.0])
    np.testing.assert_allclose(m["distance"], [1.0, 0.8, 0.1, 0.1])
    assert m["final_regret"] == pytest.approx(5.0)
    # P: method 0.5 at T, random 0.3; AF at 0.3: random reaches it at t = 3, the method at t = 4/3
    assert m["ef_best"] == pytest.approx(0.5 / 0.3)
    assert m["af_best"] == pytest.approx(3.0 / (4 / 3))


def test_function_success_from_the_problem_criterion():
    from axfusion.benchmarks.suites import TaskSpec

    spec = TaskSpec("ack3", "function", "ackley", options={"dim": 3}, n_initial=2, batch_size=2, n_iterations=3)
    run = _fake_run("function")
    run["task_spec"] = spec.as_dict()
    run["history"]["X"] = [[9.0, 9.0, 9.0]] * 5 + [[0.01, 0.0, 0.0]] + [[9.0, 9.0, 9.0]] * 2
    run["history"]["loss"] = [14.0] * 5 + [0.05] + [14.0] * 2  # the recorded values are used
    flags, label = M.function_successes(run)
    assert label == "f <= 0.5" and flags.tolist() == [False] * 5 + [True] + [False] * 2
    m = M.run_metrics(run)
    assert m["iterations_to_success"] == 2 and m["success_label"] == "f <= 0.5"
    np.testing.assert_allclose(m["found"], [0, 0, 1, 1])
    miss = {**run, "seed": 1, "history": {**run["history"], "loss": [14.0] * 8}}
    table, curves = M.aggregate([run, miss])
    row = table.iloc[0]
    assert row["its_hits"] == 1 and row["success"] == 0.5 and row["its_median"] == 2
    np.testing.assert_allclose(curves[("t", "m")]["success_rate"], [0, 0, 0.5, 0.5])
    # no criterion (a pool, or an unknown problem): no success metrics
    assert M.function_successes(_fake_run("function")) is None
    assert "iterations_to_success" not in M.run_metrics(_fake_run("function"))
    mixed = {**run, "task_spec": TaskSpec("mb", "function", "mixed_branin").as_dict()}
    assert M.function_successes(mixed) is None


def test_random_reference_row_is_the_exact_expectation():
    runs = [_fake_run("pool"), {**_fake_run("pool"), "seed": 1}]
    row = M.random_reference_row(runs)
    assert row["success"] == pytest.approx(0.6)
    assert row["expected_iterations"] == pytest.approx(1 + 0.8 + 0.6)
    assert row["ef"] == row["af"] == 1.0
    assert row["final_median"] == pytest.approx(3.0)  # raw = -loss of the expected best at T
    table = M.summary_table(runs)
    assert list(table["method"]) == ["m", "random (exact E)"]


def _long_pool_run(last_iteration: int = 12, seed: int = 0) -> dict:
    r"""A pool run over 12 batches of 1 whose loss at iteration t is ``-t`` except a dip at t = 4."""
    run = _fake_run("pool")
    run["seed"] = seed
    run["task_info"] = {**run["task_info"], "n_iterations": 12}
    its = list(range(last_iteration + 1))
    loss = [-float(t) if t != 4 else -7.0 for t in its]  # best -7 from t = 4 until t = 8 beats it
    run["history"] = {"iteration": its, "loss": loss, "rows": [100 + t for t in its]}
    run["reference"] = {"best_so_far": [-0.5 * t for t in range(14)], "top_fraction": [0.0] * 14,
                        "success_probability": [0.0] * 14}
    return run


def test_best_after_5_and_10_batches_with_runs_that_ended_early():
    from axfusion.benchmarks.report import format_table

    assert M.BEST_AT_BATCHES == (5, 10)
    full = M.run_metrics(_long_pool_run())
    assert full["best_raw_at_5"] == pytest.approx(7.0)  # raw = -loss; the dip at t = 4, not t = 5
    assert full["best_raw_at_10"] == pytest.approx(10.0)
    assert full["early_at_5"] == full["early_at_10"] == 0.0
    ended = M.run_metrics(_long_pool_run(last_iteration=6, seed=1))  # e.g. stopped at its success
    assert ended["best_raw_at_5"] == pytest.approx(7.0) and ended["early_at_5"] == 0.0
    assert ended["best_raw_at_10"] == pytest.approx(7.0) and ended["early_at_10"] == 1.0  # carried forward
    short = M.run_metrics(_fake_run("pool"))  # a 3-batch budget has no value after 5 batches
    assert np.isnan(short["best_raw_at_5"]) and np.isnan(short["early_at_10"])

    runs = [_long_pool_run(), _long_pool_run(6, seed=1), _long_pool_run(12, seed=2)]
    table, _ = M.aggregate(runs)
    row = table.iloc[0]
    assert row["at5_median"] == pytest.approx(7.0) and row["at5_early"] == 0
    assert row["at10_median"] == pytest.approx(10.0) and row["at10_early"] == 1
    assert row["at10_q25"] == pytest.approx(8.5) and row["at10_q75"] == pytest.approx(10.0)
    ref = M.random_reference_row(runs)
    assert ref["at5_median"] == pytest.approx(2.5) and ref["at10_median"] == pytest.approx(5.0)
    text = format_table([row.to_dict(), ref], "pool")
    assert "| best @5 | best @10 |" in text
    assert "| 7 [7–7] | 10 [8.5–10] (1 ended) |" in text
    assert "| 2.5 | 5 | – | – |" in text
    assert M.runs_frame(runs)["best_raw_at_10"].tolist() == pytest.approx([10.0, 7.0, 10.0])
