from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from axfusion.structure import ClusterConfig, StructureReport, structural_weights
from axfusion.structure.weights import COMPONENTS


def test_pi_in_range_and_report_consistent(blobs_with_bridge) -> None:
    X, _, _ = blobs_with_bridge
    evaluated = X[::40] + 0.01
    y = np.arange(evaluated.shape[0], dtype=float)
    pi, report = structural_weights(X, evaluated, evaluated_y=y, seed=0)
    assert pi.shape == (840,) and pi.dtype == np.float64
    assert np.all(pi > 0) and np.all(pi <= 1)
    assert np.all(pi >= 0.5) and np.all(pi <= 1.0)
    assert report.candidate_labels.shape == (840,)
    assert report.evaluated_labels.shape == (21,)
    K = report.n_clusters
    assert report.cluster_sizes.shape == (K,) and report.cluster_sizes.sum() + report.noise_size == 840
    assert report.cluster_evaluated.sum() + report.noise_evaluated == 21
    for c in range(K):
        members = report.evaluated_labels == c
        expected = y[members].max() if members.any() else np.nan
        np.testing.assert_equal(report.cluster_best[c], expected)
    for name in COMPONENTS:
        u = report.components[name]
        assert u.shape == (840,) and np.all((u >= 0) & (u <= 1))
    summary = report.as_dict()
    text = json.dumps(summary, allow_nan=False)
    assert "candidate_labels" not in text and len(text) < 20_000
    assert summary["n_candidates"] == 840 and summary["algorithm"] == report.algorithm
    assert set(summary["timing"]) == {"embedding", "clustering", "weights", "total"}


def test_custom_pi_range_is_respected(blobs_with_bridge) -> None:
    X, _, _ = blobs_with_bridge
    pi, report = structural_weights(X, X[:10], pi_range=(0.8, 0.9))
    assert pi.min() >= 0.8 and pi.max() <= 0.9
    assert report.pi_range == (0.8, 0.9)
    flat, _ = structural_weights(X, X[:10], pi_range=(1.0, 1.0))
    np.testing.assert_array_equal(flat, 1.0)


def test_bridge_points_outweigh_blob_cores(blobs_with_bridge) -> None:
    X, core, bridge = blobs_with_bridge
    evaluated = np.concatenate([X[:400:20], X[400:800:20]])  # both blobs sampled alike
    pi, report = structural_weights(X, evaluated, seed=0)
    assert pi[bridge].mean() > pi[core].mean() + 0.1
    # Each geometric indicator points the same way.
    for name in ("edge", "tail"):
        assert report.components[name][bridge].mean() > report.components[name][core].mean()
    # The two blobs are separate modes.
    modes = report.cluster_parents[report.candidate_labels[~bridge & (report.candidate_labels >= 0)]]
    assert np.unique(modes).size >= 2


def test_unsampled_cluster_outweighs_well_sampled_twin() -> None:
    rng = np.random.default_rng(3)
    blob = 0.7 * rng.normal(size=(500, 3))
    shift = np.array([6.0, 6.0, 6.0])
    X = np.concatenate([blob - shift / 2, blob + shift / 2])  # two identical blobs
    evaluated = 0.7 * rng.normal(size=(25, 3)) - shift / 2  # all in the first blob
    pi, report = structural_weights(X, evaluated, seed=0)
    sampled, unsampled = pi[:500].mean(), pi[500:].mean()
    assert unsampled > sampled + 0.05
    assert report.components["coverage"][500:].mean() > report.components["coverage"][:500].mean()
    # Without evaluated points the twins are weighted alike.
    pi0, _ = structural_weights(X, np.empty((0, 3)), seed=0)
    assert abs(pi0[:500].mean() - pi0[500:].mean()) < 0.02


def test_deterministic_under_a_seed(blobs_with_bridge) -> None:
    X, _, _ = blobs_with_bridge
    a, ra = structural_weights(X, X[:30], seed=7)
    b, rb = structural_weights(X, X[:30], seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ra.candidate_labels, rb.candidate_labels)
    assert {k: v for k, v in ra.as_dict().items() if k != "timing"} == {
        k: v for k, v in rb.as_dict().items() if k != "timing"
    }


@pytest.mark.parametrize("n", [1, 2, 6, 20])
def test_small_candidate_sets(n: int) -> None:
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 5))
    pi, report = structural_weights(X, rng.normal(size=(3, 5)), seed=0)
    assert pi.shape == (n,) and np.all((pi >= 0.5) & (pi <= 1.0))
    assert report.candidate_labels.shape == (n,)
    if n < 8:
        assert report.algorithm == "single"


def test_no_evaluated_points() -> None:
    X = np.random.default_rng(0).normal(size=(100, 4))
    for evaluated in (None, np.empty((0, 4)), []):
        pi, report = structural_weights(X, evaluated)
        assert report.n_evaluated == 0 and report.evaluated_labels.shape == (0,)
        assert np.all(report.components["coverage"] == 1) and np.all(report.components["novelty"] == 1)
        assert np.all(np.isnan(report.cluster_best))


def test_multi_target_best_values() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    E = X[:12]
    y = rng.normal(size=(12, 2))
    y[0, 1] = np.nan
    _, report = structural_weights(X, E, evaluated_y=y)
    assert report.cluster_best.shape == (report.n_clusters, 2)
    for c in range(report.n_clusters):
        members = report.evaluated_labels == c
        if members.any():
            np.testing.assert_allclose(report.cluster_best[c], np.nanmax(y[members], axis=0))
    json.dumps(report.as_dict(), allow_nan=False)


