import json

import numpy as np
import pandas as pd
import pytest

from axfusion.acquisition import Target
from axfusion.campaign import FusionOptimizer
from axfusion.candidates import CategoricalParameter, ContinuousParameter, SearchSpace

FAST = {"batch_size": 5, "budget_iterations": 10, "families": ("ridge", "knn", "lightgbm"), "n_members": 3}


def _pool(N=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, d))
    y = np.sin(4 * X[:, 0]) + X[:, 1] - (X[:, 2] - 0.5) ** 2
    return X, y


def _start(tmp_path=None, seed=0, **kw):
    X, y = _pool()
    opt = FusionOptimizer(X, "maximize", options=FAST, seed=seed,
                          state_path=None if tmp_path is None else tmp_path / "state.json", **kw)
    init = np.arange(0, 200, 10)
    opt.observe(ids=init, Y=y[init])
    return opt, X, y, init


def test_suggest_returns_new_distinct_rows_with_breakdown():
    opt, X, y, init = _start()
    s = opt.suggest()
    ids = s.row_ids
    assert ids.shape == (5,) and len(set(ids.tolist())) == 5
    assert not set(ids.tolist()) & set(init.tolist())
    for col in ("utility", "pi", "acquisition", "mean[y0]", "std[y0]", "model[y0]", "fusion[y0]", "cluster", "reason"):
        assert col in s.table.columns
    assert np.all((s.table["pi"] > 0) & (s.table["pi"] <= 1))
    np.testing.assert_allclose(s.table["utility"], s.table["pi"] * s.table["acquisition"])
    # pending rows are not suggested again before they are observed
    s2 = opt.suggest()
    assert not set(s2.row_ids.tolist()) & set(ids.tolist())
    rec = s.record.as_dict()
    keys = ("capacity", "families", "fusion", "diversity", "clusters", "timings", "novelty", "intra_batch_distance")
    for key in keys:
        assert key in rec
    json.dumps(rec)


def test_suggestions_improve_on_random():
    opt, X, y, init = _start()
    s = opt.suggest()
    assert y[s.row_ids].mean() > np.median(y)


def test_failed_and_unsuggested_observations(tmp_path):
    opt, X, y, init = _start(tmp_path)
    s = opt.suggest()
    ids = s.row_ids
    Y = y[ids].copy()
    Y[0] = np.nan  # failed measurement
    opt.observe(ids=ids, Y=Y)
    opt.observe(ids=[299], Y=[y[299]])  # a row nobody suggested
    assert opt.n_observed == 20 + 4 + 1
    state = json.loads((tmp_path / "state.json").read_text())
    failed = [o for o in state["observations"] if o["failed"]]
    assert len(failed) == 1 and failed[0]["key"] == int(ids[0])
    assert opt.pending == []
    s2 = opt.suggest()
    assert int(ids[0]) not in s2.row_ids.tolist() and 299 not in s2.row_ids.tolist()


def test_bad_observations_are_named():
    opt, X, y, init = _start()
    with pytest.raises(ValueError, match="already observed"):
        opt.observe(ids=[init[0]], Y=[1.0])
    with pytest.raises(IndexError, match="outside the pool"):
        opt.observe(ids=[10_000], Y=[1.0])
    with pytest.raises(ValueError, match="shape"):
        opt.observe(ids=[5, 6], Y=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="inf"):
        opt.observe(ids=[5], Y=[np.inf])


def test_batch_larger_than_pool_is_a_clear_error():
    X, y = _pool(N=30)
    opt = FusionOptimizer(X, options=FAST)
    opt.observe(ids=np.arange(25), Y=y[:25])
    with pytest.raises(ValueError, match="5"):
        opt.suggest(6)


def test_text_columns_are_categorical_features():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"temp": rng.uniform(20, 100, 60), "solvent": rng.choice(["water", "ethanol", "toluene"], 60)})
    y = (df["temp"] / 10 + df["solvent"].map({"water": 0.0, "ethanol": 3.0, "toluene": 1.0})).to_numpy()[:, None]
    opt = FusionOptimizer(df, options=FAST, seed=0)
    pool = opt.source.pool
    assert pool.encoder.describe() == ["`solvent`: categorical, 3 levels"]
    assert pool.feature_names == ("temp", "solvent=ethanol", "solvent=toluene", "solvent=water")
    assert np.isnan(pool.column_scale[0]) and np.allclose(pool.column_scale[1:], np.sqrt(2.0))
    assert pool.column_groups.tolist() == [-1, 1, 1, 1]
    opt.observe(ids=np.arange(20), Y=y[:20])
    s = opt.suggest(5)
    assert len(set(s.row_ids.tolist()) & set(range(20))) == 0
    assert opt.model is not None and np.allclose(opt.model._x_std[1:], np.sqrt(2.0))


def test_resume_continues_exactly(tmp_path):
    a, X, y, init = _start(tmp_path / "a", seed=3)
    s1 = a.suggest()
    a.observe(ids=s1.row_ids, Y=y[s1.row_ids])
    # "crash" here: a new process resumes from the file (and does not save: `a` still owns it,
    # and two optimisers saving one file is refused, see test_two_optimisers_on_one_file_*)
    b = FusionOptimizer.resume(tmp_path / "a" / "state.json", X, save=False)
    assert b.n_observed == a.n_observed and b.iteration == a.iteration == 1
    sa, sb = a.suggest(), b.suggest()
    np.testing.assert_array_equal(sa.row_ids, sb.row_ids)
    np.testing.assert_allclose(sa.table["utility"], sb.table["utility"])


def test_resume_rejects_another_pool(tmp_path):
    a, X, y, init = _start(tmp_path)
    with pytest.raises(ValueError, match="another pool"):
        FusionOptimizer.resume(tmp_path / "state.json", X + 1.0)


def test_same_seed_same_batch():
    a, *_ = _start(seed=7)
    b, *_ = _start(seed=7)
    np.testing.assert_array_equal(a.suggest().row_ids, b.suggest().row_ids)


def test_two_targets_minimise_and_window():
    X, y = _pool()
    Y = np.stack([y, X[:, 3]], axis=1)
    opt = FusionOptimizer(X, [Target.maximize(), Target.minimize()], target_names=["a", "b"], options=FAST)
    init = np.arange(0, 200, 10)
    opt.observe(ids=init, Y=Y[init])
    s = opt.suggest()
    assert "mean[b]" in s.table and len(s.row_ids) == 5
    assert np.isfinite(s.table["utility"]).all()
    win = FusionOptimizer(X, [Target.window(0.2, 0.4)], options=FAST)
    win.observe(ids=init, Y=X[init, 3])
    s = win.suggest()
    # a window on x3 should be landed in more often than at random
    inside = (X[s.row_ids, 3] >= 0.2) & (X[s.row_ids, 3] <= 0.4)
    assert inside.mean() >= 0.4


