r"""Benchmark of Stage 2b: embedding + adaptive clustering + structural weights pi(x).

Every pool is processed by :func:`axfusion.structure.structural_weights` in a fresh
worker process, so each row's memory figure is that run's own peak:

- ``wall_s``: wall-clock seconds of the call;
- ``cpu_s``: CPU seconds of the worker (less sensitive to other load on a shared machine);
- ``peak_rss_mib``: peak resident set size of the worker process (``ru_maxrss``),
  which includes the Python interpreter and libraries (``base_rss_mib``, measured just
  before the call) and the pages of the memory-mapped pool that were read.

The default pools are SYNTHETIC: a 12-component Gaussian mixture in 20 dimensions with
component scales between 0.5 and 1.5, written to a temporary ``.npy`` file and passed as
a ``numpy.memmap``; 200 pool rows (plus a small jitter) play the evaluated set.  A real
pool can be added with ``--pool-npy PATH`` (an ``(N, d)`` ``.npy`` file, memory-mapped).

Usage::

    python benchmarks/bench_structure.py [--sizes 10000 100000 1000000] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "structure.json"


def write_synthetic_pool(path: Path, n_rows: int, n_features: int, seed: int) -> None:
    r"""Write an ``(n_rows, n_features)`` Gaussian-mixture pool to ``path`` in chunks."""
    rng = np.random.default_rng(seed)
    n_components = 12
    centers = 3.0 * rng.normal(size=(n_components, n_features))
    scales = rng.uniform(0.5, 1.5, size=n_components)
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n_rows, n_features))
    for start in range(0, n_rows, 200_000):
        stop = min(start + 200_000, n_rows)
        labels = rng.integers(0, n_components, stop - start)
        pool[start:stop] = centers[labels] + scales[labels, None] * rng.normal(size=(stop - start, n_features))
    pool.flush()
    del pool


def _rss_mib() -> float:
    r"""Current resident set size of this process in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_worker(path: str, n_evaluated: int, seed: int, n_jobs: int) -> dict[str, Any]:
    r"""Time one ``structural_weights`` call on the pool at ``path`` (run in a fresh process)."""
    from axfusion.structure import ClusterConfig, structural_weights

    pool = np.load(path, mmap_mode="r")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(pool.shape[0], size=min(n_evaluated, pool.shape[0]), replace=False))
    evaluated = np.asarray(pool[rows], dtype=np.float64)
    evaluated = evaluated + 0.01 * evaluated.std(axis=0) * rng.normal(size=evaluated.shape)
    y = rng.normal(size=evaluated.shape[0])
    base_rss = _rss_mib()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    pi, report = structural_weights(
        pool, evaluated, evaluated_y=y, seed=seed, cluster_config=ClusterConfig(n_jobs=n_jobs)
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "n_rows": int(pool.shape[0]),
        "n_features": int(pool.shape[1]),
        "n_evaluated": int(evaluated.shape[0]),
        "wall_s": wall,
        "cpu_s": cpu,
        "base_rss_mib": base_rss,
        "peak_rss_mib": peak_rss,
        "stage_s": report.timing,
        "algorithm": report.algorithm,
        "params": report.params,
        "n_clusters": report.n_clusters,
        "noise_size": report.noise_size,
        "pi_mean": float(pi.mean()),
        "pi_min": float(pi.min()),
        "pi_max": float(pi.max()),
    }


def _spawn(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--worker", str(path),
        "--n-evaluated", str(args.n_evaluated), "--seed", str(args.seed), "--n-jobs", str(args.n_jobs),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'pool':>12} {'N':>9} {'wall s':>8} {'cpu s':>8} {'embed':>6} {'clust':>6} "
        f"{'pi':>6} {'RSS MiB':>8} {'base':>6}  winner"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        stage = row["stage_s"]
        print(
            f"{row['pool']:>12} {row['n_rows']:>9d} {row['wall_s']:>8.1f} {row['cpu_s']:>8.1f} "
            f"{stage['embedding']:>6.1f} {stage['clustering']:>6.1f} {stage['weights']:>6.1f} "
            f"{row['peak_rss_mib']:>8.0f} {row['base_rss_mib']:>6.0f}  "
            f"{row['algorithm']} {row['params']} K={row['n_clusters']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--n-evaluated", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1, help="threads (ClusterConfig.n_jobs)")
    parser.add_argument("--pool-npy", type=Path, default=None, help="extra real (N, d) .npy pool")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        print(json.dumps(run_worker(args.worker, args.n_evaluated, args.seed, args.n_jobs)))
        return

    print(
        "Stage 2b benchmark (structural_weights). Default pools are SYNTHETIC: a 12-component "
        f"Gaussian mixture, {args.n_features} features, {args.n_evaluated} evaluated points; "
        "memory is the peak RSS of a fresh worker process (ru_maxrss)."
    )
    load = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_rows in args.sizes:
            path = Path(tmp) / f"synthetic_{n_rows}.npy"
            write_synthetic_pool(path, n_rows, args.n_features, args.seed)
            rows.append({"pool": "synthetic", **_spawn(path, args)})
            path.unlink()
    if args.pool_npy is not None:
        rows.append({"pool": args.pool_npy.stem, **_spawn(args.pool_npy, args)})
    _print_table(rows)

    result = {
        "benchmark": "axfusion.structure.structural_weights",
        "data": "synthetic Gaussian mixture (12 components) unless 'pool' names a real file",
        "memory": "peak RSS of a fresh worker process (ru_maxrss), MiB; base_rss_mib = before the call",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": list(load),
        },
        "settings": {"n_evaluated": args.n_evaluated, "seed": args.seed, "n_jobs": args.n_jobs},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
