import numpy as np
import pytest

from axfusion.protocols import pareto_rows, random_search_expectation, run_closed_pool, summarize, top_rows


def test_top_and_pareto_rows():
    o = np.array([1.0, 5.0, 3.0, 5.0, 2.0])
    assert sorted(top_rows(o, 1).tolist()) == [1, 3]  # ties included
    assert sorted(top_rows(o, 3).tolist()) == [1, 2, 3]
    O = np.array([[1, 1], [2, 0], [0, 2], [0.5, 0.5], [2, 2]])
    assert pareto_rows(O).tolist() == [4]
    O2 = np.array([[1, 1], [2, 0], [0, 2], [0.5, 0.5]])
    assert sorted(pareto_rows(O2).tolist()) == [0, 1, 2]


def test_random_search_expectation_matches_simulation():
    N, k, n0, b, T = 200, 3, 20, 10, 15
    exact = random_search_expectation(N, k, n0, b, T)
    rng = np.random.default_rng(0)
    sims = []
    for _ in range(4000):
        order = rng.permutation(N - n0)
        first = np.min(np.flatnonzero(order < k)) // b + 1
        sims.append(min(first, T))
    assert exact == pytest.approx(np.mean(sims), rel=0.03)
    # a success set of zero never succeeds
    assert random_search_expectation(N, 0, n0, b, T) == T


def test_closed_pool_protocol_on_crossed_barrel():
    r = run_closed_pool(
        "crossed_barrel", seed=0, n_iterations=3, batch_size=10,
        families=("ridge", "knn", "lightgbm"), n_members=3,
    )
    assert len(r.initial_ids) == 20
    assert len(r.trajectory) == 3
    assert len(r.evaluated_ids) == 50 and len(set(r.evaluated_ids)) == 50
    # 600 rows -> top min(10, 6) = 6 rows
    assert len(r.success_rows) == 6
    best = [t["best_so_far"][0] for t in r.trajectory]
    assert best == sorted(best)
    assert r.iterations_to_success is None or 1 <= r.iterations_to_success <= 3
    table = summarize([r])
    assert list(table["criterion"]) == ["iterations_to_success", "iterations_to_top5", "iterations_to_best"]
    with pytest.raises(ValueError, match="Unknown target"):
        run_closed_pool("crossed_barrel", targets=["nope"], n_iterations=1)
