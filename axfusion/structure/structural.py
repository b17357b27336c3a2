r"""Stage 2b end to end: embed, cluster and weight a candidate set.

:func:`structural_weights` streams the candidates (an array or a ``numpy.memmap`` of up
to millions of rows) through a fitted embedding in chunks.  Only bounded samples are
ever held in full: the fit sample (at most ``max_fit_rows``), the reference sample of
the neighbour queries (at most ``reference_size``) and the evaluated set.  Per candidate
the pass keeps a label and five ``float32`` indicators, so memory grows linearly in
``N`` and no pairwise distance matrix of the pool is formed.  The formula of ``pi`` is
documented in :mod:`axfusion.structure.weights`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from axfusion.settings import StructureSettings, resolve
from axfusion.structure._validation import (
    as_matrix,
    check_finite_chunk,
    check_positive_int,
    check_seed,
    sample_rows,
)
from axfusion.structure.clustering import ClusterConfig, adaptive_cluster
from axfusion.structure.embedding import Embedding
from axfusion.structure.report import StructureReport
from axfusion.structure.scoring import ChunkScorer
from axfusion.structure.weights import (
    COMPONENTS,
    check_component_weights,
    check_pi_range,
    combine,
    coverage_by_group,
    novelty_scores,
)


@dataclass(frozen=True)
class _PiSettings:
    r"""The validated settings of ``pi`` (see :func:`structural_weights`)."""

    pi_range: tuple[float, float]
    weights: dict[str, float]
    n_neighbors: int
    bridge_saturation: float
    tail_quantile: float


def _evaluated_matrix(evaluated: Any, n_features: int) -> np.ndarray:
    if evaluated is None or (not isinstance(evaluated, np.ndarray) and np.size(evaluated) == 0):
        return np.empty((0, n_features))
    E = as_matrix(evaluated, "evaluated", allow_empty=True, n_features=n_features)
    E = np.asarray(E, dtype=np.float64)
    check_finite_chunk(E, "evaluated", 0)
    return E


def _targets(evaluated_y: Any, n: int) -> np.ndarray | None:
    if evaluated_y is None:
        return None
    y = np.asarray(evaluated_y)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"evaluated_y must hold real numbers, got dtype {y.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"evaluated_y must have shape ({n},) or ({n}, q), got {y.shape}")
    y = y.astype(np.float64)
    if np.isinf(y).any():
        raise ValueError("evaluated_y contains infinite values (NaN marks a missing value)")
    return y


def _group_best(y: np.ndarray | None, groups: np.ndarray, n_groups: int) -> np.ndarray:
    r"""Largest non-NaN ``y`` per group ``0 .. n_groups-1``: ``(G,)`` or ``(G, q)``, NaN if none."""
    if y is None:
        return np.full(n_groups, np.nan)
    best = np.full((n_groups,) + y.shape[1:], np.nan)
    if groups.size:
        np.fmax.at(best, groups, y)
    return best


def structural_weights(
    candidates: Any,
    evaluated: Any,
    *,
    evaluated_y: Any = None,
    settings: StructureSettings | None = None,
    cluster_config: ClusterConfig | None = None,
    embedding: Embedding | None = None,
    seed: int = 0,
    **options: Any,
) -> tuple[np.ndarray, StructureReport]:
    r"""Structural weight ``pi(x)`` of every candidate, with the clustering behind it.

    The embedding (standardise + PCA) and the adaptive clusterer are fitted on one seeded
    sample of at most ``cluster_config.max_fit_rows`` candidates; every candidate is then
    embedded, labelled (its own label when it was in the sample, else the label of its
    nearest reference point) and scored in chunks.  Evaluated points are embedded and
    labelled the same way but do not shape the clusters.  See
    :mod:`axfusion.structure.weights` for the formula of ``pi``.

    Args:
        candidates: ``(N, d)`` real candidate designs; may be a ``numpy.memmap``.
        evaluated: ``(n, d)`` evaluated designs; ``n`` may be 0 (``None`` or an empty
            array means none).
        evaluated_y: ``(n,)`` or ``(n, q)`` observed targets, larger is better (docs/method.md
            orientation), NaN = missing; only used for the per-cluster best values.
        settings: :class:`~axfusion.settings.StructureSettings`: the range of ``pi``, the
            k-NN size, the bridge and tail constants, the component weights, the embedding
            method and dimension, the chunk size (``enabled`` is the loop's switch).
        cluster_config: Settings of the clusterer, its samples and its threads.
        embedding: A fitted PCA :class:`~axfusion.structure.embedding.Embedding` of the
            candidates' feature space to use (its first ``n_components`` axes) instead of
            fitting one here; the campaign loop passes the one embedding it fits per
            iteration. The clusterer is then fitted on a seeded sample of at most
            ``cluster_config.max_fit_rows`` candidates.
        seed: Seed of every sample and randomised algorithm (equal seeds, equal output).
        **options: Fields of :class:`~axfusion.settings.StructureSettings` overriding
            ``settings`` (e.g. ``pi_range=(0.8, 1.0)``).

    Returns:
        ``(pi, report)``: ``(N,)`` float64 weights in ``pi_range`` and the
        :class:`~axfusion.structure.report.StructureReport`.
    """
    cfg = resolve(StructureSettings, settings, options, "structural_weights")
    pi_range, n_neighbors, chunk_size = cfg.pi_range, cfg.n_neighbors, cfg.chunk_size
    bridge_saturation, tail_quantile = cfg.bridge_saturation, cfg.tail_quantile
    component_weights = cfg.component_weights
    embedding_method, n_components = cfg.embedding_method, cfg.n_components
    start = time.perf_counter()
    config = ClusterConfig() if cluster_config is None else cluster_config
    if not isinstance(config, ClusterConfig):
        raise TypeError(f"cluster_config must be a ClusterConfig, got {type(config).__name__}")
    seed = check_seed(seed)
    pi_range = check_pi_range(pi_range)
    weights = check_component_weights(component_weights)
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if not (0.0 < bridge_saturation <= 1.0):
        raise ValueError(f"bridge_saturation must be in (0, 1], got {bridge_saturation}")
    if not (0.0 <= tail_quantile < 1.0):
        raise ValueError(f"tail_quantile must be in [0, 1), got {tail_quantile}")
    X = as_matrix(candidates, "candidates")
    E = _evaluated_matrix(evaluated, X.shape[1])
    y = _targets(evaluated_y, E.shape[0])

    pi_settings = _PiSettings(pi_range, weights, n_neighbors, bridge_saturation, tail_quantile)
    with threadpool_limits(limits=config.n_jobs):
        if embedding is None:
            embedding = Embedding(
                method=embedding_method,
                n_components=n_components,
                max_fit_rows=config.max_fit_rows,
                chunk_size=chunk_size,
                seed=seed,
            ).fit(X, name="candidates")
            fit_rows = embedding.fit_index_
        else:
            if embedding.n_features_in_ != X.shape[1]:
                raise ValueError(
                    f"embedding maps {embedding.n_features_in_} features; the candidates have {X.shape[1]}"
                )
            embedding = embedding.leading(n_components)
            fit_rows = sample_rows(X.shape[0], config.max_fit_rows, np.random.default_rng(seed))
        return _structural_weights(X, E, y, seed, pi_settings, embedding, fit_rows, config, chunk_size, start)


def _structural_weights(
    X: np.ndarray,
    E: np.ndarray,
    y: np.ndarray | None,
    seed: int,
    settings: _PiSettings,
    embedding: Embedding,
    fit_rows: np.ndarray,
    config: ClusterConfig,
    chunk_size: int,
    start: float,
) -> tuple[np.ndarray, StructureReport]:
    N, n = X.shape[0], E.shape[0]
    Z_fit = embedding.transform_chunk(X[fit_rows], name="candidates")
    Z_eval = embedding.transform(E, name="evaluated")
    t_embed = time.perf_counter() - start

    t0 = time.perf_counter()
    partition = adaptive_cluster(Z_fit, seed=seed, config=config)
    t_cluster = time.perf_counter() - t0

    t0 = time.perf_counter()
    scorer = ChunkScorer(
        partition,
        Z_fit,
        fit_rows,
        Z_eval,
        n_neighbors=settings.n_neighbors,
        bridge_saturation=settings.bridge_saturation,
        tail_quantile=settings.tail_quantile,
        n_jobs=config.n_jobs,
        chunk_size=chunk_size,
    )
    evaluated_labels = partition.assign(Z_eval)
    labels = np.empty(N, dtype=np.int64)
    components = {name: np.empty(N, dtype=np.float32) for name in COMPONENTS}
    nearest_evaluated = np.empty(N)
    t_transform = 0.0
    for lo in range(0, N, chunk_size):
        hi = min(lo + chunk_size, N)
        t1 = time.perf_counter()
        Zc = embedding.transform_chunk(X[lo:hi], name="candidates", offset=lo)
        t_transform += time.perf_counter() - t1
        chunk = scorer.score(lo, Zc)
        labels[lo:hi] = chunk.labels
        components["edge"][lo:hi] = chunk.edge
        components["bridge"][lo:hi] = chunk.bridge
        components["tail"][lo:hi] = chunk.tail
        nearest_evaluated[lo:hi] = chunk.nearest_evaluated

    K = partition.n_clusters
    group_sizes = np.bincount(labels + 1, minlength=K + 1)  # group 0 = noise
    group_evaluated = np.bincount(evaluated_labels + 1, minlength=K + 1)
    components["coverage"][:] = coverage_by_group(group_sizes, group_evaluated)[labels + 1]
    components["novelty"][:] = novelty_scores(nearest_evaluated, scorer.novelty_scale)
    del nearest_evaluated
    pi = combine(components, settings.weights, settings.pi_range)
    group_best = _group_best(y, evaluated_labels + 1, K + 1)
    t_weights = time.perf_counter() - t0 - t_transform

    report = StructureReport(
        candidate_labels=labels,
        evaluated_labels=evaluated_labels,
        algorithm=partition.algorithm,
        params=dict(partition.params),
        score=partition.score,
        n_clusters=K,
        cluster_sizes=group_sizes[1:],
        cluster_evaluated=group_evaluated[1:],
        cluster_best=group_best[1:],
        cluster_parents=partition.parents.copy(),
        noise_size=int(group_sizes[0]),
        noise_evaluated=int(group_evaluated[0]),
        noise_best=group_best[0],
        n_candidates=N,
        n_evaluated=n,
        n_fit=int(fit_rows.size),
        n_reference=int(scorer.reference_rows.size),
        embedding_method=embedding.method,
        embedding_dim=int(embedding.n_components_),
        explained_variance_ratio=embedding.explained_variance_ratio_.copy(),
        trials=partition.trials,
        pi_range=settings.pi_range,
        component_weights=dict(settings.weights),
        n_neighbors=int(scorer.k),
        pi_summary={"min": float(pi.min()), "mean": float(pi.mean()), "max": float(pi.max())},
        timing={
            "embedding": t_embed + t_transform,
            "clustering": t_cluster,
            "weights": t_weights,
            "total": time.perf_counter() - start,
        },
        seed=seed,
        components=components,
    )
    return pi, report
