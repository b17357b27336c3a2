r"""The :class:`StructureReport` returned with the structural weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axfusion.structure.partition import Trial


def _json_number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _json_array(values: np.ndarray) -> list[Any]:
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64).tolist()
    return [
        _json_array(row) if np.ndim(row) else _json_number(float(row))
        for row in arr
    ]


@dataclass(frozen=True, eq=False)
class StructureReport:
    r"""What :func:`~axfusion.structure.structural.structural_weights` found.

    Per-row arrays (``N`` candidates, ``n`` evaluated points, ``K`` clusters):

    Attributes:
        candidate_labels: ``(N,)`` int64 cluster of each candidate, ``-1`` = noise.
        evaluated_labels: ``(n,)`` int64 cluster of each evaluated point.
        components: ``{name: (N,) float32}`` the indicators ``u_edge``, ``u_bridge``,
            ``u_tail``, ``u_coverage``, ``u_novelty`` behind ``pi``.

    Per-cluster and summary fields:

    Attributes:
        algorithm, params, score: The winning partition and its noise-penalised
            silhouette.
        n_clusters: ``K``.
        cluster_sizes: ``(K,)`` candidates per cluster.
        cluster_evaluated: ``(K,)`` evaluated points per cluster.
        cluster_best: ``(K,)`` (or ``(K, q)``) best evaluated value per cluster,
            larger is better; NaN without ``evaluated_y`` or evaluated points.
        cluster_parents: ``(K,)`` mode (pre-split cluster) of each cluster.
        noise_size, noise_evaluated: Candidates and evaluated points labelled noise.
        noise_best: Best evaluated value among noise points (NaN when none).
        n_candidates, n_evaluated: ``N`` and ``n``.
        n_fit: Rows the embedding and clusterer were fitted on.
        n_reference: Reference points of the neighbour queries.
        embedding_method, embedding_dim: The embedding and its dimension ``p``.
        explained_variance_ratio: Variance share of each principal axis.
        trials: Every candidate partition considered (score or why it was skipped).
        pi_range, component_weights, n_neighbors: The settings of ``pi``.
        pi_summary: ``min``, ``mean``, ``max`` of ``pi``.
        timing: Wall seconds of ``embedding``, ``clustering``, ``weights``, ``total``.
        seed: The seed.
    """

    candidate_labels: np.ndarray
    evaluated_labels: np.ndarray
    algorithm: str
    params: dict[str, Any]
    score: float
    n_clusters: int
    cluster_sizes: np.ndarray
    cluster_evaluated: np.ndarray
    cluster_best: np.ndarray
    cluster_parents: np.ndarray
    noise_size: int
    noise_evaluated: int
    noise_best: np.ndarray
    n_candidates: int
    n_evaluated: int
    n_fit: int
    n_reference: int
    embedding_method: str
    embedding_dim: int
    explained_variance_ratio: np.ndarray
    trials: tuple[Trial, ...]
    pi_range: tuple[float, float]
    component_weights: dict[str, float]
    n_neighbors: int
    pi_summary: dict[str, float]
    timing: dict[str, float]
    seed: int
    components: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-serialisable summary without the per-row arrays (NaN becomes ``None``)."""
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "score": _json_number(self.score),
            "n_clusters": int(self.n_clusters),
            "cluster_sizes": _json_array(self.cluster_sizes),
            "cluster_evaluated": _json_array(self.cluster_evaluated),
            "cluster_best": _json_array(self.cluster_best),
            "cluster_parents": _json_array(self.cluster_parents),
            "noise_size": int(self.noise_size),
            "noise_evaluated": int(self.noise_evaluated),
            "noise_best": _json_array(np.atleast_1d(self.noise_best))
            if np.ndim(self.noise_best)
            else _json_number(float(self.noise_best)),
            "n_candidates": int(self.n_candidates),
            "n_evaluated": int(self.n_evaluated),
            "n_fit": int(self.n_fit),
            "n_reference": int(self.n_reference),
            "embedding_method": self.embedding_method,
            "embedding_dim": int(self.embedding_dim),
            "explained_variance_ratio": _json_array(self.explained_variance_ratio),
            "trials": [trial.as_dict() for trial in self.trials],
            "pi_range": [float(v) for v in self.pi_range],
            "component_weights": {k: float(v) for k, v in self.component_weights.items()},
            "n_neighbors": int(self.n_neighbors),
            "pi_summary": {k: float(v) for k, v in self.pi_summary.items()},
            "component_means": {
                k: float(np.mean(v)) if np.size(v) else None for k, v in self.components.items()
            },
            "timing": {k: float(v) for k, v in self.timing.items()},
            "seed": int(self.seed),
        }
