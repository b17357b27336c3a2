from __future__ import annotations

import numpy as np
import pytest

from axfusion.structure.weights import (
    COMPONENTS,
    ModeGeometry,
    bridge_scores,
    check_component_weights,
    check_pi_range,
    combine,
    coverage_by_group,
    novelty_scores,
    tail_scores,
)


def test_bridge_scores_follow_the_majority_share() -> None:
    modes = np.array(
        [
            [0, 0, 0, 0],  # one mode: not a bridge
            [0, 0, 1, 1],  # evenly split: full bridge
            [0, 0, 0, 1],  # 3/4 majority
            [2, -1, 2, -1],  # noise counts as one mode
        ]
    )
    np.testing.assert_allclose(bridge_scores(modes, 0.5), [0.0, 1.0, 0.5, 1.0])
    assert bridge_scores(np.zeros((3, 0), dtype=int), 0.5).tolist() == [0.0, 0.0, 0.0]


def test_tail_scores_rise_only_in_the_sparse_half() -> None:
    reference = np.sort(np.arange(1.0, 101.0))
    u = tail_scores(np.array([1.0, 50.0, 75.0, 100.0, 1e9]), reference, 0.5)
    np.testing.assert_allclose(u, [0.0, 0.0, 0.5, 1.0, 1.0])


def test_coverage_scores() -> None:
    # group 0 unsampled, group 1 sampled like the pool, group 2 heavily sampled
    u = coverage_by_group(np.array([100, 100, 100]), np.array([0, 10, 50]))
    overall = 60 / 360
    expected = [1.0, 1.0 / (1.0 + (10 / 110) / overall), 1.0 / (1.0 + (50 / 150) / overall)]
    np.testing.assert_allclose(u, expected)
    assert u[0] > u[1] > u[2]
    np.testing.assert_allclose(coverage_by_group(np.array([5, 7]), np.array([0, 0])), [1.0, 1.0])


def test_novelty_scores() -> None:
    u = novelty_scores(np.array([0.0, 1.0, np.inf]), 1.0)
    np.testing.assert_allclose(u, [0.0, 1.0 - np.exp(-1.0), 1.0])


def test_edge_scores_are_within_mode_ranks() -> None:
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(500, 2))
    modes = np.zeros(500, dtype=int)
    geometry = ModeGeometry(Z, modes, 1)
    u = geometry.edge_scores(np.array([[0.0, 0.0], [10.0, 0.0], [1.0, 1.0]]), np.array([0, 0, -1]))
    assert u[0] < 0.05 and u[1] == 1.0 and u[2] == 1.0
    own = geometry.edge_scores(Z, modes)
    assert 0.45 < own.mean() < 0.55  # uniform ranks


def test_combine_maps_into_pi_range() -> None:
    comps = {name: np.array([0.0, 1.0, 0.5]) for name in COMPONENTS}
    pi = combine(comps, check_component_weights(None), (0.5, 1.0))
    np.testing.assert_allclose(pi, [0.5, 1.0, 0.75])
    only_edge = combine(
        {**comps, "edge": np.array([1.0, 1.0, 1.0])},
        {name: (1.0 if name == "edge" else 0.0) for name in COMPONENTS},
        (0.2, 0.9),
    )
    np.testing.assert_allclose(only_edge, [0.9, 0.9, 0.9])


@pytest.mark.parametrize("bad", [(0.0, 1.0), (0.6, 0.5), (0.5, 1.1), (0.5,), "ab"])
def test_pi_range_validation(bad) -> None:
    with pytest.raises(ValueError, match="pi_range"):
        check_pi_range(bad)


def test_component_weight_validation() -> None:
    with pytest.raises(ValueError, match="unknown pi component"):
        check_component_weights({"density": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        check_component_weights({"edge": -1.0})
    with pytest.raises(ValueError, match="positive"):
        check_component_weights({name: 0.0 for name in COMPONENTS})
    assert check_component_weights({"edge": 2.0})["edge"] == 2.0
