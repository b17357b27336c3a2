r"""Run (task, method, seed) benchmark campaigns, in parallel, with resume.

:func:`run_benchmark` runs every (task, method, seed): it evaluates the task's
shared, seeded initial design (:meth:`Evaluator.evaluate_initial`), hands the
evaluator to :meth:`Method.run` and stops it when the evaluator raises
:class:`~axfusion.benchmarks.tasks.BudgetExhausted`. Each finished run is
written at once, atomically (temporary files renamed), twice:

- the *compact* run file ``out_dir/runs/<task>/<method>/seed<k>.json.gz``
  (gzip, :func:`compact_run_record`): everything the metrics, the report and
  the figures read, in one to tens of kB; the files to keep in git. Its task
  spec, task info, versions and random-search reference, the same in many
  runs, are stored once per distinct value in ``out_dir/runs/_shared/``
  (:func:`write_compact_run_file`; :func:`read_run_file` puts them back);
- the *full* record ``out_dir/full/runs/<task>/<method>/seed<k>.json.gz``
  (:func:`full_run_path`): every evaluated point and every per-iteration
  diagnostic; ``out_dir/full/`` holds a ``.gitignore`` that ignores the folder.

A second call with the same arguments skips the runs whose compact file is
written (resume after an interruption; the compact file alone suffices, so a
fresh clone resumes too), and still reads run files of the older uncompressed
form ``seed<k>.json``. A
method that raises is recorded as a failed run (``status: "failed"``, the
traceback in ``error``) and the benchmark goes on. Methods whose
``supports(task)`` is false are skipped and listed in the result and in
``out_dir/benchmark.json``.

Engines: ``"serial"`` (in this process), ``"joblib"`` (loky processes),
``"dask"`` (``dask.distributed``: a ``Client(address)`` when ``address`` is
given, else a local cluster of ``n_jobs`` single-threaded workers) and
``"ray"`` (``ray.init(address)``); dask and ray are imported only when
chosen. Each run limits the BLAS/OpenMP (threadpoolctl) and torch thread pools
to ``threads_per_run`` (default: the CPUs divided by ``n_jobs``) so parallel
runs do not oversubscribe the machine. Runs are deterministic under their
seed: the evaluator and the method get the run seed, and Python's, NumPy's
and (when loaded) torch's global generators are seeded with it.

Run file schema (``schema: "axfusion.bench.run/1"``; the full record)::

    {
      "schema": "axfusion.bench.run/1",
      "task": str, "method": str, "seed": int,
      "status": "ok" | "failed",
      "error": str | null,                     # traceback of a failed run
      "budget_spent": bool,                    # the evaluator ran out of budget
      "task_spec": {...} | null,               # TaskSpec.as_dict() (null for a bare Task)
      "task_info": {                           # what the metrics need, no task required
        "name", "kind" ("function"|"pool"), "n_initial", "batch_size", "n_iterations",
        "budget", "dim", "n_objectives", "space": {"names", "kinds", "lower", "upper"},
        "raw_sign",                            # raw target = raw_sign * loss (null: not invertible)
        "loss_best", "loss_median", "loss_worst",  # normalisation of best-so-far
        # functions: "problem", "optimal_value", "has_optimizer"
        # pools: "dataset", "N", "targets", "directions", "units", "success_rows",
        #        "top5_rows", "best_rows", "top_percent_rows"
      },
      "method_options": {...},
      "history": {
        "iteration": [int],                    # 0 = initial design, t >= 1 the method's batches
        "loss": [float],                       # minimised loss per evaluation
        "Y": [[float]],                        # raw outcomes per evaluation
        "X": [[float]],                        # functions: evaluated points
        "rows": [int],                         # pools: evaluated row ids
        "distance": [float]                    # functions with a known optimiser: normalised
      },                                       #   distance of each point to it
      "iteration_times": [float],              # proposal seconds per iteration
      "n_evaluations": int, "n_iterations_done": int, "best_loss": float,
      "wall_time": float,                      # seconds: initial design + method
      "method_time": float,                    # seconds in Method.run
      "resources": {"peak_rss_mib", "peak_rss_scope" ("run"|"process"), "ru_maxrss_mib",
                    "ru_maxrss_children_mib", "rss_start_mib", "rss_end_mib",
                    "cpu_user_s", "cpu_system_s", "threads"},
      "reference": {...},                      # exact random search (metrics.pool_reference /
                                               #   metrics.function_reference)
      "diagnostics": [{...}],                  # Method.diagnostics(), e.g. IterationRecord dicts
      "versions": {"python", "platform", "numpy", ..., "axfusion", "git"},
      "started_at": str, "finished_at": str, "host": str
    }

The compact run file (:func:`compact_run_record`) has the same schema with
the bulk left out (``compact.dropped`` lists it): no ``history.X`` (a test
function's success flags, judged on the full-precision points, are kept as
``success_criterion``), no ``history.Y`` where it is ``raw_sign * loss``, no
``task_info.space``, distances only at the incumbents, only the peak memory
of ``resources``, the random-search
reference exact up to the budget (pools: its hit-probability and Top% curves
are recomputed on reading, :func:`~axfusion.benchmarks.metrics.run_reference`),
only the diagnostic fields the report plots, and timings, resources,
distances and diagnostics rounded to 6 significant digits. Losses, rows,
``best_loss`` and ``task_info`` are never rounded.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import json
import math
import os
import platform
import random
import resource
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from axfusion.benchmarks.checkpoint import RunCheckpoint, checkpoint_path
from axfusion.benchmarks.metrics import SHARED_DIR, _is_shared, _legacy_path, read_run_file, unpack_runs
from axfusion.diagnostics import jsonable

__all__ = [
    "RUN_SCHEMA",
    "BenchmarkResult",
    "RunJob",
    "compact_run_record",
    "convert_run_files",
    "execute_run",
    "full_run_path",
    "resolve_method_factory",
    "run_benchmark",
    "run_path",
    "write_compact_run_file",
    "write_run_file",
]

RUN_SCHEMA = "axfusion.bench.run/1"
ENGINES = ("serial", "joblib", "dask", "ray")
_REFERENCE_SAMPLES = 16384
_REFERENCE_SEED = 20_240_611
_REFERENCE_HORIZON_FACTOR = 10
_FINISHED = ("ok", "failed")
#: Folder of the full run records inside a results folder (ignored by git).
FULL_DIR = "full"
#: Fields of a compact run file kept in the shared store.
SHARED_FIELDS = ("task_spec", "task_info", "versions", "reference")
#: Significant digits of the rounded floats of a compact run file.
COMPACT_DIGITS = 6


# ------------------------------------------------------------------ helpers
def _safe(name: str) -> str:
    return "".join(c if (c.isalnum() or c in "_-.=+") else "_" for c in str(name))


def run_path(out_dir: str | os.PathLike[str], task: str, method: str, seed: int) -> Path:
    r"""The compact run file ``out_dir/runs/<task>/<method>/seed<k>.json.gz``."""
    return Path(out_dir) / "runs" / _safe(task) / _safe(method) / f"seed{int(seed)}.json.gz"


def full_run_path(out_dir: str | os.PathLike[str], task: str, method: str, seed: int) -> Path:
    r"""The full record ``out_dir/full/runs/<task>/<method>/seed<k>.json.gz`` (kept out of git)."""
    return Path(out_dir) / FULL_DIR / "runs" / _safe(task) / _safe(method) / f"seed{int(seed)}.json.gz"


def _existing_run_file(path: str | os.PathLike[str]) -> Path | None:
    r"""The compact file ``path`` if it exists, else an older ``seed<k>.json`` next to it, else ``None``."""
    p = Path(path)
    if p.exists():
        return p
    legacy = _legacy_path(p)
    return legacy if legacy != p and legacy.exists() else None


def _jsonable(obj: Any) -> Any:
    r"""JSON-safe copy (:func:`axfusion.diagnostics.jsonable`; unknown objects as text)."""
    return jsonable(obj, fallback=str)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    r"""Call ``write(tmp)`` on a temporary file next to ``path``, then rename it (atomic on POSIX)."""
    import uuid

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    r"""Write ``data`` as JSON to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            json.dump(data, fh, allow_nan=False)

    _atomic(path, write)


