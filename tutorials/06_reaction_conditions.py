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
# # Tutorial 6 — a chemist's campaign over reaction conditions with `axfusion suggest`
#
# **Goal.** A Buchwald–Hartwig C–N coupling can be run with 3 aryl halides, 22 additives,
# 3 bases and 4 ligands: 792 reactions. We want a high yield after a few plates of 8
# reactions, not a model of all 792. Every reaction component is a *text* column (the
# SMILES string of the reagent, as a chemist's spreadsheet holds it); `axfusion suggest`
# treats text columns as categorical (one indicator per level, two different levels one
# unit apart) without any encoding on our side.
#
# The yields are those of Ahneman *et al.*, Science 360, 186 (2018) (the built-in
# dataset `buchwald_a`, via Olympus). We hide them in a "lab" and only look one up when
# the campaign asks for that reaction — the loop a chemist runs:
#
# 1. write the candidate table `pool.csv` (one row per reaction, text columns) and the
#    reactions measured so far `measured.csv`;
# 2. `axfusion suggest --pool pool.csv --measured measured.csv --target yield --batch 8 --out batch.csv`;
# 3. run the 8 suggested reactions, append their yields to `measured.csv`;
# 4. call `axfusion suggest` again (the campaign file next to `--out` carries the state).
#
# We call the CLI in-process through `axfusion.cli.main` with the same arguments as on
# the command line (a `subprocess.run(["axfusion", "suggest", ...])` does the same).
#
# Set `AXFUSION_TUTORIAL_FAST=1` for a quick run with small budgets (used by the test
# suite); figures are also written to `AXFUSION_TUTORIAL_OUT` (or a temporary folder).

# %%
import shlex
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# Shared set-up (tutorials/_setup.py): FAST, the figure folder OUT, quiet warnings,
# display() and finish(fig, name).
from _setup import FAST, OUT, display, finish

from axfusion.benchmarks.metrics import expected_best_without_replacement
from axfusion.cli import main as axfusion_cli
from axfusion.data import load_dataset

T_START = time.perf_counter()
SEED = 0
N_FIRST = 10  # reactions the chemist has already run
BATCH = 8  # one plate per suggestion
N_BATCHES = 2 if FAST else 8
# FAST: three light surrogate families with 3 bootstrap members each; a full run uses the defaults
MODEL_ARGS = ["--families", "ridge", "knn", "lightgbm", "--members", "3"] if FAST else []
WORK = Path(tempfile.mkdtemp(prefix="axfusion_reactions_"))  # the chemist's folder
print(f"FAST={FAST}; files in {WORK}; figures go to {OUT}")

# %% [markdown]
# ## The candidate table and the first plate
#
# The pool file has an id column `reaction` and the four components as text. The
# measured file has the same columns plus the target `yield`; its rows are matched to the
# pool by `--id-column reaction`. The first plate is 10 random reactions.

# %%
data = load_dataset("buchwald_a")
pool = data.X.astype(str).reset_index(drop=True)
pool.insert(0, "reaction", [f"R{i:03d}" for i in range(len(pool))])
LAB = dict(zip(pool["reaction"], data.Y["yield"].to_numpy()))  # hidden until a reaction is run


def run_reactions(ids):
    """The lab: the measured yields (%) of the reactions ``ids``."""
    return [float(LAB[r]) for r in ids]


pool.to_csv(WORK / "pool.csv", index=False)
first = pool.sample(N_FIRST, random_state=SEED)
measured = first.assign(**{"yield": run_reactions(first["reaction"])})
measured.to_csv(WORK / "measured.csv", index=False)
print(f"{len(pool)} candidate reactions; {pool.shape[1] - 1} text columns:")
display(pool.drop(columns="reaction").nunique().rename("levels").to_frame())
print(f"first plate: best yield {measured['yield'].max():.1f} % (the pool's best is {max(LAB.values()):.1f} %)")
display(measured[["reaction", "base", "yield"]].sort_values("yield", ascending=False).head())

# %% [markdown]
# ## One call of `axfusion suggest`
#
# The first lines it prints list how every text column is encoded (the *level
# listing*): four categorical columns, 32 indicator features. The suggestions are written
# to `--out` with the levels as written in the pool, the predicted yield (`mean`, `std`),
# the fusion utility and a one-line reason.

