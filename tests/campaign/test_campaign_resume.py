r"""Exact resume: a campaign resumed from its file proposes what the uninterrupted campaign
would have, under every preset and non-default options, also after a SIGKILL mid-suggest;
a resumed campaign on another pool is refused by name; ``observe`` is atomic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from axfusion.campaign import CampaignMismatchError, FusionOptimizer
from axfusion.candidates import CategoricalParameter, ContinuousParameter, SearchSpace

#: Small surrogates, so that a batch takes well under a second.
SMALL = {"families": ("ridge", "knn", "lightgbm"), "n_members": 3, "batch_size": 4, "budget_iterations": 10}


def _pool(N=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, d))
    y = np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2
    return X, y


def _without_timings(state: dict) -> dict:
    r"""A campaign file without the wall times (the one thing two runs may not share)."""
    return {**state, "diagnostics": [{k: v for k, v in r.items() if k != "timings"} for r in state["diagnostics"]]}


def _run(opt, y, n):
    out = []
    for _ in range(n):
        s = opt.suggest()
        ids = s.row_ids
        opt.observe(ids=ids, Y=y[ids])
        out.append((ids.tolist(), s.table["utility"].round(12).tolist(), s.record.novelty))
    return out


CASES = [
    ("default", {}),
    ("paper", {}),
    ("authors_code", {}),
    ("default", {"use_fusion_channel": False}),
    ("default", {"stage3.batch.cluster_bandwidth": False, "stage2.structure.pi_range": (0.7, 1.0)}),
    ("default", {"member_weighting": "uniform", "target_bias": False, "stage3.batch.diversity_check": False}),
    ("paper", {"stage3.fusion.kalman.channels": "r2", "ucb_h": 0.5, "stage2.structure.enabled": False}),
]


@pytest.mark.parametrize(("preset", "options"), CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
def test_resumed_pool_campaign_proposes_what_the_uninterrupted_one_would(tmp_path, preset, options):
    X, y = _pool()
    path = tmp_path / "c.json"
    a = FusionOptimizer(X, "maximize", settings=preset, options={**SMALL, **options}, state_path=path, seed=5)
    init = np.arange(0, 300, 15)
    a.observe(ids=init, Y=y[init])
    _run(a, y, 1)
    b = FusionOptimizer.resume(path, X, save=False)  # as a new process would (`a` keeps saving the file)
    assert b.settings == a.settings and _without_timings(b.state_dict()) == _without_timings(a.state_dict())
    ahead, again = _run(a, y, 3), _run(b, y, 3)
    assert [r[:2] for r in ahead] == [r[:2] for r in again]
    assert [r[2] for r in ahead] == pytest.approx([r[2] for r in again])
    assert all(np.isfinite(r[2]) for r in again)  # novelty survives the resume
    saved = json.loads(path.read_text())["settings"]
    assert saved == a.settings.as_dict()


def test_box_campaign_with_a_time_budget_resumes_exactly(tmp_path):
    space = SearchSpace(
        [ContinuousParameter("x1", -1, 1), ContinuousParameter("x2", -1, 1), CategoricalParameter("c", ["a", "b"])]
    )

    def f(frame):
        x1, x2, c = frame["x1"].to_numpy(), frame["x2"].to_numpy(), frame["c"].to_numpy()
        return -((x1 - 0.3) ** 2) - x2**2 + 0.5 * (c == "b")

    options = {**SMALL, "n_candidates": 300, "time_budget_s": 0.3, "maxiter": 500, "popsize": 6}
    path = tmp_path / "box.json"
    a = FusionOptimizer(space, "maximize", options=options, state_path=path, seed=2)
    init = space.sample_sobol(10, seed=1)
    a.observe(X=init, Y=f(init))
    s = a.suggest()
    a.observe(X=s.table[list(space.names)], Y=f(s.table))
    decided = a.state.box_generations
    assert decided is not None and 1 <= decided < 500  # the budget stopped DE and was recorded
    b = FusionOptimizer.resume(path, space, save=False)  # `a` keeps saving the file
    assert b.state.box_generations == decided
    for _ in range(2):
        sa, sb = a.suggest(), b.suggest()
        cols = list(space.names)
        assert sa.table[cols].equals(sb.table[cols])
        a.observe(X=sa.table[cols], Y=f(sa.table))
        b.observe(X=sb.table[cols], Y=f(sb.table))
    assert a.state.box_generations == decided


_KILLED = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import axfusion.campaign.loop as loop
    from axfusion.campaign import FusionOptimizer

    path, marker = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 4))
    y = np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2
    opt = FusionOptimizer(X, "maximize", options=%r, state_path=path, seed=5)
    init = np.arange(0, 300, 15)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    opt.observe(ids=s.row_ids, Y=y[s.row_ids])
    real = loop.stage3_batch

    def stuck(*args, **kwargs):
        open(marker, "w").close()
        time.sleep(60)
        return real(*args, **kwargs)

    loop.stage3_batch = stuck
    opt.suggest()
    """
)


