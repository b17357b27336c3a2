r"""Adaptive clustering: try several algorithms and settings, keep the best silhouette.

METHOD.md, Stage 2 ("adaptive clusterer", shared with Stage 1's bootstrap):

1. With fewer than ``min_points = 8`` points, return one cluster.
2. Fit every candidate partition (:mod:`axfusion.structure.algorithms`) on a seeded
   sample of at most ``max_fit_rows = 20,000`` rows.  A candidate that raises, or that
   leaves fewer than two clusters, is recorded in ``Partition.trials`` and skipped.
3. Tiny clusters (``< min_cluster_size = 3``) become noise; the candidate with the best
   noise-penalised silhouette on one ``silhouette_sample_size = 2,000``-row sample
   (:mod:`axfusion.structure.silhouette`) wins.  If none can be scored, one cluster.
4. Giant clusters of the winner are split again (:mod:`axfusion.structure.partition`).
5. The remaining rows get the label of their nearest reference point (a seeded sample of
   at most ``reference_size`` fit rows).

Cost is bounded by the sample sizes, not by ``n``: one ``(2000, 2000)`` distance matrix
for all silhouettes, the clusterers on at most 20,000 rows, and a k-d-tree query per
assigned row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from axfusion.structure import algorithms as _algorithms
from axfusion.structure._validation import (
    as_matrix,
    check_finite_chunk,
    check_positive_int,
    check_seed,
    sample_rows,
)
from axfusion.structure.embedding import Embedding, EmbeddingMethod
from axfusion.structure.partition import (
    Partition,
    Trial,
    cluster_centers,
    relabel_by_size,
    split_giants,
    tiny_to_noise,
)
from axfusion.structure.silhouette import SampledSilhouette


@dataclass(frozen=True)
class ClusterConfig:
    r"""Settings of the adaptive clusterer (defaults from METHOD.md, Stage 2).

    Attributes:
        algorithms: Algorithms to try, from ``("kmeans", "gmm", "hdbscan", "leiden")``.
            Leiden is off by default (as in the authors' code) and needs ``igraph`` and
            ``leidenalg``.
        kmeans_ks: Cluster counts for k-means.
        gmm_ks: Component counts for Gaussian mixtures.
        hdbscan_settings: ``(min_cluster_size, min_samples)`` pairs for HDBSCAN.
        leiden_resolutions: Resolution parameters for Leiden.
        leiden_n_neighbors: Neighbours per point in Leiden's k-NN graph.
        max_fit_rows: Rows the candidates are fitted and selected on.
        silhouette_sample_size: Rows the silhouette is computed on.
        min_points: With fewer points, one cluster is returned.
        min_cluster_size: Smaller clusters become noise.
        giant_min_size, giant_fraction: A cluster with at least
            ``max(giant_min_size, giant_fraction * m)`` members is split again.
        max_split_depth: Most bisections of one selected cluster's descendants.
        reference_size: Reference points used to assign rows (and, in
            :func:`~axfusion.structure.structural.structural_weights`, for densities and
            bridges).  Queries against it dominate the cost on big pools: about
            1.5e-5 CPU seconds per row at 4,000 points in a 10-D embedding.
        kmeans_n_init: k-means restarts.
        minibatch_above: Fit samples larger than this use MiniBatchKMeans.
        minibatch_batch_size: Its batch size.
        gmm_covariance_type: Covariance structure of the mixtures.
        gmm_reg_covar: Ridge added to mixture covariances (the features are standardised).
        gmm_max_iter: EM iterations.
        hdbscan_backend: ``"auto"`` (the ``hdbscan`` package if importable),
            ``"hdbscan"`` or ``"sklearn"``.
        n_jobs: Threads for BLAS/OpenMP and HDBSCAN's core distances while clustering
            (1 by default: the fits are small, and spare threads only contend).
    """

    algorithms: tuple[str, ...] = ("kmeans", "gmm", "hdbscan")
    kmeans_ks: tuple[int, ...] = (5, 10, 15, 20)
    gmm_ks: tuple[int, ...] = (5, 10, 15, 20)
    hdbscan_settings: tuple[tuple[int, int], ...] = ((5, 3), (10, 6), (20, 12))
    leiden_resolutions: tuple[float, ...] = (0.5, 1.0, 2.0)
    leiden_n_neighbors: int = 15
    max_fit_rows: int = 20_000
    silhouette_sample_size: int = 2_000
    min_points: int = 8
    min_cluster_size: int = 3
    giant_min_size: int = 50
    giant_fraction: float = 0.2
    max_split_depth: int = 3
    reference_size: int = 4_000
    kmeans_n_init: int = 3
    minibatch_above: int = 10_000
    minibatch_batch_size: int = 2_048
    gmm_covariance_type: str = "full"
    gmm_reg_covar: float = 1e-4
    gmm_max_iter: int = 100
    hdbscan_backend: str = "auto"
    n_jobs: int = 1

    def __post_init__(self) -> None:
        for name in ("algorithms", "kmeans_ks", "gmm_ks", "hdbscan_settings", "leiden_resolutions"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise TypeError(f"ClusterConfig.{name} must be a sequence, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        unknown = set(self.algorithms) - set(_algorithms.ALGORITHMS)
        if unknown:
            raise ValueError(
                f"unknown clustering algorithm(s) {sorted(unknown)}; use {_algorithms.ALGORITHMS}"
            )
        if not self.algorithms:
            raise ValueError("ClusterConfig.algorithms must name at least one algorithm")
        for k in self.kmeans_ks + self.gmm_ks:
            check_positive_int(k, "cluster count", minimum=2)
        pairs = []
        for pair in self.hdbscan_settings:
            if len(pair) != 2:
                raise ValueError(f"hdbscan_settings entries must be pairs, got {pair!r}")
            pairs.append(
                (
                    check_positive_int(pair[0], "HDBSCAN min_cluster_size", minimum=2),
                    check_positive_int(pair[1], "HDBSCAN min_samples"),
                )
            )
        object.__setattr__(self, "hdbscan_settings", tuple(pairs))
        for resolution in self.leiden_resolutions:
            if not (np.isfinite(resolution) and resolution > 0):
                raise ValueError(f"Leiden resolutions must be > 0, got {resolution!r}")
        check_positive_int(self.leiden_n_neighbors, "leiden_n_neighbors")
        check_positive_int(self.max_fit_rows, "max_fit_rows", minimum=2)
        check_positive_int(self.silhouette_sample_size, "silhouette_sample_size", minimum=3)
        check_positive_int(self.min_points, "min_points", minimum=2)
        check_positive_int(self.min_cluster_size, "min_cluster_size")
        check_positive_int(self.giant_min_size, "giant_min_size", minimum=2)
        if not (0 < self.giant_fraction <= 1):
            raise ValueError(f"giant_fraction must be in (0, 1], got {self.giant_fraction}")
        check_positive_int(self.max_split_depth, "max_split_depth", minimum=0)
        check_positive_int(self.reference_size, "reference_size", minimum=2)
        check_positive_int(self.kmeans_n_init, "kmeans_n_init")
        check_positive_int(self.minibatch_above, "minibatch_above")
        check_positive_int(self.minibatch_batch_size, "minibatch_batch_size")
        if self.gmm_covariance_type not in ("full", "tied", "diag", "spherical"):
            raise ValueError(
                f"gmm_covariance_type must be full, tied, diag or spherical, got {self.gmm_covariance_type!r}"
            )
        if not (np.isfinite(self.gmm_reg_covar) and self.gmm_reg_covar >= 0):
            raise ValueError(f"gmm_reg_covar must be >= 0, got {self.gmm_reg_covar}")
        check_positive_int(self.gmm_max_iter, "gmm_max_iter")
        if self.hdbscan_backend not in ("auto", "hdbscan", "sklearn"):
            raise ValueError(
                f"hdbscan_backend must be 'auto', 'hdbscan' or 'sklearn', got {self.hdbscan_backend!r}"
            )
        check_positive_int(self.n_jobs, "n_jobs")

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-serialisable form."""
        return {
            name: [list(v) if isinstance(v, tuple) else v for v in value]
            if isinstance(value, tuple)
            else value
            for name, value in self.__dict__.items()
        }


def _fit_candidate(
    spec: _algorithms.CandidateSpec, Z: np.ndarray, seed: int, config: ClusterConfig
) -> np.ndarray:
    r"""Fit one candidate on ``(m, p)`` points with its settings; ``(m,)`` raw labels."""
    fitter = _algorithms.FITTERS[spec.algorithm]
    if spec.algorithm == "kmeans":
        return fitter(
            Z,
            k=spec.params["k"],
            seed=seed,
            n_init=config.kmeans_n_init,
            minibatch_above=config.minibatch_above,
            minibatch_batch_size=config.minibatch_batch_size,
        )
    if spec.algorithm == "gmm":
        return fitter(
            Z,
            k=spec.params["k"],
            seed=seed,
            covariance_type=config.gmm_covariance_type,
            reg_covar=config.gmm_reg_covar,
            max_iter=config.gmm_max_iter,
        )
    if spec.algorithm == "hdbscan":
        return fitter(
            Z,
            min_cluster_size=spec.params["min_cluster_size"],
            min_samples=spec.params["min_samples"],
            backend=config.hdbscan_backend,
            n_jobs=config.n_jobs,
        )
    return fitter(
        Z,
        resolution=spec.params["resolution"],
        n_neighbors=config.leiden_n_neighbors,
        seed=seed,
    )


def _single_cluster(
    Z: np.ndarray, fit_index: np.ndarray, reference_index: np.ndarray, trials: tuple[Trial, ...]
) -> Partition:
    return Partition(
        labels=np.zeros(Z.shape[0], dtype=np.int64),
        algorithm="single",
        params={},
        score=float("nan"),
        centers=Z[fit_index].mean(axis=0, keepdims=True),
        parents=np.zeros(1, dtype=np.int64),
        fit_index=fit_index,
        reference_index=reference_index,
        reference_points=Z[fit_index[reference_index]],
        trials=trials,
    )


def adaptive_cluster(
    Z: np.ndarray,
    *,
    seed: int = 0,
    config: ClusterConfig | None = None,
) -> Partition:
    r"""Cluster embedded points with the best of several algorithms and settings.

    Args:
        Z: ``(n, p)`` finite embedded points (e.g. from :func:`embed`), ``n >= 1``.
        seed: Seed of every sample and every randomised algorithm; equal seeds give equal
            partitions.
        config: Settings; ``ClusterConfig()`` when ``None``.

    Returns:
        The :class:`Partition` of all ``n`` rows.

    Raises:
        ImportError: If ``"leiden"`` is requested but ``igraph``/``leidenalg`` are missing.
    """
    config = ClusterConfig() if config is None else config
    if not isinstance(config, ClusterConfig):
        raise TypeError(f"config must be a ClusterConfig, got {type(config).__name__}")
    with threadpool_limits(limits=config.n_jobs):
        return _adaptive_cluster(Z, check_seed(seed), config)


def _adaptive_cluster(Z: np.ndarray, seed: int, config: ClusterConfig) -> Partition:
    Z = np.asarray(as_matrix(Z, "Z"), dtype=np.float64)
    check_finite_chunk(Z, "Z", 0)
    if "leiden" in config.algorithms:
        _algorithms.import_leiden()
    fit_rng, silhouette_rng, reference_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    n = Z.shape[0]
    fit_index = sample_rows(n, config.max_fit_rows, fit_rng)
    m = fit_index.size
    reference_index = sample_rows(m, config.reference_size, reference_rng)
    if n < config.min_points:
        return _single_cluster(Z, fit_index, reference_index, ())
    Z_fit = Z[fit_index]
    silhouette = SampledSilhouette(Z_fit, config.silhouette_sample_size, silhouette_rng)

    trials: list[Trial] = []
    best: tuple[float, int, np.ndarray] | None = None
    specs = _algorithms.candidate_specs(
        m,
        algorithms=config.algorithms,
        kmeans_ks=config.kmeans_ks,
        gmm_ks=config.gmm_ks,
        hdbscan_settings=config.hdbscan_settings,
        leiden_resolutions=config.leiden_resolutions,
    )
    for position, spec in enumerate(specs):
        if spec.skip_reason is not None:
            trials.append(Trial(spec.algorithm, spec.params, float("nan"), 0, spec.skip_reason))
            continue
        try:
            raw = _fit_candidate(spec, Z_fit, seed, config)
            if raw.shape != (m,):
                raise ValueError(f"returned labels of shape {raw.shape}, expected ({m},)")
            labels = tiny_to_noise(raw, config.min_cluster_size)
            score = silhouette.score(labels)
        except Exception as exc:  # a candidate that fails to fit is skipped, never fatal
            trials.append(
                Trial(spec.algorithm, spec.params, float("nan"), 0, f"{type(exc).__name__}: {exc}")
            )
            continue
        n_found = int(np.unique(labels[labels >= 0]).size)
        if not np.isfinite(score):
            reason = "fewer than two clusters in the silhouette sample"
            trials.append(Trial(spec.algorithm, spec.params, score, n_found, reason))
            continue
        trials.append(Trial(spec.algorithm, spec.params, score, n_found))
        if best is None or score > best[0]:
            best = (score, position, labels)

    if best is None:
        return _single_cluster(Z, fit_index, reference_index, tuple(trials))

    score, position, labels = best
    spec = specs[position]
    split, raw_parents = split_giants(
        Z_fit,
        labels,
        min_cluster_size=config.min_cluster_size,
        giant_min_size=config.giant_min_size,
        giant_fraction=config.giant_fraction,
        max_split_depth=config.max_split_depth,
        seed=seed,
        n_init=config.kmeans_n_init,
    )
    fit_labels, old_ids = relabel_by_size(split)
    _, parents = np.unique(raw_parents[old_ids], return_inverse=True)
    centers = cluster_centers(Z_fit, fit_labels, old_ids.size)

    labels_all = np.empty(n, dtype=np.int64)
    labels_all[fit_index] = fit_labels
    partition = Partition(
        labels=labels_all,
        algorithm=spec.algorithm,
        params=dict(spec.params),
        score=float(score),
        centers=centers,
        parents=np.asarray(parents, dtype=np.int64).reshape(-1),
        fit_index=fit_index,
        reference_index=reference_index,
        reference_points=Z_fit[reference_index],
        trials=tuple(trials),
    )
    if m < n:
        rest = np.ones(n, dtype=bool)
        rest[fit_index] = False
        rest_rows = np.flatnonzero(rest)
        labels_all[rest_rows] = partition.assign(Z[rest_rows])
    return partition


def cluster_points(
    X: Any,
    *,
    seed: int = 0,
    config: ClusterConfig | None = None,
    embedding_method: EmbeddingMethod = "pca",
    n_components: int = 10,
) -> Partition:
    r"""Embed raw designs and cluster them (Stage 1's entry point).

    Args:
        X: ``(n, d)`` real designs, ``n >= 1`` (Stage 1 passes its 20-500 evaluated
            points; with fewer than ``config.min_points`` points one cluster is returned).
        seed: Seed of the embedding sample and of the clusterer.
        config: Clusterer settings; ``ClusterConfig()`` when ``None``.
        embedding_method: ``"pca"`` (default) or ``"umap"``.
        n_components: Maximum embedding dimension (METHOD.md: 10).

    Returns:
        The :class:`Partition` of the ``n`` rows (``labels`` in row order, ``-1`` =
        noise; its centres and reference points live in the embedding, so to label new
        raw designs keep the embedding: ``emb = Embedding(seed=s).fit(X)``,
        ``part = adaptive_cluster(emb.transform(X), seed=s)``,
        ``part.assign(emb.transform(X_new))``).
    """
    config = ClusterConfig() if config is None else config
    embedding = Embedding(
        method=embedding_method,
        n_components=n_components,
        max_fit_rows=config.max_fit_rows,
        seed=check_seed(seed),
    )
    with threadpool_limits(limits=config.n_jobs):
        Z = embedding.fit_transform(X)
    return adaptive_cluster(Z, seed=seed, config=config)