def _gzip_bytes(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9,
                                                   mtime=0) as fh:
            fh.write(data)

    return write


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode("utf-8")


def write_run_file(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    r"""Write a run record as gzip-compressed JSON, atomically.

    The bytes depend on the record only (no file name or time in the gzip
    header, compact separators), so rewriting an unchanged record changes
    nothing in git.
    """
    _atomic(Path(path), _gzip_bytes(_dumps(record)))


def write_compact_run_file(path: str | os.PathLike[str], record: Mapping[str, Any]) -> dict[str, Any]:
    r"""Write the compact form of ``record`` (:func:`compact_run_record`) to ``path``, atomically.

    ``task_spec``, ``task_info``, ``versions`` and ``reference`` are the same in
    many runs of a folder (every run of a task, every method of a seed): each
    distinct value is stored once, gzip-compressed, as
    ``runs/_shared/<sha256 prefix>.json.gz`` (content-addressed, so parallel
    writers never conflict), and the run file holds ``{"$shared": name}`` in
    its place; :func:`read_run_file` puts the values back. The shared entries
    are written before the run file.

    Returns:
        The compact record (with the values, not the references).
    """
    import hashlib

    p = Path(path)
    rec = compact_run_record(record)
    out = dict(rec)
    store = p.parent.parent.parent / SHARED_DIR
    for key in SHARED_FIELDS:
        value = out.get(key)
        if isinstance(value, dict) and value and not _is_shared(value):
            data = _dumps(value)
            name = hashlib.sha256(data).hexdigest()[:24]
            blob = store / f"{name}.json.gz"
            if not blob.exists():
                _atomic(blob, _gzip_bytes(data))
            out[key] = {"$shared": name}
    _atomic(p, _gzip_bytes(_dumps(out)))
    return rec


def _ignore_full_folder(out_dir: str | os.PathLike[str]) -> None:
    r"""``out_dir/full/.gitignore`` ignoring everything in ``full/`` (the full records stay out of git)."""
    path = Path(out_dir) / FULL_DIR / ".gitignore"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Full benchmark run records (axfusion.benchmarks.runner): local only, not for git.\n*\n")


# ------------------------------------------------------------- compact runs
def _round_sig(obj: Any, digits: int = COMPACT_DIGITS) -> Any:
    r"""``obj`` with every float rounded to ``digits`` significant digits (ints, bools, text unchanged)."""
    if isinstance(obj, float):
        if obj == 0.0 or not math.isfinite(obj):
            return obj
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, list):
        return [_round_sig(v, digits) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_sig(v, digits) for k, v in obj.items()}
    return obj


def _incumbent_indices(loss: Sequence[Any], iteration: Sequence[Any], T: int) -> set[int]:
    r"""The evaluations :func:`~axfusion.benchmarks.metrics.run_metrics` takes as the incumbent at ``t = 0 .. T``."""
    lv = np.asarray([np.nan if v is None else v for v in loss], dtype=np.float64)
    it = np.asarray(iteration, dtype=np.int64)
    out: set[int] = set()
    if lv.size != it.size:
        return set(range(lv.size))
    for tt in range(T + 1):
        sel = np.flatnonzero(it <= tt)
        if sel.size:
            out.add(int(sel[np.argmin(lv[sel])]))
    return out