def test_box_search_space_with_categorical():
    space = SearchSpace([
        ContinuousParameter("x", 0.0, 1.0),
        CategoricalParameter("c", ["a", "b", "c"]),
    ])
    cfg = {
        "batch_size": 4, "families": ("ridge", "knn"), "n_members": 3, "n_box_candidates": 300,
        "box_time_budget_s": 5.0,
    }
    opt = FusionOptimizer(space, options=cfg, seed=0)
    init = space.sample_sobol(12, seed=1)
    def f(df):
        return -(df["x"] - 0.7) ** 2 + (df["c"] == "b") * 0.5

    opt.observe(X=init, Y=f(init).to_numpy())
    s = opt.suggest()
    assert len(s.table) == 4
    assert set(s.table["c"]) <= {"a", "b", "c"}
    assert ((s.table["x"] >= 0) & (s.table["x"] <= 1)).all()
    opt.observe(X=s.table[["x", "c"]], Y=f(s.table).to_numpy())
    assert opt.n_observed == 16


def test_local_candidates_start_from_the_best_designs(monkeypatch):
    import axfusion.campaign.sources as sources_module

    space = SearchSpace([ContinuousParameter(f"x{i}", 0.0, 1.0) for i in range(4)])
    cfg = {
        "batch_size": 3, "families": ("ridge", "knn"), "n_members": 3, "n_candidates": 200,
        "time_budget_s": None, "maxiter": 3, "popsize": 3, "n_local": 150, "local_anchors": 2,
    }
    opt = FusionOptimizer(space, options=cfg, seed=0)
    init = space.sample_sobol(10, seed=1)
    y = -((init - 0.3) ** 2).sum(axis=1).to_numpy()
    opt.observe(X=init, Y=y)
    seen = {}
    generate = sources_module.generate_box_candidates

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return generate(*args, **kwargs)

    monkeypatch.setattr(sources_module, "generate_box_candidates", spy)
    s = opt.suggest()
    assert seen["settings"].n_local == 150
    best_two = init.iloc[np.argsort(-y)[:2]].to_numpy()
    np.testing.assert_allclose(seen["anchors"], best_two)
    assert len(s.table) == 3


def test_suggest_without_refit_continues_the_batch_with_the_same_fit():
    X, y = _pool()
    opt = FusionOptimizer(X, "maximize", options=FAST, seed=0)
    with pytest.raises(ValueError, match="call suggest"):
        opt.suggest(refit=False)  # nothing to continue yet
    init = np.arange(0, 200, 10)
    opt.observe(ids=init, Y=y[init])
    first = opt.suggest()
    model = opt.model
    second = opt.suggest(3, refit=False)
    assert opt.model is model and len(second.row_ids) == 3
    assert not set(second.row_ids) & set(first.row_ids) and not set(second.row_ids) & set(init)
    assert list(opt.state.pending) == [*first.row_ids.tolist(), *second.row_ids.tolist()]
    assert second.record.timings.get("model", 0.0) == 0.0 and first.record.timings["model"] > 0.0
    # a second optimiser holding the same measurements at the same iteration takes the fit over
    twin = FusionOptimizer(X, "maximize", options=FAST, seed=0)
    twin.observe(ids=init, Y=y[init])
    assert not twin.reuse_fit(opt)  # iteration 0, the fit was for iteration 2
    twin.advance(opt.iteration)
    assert twin.reuse_fit(opt) and twin.model is model
    twin.observe(ids=first.row_ids[:1], Y=y[first.row_ids[:1]])
    assert not twin.reuse_fit(opt)  # it holds a measurement more than the fit saw
    opt.observe(ids=first.row_ids, Y=y[first.row_ids])
    with pytest.raises(ValueError, match="nothing was measured since"):
        opt.suggest(refit=False)
    assert len(opt.suggest().row_ids) == 5  # a refit is always possible


def test_a_box_batch_continues_on_the_same_candidates():
    space = SearchSpace([ContinuousParameter(f"x{i}", 0.0, 1.0) for i in range(3)])
    cfg = {"batch_size": 2, "families": ("ridge", "knn"), "n_members": 3, "n_candidates": 200,
           "time_budget_s": None, "maxiter": 3, "popsize": 3}
    opt = FusionOptimizer(space, options=cfg, seed=0)
    init = space.sample_sobol(10, seed=1)
    opt.observe(X=init, Y=-((init - 0.3) ** 2).sum(axis=1).to_numpy())
    first = opt.suggest()
    second = opt.suggest(refit=False)
    assert second.record.timings.get("model", 0.0) == 0.0 and first.record.timings["model"] > 0.0
    a, b = first.table[list(space.names)].to_numpy(), second.table[list(space.names)].to_numpy()
    assert np.min(np.linalg.norm(a[:, None] - b[None], axis=2)) > 0.0


def test_one_hot_pool_rows_stay_distinct_until_the_pool_is_nearly_exhausted():
    # M2AX: three categoricals one-hot encoded (24 columns, 223 distinct rows). Ten
    # principal axes map them onto 91 points; the batch geometry must not mistake distinct
    # unmeasured rows for duplicates of measured ones.
    from axfusion.data import load_dataset
    from axfusion.structure import Embedding

    ds = load_dataset("m2ax")
    X, y = ds.feature_matrix(), ds.target_matrix(["elastic modulus"])
    assert len(np.unique(np.round(Embedding(n_components=10).fit(X).transform(X), 9), axis=0)) < len(X)
    opt = FusionOptimizer(X, "maximize", options=FAST, seed=0)
    measured = np.random.default_rng(0).choice(len(X), size=len(X) - 12, replace=False)
    opt.observe(ids=measured, Y=y[measured])
    rows = opt.suggest(10).row_ids
    assert len(set(rows.tolist())) == 10 and not set(rows.tolist()) & set(measured.tolist())


def test_nothing_the_user_gives_is_silently_coerced():
    from axfusion.settings import SettingsError

    X, y = _pool()
    opt = FusionOptimizer(X, options=FAST, seed=0)
    opt.observe(ids=np.arange(20), Y=y[:20])
    for n in (0, 2.9, True, "3"):
        with pytest.raises(ValueError, match="batch size"):
            opt.suggest(n)
    for ids in ([150.7], [True], ["7"]):
        with pytest.raises(ValueError, match="whole numbers"):
            opt.observe(ids=ids, Y=[1.0])
    with pytest.raises(SettingsError, match="batch_size must be an integer"):
        FusionOptimizer(X, options={"batch_size": 2.5})
    with pytest.raises(ValueError, match="seed"):
        FusionOptimizer(X, seed=None)
    assert opt.n_observed == 20


