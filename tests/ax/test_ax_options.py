from __future__ import annotations

import pytest

from axfusion.ax.options import fusion_configs, normalise_options, valid_option_names


def test_flat_options_reach_the_three_configs():
    configs = fusion_configs(
        {"families": ["ridge", "knn"], "n_members": 3, "pi_range": [0.6, 1.0], "flat_factor": 0.05, "hv_n_samples": 8},
        batch_size=4,
    )
    assert configs.optimizer.batch_size == 4
    assert configs.optimizer.families == ("ridge", "knn") and configs.optimizer.pi_range == (0.6, 1.0)
    assert configs.optimizer.n_members == 3
    assert configs.fusion.flat_factor == 0.05
    assert configs.hypervolume.n_samples == 8


def test_options_are_json_friendly_and_checked():
    assert normalise_options({"families": ("ridge",)}) == {"families": ["ridge"]}
    assert "batch_size" not in valid_option_names()
    with pytest.raises(TypeError, match="n_memebrs"):
        normalise_options({"n_memebrs": 3})
