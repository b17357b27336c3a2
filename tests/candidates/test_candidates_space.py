"""SearchSpace and parameters: representations, exact levels, integers, constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.candidates import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
    SearchSpace,
)

LEVELS = ("Fe", "Co", 3, 2.5)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        [
            ContinuousParameter("x", -1.0, 2.0),
            ContinuousParameter("rate", 1e-3, 10.0, log_scale=True),
            IntegerParameter("n", 2, 6),
            CategoricalParameter("el", LEVELS),
        ]
    )


def test_description(space: SearchSpace) -> None:
    assert space.dim == 4 and space.n_features == 7
    assert space.feature_names == ("x", "log10(rate)", "n", "el=Fe", "el=Co", "el=3", "el=2.5")
    np.testing.assert_allclose(space.bounds, [[-1, 2], [-3, 1], [1.5, 6.5], [0, 4]])


@pytest.mark.parametrize("sampler", ["sample_sobol", "sample_random"])
def test_samples_hold_exact_levels_and_integers(space: SearchSpace, sampler: str) -> None:
    raw = getattr(space, sampler)(512, seed=5)
    assert list(raw.columns) == ["x", "rate", "n", "el"] and len(raw) == 512
    assert raw["n"].dtype == np.int64 and raw["n"].between(2, 6).all()
    assert set(raw["n"]) == {2, 3, 4, 5, 6}
    assert all(any(v is level for level in LEVELS) for v in raw["el"])  # the very objects
    assert set(raw["el"]) == set(LEVELS)
    assert raw["rate"].between(1e-3, 10.0).all() and raw["x"].between(-1, 2).all()
    assert space.contains(raw).all()
    features = space.to_features(raw)
    onehot = features[:, 3:]
    assert set(np.unique(onehot)) == {0.0, 1.0} and (onehot.sum(axis=1) == 1).all()


def test_sobol_is_deterministic_and_balanced(space: SearchSpace) -> None:
    a, b = space.sample_sobol(256, seed=1), space.sample_sobol(256, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(space.sample_sobol(256, seed=2))
    assert a["n"].value_counts().min() >= 45  # 5 integers share 256 points evenly
    assert (a["el"].value_counts() == 64).all()  # 256 points, 4 levels: a balanced net


def test_decode_of_any_vector_in_bounds_is_valid(space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    b = space.bounds
    v = b[:, 0] + rng.random((2_000, 4)) * (b[:, 1] - b[:, 0])
    v = np.vstack([v, b[:, 0], b[:, 1]])  # both ends of every interval, upper ends included
    raw = space.decode(v)
    assert space.contains(raw).all()
    assert raw["n"].isin(range(2, 7)).all()
    # a categorical dimension is floored: 1.99 -> level 1, 2.0 -> level 2
    probe = np.array([[0.0, 0.0, 4.0, 1.99], [0.0, 0.0, 4.4, 2.0], [0.0, 0.0, 4.6, 4.0]])
    decoded = space.decode(probe)
    assert decoded["el"].tolist() == ["Co", 3, 2.5]
    assert decoded["n"].tolist() == [4, 4, 5]


def test_encode_decode_round_trip(space: SearchSpace) -> None:
    raw = space.sample_random(100, seed=3)
    v = space.encode(raw)
    assert ((v >= space.bounds[:, 0]) & (v <= space.bounds[:, 1])).all()
    back = space.decode(v)
    np.testing.assert_allclose(back["rate"], raw["rate"], rtol=1e-12)
    assert back["n"].tolist() == raw["n"].tolist() and back["el"].tolist() == raw["el"].tolist()


def test_contains_flags_each_kind_of_violation(space: SearchSpace) -> None:
    raw = pd.DataFrame(
        {
            "x": [0.0, 3.0, 0.0, 0.0, 0.0, np.nan],
            "rate": [1.0, 1.0, 1.0, 1.0, 0.0, 1.0],
            "n": [3, 3, 3.5, 3, 3, 3],
            "el": ["Fe", "Fe", "Fe", "Ni", "Fe", "Fe"],
        }
    )
    assert space.contains(raw).tolist() == [True, False, False, False, False, False]
    with pytest.raises(ValueError, match=r"'el'.*\['Ni'\]"):
        space.to_features(raw.iloc[[3]])
    with pytest.raises(ValueError, match=r"integer parameter 'n'.*\[3.5\]"):
        space.encode(raw.iloc[[2]])
    with pytest.raises(KeyError, match="el"):
        space.to_features(raw[["x", "rate", "n"]])


def test_linear_constraints_filter_samples_and_membership() -> None:
    space = SearchSpace(
        [
            ContinuousParameter("a", 0, 1),
            ContinuousParameter("b", 0, 1),
            IntegerParameter("k", 0, 3),
        ],
        [LinearConstraint({"a": 1.0, "b": 1.0}, 1.0), ({"k": 1.0, "a": -1.0}, 2.0)],
    )
    raw = space.sample_sobol(300, seed=0)
    assert len(raw) == 300
    assert (raw["a"] + raw["b"] <= 1.0).all() and (raw["k"] - raw["a"] <= 2.0).all()
    assert space.contains(raw).all()
    outside = pd.DataFrame({"a": [0.8], "b": [0.5], "k": [0]})
    assert not space.contains(outside).any()
    impossible = SearchSpace(
        [ContinuousParameter("a", 0, 1)], [({"a": 1.0}, -1.0)], max_rejection_draws=5
    )
    with pytest.raises(ValueError, match="0 of 50 points.*satisfy the linear constraints"):
        impossible.sample_random(10)


def test_parameter_and_space_validation() -> None:
    with pytest.raises(ValueError, match="lower < upper"):
        ContinuousParameter("x", 1.0, 1.0)
    with pytest.raises(ValueError, match="lower > 0"):
        ContinuousParameter("x", 0.0, 1.0, log_scale=True)
    with pytest.raises(TypeError, match="must be an int"):
        IntegerParameter("n", 0.5, 3)
    with pytest.raises(ValueError, match="repeated"):
        CategoricalParameter("c", ["a", "b", "a"])
    with pytest.raises(ValueError, match="at least one level"):
        CategoricalParameter("c", [])
    with pytest.raises(TypeError, match="sequence of levels"):
        CategoricalParameter("c", "abc")
    x = ContinuousParameter("x", 0, 1)
    with pytest.raises(ValueError, match="distinct"):
        SearchSpace([x, x])
    with pytest.raises(ValueError, match="unknown parameter 'y'"):
        SearchSpace([x], [({"y": 1.0}, 1.0)])
    with pytest.raises(ValueError, match="categorical parameter 'c'"):
        SearchSpace([x, CategoricalParameter("c", ["a"])], [({"c": 1.0}, 1.0)])
    with pytest.raises(ValueError, match=r"shape \(k, 1\)"):
        SearchSpace([x]).decode(np.zeros((3, 2)))