def test_a_box_reservoir_includes_the_ard_gp_by_default():
    from axfusion.campaign.loop import reservoir_settings
    from axfusion.models import DEFAULT_BOX_FAMILIES, DEFAULT_FAMILIES

    space = SearchSpace([ContinuousParameter("x", 0.0, 1.0), CategoricalParameter("c", ["a", "b"])])
    box = FusionOptimizer(space, seed=0)
    pool = FusionOptimizer(_pool()[0], seed=0)
    assert reservoir_settings(box.state, box.source).families == DEFAULT_BOX_FAMILIES
    assert "gp_ard" in DEFAULT_BOX_FAMILIES and "gp_ard" not in DEFAULT_FAMILIES
    assert reservoir_settings(pool.state, pool.source).families is None  # the pool default
    mine = FusionOptimizer(space, options={"families": ("ridge", "knn")}, seed=0)
    assert reservoir_settings(mine.state, mine.source).families == ("ridge", "knn")


def test_family_and_exploration_slots_fill_the_end_of_the_batch_and_say_so():
    X, y = _pool()
    init = np.arange(0, 200, 10)
    out = {}
    for family, explore in ((0.4, 0.2), (0.0, 0.0)):
        opt = FusionOptimizer(
            X, "maximize", options={**FAST, "family_share": family, "explore_share": explore}, seed=3
        )
        opt.observe(ids=init, Y=y[init])
        s = opt.suggest()
        out[family] = s
        assert len(set(s.row_ids.tolist())) == 5
    slots = out[0.4]
    assert slots.record.as_dict()["clusters"]["extra_slots"] == 3
    reasons = [r.split(":")[0] for r in slots.table["reason"]]
    assert reasons[2:] == ["exploration slot", "family slot", "family slot"]
    assert not reasons[0].endswith("slot") and not reasons[1].endswith("slot")
    assert any(name in slots.table["reason"].iloc[-1] for name in FAST["families"])
    assert out[0.0].record.as_dict()["clusters"]["extra_slots"] == 0
    # the first picks follow the fused utility either way; the slots hold the other guesses
    assert slots.row_ids[:2].tolist() == out[0.0].row_ids[:2].tolist()
    # the exploration slot goes far from the measured designs
    Z = (X - X[init].mean(axis=0)) / X[init].std(axis=0)
    gap = np.linalg.norm(Z[:, None] - Z[init][None], axis=-1).min(axis=1)
    assert gap[slots.row_ids[2]] > np.median(gap)


def test_gp_exploration_slots_are_scored_by_a_gp_and_say_so():
    X, y = _pool()
    init = np.arange(0, 200, 10)
    opts = {**FAST, "family_share": 0.0, "explore_share": 0.4}
    opt = FusionOptimizer(X, "maximize", options={**opts, "explore_model": "gp"}, seed=3)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    reasons = list(s.table["reason"])
    assert [r.split(":")[0] for r in reasons[3:]] == ["exploration slot"] * 2
    assert all("Gaussian process" in r for r in reasons[3:])
    plain = FusionOptimizer(X, "maximize", options=opts, seed=3)
    plain.observe(ids=init, Y=y[init])
    other = plain.suggest()
    assert s.row_ids[:3].tolist() == other.row_ids[:3].tolist()  # the fused picks are the same
    assert all("Gaussian process" not in r for r in other.table["reason"])


def test_fused_draws_score_the_fused_picks_after_the_first_by_posterior_draws_and_say_so():
    X, y = _pool()
    init = np.arange(0, 200, 10)
    opts = {**FAST, "family_share": 0.2, "explore_share": 0.2}
    opt = FusionOptimizer(X, "maximize", options={**opts, "fused_draws": True}, seed=3)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    reasons = [r.split(":")[0] for r in s.table["reason"]]
    # q = 5: three fused picks (the first by U, two of posterior draws), then the two slots
    assert reasons[1:] == ["fused pick of a posterior draw"] * 2 + ["exploration slot", "family slot"]
    assert s.record.as_dict()["clusters"]["extra_slots"] == 4
    plain = FusionOptimizer(X, "maximize", options=opts, seed=3)
    plain.observe(ids=init, Y=y[init])
    other = plain.suggest()
    assert s.row_ids[0] == other.row_ids[0]  # the first pick follows U either way
    assert "posterior draw" not in " ".join(other.table["reason"])
    again = FusionOptimizer(X, "maximize", options={**opts, "fused_draws": True}, seed=3)
    again.observe(ids=init, Y=y[init])
    assert again.suggest().row_ids.tolist() == s.row_ids.tolist()  # deterministic under the seed


def test_family_slot_rules_and_orders_change_only_the_family_slots_and_say_so():
    X, y = _pool()
    init = np.arange(0, 200, 10)
    opts = {**FAST, "family_share": 0.4, "explore_share": 0.0}
    batches = {}
    for name, extra in (
        ("draw", {}),
        ("coverage", {"stage3.batch.family_rule": "coverage"}),
        ("probability", {"stage3.batch.family_order": "probability"}),
        ("rotate", {"stage3.batch.family_order": "rotate"}),
    ):
        opt = FusionOptimizer(X, "maximize", options={**opts, **extra}, seed=3)
        opt.observe(ids=init, Y=y[init])
        batches[name] = opt.suggest()
    fused = batches["draw"].row_ids[:3].tolist()
    for s in batches.values():
        assert s.row_ids[:3].tolist() == fused  # the fused picks are the same
        assert [r.split(":")[0] for r in s.table["reason"]][3:] == ["family slot"] * 2
    assert all("most members not yet covered" in r for r in batches["coverage"].table["reason"].iloc[3:])
    assert batches["rotate"].row_ids.tolist() == batches["draw"].row_ids.tolist()  # iteration 0 starts the order
    again = FusionOptimizer(X, "maximize", options={**opts, "stage3.batch.family_rule": "coverage"}, seed=3)
    again.observe(ids=init, Y=y[init])
    assert again.suggest().row_ids.tolist() == batches["coverage"].row_ids.tolist()  # deterministic


