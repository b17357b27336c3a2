from __future__ import annotations

import pytest

from axfusion.ax.node import FusionGenerationNode
from axfusion.ax.options import node_settings, normalise_options, valid_option_names
from axfusion.settings import Settings


def test_options_reach_every_stage_of_the_tree():
    s = node_settings(
        "default",
        {
            "families": ["ridge", "knn"], "n_members": 3, "pi_range": [0.6, 1.0], "flat_factor": 0.05,
            "hv_n_samples": 8, "stage3.fusion.kalman.channels": "r2", "n_box_candidates": 500,
        },
        batch_size=4,
    )
    assert s.loop.batch_size == 4
    assert s.stage1.families == ("ridge", "knn") and s.stage2.structure.pi_range == (0.6, 1.0)
    assert s.stage1.n_members == 3 and s.stage2.box.n_candidates == 500
    assert s.stage3.fusion.flat_factor == 0.05 and s.stage3.fusion.kalman.channels == "r2"
    assert s.stage3.hypervolume.n_samples == 8
    assert node_settings("authors_code", None, 2).stage3.fusion.kalman.channels == "r2"


def test_options_are_json_friendly_and_checked():
    assert normalise_options({"families": ("ridge",)}) == {"families": ["ridge"]}
    assert "loop.batch_size" not in valid_option_names() and "stage1.n_members" in valid_option_names()
    with pytest.raises(TypeError, match="n_memebrs"):
        normalise_options({"n_memebrs": 3})
    with pytest.raises(TypeError, match="batch_size"):
        normalise_options({"batch_size": 3})


def test_node_stores_the_whole_settings_tree():
    node = FusionGenerationNode(batch_size=3, preset="paper", options={"stage3.batch.cluster_bandwidth": False})
    stored = node.init_args()["settings"]
    tree = Settings.from_dict(stored)
    assert tree == node.settings and tree.loop.batch_size == 3
    assert tree.stage1.n_members == 10 and tree.stage3.batch.cluster_bandwidth is False
    again = FusionGenerationNode(**{k: v for k, v in node.init_args().items() if k != "transition_criteria"})
    assert again.settings == node.settings


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"seed": None}, TypeError, "seed must be a whole number; got None"),
    ({"seed": 1.5}, TypeError, "seed must be a whole number"),
    ({"seed": "1"}, TypeError, "seed must be a whole number"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be a whole number"),
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
    ({"n_initial": 7.5}, TypeError, "n_initial must be a whole number"),
    ({"bogus": 1}, TypeError, "unknown option 'bogus'"),
])
def test_strategy_arguments_are_not_coerced(kwargs, error, match):
    # issue 22: no float, string or None becomes a seed, batch size or design size
    import numpy as np

    from axfusion.ax import fusion_generation_strategy, generation_strategy

    with pytest.raises(error, match=match):
        fusion_generation_strategy(**kwargs)
    if "bogus" not in kwargs:
        with pytest.raises(error, match=match):
            generation_strategy("sobol" if "n_initial" not in kwargs else "fusion", **kwargs)
    fusion_generation_strategy(seed=np.int64(3), batch_size=np.int32(2))  # numpy integers are fine