def compact_run_record(record: Mapping[str, Any]) -> dict[str, Any]:
    r"""The compact form of a full run record; a compact record is returned as is.

    What the metrics, the report and the figures read, and nothing they read is
    rounded where it could change a reported number:

    - kept exactly: status, error, budget flags, task spec, ``task_info`` (less
      ``space``), method options, versions, times of day, host, ``history.iteration``,
      ``history.loss``, ``history.rows``, ``best_loss`` and the other counts;
    - ``history.X`` is left out; for a test function with a success criterion the
      flags judged on the full-precision points are kept instead
      (``success_criterion: {"label", "flags"}``, read by
      :func:`~axfusion.benchmarks.metrics.function_successes`);
    - ``history.Y`` is left out when it is ``raw_sign * loss`` (one target);
    - ``history.distance``: only at the evaluations that are the incumbent at some
      iteration ``t <= T`` (``null`` elsewhere), rounded to 6 significant digits;
    - ``reference``: up to the budget ``T`` exactly; test functions keep the
      best-so-far after ``T`` (the acceleration-factor figures) rounded to 6
      digits; pools keep the expected best-so-far up to ``T`` and the expected
      iterations, and leave out the hit-probability and Top% curves, which
      :func:`~axfusion.benchmarks.metrics.run_reference` recomputes exactly;
    - ``resources``: the peak memory (``peak_rss_mib``, ``peak_rss_scope``) only;
      it, ``iteration_times``, ``wall_time`` and ``method_time`` rounded to 6
      significant digits;
    - ``diagnostics``: :func:`~axfusion.benchmarks.plots.compact_diagnostics`
      (the fields of the diagnostic panels, rounded to 6 digits; ``[]`` for
      methods without fusion diagnostics).

    ``compact: {"format": 1, "dropped": [...]}`` names the fields that were cut
    (``history.X``, ``reference``, ...); the full record is
    ``full/runs/<task>/<method>/seed<k>.json.gz`` next to ``runs/``.
    """
    from axfusion.benchmarks.metrics import function_successes
    from axfusion.benchmarks.plots import compact_diagnostics

    rec = _jsonable(dict(record))
    if rec.get("compact"):
        return rec
    rec.pop("_path", None)
    dropped: list[str] = []
    info = dict(rec.get("task_info") or {})
    T = info.get("n_iterations")
    T = int(T) if isinstance(T, int) else None
    if "space" in info:
        del info["space"]
        dropped.append("task_info.space")
    if rec.get("task_info") is not None:
        rec["task_info"] = info
    hist = dict(rec.get("history") or {})
    if "X" in hist:
        try:
            flags = function_successes(rec) if info.get("kind") == "function" else None
        except Exception:  # noqa: BLE001 - a criterion that cannot be judged: no success column
            flags = None
        if flags is not None:
            rec["success_criterion"] = {"label": str(flags[1]), "flags": [int(b) for b in flags[0]]}
        del hist["X"]
        dropped.append("history.X")
    Y, loss, sign = hist.get("Y"), hist.get("loss"), info.get("raw_sign")
    if (isinstance(Y, list) and isinstance(loss, list) and len(Y) == len(loss) and sign is not None
            and all(isinstance(y, list) and len(y) == 1 and v is not None and y[0] == sign * v
                    for y, v in zip(Y, loss))):
        del hist["Y"]
        dropped.append("history.Y")
    dist = hist.get("distance")
    if isinstance(dist, list) and T is not None and isinstance(loss, list):
        keep = _incumbent_indices(loss, hist.get("iteration") or [], T)
        hist["distance"] = [_round_sig(d) if i in keep else None for i, d in enumerate(dist)]
        dropped.append("history.distance")
    rec["history"] = hist
    ref = rec.get("reference")
    if isinstance(ref, dict) and T is not None:
        ref = dict(ref)
        best = ref.get("best_so_far")
        if info.get("kind") == "pool":
            curves = [k for k, v in ref.items()
                      if isinstance(v, list) and (k.endswith("_probability") or k == "top_fraction")]
            for k in curves:
                del ref[k]
            if isinstance(best, list):
                ref["best_so_far"] = best[: T + 1]
            dropped.append("reference")
        elif isinstance(best, list):
            ref["best_so_far"] = best[: T + 1] + _round_sig(best[T + 1:])
            dropped.append("reference")
        rec["reference"] = ref
    res = rec.get("resources")
    if isinstance(res, dict) and set(res) - {"peak_rss_mib", "peak_rss_scope"}:
        rec["resources"] = {k: res[k] for k in ("peak_rss_mib", "peak_rss_scope") if k in res}
        dropped.append("resources")
    for key in ("iteration_times", "wall_time", "method_time", "resources"):
        if key in rec:
            rec[key] = _round_sig(rec[key])
    diags = rec.get("diagnostics") or []
    rec["diagnostics"] = _round_sig(_jsonable(compact_diagnostics(diags)))
    if diags:
        dropped.append("diagnostics")
    rec["compact"] = {"format": 1, "dropped": dropped}
    return rec