def test_ahead_family_order_gives_the_family_slots_to_the_family_that_predicted_the_last_batch(monkeypatch):
    import axfusion.campaign.loop as loop

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 3))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + X[:, 2]  # linear: ridge is the most accurate out of bag
    low = np.flatnonzero(X[:, 0] < 0.5)[:20]
    high = np.flatnonzero(X[:, 0] > 0.8)[:5]
    original, calls = loop.stage1_ahead_weights, []

    def knn_ahead(*args, **kwargs):  # as if k-NN had predicted the last batch best
        w = original(*args, **kwargs)
        calls.append(w)
        names = list(args[2].family_names)
        return None if w is None else np.eye(len(names))[names.index("knn")]

    monkeypatch.setattr(loop, "stage1_ahead_weights", knn_ahead)
    slots, firsts = {}, {}
    for order in ("accuracy", "ahead"):
        options = {**FAST, "family_share": 0.2, "explore_share": 0.0, "stage3.batch.family_order": order}
        opt = FusionOptimizer(X, "maximize", options=options, seed=0)
        opt.observe(ids=low, Y=y[low])
        firsts[order] = opt.suggest().row_ids.tolist()  # no batch after the initial design: accuracy order
        opt.observe(ids=high, Y=y[high])
        slots[order] = opt.suggest().table["reason"].iloc[-1]
    assert "ridge member" in slots["accuracy"] and "knn member" in slots["ahead"]
    assert firsts["accuracy"] == firsts["ahead"]
    # the refit runs only for the option (twice: the first call finds no batch yet and returns None)
    assert calls[:2] == [None, None] and calls[-1] is not None


def test_winsorize_clips_the_bad_tail_the_members_see_and_the_record_keeps_the_raw_values():
    from axfusion.campaign.loop import stage1_targets

    X, y = _pool()
    ids = np.arange(0, 200, 10)
    Y = np.column_stack([y[ids], y[ids], y[ids]])
    Y[0] = [1e6, -1e6, 1e6]  # a bad outlier for the minimised and maximised targets; any for the window
    targets = [Target.minimize(), Target.maximize(), Target.window(0.0, 1.0)]
    opt = FusionOptimizer(X, targets, options={**FAST, "winsorize": 1.5}, seed=0)
    opt.observe(ids=ids, Y=Y)
    seen = stage1_targets(opt.state)
    assert seen[0, 0] < 1e3 and seen[0, 1] > -1e3  # clipped at Tukey's fence
    assert seen[0, 2] == 1e6  # a window target is left alone
    np.testing.assert_array_equal(seen[1:], Y[1:])  # nothing else moves
    np.testing.assert_array_equal(opt.state.Y(), Y)  # the campaign keeps what was measured
    default = FusionOptimizer(X, targets, options=FAST, seed=0)  # the default: raw targets
    default.observe(ids=ids, Y=Y)
    np.testing.assert_array_equal(stage1_targets(default.state), Y)


def test_categorical_encoding_is_stored_and_resumed(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"temp": rng.uniform(20, 100, 50), "solvent": rng.choice(["water", "ethanol"], 50)})
    y = (df["temp"] / 10 + (df["solvent"] == "ethanol") * 3.0).to_numpy()[:, None]
    path = tmp_path / "c.json"
    opt = FusionOptimizer(df, options=FAST, state_path=path, seed=0)
    opt.observe(ids=np.arange(15), Y=y[:15])
    saved = json.loads(path.read_text())["source"]
    assert saved["encoding"]["columns"][1]["levels"] == ["ethanol", "water"]
    assert saved["column_scale"][0] is None and saved["column_scale"][1] == pytest.approx(np.sqrt(2.0))
    # resumed on the encoded numbers alone, the campaign keeps its categorical scales
    numbers = opt.source.pool.take(np.arange(50))
    again = FusionOptimizer.resume(path, numbers)
    assert np.allclose(again.source.column_scale, opt.source.column_scale, equal_nan=True)
    assert saved["column_groups"] == [-1, 1, 1]
    assert again.source.column_groups.tolist() == [-1, 1, 1]  # and which columns form one input
# ------------------------------------------------------------------ bad input (issue 22)
def test_two_optimisers_on_one_file_never_drop_each_others_batch(tmp_path):
    from axfusion.files import CampaignChangedError

    a, X, y, init = _start(tmp_path)
    b = FusionOptimizer.resume(tmp_path / "state.json", X)
    sa = a.suggest()
    saved = (tmp_path / "state.json").read_text()
    with pytest.raises(CampaignChangedError, match="changed by another run.*FusionOptimizer.resume"):
        b.observe(ids=[299], Y=[0.5])
    assert (tmp_path / "state.json").read_text() == saved  # a's batch is still pending on disk
    assert set(json.loads(saved)["pending"]) == set(sa.row_ids.tolist())
    assert b.n_observed == len(init)  # b is unchanged in memory too
    c = FusionOptimizer.resume(tmp_path / "state.json", X)
    c.observe(ids=[299], Y=[0.5])  # a fresh resume continues


def test_a_new_campaign_never_overwrites_an_existing_file(tmp_path):
    X, _ = _pool()
    (tmp_path / "state.json").write_text("{}")
    with pytest.raises(FileExistsError, match=r"already exists.*FusionOptimizer.resume"):
        FusionOptimizer(X, "maximize", options=FAST, state_path=tmp_path / "state.json")
    assert (tmp_path / "state.json").read_text() == "{}"
    with pytest.raises(TypeError, match="state_path must be a file path"):
        FusionOptimizer(X, "maximize", options=FAST, state_path=123)


@pytest.mark.parametrize(
    ("Y", "match"),
    [
        (["abc"], "Y must hold numbers"),
        (["1.5"], "Y must hold numbers"),
        ([True], "Y must hold numbers"),
        ([1e160], r"Target 'y0' is 1e\+160 .*at most 1e\+100"),
    ],
)
def test_observe_refuses_values_it_would_have_to_guess(Y, match):
    opt, X, y, init = _start()
    before = opt.state
    with pytest.raises(ValueError, match=match):
        opt.observe(ids=[299], Y=Y)
    assert opt.state == before
    opt.observe(ids=[298, 299], Y=[1.0, None])  # None is a failed measurement, as NaN
    assert opt.observations[-1].failed


@pytest.mark.parametrize("n", [0, 2.9, 2.0, True, "3", -1])
def test_suggest_refuses_a_batch_size_that_is_not_a_whole_positive_number(n):
    opt, *_ = _start()
    with pytest.raises(ValueError, match="batch size"):
        opt.suggest(n)


@pytest.mark.parametrize("ids", [[150.7], [True], ["7"], [np.float64(3.0)]])
def test_observe_refuses_ids_that_are_not_whole_numbers(ids):
    opt, *_ = _start()
    with pytest.raises(ValueError, match="Row ids must be whole numbers"):
        opt.observe(ids=ids, Y=[1.0])


