r"""Benchmark of Stage 1: the surrogate reservoir against each of its families, a GP and a RF.

Part 1 (accuracy and calibration). For every dataset, training size ``n`` and repeat, a
seeded random training set of ``n`` rows is drawn; the remaining rows (subsampled to at most
``--max-test``) are the held-out test set. On the same split the script fits

- ``reservoir``: :class:`axfusion.models.ReservoirModel` (default families, ``n_members``
  bootstrap members per family, ``n_jobs`` processes); its prediction is the ensemble
  posterior (``posterior.mean``, ``sqrt(posterior.variance)``: the reliability-weighted
  spread of the members);
- ``reservoir+noise``: diagnostic: the reservoir's mean, with the reliability-weighted mean
  of the families' OOB noise proxy (``FamilyScore.mad2``) added to its predictive variance
  (the posterior's variance is the members' spread only);
- ``reservoir_uniform``: the same fitted reservoir, all members weighted equally (mean and
  std over the ``M x B`` member predictions) -- shows what the reliability weights buy;
- ``fam:<name>``: each family of that same fitted reservoir alone: mean over its members
  (``member_predictions``), std from ``family_moments`` (spread of its members plus their
  own predictive variance where they have one);
- ``gp``: BoTorch ``SingleTaskGP`` (``Normalize`` inputs, ``Standardize`` outcome, default
  Matern-5/2 ARD kernel, fitted with ``fit_gpytorch_mll``). Columns that are constant on the
  training set are dropped for the GP (``Normalize`` would divide by a zero range);
  predictive std includes the fitted observation noise;
- ``rf``: scikit-learn ``RandomForestRegressor`` (100 trees, ``oob_score=True``,
  ``n_jobs`` threads); mean and std over the trees.

Metrics per (method, split):

- ``oob_r2``: reservoir: R^2 of ``model.oob_residuals()`` (every row's mean out-of-bag
  residual over all members; rows in every bag are skipped); family: the mean of its members'
  OOB R^2 (``family_scores[name][0].r2_mean``; each member's R^2 is floored at 1e-8 by
  METHOD.md, so a family worse than the mean shows ~0); rf: its own ``oob_score_``; gp: n/a;
- ``test_r2``: held-out R^2;
- ``elpd``: held-out Gaussian log predictive density per point, N(y; mu, sd), computed on the
  target standardised by the *training* mean and std (so that datasets are comparable; the
  std is floored at 1e-9 standardised units);
- ``cov90``: fraction of held-out targets inside the central 90 % Gaussian interval;
- ``rho_top10``: Spearman correlation between prediction and truth on the held-out rows whose
  true target is in the top 10 % of the held-out set;
- ``fit_s``: wall-clock seconds of the fit (families: their own wall time inside the
  reservoir's fit, ``model.timings['family/<name>']``, measured in the worker that fitted
  them); ``cpu_s``: CPU seconds of the fit summed over the fitting process and its worker
  processes (less sensitive to other load on a shared machine). The reservoir is timed after
  a small warm-up fit in the same process (imports and loky worker start-up excluded, as in a
  campaign that reuses its workers; ``--cold`` times the first fit instead);
- ``rss_mib``: peak resident set size of the fit (see MEMORY_METHOD).

Part 2 (speed target of METHOD.md Stage 1 / the project brief): fit 7 families x 8 members on
``n = 500`` random rows of ``curie_temp`` with all of its feature columns (constant columns
kept, ``d = 140``) must take <= 15 s on 2 cores. Timed for ``n_jobs = 1`` and ``n_jobs = 2``
(``--speed-repeats`` fits each, median reported) in one fresh process per ``n_jobs`` after a
small warm-up fit (imports, loky worker start-up), with the per-family times from
``model.timings``.

Usage::

    python benchmarks/bench_reservoir.py                # full run (tens of minutes on 2 cores)
    python benchmarks/bench_reservoir.py --quick        # ~1-minute smoke run (not written to results/)
    python benchmarks/bench_reservoir.py --datasets supercon --sizes 50 100 --repeats 3
    python benchmarks/bench_reservoir.py --speed-only   # only the speed target
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_OUT = RESULTS_DIR / "reservoir.json.gz"

#: Dataset name -> target column benchmarked.
DATASET_TARGETS: dict[str, str] = {"curie_temp": "Tc_real", "supercon": "Tc"}

MEMORY_METHOD = (
    "Every (split, method) is fitted in a fresh spawned child process. rss_mib = peak resident "
    "set size during the fit: the child's VmHWM (= ru_maxrss, read right after the fit, before "
    "prediction) plus the VmHWM of each worker process it started (the reservoir's loky "
    "workers for n_jobs > 1). It includes the interpreter and imported libraries; "
    "rss_base_mib is the child's RSS just before the fit (after imports and data), and "
    "rss_delta_mib = child peak - rss_base_mib (the fit's own growth in the main process)."
)

SPEED_TARGET_S = 15.0
SPEED_TARGET_N = 500
SPEED_TARGET_MEMBERS = 8
STD_FLOOR = 1e-9
JOIN_TIMEOUT_S = 60.0
TOP_FRACTION = 0.10

METRICS: tuple[str, ...] = (
    "oob_r2",
    "test_r2",
    "elpd",
    "cov90",
    "rho_top10",
    "fit_s",
    "cpu_s",
    "rss_mib",
    "rss_delta_mib",
)


# --------------------------------------------------------------------------- metrics


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    r"""Coefficient of determination ``1 - SS_res / SS_tot``."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot <= 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def gaussian_elpd(z: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> float:
    r"""Mean Gaussian log density of ``z`` under ``N(mu, sd^2)`` (standardised units)."""
    sd = np.maximum(sd, STD_FLOOR)
    return float(np.mean(-0.5 * np.log(2.0 * np.pi * sd**2) - 0.5 * ((z - mu) / sd) ** 2))


