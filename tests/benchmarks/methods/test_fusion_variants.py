r"""The ablations run by ``axfusion bench`` as ``fusion:<variant>``: each one is registered,
changes what it says in the settings tree, and runs a budget on a pool."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.benchmarks.methods import fusion
from axfusion.benchmarks.methods.base import get_method, list_methods
from axfusion.benchmarks.suites import ABLATION_METHODS, get_suite
from axfusion.benchmarks.tasks import PoolTask

QUICK = ["fusion:no_stage0", "fusion:kf_only", "fusion:no_pi", "fusion:qlognei", "fusion:authors_code"]


@pytest.fixture(scope="module")
def tiny_pool():
    return PoolTask.from_dataset("crossed_barrel", n_initial=15, n_iterations=1, batch_size=4)


def test_every_ablation_of_the_suite_is_registered():
    registered = set(list_methods())
    assert set(ABLATION_METHODS) <= registered
    assert {f"fusion:{v}" for v in fusion.VARIANTS} <= registered
    assert "fusion:family=knn" in registered and "fusion:family=gp" in registered
    assert get_suite("ablations").default_methods == ABLATION_METHODS


def test_variants_change_the_settings_they_name(tiny_pool):
    def settings(name, **options):
        return get_method(name, **options).settings(tiny_pool, box=False)

    full = settings("fusion")
    assert settings("fusion:no_stage0").stage0.limit_capacity is False
    assert settings("fusion:kf_only").stage3.fusion.kalman.weights == "kf"
    assert settings("fusion:no_pi").stage2.structure.pi_range == (1.0, 1.0)
    assert settings("fusion:qlognei").stage3.acquisition == "qlognei"
    assert settings("fusion:uniform_families").stage3.fusion.family_weighting == "uniform"
    assert full.stage3.fusion.family_weighting == "auto"
    assert settings("fusion:tier=low").stage1.families == ("lasso", "ridge", "elasticnet")
    assert settings("fusion:family=knn", n_members=3).stage1.families == ("knn",)
    assert settings("fusion:paper").stage1.n_members == 10
    authors = settings("fusion:authors_code")
    assert authors.stage3.fusion.kalman.channels == "r2" and not authors.stage3.batch.cluster_bandwidth
    # everything else is the full method's
    assert settings("fusion:no_bias").with_options({"stage1.target_bias": True}) == full


@pytest.mark.parametrize("name", QUICK)
def test_ablations_run_a_budget(name, tiny_pool, run_method, assert_pool_valid):
    m = get_method(name, n_members=2, families=("ridge", "knn"))
    ev = run_method(m, tiny_pool)
    assert_pool_valid(tiny_pool, ev)
    rec = m.diagnostics()[0]
    if name == "fusion:no_stage0":
        assert rec["capacity"]["capacity"] == 1_000_000
    if name == "fusion:qlognei":
        assert rec["fusion"] == {} and not rec["diversity"]["diversified"]


def test_kf_and_rkf_weights_give_different_fusion_channels():
    from axfusion.acquisition.fusion import FusionScorer
    from axfusion.settings import FusionConfig, KalmanConfig

    rng = np.random.default_rng(0)
    M, k = 3, 50
    Y = rng.normal(size=(30, 1))
    scorer = FusionScorer(Y, ["a", "b", "c"], rng.uniform(0.2, 0.9, (M, 1)), rng.uniform(0.2, 0.9, (M, 1)),
                          rng.uniform(0.1, 1.0, (M, 1)))
    mu, sigma = rng.normal(size=(M, k, 1)), rng.uniform(0.1, 1.0, (M, k, 1))
    Z = rng.normal(size=(k, 4))
    out = {}
    for weights in ("mixed", "kf", "rkf"):
        s = scorer.with_config(kalman=KalmanConfig(weights=weights))
        s.calibrate(Z, mu, sigma)
        out[weights] = s.channels(mu, sigma)["fusion"]
    assert not np.allclose(out["kf"], out["rkf"])
    assert FusionConfig().kalman.weights == "mixed"
