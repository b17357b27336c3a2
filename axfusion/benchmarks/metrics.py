r"""Benchmark metrics from run files, and exact random-search references.

Every quantity is computed from the run files the runner writes
(:mod:`axfusion.benchmarks.runner`; the compact ``seed<k>.json.gz`` files
suffice); nothing needs the task again, except the success criterion of a test
function, judged on the run's points when the file holds them.

Per run (:func:`run_metrics`), over iterations ``t = 0 .. T`` (``t = 0`` is
the shared initial design, ``t >= 1`` the method's batches):

- best-so-far loss (minimised; for a one-target pool also the raw target of
  the incumbent), simple regret ``best(t) - f*`` (functions with a known
  optimal value), normalised distance of the incumbent to the nearest known
  optimiser (:meth:`FunctionTask.distance_to_optimum`);
- pools: iterations to success (first batch holding a row of
  ``task.success_rows``; also the authors' top-5 rows and the single best
  row) and the ``Top%`` curve of Liang *et al.* (below);
- proposal seconds per iteration (``Evaluator.iteration_times``), wall time,
  peak resident memory.

Random-search references are *exact* (no simulation), computed by the runner
for every run because they depend on the seed's initial design:

- pools (:func:`expected_best_without_replacement`): random search draws the
  rows outside the initial design without replacement; with the ``M`` losses
  sorted ascending, the best of ``k`` draws is the ``i``-th smallest with
  probability ``C(M - i, k - 1) / C(M, k)``, so
  ``E[best(t)] = sum_i min(a, l_(i)) C(M - i, tb - 1) / C(M, tb)`` with ``a``
  the initial design's best loss. ``P(success by t) = 1 - C(M - S, tb) / C(M, tb)``
  (``S`` success rows, none in the initial design) and ``E[Top%(t)]`` follows
  from linearity of expectation;
- functions (:func:`expected_best_with_replacement`): random search draws
  uniform points; the loss distribution is the empirical one of a fixed
  reference sample of ``K = 16384`` uniform points, and
  ``E[min(a, best of n)] = sum_i min(a, l_(i)) [((K - i + 1)/K)^n - ((K - i)/K)^n]``
  exactly for that distribution.

Enhancement and acceleration factors (Liang, Gongora, Ren *et al.*,
"Benchmarking the performance of Bayesian optimization across multiple
experimental materials science domains", npj Comput. Mater. 7, 188 (2021);
after Rohr *et al.*, Chem. Sci. 11, 2696 (2020)):

- ``Top%(t)``: the fraction of the pool's top 5 % rows (``ceil(0.05 N)``, by
  the task's ranking; ties included) evaluated by iteration ``t``;
- ``EF(t) = Top%_method(t) / Top%_random(t)``: performance at the same
  number of experiments; curves are the means over seeds (the paper
  aggregates mean curves) and ``Top%_random`` is the exact expectation
  ``(|top in init| + t b |top outside init| / M) / |top|``;
- ``AF(p) = t_random(p) / t_method(p)``: the ratio of the iterations (hence
  experiments after the shared initial design) each needs to first reach the
  level ``Top% = p`` (linear interpolation between iterations). The table
  reports AF at ``p* = min(Top%_method(T), Top%_random(T))``, the largest level
  both reach within the budget ``T``; the figures show ``AF(p)`` for all ``p``.

The same two factors are reported on *normalised best-so-far*
``P(t) = (l_median - best(t)) / (l_median - l_best)`` (``l_best``: the pool's
best loss or the function's optimal value, else the reference sample's
minimum; ``l_median``: the median loss of the pool or of the reference
sample, a typical random design: ``P = 0`` there, ``P = 1`` at the optimum;
the worst loss would squash every curve next to 1), which also applies
to functions: ``EF_best(t) = P_method(t) / P_random(t)`` with ``P_random`` the
exact expectation above (``P`` is affine in ``best``), and ``AF_best`` as AF
on the ``P`` curves. Pool tables show the Top% factors, function tables the
best-so-far factors.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TOP_PERCENT",
    "acceleration_factor",
    "af_curve",
    "aggregate",
    "aggregate_curves",
    "crossing_iteration",
    "expected_best_with_replacement",
    "expected_best_without_replacement",
    "function_reference",
    "iter_run_files",
    "load_runs",
    "pool_hit_curves",
    "pool_reference",
    "random_reference_row",
    "read_run_file",
    "run_metrics",
    "run_reference",
    "runs_frame",
    "success_probability_without_replacement",
    "summary_table",
]

#: Liang et al.'s top fraction of the pool for the Top% metric.
TOP_PERCENT: float = 0.05


# ------------------------------------------------------------ exact references
def expected_best_without_replacement(
    losses: np.ndarray, draws: Sequence[int] | np.ndarray, incumbent: float = math.inf
) -> np.ndarray:
    r"""``E[min(incumbent, best of k draws without replacement)]`` for each ``k`` in ``draws``.

    Args:
        losses: The ``M`` losses random search draws from (minimised).
        draws: Numbers of draws ``k`` (``0 <= k``; ``k > M`` counts as ``M``).
        incumbent: The best loss already known (the initial design).

    Returns:
        One expectation per ``k``: exact (order statistics of sampling
        without replacement; ties need no special care).
    """
    v = np.sort(np.asarray(losses, dtype=np.float64).reshape(-1))
    M = v.size
    capped = np.minimum(v, incumbent)
    out = np.empty(len(draws))
    for j, k in enumerate(np.asarray(draws, dtype=np.int64)):
        k = int(min(k, M))
        if k <= 0 or M == 0:
            out[j] = incumbent
            continue
        # p_i = C(M - i, k - 1) / C(M, k), i = 1 .. M - k + 1; p_1 = k / M,
        # p_{i+1} / p_i = (M - i - k + 1) / (M - i)
        n = M - k + 1
        i = np.arange(1, n)
        ratios = (M - i - k + 1) / (M - i)
        p = np.empty(n)
        p[0] = k / M
        if n > 1:
            p[1:] = p[0] * np.cumprod(ratios)
        out[j] = float(np.dot(p, capped[:n]))
    return out


def expected_best_with_replacement(
    sample: np.ndarray, draws: Sequence[int] | np.ndarray, incumbent: float = math.inf
) -> np.ndarray:
    r"""``E[min(incumbent, best of n i.i.d. draws)]`` from the empirical distribution of ``sample``.

    Args:
        sample: ``K`` reference losses (uniform random points of the space).
        draws: Numbers of draws ``n``.
        incumbent: The best loss already known.
    """
    v = np.sort(np.asarray(sample, dtype=np.float64).reshape(-1))
    K = v.size
    n = np.asarray(draws, dtype=np.int64).reshape(-1)
    capped = np.minimum(v, incumbent)
    # Abel summation of sum_i c_i [S_{i-1}^n - S_i^n] with S_i = (K - i) / K:
    # E = c_1 + sum_{i=1}^{K-1} (c_{i+1} - c_i) S_i^n; only values below the incumbent contribute.
    d = np.diff(capped)
    nz = np.flatnonzero(d > 0)
    log_s = np.log((K - (nz + 1)) / K)
    out = capped[0] + (d[nz][:, None] * np.exp(log_s[:, None] * np.maximum(n, 1)[None, :])).sum(axis=0)
    return np.where(n <= 0, incumbent, out)


def success_probability_without_replacement(M: int, S: int, draws: Sequence[int] | np.ndarray) -> np.ndarray:
    r"""``P(at least one of S marked rows among k draws without replacement from M)`` per ``k``."""
    from scipy.special import gammaln

    k = np.clip(np.asarray(draws, dtype=np.int64).reshape(-1), 0, M)
    if S <= 0:
        return np.zeros(k.size)
    out = np.ones(k.size)
    ok = k <= M - S
    kk = k[ok].astype(np.float64)
    # 1 - C(M - S, k) / C(M, k)
    log_miss = (gammaln(M - S + 1) - gammaln(M - S - kk + 1)) - (gammaln(M + 1) - gammaln(M - kk + 1))
    out[ok] = 1.0 - np.exp(log_miss)
    return out


def _top_rows(ranking: np.ndarray, n_top: int) -> np.ndarray:
    o = np.asarray(ranking, dtype=np.float64)
    cutoff = np.sort(o)[::-1][min(n_top, o.size) - 1]
    return np.flatnonzero(o >= cutoff)


def pool_reference(
    pool_losses: np.ndarray,
    initial_rows: Sequence[int],
    batch_size: int,
    horizon: int,
    *,
    sets: Mapping[str, Iterable[int]] | None = None,
    top_rows: Iterable[int] = (),
) -> dict[str, Any]:
    r"""Exact random-search curves on a pool after a given initial design.

    Args:
        pool_losses: ``N`` losses of every row.
        initial_rows: The initial design (shared with the method).
        batch_size: Rows per iteration.
        horizon: Last iteration to compute.
        sets: Named row sets (``success``, ``top5``, ``best``): the
            probability that random search has evaluated one by iteration ``t``.
        top_rows: The Top% rows (Liang's top 5 %).

    Returns:
        ``best_so_far`` (expected best loss, ``t = 0 .. horizon``),
        ``<set>_probability`` curves, ``top_fraction`` and the expected
        iterations to the first hit of each set (``expected_iterations_<set>``,
        unbounded: ``sum_t P(T > t)``).
    """
    losses = np.asarray(pool_losses, dtype=np.float64).reshape(-1)
    init = np.asarray(initial_rows, dtype=np.int64)
    mask = np.ones(losses.size, dtype=bool)
    mask[init] = False
    k = np.minimum(np.arange(horizon + 1) * batch_size, int(mask.sum()))
    a = float(losses[init].min()) if init.size else math.inf
    out: dict[str, Any] = {
        "kind": "exact_without_replacement",
        "horizon": int(horizon),
        "best_so_far": expected_best_without_replacement(losses[mask], k, a).tolist(),
    }
    out.update(pool_hit_curves(losses.size, init, batch_size, horizon, sets=sets, top_rows=top_rows))
    return out


def pool_hit_curves(
    N: int,
    initial_rows: Sequence[int] | np.ndarray,
    batch_size: int,
    horizon: int,
    *,
    sets: Mapping[str, Iterable[int]] | None = None,
    top_rows: Iterable[int] = (),
) -> dict[str, Any]:
    r"""The parts of :func:`pool_reference` that need only the pool size and row sets.

    ``<set>_probability``, ``expected_iterations_<set>`` and ``top_fraction``
    (compact run files leave the curves out; :func:`run_reference` recomputes
    them, bit for bit, from the run's task info and initial design).
    """
    init = np.asarray(initial_rows, dtype=np.int64)
    mask = np.ones(int(N), dtype=bool)
    mask[init] = False
    M = int(mask.sum())
    t = np.arange(horizon + 1)
    k = np.minimum(t * batch_size, M)
    out: dict[str, Any] = {}
    for name, rows in dict(sets or {}).items():
        rows = np.asarray(sorted(set(int(r) for r in rows)), dtype=np.int64)
        in_init = bool(rows.size and (~mask[rows]).any())
        S = int(mask[rows].sum()) if rows.size else 0
        prob = np.ones_like(k, dtype=float) if in_init else success_probability_without_replacement(M, S, k)
        out[f"{name}_probability"] = prob.tolist()
        # E[T] over batches (unbounded): sum_{t >= 0} P(T > t)
        full = np.arange(0, -(-M // batch_size) + 1)
        draws = np.minimum(full * batch_size, M)
        miss = 1.0 - (np.ones(full.size) if in_init else success_probability_without_replacement(M, S, draws))
        out[f"expected_iterations_{name}"] = float(miss.sum()) if S > 0 or in_init else None
    top = np.asarray(sorted(set(int(r) for r in top_rows)), dtype=np.int64)
    if top.size:
        top_in_init = int((~mask[top]).sum())
        outside = top.size - top_in_init
        out["top_fraction"] = ((top_in_init + outside * k / max(M, 1)) / top.size).tolist()
    return out


def run_reference(run: Mapping[str, Any]) -> dict[str, Any]:
    r"""The run's random-search reference, with the pool curves a compact run file leaves out.

    Pools: the hit probabilities and ``top_fraction`` missing from the reference are
    recomputed with :func:`pool_hit_curves` from ``task_info`` (``N``, batch size, the
    row sets) and the run's initial design (the rows of iteration 0).
    """
    ref = dict(run.get("reference") or {})
    info = run.get("task_info") or {}
    if not ref or info.get("kind") != "pool" or "horizon" not in ref:
        return ref
    sets = {"success": info.get("success_rows"), "top5": info.get("top5_rows"), "best": info.get("best_rows")}
    missing = [f"{k}_probability" for k, v in sets.items() if v is not None and f"{k}_probability" not in ref]
    if info.get("top_percent_rows") and "top_fraction" not in ref:
        missing.append("top_fraction")
    if not missing or info.get("N") is None or info.get("batch_size") is None:
        return ref
    h = run.get("history") or {}
    rows = np.asarray(h.get("rows", []), dtype=np.int64)
    it = np.asarray(h.get("iteration", []), dtype=np.int64)
    derived = pool_hit_curves(int(info["N"]), rows[it == 0] if rows.size == it.size else rows[:0],
                              int(info["batch_size"]), int(ref["horizon"]),
                              sets={k: v for k, v in sets.items() if v is not None},
                              top_rows=info.get("top_percent_rows") or ())
    for key in missing:
        if key in derived:
            ref[key] = derived[key]
    return ref


def function_reference(
    sample_losses: np.ndarray, initial_best: float, batch_size: int, horizon: int
) -> dict[str, Any]:
    r"""Exact (empirical-distribution) random-search best-so-far after the initial design."""
    t = np.arange(horizon + 1)
    s = np.asarray(sample_losses, dtype=np.float64)
    return {
        "kind": "empirical_with_replacement",
        "n_reference_samples": int(s.size),
        "horizon": int(horizon),
        "best_so_far": expected_best_with_replacement(s, t * batch_size, initial_best).tolist(),
    }


# ------------------------------------------------------------------ loading
#: Folder (under ``runs/``) of the values compact run files share
#: (:func:`~axfusion.benchmarks.runner.write_compact_run_file`).
SHARED_DIR = "_shared"


def _legacy_path(path: str | os.PathLike[str]) -> Path:
    r"""``seed<k>.json`` next to ``seed<k>.json.gz`` (the older uncompressed run files)."""
    p = Path(path)
    return p.with_name(p.name[: -len(".gz")]) if p.name.endswith(".json.gz") else p


def _gunzip_text(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read()


@functools.lru_cache(maxsize=4096)
def _shared_text(path: str, mtime_ns: int) -> str:
    return _gunzip_text(Path(path))


def _is_shared(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$shared"), str)


def read_run_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    r"""A run file: gzip-compressed (``.json.gz``) or plain JSON (older ``.json`` files).

    Fields a compact run file keeps in the folder's shared store
    (``{"$shared": name}``, see
    :func:`~axfusion.benchmarks.runner.write_compact_run_file`) are read back from
    ``runs/_shared/<name>.json.gz``.

    Raises:
        OSError, EOFError, ValueError: For a missing, truncated or invalid file
            (or shared entry).
    """
    p = Path(path)
    rec = json.loads(_gunzip_text(p)) if p.name.endswith(".gz") else json.loads(p.read_text(encoding="utf-8"))
    if isinstance(rec, dict):
        for key, value in rec.items():
            if _is_shared(value):
                blob = p.parent.parent.parent / SHARED_DIR / f"{value['$shared']}.json.gz"
                rec[key] = json.loads(_shared_text(str(blob), blob.stat().st_mtime_ns))
    return rec


def iter_run_files(out_dir: str | os.PathLike[str]) -> list[Path]:
    r"""The run files under ``out_dir/runs``, one per run: ``seed<k>.json.gz``, else an older ``seed<k>.json``."""
    root = Path(out_dir) / "runs"
    found: dict[Path, Path] = {}
    for p in sorted(root.glob("*/*/seed*.json")):
        found.setdefault(p, p)
    for p in sorted(root.glob("*/*/seed*.json.gz")):
        found[_legacy_path(p)] = p  # the compressed file wins
    return sorted(found.values())


#: A results folder's run files packed into one archive (:func:`pack_runs`): the JSON of
#: every run side by side compresses about four times better than one gzip file per run.
RUNS_ARCHIVE = "runs.tar.xz"


def pack_runs(out_dir: str | os.PathLike[str], *, drop_diagnostics: bool = False) -> Path:
    r"""Pack ``out_dir/runs`` into ``out_dir/runs.tar.xz`` and remove the folder.

    Run files go in as plain JSON (``seed<k>.json``) so that xz compresses across runs; the
    shared store as is. :func:`load_runs` reads the archive; ``axfusion bench`` unpacks it
    (:func:`unpack_runs`) before it resumes into the folder.

    Args:
        out_dir: The results folder.
        drop_diagnostics: Leave out the per-iteration diagnostics records (``diagnostics``:
            the method's stage records; most of a fusion run file). The rows, losses and
            times stay, so every table of the report is unchanged; the diagnostic figures
            cannot be drawn again. Each such run file says so (``"diagnostics_dropped": true``).

    Returns:
        The archive's path.
    """
    import io
    import shutil
    import tarfile

    out = Path(out_dir)
    files = iter_run_files(out)
    if not files:
        raise FileNotFoundError(f"No run files under {out / 'runs'} to pack.")
    target = out / RUNS_ARCHIVE
    tmp = target.with_name(target.name + ".tmp")
    with tarfile.open(tmp, "w:xz", preset=9) as tar:
        for p in files:
            data = _gunzip_text(p).encode() if p.name.endswith(".gz") else p.read_bytes()
            if drop_diagnostics:
                record = json.loads(data)
                if record.get("diagnostics"):
                    record["diagnostics"] = []
                    record["diagnostics_dropped"] = True
                    data = json.dumps(record, separators=(",", ":")).encode()
            info = tarfile.TarInfo(str(_legacy_path(p).relative_to(out)))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        shared = out / "runs" / SHARED_DIR
        if shared.is_dir():
            for g in sorted(shared.iterdir()):
                tar.add(g, arcname=str(g.relative_to(out)))
    os.replace(tmp, target)
    shutil.rmtree(out / "runs")
    return target


def unpack_runs(out_dir: str | os.PathLike[str]) -> bool:
    r"""Extract ``out_dir/runs.tar.xz`` into ``out_dir/runs`` (and remove the archive) when
    the folder holds no run files; returns whether it did."""
    import tarfile

    out = Path(out_dir)
    archive = out / RUNS_ARCHIVE
    if not archive.exists() or iter_run_files(out):
        return False
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(out, filter="data")
    archive.unlink()
    return True


def _load_archive(archive: Path) -> list[dict[str, Any]]:
    import tarfile

    runs: list[dict[str, Any]] = []
    with tarfile.open(archive, "r:xz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}

        def text(name: str) -> str:
            fh = tar.extractfile(members[name])
            assert fh is not None
            data = fh.read()
            return gzip.decompress(data).decode() if name.endswith(".gz") else data.decode()

        for name in sorted(n for n in members if n.startswith("runs/") and f"/{SHARED_DIR}/" not in n):
            try:
                rec = json.loads(text(name))
                for key, value in list(rec.items()):
                    if _is_shared(value):
                        rec[key] = json.loads(text(f"runs/{SHARED_DIR}/{value['$shared']}.json.gz"))
            except (KeyError, OSError, EOFError, ValueError):
                continue
            rec["_path"] = f"{archive}:{name}"
            runs.append(rec)
    return runs


def load_runs(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    r"""Every run file under ``out_dir/runs`` (sorted by task, method, seed), or, when the
    folder holds none, every run in ``out_dir/runs.tar.xz`` (:func:`pack_runs`).

    Compact ``seed<k>.json.gz`` files and older plain ``seed<k>.json`` files
    (:func:`iter_run_files`); unreadable files are skipped.
    """
    files = iter_run_files(out_dir)
    archive = Path(out_dir) / RUNS_ARCHIVE
    if not files and archive.exists():
        runs = _load_archive(archive)
        runs.sort(key=lambda r: (r.get("task", ""), r.get("method", ""), r.get("seed", 0)))
        return runs
    runs = []
    for p in files:
        try:
            r = read_run_file(p)
        except (OSError, EOFError, ValueError):
            continue
        r["_path"] = str(p)
        runs.append(r)
    runs.sort(key=lambda r: (r.get("task", ""), r.get("method", ""), r.get("seed", 0)))
    return runs


# ----------------------------------------------------------------- per run
def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _first_hit(rows: np.ndarray, iters: np.ndarray, target: Iterable[int]) -> int | None:
    target = set(int(r) for r in target)
    if not target:
        return None
    hit = [int(it) for r, it in zip(rows, iters) if int(r) in target and it >= 1]
    return min(hit) if hit else None


def _normalised(best: np.ndarray, lo: float | None, mid: float | None) -> np.ndarray:
    if lo is None or mid is None or not (mid > lo):
        return np.full_like(best, np.nan)
    return (mid - best) / (mid - lo)


@functools.lru_cache(maxsize=64)
def _function_task(spec_json: str, seed: int) -> Any:
    from axfusion.benchmarks.suites import TaskSpec

    spec = json.loads(spec_json)
    spec.pop("csv", None)
    return TaskSpec(**spec).build(seed=seed)


def function_successes(run: Mapping[str, Any]) -> tuple[np.ndarray, str] | None:
    r"""Per evaluation of a function run: does it meet the problem's success criterion?

    The task is rebuilt from the run's ``task_spec`` (so run files written
    before a criterion existed are judged too). A compact run file without the
    points (:func:`~axfusion.benchmarks.runner.compact_run_record`) carries the
    flags judged on them when it was written (``success_criterion``).

    Returns:
        ``(flags, label)`` with one boolean per evaluation in ``history``, or
        ``None`` for pools, problems without a criterion and runs whose task
        cannot be rebuilt.
    """
    if (run.get("task_info") or {}).get("kind") != "function":
        return None
    h = run.get("history", {})
    loss = np.asarray(h.get("loss", []), dtype=np.float64)
    if "X" not in h:
        stored = run.get("success_criterion")
        if not isinstance(stored, Mapping):
            return None
        flags = np.asarray(stored.get("flags", []), dtype=bool)
        return (flags, str(stored.get("label"))) if flags.size == loss.size else None
    spec = run.get("task_spec")
    if not isinstance(spec, Mapping):
        return None
    try:
        task = _function_task(json.dumps(dict(spec), sort_keys=True, default=str), int(run.get("seed", 0)))
    except Exception:  # noqa: BLE001 - an unknown/unregistered problem: no success column
        return None
    success = getattr(getattr(task, "problem", None), "success", None)
    X = np.asarray(h.get("X", []), dtype=np.float64)
    if success is None or X.ndim != 2 or X.shape[0] != loss.size:
        return None
    if not X.shape[0]:
        return np.zeros(0, dtype=bool), success.label
    return np.asarray(task.is_success(X, loss), dtype=bool), success.label


#: Batches after the initial design at which the report gives the best value found so far
#: (the EDBO protocol: the best yield after 5 and after 10 batches; Shields et al., Nature 590, 89 (2021)).
BEST_AT_BATCHES: tuple[int, ...] = (5, 10)


def run_metrics(run: Mapping[str, Any]) -> dict[str, Any]:
    r"""Per-iteration curves and scalars of one run (see the module docstring).

    Returns:
        A dict with ``t`` (``0 .. T``), ``best_so_far``, ``best_raw``,
        ``regret``, ``distance``, ``perf`` (normalised best-so-far),
        ``found`` (success found by ``t``: pools, and functions with a
        success criterion, see :func:`function_successes`), ``top_fraction``, the
        reference curves ``ref_best``, ``ref_perf``, ``ref_top_fraction``,
        ``ref_success``, and scalars ``iterations_to_success`` (``_top5``,
        ``_best``), ``final_best``, ``final_raw``, ``final_regret``,
        ``best_raw_at_<k>`` (the best value after ``k`` batches, ``k`` in
        :data:`BEST_AT_BATCHES`; ``nan`` when the budget is shorter) with
        ``early_at_<k>`` (1.0 when the run ended before batch ``k``, e.g. at its
        first success, and its best is carried forward), ``s_per_iteration``,
        ``wall_time``, ``peak_rss_mib``, ``ef_top``, ``af_top``, ``ef_best``, ``af_best``.
    """
    info = run.get("task_info", {})
    T = int(info.get("n_iterations", 0))
    h = run.get("history", {})
    loss = np.asarray(h.get("loss", []), dtype=np.float64)
    it = np.asarray(h.get("iteration", []), dtype=np.int64)
    t = np.arange(T + 1)
    best = np.full(T + 1, np.nan)
    best_idx = np.full(T + 1, -1, dtype=np.int64)
    for tt in range(T + 1):
        sel = np.flatnonzero(it <= tt)
        if sel.size:
            j = sel[np.argmin(loss[sel])]
            best[tt], best_idx[tt] = loss[j], j
    # carry forward (iterations the run did not reach, e.g. an exhausted pool)
    for tt in range(1, T + 1):
        if np.isnan(best[tt]) and not np.isnan(best[tt - 1]):
            best[tt], best_idx[tt] = best[tt - 1], best_idx[tt - 1]
    sign = info.get("raw_sign")
    best_raw = sign * best if sign is not None else best.copy()
    opt = info.get("optimal_value")
    regret = best - opt if opt is not None else np.full(T + 1, np.nan)
    dist = np.full(T + 1, np.nan)
    d_all = h.get("distance")
    if d_all is not None:
        d_all = np.asarray([_nan(v) for v in d_all])
        dist = np.where(best_idx >= 0, d_all[np.maximum(best_idx, 0)], np.nan)
    ref = run_reference(run)
    lo, hi = info.get("loss_best"), info.get("loss_median")
    perf = _normalised(best, lo, hi)

    def _ref(key: str) -> np.ndarray:
        r = ref.get(key)
        if r is None:
            return np.full(T + 1, np.nan)
        return np.asarray([_nan(v) for v in r], dtype=np.float64)

    ref_best = _ref("best_so_far")
    ref_perf = _normalised(ref_best, lo, hi)
    out: dict[str, Any] = {
        "task": run.get("task"), "method": run.get("method"), "seed": run.get("seed"),
        "status": run.get("status"), "kind": info.get("kind"), "T": T, "t": t,
        "best_so_far": best, "best_raw": best_raw, "regret": regret, "distance": dist, "perf": perf,
        "ref_best": ref_best, "ref_perf": ref_perf,
        "final_best": float(best[-1]) if T >= 0 and best.size else float("nan"),
        "final_raw": float(best_raw[-1]) if best_raw.size else float("nan"),
        "final_regret": float(regret[-1]) if regret.size else float("nan"),
        "final_distance": float(dist[-1]) if dist.size else float("nan"),
    }
    last = int(it.max()) if it.size else -1
    for k in BEST_AT_BATCHES:
        out[f"best_raw_at_{k}"] = float(best_raw[k]) if k <= T else float("nan")
        out[f"early_at_{k}"] = float(last < k) if k <= T else float("nan")
    times = np.asarray(run.get("iteration_times") or [], dtype=np.float64)
    out["s_per_iteration"] = float(np.median(times)) if times.size else float("nan")
    out["s_per_iteration_mean"] = float(times.mean()) if times.size else float("nan")
    out["wall_time"] = _nan(run.get("wall_time"))
    out["peak_rss_mib"] = _nan((run.get("resources") or {}).get("peak_rss_mib"))
    if info.get("kind") == "pool":
        rows = np.asarray(h.get("rows", []), dtype=np.int64)
        for key, name in (("success_rows", "success"), ("top5_rows", "top5"), ("best_rows", "best")):
            out[f"iterations_to_{name}"] = _first_hit(rows, it, info.get(key, []))
        its = out["iterations_to_success"]
        out["found"] = np.array([its is not None and its <= tt for tt in t], dtype=float)
        top = set(int(r) for r in info.get("top_percent_rows", []))
        if top:
            seen: set[int] = set()
            frac = np.zeros(T + 1)
            for tt in range(T + 1):
                seen.update(int(r) for r in rows[it == tt] if int(r) in top)
                frac[tt] = len(seen) / len(top)
            out["top_fraction"] = frac
        else:
            out["top_fraction"] = np.full(T + 1, np.nan)
        out["ref_top_fraction"] = _ref("top_fraction")
        out["ref_success"] = _ref("success_probability")
        out["ref_expected_iterations"] = ref.get("expected_iterations_success")
        ref_top = out["ref_top_fraction"]
        out["ef_top"] = _ratio(out["top_fraction"][-1], ref_top[T] if T < ref_top.size else np.nan)
        out["af_top"] = acceleration_factor(out["top_fraction"], out["ref_top_fraction"])
    else:
        flags = function_successes(run)
        if flags is not None:
            hits = it[flags[0]]
            its = int(hits.min()) if hits.size else None
            out["iterations_to_success"] = its
            out["success_label"] = flags[1]
            out["found"] = np.array([its is not None and its <= tt for tt in t], dtype=float)
    out["ef_best"] = _ratio(perf[-1], ref_perf[T] if T < ref_perf.size else np.nan)
    out["af_best"] = acceleration_factor(perf, ref_perf)
    return out


def _ratio(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return float("nan")
    return float(a / b)


def crossing_iteration(curve: np.ndarray, level: float) -> float:
    r"""First (linearly interpolated) iteration at which a non-decreasing ``curve`` reaches ``level``.

    Returns ``nan`` when it never does (or ``curve`` is all ``nan``).
    """
    c = np.asarray(curve, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(c) & (c >= level - 1e-12))
    if not ok.size:
        return float("nan")
    i = int(ok[0])
    if i == 0 or not np.isfinite(c[i - 1]) or c[i] <= c[i - 1]:
        return float(i)
    return float(i - 1 + (level - c[i - 1]) / (c[i] - c[i - 1]))


def acceleration_factor(
    method: np.ndarray, random: np.ndarray, level: float | None = None
) -> float:
    r"""``AF = t_random(p) / t_method(p)`` (Liang *et al.* 2021).

    Args:
        method: The method's performance curve over ``t = 0 .. T`` (larger is
            better: Top% or normalised best-so-far).
        random: Random search's expected curve over ``t = 0 .. H`` (``H >= T``).
        level: The level ``p``; default ``min(method[T], random[T])``, the
            largest level both reach within the budget.

    Returns:
        ``nan`` when the level is not above the shared starting value
        ``method[0]`` or a curve never reaches it.
    """
    m = np.asarray(method, dtype=np.float64)
    r = np.asarray(random, dtype=np.float64)
    T = m.size - 1
    if T < 1 or r.size <= T:
        return float("nan")
    if level is None:
        level = float(min(m[T], r[T]))
    start = max(m[0] if np.isfinite(m[0]) else -np.inf, r[0] if np.isfinite(r[0]) else -np.inf)
    if not np.isfinite(level) or level <= start + 1e-12:
        return float("nan")
    tm, tr = crossing_iteration(m, level), crossing_iteration(r, level)
    if not (np.isfinite(tm) and np.isfinite(tr)) or tm <= 0:
        return float("nan")
    return float(tr / tm)


def runs_frame(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    r"""One row of scalar metrics per run (failed runs included, with their error)."""
    rows = []
    for r in runs:
        m = run_metrics(r) if r.get("status") == "ok" else {}
        row = {
            "task": r.get("task"), "method": r.get("method"), "seed": r.get("seed"),
            "status": r.get("status"), "error": (r.get("error") or "").strip().splitlines()[-1:] or None,
            "path": r.get("_path"),
        }
        if isinstance(row["error"], list):
            row["error"] = row["error"][0] if row["error"] else None
        for k in ("final_best", "final_raw", "final_regret", "final_distance", "iterations_to_success",
                  "iterations_to_top5", "iterations_to_best", "ef_top", "af_top", "ef_best", "af_best",
                  *(f"best_raw_at_{b}" for b in BEST_AT_BATCHES),
                  "s_per_iteration", "wall_time", "peak_rss_mib"):
            row[k] = m.get(k)
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- aggregate
def _stack(ms: Sequence[Mapping[str, Any]], key: str, length: int) -> np.ndarray:
    out = np.full((len(ms), length), np.nan)
    for i, m in enumerate(ms):
        v = np.asarray(m.get(key, []), dtype=np.float64)
        n = min(length, v.size)
        out[i, :n] = v[:n]
        if 0 < n < length:
            out[i, n:] = v[n - 1]
    return out


def aggregate_curves(metrics: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    r"""Curves of one (task, method) over its runs: medians, IQRs and means.

    Returns:
        ``t``; ``<key>_median``, ``<key>_q25``, ``<key>_q75``, ``<key>_mean``
        for ``best_so_far``, ``best_raw``, ``regret``, ``distance``, ``perf``,
        ``top_fraction``; ``success_rate`` (fraction of runs with a success by
        ``t``); the seed-averaged references ``ref_*`` over ``t = 0 .. H``;
        ``ef_top``, ``ef_best`` over ``t`` (``nan`` at ``t = 0``).
    """
    if not metrics:
        return {}
    T = max(int(m["T"]) for m in metrics)
    out: dict[str, np.ndarray] = {"t": np.arange(T + 1)}
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for key in ("best_so_far", "best_raw", "regret", "distance", "perf", "top_fraction", "found"):
                A = _stack(metrics, key, T + 1)
                if np.all(np.isnan(A)):
                    continue
                out[f"{key}_median"] = np.nanmedian(A, axis=0)
                out[f"{key}_q25"] = np.nanpercentile(A, 25, axis=0)
                out[f"{key}_q75"] = np.nanpercentile(A, 75, axis=0)
                out[f"{key}_mean"] = np.nanmean(A, axis=0)
            if "found_mean" in out:
                out["success_rate"] = out.pop("found_mean")
            for key in ("ref_best", "ref_perf", "ref_top_fraction", "ref_success"):
                H = max((len(m.get(key, [])) for m in metrics), default=0)
                if H == 0:
                    continue
                A = _stack(metrics, key, H)
                if not np.all(np.isnan(A)):
                    out[f"{key}_mean"] = np.nanmean(A, axis=0)
            t = np.arange(T + 1)
            for name, mk, rk in (("ef_top", "top_fraction_mean", "ref_top_fraction_mean"),
                                 ("ef_best", "perf_mean", "ref_perf_mean")):
                if mk in out and rk in out:
                    r = out[rk][: T + 1]
                    ef = np.where((t >= 1) & (r > 0), out[mk] / np.where(r > 0, r, 1.0), np.nan)
                    out[name] = ef
    return out


def af_curve(curves: Mapping[str, np.ndarray], which: str = "top", n_levels: int = 40) -> tuple[np.ndarray, np.ndarray]:
    r"""``AF(p)`` over levels ``p`` the method's mean curve reaches (``which``: ``"top"`` or ``"best"``)."""
    mk, rk = ("top_fraction_mean", "ref_top_fraction_mean") if which == "top" else ("perf_mean", "ref_perf_mean")
    if mk not in curves or rk not in curves:
        return np.empty(0), np.empty(0)
    m, r = curves[mk], curves[rk]
    start = max(m[0], r[0])
    top = np.nanmax(m)
    if not np.isfinite(top) or top <= start:
        return np.empty(0), np.empty(0)
    levels = np.linspace(start, top, n_levels + 1)[1:]
    af = np.array([acceleration_factor(m, r, p) for p in levels])
    return levels, af


def _pct(vals: Sequence[float], q: float) -> float:
    return float(np.percentile(vals, q)) if len(vals) else float("nan")


def aggregate(runs: Sequence[Mapping[str, Any]]) -> tuple[pd.DataFrame, dict[tuple[str, str], dict[str, np.ndarray]]]:
    r"""Summary rows per (task, method) and their curves.

    Returns:
        ``(table, curves)``: ``table`` has one row per (task, method) with
        ``runs``, ``ok``, ``failed``, ``success`` (hits / ok runs, pools),
        ``its_median``, ``its_p20``, ``its_p80`` (over the successful runs),
        the same for ``top5_`` and ``best_``, ``ef``, ``af`` (Top% factors on
        pools, best-so-far factors on functions), ``ef_best``, ``af_best``,
        ``final_median``, ``final_q25``, ``final_q75`` (raw target for
        one-target max/min pools, the loss otherwise), ``at<k>_median``,
        ``at<k>_q25``, ``at<k>_q75`` and ``at<k>_early`` (the same after ``k``
        batches, ``k`` in :data:`BEST_AT_BATCHES`, and the number of runs that
        ended before batch ``k``), ``regret_median``,
        ``regret_q25``, ``regret_q75``, ``distance_median``,
        ``s_per_iteration`` (median over runs of the per-run median),
        ``wall_time`` and ``peak_rss_mib`` (medians). ``curves`` maps
        ``(task, method)`` to :func:`aggregate_curves`.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["task"], r["method"]), []).append(r)
    rows = []
    curves: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (task, method), rs in sorted(groups.items()):
        ok = [r for r in rs if r.get("status") == "ok"]
        ms = [run_metrics(r) for r in ok]
        c = aggregate_curves(ms)
        curves[(task, method)] = c
        kind = (rs[0].get("task_info") or {}).get("kind")
        row: dict[str, Any] = {
            "task": task, "method": method, "kind": kind, "runs": len(rs), "ok": len(ok),
            "failed": sum(r.get("status") == "failed" for r in rs),
        }
        labels = sorted({m["success_label"] for m in ms if m.get("success_label")})
        if labels:
            row["success_label"] = "; ".join(labels)
        if kind == "pool" or labels:
            for key, pre in (("iterations_to_success", "its"), ("iterations_to_top5", "top5"),
                             ("iterations_to_best", "best")):
                hits = [m[key] for m in ms if m.get(key) is not None]
                row[f"{pre}_hits"] = len(hits)
                row[f"{pre}_median"] = float(np.median(hits)) if hits else float("nan")
                row[f"{pre}_p20"] = _pct(hits, 20)
                row[f"{pre}_p80"] = _pct(hits, 80)
            row["success"] = row["its_hits"] / len(ok) if ok else float("nan")
        T = int(c["t"][-1]) if c else 0
        ef_top = c.get("ef_top")
        row["ef_top"] = float(ef_top[T]) if ef_top is not None and T >= 1 else float("nan")
        row["af_top"] = (acceleration_factor(c["top_fraction_mean"], c["ref_top_fraction_mean"])
                         if "top_fraction_mean" in c and "ref_top_fraction_mean" in c else float("nan"))
        ef_best = c.get("ef_best")
        row["ef_best"] = float(ef_best[T]) if ef_best is not None and T >= 1 else float("nan")
        row["af_best"] = (acceleration_factor(c["perf_mean"], c["ref_perf_mean"])
                          if "perf_mean" in c and "ref_perf_mean" in c else float("nan"))
        row["ef"] = row["ef_top"] if kind == "pool" else row["ef_best"]
        row["af"] = row["af_top"] if kind == "pool" else row["af_best"]
        finals = [m["final_raw"] for m in ms if np.isfinite(m["final_raw"])]
        row["final_median"], row["final_q25"], row["final_q75"] = (
            _pct(finals, 50), _pct(finals, 25), _pct(finals, 75))
        for k in BEST_AT_BATCHES:
            at = [m[f"best_raw_at_{k}"] for m in ms if np.isfinite(m[f"best_raw_at_{k}"])]
            row[f"at{k}_median"], row[f"at{k}_q25"], row[f"at{k}_q75"] = _pct(at, 50), _pct(at, 25), _pct(at, 75)
            row[f"at{k}_early"] = int(sum(m[f"early_at_{k}"] == 1.0 for m in ms))
        reg = [m["final_regret"] for m in ms if np.isfinite(m["final_regret"])]
        row["regret_median"], row["regret_q25"], row["regret_q75"] = _pct(reg, 50), _pct(reg, 25), _pct(reg, 75)
        dist = [m["final_distance"] for m in ms if np.isfinite(m["final_distance"])]
        row["distance_median"] = _pct(dist, 50)
        for key in ("s_per_iteration", "wall_time", "peak_rss_mib"):
            vals = [m[key] for m in ms if np.isfinite(m[key])]
            row[key] = _pct(vals, 50)
        rows.append(row)
    return pd.DataFrame(rows), curves


def random_reference_row(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    r"""The exact random-search expectation for a task, as a summary row.

    Averages the per-seed exact references over the distinct seeds found in
    ``runs`` (all of one task): success probability within the budget; the
    median and 20-80 % range of the iterations to success conditional on
    success within the budget (from the exact mixture distribution); the
    expected final best; EF = AF = 1 by definition.
    """
    by_seed: dict[int, Mapping[str, Any]] = {}
    for r in runs:
        if r.get("status") == "ok" and r.get("reference"):
            by_seed.setdefault(int(r["seed"]), r)
    if not by_seed:
        return None
    first = next(iter(by_seed.values()))
    info = first.get("task_info", {})
    T = int(info.get("n_iterations", 0))
    row: dict[str, Any] = {"task": first["task"], "method": "random (exact E)", "kind": info.get("kind"),
                           "runs": len(by_seed), "ok": len(by_seed), "failed": 0}
    refs = [run_reference(r) for r in by_seed.values()]
    best = np.mean([np.asarray([_nan(v) for v in ref["best_so_far"]])[: T + 1] for ref in refs], axis=0)
    sign = info.get("raw_sign")
    final = float(best[min(T, best.size - 1)])
    row["final_median"] = sign * final if sign is not None else final
    row["final_q25"] = row["final_q75"] = float("nan")
    for k in BEST_AT_BATCHES:
        at = float(best[k]) if k <= T and k < best.size else float("nan")
        row[f"at{k}_median"] = sign * at if sign is not None else at
        row[f"at{k}_q25"] = row[f"at{k}_q75"] = float("nan")
    opt = info.get("optimal_value")
    row["regret_median"] = final - opt if opt is not None else float("nan")
    row["ef"] = row["af"] = row["ef_top"] = row["af_top"] = row["ef_best"] = row["af_best"] = 1.0
    if info.get("kind") == "pool":
        for key, pre in (("success", "its"), ("top5", "top5"), ("best", "best")):
            curves = [np.asarray(ref.get(f"{key}_probability", []), dtype=float)[: T + 1] for ref in refs]
            if not all(c.size == T + 1 for c in curves):
                continue
            cdf = np.mean(curves, axis=0)  # P(T_hit <= t)
            pmf = np.diff(cdf)  # t = 1 .. T
            p_in = float(cdf[T])
            if pre == "its":
                row["success"] = p_in
                # E[min(T_hit, T)] = sum_{t < T} P(T_hit > t), as protocols.random_search_expectation
                row["expected_iterations"] = float(np.sum(1.0 - cdf[:T]))
                row["expected_iterations_unbounded"] = float(np.mean([
                    _nan(ref.get("expected_iterations_success")) for ref in refs]))
            row[f"{pre}_hits"] = p_in * len(by_seed)
            if p_in > 0:
                cond = np.cumsum(pmf) / p_in
                ts = np.arange(1, T + 1)
                row[f"{pre}_median"] = float(ts[np.searchsorted(cond, 0.5 - 1e-12)])
                row[f"{pre}_p20"] = float(ts[np.searchsorted(cond, 0.2 - 1e-12)])
                row[f"{pre}_p80"] = float(ts[np.searchsorted(cond, 0.8 - 1e-12)])
    return row


def summary_table(runs: Sequence[Mapping[str, Any]], with_reference: bool = True) -> pd.DataFrame:
    r"""The aggregate table of :func:`aggregate` with a random-search reference row per task."""
    table, _ = aggregate(runs)
    if not with_reference or table.empty:
        return table
    rows = []
    for task, sub in table.groupby("task", sort=False):
        rows.extend(sub.to_dict("records"))
        ref = random_reference_row([r for r in runs if r["task"] == task])
        if ref is not None:
            rows.append(ref)
    return pd.DataFrame(rows)
