# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 5 — bring your own surrogate family
#
# **Goal.** The fusion optimiser's reservoir holds several *families* of surrogates
# (linear, k-NN, neural, boosted trees), each fitted on target-biased bootstrap resamples
# and scored out of bag (OOB). Any scikit-learn regressor can join them. We
#
# 1. register two scikit-learn regressors as families with
#    `axfusion.models.register_family(SklearnFamily(...))`: a histogram gradient-boosting
#    model whose hyper-parameter grid respects the Stage-0 capacity caps, and a Bayesian
#    ridge regression that reports its own predictive standard deviation;
# 2. build a `ReservoirModel` with them on 200 Curie-temperature compounds and inspect the
#    per-family OOB scores, the ensemble weights and the chosen hyper-parameters, and check
#    the OOB accuracy against held-out compounds;
# 3. run a few fusion iterations of a closed-pool campaign with the custom families in the
#    reservoir.
#
# Set `AXFUSION_TUTORIAL_FAST=1` for a quick run with small budgets.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

# Shared set-up (tutorials/_setup.py): FAST and the figure folder OUT come from the
# environment variables AXFUSION_TUTORIAL_FAST and AXFUSION_TUTORIAL_OUT; warnings and
# logs are silenced; finish(fig, name) saves a figure as OUT/name.png, then shows it
# (or, when FAST, closes it).
from _setup import FAST, OUT, display, finish
from matplotlib.ticker import MaxNLocator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.metrics import r2_score

from axfusion.campaign import FusionOptimizer
from axfusion.data import load_dataset
from axfusion.models import DEFAULT_FAMILIES, ReservoirModel, SklearnFamily, list_families, register_family
from axfusion.protocols import top_rows

T_START = time.perf_counter()

SEED = 0
N_TRAIN = 200
N_MEMBERS = 3 if FAST else 8
BUILTIN = ["ridge", "knn", "lightgbm"] if FAST else list(DEFAULT_FAMILIES)  # the 7 default families
N_ITERATIONS = 2 if FAST else 8
print(f"FAST={FAST}; figures go to {OUT}")

# %% [markdown]
# ## 1. Registering families
#
# A `SklearnFamily` needs a name and an estimator — an unfitted scikit-learn regressor
# (cloned and `set_params`-ed per setting) or a factory `(params, seed) -> estimator`.
# Its `grid` is a list of hyper-parameter settings or a callable `(caps, n, d) -> list`;
# the reservoir tries at most four settings per family on one bootstrap resample and keeps
# the best OOB one. The callable form lets the grid follow Stage 0's *capacity caps*
# (`axfusion.capacity.CapacityCaps`: `max_trees`, `max_depth`, `max_leaves`,
# `min_samples_leaf`, ...), so a flexible model gets no more capacity than the data
# support. Estimators always see standardised inputs and targets.


