r"""Benchmark of axfusion.candidates (Stage 2a): box candidate generation and pool top-k.

1. Candidate generation on a continuous 20-D box, [-32.768, 32.768]^20. The "true" objective
   is the negated Ackley function shifted to x* (the paper's synthetic benchmark). Members are
   smooth, noisy surrogates of it: member b of family f predicts
   ``-ackley(x) + a_f * mean_j cos(w_bj . x / L_f + phi_bj)`` (random Fourier features, so every
   member is a smooth function that is wrong in its own way). The script reports the wall
   time of :func:`generate_box_candidates` and the best ensemble-mean value (and true value)
   found by its DE candidates against the best of an equal number of scrambled Sobol points.
2. Chunked :meth:`CandidatePool.top_k` throughput on pools of 10^4 .. 10^6 rows x 20
   features held in memory, in a ``.npy`` memmap and in a streamed Parquet file (page cache
   warm: the files were just written), scored by a linear function so that the time is the
   pool's own overhead; median of 5 calls, with the peak traced memory of one call.
3. :func:`prefilter` of in-memory pools of 10^5 and 10^6 rows to a 1 % working set.

Usage: ``python benchmarks/bench_candidates.py [--quick] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy

from axfusion.benchmarks.synthetic import ackley  # (k, d) points -> (k,); minimum 0 at the origin
from axfusion.candidates import (
    CandidatePool,
    ContinuousParameter,
    SearchSpace,
    generate_box_candidates,
    prefilter,
)

DIM = 20
HALF_WIDTH = 32.768
REPEATS = 5  # top_k timings are the median of this many calls
CHUNK = 16_384  # rows per chunk in the top_k benchmark (the pool's default)


def make_problem(seed: int, n_families: int, n_members: int) -> tuple[np.ndarray, dict[str, Any]]:
    r"""The optimum ``x*`` ``(d,)`` and ``n_families`` member functions (``n_members`` each)."""
    rng = np.random.default_rng(seed)
    x_star = 0.3 * HALF_WIDTH * rng.uniform(-1.0, 1.0, DIM)
    families = {}
    for f in range(n_families):
        amplitude = 0.5 + 0.5 * f  # families are wrong by different amounts
        length = HALF_WIDTH / (1.0 + f)  # ... and at different scales
        n_waves = 32
        w = rng.normal(size=(n_members, n_waves, DIM))
        phi = rng.uniform(0.0, 2.0 * np.pi, size=(n_members, n_waves))

        def members(X: np.ndarray, w=w, phi=phi, amplitude=amplitude, length=length) -> np.ndarray:
            truth = -ackley(X - x_star)
            waves = np.cos(np.einsum("bjd,kd->bkj", w, X) / length + phi[:, None, :]).mean(axis=2)
            return truth[None, :] + amplitude * waves

        families[f"family{f}"] = members
    return x_star, families


def bench_generation(quick: bool, seed: int) -> list[dict[str, Any]]:
    space = SearchSpace([ContinuousParameter(f"x{i}", -HALF_WIDTH, HALF_WIDTH) for i in range(DIM)])
    n_families, n_members = 4, 5
    x_star, families = make_problem(seed, n_families, n_members)

    def ensemble_mean(X: np.ndarray) -> np.ndarray:
        return np.concatenate([fn(X) for fn in families.values()]).mean(axis=0)

    configs = (
        [dict(n_candidates=2_000, maxiter=30, popsize=10, time_budget_s=20.0)]
        if quick
        else [
            dict(n_candidates=10_000, maxiter=100, popsize=15, time_budget_s=60.0),
            dict(n_candidates=10_000, maxiter=1_000, popsize=15, time_budget_s=10.0),
        ]
    )
    rows = []
    for config in configs:
        start = time.perf_counter()
        batch = generate_box_candidates(space, families, seed=seed, **config)
        wall = time.perf_counter() - start
        de = batch.source != "sobol"
        n_de = int(de.sum())
        sobol = space.to_features(space.sample_sobol(n_de, seed=seed + 1))
        de_mean, sobol_mean = ensemble_mean(batch.features[de]), ensemble_mean(sobol)
        de_true, sobol_true = -ackley(batch.features[de] - x_star), -ackley(sobol - x_star)
        rows.append(
            dict(
                config=config,
                wall_time_s=wall,
                n_de_candidates=n_de,
                n_sobol_added=int((~de).sum()),
                n_trials=sum(r.n_trials for r in batch.runs),
                generations=[r.n_generations for r in batch.runs],
                stopped_by_time=[r.stopped_by_time for r in batch.runs],
                de_best_ensemble_mean=float(de_mean.max()),
                sobol_best_ensemble_mean=float(sobol_mean.max()),
                de_true_at_best_mean=float(de_true[de_mean.argmax()]),
                sobol_true_at_best_mean=float(sobol_true[sobol_mean.argmax()]),
                de_best_true=float(de_true.max()),
                sobol_best_true=float(sobol_true.max()),
                de_min_distance_to_optimum=_min_distance(batch.features[de], x_star),
                sobol_min_distance_to_optimum=_min_distance(sobol, x_star),
            )
        )
    return rows


def _min_distance(X: np.ndarray, x_star: np.ndarray) -> float:
    return float(np.linalg.norm(X - x_star, axis=1).min())


def bench_top_k(quick: bool, seed: int) -> list[dict[str, Any]]:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    w = np.random.default_rng(seed).normal(size=DIM)

    def score(X: np.ndarray) -> np.ndarray:
        # cheap on purpose, so that the table measures the pool's own overhead (einsum: a BLAS
        # matrix-vector product was erratic at some chunk sizes on this machine)
        return np.einsum("ij,j->i", X, w)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            data = np.random.default_rng(seed + n).normal(size=(n, DIM))
            npy = Path(tmp) / f"pool_{n}.npy"
            np.save(npy, data)
            parquet = Path(tmp) / f"pool_{n}.parquet"
            table = pa.table({f"f{j}": data[:, j] for j in range(DIM)})
            pq.write_table(table, parquet, row_group_size=131_072)
            pools = {
                "array": CandidatePool.from_array(data),
                "memmap": CandidatePool.from_npy(npy, mmap=True),
                "parquet": CandidatePool.from_parquet(parquet, materialize_max_bytes=0),
            }
            for backend, pool in pools.items():
                pool.mark_evaluated(np.arange(0, n, 100))
                pool.top_k(score, k=100)  # warm-up
                walls = []
                for _ in range(REPEATS):
                    start = time.perf_counter()
                    pool.top_k(score, k=100, chunk_size=CHUNK)
                    walls.append(time.perf_counter() - start)
                wall = float(np.median(walls))
                tracemalloc.start()
                pool.top_k(score, k=100, chunk_size=CHUNK)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                rows.append(
                    dict(
                        backend=backend,
                        n_rows=n,
                        n_features=DIM,
                        k=100,
                        chunk_size=CHUNK,
                        wall_time_s=wall,
                        rows_per_s=pool.n_available / wall,
                        peak_traced_mib=peak / 2**20,
                        table_mib=n * DIM * 8 / 2**20,
                    )
                )
            del data, pools
    return rows


def bench_prefilter(quick: bool, seed: int) -> list[dict[str, Any]]:
    r"""Prefilter an in-memory pool of 20 features to a working set of 1 % of its rows."""
    sizes = [100_000] if quick else [100_000, 1_000_000]
    w = np.random.default_rng(seed).normal(size=DIM)

    def mean_spread(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.einsum("ij,j->i", X, w), np.abs(X[:, 0])

    rows = []
    for n in sizes:
        pool = CandidatePool.from_array(np.random.default_rng(seed + n).normal(size=(n, DIM)))
        start = time.perf_counter()
        working = prefilter(pool, mean_spread, size=n // 100, seed=seed)
        wall = time.perf_counter() - start
        rows.append(dict(n_rows=n, size=len(working), wall_time_s=wall, rows_per_s=n / wall))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/candidates.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print("Candidate generation: 20-D box [-32.768, 32.768]^20, objective = -Ackley(x - x*);")
    print("members: 4 families x 5 smooth noisy surrogates (-Ackley + random Fourier waves)\n")
    generation = bench_generation(args.quick, args.seed)
    print(
        f"{'n_cand':>7} {'maxiter':>7} {'budget':>7} {'wall s':>7} {'trials':>8} "
        f"{'DE best mean':>13} {'Sobol best mean':>16} {'DE true':>8} {'Sobol true':>10} "
        f"{'DE dist':>8} {'Sobol dist':>10}"
    )
    for r in generation:
        c = r["config"]
        print(
            f"{c['n_candidates']:>7} {c['maxiter']:>7} {c['time_budget_s']:>7.0f} "
            f"{r['wall_time_s']:>7.2f} {r['n_trials']:>8} "
            f"{r['de_best_ensemble_mean']:>13.3f} {r['sobol_best_ensemble_mean']:>16.3f} "
            f"{r['de_true_at_best_mean']:>8.3f} {r['sobol_true_at_best_mean']:>10.3f} "
            f"{r['de_min_distance_to_optimum']:>8.2f} {r['sobol_min_distance_to_optimum']:>10.2f}"
        )
    print("(true: -Ackley at the best-ensemble-mean candidate; dist: min distance to x*)\n")

    print(
        "Pool top_k (k=100, chunk 16,384, 20 features, 1 % of rows evaluated, linear score, "
        "median of 5):"
    )
    top_k = bench_top_k(args.quick, args.seed)
    print(
        f"{'backend':>8} {'rows':>10} {'wall s':>8} {'Mrows/s':>8} {'peak MiB':>9} "
        f"{'table MiB':>10}"
    )
    for r in top_k:
        print(
            f"{r['backend']:>8} {r['n_rows']:>10} {r['wall_time_s']:>8.3f} "
            f"{r['rows_per_s'] / 1e6:>8.2f} "
            f"{r['peak_traced_mib']:>9.1f} {r['table_mib']:>10.1f}"
        )

    print("\nPrefilter to 1 % of the rows (mean = linear, spread = |x_0|):")
    prefiltered = bench_prefilter(args.quick, args.seed)
    print(f"{'rows':>10} {'working set':>12} {'wall s':>8} {'Mrows/s':>8}")
    for r in prefiltered:
        print(
            f"{r['n_rows']:>10} {r['size']:>12} {r['wall_time_s']:>8.3f} "
            f"{r['rows_per_s'] / 1e6:>8.2f}"
        )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = dict(
        machine=dict(
            platform=platform.platform(),
            python=platform.python_version(),
            cpu_count=os.cpu_count(),
            numpy=np.__version__,
            scipy=scipy.__version__,
            pyarrow=pa.__version__,
        ),
        problem=(
            "generation: 20-D box [-32.768, 32.768]^20, true objective -Ackley(x - x*), "
            "x* = 0.3 * 32.768 * U(-1, 1)^20; members: 4 families x 5 members, member = "
            "-Ackley(x - x*) + a_f * mean of 32 random cosine waves (a_f = 0.5, 1, 1.5, 2; length "
            "scale 32.768 / (1 + f)); Sobol baseline: as many scrambled Sobol points as DE "
            "candidates. top_k: N x 20 standard normal rows, linear score, k = 100, 1 % of rows "
            "evaluated"
        ),
        quick=args.quick,
        seed=args.seed,
        generation=generation,
        top_k=top_k,
        prefilter=prefiltered,
    )
    out.write_text(json.dumps(record, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
