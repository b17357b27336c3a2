r"""Do surrogates trained on the lower half of a pool point to its top rows?

The closed-pool protocol starts every campaign from 20 rows at or below the median target.
This script measures, per pool and surrogate, how well a model fitted on such rows ranks
the unmeasured rest: the Spearman correlation of its prediction with the truth, and the
rank (1 = first) of the first top-k row in its ordering (k = min(10, N/100), the success
set). It explains why the fusion optimiser spends some slots of a batch on exploration
(``docs/method.md``, Stage 3, "Exploration and family slots"): on some pools every model's
ranking is *anti*-correlated with the truth until rows from the upper half are measured.

Two training sets per draw: ``n = 20`` rows at or below the median (the protocol's start)
and ``n = 50`` (those 20 plus 30 random rows of the upper half). Surrogates: ridge
(``RidgeCV``), distance-weighted 5-NN, a random forest (100 trees), LightGBM (100 rounds),
and BoTorch's ``SingleTaskGP`` (inputs min-max scaled) by its mean and by mean + 2 std.

    python benchmarks/bench_extrapolation.py                       # madml steel, agnp, crossed barrel, p3ht
    python benchmarks/bench_extrapolation.py --pools agnp --draws 4

Prints a table; writes ``benchmarks/results/extrapolation.json.gz``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

POOLS = ("madml_steel_strength", "agnp", "crossed_barrel", "p3ht")


def _gp(X: np.ndarray, train: np.ndarray, y: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from axfusion.benchmarks.methods.pool_bo import unit_box  # the pool GP-BO's input scaling

    def unit(rows: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(unit_box(X[rows], X.min(axis=0), X.max(axis=0)))

    model = SingleTaskGP(unit(train), torch.as_tensor(y[train])[:, None], outcome_transform=Standardize(1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    with torch.no_grad():
        post = model.posterior(unit(test))
    return post.mean[:, 0].numpy(), post.variance[:, 0].clamp_min(0).sqrt().numpy()


def predictions(X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    r"""Each surrogate's scores of the ``test`` rows after fitting on the ``train`` rows."""
    import lightgbm as lgb
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X[train])
    A, B = scaler.transform(X[train]), scaler.transform(X[test])
    out = {
        "ridge": RidgeCV().fit(A, y[train]).predict(B),
        "knn": KNeighborsRegressor(min(5, len(train) - 1), weights="distance").fit(A, y[train]).predict(B),
        "random_forest": RandomForestRegressor(100, random_state=seed).fit(A, y[train]).predict(B),
        "lightgbm": lgb.LGBMRegressor(n_estimators=100, min_child_samples=3, random_state=seed, verbose=-1)
        .fit(A, y[train])
        .predict(B),
    }
    mean, std = _gp(X, train, y, test)
    out["gp_mean"] = mean
    out["gp_mean_plus_2std"] = mean + 2.0 * std
    return out


def study(pool: str, draws: int) -> list[dict[str, Any]]:
    r"""Rows of (pool, n, surrogate, draw) with the Spearman correlation and first top-k rank."""
    from scipy.stats import spearmanr

    from axfusion.benchmarks.suites import get_task

    spec = get_task(pool)
    data = spec.dataset()
    X = np.asarray(data.X, dtype=np.float64)
    y = np.asarray(data.Y, dtype=np.float64)[:, 0]
    if spec.directions and spec.directions[0] == "minimize":
        y = -y
    N = y.size
    top = np.argsort(-y)[: max(1, min(10, int(0.01 * N)))]
    lower = np.flatnonzero(y <= np.median(y))
    upper = np.setdiff1d(np.arange(N), lower)
    rows = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        start = rng.choice(lower, 20, replace=False)
        for n, train in ((20, start), (50, np.concatenate([start, rng.choice(upper, 30, replace=False)]))):
            test = np.setdiff1d(np.arange(N), train)
            for name, score in predictions(X, y, train, test, draw).items():
                order = test[np.argsort(-score, kind="stable")]
                hits = np.flatnonzero(np.isin(order, top))
                rows.append({
                    "pool": pool, "n": n, "surrogate": name, "draw": draw,
                    "spearman": float(spearmanr(score, y[test])[0]),
                    "first_top_rank": int(hits[0] + 1) if hits.size else None,
                })
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""Per (pool, n, surrogate): mean Spearman and median first top-k rank over the draws."""
    keys = dict.fromkeys((r["pool"], r["n"], r["surrogate"]) for r in rows)
    out = []
    for pool, n, name in keys:
        group = [r for r in rows if (r["pool"], r["n"], r["surrogate"]) == (pool, n, name)]
        ranks = [r["first_top_rank"] for r in group if r["first_top_rank"] is not None]
        out.append({
            "pool": pool, "n": n, "surrogate": name, "draws": len(group),
            "spearman_mean": float(np.nanmean([r["spearman"] for r in group])),
            "first_top_rank_median": float(np.median(ranks)) if ranks else None,
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", nargs="+", default=list(POOLS))
    parser.add_argument("--draws", type=int, default=8, help="initial designs per pool (seeds 0..draws-1)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "extrapolation.json.gz"))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = [r for pool in args.pools for r in study(pool, args.draws)]
    table = summary(rows)
    print("| pool | n | surrogate | Spearman (mean) | first top-k row at rank (median) |")
    print("|---|---|---|---|---|")
    for r in table:
        rank = "-" if r["first_top_rank_median"] is None else f"{r['first_top_rank_median']:g}"
        print(f"| {r['pool']} | {r['n']} | {r['surrogate']} | {r['spearman_mean']:+.2f} | {rank} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"draws": args.draws, "summary": table, "rows": rows}, indent=1) + "\n"
    out.write_bytes(gzip.compress(text.encode(), mtime=0) if out.suffix == ".gz" else text.encode())
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