@pytest.mark.parametrize(("options", "seed", "match"), [
    ({"batch_size": 2.5}, 0, "batch_size must be an integer"),
    ({}, None, "seed must be a whole number; got None"),
    ({}, 1.0, "seed must be a whole number"),
    ({}, 2**40, "seed must lie between"),
])
def test_constructor_refuses_coercion(options, seed, match):
    X, _ = _pool()
    with pytest.raises(ValueError, match=match):
        FusionOptimizer(X, "maximize", options={**FAST, **options}, seed=seed)


def test_pool_values_beyond_float_range_are_named():
    X, _ = _pool()
    X[:, 2] *= 1e300
    with pytest.raises(ValueError, match=r"Pool column 'x2' \(column 2\) is .* at most 1e\+100"):
        FusionOptimizer(X, "maximize", options=FAST)
    frame = pd.DataFrame(X, columns=["a", "b", "huge", "d"])
    with pytest.raises(ValueError, match="Pool column 'huge'"):
        FusionOptimizer(frame, "maximize", options=FAST)


@pytest.mark.parametrize("pool", ["constant", "duplicates"])
def test_a_pool_with_nothing_new_to_suggest_says_so(pool):
    from axfusion.acquisition.batch import BatchSelectionError

    X, y = _pool(40)
    X = np.ones_like(X) if pool == "constant" else np.vstack([X[:20], X[:20]])
    opt = FusionOptimizer(X, "maximize", options=FAST)
    opt.observe(ids=range(20), Y=y[:20])
    with pytest.raises(BatchSelectionError, match="differ from the measured designs.*Ask for fewer rows"):
        opt.suggest(2)
    assert opt.iteration == 0 and opt.pending == []


def _corrupt(d, case):
    if case == "key_out":
        d["observations"][0]["key"] = 5000
    elif case == "key_negative":
        d["observations"][0]["key"] = -3
    elif case == "pending_out":
        d["pending"] = [999]
    elif case == "pending_negative":
        d["pending"] = [-1]
    elif case == "y_text":
        d["observations"][0]["y"] = ["abc"]
    elif case == "y_length":
        d["observations"][0]["y"] = [1.0, 2.0]
    elif case == "duplicated_observation":
        d["observations"].append(d["observations"][0])
    elif case == "n_members_0":
        d["settings"]["stage1"]["n_members"] = 0
    elif case == "seed_text":
        d["seed"] = "x"
    elif case == "no_settings":
        del d["settings"]
    elif case == "version":
        d["version"] = 9
    elif case == "failed_text":
        d["observations"][0]["failed"] = "no"
    elif case == "pending_observed":
        d["pending"] = [d["observations"][0]["key"]]
    return d


