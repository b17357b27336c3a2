"""generate_box_candidates: DE on stochastic family landscapes + Sobol points."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from axfusion.candidates import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    MemberMeanObjective,
    SearchSpace,
    generate_box_candidates,
)

D = 8
X_STAR = np.linspace(-0.5, 0.6, D)


def concave_family(seed: int, n_members: int = 5, noise: float = 0.05, offset: float = 0.0):
    """Members: noisy copies of -||x - x*||^2 (each member's optimum is shifted a little)."""
    shifts = np.random.default_rng(seed).normal(0.0, noise, size=(n_members, D))

    def members(X: np.ndarray) -> np.ndarray:
        return offset - ((X[None, :, :] - X_STAR - shifts[:, None, :]) ** 2).sum(axis=-1)

    return members


@pytest.fixture
def box() -> SearchSpace:
    return SearchSpace([ContinuousParameter(f"x{i}", -1.0, 1.0) for i in range(D)])


FAST = dict(n_candidates=400, maxiter=40, popsize=8, time_budget_s=None, seed=0)


def test_de_beats_an_equal_number_of_sobol_points_on_a_concave_objective(box: SearchSpace) -> None:
    members = {"a": concave_family(1), "b": concave_family(2)}
    batch = generate_box_candidates(box, members, **FAST)
    de = batch.source != "sobol"
    assert de.sum() == 400
    de_best = np.linalg.norm(batch.features[de] - X_STAR, axis=1).min()
    sobol = box.to_features(box.sample_sobol(int(de.sum()), seed=123))
    sobol_best = np.linalg.norm(sobol - X_STAR, axis=1).min()
    assert de_best < 0.25 * sobol_best, (de_best, sobol_best)
    assert de_best < 0.2


def test_batch_layout_sources_and_sobol_count(box: SearchSpace) -> None:
    members = {"a": concave_family(1), "b": concave_family(2), "c": concave_family(3)}
    batch = generate_box_candidates(box, members, sobol_fraction_per_family=0.2, **FAST)
    n_sobol = int(np.floor(400 * 3 * 0.2))
    assert len(batch) == 400 + n_sobol
    assert (batch.source[400:] == "sobol").all() and np.isnan(batch.objective[400:]).all()
    assert set(batch.source[:400]) <= {"a", "b", "c", "pooled"}
    assert np.all(np.diff(batch.objective[:400]) <= 0)  # best first
    assert np.unique(batch.features, axis=0).shape[0] == len(batch)  # distinct
    assert [r.name for r in batch.runs] == ["a", "b", "c", "pooled"]
    np.testing.assert_allclose(batch.features, box.to_features(batch.raw))
    np.testing.assert_allclose(batch.vectors, box.encode(batch.raw))
    assert batch.feature_names == box.feature_names
    sub = batch.subset(batch.source == "sobol")
    assert len(sub) == n_sobol and (sub.source == "sobol").all()


def test_every_trial_vector_is_recorded(box: SearchSpace) -> None:
    batch = generate_box_candidates(
        box, {"a": concave_family(1)}, n_candidates=100_000, maxiter=5, popsize=4,
        tol=0.0, time_budget_s=None, sobol_fraction_per_family=0.0,
    )
    for run in batch.runs:
        assert run.n_generations == 5 and run.n_trials == 6 * 4 * D
    assert len(batch) == sum(r.n_trials for r in batch.runs)


def test_deterministic_under_a_seed(box: SearchSpace) -> None:
    members = {"a": concave_family(1), "b": concave_family(2)}
    one = generate_box_candidates(box, members, **FAST)
    two = generate_box_candidates(box, members, **FAST)
    np.testing.assert_array_equal(one.features, two.features)
    np.testing.assert_array_equal(one.source, two.source)
    np.testing.assert_array_equal(one.objective, two.objective)
    other = generate_box_candidates(box, members, **(FAST | {"seed": 1}))
    assert not np.array_equal(one.features, other.features)


def test_mixed_space_with_constraints_stays_valid() -> None:
    space = SearchSpace(
        [
            ContinuousParameter("t", 0.0, 10.0),
            ContinuousParameter("c", 1e-2, 1e2, log_scale=True),
            IntegerParameter("n", 1, 4),
            CategoricalParameter("m", ["A", "B", "C"]),
        ],
        linear_constraints=[({"t": 1.0, "n": 2.0}, 9.0)],
    )
    w = np.array([0.3, -1.0, 0.5, 0.0, 2.0, -1.0])  # prefers t, n large, c small, m = "B"

    def members(X: np.ndarray) -> np.ndarray:
        base = X @ w
        return base[None, :] + np.array([[0.0], [0.1], [-0.1]])

    batch = generate_box_candidates(
        space, {"lin": members}, n_candidates=300, maxiter=30, popsize=10, time_budget_s=None
    )
    assert space.contains(batch.raw).all()
    assert (batch.raw["t"] + 2 * batch.raw["n"] <= 9.0).all()
    assert batch.raw["n"].dtype == np.int64 and batch.raw["n"].between(1, 4).all()
    assert set(batch.raw["m"]) <= {"A", "B", "C"}
    onehot = batch.features[:, 3:]
    assert set(np.unique(onehot)) == {0.0, 1.0} and (onehot.sum(axis=1) == 1).all()
    lower, upper = space.bounds[:, 0], space.bounds[:, 1]
    assert ((batch.vectors >= lower) & (batch.vectors <= upper)).all()
    best = batch.raw.iloc[0]
    assert best["m"] == "B" and best["c"] < 0.1


def test_time_budget_stops_all_runs(box: SearchSpace) -> None:
    def slow(X: np.ndarray) -> np.ndarray:
        time.sleep(0.005)
        return concave_family(1)(X)

    start = time.perf_counter()
    batch = generate_box_candidates(
        box,
        {"a": slow, "b": slow},
        n_candidates=200,
        maxiter=100_000,
        tol=0.0,
        time_budget_s=0.6,
        popsize=5,
    )
    elapsed = time.perf_counter() - start
    assert all(r.stopped_by_time for r in batch.runs)
    assert elapsed < 0.6 + 1.0
    assert batch.runs[0].time_limit_s == pytest.approx(0.2, abs=0.05)  # a third of the budget


def test_per_run_allocation_shares_candidates_between_runs(box: SearchSpace) -> None:
    members = {"high": concave_family(1, offset=100.0), "low": concave_family(2)}
    pooled = generate_box_candidates(box, members, allocation="pooled", **FAST)
    counts = pd.Series(pooled.source[pooled.source != "sobol"]).value_counts()
    assert counts.get("low", 0) == 0  # the high family crowds the low one out
    shared = generate_box_candidates(box, members, allocation="per_run", **FAST)
    counts = pd.Series(shared.source[shared.source != "sobol"]).value_counts()
    assert counts["low"] >= 400 // 3 - 1 and counts["high"] >= 400 // 3 - 1


def test_member_draws_average_distinct_members() -> None:
    space = SearchSpace([ContinuousParameter("x", 0.0, 1.0)])

    def members(X: np.ndarray) -> np.ndarray:
        return np.repeat(np.arange(4.0)[:, None], X.shape[0], axis=1)

    rng = np.random.default_rng(0)
    v = np.full((1, 5_000), 0.5)
    per_vector = -MemberMeanObjective(space, [("f", members)], 2, rng)(v)
    assert set(np.round(per_vector, 6)) == {0.5, 1.0, 1.5, 2.0, 2.5}  # pairs, no repeats
    assert per_vector.mean() == pytest.approx(1.5, abs=0.05)
    per_call = -MemberMeanObjective(space, [("f", members)], 2, rng, redraw="call")(v)
    assert np.unique(per_call).size == 1
    everything = -MemberMeanObjective(space, [("f", members)], 10, rng)(v)
    assert np.all(everything == 1.5)  # fewer members than asked for: all of them


def test_bad_members_are_reported(box: SearchSpace) -> None:
    with pytest.raises(ValueError, match="reserved"):
        generate_box_candidates(box, {"sobol": concave_family(1)}, **FAST)
    with pytest.raises(ValueError, match=r"family 'bad'.*shape \(B, \d+\)"):
        generate_box_candidates(box, {"bad": lambda X: np.ones((2, 3))}, **FAST)
    with pytest.raises(ValueError, match="family 'nan'.*NaN"):
        generate_box_candidates(box, {"nan": lambda X: np.full((2, X.shape[0]), np.nan)}, **FAST)
    with pytest.raises(TypeError, match="non-empty mapping"):
        generate_box_candidates(box, {}, **FAST)
    with pytest.raises(ValueError, match="time_budget_s"):
        generate_box_candidates(box, {"a": concave_family(1)}, **(FAST | {"time_budget_s": 0.0}))
