"""sample_local_codes and the local candidates of generate_box_candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from axfusion.candidates import (
    LOCAL,
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
    SearchSpace,
    generate_box_candidates,
    sample_local_codes,
)

D = 20


@pytest.fixture
def box() -> SearchSpace:
    return SearchSpace([ContinuousParameter(f"x{i}", -5.0, 5.0) for i in range(D)])


def test_steps_follow_the_scales_around_the_anchor(box: SearchSpace) -> None:
    anchor = np.full((1, D), 1.0)
    for scale in (0.01, 0.1):
        codes = sample_local_codes(box, anchor, 2000, scales=(scale,), perturb_probability=1.0, seed=0)
        assert codes.shape == (2000, D)
        steps = codes - anchor
        # Range 10, so the step standard deviation is 10 * scale in every coordinate.
        np.testing.assert_allclose(steps.std(axis=0).mean(), 10 * scale, rtol=0.05)
        assert abs(steps.mean()) < 0.05 * 10 * scale


def test_a_random_subset_of_coordinates_moves() -> None:
    space = SearchSpace([ContinuousParameter(f"x{i}", 0.0, 1.0) for i in range(40)])
    anchor = np.full((1, 40), 0.5)
    codes = sample_local_codes(space, anchor, 3000, scales=(0.05,), seed=1)
    moved = codes != 0.5
    assert moved.any(axis=1).all()  # at least one coordinate always moves
    # Default probability min(1, 20 / D) = 0.5 per coordinate.
    assert moved.mean() == pytest.approx(0.5, abs=0.03)


def test_better_anchors_are_chosen_more_often(box: SearchSpace) -> None:
    anchors = np.stack([np.full(D, -4.0), np.full(D, 0.0), np.full(D, 4.0)])
    codes = sample_local_codes(box, anchors, 6000, scales=(0.01,), perturb_probability=1.0, seed=2)
    nearest = np.argmin(np.linalg.norm(codes[:, None, :] - anchors[None], axis=-1), axis=1)
    share = np.bincount(nearest, minlength=3) / codes.shape[0]
    np.testing.assert_allclose(share, [3 / 6, 2 / 6, 1 / 6], atol=0.03)


def test_steps_are_clipped_to_the_box(box: SearchSpace) -> None:
    corner = np.full((1, D), 5.0)
    codes = sample_local_codes(box, corner, 500, scales=(0.2,), seed=3)
    assert (codes <= 5.0).all() and (codes >= -5.0).all()


def test_mixed_space_with_constraint_gives_valid_designs() -> None:
    space = SearchSpace(
        [
            ContinuousParameter("a", 0.0, 1.0),
            ContinuousParameter("b", 0.0, 1.0),
            IntegerParameter("n", 1, 9),
            CategoricalParameter("c", ["x", "y", "z"]),
        ],
        linear_constraints=[LinearConstraint({"a": 1.0, "b": 1.0}, 1.0)],
    )
    anchor = space.raw_to_codes(pd.DataFrame({"a": [0.5], "b": [0.45], "n": [5], "c": ["y"]}))
    codes = sample_local_codes(space, anchor, 1000, scales=(0.2,), perturb_probability=1.0, seed=4)
    assert 0 < codes.shape[0] < 1000  # some draws leave the feasible region and are dropped
    raw = space.codes_to_raw(codes)
    assert space.contains(raw).all()
    assert set(raw["c"]) == {"x", "y", "z"}  # categorical steps cross cell boundaries
    assert (raw["n"] == raw["n"].round()).all()


def test_deterministic_under_a_seed(box: SearchSpace) -> None:
    anchors = np.zeros((2, D))
    a = sample_local_codes(box, anchors, 100, seed=5)
    b = sample_local_codes(box, anchors, 100, seed=5)
    c = sample_local_codes(box, anchors, 100, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(anchors=np.zeros((0, D))), "non-empty"),
        (dict(anchors=np.zeros((1, D - 1))), "non-empty"),
        (dict(anchors=np.full((1, D), np.nan)), "NaN"),
        (dict(scales=()), "scales"),
        (dict(scales=(0.0,)), "scales"),
        (dict(scales=(1.5,)), "scales"),
        (dict(perturb_probability=0.0), "perturb_probability"),
        (dict(n=-1), "n"),
    ],
)
def test_bad_arguments_are_named(box: SearchSpace, kwargs: dict, message: str) -> None:
    args = dict(anchors=np.zeros((1, D)), n=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sample_local_codes(box, args.pop("anchors"), args.pop("n"), **args)


def members(X: np.ndarray) -> np.ndarray:
    return -(X[None] ** 2).sum(axis=-1).repeat(2, axis=0)


FAST = dict(n_candidates=200, maxiter=3, popsize=2, time_budget_s=None, seed=0)


def test_generation_adds_local_candidates_between_de_and_sobol(box: SearchSpace) -> None:
    anchor = np.full((1, D), 2.0)
    plain = generate_box_candidates(box, {"a": members}, **FAST)
    batch = generate_box_candidates(box, {"a": members}, anchors=anchor, n_local=300, **FAST)
    local = batch.source == LOCAL
    assert local.sum() == 300
    first, last = np.flatnonzero(local)[[0, -1]]
    assert (batch.source[:first] != "sobol").all() and (batch.source[last + 1 :] == "sobol").all()
    assert np.isnan(batch.objective[local]).all()
    # Local points are near the anchor; the DE and Sobol candidates are those of the plain
    # recipe (n_local = 0 reproduces the authors' recipe exactly).
    assert np.abs(batch.features[local] - 2.0).max(axis=1).mean() < 2.5
    np.testing.assert_array_equal(batch.features[~local], plain.features)


def test_generation_needs_anchors_for_local_candidates(box: SearchSpace) -> None:
    with pytest.raises(ValueError, match="anchors"):
        generate_box_candidates(box, {"a": members}, n_local=10, **FAST)


def test_local_is_a_reserved_family_name(box: SearchSpace) -> None:
    with pytest.raises(ValueError, match="reserved"):
        generate_box_candidates(box, {"local": members}, **FAST)