def coverage90(z: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> float:
    r"""Fraction of ``z`` inside the central 90 % interval of ``N(mu, sd^2)``."""
    return float(np.mean(np.abs(z - mu) <= 1.6448536269514722 * np.maximum(sd, STD_FLOOR)))


def spearman_top(y: np.ndarray, pred: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    r"""Spearman correlation of ``pred`` with ``y`` on the rows whose ``y`` is in the top ``fraction``."""
    from scipy.stats import spearmanr

    top = y >= np.quantile(y, 1.0 - fraction)
    if top.sum() < 3 or np.ptp(pred[top]) == 0.0 or np.ptp(y[top]) == 0.0:
        return float("nan")
    return float(spearmanr(pred[top], y[top]).statistic)


def score_predictions(
    y_test: np.ndarray, mu: np.ndarray, sd: np.ndarray, y_mean: float, y_std: float,
    top_fraction: float = TOP_FRACTION,
) -> dict[str, float]:
    r"""Held-out metrics of one method (``mu``, ``sd`` in target units); the rank correlation
    on the top ``top_fraction`` of ``y_test`` is ``rho_top<percent>`` (``rho_top10`` by default)."""
    z, zm, zs = (y_test - y_mean) / y_std, (mu - y_mean) / y_std, sd / y_std
    return {
        "test_r2": r2_score(y_test, mu),
        "elpd": gaussian_elpd(z, zm, zs),
        "cov90": coverage90(z, zm, zs),
        f"rho_top{round(100 * top_fraction)}": spearman_top(y_test, mu, top_fraction),
        "mean_sd_std": float(np.mean(zs)),
    }


# ------------------------------------------------------------------- process probes


def _status_kib(pid: int | str, field: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    r"""PIDs of all descendants of ``pid`` (Linux ``/proc``)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                continue
            out.extend(kids)
            stack.extend(kids)
    return sorted(set(out))


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class FitProbe:
    r"""Wall, CPU and peak memory of a fit, including the worker processes it starts."""

    def __enter__(self) -> FitProbe:
        self.base_rss_mib = _status_kib("self", "VmRSS") / 1024.0
        self._pre_children = set(_children(os.getpid()))
        self._pre_child_cpu = {p: _cpu_seconds(p) for p in self._pre_children}
        self._cpu0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall_s = time.perf_counter() - self._t0
        cpu = time.process_time() - self._cpu0
        kids = _children(os.getpid())
        worker_cpu = sum(_cpu_seconds(p) - self._pre_child_cpu.get(p, 0.0) for p in kids)
        self.cpu_s = cpu + worker_cpu
        self.self_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        self.worker_peak_mib = [_status_kib(p, "VmHWM") / 1024.0 for p in kids]
        self.rss_mib = self.self_peak_mib + sum(self.worker_peak_mib)
        self.rss_delta_mib = self.self_peak_mib - self.base_rss_mib

    def as_dict(self) -> dict[str, Any]:
        return {
            "fit_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "rss_mib": self.rss_mib,
            "rss_base_mib": self.base_rss_mib,
            "rss_delta_mib": self.rss_delta_mib,
            "rss_workers_mib": self.worker_peak_mib,
        }


def _shutdown_workers() -> None:
    r"""Stop joblib's reusable loky executor, if one was started in this process.

    Left to the interpreter's exit handlers, the idle workers occasionally keep the
    child from exiting (the parent then waits for ever in ``join``).
    """
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


def _child_main(conn: Any, fn: Callable[[dict[str, Any]], Any], payload: dict[str, Any]) -> None:
    try:
        result = fn(payload)
        _shutdown_workers()
        conn.send(("ok", result))
    except BaseException:  # reported to the parent, which records the failure
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _kill_tree(pid: int) -> None:
    r"""Kill a child process this script started and all of its descendants."""
    import signal

    for p in [*_children(pid), pid]:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)


def run_isolated(fn: Callable[[dict[str, Any]], Any], payload: dict[str, Any]) -> Any:
    r"""Run ``fn(payload)`` in a fresh spawned (non-daemonic) process and return its result."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, fn, payload))
    proc.start()
    child.close()
    try:
        status, value = parent.recv()
    except EOFError:
        status, value = "error", "worker process died without a result"
    proc.join(timeout=JOIN_TIMEOUT_S)
    if proc.is_alive():  # the result is in; do not let a stuck exit stall the benchmark
        _kill_tree(proc.pid)
        proc.join()
    elif proc.exitcode not in (0, None) and status == "ok":
        raise RuntimeError(f"worker process exited with code {proc.exitcode}")
    if status != "ok":
        raise RuntimeError(value)
    return value


# ------------------------------------------------------------------------- workers


def _quiet() -> None:
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


def _warm_up(model_cls: Any, X: np.ndarray, y: np.ndarray, n_jobs: int) -> float:
    r"""A tiny fit that pays the one-time costs (imports here and in the loky workers,
    worker start-up), so that the timed fit sees a warm process as in a campaign."""
    import torch

    rows = np.random.default_rng(0).choice(X.shape[0], size=min(40, X.shape[0]), replace=False)
    t0 = time.perf_counter()
    model_cls(
        torch.as_tensor(X[rows]), torch.as_tensor(y[rows, None]), n_members=2, n_jobs=n_jobs, seed=0
    )
    return time.perf_counter() - t0


def work_reservoir(p: dict[str, Any]) -> list[dict[str, Any]]:
    r"""Fit one reservoir; score it, its uniform-weight variant and each family alone."""
    _quiet()
    import torch

    from axfusion.models import ReservoirModel

    torch.set_num_threads(p["threads"])
    Xtr, ytr, Xte, yte = p["X_train"], p["y_train"], p["X_test"], p["y_test"]
    y_mean, y_std = float(ytr.mean()), float(ytr.std())
    train_X, train_Y = torch.as_tensor(Xtr), torch.as_tensor(ytr[:, None])
    if p["warmup"]:
        _warm_up(ReservoirModel, Xtr, ytr, p["n_jobs"])
    with FitProbe() as probe:
        model = ReservoirModel(
            train_X, train_Y, seed=p["model_seed"], n_members=p["n_members"], n_jobs=p["n_jobs"]
        ).fit()
    test_X = torch.as_tensor(Xte)
    t0 = time.perf_counter()
    post = model.posterior(test_X)
    mu = post.mean[..., 0].numpy()
    sd = post.variance[..., 0].clamp_min(0).sqrt().numpy()
    vals = model.member_predictions(Xte)[..., 0]  # M x B x k
    moments = model.family_moments(Xte)
    predict_s = time.perf_counter() - t0
    if not np.allclose(vals.mean(axis=1), moments.mean[..., 0]):
        raise AssertionError("family_moments mean differs from the mean of member_predictions")

    res = model.oob_residuals()[:, 0]
    ys = (ytr - y_mean) / y_std  # the reservoir's own standardisation of the target
    seen = np.isfinite(res)
    ss_tot = float(np.sum((ys[seen] - ys[seen].mean()) ** 2))
    oob_r2 = 1.0 - float(np.sum(res[seen] ** 2)) / ss_tot if ss_tot > 0 else float("nan")

    weights = model.ensemble_weights.numpy()
    B = model.n_members
    scores = model.family_scores
    common = {"predict_s": predict_s, "capacity": model.capacity.as_dict()}
    rows = [
        {
            "method": "reservoir",
            "oob_r2": oob_r2,
            "oob_rows": int(seen.sum()),
            **score_predictions(yte, mu, sd, y_mean, y_std, p.get("top_fraction", TOP_FRACTION)),
            **probe.as_dict(),
            **common,
            "timings": dict(model.timings),
            "dropped_families": dict(model.dropped_families),
            "bootstrap_biased": bool(model.bootstrap_biased),
        }
    ]
    # Diagnostic: the members' spread plus the reliability-weighted OOB noise proxy
    # (MAD^2 of the OOB residuals, standardised units) as the predictive variance.
    fam_w = np.array([weights[i * B : (i + 1) * B].sum() for i in range(len(moments.names))])
    mad2 = np.array([scores[name][0].mad2 for name in moments.names])
    noise_var = float(np.sum(fam_w * mad2) / np.sum(fam_w)) * y_std**2
    rows.append(
        {
            "method": "reservoir+noise",
            "oob_r2": oob_r2,
            **score_predictions(yte, mu, np.sqrt(sd**2 + noise_var), y_mean, y_std,
                                  p.get("top_fraction", TOP_FRACTION)),
            **probe.as_dict(),
            "noise_std_standardised": math.sqrt(noise_var) / y_std,
        }
    )
    flat = vals.reshape(-1, vals.shape[-1])
    rows.append(
        {
            "method": "reservoir_uniform",
            "oob_r2": oob_r2,
            **score_predictions(yte, flat.mean(axis=0), flat.std(axis=0, ddof=1), y_mean, y_std,
                                  p.get("top_fraction", TOP_FRACTION)),
            **probe.as_dict(),
        }
    )
    for i, name in enumerate(moments.names):
        sc = scores[name][0]
        rows.append(
            {
                "method": f"fam:{name}",
                "oob_r2": float(sc.r2_mean),
                **score_predictions(
                    yte, vals[i].mean(axis=0), moments.std[i, :, 0], y_mean, y_std,
                    p.get("top_fraction", TOP_FRACTION),
                ),
                "fit_s": float(model.timings[f"family/{name}"]),
                "weight": float(weights[i * B : (i + 1) * B].sum()),
                **({"prediction": vals[i].mean(axis=0)} if p.get("return_predictions") else {}),
                "scores": sc.as_dict(),
                "params": {
                    k: (list(v) if isinstance(v, tuple) else v) for k, v in model.family_params[name][0].items()
                },
            }
        )
    return rows


def work_gp(p: dict[str, Any]) -> list[dict[str, Any]]:
    r"""Fit and score a BoTorch SingleTaskGP."""
    _quiet()
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.set_num_threads(p["threads"])
    torch.manual_seed(p["model_seed"])
    Xtr, ytr, Xte, yte = p["X_train"], p["y_train"], p["X_test"], p["y_test"]
    keep = np.ptp(Xtr, axis=0) > 0
    train_X = torch.as_tensor(Xtr[:, keep])
    train_Y = torch.as_tensor(ytr[:, None])
    with FitProbe() as probe:
        gp = SingleTaskGP(
            train_X,
            train_Y,
            input_transform=Normalize(d=train_X.shape[-1]),
            outcome_transform=Standardize(m=1),
        )
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    gp.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        post = gp.posterior(torch.as_tensor(Xte[:, keep]), observation_noise=True)
        mu = post.mean[..., 0].numpy()
        sd = post.variance[..., 0].clamp_min(0).sqrt().numpy()
    predict_s = time.perf_counter() - t0
    y_mean, y_std = float(ytr.mean()), float(ytr.std())
    return [
        {
            "method": "gp",
            "oob_r2": None,
            **score_predictions(yte, mu, sd, y_mean, y_std, p.get("top_fraction", TOP_FRACTION)),
            **probe.as_dict(),
            "predict_s": predict_s,
            "gp_features": int(keep.sum()),
            "noise_std_standardised": float(gp.likelihood.noise.sqrt().item()),
        }
    ]


def work_rf(p: dict[str, Any]) -> list[dict[str, Any]]:
    r"""Fit and score a 100-tree random forest (mean and std over trees)."""
    _quiet()
    from sklearn.ensemble import RandomForestRegressor

    Xtr, ytr, Xte, yte = p["X_train"], p["y_train"], p["X_test"], p["y_test"]
    with FitProbe() as probe:
        rf = RandomForestRegressor(
            n_estimators=100, oob_score=True, n_jobs=p["n_jobs"], random_state=p["model_seed"]
        ).fit(Xtr, ytr)
    t0 = time.perf_counter()
    per_tree = np.stack([tree.predict(Xte) for tree in rf.estimators_])
    predict_s = time.perf_counter() - t0
    y_mean, y_std = float(ytr.mean()), float(ytr.std())
    return [
        {
            "method": "rf",
            "oob_r2": float(rf.oob_score_),
            **score_predictions(yte, per_tree.mean(axis=0), per_tree.std(axis=0), y_mean, y_std,
                                  p.get("top_fraction", TOP_FRACTION)),
            **probe.as_dict(),
            "predict_s": predict_s,
        }
    ]


def work_speed(p: dict[str, Any]) -> dict[str, Any]:
    r"""Time ``repeats`` reservoir fits at the speed-target size in this (fresh) process."""
    _quiet()
    import torch

    from axfusion.models import ReservoirModel

    torch.set_num_threads(p["threads"])
    X, y = p["X"], p["y"]
    n, n_jobs = p["n"], p["n_jobs"]
    rng = np.random.default_rng(p["seed"])
    warmup_s = _warm_up(ReservoirModel, X, y, n_jobs)
    fits = []
    for r in range(p["repeats"]):
        rows = rng.choice(X.shape[0], size=n, replace=False)
        load_before = os.getloadavg()
        with FitProbe() as probe:
            model = ReservoirModel(
                torch.as_tensor(X[rows]),
                torch.as_tensor(y[rows, None]),
                n_members=p["n_members"],
                n_jobs=n_jobs,
                seed=p["seed"] + r,
            ).fit()
        fits.append(
            {
                "repeat": r,
                **probe.as_dict(),
                "load_average_before": list(load_before),
                "load_average_after": list(os.getloadavg()),
                "timings": dict(model.timings),
                "capacity": model.capacity.as_dict(),
                "families": list(model.family_names),
                "dropped_families": dict(model.dropped_families),
                "params": {
                    k: {kk: (list(vv) if isinstance(vv, tuple) else vv) for kk, vv in v[0].items()}
                    for k, v in model.family_params.items()
                },
            }
        )
    return {"n_jobs": n_jobs, "warmup_s": warmup_s, "fits": fits}


WORKERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "reservoir": work_reservoir,
    "gp": work_gp,
    "rf": work_rf,
}


# --------------------------------------------------------------------------- driver


def load_xy(name: str, *, drop_constant: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r"""Feature matrix and the benchmarked target of a built-in dataset."""
    from axfusion.data import load_dataset

    target = DATASET_TARGETS[name]
    ds = load_dataset(name, targets=[target], drop_constant=drop_constant)
    return ds.feature_matrix(), ds.target_matrix(target)[:, 0]


def split_seed(seed: int, dataset: str, n: int, repeat: int) -> int:
    r"""A seed for one (dataset, n, repeat), stable across runs and option sets."""
    key = sum(ord(c) * 31**i for i, c in enumerate(dataset)) % 1_000_003
    return int(np.random.SeedSequence([seed, key, n, repeat]).generate_state(1)[0] % 2**31)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""Mean, std (ddof=1) and count of every metric per (dataset, n, method)."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        if "error" in row:
            continue
        groups.setdefault((row["dataset"], row["n"], row["method"]), []).append(row)
    out = []
    for (dataset, n, method), group in groups.items():
        agg: dict[str, Any] = {"dataset": dataset, "n": n, "method": method, "repeats": len(group)}
        for metric in METRICS + ("weight",):
            vals = [
                float(g[metric])
                for g in group
                if g.get(metric) is not None and math.isfinite(float(g[metric]))
            ]
            if vals:
                agg[metric] = {
                    "mean": float(np.mean(vals)),
                    "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                    "count": len(vals),
                }
        out.append(agg)
    return out


def _method_order(method: str) -> tuple[int, str]:
    if method == "reservoir":
        return (0, "")
    if method == "reservoir+noise":
        return (1, "")
    if method == "reservoir_uniform":
        return (2, "")
    if method.startswith("fam:"):
        return (3, "")  # families keep the model's order (stable sort)
    return (4, method)


def _fmt(cell: dict[str, float] | None, digits: int) -> str:
    if not cell:
        return "n/a"
    if cell["count"] > 1:
        return f"{cell['mean']:.{digits}f} ± {cell['std']:.{digits}f}"
    return f"{cell['mean']:.{digits}f}"


def markdown_table(aggs: list[dict[str, Any]]) -> str:
    r"""The aggregate table in markdown (mean ± std over repeats)."""
    header = (
        "| dataset | n | method | OOB R² | test R² | ELPD/pt | cov90 | top-10% ρ | fit s | CPU s "
        "| peak RSS MiB | weight |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [header]
    datasets = list(dict.fromkeys(a["dataset"] for a in aggs))
    for ds in datasets:
        for n in sorted({a["n"] for a in aggs if a["dataset"] == ds}):
            group = [a for a in aggs if a["dataset"] == ds and a["n"] == n]
            group.sort(key=lambda a: _method_order(a["method"]))
            for a in group:
                elpd = a.get("elpd")
                elpd_txt = _fmt(elpd, 2) if elpd is None or abs(elpd["mean"]) < 1e4 else f"{elpd['mean']:.3g}"
                lines.append(
                    f"| {ds} | {n} | {a['method']} | {_fmt(a.get('oob_r2'), 3)} | "
                    f"{_fmt(a.get('test_r2'), 3)} | {elpd_txt} | {_fmt(a.get('cov90'), 2)} | "
                    f"{_fmt(a.get('rho_top10'), 3)} | {_fmt(a.get('fit_s'), 2)} | "
                    f"{_fmt(a.get('cpu_s'), 1)} | {_fmt(a.get('rss_mib'), 0)} | "
                    f"{_fmt(a.get('weight'), 3)} |"
                )
    return "\n".join(lines)


def speed_summary(runs: list[dict[str, Any]], d: int, n: int, n_members: int) -> dict[str, Any]:
    r"""Median times per ``n_jobs`` and whether the target is met."""
    summary: dict[str, Any] = {
        "n": n,
        "d": d,
        "n_members": n_members,
        "repeats": len(runs[0]["fits"]),
        "target_s": SPEED_TARGET_S,
        "by_n_jobs": {},
    }
    for run in runs:
        fits = run["fits"]
        walls = [f["fit_s"] for f in fits]
        keys = [k for k in fits[0]["timings"] if k.startswith("family/")]
        families = {k.split("/", 1)[1]: float(np.median([f["timings"][k] for f in fits])) for k in keys}
        stages = {
            k: float(np.median([f["timings"][k] for f in fits]))
            for k in ("capacity", "bootstrap", "families", "total")
        }
        # After the families: structural-trend scoring (every member predicts the
        # trend points) and the member weights.
        stages["scoring"] = float(
            np.median(
                [
                    f["timings"]["total"]
                    - sum(f["timings"][k] for k in ("capacity", "bootstrap", "families"))
                    for f in fits
                ]
            )
        )
        summary["by_n_jobs"][str(run["n_jobs"])] = {
            "median_fit_s": float(np.median(walls)),
            "fit_s": walls,
            "median_cpu_s": float(np.median([f["cpu_s"] for f in fits])),
            "median_rss_mib": float(np.median([f["rss_mib"] for f in fits])),
            "stages_median_s": stages,
            "family_median_s": families,
            "sum_family_s": float(sum(families.values())),
            "warmup_s": run["warmup_s"],
            "load_average_before": [f["load_average_before"][0] for f in fits],
            # Only the target configuration (n = 500, 8 members) is judged.
            "meets_target": (
                bool(np.median(walls) <= SPEED_TARGET_S)
                if n == SPEED_TARGET_N and n_members == SPEED_TARGET_MEMBERS
                else None
            ),
        }
    return summary


def speed_markdown(summary: dict[str, Any]) -> str:
    r"""The speed-target table in markdown."""
    by = summary["by_n_jobs"]
    if not by:
        return ""
    families = list(next(iter(by.values()))["family_median_s"])
    cols = ["n_jobs", "median fit s", "fits s", "CPU s", "capacity s", "bootstrap s", "families s",
            "scoring s"]
    cols += [f"{f} s" for f in families] + ["load avg", f"≤ {summary['target_s']:.0f} s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---:|" * len(cols)]
    for nj, s in by.items():
        cells = [
            nj,
            f"{s['median_fit_s']:.1f}",
            ", ".join(f"{w:.1f}" for w in s["fit_s"]),
            f"{s['median_cpu_s']:.1f}",
            f"{s['stages_median_s']['capacity']:.2f}",
            f"{s['stages_median_s']['bootstrap']:.2f}",
            f"{s['stages_median_s']['families']:.1f}",
            f"{s['stages_median_s']['scoring']:.2f}",
            *[f"{s['family_median_s'][f]:.2f}" for f in families],
            ", ".join(f"{x:.1f}" for x in s["load_average_before"]),
            (
                "n/a (not the target size)"
                if s["meets_target"] is None
                else "yes"
                if s["meets_target"]
                else f"NO ({s['median_fit_s'] / summary['target_s']:.1f}x)"
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    r"""CPU count, platform and library versions."""
    import importlib
    import importlib.metadata as md

    versions = {}
    for pkg, module in (("axfusion", "axfusion"), ("numpy", "numpy"), ("scipy", "scipy"),
                        ("torch", "torch"), ("botorch", "botorch"), ("gpytorch", "gpytorch"),
                        ("scikit-learn", "sklearn"), ("lightgbm", "lightgbm"),
                        ("xgboost", "xgboost"), ("joblib", "joblib")):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # e.g. xgboost installed as the xgboost-cpu wheel
            try:
                versions[pkg] = getattr(importlib.import_module(module), "__version__", None)
            except ImportError:
                versions[pkg] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": commit,
        "load_average_at_start": list(os.getloadavg()),
    }


def _base(out: Path) -> Path:
    r"""``out`` without its ``.json`` / ``.json.gz`` suffix (the ``.md`` table's stem)."""
    return out.with_suffix("") if out.suffix == ".gz" else out


def read_outputs(out: Path) -> dict[str, Any]:
    r"""A result written by :func:`write_outputs` (gzipped when ``out`` ends in ``.gz``)."""
    data = gzip.decompress(out.read_bytes()) if out.suffix == ".gz" else out.read_bytes()
    return json.loads(data)


def write_outputs(result: dict[str, Any], out: Path, *, final: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    text = json.dumps(_finite(result), separators=(",", ":"), default=_json_default, allow_nan=False) + "\n"
    tmp.write_bytes(gzip.compress(text.encode(), mtime=0) if out.suffix == ".gz" else text.encode())
    tmp.replace(out)
    if final:
        _base(out).with_suffix(".md").write_text(render_markdown(result) + "\n")


def _finite(obj: Any) -> Any:
    r"""``obj`` with every non-finite float replaced by ``None`` (strict JSON) and the others
    rounded to 6 significant digits (the tables show 3; keeps the results file small)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return None if not math.isfinite(v) else (v if v == 0.0 else float(f"{v:.6g}"))
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    return str(obj)


def render_markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    m = result["machine"]
    parts = [
        "# Stage-1 reservoir benchmark",
        "",
        f"Generated by `benchmarks/bench_reservoir.py` ({'QUICK smoke run' if s['quick'] else 'full run'}); "
        f"seed {s['seed']}, {s['repeats']} repeats, test set ≤ {s['max_test']} held-out rows, "
        f"reservoir: default families, {s['n_members']} members/family, n_jobs={s['n_jobs']}, "
        f"{'timed after a warm-up fit' if s.get('reservoir_warmup') else 'cold first fit timed'}.",
        f"Machine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + f"; load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}"
        + (f", at end {', '.join(f'{x:.1f}' for x in m['load_average_at_end'])}" if "load_average_at_end" in m else "")
        + ".",
        "",
    ]
    if result.get("aggregates"):
        parts += [
            "## Accuracy, calibration, cost (mean ± std over repeats)",
            "",
            "OOB R²: reservoir = R² of `oob_residuals()`; families = mean member OOB R² "
            "(floored at 1e-8 per member); rf = `oob_score_`. ELPD/pt and cov90 on the target "
            "standardised by the training mean/std. top-10% ρ: Spearman on the held-out rows in "
            "the top decile of the truth. Family fit s = `model.timings['family/<name>']` inside "
            "the reservoir fit. weight = the family's share of the reservoir's member weights.",
            "",
            f"Memory: {result['memory_method']}",
            "",
            markdown_table(result["aggregates"]),
            "",
        ]
    if result.get("speed"):
        sp = result["speed"]
        parts += [
            f"## Speed target: 7 families × {sp.get('n_members', s['n_members'])} members, "
            f"n = {sp['n']}, d = {sp['d']} (curie_temp), target ≤ {sp['target_s']:.0f} s",
            "",
            f"Measured {sp.get('measured_at', '')} at commit {str(sp.get('git_commit'))[:10]}. "
            f"Median over {sp.get('repeats', '')} repeats of the wall time of `ReservoirModel(...)` "
            "in a warmed-up process "
            "(imports and loky workers started by a small warm-up fit). scoring s = total - capacity - "
            "bootstrap - families (structural-trend scoring and member weights). Per-family columns are "
            "`model.timings['family/<name>']` (each family's own wall time in the worker that "
            "fitted it). CPU s sums the main process and its workers. The load average (other jobs on "
            "the machine) is shown per fit: with a load above the core count, wall times are "
            "inflated and CPU s is the better measure of the work.",
            "",
            speed_markdown(sp),
            "",
        ]
    return "\n".join(parts)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    result: dict[str, Any] = {
        "benchmark": "axfusion.models.ReservoirModel (Stage 1) vs its families, SingleTaskGP, RF",
        "memory_method": MEMORY_METHOD,
        "settings": {
            "quick": args.quick,
            "datasets": {d: DATASET_TARGETS[d] for d in args.datasets},
            "sizes": args.sizes,
            "repeats": args.repeats,
            "seed": args.seed,
            "max_test": args.max_test,
            "n_members": args.members,
            "n_jobs": args.n_jobs,
            "methods": args.methods,
            "reservoir_warmup": not args.cold,
        },
        "machine": machine_info(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": [],
        "aggregates": [],
        "speed": None,
    }
    previous = None
    if (args.speed_only or args.skip_speed) and out.exists() and not args.replace:
        previous = read_outputs(out)
        if args.speed_only:  # keep part 1 of the earlier run, replace the speed section
            result = {**previous, "speed": None}
            print(f"keeping the accuracy results of {out} (run of {previous.get('created', '?')})")
    print(
        f"Stage-1 reservoir benchmark -> {out}\n"
        f"machine: {result['machine']['cpu_count']} CPUs, load average "
        f"{', '.join(f'{x:.1f}' for x in result['machine']['load_average_at_start'])}"
    )
    rows: list[dict[str, Any]] = result["rows"]

    if not args.speed_only:
        data = {name: load_xy(name) for name in args.datasets}
        jobs = [
            (name, n, r, method)
            for name in args.datasets
            for n in args.sizes
            for r in range(args.repeats)
            for method in args.methods
        ]
        bar = tqdm(jobs, desc="fits", unit="fit", dynamic_ncols=True)
        for name, n, r, method in bar:
            X, y = data[name]
            bar.set_postfix_str(f"{name} n={n} rep={r} {method}")
            s = split_seed(args.seed, name, n, r)
            rng = np.random.default_rng(s)
            perm = rng.permutation(X.shape[0])
            train, test = perm[:n], np.sort(perm[n : n + args.max_test])
            payload = {
                "X_train": X[train], "y_train": y[train], "X_test": X[test], "y_test": y[test],
                # Small model seeds: ReservoirModel derives estimator seeds as
                # seed * 1_000_003 + ..., which scikit-learn rejects above 2**32 - 1
                # (seeds >= 4295 silently drop lasso, elasticnet and mlp).
                "model_seed": args.seed + r, "n_members": args.members, "n_jobs": args.n_jobs,
                "threads": args.n_jobs, "warmup": not args.cold,
            }
            meta = {"dataset": name, "target": DATASET_TARGETS[name], "n": n, "repeat": r,
                    "split_seed": s, "d": int(X.shape[1]), "n_test": int(test.size)}
            try:
                new = run_isolated(WORKERS[method], payload)
            except RuntimeError as err:
                tqdm.write(f"[{name} n={n} rep={r}] {method} FAILED:\n{err}")
                rows.append({**meta, "method": method, "error": str(err)})
                continue
            for row in new:
                rows.append({**meta, **row})
            head = new[0]
            if head.get("dropped_families"):
                tqdm.write(f"[{name} n={n} rep={r}] dropped families: {head['dropped_families']}")
            tqdm.write(
                f"[{name} n={n} rep={r}] {method:<9} test R2 {head['test_r2']:+.3f}  "
                f"ELPD {head['elpd']:+.2f}  rho10 {head['rho_top10']:+.3f}  "
                f"fit {head['fit_s']:.1f}s  RSS {head['rss_mib']:.0f} MiB"
            )
            result["aggregates"] = aggregate(rows)
            write_outputs(result, out, final=False)
        print()
        print(markdown_table(result["aggregates"]))

    if not args.skip_speed:
        Xs, ys = load_xy("curie_temp", drop_constant=False)
        runs = []
        for nj in tqdm(args.speed_n_jobs, desc="speed target", unit="setting", dynamic_ncols=True):
            payload = {
                "X": Xs, "y": ys, "n": args.speed_n, "n_jobs": nj, "threads": nj,
                "n_members": args.members, "repeats": args.speed_repeats, "seed": args.seed,
            }
            try:
                run = run_isolated(work_speed, payload)
            except RuntimeError as err:
                tqdm.write(f"speed n_jobs={nj} FAILED:\n{err}")
                continue
            runs.append(run)
            tqdm.write(
                f"speed n_jobs={nj}: fits "
                + ", ".join(f"{f['fit_s']:.1f}s" for f in run["fits"])
                + f" (warm-up {run['warmup_s']:.1f}s)"
            )
        result["speed"] = (
            speed_summary(runs, d=int(Xs.shape[1]), n=args.speed_n, n_members=args.members)
            if runs
            else None
        )
        if result["speed"]:
            result["speed"]["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            result["speed"]["git_commit"] = machine_info()["git_commit"]
            result["speed"]["runs"] = runs
        if result["speed"]:
            print()
            print(speed_markdown(result["speed"]))

    elif previous is not None and previous.get("speed"):
        result["speed"] = previous["speed"]
        print(f"keeping the speed-target results of {out} ({previous['speed'].get('measured_at', '?')})")

    if not args.speed_only or previous is None:
        result["machine"]["load_average_at_end"] = list(os.getloadavg())
    write_outputs(result, out, final=True)
    print(f"\nwrote {out} and {out.with_suffix('.md')}")
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=None, choices=list(DATASET_TARGETS),
                        help="datasets (default: all; quick: supercon)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="training sizes n (default 50 100 200; quick: 50)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="random splits per (dataset, n) (default 5; quick: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-test", type=int, default=None,
                        help="held-out rows at most (default 2000; quick: 300)")
    parser.add_argument("--members", type=int, default=8, help="bootstrap members per family")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="reservoir processes / RF and GP threads in part 1 (default 2)")
    parser.add_argument("--methods", nargs="+", default=list(WORKERS), choices=list(WORKERS),
                        help="methods of part 1 (the reservoir row also yields its families)")
    parser.add_argument("--speed-n", type=int, default=None,
                        help="rows of the speed-target fit (default 500; quick: 100)")
    parser.add_argument("--speed-repeats", type=int, default=None,
                        help="timed fits per n_jobs (default 3; quick: 1)")
    parser.add_argument("--speed-n-jobs", type=int, nargs="+", default=None,
                        help="n_jobs values timed (default 1 2; quick: 2)")
    parser.add_argument("--cold", action="store_true",
                        help="part 1: time the reservoir's first fit in its process (imports and "
                             "loky start-up included) instead of a fit after a small warm-up fit")
    parser.add_argument("--skip-speed", action="store_true",
                        help="skip the speed target (an existing --out keeps its speed section)")
    parser.add_argument("--speed-only", action="store_true",
                        help="only the speed target (an existing --out keeps its accuracy results)")
    parser.add_argument("--replace", action="store_true",
                        help="with --speed-only/--skip-speed: overwrite --out instead of merging")
    parser.add_argument("--quick", action="store_true",
                        help="~1-minute smoke run; written to the temp directory unless --out")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON output (a .md table is written next to it); default {DEFAULT_OUT}")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "datasets": (["supercon"], list(DATASET_TARGETS)),
        "sizes": ([50], [50, 100, 200]),
        "repeats": (1, 5),
        "max_test": (300, 2000),
        "speed_n": (100, SPEED_TARGET_N),
        "speed_repeats": (1, 3),
        "speed_n_jobs": ([2], [1, 2]),
    }
    for key, (q, full) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, q if quick else full)
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "axfusion_reservoir_quick.json" if quick else DEFAULT_OUT
    if args.speed_only and args.skip_speed:
        parser.error("--speed-only and --skip-speed exclude each other")
    if min(args.sizes) < 4 or args.repeats < 1 or args.members < 2:
        parser.error("need sizes >= 4, repeats >= 1 and members >= 2")
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(parse_args(argv))


if __name__ == "__main__":
    main()
