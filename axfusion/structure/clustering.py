r"""Adaptive clustering: try several algorithms and settings, keep the best silhouette.

docs/method.md, Stage 2 ("adaptive clusterer", shared with Stage 1's bootstrap):

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

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from axfusion.settings import ClusterConfig
from axfusion.structure import algorithms as _algorithms
from axfusion.structure._validation import (
    as_matrix,
    check_finite_chunk,
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
    fixed_scale: np.ndarray | None = None,
) -> Partition:
    r"""Embed raw designs and cluster them (Stage 1's entry point).

    Args:
        X: ``(n, d)`` real designs, ``n >= 1`` (Stage 1 passes its 20-500 evaluated
            points; with fewer than ``config.min_points`` points one cluster is returned).
        seed: Seed of the embedding sample and of the clusterer.
        config: Clusterer settings; ``ClusterConfig()`` when ``None``.
        embedding_method: ``"pca"`` (default) or ``"umap"``.
        n_components: Maximum embedding dimension (docs/method.md: 10).
        fixed_scale: ``(d,)`` fixed column scales of the embedding's standardisation
            (``NaN``: the column's standard deviation); see :class:`Embedding`.

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
        fixed_scale=fixed_scale,
    )
    with threadpool_limits(limits=config.n_jobs):
        Z = embedding.fit_transform(X)
    return adaptive_cluster(Z, seed=seed, config=config)