# %%
def suggest(batch_number):
    out = WORK / f"batch{batch_number}.csv"
    args = ["suggest", "--pool", str(WORK / "pool.csv"), "--measured", str(WORK / "measured.csv"),
            "--target", "yield", "--maximize", "--batch", str(BATCH), "--id-column", "reaction",
            "--out", str(out), "--campaign", str(WORK / "campaign.json"), "--seed", str(SEED), *MODEL_ARGS]
    if batch_number == 1:
        print("$ axfusion " + shlex.join(args).replace(str(WORK) + "/", ""))
    code = axfusion_cli(args)
    assert code == 0, f"axfusion suggest exited with {code}"
    return pd.read_csv(out)


batch = suggest(1)
display(batch[["reaction", "aryl_halide", "base", "mean[yield]", "std[yield]", "utility", "reason"]])

# %% [markdown]
# ## The loop: measure, append, suggest again
#
# Each round "runs" the 8 suggested reactions (a look-up in the hidden table), appends
# them to `measured.csv` and asks for the next plate. Every call names the same
# `--campaign campaign.json` (the default is `<out stem>.campaign.json`, which would start a
# new campaign for each new `--out` name), so each call continues the campaign: it knows
# which suggestions are still pending and keeps its seed and surrogate settings.

# %%
history = [("first plate", N_FIRST, measured["yield"].max())]
for b in range(1, N_BATCHES + 1):
    if b > 1:
        batch = suggest(b)
    new = pool.set_index("reaction").loc[batch["reaction"]].reset_index()
    new["yield"] = run_reactions(new["reaction"])
    measured = pd.concat([measured, new], ignore_index=True)
    measured.to_csv(WORK / "measured.csv", index=False)
    history.append((f"batch {b}", len(measured), measured["yield"].max()))
    print(f"batch {b}: yields {sorted(np.round(new['yield'], 1), reverse=True)} -> best so far "
          f"{measured['yield'].max():.1f} %")

# %% [markdown]
# ## Best yield per batch
#
# Against random plates: the exact expected best of the same number of random reactions
# (order statistics of sampling without replacement, no simulation).

# %%
yields = np.array(list(LAB.values()))
best = pd.DataFrame(history, columns=["after", "reactions run", "best yield (%)"])
best["random plates: E[best] (%)"] = -expected_best_without_replacement(-yields, best["reactions run"])
best["rank of the best in the pool"] = [int((yields > v).sum()) + 1 for v in best["best yield (%)"]]
display(best.round(1))

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(best["reactions run"], best["best yield (%)"], "o-", label="axfusion suggest")
n = np.arange(N_FIRST, best["reactions run"].max() + 1)
ax.plot(n, -expected_best_without_replacement(-yields, n), "--", color="grey", label="random plates (exact E)")
ax.axhline(yields.max(), color="k", lw=0.8, label=f"best of the 792 ({yields.max():.1f} %)")
ax.set_xlabel("reactions run")
ax.set_ylabel("best yield so far (%)")
ax.set_title("buchwald_a: a campaign of plates of 8")
ax.legend(loc="lower right", fontsize=8)
finish(fig, "06_best_yield_per_batch")

# %% [markdown]
# ## Which levels did the campaign favour?
#
# The share of each base and aryl halide among the suggested reactions against the
# measured mean yield of that level: the campaign moves towards the levels that pay.

# %%
suggested = measured.iloc[N_FIRST:]
for column in ("base", "aryl_halide"):
    table = pd.DataFrame({
        "suggested": suggested[column].value_counts(),
        "mean yield of the suggested (%)": suggested.groupby(column)["yield"].mean().round(1),
        "mean yield in the pool (%)": pd.Series(data.Y["yield"].to_numpy()).groupby(
            pool[column].to_numpy()).mean().round(1),
    })
    table["suggested"] = table["suggested"].fillna(0).astype(int)
    table = table.sort_values("mean yield in the pool (%)", ascending=False)
    display(table)

# %% [markdown]
# **Notes.**
#
# * With RDKit installed (`pip install 'axfusion[chem]'`), `--smiles-column aryl_halide
#   additive base ligand` encodes each reagent by the Morgan fingerprint of its SMILES
#   instead of one indicator per level, so that similar molecules are close; a
#   `--descriptors COLUMN=table.csv` table (e.g. DFT descriptors per reagent) does the same
#   with your own numbers. `axfusion bench --csv` takes the same options to compare the
#   encodings on a finished table before a campaign.
# * `benchmarks/results/reactions` measures this protocol on the five Buchwald–Hartwig
#   pools and the Suzuki–Miyaura pool over 10 seeds against GP-BO, RF-BO, BayBE and random
#   plates (the README's table).

# %%
print(f"tutorial ran in {time.perf_counter() - T_START:.0f} s")