def convert_run_files(out_dir: str | os.PathLike[str], *, keep_full: bool = True) -> dict[str, int]:
    r"""Rewrite the older plain ``seed<k>.json`` run files of ``out_dir`` in the compact form.

    Every ``runs/<task>/<method>/seed<k>.json`` becomes ``seed<k>.json.gz``
    (:func:`compact_run_record`); with ``keep_full`` the record itself is kept
    under ``out_dir/full/`` (ignored by git), then the ``.json`` file is removed.

    Returns:
        ``{"converted", "bytes_before", "bytes_after", "shared_bytes"}`` (the run
        files' bytes before and after, and those of ``runs/_shared/``).
    """
    out = Path(out_dir)
    stats = {"converted": 0, "bytes_before": 0, "bytes_after": 0}
    for p in sorted((out / "runs").glob("*/*/seed*.json")):
        rec = read_run_file(p)
        gz = p.with_name(p.name + ".gz")
        if keep_full and not rec.get("compact"):
            _ignore_full_folder(out)
            write_run_file(out / FULL_DIR / p.relative_to(out).with_name(gz.name), rec)
        write_compact_run_file(gz, rec)
        stats["converted"] += 1
        stats["bytes_before"] += p.stat().st_size
        stats["bytes_after"] += gz.stat().st_size
        p.unlink()
    stats["shared_bytes"] = sum(f.stat().st_size for f in (out / "runs" / SHARED_DIR).glob("*.json.gz"))
    return stats


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _mib_from_rusage(kb: float) -> float:
    # ru_maxrss: kilobytes on Linux, bytes on macOS
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


def _proc_status(key: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


_VERSIONS: dict[str, Any] | None = None


def _versions() -> dict[str, Any]:
    global _VERSIONS
    if _VERSIONS is None:
        from importlib import metadata

        v: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
        for pkg in ("axfusion", "numpy", "scipy", "pandas", "scikit-learn", "torch", "botorch", "gpytorch",
                    "ax-platform", "lightgbm", "xgboost-cpu", "mealpy", "cma", "baybe", "joblib", "threadpoolctl"):
            try:
                v[pkg] = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                v[pkg] = None
        try:
            import subprocess

            root = Path(__file__).resolve().parents[2]
            out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                 timeout=5)
            v["git"] = out.stdout.strip() or None
        except Exception:
            v["git"] = None
        _VERSIONS = v
    return dict(_VERSIONS)


def _ensure_methods_loaded() -> list[str]:
    r"""Import every module of :mod:`axfusion.benchmarks.methods` (registers methods); returns import errors."""
    import importlib
    import pkgutil

    import axfusion.benchmarks.methods as pkg

    errors = []
    for mod in pkgutil.iter_modules(pkg.__path__):
        try:
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
        except Exception as err:  # a method whose optional dependency is missing
            errors.append(f"{mod.name}: {type(err).__name__}: {err}")
    return errors


def resolve_method_factory(name: str) -> Callable[..., Any]:
    r"""The registered factory of method ``name`` (importing the method modules if needed).

    Raises:
        KeyError: Naming the registered methods (and method modules that
            failed to import) when ``name`` is unknown.
    """
    from axfusion.benchmarks.methods import base

    if name not in base._METHODS:
        errors = _ensure_methods_loaded()
        if name not in base._METHODS:
            extra = f"; method modules that failed to import: {errors}" if errors else ""
            raise KeyError(f"Unknown method {name!r}; registered: {sorted(base._METHODS)}{extra}.")
    return base._METHODS[name]


# ------------------------------------------------------------------- jobs
@dataclass
class RunJob:
    r"""One (task, method, seed) run, as sent to a worker (picklable).

    Attributes:
        task_name: The task's name.
        task: A :class:`~axfusion.benchmarks.suites.TaskSpec` (built in the
            worker, cached per process) or a ready :class:`Task`.
        method: The method's name (its run folder).
        factory: ``factory(**options) -> Method``.
        options: Method options.
        seed: The run seed.
        path: The compact run file.
        overrides: Budget overrides for the spec.
        threads: Thread limit of the run (``None``: no limit).
        stop_at_success: Pools: stop once a row of the success set has been evaluated.
        full_path: The full record (``None``: not written).
        checkpoint_path: Where a method that supports checkpoints saves its state after every
            batch (:mod:`axfusion.benchmarks.checkpoint`; ``None``: no checkpoint).
    """

    task_name: str
    task: Any
    method: str
    factory: Callable[..., Any]
    options: dict[str, Any]
    seed: int
    path: str
    overrides: dict[str, int | None] = field(default_factory=dict)
    threads: int | None = None
    stop_at_success: bool = False
    full_path: str | None = None
    checkpoint_path: str | None = None


_TASK_CACHE: dict[Any, Any] = {}
_REF_CACHE: dict[Any, np.ndarray] = {}


def _build_task(job: RunJob) -> tuple[Any, Any]:
    from axfusion.benchmarks.suites import TaskSpec

    if isinstance(job.task, TaskSpec):
        key = job.task.cache_key(job.seed, **job.overrides)
        if key not in _TASK_CACHE:
            if len(_TASK_CACHE) > 32:
                _TASK_CACHE.clear()
            _TASK_CACHE[key] = job.task.build(seed=job.seed, **job.overrides)
        return _TASK_CACHE[key], job.task
    return job.task, None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    if "torch" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["torch"].manual_seed(seed)


class _QuietLoggers:
    r"""Silence INFO logging during a run (Ax logs every trial, which garbles the progress bar)."""

    def __enter__(self) -> _QuietLoggers:
        import logging

        self._previous = logging.root.manager.disable
        logging.disable(max(logging.INFO, self._previous))
        return self

    def __exit__(self, *exc: Any) -> None:
        import logging

        logging.disable(self._previous)


class _ThreadLimit:
    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self._ctl = None
        self._torch = None

    def __enter__(self) -> _ThreadLimit:
        if self.threads is None:
            return self
        try:
            from threadpoolctl import threadpool_limits

            self._ctl = threadpool_limits(limits=self.threads)
        except Exception:  # pragma: no cover - threadpoolctl missing
            self._ctl = None
        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            self._torch = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._ctl is not None:
            self._ctl.restore_original_limits()
        if self._torch is not None:
            sys.modules["torch"].set_num_threads(self._torch)