def test_sigkill_mid_suggest_leaves_a_campaign_that_resumes_exactly(tmp_path):
    X, y = _pool()
    path, marker = tmp_path / "k.json", tmp_path / "inside-suggest"
    script = tmp_path / "campaign.py"
    script.write_text(_KILLED % (SMALL,))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(marker)], env=env)
    try:
        deadline = time.time() + 240
        while not marker.exists():
            assert proc.poll() is None, "the campaign process ended before its second suggest"
            assert time.time() < deadline, "the campaign process did not reach its second suggest"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    resumed = FusionOptimizer.resume(path, X)
    assert resumed.iteration == 1 and resumed.pending == [] and resumed.n_observed == 24
    a = FusionOptimizer(X, "maximize", options=SMALL, seed=5)
    init = np.arange(0, 300, 15)
    a.observe(ids=init, Y=y[init])
    _run(a, y, 1)
    assert _without_timings(resumed.state_dict()) == _without_timings(a.state_dict())
    assert [r[0] for r in _run(a, y, 3)] == [r[0] for r in _run(resumed, y, 3)]


def test_a_changed_row_or_a_resorted_pool_is_refused_by_name(tmp_path):
    X, y = _pool()
    path = tmp_path / "c.json"
    a = FusionOptimizer(X, "maximize", options=SMALL, state_path=path, seed=0)
    a.observe(ids=np.arange(20), Y=y[:20])
    changed = X.copy()
    changed[150, 2] += 1e-9
    with pytest.raises(CampaignMismatchError, match="row 150 differs"):
        FusionOptimizer.resume(path, changed)
    resorted = X[np.random.default_rng(1).permutation(len(X))]
    with pytest.raises(CampaignMismatchError, match="re-sorted"):
        FusionOptimizer.resume(path, resorted)
    with pytest.raises(CampaignMismatchError, match="301 rows"):
        FusionOptimizer.resume(path, np.vstack([X, X[:1]]))
    assert FusionOptimizer.resume(path, X.copy()).n_observed == 20


def test_observe_is_atomic(tmp_path, monkeypatch):
    import axfusion.campaign.optimizer as facade

    X, y = _pool()
    path = tmp_path / "c.json"
    opt = FusionOptimizer(X, "maximize", options=SMALL, state_path=path, seed=0)
    opt.observe(ids=np.arange(20), Y=y[:20])
    before, on_disk = opt.state, path.read_text()
    with pytest.raises(ValueError, match="already observed"):
        opt.observe(ids=[25, 26, 3], Y=y[[25, 26, 3]])  # the last id repeats: nothing is recorded
    with pytest.raises(IndexError):
        opt.observe(ids=[25, 999], Y=[1.0, 2.0])
    with pytest.raises(ValueError, match="whole numbers"):
        opt.observe(ids=[25.7], Y=[1.0])

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(facade, "_atomic_write_json", full_disk)
    with pytest.raises(OSError):
        opt.observe(ids=[25, 26], Y=y[[25, 26]])
    assert opt.state == before and path.read_text() == on_disk
    assert 25 in opt.pool.available_ids()
    monkeypatch.undo()
    opt.observe(ids=[25, 26], Y=y[[25, 26]])
    assert opt.n_observed == 22


def test_version_1_campaign_files_still_resume(tmp_path):
    X, y = _pool()
    a = FusionOptimizer(X, "maximize", options=SMALL, seed=0)
    a.observe(ids=np.arange(20), Y=y[:20])
    v2 = a.state_dict()
    v1 = {
        "version": 1, "kind": "pool",
        "pool": {"n_rows": 300, "n_features": 4, "sha256_sample": "0" * 64},
        "space": None, "targets": v2["targets"], "target_names": v2["target_names"],
        "config": {"batch_size": 4, "families": ["ridge", "knn", "lightgbm"], "n_members": 3, "pi_range": [0.5, 1.0],
                   "n_box_candidates": 2000, "box_time_budget_s": 20.0, "n_jobs": 1, "chunk_size": 20000,
                   "budget_iterations": 10},
        "ref_point": None, "seed": 0, "iteration": 0, "observations": v2["observations"], "pending": [],
        "suggestions": [], "diagnostics": [], "tuning": [],
    }
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    with pytest.warns(UserWarning, match="fingerprint"):
        b = FusionOptimizer.resume(path, X)
    assert b.n_observed == 20 and b.settings.stage1.n_members == 3 and b.settings.loop.batch_size == 4
    assert b.suggest().row_ids.tolist() == a.suggest().row_ids.tolist()


def test_a_campaign_file_from_before_a_setting_existed_resumes_with_the_behaviour_it_had(tmp_path):
    from axfusion.settings import LEGACY_VALUES, Settings, saved_settings

    X, y = _pool()
    a = FusionOptimizer(X, "maximize", options=SMALL, seed=0, state_path=tmp_path / "c.json")
    a.observe(ids=np.arange(20), Y=y[:20])
    d = json.loads((tmp_path / "c.json").read_text())
    del d["settings"]["stage3"]["batch"]["trust_region_model"]  # written before the option existed
    del d["settings"]["stage2"]["pool"]["prefilter_members"]
    del d["settings"]["stage3"]["batch"]["explore_levels"]
    del d["settings"]["stage3"]["batch"]["box_slot_order"]
    (tmp_path / "old.json").write_text(json.dumps(d))
    b = FusionOptimizer.resume(tmp_path / "old.json", X)
    assert b.settings.stage3.batch.trust_region_model == "utility"  # not the newer default "gp"
    assert b.settings.stage2.pool.prefilter_members is None
    assert b.settings.stage3.batch.explore_levels is False
    assert b.settings.stage3.batch.box_slot_order == "family_first"
    assert b.settings.stage3.batch.family_share == a.settings.stage3.batch.family_share  # recorded: kept
    # a complete tree is read as written; every legacy key names a real setting
    assert saved_settings(Settings().as_dict()) == Settings()
    for path in LEGACY_VALUES:
        Settings().with_options({path: LEGACY_VALUES[path]})
