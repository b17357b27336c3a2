r"""Speed benchmark: seconds per batch and peak memory of axfusion and its peers, in one run.

Every measurement is ONE proposal of a batch of 10 after ``n`` measured rows (points), run
through the benchmark harness (:mod:`axfusion.benchmarks.methods`) exactly as ``axfusion
bench`` runs it, in a fresh Python process (one thread: ``OMP_NUM_THREADS=1`` and
``torch.set_num_threads(1)``) so that its peak resident memory is its own:

- the child builds the task (the pool and its ``n`` measured rows, or the box and its ``n``
  Sobol points; the same data, rows and seed for every method) and says "ready";
- then the method runs until the harness's evaluator has its first batch; the time is the
  evaluator's proposal time (the method's own setup -- model construction, BayBE's search
  space, Ax's client -- included) and the memory the process's peak RSS (``ru_maxrss``;
  the data and the imports included, with the RSS at "ready" beside it);
- a proposal that takes longer than ``--limit`` seconds (``--limit-axfusion`` for axfusion, longer
  by default so that a missed target comes with its per-stage seconds) is killed and reported as
  ``> limit`` (its peak memory read from ``/proc/<pid>/status`` before the kill). A peer
  over the limit on a pool is not started on larger pools with as many or more measured
  rows of the same width: those cells say ``> limit`` with a mark, "not run".

Methods: ``axfusion`` (the harness's ``fusion``: on pools the optimiser's own defaults; in a
box the optimiser's own box recipe -- 8 members, 2,000 DE candidates, 20 s DE budget --
given as options), ``axfusion_box`` (boxes only: the harness's cut-down
:data:`~axfusion.benchmarks.methods.fusion.BOX_DEFAULTS`), ``axfusion_paper`` (boxes only: the
``paper`` preset at full strength -- 10 members per family, 10,000 candidates, DE to
convergence -- the harness's ``fusion:paper``), ``gpbo`` and ``rfbo`` (pools:
:mod:`~axfusion.benchmarks.methods.pool_bo`; boxes: Ax's ``Client``), ``baybe`` (BayBE's
default campaign). The table gives each peer's time as a ratio to axfusion and axfusion's
per-stage seconds from its diagnostics record (``timings``: model, candidates, structure,
acquisition, batch).

Problems. Pools (maximise ``y``; ``N:d:n``): ``d = 20`` "synthetic" (uniform features in
``[0, 1]^20``, a smooth multimodal target of ten of them), ``d = 135`` "Magpie-like"
(135 correlated columns: a random rank-12 mix of latent factors plus noise, a third of
them exponentiated -- skewed, positive --, a third rounded to integers, like Magpie's
counts and means). Everything is float32, deterministic under ``--seed`` and generated in
fixed chunks. Pools of at least ``--memmap-above`` rows are written once to a float32
``.npy`` file in a temporary folder and axfusion streams them from a memmap
(``CandidatePool.from_npy``, through the public ``FusionOptimizer`` with the harness's
settings); the peers get the same rows in memory. Boxes (``problem:n``): ``ackley20``
(shifted Ackley, 20-D) and ``hartmann6``.

    python benchmarks/bench_speed.py --quick                       # tiny sizes, a few minutes
    python benchmarks/bench_speed.py                               # the default plan (over an hour)
    python benchmarks/bench_speed.py --pools 1000000:20:300 --methods axfusion --limit 600
    python benchmarks/bench_speed.py --pools 4000000:20:300 --boxes none   # streamed from a memmap

Writes ``--out`` (JSON: environment -- versions, CPU, threads, load -- and every
measurement) and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10
CHUNK = 65_536  # rows per generation chunk (axfusion.benchmarks.synthetic_pools.CHUNK)
STAGES = ("model", "candidates", "structure", "acquisition", "batch")
POOL_METHODS = ("axfusion", "gpbo", "rfbo", "baybe")
BOX_METHODS = ("axfusion", "axfusion_box", "axfusion_paper", "gpbo", "rfbo", "baybe")
LABELS = {
    "axfusion": "axfusion",
    "axfusion_box": "axfusion cut-down (BOX_DEFAULTS)",
    "axfusion_paper": "axfusion paper preset",
    "gpbo": "GP-BO",
    "rfbo": "RF-BO",
    "baybe": "BayBE",
}
#: Headers of the per-stage columns of the box table.
STAGE_LABELS = {"axfusion": "axfusion stages (s)", "axfusion_box": "cut-down stages (s)",
                "axfusion_paper": "paper preset stages (s)"}
#: The optimiser's own box recipe, given to the harness's ``fusion`` (which otherwise uses BOX_DEFAULTS).
OWN_BOX_KEYS = ("stage1.n_members", "stage2.box.n_candidates", "stage2.box.time_budget_s",
                "stage2.box.maxiter", "stage2.box.popsize")
BOXES = {"ackley20": ("ackley", {"dim": 20, "shift": True, "seed": 0}), "hartmann6": ("hartmann6", {})}

#: The default plan. The committed report (benchmarks/results/speed/) measured most of it, with
#: --resume and --methods per cell, and left out the cells it marks "–" (time).
DEFAULT_POOLS = [
    "1000:20:100", "1000:20:300", "10000:20:100", "10000:20:300", "10000:20:1000",
    "100000:20:100", "100000:20:300", "1000000:20:100", "1000000:20:300",
    "1000:135:100", "10000:135:100", "100000:135:100",
]
DEFAULT_BOXES = ["hartmann6:100", "ackley20:100"]
QUICK_POOLS = ["400:20:30", "400:135:30"]
QUICK_BOXES = ["hartmann6:20"]

#: The issue's targets (seconds per batch of 10, one thread).
TARGETS = {
    "pool_1e6": 60.0,
    "pool_4e6": 240.0,
    "pool_1e4_n1000": 10.0,
    "box_d20_full": 20.0,
}


# ---------------------------------------------------------------------------- data
#: The generated pool of each width (:mod:`axfusion.benchmarks.synthetic_pools`).
POOL_BY_WIDTH = {20: "smooth20", 135: "latent135"}


def _chunk(kind: int, start: int, stop: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Rows ``start .. stop`` (within one generation chunk) of the pool of width ``kind``:
    float32 features and float64 targets (:func:`axfusion.benchmarks.synthetic_pools.pool_chunk`)."""
    from axfusion.benchmarks.synthetic_pools import pool_chunk

    if kind not in POOL_BY_WIDTH:
        raise ValueError(f"no synthetic pool of width {kind}; use d = 20 or 135")
    return pool_chunk(POOL_BY_WIDTH[kind], start, stop, seed)