def _task_info(task: Any) -> dict[str, Any]:
    from axfusion.benchmarks.tasks import PoolTask

    sp = task.space
    info: dict[str, Any] = {
        "name": task.name, "kind": task.kind, "n_initial": task.n_initial, "batch_size": task.batch_size,
        "n_iterations": task.n_iterations, "budget": task.budget, "dim": sp.dim,
        "n_objectives": task.n_objectives,
        "space": {"names": list(sp.names), "kinds": list(sp.kinds), "lower": sp.lower.tolist(),
                  "upper": sp.upper.tolist()},
    }
    if isinstance(task, PoolTask):
        s = task.setup(0)
        ds = s.dataset
        info.update(
            dataset=getattr(ds, "name", None), N=int(task.N), targets=list(task.targets or ()),
            directions=[d.as_dict() for d in s.directions],
            units={t: (getattr(ds, "units", {}) or {}).get(t) for t in task.targets or ()},
            success_rows=sorted(int(i) for i in s.success), top5_rows=sorted(int(i) for i in s.top5),
            best_rows=sorted(int(i) for i in s.best),
        )
        from axfusion.benchmarks.metrics import TOP_PERCENT, _top_rows

        n_top = max(1, math.ceil(TOP_PERCENT * task.N))
        info["top_percent_rows"] = sorted(int(i) for i in _top_rows(s.ranking, n_top))
        kinds = [d.kind for d in s.directions]
        info["raw_sign"] = ({"maximize": -1.0, "minimize": 1.0}.get(kinds[0]) if len(kinds) == 1 else None)
        losses = task.loss(task.Y)
        info["loss_best"], info["loss_worst"] = float(losses.min()), float(losses.max())
        info["loss_median"] = float(np.median(losses))
    else:
        p = task.problem
        info.update(problem=p.name, optimal_value=p.optimal_value, has_optimizer=p.optimizer is not None,
                    raw_sign=1.0)
    return info


def _function_reference_sample(task: Any, key: Any) -> np.ndarray:
    if key not in _REF_CACHE:
        if len(_REF_CACHE) > 32:
            _REF_CACHE.clear()
        X = task.space.sample(_REFERENCE_SAMPLES, _REFERENCE_SEED, "random")
        _REF_CACHE[key] = task.loss(task.evaluate(X))
    return _REF_CACHE[key]


