r"""The candidate partitions tried by the adaptive clusterer.

Each :class:`CandidateSpec` names an algorithm and one of its settings and knows how to
fit it on the ``(m, p)`` fit sample, returning ``(m,)`` integer labels (``-1`` = noise).
docs/method.md, Stage 2: k-means and Gaussian mixtures with ``k in {5, 10, 15, 20}``,
HDBSCAN with ``(min_cluster_size, min_samples) in {(5, 3), (10, 6), (20, 12)}``, and
Leiden on a k-NN graph (optional, off by default).

The fitters take plain arguments so that a test can replace one of them (e.g. make it
raise) through the module attribute ``FITTERS``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KDTree

ALGORITHMS = ("kmeans", "gmm", "hdbscan", "leiden")


@dataclass(frozen=True)
class CandidateSpec:
    r"""One algorithm at one setting.

    Attributes:
        algorithm: One of ``ALGORITHMS``.
        params: The setting, e.g. ``{"k": 10}``; JSON-serialisable.
        skip_reason: Why the setting cannot apply to this sample (e.g. ``k >= m``), or
            ``None`` when it is to be fitted.
    """

    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None


def fit_kmeans(
    Z: np.ndarray,
    *,
    k: int,
    seed: int,
    n_init: int,
    minibatch_above: int,
    minibatch_batch_size: int,
) -> np.ndarray:
    r"""k-means labels of ``(m, p)`` points; MiniBatchKMeans when ``m > minibatch_above``."""
    if Z.shape[0] > minibatch_above:
        model: KMeans | MiniBatchKMeans = MiniBatchKMeans(
            n_clusters=k, n_init=n_init, batch_size=minibatch_batch_size, random_state=seed
        )
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return np.asarray(model.fit_predict(Z), dtype=np.int64)


def fit_gmm(
    Z: np.ndarray,
    *,
    k: int,
    seed: int,
    covariance_type: str,
    reg_covar: float,
    max_iter: int,
) -> np.ndarray:
    r"""Gaussian-mixture (maximum posterior component) labels of ``(m, p)`` points."""
    model = GaussianMixture(
        n_components=k,
        covariance_type=covariance_type,
        reg_covar=reg_covar,
        max_iter=max_iter,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return np.asarray(model.fit_predict(Z), dtype=np.int64)


def _hdbscan_backend(backend: str) -> str:
    if backend == "auto":
        try:
            importlib.import_module("hdbscan")
        except ImportError:
            return "sklearn"
        return "hdbscan"
    return backend


def fit_hdbscan(
    Z: np.ndarray,
    *,
    min_cluster_size: int,
    min_samples: int,
    backend: str,
    n_jobs: int,
) -> np.ndarray:
    r"""HDBSCAN labels (``-1`` = noise) of ``(m, p)`` points.

    ``backend`` is ``"hdbscan"`` (the ``hdbscan`` package, Boruvka's algorithm on a k-d
    tree with ``n_jobs`` core-distance workers: about 3x faster than scikit-learn's
    at 20,000 rows), ``"sklearn"`` (``sklearn.cluster.HDBSCAN``) or ``"auto"`` (the
    package when importable).
    """
    if _hdbscan_backend(backend) == "hdbscan":
        hdbscan = importlib.import_module("hdbscan")
        model = hdbscan.HDBSCAN(
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            algorithm="boruvka_kdtree",
            core_dist_n_jobs=n_jobs,
        )
    else:
        from sklearn.cluster import HDBSCAN

        model = HDBSCAN(
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            n_jobs=n_jobs,
            copy=True,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.fit_predict(Z), dtype=np.int64)


def import_leiden() -> tuple[Any, Any]:
    r"""Import ``(igraph, leidenalg)`` or raise an ``ImportError`` that says how to get them."""
    try:
        igraph = importlib.import_module("igraph")
        leidenalg = importlib.import_module("leidenalg")
    except ImportError as exc:
        raise ImportError(
            "Leiden clustering needs the optional packages 'igraph' and 'leidenalg', "
            "which are not installed; install them (pip install igraph leidenalg, or the "
            "axfusion[extras] extra) or leave 'leiden' out of ClusterConfig.algorithms."
        ) from exc
    return igraph, leidenalg


def fit_leiden(
    Z: np.ndarray,
    *,
    resolution: float,
    n_neighbors: int,
    seed: int,
) -> np.ndarray:
    r"""Leiden communities of the symmetrised k-NN graph of ``(m, p)`` points.

    The graph joins every point to its ``n_neighbors`` nearest neighbours (unweighted,
    undirected, duplicates merged); communities maximise the RB-configuration
    modularity at ``resolution`` (``leidenalg.RBConfigurationVertexPartition``).
    """
    igraph, leidenalg = import_leiden()
    m = Z.shape[0]
    k = min(n_neighbors, m - 1)
    if k < 1:
        raise ValueError("Leiden needs at least two points")
    _, idx = KDTree(Z).query(Z, k=k + 1)
    source = np.repeat(np.arange(m), k)
    target = idx[:, 1:].reshape(-1)
    pairs = np.unique(np.sort(np.stack([source, target], axis=1), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    graph = igraph.Graph(n=m, edges=[tuple(map(int, p)) for p in pairs], directed=False)
    partition = leidenalg.find_partition(
        graph,
        leidenalg.RBConfigurationVertexPartition,
        resolution_parameter=resolution,
        seed=seed,
    )
    return np.asarray(partition.membership, dtype=np.int64)


FITTERS: dict[str, Callable[..., np.ndarray]] = {
    "kmeans": fit_kmeans,
    "gmm": fit_gmm,
    "hdbscan": fit_hdbscan,
    "leiden": fit_leiden,
}


def candidate_specs(
    n_rows: int,
    *,
    algorithms: Sequence[str],
    kmeans_ks: Sequence[int],
    gmm_ks: Sequence[int],
    hdbscan_settings: Sequence[tuple[int, int]],
    leiden_resolutions: Sequence[float],
) -> list[CandidateSpec]:
    r"""All (algorithm, setting) pairs to try on a fit sample of ``n_rows`` points.

    Settings that cannot apply get a ``skip_reason``: ``k >= n_rows`` for k-means and
    mixtures, ``min_cluster_size >= n_rows`` for HDBSCAN.
    """
    specs: list[CandidateSpec] = []
    for algorithm in algorithms:
        if algorithm in ("kmeans", "gmm"):
            ks = kmeans_ks if algorithm == "kmeans" else gmm_ks
            for k in ks:
                reason = f"k={k} needs more than {n_rows} points" if k >= n_rows else None
                specs.append(CandidateSpec(algorithm, {"k": int(k)}, reason))
        elif algorithm == "hdbscan":
            for min_cluster_size, min_samples in hdbscan_settings:
                reason = (
                    f"min_cluster_size={min_cluster_size} needs more than {n_rows} points"
                    if min_cluster_size >= n_rows
                    else None
                )
                specs.append(
                    CandidateSpec(
                        algorithm,
                        {"min_cluster_size": int(min_cluster_size), "min_samples": int(min_samples)},
                        reason,
                    )
                )
        elif algorithm == "leiden":
            for resolution in leiden_resolutions:
                specs.append(CandidateSpec(algorithm, {"resolution": float(resolution)}))
        else:
            raise ValueError(f"unknown clustering algorithm {algorithm!r}; use {ALGORITHMS}")
    return specs