# %%
def hgb_grid(caps, n, d):
    """Boosting inside the caps: rounds, depth and leaves from Stage 0."""
    base = dict(max_iter=int(min(caps.max_trees, 100)), min_samples_leaf=int(max(caps.min_samples_leaf, 2)))
    return [
        {**base, "max_depth": int(caps.max_depth), "max_leaf_nodes": int(max(caps.max_leaves, 2))},
        {**base, "max_depth": int(max(2, caps.max_depth // 2)), "max_leaf_nodes": int(max(caps.max_leaves // 2, 2))},
    ]


def bayes_ridge_std(estimator, X):
    """The family's own predictive standard deviation."""
    return estimator.predict(X, return_std=True)[1]


# overwrite=True makes the cell safe to run twice (names are unique in the registry)
register_family(
    SklearnFamily("hist_gbm", HistGradientBoostingRegressor(learning_rate=0.1), grid=hgb_grid, tier="high"),
    overwrite=True,
)
register_family(
    SklearnFamily("bayes_ridge", BayesianRidge(), tier="low", predict_std=bayes_ridge_std),
    overwrite=True,
)
CUSTOM = ["hist_gbm", "bayes_ridge"]
print("registered families:", list_families())

# %% [markdown]
# ## 2. A reservoir with the custom families
#
# 200 randomly chosen compounds train the reservoir; the remaining 1274 are held out to
# check what the OOB scores promise. `family_scores` holds, per family and target, the
# accuracy channel $s_m$ (from OOB $R^2$), the calibration channel $e_m$ (from the OOB
# Student-$t$ ELPD), the structural trend $S_m$ and the members' mean OOB $R^2$.

# %%
ds = load_dataset("curie_temp")
X = ds.feature_matrix()
tc = ds.target_matrix(["Tc_real"])[:, 0]
rng = np.random.default_rng(SEED)
perm = rng.permutation(len(tc))
train, test = perm[:N_TRAIN], perm[N_TRAIN:]

t0 = time.perf_counter()
model = ReservoirModel(
    torch.tensor(X[train]),
    torch.tensor(tc[train, None]),
    families=BUILTIN + CUSTOM,
    n_members=N_MEMBERS,
    seed=SEED,
).fit()
print(f"reservoir of {model.num_members} members ({len(model.family_names)} families x {N_MEMBERS}) "
      f"fitted in {time.perf_counter() - t0:.1f} s; dropped: {model.dropped_families or 'none'}")
cap = model.capacity
print(f"Stage 0: d = {cap.d}, d_eff = {cap.d_eff}, capacity C = {cap.capacity}; "
      f"caps: max_trees {cap.caps.max_trees}, max_depth {cap.caps.max_depth}, max_leaves {cap.caps.max_leaves}")

# %%
w = model.ensemble_weights.numpy().reshape(len(model.family_names), N_MEMBERS).sum(axis=1)
moments = model.family_moments(torch.tensor(X[test]))  # family means/stds on the held-out compounds
rows = []
for i, name in enumerate(model.family_names):
    sc = model.family_scores[name][0]
    rows.append({
        "family": name,
        "custom": name in CUSTOM,
        "own std": bool(model.provides_std[i]),
        "OOB R2": sc.r2_mean,
        "s_m (accuracy)": sc.accuracy,
        "e_m (calibration)": sc.calibration,
        "ELPD/point": sc.elpd_per_point,
        "S_m (trend)": sc.trend,
        "ensemble weight": w[i],
        "held-out R2": r2_score(tc[test], moments.mean[i, :, 0]),
        "params": model.family_params[name][0],
    })
scores = pd.DataFrame(rows).set_index("family")
display(scores.round(3))
ens_mean = model.posterior(torch.tensor(X[test])).mean.squeeze(-1).numpy()
print(f"ensemble (weighted) held-out R2: {r2_score(tc[test], ens_mean):.3f}")

# %% [markdown]
# Is the OOB score a fair guide? Left: OOB $R^2$ against held-out $R^2$ per family (custom
# families in orange). Right: the posterior weight of each family — the reservoir's
# default softmax weighting on the OOB accuracy concentrates the ensemble posterior on the
# most accurate families.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
colors = ["C1" if c else "C0" for c in scores["custom"]]
ax.scatter(scores["OOB R2"], scores["held-out R2"], c=colors, s=50, edgecolor="k")
for k, (name, r) in enumerate(scores.sort_values("OOB R2").iterrows()):
    ax.annotate(name, (r["OOB R2"], r["held-out R2"]), textcoords="offset points",
                xytext=(6, 4 if k % 2 else -11), fontsize=8)
lo = min(scores["OOB R2"].min(), scores["held-out R2"].min(), 0) - 0.05
ax.plot([lo, 1], [lo, 1], "k:", lw=0.8, label="y = x")
ax.set_xlabel("OOB $R^2$ (members' mean, 200 training compounds)")
ax.set_ylabel(f"held-out $R^2$ ({len(test)} compounds)")
ax.set_title("Out-of-bag vs held-out accuracy")
ax.legend(fontsize=8)
ax = axes[1]
order = scores["ensemble weight"].sort_values().index
ax.barh(order, scores.loc[order, "ensemble weight"],
        color=["C1" if scores.loc[f, "custom"] else "C0" for f in order])
ax.set_xscale("log")
ax.set_xlabel("posterior weight of the family (sum over its members)")
ax.set_title("Ensemble weights (orange: custom families)")
fig.tight_layout()
finish(fig, "05_family_scores")

# %% [markdown]
# `ReservoirModel` is a BoTorch `EnsembleModel`, so its posterior works with any BoTorch
# acquisition. For the fusion layer it also exposes family-level moments; Bayesian ridge
# adds its own predictive variance to the spread of its members:

# %%
print("mean predictive std on held-out compounds [K]:",
      {n: round(float(moments.std[i, :, 0].mean()), 1) for i, n in enumerate(model.family_names)})

# %% [markdown]
# ## 3. Fusion iterations with the custom families
#
# The same names go into the settings (`options={"families": ...}`). We run a short closed-pool
# campaign on the whole Curie pool (20 initial compounds at or below the median, batches
# of 10) and follow the custom families through the per-iteration records: their OOB
# $R^2$ and the Kalman measurement noise $R_m = \max(\mathrm{MAD}^2_m - \mathrm{median}_x P_m, 10^{-9})$
# the fusion assigns them, where $P_m$ is the family's predictive variance and
# $\mathrm{MAD}^2_m$ the robust scale of its OOB residuals. A family whose own predictive
# variance already exceeds its residual scatter (Bayesian ridge on few data, for instance)
# sits at the floor: its Kalman gain $P/(P+R)$ is then close to 1, which the reverse-Kalman
# weighting favours as informative disagreement, while the KF weighting $\propto 1/(P+R)$
# still discounts its large variance.

# %%
success = set(top_rows(tc, 10).tolist())
low = np.setdiff1d(np.flatnonzero(tc <= np.median(tc)), list(success))
init = np.sort(np.random.default_rng(SEED).choice(low, size=20, replace=False))
opt = FusionOptimizer(
    X,
    ["maximize"],
    target_names=["Tc"],
    options={"batch_size": 10, "budget_iterations": N_ITERATIONS, "families": tuple(BUILTIN + CUSTOM),
             "n_members": N_MEMBERS},
    seed=SEED,
)
opt.observe(ids=init, Y=tc[init])
for t in range(1, N_ITERATIONS + 1):
    s = opt.suggest()
    opt.observe(ids=s.row_ids, Y=tc[s.row_ids])
    print(f"iteration {t}: best so far {opt.best()['value'].iloc[0]:.0f} K; "
          f"top-10 compound in batch: {bool(success.intersection(s.row_ids.tolist()))}; "
          f"{s.record.timings['total']:.1f} s")
display(s.table[["row_id", "utility", "mean[Tc]", "std[Tc]", "reason"]].head(5))

# %%
recs = opt.records
iters = [r.iteration for r in recs]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for name in opt.model.family_names:
    style = dict(lw=2.2, marker="o") if name in CUSTOM else dict(lw=0.9, marker=".", alpha=0.7)
    r2 = [r.families[name][0]["r2_mean"] if name in r.families else np.nan for r in recs]
    noise = [r.fusion["target_0"]["families"].get(name, {}).get("R", np.nan) for r in recs]
    axes[0].plot(iters, r2, label=name, **style)
    axes[1].plot(iters, noise, label=name, **style)
axes[0].set_ylabel("OOB $R^2$ (members' mean)")
axes[0].set_title("Family accuracy during the campaign")
axes[1].set_ylabel("$R_m$ [standardised target units$^2$]")
axes[1].set_yscale("log")
axes[1].set_title("Kalman measurement noise per family")
axes[1].legend(fontsize=7, ncol=2)
for ax in axes:
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
fig.tight_layout()
finish(fig, "05_campaign_families")
print(f"Total run time {time.perf_counter() - T_START:.0f} s")

# %% [markdown]
# ## Conclusion
#
# Two lines of registration were enough to put scikit-learn's histogram gradient boosting
# (with a grid that follows the capacity caps) and Bayesian ridge (with its own predictive
# standard deviation) into the reservoir. The score table shows how each family fared out
# of bag and on the held-out compounds, and the weights show how much of the ensemble
# posterior each family received; the campaign figure follows the custom families through
# the fusion iterations. Everything the built-in families get — target-biased bootstrap,
# capacity-aware tuning, OOB scoring, Kalman fusion, saving and resuming campaigns — the
# custom families get too. (Registrations live in the Python process: register the
# families again before resuming a saved campaign that uses them.)