def _reference(task: Any, ev: Any, info: dict[str, Any], spec: Any, seed: int) -> dict[str, Any]:
    from axfusion.benchmarks import metrics
    from axfusion.benchmarks.tasks import PoolTask

    if isinstance(task, PoolTask):
        init = ev.rows[ev.iteration == 0]
        M = task.N - init.size
        horizon = int(min(_REFERENCE_HORIZON_FACTOR * task.n_iterations, -(-M // task.batch_size)))
        horizon = max(horizon, task.n_iterations)
        return metrics.pool_reference(
            task.loss(task.Y), init, task.batch_size, horizon,
            sets={"success": info["success_rows"], "top5": info["top5_rows"], "best": info["best_rows"]},
            top_rows=info["top_percent_rows"],
        )
    key = spec.cache_key(seed) if spec is not None else id(task)
    sample = _function_reference_sample(task, key)
    opt = info.get("optimal_value")
    info["loss_best"] = float(opt) if opt is not None else float(sample.min())
    info["loss_worst"] = float(sample.max())
    info["loss_median"] = float(np.median(sample))
    init_best = float(ev.loss[ev.iteration == 0].min()) if ev.n_evaluated else math.inf
    ref = metrics.function_reference(sample, init_best, task.batch_size,
                                     _REFERENCE_HORIZON_FACTOR * task.n_iterations)
    ref["sample_seed"] = _REFERENCE_SEED
    ref["sample_median"] = float(np.median(sample))
    return ref


def _checkpoint_of(job: RunJob, method: Any, record: Mapping[str, Any]) -> RunCheckpoint | None:
    r"""The run's checkpoint when the method supports one (its identity: what the run is)."""
    if job.checkpoint_path is None or not getattr(method, "supports_checkpoint", False):
        return None
    identity = {
        "task": job.task_name, "method": job.method, "seed": int(job.seed), "options": record["method_options"],
        "task_info": record["task_info"], "stop_at_success": bool(job.stop_at_success),
    }
    return RunCheckpoint(job.checkpoint_path, _jsonable(identity))


def _elapsed_clock(prior: Mapping[str, float], t_start: float, t_method: float) -> Callable[[], dict[str, float]]:
    r"""Seconds spent by the run so far, the time before a resume included."""

    def elapsed() -> dict[str, float]:
        now = time.perf_counter()
        return {"wall": prior.get("wall", 0.0) + now - t_start, "method": prior.get("method", 0.0) + now - t_method}

    return elapsed


def execute_run(job: RunJob) -> dict[str, Any]:
    r"""Run one job and write its run file; never raises for a failing method.

    Returns:
        A short summary: ``task``, ``method``, ``seed``, ``status``, ``path``,
        ``wall_time``, ``best_loss``, ``error`` (last line).
    """
    from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator

    started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record: dict[str, Any] = {
        "schema": RUN_SCHEMA, "task": job.task_name, "method": job.method, "seed": int(job.seed),
        "status": "failed", "error": None, "budget_spent": False,
        "task_spec": None, "task_info": None, "method_options": _jsonable(job.options),
        "stop_at_success": bool(job.stop_at_success),
        "history": {}, "iteration_times": [], "n_evaluations": 0, "n_iterations_done": 0, "best_loss": None,
        "wall_time": None, "method_time": None, "resources": {}, "reference": None, "diagnostics": [],
        "versions": _versions(), "started_at": started, "finished_at": None, "host": socket.gethostname(),
    }
    ev = None
    method = None
    task = None
    checkpoint = None
    prior: dict[str, float] = {}
    t_start = time.perf_counter()
    t_method = None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    rss0 = _proc_status("VmRSS")
    reset = _reset_peak_rss()
    with _ThreadLimit(job.threads), _QuietLoggers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            task, spec = _build_task(job)
            record["task_spec"] = spec.as_dict() if spec is not None else None
            record["task_info"] = _task_info(task)
            method = job.factory(**job.options)
            _seed_everything(int(job.seed))
            stop_sets: list[Any] = []
            if job.stop_at_success and task.kind == "pool":
                stop_sets = [task.setup(0).success]
            ev = Evaluator(task, seed=int(job.seed), stop_when_found=stop_sets)
            checkpoint = _checkpoint_of(job, method, record)
            saved = checkpoint.load() if checkpoint is not None else None
            t_start = time.perf_counter()
            if saved is not None:  # a stopped run continues after its last measured batch
                ev.load_state_dict(saved["evaluator"])
                prior = {k: float(v) for k, v in saved.get("elapsed", {}).items()}
                saved.setdefault("resumes", []).append({
                    "iteration": int(ev.iteration.max()) if ev.n_evaluated else 0,
                    "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                })
                record["resumes"] = saved["resumes"]
            else:
                ev.evaluate_initial()
            ev.tick()
            t_method = time.perf_counter()
            if checkpoint is not None:
                checkpoint.elapsed = _elapsed_clock(prior, t_start, t_method)
                method.checkpoint = checkpoint
            with contextlib.suppress(BudgetExhausted):
                method.run(task, ev)
            record["status"] = "ok"
        except BaseException as err:  # a failing run is recorded, never kills the benchmark
            if isinstance(err, KeyboardInterrupt):
                raise
            record["error"] = traceback.format_exc()
        t_end = time.perf_counter()
        if method is not None:
            try:
                record["diagnostics"] = _jsonable(method.diagnostics())
            except Exception:
                record["diagnostics"] = []
                record["diagnostics_error"] = traceback.format_exc()
        if ev is not None and task is not None:
            record["budget_spent"] = bool(ev.remaining <= 0)
            record["stopped_at_success"] = bool(ev.stopped_early)
            h: dict[str, Any] = {
                "iteration": ev.iteration.tolist(), "loss": ev.loss.tolist(), "Y": ev.Y.tolist(),
            }
            if task.kind == "pool":
                h["rows"] = ev.rows.tolist()
            else:
                h["X"] = ev.X.tolist()
                try:
                    d = task.distance_to_optimum(ev.X, normalize=True) if ev.n_evaluated else None
                    if d is not None:
                        h["distance"] = np.asarray(d, dtype=float).tolist()
                except Exception:
                    pass
            record["history"] = h
            record["iteration_times"] = [float(x) for x in ev.iteration_times]
            record["n_evaluations"] = ev.n_evaluated
            record["n_iterations_done"] = int(ev.iteration.max()) if ev.n_evaluated else 0
            record["best_loss"] = ev.best_loss() if ev.n_evaluated else None
            record["wall_time"] = prior.get("wall", 0.0) + t_end - t_start
            record["method_time"] = (prior.get("method", 0.0) + t_end - t_method) if t_method is not None else None
            if record["task_info"] is not None:
                try:
                    record["reference"] = _reference(task, ev, record["task_info"], spec, int(job.seed))
                except Exception:
                    record["reference_error"] = traceback.format_exc()
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        ruc = resource.getrusage(resource.RUSAGE_CHILDREN)
        hwm = _proc_status("VmHWM")
        record["resources"] = {
            "peak_rss_mib": hwm if (reset and hwm is not None) else _mib_from_rusage(ru1.ru_maxrss),
            "peak_rss_scope": "run" if (reset and hwm is not None) else "process",
            "ru_maxrss_mib": _mib_from_rusage(ru1.ru_maxrss),
            "ru_maxrss_children_mib": _mib_from_rusage(ruc.ru_maxrss),
            "rss_start_mib": rss0, "rss_end_mib": _proc_status("VmRSS"),
            "cpu_user_s": ru1.ru_utime - ru0.ru_utime, "cpu_system_s": ru1.ru_stime - ru0.ru_stime,
            "threads": job.threads,
        }
    if checkpoint is not None and checkpoint.discarded:
        record["checkpoint_discarded"] = checkpoint.discarded
        warnings.warn(checkpoint.discarded, stacklevel=2)
    record["finished_at"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record = _jsonable(record)
    if job.full_path is not None:  # the full record first: the compact file marks the run finished
        write_run_file(job.full_path, record)
    write_compact_run_file(job.path, record)
    if checkpoint is not None and record["status"] == "ok":
        checkpoint.clear()  # a failed run keeps it: --retry-failed continues from its last batch
    legacy = _legacy_path(job.path)
    if legacy != Path(job.path) and legacy.exists():  # an older run file this run replaces
        legacy.unlink()
    lines = (record.get("error") or "").strip().splitlines()
    return {
        "task": job.task_name, "method": job.method, "seed": int(job.seed), "status": record["status"],
        "path": job.path, "full_path": job.full_path, "wall_time": record.get("wall_time"),
        "best_loss": record.get("best_loss"), "error": lines[-1] if lines else None,
    }


# ---------------------------------------------------------------- engines
def _run_serial(jobs: Sequence[RunJob], n_jobs: int, address: str | None) -> Iterator[dict[str, Any]]:
    for job in jobs:
        yield execute_run(job)


def _run_joblib(jobs: Sequence[RunJob], n_jobs: int, address: str | None) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    yield from par(delayed(execute_run)(j) for j in jobs)


def _run_dask(jobs: Sequence[RunJob], n_jobs: int, address: str | None) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:
        raise ImportError(
            "engine='dask' needs dask.distributed: pip install 'dask[distributed]'"
        ) from err
    own = address is None
    client = Client(n_workers=n_jobs, threads_per_worker=1, processes=True) if own else Client(address)
    try:
        futures = client.map(execute_run, list(jobs), pure=False)
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        if own:
            client.close()


def _run_ray(jobs: Sequence[RunJob], n_jobs: int, address: str | None) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as err:
        raise ImportError("engine='ray' needs ray: pip install ray") from err
    own = not ray.is_initialized()
    if own:
        ray.init(address=address, num_cpus=None if address else n_jobs, ignore_reinit_error=True,
                 log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(execute_run)
        pending = [remote.remote(j) for j in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if own:
            ray.shutdown()


_ENGINES: dict[str, Callable[[Sequence[RunJob], int, str | None], Iterator[dict[str, Any]]]] = {
    "serial": _run_serial, "joblib": _run_joblib, "dask": _run_dask, "ray": _run_ray,
}


# ---------------------------------------------------------------- the API
@dataclass
class BenchmarkResult:
    r"""What :func:`run_benchmark` did.

    Attributes:
        out_dir: The results folder.
        completed: Summaries of the runs executed now (see :func:`execute_run`).
        skipped: ``(task, method, seed)`` runs already finished (resume).
        unsupported: ``(task, method)`` pairs whose ``supports(task)`` is false.
        planned: Every (task, method, seed) asked for.
        error: An engine error that stopped the benchmark early (the runs
            written before it are kept), else ``None``.
    """

    out_dir: Path
    completed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str, int]] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, str, int]] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.completed if c["status"] != "ok"]


def _finished(
    path: Path, budget: Mapping[str, Any], options: Mapping[str, Any], retry_failed: bool, stop_at_success: bool = False
) -> bool:
    found = _existing_run_file(path)
    if found is None:
        return False
    try:
        rec = read_run_file(found)
    except (OSError, EOFError, ValueError):
        return False
    path = found
    if rec.get("schema") != RUN_SCHEMA or rec.get("status") not in _FINISHED:
        return False
    if retry_failed and rec.get("status") != "ok":
        return False
    info = rec.get("task_info") or {}
    if info and any(info.get(k) != v for k, v in budget.items()):
        warnings.warn(f"{path}: written with another budget; it is run again.", stacklevel=3)
        return False
    if bool(rec.get("stop_at_success", False)) != bool(stop_at_success):
        warnings.warn(f"{path}: written with another stop_at_success; it is run again.", stacklevel=3)
        return False
    if rec.get("method_options") != _jsonable(dict(options)):
        warnings.warn(f"{path}: written with other method options; it is run again.", stacklevel=3)
        return False
    return True


def _update_manifest(out_dir: Path, payload: Mapping[str, Any]) -> None:
    path = out_dir / "benchmark.json"
    man: dict[str, Any] = {}
    if path.exists():
        try:
            with open(path) as fh:
                man = json.load(fh)
        except (OSError, ValueError):
            man = {}
    man.setdefault("schema", "axfusion.bench.manifest/1")
    for key in ("suites", "tasks"):
        man.setdefault(key, {}).update(payload.get(key, {}))
    methods = man.setdefault("methods", [])
    methods.extend(m for m in payload.get("methods", []) if m not in methods)
    seeds = set(man.get("seeds", [])) | set(payload.get("seeds", []))
    man["seeds"] = sorted(seeds)
    unsup = {(u["task"], u["method"]): u for u in man.get("unsupported", [])}
    for u in payload.get("unsupported", []):
        unsup[(u["task"], u["method"])] = u
    man["unsupported"] = list(unsup.values())
    man.setdefault("invocations", []).append(payload.get("invocation", {}))
    _write_json_atomic(path, _jsonable(man))


def run_benchmark(
    tasks: Iterable[Any],
    methods: Iterable[str],
    seeds: int | Iterable[int],
    out_dir: str | os.PathLike[str],
    *,
    n_jobs: int = 1,
    engine: str = "joblib",
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = True,
    n_iterations: int | None = None,
    batch_size: int | None = None,
    n_initial: int | None = None,
    address: str | None = None,
    threads_per_run: int | None = None,
    retry_failed: bool = False,
    suites: Mapping[str, Sequence[str]] | None = None,
    stop_at_success: bool = False,
) -> BenchmarkResult:
    r"""Run every (task, method, seed) and write its compact run file and full record.

    Args:
        tasks: Task names (registered or ``pool:``/``function:`` strings,
            :func:`~axfusion.benchmarks.suites.get_task`),
            :class:`~axfusion.benchmarks.suites.TaskSpec`\ s or ready
            :class:`~axfusion.benchmarks.tasks.Task`\ s.
        methods: Registered method names.
        seeds: A number of seeds (``0 .. seeds-1``) or the seeds.
        out_dir: Results folder (``runs/``: compact run files, ``full/``: full records,
            ignored by git, ``benchmark.json``).
        n_jobs: Runs in parallel (engines other than ``"serial"``; ``-1``: one per CPU).
        engine: ``"joblib"``, ``"serial"``, ``"dask"`` or ``"ray"``
            (``n_jobs=1`` with ``"joblib"`` runs serially in this process).
        method_options: ``{method: {option: value}}`` passed to the factories.
        progress: Show a tqdm bar over runs.
        n_iterations, batch_size, n_initial: Budget overrides for task specs
            (ignored for ready Tasks).
        address: Scheduler address for dask / ray.
        threads_per_run: Thread limit per run (default ``cpus // n_jobs``).
        retry_failed: Run failed runs again (finished ``ok`` runs are always skipped).
        suites: ``{suite: [task names]}``, recorded in the manifest for the report.
        stop_at_success: Pools: end a run once a row of the success set has been
            evaluated (iterations to success are exact; best-so-far and top-% curves
            are carried forward from there, so EF/AF of such runs are lower bounds and
            iterations to the top 5 / best row are censored).

    Returns:
        A :class:`BenchmarkResult`.
    """
    from axfusion.benchmarks.suites import TaskSpec, get_task
    from axfusion.benchmarks.tasks import Task

    if engine not in ENGINES:
        raise ValueError(f"Unknown engine {engine!r}; use one of {ENGINES}.")
    if address is not None and engine not in ("dask", "ray"):
        raise ValueError(f"--address {address} names a dask or ray cluster; add --engine dask or --engine ray.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the results.")
    out.mkdir(parents=True, exist_ok=True)
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("No seeds given.")
    method_list = list(dict.fromkeys(methods))
    if not method_list:
        raise ValueError("No methods given.")
    unpack_runs(out_dir)  # a packed results folder resumes like any other
    method_options = {k: dict(v) for k, v in (method_options or {}).items()}
    unknown_opts = set(method_options) - set(method_list)
    if unknown_opts:
        raise ValueError(f"method_options for methods not run: {sorted(unknown_opts)}.")
    factories = {m: resolve_method_factory(m) for m in method_list}
    for m in method_list:  # unknown option names or bad values: refused before any run
        try:
            factories[m](**method_options.get(m, {}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"--method-option for {m}: {error}") from error
    overrides = {"n_iterations": n_iterations, "batch_size": batch_size, "n_initial": n_initial}

    entries: list[tuple[str, Any]] = []  # (name, spec or Task)
    for t in tasks:
        if isinstance(t, Task):
            entries.append((t.name, t))
        else:
            spec = get_task(t) if not isinstance(t, TaskSpec) else t
            entries.append((spec.name, spec))
    names = [n for n, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"Duplicate task names: {names}.")

    def budget_of(obj: Any) -> Mapping[str, Any]:
        if isinstance(obj, TaskSpec):
            return obj.budget(**overrides)
        return {"n_initial": obj.n_initial, "batch_size": obj.batch_size, "n_iterations": obj.n_iterations}

    result = BenchmarkResult(out_dir=out)
    ncpu = _cpu_count()
    n_jobs = ncpu if n_jobs is None or n_jobs < 1 else int(n_jobs)
    # a cluster address always runs on the cluster, whatever the local job count
    parallel = engine != "serial" and (n_jobs > 1 or address is not None)
    threads = threads_per_run if threads_per_run is not None else (max(1, ncpu // n_jobs) if parallel else None)
    jobs: list[RunJob] = []
    for name, obj in entries:
        budget = budget_of(obj)
        pending = []
        for m in method_list:
            for s in seed_list:
                result.planned.append((name, m, s))
                p = run_path(out, name, m, s)
                if _finished(p, budget, method_options.get(m, {}), retry_failed, stop_at_success):
                    result.skipped.append((name, m, s))
                else:
                    pending.append((m, s, p))
        if not pending:
            continue
        task = obj
        if isinstance(obj, TaskSpec):
            task = obj.build(seed=seed_list[0], **overrides)
            if not parallel and not obj.seed_dependent:  # the serial runs reuse it
                _TASK_CACHE[obj.cache_key(seed_list[0], **overrides)] = task
        support: dict[str, bool] = {}
        for m in {m for m, _, _ in pending}:
            try:
                support[m] = bool(factories[m](**method_options.get(m, {})).supports(task))
            except Exception:
                support[m] = True  # let the run record the error
        for m, s, p in pending:
            if not support[m]:
                if (name, m) not in result.unsupported:
                    result.unsupported.append((name, m))
                continue
            jobs.append(RunJob(
                task_name=name, task=obj, method=m, factory=factories[m], options=dict(method_options.get(m, {})),
                seed=s, path=str(p), overrides=overrides if isinstance(obj, TaskSpec) else {}, threads=threads,
                stop_at_success=stop_at_success, full_path=str(full_run_path(out, name, m, s)),
                checkpoint_path=str(checkpoint_path(out, name, m, s)),
            ))
    # unsupported pairs are noted even when every other run was already finished
    _update_manifest(out, {
        "suites": {k: list(v) for k, v in (suites or {}).items()},
        "tasks": {n: (o.as_dict() if isinstance(o, TaskSpec) else {"name": n, "kind": o.kind}) for n, o in entries},
        "methods": method_list, "seeds": seed_list,
        "unsupported": [{"task": t, "method": m, "reason": "supports(task) is false"} for t, m in result.unsupported],
        "invocation": {"time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                       "tasks": names, "methods": method_list, "seeds": seed_list, "engine": engine,
                       "n_jobs": n_jobs, "overrides": overrides, "method_options": method_options,
                       "stop_at_success": stop_at_success,
                       "planned": len(result.planned), "to_run": len(jobs)},
    })
    if not jobs:
        return result
    _ignore_full_folder(out)
    runner = _ENGINES["serial" if not parallel else engine]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="benchmark", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        for summary in runner(jobs, n_jobs, address):
            result.completed.append(summary)
            bar.update(1)
            bar.set_postfix_str(f"{summary['task']}/{summary['method']}/seed{summary['seed']}: {summary['status']}")
    except KeyboardInterrupt:
        result.error = "interrupted"
        raise
    except ImportError:
        raise
    except Exception as err:  # an engine failure (e.g. a worker killed): keep what was written
        result.error = f"{type(err).__name__}: {err}"
        warnings.warn(f"Benchmark stopped early: {result.error}; rerun to resume.", stacklevel=2)
    finally:
        bar.close()
    return result