def pool_data(N: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""``N x d`` float32 features and ``N`` targets (deterministic; the first ``N`` rows of
    every larger pool of the same width and seed)."""
    from axfusion.benchmarks.synthetic_pools import pool_data as generated

    if d not in POOL_BY_WIDTH:
        raise ValueError(f"no synthetic pool of width {d}; use d = 20 or 135")
    return generated(POOL_BY_WIDTH[d], N, seed)


def write_memmap(path: Path, N: int, d: int, seed: int) -> np.ndarray:
    r"""Write the pool's features to a float32 ``.npy`` file chunk by chunk; returns the targets."""
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N, d))
    ys = []
    for start in range(0, N, CHUNK):
        X, y = _chunk(d, start, min(start + CHUNK, N), seed)
        mm[start : start + len(X)] = X
        ys.append(y)
    mm.flush()
    del mm
    y_all = np.concatenate(ys)
    np.save(path.with_suffix(".y.npy"), y_all)
    return y_all


def initial_rows(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    r"""The closed-pool protocol's initial rows (:func:`axfusion.protocols.closed_pool_setup`,
    one target, its seed): ``n`` rows drawn at random at or below the median, never a top row."""
    from axfusion.protocols import success_set_size, top_rows

    success = top_rows(y, success_set_size(y.size, 0.01, 10))
    low = np.setdiff1d(np.flatnonzero(y <= np.median(y)), np.asarray(success, dtype=np.int64))
    return np.sort(np.random.default_rng(seed).choice(low, size=n, replace=False))


def pool_task(X: np.ndarray, y: np.ndarray, n: int, name: str) -> Any:
    from axfusion.benchmarks.synthetic_pools import array_dataset
    from axfusion.benchmarks.tasks import PoolTask

    return PoolTask.from_dataset(array_dataset(name, X, y), targets=["y"], directions=["maximize"], n_initial=n,
                                 batch_size=BATCH, n_iterations=1, name=name)


def own_box_options() -> dict[str, Any]:
    r"""The optimiser's own box settings for the keys BOX_DEFAULTS cuts down."""
    from axfusion.settings import preset

    s = preset("default", {})
    out = {}
    for key in OWN_BOX_KEYS:
        node: Any = s
        for part in key.split("."):
            node = getattr(node, part)
        out[key] = node
    return out


def make_method(name: str, box: bool) -> Any:
    from axfusion.benchmarks.runner import resolve_method_factory

    if name == "axfusion":
        return resolve_method_factory("fusion")(**(own_box_options() if box else {}))
    if name == "axfusion_box":
        return resolve_method_factory("fusion")()
    if name == "axfusion_paper":
        return resolve_method_factory("fusion:paper")()
    return resolve_method_factory(name)()


# --------------------------------------------------------------------------- child
def _emit(kind: str, **payload: Any) -> None:
    sys.stdout.write("@@" + json.dumps({"kind": kind, **payload}) + "\n")
    sys.stdout.flush()


def _rss_mib() -> tuple[float, float]:
    r"""Current and peak resident memory of this process (MiB)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    current = float("nan")
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    current = float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return current, peak


def child(spec: dict[str, Any]) -> None:
    r"""Run one measurement (in its own process) and print its result as JSON lines."""
    import logging
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask

    seed = int(spec["seed"])
    method_name = spec["method"]
    t_setup = time.perf_counter()
    memmap = spec.get("memmap")
    if spec["kind"] == "pool":
        N, d, n = int(spec["N"]), int(spec["d"]), int(spec["n"])
        if memmap and method_name == "axfusion":
            _child_memmap(spec)
            return
        if memmap:
            X = np.load(memmap, mmap_mode="r")
            y = np.load(Path(memmap).with_suffix(".y.npy"))
        else:
            X, y = pool_data(N, d, seed)
        task = pool_task(X, y, n, f"speed{d}")
        del X
    else:
        problem, options = BOXES[spec["problem"]]
        task = FunctionTask.from_problem(problem, n_initial=int(spec["n"]), batch_size=BATCH, n_iterations=1,
                                         name=spec["problem"], **options)
    ev = Evaluator(task, seed=seed)
    ev.evaluate_initial()
    method = make_method(method_name, box=spec["kind"] == "box")
    rss_ready, _ = _rss_mib()
    _emit("ready", setup_s=time.perf_counter() - t_setup, rss_ready_mib=rss_ready)
    t0 = time.perf_counter()
    with contextlib.suppress(BudgetExhausted):  # the evaluator stops the method after its first batch
        method.run(task, ev)
    wall = time.perf_counter() - t0
    seconds = ev.iteration_times[0] if ev.iteration_times else wall
    _, peak = _rss_mib()
    _emit("done", seconds=seconds, wall_s=wall, peak_mib=peak, rss_ready_mib=rss_ready,
          n_proposed=int(ev.n_evaluated - task.n_initial), **_stage_info(method_name, method.diagnostics()))


def _stage_info(method_name: str, diagnostics: list[dict[str, Any]]) -> dict[str, Any]:
    if not diagnostics:
        return {}
    first = diagnostics[0]
    if method_name.startswith("axfusion"):
        timings = first.get("timings", {})
        return {"stages": {k: float(v) for k, v in timings.items()}}
    keys = ("fit_time_s", "select_time_s", "recommend_time_s", "gen_time_s", "n_candidates", "calls")
    return {"info": {k: first[k] for k in keys if k in first}}


def _child_memmap(spec: dict[str, Any]) -> None:
    r"""axfusion on a pool streamed from a float32 memmap (the public API, the harness's settings)."""
    import warnings

    from axfusion.benchmarks.methods.fusion import Fusion
    from axfusion.campaign import FusionOptimizer
    from axfusion.candidates import CandidatePool

    t_setup = time.perf_counter()
    y = np.load(Path(spec["memmap"]).with_suffix(".y.npy"))
    rows = initial_rows(y, int(spec["n"]), int(spec["seed"]))

    class _Budget:  # what Fusion.settings reads from a task
        batch_size, n_iterations = BATCH, 1

    settings = Fusion().settings(_Budget(), box=False)  # type: ignore[arg-type]
    rss_ready, _ = _rss_mib()
    _emit("ready", setup_s=time.perf_counter() - t_setup, rss_ready_mib=rss_ready)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool = CandidatePool.from_npy(spec["memmap"], mmap=True)
        opt = FusionOptimizer(pool, ["maximize"], target_names=["y"], settings=settings, seed=int(spec["seed"]))
        opt.observe(ids=rows, Y=y[rows].reshape(-1, 1))
        s = opt.suggest(BATCH)
    seconds = time.perf_counter() - t0
    _, peak = _rss_mib()
    records = [r.as_dict() for r in opt.records]
    _emit("done", seconds=seconds, wall_s=seconds, peak_mib=peak, rss_ready_mib=rss_ready,
          n_proposed=len(s.row_ids), streamed="memmap", **_stage_info("axfusion", records))


# -------------------------------------------------------------------------- parent
def _peak_of(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def measure(spec: dict[str, Any], limit: float, setup_limit: float = 1800.0) -> dict[str, Any]:
    r"""Run ``spec`` in a fresh process; its result, or ``status="limit"`` past ``limit`` s."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=str(ROOT),
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("@@"):
                    lines.put(line[2:])
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        load = os.getloadavg()[0]
        out: dict[str, Any] = {**spec, "load_before": round(load, 2)}
        deadline = time.monotonic() + setup_limit
        ready = False
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                peak = _peak_of(proc.pid)
                proc.kill()
                proc.wait()
                out.update(status="limit" if ready else "setup_limit", limit_s=limit, peak_mib=peak)
                return out
            if line is None:
                proc.wait()
                err.seek(0)
                tail = err.read()[-2000:]
                out.update(status="error", returncode=proc.returncode, error=tail)
                return out
            msg = json.loads(line)
            if msg.pop("kind") == "ready":
                ready = True
                out.update(msg)
                deadline = time.monotonic() + limit
                continue
            out.update(msg, status="ok")
            proc.wait()
            out["load_after"] = round(os.getloadavg()[0], 2)
            return out


def parse_pool(text: str) -> dict[str, Any]:
    N, d, n = (int(float(v)) for v in text.split(":"))
    return {"kind": "pool", "N": N, "d": d, "n": n, "problem": "synthetic" if d == 20 else "magpie-like"}


def parse_box(text: str) -> dict[str, Any]:
    problem, n = text.split(":")
    if problem not in BOXES:
        raise SystemExit(f"unknown box {problem!r}; choose from {sorted(BOXES)}")
    d = 20 if problem == "ackley20" else 6
    return {"kind": "box", "problem": problem, "N": None, "d": d, "n": int(n)}


def environment() -> dict[str, Any]:
    from axfusion.benchmarks.runner import _versions

    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = _versions()
    if os.environ.get("AXFUSION_GIT_COMMIT"):  # a snapshot (git archive) of a commit has no .git
        versions["git"] = os.environ["AXFUSION_GIT_COMMIT"]
    return {
        "versions": versions,
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "threads": 1,
        "thread_env": {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        "torch_threads": 1,
        "nice": os.nice(0),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_at_start": [round(v, 2) for v in os.getloadavg()],
    }


# --------------------------------------------------------------------------- table
def _fmt_s(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def cell(r: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
    r"""``seconds s · peak MiB · ×ratio`` of one measurement (``> limit`` past the limit)."""
    if r is None:
        return "–"
    status = r.get("status")
    if status in ("limit", "skipped"):
        mark = "" if status == "limit" else "†"
        mem = f" · {r['peak_mib']:.0f} MiB" if r.get("peak_mib") else ""
        ratio = ""
        if base is not None and base.get("status") == "ok":
            ratio = f" · > ×{r['limit_s'] / base['seconds']:.0f}"
        return f"> {r['limit_s']:.0f} s{mark}{mem}{ratio}"
    if status != "ok":
        return f"error ({status})"
    text = f"{_fmt_s(r['seconds'])} s · {r['peak_mib']:.0f} MiB"
    if base is not None and base is not r and base.get("status") == "ok":
        text += f" · ×{r['seconds'] / base['seconds']:.2g}"
    return text


def stages(r: dict[str, Any] | None) -> str:
    if r is None or r.get("status") != "ok" or "stages" not in r:
        return "–"
    st = r["stages"]
    return " / ".join(_fmt_s(st.get(k, 0.0)) for k in STAGES)


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["kind"], r["problem"], r["N"], r["d"], r["n"])


def render(records: list[dict[str, Any]], limit: float) -> str:
    r"""The markdown tables (pools, boxes) of the measurements."""
    groups: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(_key(r), {})[r["method"]] = r
    out = []
    pools = [k for k in groups if k[0] == "pool"]
    if pools:
        methods = [m for m in POOL_METHODS if any(m in groups[k] for k in pools)]
        head = ["problem", "N", "d", "n"] + [f"{LABELS[m]}" for m in methods]
        head.append("axfusion stages (s): model / candidates / structure / acquisition / batch")
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for k in sorted(pools, key=lambda k: (k[3], k[2], k[4])):
            row = groups[k]
            base = row.get("axfusion")
            cells = [k[1], f"{k[2]:,}", str(k[3]), str(k[4])] + [cell(row.get(m), base) for m in methods]
            cells.append(stages(base))
            out.append("| " + " | ".join(cells) + " |")
    boxes = [k for k in groups if k[0] == "box"]
    if boxes:
        if out:
            out.append("")
        methods = [m for m in BOX_METHODS if any(m in groups[k] for k in boxes)]
        head = ["problem", "d", "n"] + [LABELS[m] for m in methods]
        staged = [m for m in STAGE_LABELS if m == "axfusion" or m in methods]
        head += [STAGE_LABELS[m] for m in staged]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for k in sorted(boxes, key=lambda k: (k[3], k[4])):
            row = groups[k]
            base = row.get("axfusion")
            cells = [k[1], str(k[3]), str(k[4])] + [cell(row.get(m), base) for m in methods]
            cells += [stages(row.get(m)) for m in staged]
            out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        f"Cells: seconds per batch of 10 · peak resident memory of the process (data and imports included) · "
        f"ratio to axfusion. `> {limit:.0f} s`: killed at the limit; † not run: over the limit on a smaller pool "
        "with as many or fewer measured rows; `–`: not measured (not in the run's plan). Stages are axfusion's "
        "`timings` (model, candidates, structure, "
        "acquisition, batch), in that order."
    )
    return "\n".join(out)


def targets(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""The issue's targets against axfusion's measurements (``met`` is ``None`` when not measured)."""
    ax = [r for r in records if r["method"] == "axfusion"]

    def pick(pred: Any) -> list[dict[str, Any]]:
        return [r for r in ax if pred(r)]

    def verdict(name: str, text: str, rows: list[dict[str, Any]], bound: float) -> dict[str, Any]:
        if not rows:
            return {"target": name, "text": text, "bound_s": bound, "met": None, "measured": []}
        worst = [(r["seconds"] if r.get("status") == "ok" else float("inf")) for r in rows]
        return {
            "target": name, "text": text, "bound_s": bound, "met": bool(max(worst) <= bound),
            "measured": [{"N": r["N"], "d": r["d"], "n": r["n"], "problem": r["problem"], "seconds": s}
                         for r, s in zip(rows, worst)],
        }

    out = [
        verdict("pool_1e6", "≤ 60 s per batch at 10⁶ rows", pick(lambda r: r["kind"] == "pool" and r["N"] == 10**6),
                TARGETS["pool_1e6"]),
        verdict("pool_4e6", "≤ 4 min per batch at 4 × 10⁶ rows (streamed)",
                pick(lambda r: r["kind"] == "pool" and r["N"] == 4 * 10**6), TARGETS["pool_4e6"]),
        verdict("pool_1e4_n1000", "≤ 10 s per batch at 10⁴ rows with n = 1,000",
                pick(lambda r: r["kind"] == "pool" and r["N"] == 10**4 and r["n"] == 1000), TARGETS["pool_1e4_n1000"]),
        verdict("box_d20_full", "full-strength candidate search ≤ 20 s per batch of 10 at d = 20",
                pick(lambda r: r["kind"] == "box" and r["d"] == 20), TARGETS["box_d20_full"]),
    ]
    # time linear in N: the exponent of seconds against N (d = 20, per n, N >= 10^4)
    slopes = {}
    for n in sorted({r["n"] for r in ax if r["kind"] == "pool"}):
        pts = [(r["N"], r["seconds"]) for r in ax
               if r["kind"] == "pool" and r["d"] == 20 and r["n"] == n and r.get("status") == "ok" and r["N"] >= 10**4]
        if len(pts) >= 2:
            lx, ly = np.log10([p[0] for p in pts]), np.log10([p[1] for p in pts])
            slopes[str(n)] = float(np.polyfit(lx, ly, 1)[0])
    out.append({"target": "linear_in_N", "text": "time linear in N (log-log slope ≤ 1.1, d = 20, N ≥ 10⁴)",
                "bound_s": None, "slopes": slopes,
                "met": None if not slopes else bool(max(slopes.values()) <= 1.1)})
    return out


def render_targets(tg: list[dict[str, Any]]) -> str:
    lines = []
    for t in tg:
        state = "not measured" if t["met"] is None else ("met" if t["met"] else "missed")
        if t["target"] == "linear_in_N":
            detail = ", ".join(f"n = {n}: {s:.2f}" for n, s in t["slopes"].items())
        else:
            detail = ", ".join(
                f"{m['problem']} N={m['N']}, n={m['n']}: " + ("> limit" if not math.isfinite(m["seconds"])
                                                             else f"{m['seconds']:.1f} s")
                for m in t["measured"]
            )
        lines.append(f"- {t['text']}: **{state}**" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", nargs="*", default=None, help="N:d:n specs (d = 20 or 135); 'none' for none")
    parser.add_argument("--boxes", nargs="*", default=None, help="problem:n specs (ackley20, hartmann6); 'none'")
    parser.add_argument("--methods", nargs="+", default=list(BOX_METHODS), choices=list(BOX_METHODS))
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per proposal before it is killed")
    parser.add_argument("--limit-axfusion", type=float, default=600.0,
                        help="the limit of axfusion's own proposals (longer, so that a miss comes with its stages)")
    parser.add_argument("--memmap-above", type=int, default=2_000_000,
                        help="pools of at least this many rows: axfusion streams them from a float32 memmap")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-skip", action="store_true",
                        help="run a peer on larger pools even after it went over the limit on a smaller one")
    parser.add_argument("--resume", action="store_true",
                        help="keep the measurements already in --out and run only the missing ones")
    parser.add_argument("--quick", action="store_true", help="tiny pools and one small box (minutes)")
    parser.add_argument("--out", default="benchmarks/results/speed/report.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    pools = args.pools if args.pools is not None else (QUICK_POOLS if args.quick else DEFAULT_POOLS)
    boxes = args.boxes if args.boxes is not None else (QUICK_BOXES if args.quick else DEFAULT_BOXES)
    pools = [] if pools == ["none"] else pools
    boxes = [] if boxes == ["none"] else boxes
    specs = sorted((parse_pool(p) for p in pools), key=lambda s: (s["d"], s["N"], s["n"]))
    specs += [parse_box(b) for b in boxes]

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"environment": environment(), "batch_size": BATCH, "limit_s": args.limit,
            "limit_axfusion_s": args.limit_axfusion, "seed": args.seed,
            "memmap_above": args.memmap_above, "plan": {"pools": pools, "boxes": boxes, "methods": args.methods},
            "own_box_options": own_box_options()}
    records: list[dict[str, Any]] = []
    over: list[dict[str, Any]] = []  # (method, d, N, n) that went over the limit on a pool
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if args.resume and out.exists():
        for r in json.loads(out.read_text())["measurements"]:
            done[(*_key(r), r["method"])] = r
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="axfusion-speed-") as tmp:
        for spec in specs:
            spec = {**spec, "seed": args.seed}
            if spec["kind"] == "pool" and spec["N"] >= args.memmap_above:
                path = Path(tmp) / f"pool_{spec['N']}_{spec['d']}_{args.seed}.npy"
                if not path.exists():
                    write_memmap(path, spec["N"], spec["d"], args.seed)
                spec["memmap"] = str(path)
            methods = [m for m in args.methods if m in (BOX_METHODS if spec["kind"] == "box" else POOL_METHODS)]
            for m in methods:
                job = {**spec, "method": m}
                prior = [o for o in over if o["method"] == m and o["d"] == spec["d"] and spec["kind"] == "pool"
                         and spec["N"] >= o["N"] and spec["n"] >= o["n"]]
                if (*_key(job), m) in done:
                    r = done[(*_key(job), m)]
                    if r["status"] == "limit" and spec["kind"] == "pool":
                        over.append(job)
                elif prior and not args.no_skip:
                    r = {**job, "status": "skipped", "limit_s": args.limit, "peak_mib": None,
                         "reason": f"over the limit at N={prior[0]['N']}, n={prior[0]['n']}"}
                else:
                    r = measure(job, args.limit_axfusion if m.startswith("axfusion") else args.limit)
                    if r["status"] == "limit" and spec["kind"] == "pool":
                        over.append(job)
                records.append(r)
                shown = cell(r, None)
                print(f"[{time.time() - t_start:6.0f} s] {spec['problem']} N={spec['N']} d={spec['d']} "
                      f"n={spec['n']} {m}: {shown} {stages(r) if m.startswith('axfusion') else ''}", flush=True)
                if r["status"] == "error":
                    print(r.get("error", ""), file=sys.stderr)
                meta["total_wall_s"] = time.time() - t_start
                _write(out, meta, _with_kept(records, done), args.limit)
    records = _with_kept(records, done)
    table = render(records, args.limit)
    print()
    print(table)
    print()
    print(render_targets(targets(records)))
    print(f"\nwrote {out} and {out.with_suffix('.md')} ({time.time() - t_start:.0f} s)")
    return 0


def _with_kept(records: list[dict[str, Any]], done: dict[tuple[Any, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    r"""``records`` and the resumed measurements that are not in this run's plan."""
    mine = {(*_key(r), r["method"]) for r in records}
    return records + [r for k, r in done.items() if k not in mine]


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 3) if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v) for v in obj]
    return obj


def _load_range(records: list[dict[str, Any]]) -> str:
    loads = [r[k] for r in records for k in ("load_before", "load_after") if r.get(k) is not None]
    return f"{min(loads):.1f}–{max(loads):.1f}" if loads else "unknown"


def _write(out: Path, meta: dict[str, Any], records: list[dict[str, Any]], limit: float) -> None:
    tg = targets(records)
    # compact (the repository has a size budget): 3 decimals, one measurement per line
    lines = [json.dumps(_rounded(r), separators=(",", ":"), default=str) for r in records]
    out.write_text(
        '{"meta":' + json.dumps(_rounded(meta), separators=(",", ":"), default=str)
        + ',\n"targets":' + json.dumps(_rounded(tg), separators=(",", ":"), default=str)
        + ',\n"measurements":[\n' + ",\n".join(lines) + "]}\n"
    )
    env = meta["environment"]
    v = env["versions"]
    header = (
        f"One proposal of a batch of {BATCH} after n measured rows, per method in a fresh process, one thread "
        f"(`OMP_NUM_THREADS=1`, `torch.set_num_threads(1)`), limit {limit:.0f} s per proposal "
        f"({meta.get('limit_axfusion_s', limit):.0f} s for axfusion). Load average "
        f"{_load_range(records)} during the measurements. "
        f"{env['cpu']} ({env['cpus']} cores, shared), Python {v.get('python')}, torch {v.get('torch')}, "
        f"botorch {v.get('botorch')}, BayBE {v.get('baybe')}, Ax {v.get('ax-platform')}; "
        f"axfusion at {str(v.get('git'))[:10]}. From `benchmarks/bench_speed.py`.\n\n"
    )
    out.with_suffix(".md").write_text(header + render(records, limit) + "\n\nTargets (issue 18):\n\n"
                                      + render_targets(tg) + "\n")


if __name__ == "__main__":
    sys.exit(main())
