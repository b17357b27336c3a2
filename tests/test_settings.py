r"""Tests of axfusion.settings: the presets, option paths, validation and round trips."""

from __future__ import annotations

import pytest

from axfusion.settings import PRESETS, Settings, SettingsError, preset


def test_presets_differ_where_the_docs_say():
    default, paper, code = preset("default"), preset("paper"), preset("authors_code")
    assert default.stage1.bias_off_below_n_per_d2 == "auto" and default.stage3.batch.family_share == 0.3
    assert default.stage1.bias_threshold(pool=True) == 10.0 and default.stage1.bias_threshold(pool=False) is None
    assert default.stage3.batch.explore_share == 0.3
    assert paper.stage1.bias_off_below_n_per_d2 is None and paper.stage3.batch.family_share == 0.0
    assert paper.stage1.n_members == 10 and paper.stage2.box.maxiter == 1000
    assert code.stage1.bias_off_below_n_per_d2 == 10.0 and code.stage3.batch.family_share == 0.0
    assert code.stage1.bias_threshold(pool=False) == 10.0 and paper.stage1.bias_threshold(pool=True) is None
    assert not code.stage2.structure.enabled and code.stage3.fusion.kalman.channels == "r2"
    assert set(PRESETS) == {"default", "paper", "authors_code"}


def test_options_by_path_unique_leaf_and_legacy_name():
    s = preset("paper", {"family_share": 0.2, "stage3.fusion.distance_spread": True, "n_local_candidates": 50})
    assert s.stage3.batch.family_share == 0.2 and s.stage3.fusion.distance_spread
    assert s.stage2.box.n_local == 50
    assert Settings.from_dict(s.as_dict()) == s


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"family_share": 1.0}, "family_share must lie in [0, 1)"),
        ({"family_share": -0.1}, "family_share"),
        ({"explore_share": 0.8}, "explore_share must lie in [0, 1 - family_share)"),
        ({"stall_explore_share": 0.7}, "stall_explore_share must be None or lie in [0, 1 - family_share)"),
        ({"stall_batches": 0}, "stall_batches must be >= 1"),
        ({"family_temperature": 0.0}, "family_temperature"),
        ({"family_weighting": "best"}, "family_weighting"),
        ({"bias_off_below_n_per_d2": "sometimes"}, "bias_off_below_n_per_d2"),
        ({"bias_off_below_n_per_d2": -1.0}, "bias_off_below_n_per_d2"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
)
def test_bad_values_are_refused_in_one_line(options, fragment):
    with pytest.raises(SettingsError) as err:
        preset("default", options)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_preset():
    with pytest.raises(SettingsError, match="unknown preset 'fast'"):
        preset("fast")


def test_family_weighting_auto_is_probability_in_a_box_and_uniform_on_a_pool():
    fusion = Settings().stage3.fusion
    assert fusion.family_weighting == "auto"
    assert fusion.weighting(pool=False) == "probability" and fusion.weighting(pool=True) == "uniform"
    for name in ("paper", "authors_code"):
        assert preset(name).stage3.fusion.weighting(pool=False) == "uniform"
    chosen = Settings().with_options({"family_weighting": "softmax"}).stage3.fusion
    assert chosen.weighting(pool=False) == chosen.weighting(pool=True) == "softmax"