CORRUPTIONS = {
    "key_out": "observations names pool row 5000, outside the pool's 300 rows",
    "key_negative": r"observations\[0\].key must be a pool row id",
    "pending_out": "pending names pool row 999",
    "pending_negative": r"pending\[0\] must be a pool row id",
    "y_text": r"observations\[0\].y must be a list of 1 numbers",
    "y_length": r"observations\[0\].y must be a list of 1 numbers",
    "duplicated_observation": r"observations\[20\].key repeats the design",
    "n_members_0": r"settings: stage1.n_members must be at least 2",
    "seed_text": "'seed' must be a whole number",
    "no_settings": "'settings' is missing",
    "version": "version 9 is not supported",
    "failed_text": r"observations\[0\].failed must be true or false",
    "pending_observed": r"pending\[0\] is 0, which is already observed",
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_hand_edited_campaign_files_are_refused_by_field(tmp_path, case):
    from axfusion.campaign import CampaignFileError

    a, X, y, init = _start(tmp_path)
    d = json.loads((tmp_path / "state.json").read_text())
    (tmp_path / "bad.json").write_text(json.dumps(_corrupt(d, case)))
    with pytest.raises(CampaignFileError, match=CORRUPTIONS[case]) as info:
        FusionOptimizer.resume(tmp_path / "bad.json", X)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


def test_failed_flags_pending_rows_and_iterations_are_not_coerced():
    opt, X, y, init = _start()
    with pytest.raises(ValueError, match="`failed` must hold booleans"):
        opt.observe(ids=[299], Y=[1.0], failed=["no"])
    with pytest.raises(ValueError, match="`failed` must hold booleans"):
        opt.observe(ids=[299], Y=[1.0], failed=[2])
    with pytest.raises(ValueError, match="Row ids must be whole numbers"):
        opt.set_pending([3.7])
    with pytest.raises(IndexError, match="outside the pool"):
        opt.set_pending([300])
    with pytest.raises(ValueError, match="iteration must be a whole number"):
        opt.advance(2.5)
    assert opt.pending == [] and opt.iteration == 0
    opt.set_pending([np.int64(250), 251])
    assert opt.pending == [250, 251]


def _slot_kinds(opt):
    r"""What chose each pick of the next batch: a slot's kind, or ``"fused"``."""
    return [r.split(" slot")[0] if " slot" in r else "fused" for r in opt.suggest().table["reason"]]


def _box_with_history(share, **extra):
    space = SearchSpace([ContinuousParameter("x", 0.0, 1.0), ContinuousParameter("z", 0.0, 1.0),
                         CategoricalParameter("c", ["a", "b"])])
    opt = FusionOptimizer(
        space, ["minimize"],
        options={"batch_size": 2, "families": ("ridge", "knn"), "n_members": 3, "n_box_candidates": 200,
                 "stage2.box.maxiter": 3, "box_time_budget_s": None, "trust_region_share": share, **extra},
        seed=0,
    )
    init = space.sample_sobol(10, seed=1)

    def f(df):
        return ((df["x"] - 0.3) ** 2 + (df["z"] - 0.7) ** 2 + (df["c"] == "b") * 0.5).to_numpy()

    opt.observe(X=init, Y=f(init))
    return opt, f


def test_a_box_batch_gives_one_pick_to_the_trust_region_and_records_its_length():
    opt, f = _box_with_history(0.3)
    lengths = []
    for _ in range(3):
        s = opt.suggest()
        assert s.table["reason"].str.startswith("trust-region slot").tolist() == [False, True]
        lengths.append(opt.records[-1].trust_region["length"])
        opt.observe(X=s.table[["x", "z", "c"]], Y=np.full(2, 10.0))  # no improvement: failures count
    assert lengths == [0.8, 0.8, 0.4]  # D = 3, q = 2: halved after ceil(4 / 2) = 2 failed batches
    off, _ = _box_with_history(0.0)
    s = off.suggest()
    assert not s.table["reason"].str.startswith("trust-region").any() and off.records[-1].trust_region == {}


def test_adaptive_trust_region_slots_follow_where_the_batches_improved():
    opts = {"batch_size": 5, "family_share": 0.3, "explore_share": 0.3}
    fixed, _ = _box_with_history(0.3, **opts)
    assert _slot_kinds(fixed) == ["fused", "trust-region", "trust-region", "exploration", "family"]
    adaptive, f = _box_with_history(0.3, **opts, **{"stage3.batch.trust_region_adaptive": True})
    assert _slot_kinds(adaptive) == ["fused", "trust-region", "trust-region", "exploration", "family"]  # no evidence
    assert adaptive.records[-1].trust_region["local_share"] == 0.5
    best = adaptive.state.successful[int(np.argmax(adaptive.state.scalar()))].key
    near = pd.DataFrame([[best[0], best[1], best[2]]] * 4, columns=["x", "z", "c"])
    near["x"] = np.clip(best[0] + np.array([0.01, 0.02, 0.03, 0.04]), 0.0, 1.0)
    far = near.assign(x=(np.array([0.95, 0.9, 0.85, 0.8]) if best[0] < 0.5 else np.array([0.05, 0.1, 0.15, 0.2])))
    adaptive.observe(X=pd.concat([near, far]), Y=[-100.0, -101.0, -102.0, -103.0, 50.0, 60.0, 70.0, 80.0])
    # rates 5/6 and 1/6 on the fixed split's even odds (2 of 4): p = 5/6, three region slots, the family slot kept
    assert _slot_kinds(adaptive) == ["fused", "trust-region", "trust-region", "trust-region", "family"]
    credit = adaptive.records[-1].trust_region
    assert (credit["hits_in"], credit["picks_in"], credit["hits_out"], credit["picks_out"]) == (4, 4, 0, 4)


def test_a_box_batch_of_four_gives_up_its_family_slot_before_a_trust_region_slot():
    opts = {"batch_size": 4, "family_share": 0.3, "explore_share": 0.3}
    default, _ = _box_with_history(0.3, **opts)
    assert _slot_kinds(default) == ["fused", "trust-region", "trust-region", "exploration"]
    before, _ = _box_with_history(0.3, **opts, **{"stage3.batch.box_slot_order": "family_first"})
    assert _slot_kinds(before) == ["fused", "trust-region", "exploration", "family"]


def test_trust_region_share_one_takes_the_whole_batch_from_the_region():
    opt, f = _box_with_history(1.0)
    for _ in range(2):
        opt.observe(X=(s := opt.suggest()).table[["x", "z", "c"]], Y=np.full(2, 10.0))
    s = opt.suggest()  # L = 0.4 around the best initial design
    best = opt.state.successful[int(np.argmax(opt.state.scalar()))].key
    assert opt.records[-1].trust_region["length"] == 0.4
    for col, centre in zip(("x", "z"), best[:2]):
        assert (np.abs(s.table[col] - centre) <= 0.2 + 1e-9).all()


def test_a_gp_scored_trust_region_slot_takes_the_largest_expected_improvement_in_the_region():
    opt, f = _box_with_history(0.3, **{"stage3.batch.trust_region_model": "gp"})
    s = opt.suggest()
    reasons = s.table["reason"].tolist()
    assert not reasons[0].startswith("trust-region")
    assert reasons[1].startswith("trust-region slot: largest expected improvement of an ARD Gaussian process")
    best = opt.state.successful[int(np.argmax(opt.state.scalar()))].key
    half = 0.5 * opt.records[-1].trust_region["length"]
    for col, centre in zip(("x", "z"), best[:2]):
        assert abs(s.table[col].iloc[1] - centre) <= half + 1e-9


def test_a_pool_gp_slot_takes_the_largest_gp_expected_improvement_and_says_so():
    X, y = _pool()
    init = np.arange(0, 200, 10)
    opts = {**FAST, "family_share": 0.2, "explore_share": 0.2}
    opt = FusionOptimizer(X, "maximize", options={**opts, "pool_gp_share": 0.2}, seed=3)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    reasons = [r.split(":")[0] for r in s.table["reason"]]
    assert reasons[2:] == ["GP slot", "exploration slot", "family slot"]  # q = 5: two fused picks, three slots
    assert "Gaussian process" in s.table["reason"].iloc[2]
    assert s.record.as_dict()["clusters"]["extra_slots"] == 3
    plain = FusionOptimizer(X, "maximize", options=opts, seed=3)
    plain.observe(ids=init, Y=y[init])
    other = plain.suggest()
    assert "GP slot" not in " ".join(other.table["reason"])
    assert other.record.as_dict()["clusters"]["extra_slots"] == 2


@pytest.mark.parametrize(("members", "fit_rows"), [(2, 30), (None, None)])
def test_a_large_pool_is_screened_by_the_first_members_and_clustered_on_fewer_rows(monkeypatch, members, fit_rows):
    # pools of at least prefilter_min_rows rows (10^5 by default: no built-in pool) are screened by the
    # first prefilter_members members of every family (the working set is scored by all of them), and
    # the working set's clusterer is fitted on at most prefilter_fit_rows rows

    calls, fitted = _spy_prefilter(monkeypatch)
    options = {**FAST, "prefilter_min_rows": 200, "prefilter_size": 60, "prefilter_members": members,
               "prefilter_fit_rows": fit_rows}
    X, y = _pool()
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    init = np.arange(0, 200, 10)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    assert len(set(s.row_ids.tolist())) == 5
    screened = [m for k, m in calls if k == 280]  # the 280 available rows, in one chunk
    assert screened == [members]
    assert all(m is None for k, m in calls if k != 280)
    assert fitted == [20_000 if fit_rows is None else fit_rows]
    assert len(s.table) == 5 and s.record.clusters["n_clusters"] >= 1


@pytest.mark.parametrize("on", [True, False])
def test_a_prefiltered_working_set_holds_the_nearest_rows_of_a_lead(monkeypatch, on):
    from axfusion.campaign.sources import PoolSource

    seen = []
    original = PoolSource.candidates

    def spy(self, model, *args, **kwargs):
        out = original(self, model, *args, **kwargs)
        seen.append((model, out))
        return out

    monkeypatch.setattr(PoolSource, "candidates", spy)
    X, y = _pool()
    options = {**FAST, "prefilter_min_rows": 200, "prefilter_size": 60, "stage2.pool.lead_neighbours": on}
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    init = np.arange(0, 200, 10)
    values = y[init].copy()
    values[3] = y.max() + 10.0 * y.std()  # far above what the other rows predict: a lead
    opt.observe(ids=init, Y=values)
    opt.suggest()
    model, cands = seen[-1]
    assert cands.prefiltered
    Z = model.standardised_inputs(X)
    dist = np.linalg.norm(Z - Z[init[3]], axis=1)
    dist[init] = np.inf
    nearest = set(np.argsort(dist)[:10].tolist())
    if on:
        assert nearest <= set(cands.keys)
    else:
        assert len(cands) == 60  # the prefilter's working set alone


def test_a_pool_below_the_prefilter_threshold_uses_every_member_and_fit_row(monkeypatch):

    calls, fitted = _spy_prefilter(monkeypatch)
    opt, *_ = _start()
    opt.suggest()
    assert calls and all(m is None for _, m in calls) and fitted == [20_000]


def _spy_prefilter(monkeypatch):
    r"""Record ``(rows, members)`` of every member-prediction call and the clusterer's
    ``max_fit_rows`` of every structural-weight call."""
    import axfusion.campaign.loop as loop
    from axfusion.models import ReservoirModel

    calls: list[tuple[int, int | None]] = []
    fitted: list[int] = []
    original, weights = ReservoirModel.member_predictions, loop.structural_weights

    def spy(self, X, **kw):
        calls.append((len(X), kw.get("members")))
        return original(self, X, **kw)

    def spy_weights(*args, **kw):
        fitted.append(kw["cluster_config"].max_fit_rows)
        return weights(*args, **kw)

    monkeypatch.setattr(ReservoirModel, "member_predictions", spy)
    monkeypatch.setattr(loop, "structural_weights", spy_weights)
    return calls, fitted


def test_exploration_slots_try_categorical_levels_never_measured_each_a_different_one():
    # a reaction-like pool: every row a combination of levels, so every unmeasured row lies
    # one or two indicator flips from a measured one and the distance rule cannot tell a new
    # additive from a measured one; the measured additives do not differ, so the means do not
    # decide either
    rng = np.random.default_rng(1)
    additive, base, ligand = list("abcdefgh"), ["b1", "b2", "b3"], ["l1", "l2", "l3", "l4"]
    df = pd.DataFrame(
        [(a, b, c) for a in additive for b in base for c in ligand], columns=["additive", "base", "ligand"]
    )
    effects = {v: 0.3 * rng.normal() for v in base + ligand} | dict.fromkeys(additive, 0.0)
    y = df.apply(lambda r: sum(effects[v] for v in r), axis=1).to_numpy()
    seen = np.flatnonzero(df["additive"].isin(list("abcde")).to_numpy())
    measured = rng.choice(seen, 20, replace=False)  # no f, g or h
    opts = {**FAST, "family_share": 0.0, "explore_share": 0.4}
    picks, fused = {}, {}
    for on in (True, False):
        opt = FusionOptimizer(df, "maximize", options={**opts, "explore_levels": on}, seed=0)
        opt.observe(ids=measured, Y=y[measured])
        s = opt.suggest()
        assert [r.split(":")[0] for r in s.table["reason"]][3:] == ["exploration slot"] * 2
        picks[on] = s.row_ids[3:].tolist()
        fused[on] = set(df["additive"].iloc[s.row_ids[:3]])
    tried = df["additive"].iloc[picks[True]].tolist()
    # the first exploration slot tries a level no measured row has (one the fused picks may
    # not have taken: they are scored before the batch is chosen), the two slots different ones
    new = {"f", "g", "h"}
    assert tried[0] in new and len(set(tried)) == 2
    if new - fused[True]:  # a never-measured level the fused picks left: the first slot takes one
        assert tried[0] in new - fused[True]
    assert picks[False] != picks[True]


def test_stalled_pool_batches_give_the_fused_picks_to_exploration_until_one_improves():
    from axfusion.campaign.loop import stalled_batches

    X, y = _pool()
    # the stalled batches' exploration slots scored as everywhere else (not as coverage slots)
    options = {**FAST, "stage3.batch.stall_explore_share": 0.6, "stage3.batch.stall_batches": 2,
               "stage3.batch.stall_coverage": False}
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    init = np.arange(0, 200, 10)
    opt.observe(ids=init, Y=y[init])

    def n_explore(s):
        return sum(r.startswith("exploration slot") for r in s.table["reason"])

    counts, stalls = [], []
    for value in (y.min() - 1, y.min() - 1, y.max() + 1, y.min() - 1):
        s = opt.suggest()
        counts.append(n_explore(s))
        stalls.append(stalled_batches(opt.state))
        opt.observe(ids=s.row_ids, Y=np.r_[value, np.full(len(s.row_ids) - 1, y.min() - 1)])
    # batches of 5: one exploration slot (0.3 x 5), three after two batches without a better design
    # (0.6 x 5; the family slot stays, one fused pick is left), one again after an improvement
    assert stalls == [0, 1, 2, 0]
    assert counts == [1, 1, 3, 1]
    assert stalled_batches(opt.state) == 1


def _six_clusters():
    r"""``(labels, X, y)``: 360 rows in six clusters of 60 in 3-D, a trend towards cluster 0."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(size=(6, 3)) * 10.0
    labels = np.repeat(np.arange(6), 60)
    X = centres[labels] + 0.3 * rng.normal(size=(labels.size, 3))
    return labels, X, -np.abs(X - centres[0]).sum(axis=1)


def test_a_stalled_pool_with_stall_coverage_sends_its_exploration_slots_to_unmeasured_clusters():
    labels, X, y = _six_clusters()
    options = {**FAST, "batch_size": 10, "stage3.batch.stall_coverage": True, "stage3.batch.stall_batches": 1}
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    init = np.flatnonzero(labels < 2)[::6]  # clusters 0 and 1 measured, 2-5 never
    opt.observe(ids=init, Y=y[init])
    first = opt.suggest()
    assert not any(r.startswith("coverage slot") for r in first.table["reason"])  # no stall yet
    opt.observe(ids=first.row_ids, Y=np.full(len(first.row_ids), y.min() - 1.0))  # a batch without improvement
    s = opt.suggest()
    kinds = [r.split(":")[0] for r in s.table["reason"]]
    assert kinds.count("coverage slot") == 3 and "exploration slot" not in kinds
    covered = labels[s.row_ids[[k == "coverage slot" for k in kinds]]]
    measured = set(labels[init]) | set(labels[first.row_ids])
    # three different clusters, none measured before (when three such clusters are left)
    assert len(set(covered)) == 3
    assert len(set(range(6)) - measured) < 3 or not set(covered) & measured
    # the same campaign without the option explores by the model's mean + 2 std
    plain = FusionOptimizer(X, "maximize", options={**options, "stage3.batch.stall_coverage": False}, seed=0)
    plain.observe(ids=init, Y=y[init])
    plain.observe(ids=plain.suggest().row_ids, Y=np.full(len(first.row_ids), y.min() - 1.0))
    assert [r.split(":")[0] for r in plain.suggest().table["reason"]].count("exploration slot") == 3


def test_a_stalled_pool_with_stall_leads_measures_the_neighbours_of_a_surprising_row_first():
    labels, X, y = _six_clusters()
    options = {**FAST, "batch_size": 10, "stage3.batch.stall_batches": 1, "stage3.batch.stall_leads": True}
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    init = np.flatnonzero(labels < 2)[::6]
    lead = int(np.flatnonzero(labels == 4)[0])  # one row of cluster 4, far better than the trend says
    values = y[init].copy()
    opt.observe(ids=np.r_[init, lead], Y=np.r_[values, y.max()])
    first = opt.suggest()
    assert not any(r.startswith("lead slot") for r in first.table["reason"])  # no stall yet
    opt.observe(ids=first.row_ids, Y=np.full(len(first.row_ids), y.min() - 1.0))
    s = opt.suggest()
    kinds = [r.split(":")[0] for r in s.table["reason"]]
    followed = s.row_ids[[k == "lead slot" for k in kinds]]
    assert 1 <= followed.size <= 3 and kinds.count("coverage slot") == 3 - followed.size
    assert set(labels[followed]) == {4}  # the lead's own cluster
    # without the option the same campaign spends those slots on coverage
    plain = FusionOptimizer(X, "maximize", options={**options, "stage3.batch.stall_leads": False}, seed=0)
    plain.observe(ids=np.r_[init, lead], Y=np.r_[values, y.max()])
    plain.observe(ids=plain.suggest().row_ids, Y=np.full(len(first.row_ids), y.min() - 1.0))
    assert [r.split(":")[0] for r in plain.suggest().table["reason"]].count("lead slot") == 0


def test_ahead_family_weights_favour_the_family_that_predicts_the_next_batch():
    from axfusion.campaign.loop import stage1_ahead_weights

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 3))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + X[:, 2]  # linear: ridge extrapolates, k-NN does not
    options = {**FAST, "stage3.fusion.family_weighting": "ahead"}
    opt = FusionOptimizer(X, "maximize", options=options, seed=0)
    low = np.flatnonzero(X[:, 0] < 0.5)[:20]
    opt.observe(ids=low, Y=y[low])
    s = opt.suggest()  # no batch after the initial design yet: uniform (None)
    assert opt.state.settings.stage3.fusion.family_weighting == "ahead"
    high = np.flatnonzero(X[:, 0] > 0.8)[:5]  # the next batch lies where no design was measured
    opt.observe(ids=high, Y=y[high])
    proposal_args = []
    import axfusion.campaign.loop as loop

    original = loop.stage1_ahead_weights

    def spy(*args, **kwargs):
        w = original(*args, **kwargs)
        proposal_args.append((args[2].family_names, w))
        return w

    loop.stage1_ahead_weights = spy
    try:
        opt.suggest()
    finally:
        loop.stage1_ahead_weights = original
    (names, w), = proposal_args
    assert w is not None and w.shape == (len(names),) and abs(w.sum() - 1.0) < 1e-9
    assert names[int(np.argmax(w))] == "ridge" and w[names.index("ridge")] > 0.5
    assert s.row_ids.size == 5
    off = FusionOptimizer(X, "maximize", options=FAST, seed=0)
    off.observe(ids=np.r_[low, high], Y=y[np.r_[low, high]])
    assert stage1_ahead_weights(off.state, None, None, None, None, None, 0) is None  # option off: no refit


def test_new_level_share_gives_one_exploration_slot_per_never_measured_level():
    rng = np.random.default_rng(2)
    additive, base = list("abcdefghij"), ["b1", "b2", "b3"]
    df = pd.DataFrame([(a, b) for a in additive for b in base], columns=["additive", "base"])
    effect = dict(zip(base, rng.normal(size=3)))  # the measured additives do not differ: the means do not decide
    y = df["base"].map(effect).to_numpy()
    measured = np.flatnonzero(df["additive"].isin(list("abcdef")).to_numpy())[::2]  # g-j never measured
    opts = {**FAST, "batch_size": 8, "family_share": 0.25, "explore_share": 0.25}

    def reasons(**extra):
        opt = FusionOptimizer(df, "maximize", options={**opts, **extra}, seed=0)
        opt.observe(ids=measured, Y=y[measured])
        s = opt.suggest()
        kinds = [r.split(":")[0] for r in s.table["reason"]]
        return kinds, set(df["additive"].iloc[s.row_ids])

    kinds, _ = reasons()
    assert kinds.count("exploration slot") == 2
    kinds, tried = reasons(new_level_share=0.5)  # four new levels, cap floor(0.5 * 8) = 4
    assert kinds.count("exploration slot") == 4 and kinds.count("family slot") == 2
    assert set("ghij") <= tried  # the batch tries every new level (slots and fused picks together)
    # no categorical column: the option changes nothing
    X, yy = _pool()
    plain = []
    for share in (0.0, 0.5):
        opt = FusionOptimizer(X, "maximize", options={**FAST, "new_level_share": share}, seed=0)
        opt.observe(ids=np.arange(0, 300, 15), Y=yy[np.arange(0, 300, 15)])
        plain.append(opt.suggest().row_ids.tolist())
    assert plain[0] == plain[1]


def test_the_record_names_what_chose_each_pick():
    from axfusion.diagnostics import IterationRecord

    X, y = _pool()
    opt = FusionOptimizer(X, "maximize", options={**FAST, "batch_size": 10}, seed=0)
    init = np.arange(0, 300, 15)
    opt.observe(ids=init, Y=y[init])
    s = opt.suggest()
    picks = opt.records[-1].batch_picks
    assert len(picks) == 10 and picks[:4] == ["utility"] * 4  # 3 family + 3 exploration slots of 10
    families = set(FAST["families"])
    for pick, reason in zip(picks, s.table["reason"]):
        if pick == "utility":
            assert reason.startswith("rank ")
        elif pick in families:
            assert reason.startswith("family slot") and pick in reason
        else:
            assert pick == "exploration" and reason.startswith("exploration slot")
    assert sum(p in families for p in picks) == 3 and picks.count("exploration") == 3
    old = opt.records[-1].as_dict()
    del old["batch_picks"]  # a record written before the field existed
    assert IterationRecord.from_dict(old).batch_picks == []