def test_bad_inputs_raise_clear_errors() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    bad = X.copy()
    bad[33, 2] = np.nan
    with pytest.raises(ValueError, match=r"candidates contains NaN.*row 33"):
        structural_weights(bad, X[:5])
    with pytest.raises(ValueError, match="evaluated has 4 columns but 3"):
        structural_weights(X, np.ones((2, 4)))
    with pytest.raises(ValueError, match="evaluated contains NaN"):
        structural_weights(X, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"evaluated_y must have shape \(5,\)"):
        structural_weights(X, X[:5], evaluated_y=np.ones(4))
    with pytest.raises(ValueError, match="pi_range"):
        structural_weights(X, X[:5], pi_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="candidates must be a 2-D"):
        structural_weights(X[:, 0], X[:5])
    with pytest.raises(ValueError, match="at least one row"):
        structural_weights(np.empty((0, 3)), X[:5])
    with pytest.raises(ValueError, match="tail_quantile"):
        structural_weights(X, X[:5], tail_quantile=1.0)
    with pytest.raises(TypeError, match="seed"):
        structural_weights(X, X[:5], seed=1.5)


def _mixture_pool(path, n_rows: int, d: int, seed: int) -> np.ndarray:
    r"""A ``(n_rows, d)`` memmap of a 12-component Gaussian mixture, written in chunks."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * rng.normal(size=(12, d))
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n_rows, d))
    for start in range(0, n_rows, 100_000):
        stop = min(start + 100_000, n_rows)
        labels = rng.integers(0, 12, stop - start)
        pool[start:stop] = centers[labels] + rng.normal(size=(stop - start, d))
    pool.flush()
    del pool
    return np.load(path, mmap_mode="r")


def _forbid_large_pairwise(monkeypatch, limit: int) -> None:
    r"""Make the public pairwise-distance helpers raise above ``limit`` elements."""
    import scipy.spatial.distance as ssd
    import sklearn.metrics
    import sklearn.metrics.pairwise as skp

    def guard(fn, name):
        def wrapped(A, B=None, *args, **kwargs):
            rows = np.shape(A)[0]
            cols = rows if B is None else np.shape(B)[0]
            if rows * cols > limit:
                raise AssertionError(f"{name} asked for a {rows} x {cols} matrix")
            return fn(A, B, *args, **kwargs) if B is not None else fn(A, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(ssd, "cdist", guard(ssd.cdist, "cdist"))
    for module in (skp, sklearn.metrics):
        monkeypatch.setattr(module, "pairwise_distances", guard(skp.pairwise_distances, "pairwise_distances"))
    monkeypatch.setattr(skp, "euclidean_distances", guard(skp.euclidean_distances, "euclidean_distances"))


def _run_bounded(
    pool: np.ndarray, n_evaluated: int, config: ClusterConfig | None
) -> tuple[np.ndarray, StructureReport, int]:
    r"""``structural_weights`` on ``pool`` under tracemalloc: ``(pi, report, peak bytes)``."""
    rows = np.sort(np.random.default_rng(1).choice(pool.shape[0], n_evaluated, replace=False))
    evaluated = np.asarray(pool[rows]) + 0.01
    tracemalloc.start()
    try:
        pi, report = structural_weights(pool, evaluated, seed=0, cluster_config=config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return pi, report, peak


def test_pool_of_1e5_rows_stays_memory_bounded(tmp_path, monkeypatch) -> None:
    n_rows, n_evaluated = 100_000, 1_000
    pool = _mixture_pool(tmp_path / "pool.npy", n_rows, 20, seed=0)
    _forbid_large_pairwise(monkeypatch, limit=5_000_000)
    config = ClusterConfig(
        algorithms=("kmeans", "gmm"), max_fit_rows=5_000, reference_size=1_000, silhouette_sample_size=500
    )
    pi, report, peak = _run_bounded(pool, n_evaluated, config)
    assert pi.shape == (n_rows,) and np.all((pi >= 0.5) & (pi <= 1.0))
    assert report.n_fit == 5_000 and report.n_reference == 1_000
    assert report.cluster_sizes.sum() + report.noise_size == n_rows
    # An (N, n) distance matrix alone would take 800 MB; per-row outputs take ~5 MB.
    assert peak < 100 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_pool_of_1e6_rows_stays_memory_bounded(tmp_path, monkeypatch) -> None:
    n_rows, n_evaluated = 1_000_000, 200
    pool = _mixture_pool(tmp_path / "pool.npy", n_rows, 20, seed=0)
    _forbid_large_pairwise(monkeypatch, limit=5_000_000)
    pi, report, peak = _run_bounded(pool, n_evaluated, None)
    assert pi.shape == (n_rows,) and np.all((pi >= 0.5) & (pi <= 1.0))
    assert report.n_fit == 20_000
    # An (N, n) distance matrix would take 1.6 GB; the pool itself is not traced (memmap).
    assert peak < 400 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"


def test_package_imports_no_model_code() -> None:
    code = (
        "import sys, axfusion.structure\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'botorch', 'gpytorch', 'ax')"
        " or (m.startswith('axfusion.') and not m.startswith(('axfusion.structure', 'axfusion.settings')))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_degenerate_pools_give_finite_constant_weights() -> None:
    identical = np.ones((50, 4))
    pi, report = structural_weights(identical, identical[:3])
    assert report.algorithm == "single" and report.embedding_dim == 1
    assert np.all(np.isfinite(pi)) and np.ptp(pi) == 0.0
    integers = np.random.default_rng(0).integers(0, 3, size=(300, 6))
    pi, report = structural_weights(integers, integers[:10])
    assert np.all((pi >= 0.5) & (pi <= 1.0)) and report.n_clusters >= 2
