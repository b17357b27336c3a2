r"""The :class:`Partition` result type and the label post-processing rules.

Post-processing (docs/method.md, Stage 2), applied to the winning partition of the fit
sample, in this order:

1. tiny clusters (fewer than ``min_cluster_size = 3`` members) become noise (``-1``);
2. giant clusters (at least ``max(giant_min_size, giant_fraction * m)`` members,
   defaults ``max(50, 0.2 m)``, ``m`` the fit-sample size) are split again: a giant is
   bisected by k-means (k = 2, seeded) and the halves are examined in turn, until no
   cluster is giant, a bisection would leave a half smaller than ``min_cluster_size``
   (the cluster is then kept whole), or a cluster has been bisected
   ``max_split_depth`` times;
3. clusters are renumbered ``0 .. K-1`` by decreasing size (ties: smallest first row).

Splitting refines the bookkeeping (sampling coverage, Stage 1's bootstrap, Stage 3's
bandwidth) but does not invent modes: each final cluster remembers the cluster of the
selected partition it came from (``Partition.parents``), and geometric indicators that
speak of modes (bridges, boundaries) use those parent clusters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from axfusion.structure.neighbours import NeighbourIndex


@dataclass(frozen=True)
class Trial:
    r"""Outcome of one candidate partition.

    Attributes:
        algorithm: Algorithm name.
        params: Its setting.
        score: Noise-penalised silhouette (NaN when undefined or not fitted).
        n_clusters: Clusters after tiny clusters became noise (0 when not fitted).
        error: Why it was skipped or failed, ``None`` when it was scored.
    """

    algorithm: str
    params: dict[str, Any]
    score: float
    n_clusters: int
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-serialisable form (NaN becomes ``None``)."""
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "score": None if not np.isfinite(self.score) else float(self.score),
            "n_clusters": int(self.n_clusters),
            "error": self.error,
        }


@dataclass(frozen=True, eq=False)
class Partition:
    r"""A clustering of ``n`` embedded points.

    Attributes:
        labels: ``(n,)`` int64 cluster of each point, ``-1`` for noise.
        algorithm: Winning algorithm (``"single"`` when one cluster was returned).
        params: Its setting.
        score: Its noise-penalised silhouette on the fit sample (NaN for ``"single"``).
        centers: ``(K, p)`` mean of each cluster's fit-sample members.
        parents: ``(K,)`` the cluster of the selected partition each cluster came from
            (identity unless giant clusters were split).
        fit_index: ``(m,)`` rows of the clustered array that were fitted (all rows when
            ``n <= max_fit_rows``); the other rows were assigned.
        reference_index: ``(r,)`` positions in the fit sample of the reference points
            used by :meth:`assign` (a seeded sample of at most ``reference_size``).
        reference_points: ``(r, p)`` those points.
        trials: Every candidate partition that was considered.
    """

    labels: np.ndarray
    algorithm: str
    params: dict[str, Any]
    score: float
    centers: np.ndarray
    parents: np.ndarray
    fit_index: np.ndarray
    reference_index: np.ndarray
    reference_points: np.ndarray
    trials: tuple[Trial, ...] = ()
    _index: list[NeighbourIndex] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def n_clusters(self) -> int:
        r"""Number of clusters ``K`` (noise excluded)."""
        return int(self.centers.shape[0])

    @property
    def reference_labels(self) -> np.ndarray:
        r"""``(r,)`` labels of the reference points."""
        return self.labels[self.fit_index[self.reference_index]]

    @property
    def mode_labels(self) -> np.ndarray:
        r"""``(n,)`` parent (pre-split) cluster of each point, ``-1`` for noise."""
        return parent_labels(self.labels, self.parents)

    def neighbour_index(self) -> NeighbourIndex:
        r"""k-d tree over the reference points (built once, then cached)."""
        if not self._index:
            self._index.append(NeighbourIndex(self.reference_points))
        return self._index[0]

    def assign(
        self, Z_new: np.ndarray, *, method: Literal["neighbour", "centre"] = "neighbour"
    ) -> np.ndarray:
        r"""Labels for new embedded points.

        ``"neighbour"`` (default) copies the label of the nearest reference point, so it
        follows any cluster shape and can return noise; ``"centre"`` takes the nearest
        cluster centre (never noise).

        Args:
            Z_new: ``(n_new, p)`` points in the same embedding.
            method: ``"neighbour"`` or ``"centre"``.

        Returns:
            ``(n_new,)`` int64 labels.
        """
        Z_new = np.asarray(Z_new, dtype=np.float64)
        p = self.reference_points.shape[1]
        if Z_new.ndim != 2 or Z_new.shape[1] != p:
            raise ValueError(f"Z_new must have shape (n, {p}), got {Z_new.shape}")
        if Z_new.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        if not np.isfinite(Z_new).all():
            raise ValueError("Z_new contains NaN or infinite values")
        if method == "neighbour":
            _, idx = self.neighbour_index().query(Z_new, 1)
            return self.reference_labels[idx[:, 0]]
        if method == "centre":
            if self.n_clusters == 0:
                return np.full(Z_new.shape[0], -1, dtype=np.int64)
            return nearest_center(Z_new, self.centers)
        raise ValueError(f"method must be 'neighbour' or 'centre', got {method!r}")


def parent_labels(labels: np.ndarray, parents: np.ndarray) -> np.ndarray:
    r"""Map ``(n,)`` cluster labels to their ``(K,)`` parents, keeping noise ``-1``."""
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    clustered = labels >= 0
    out[clustered] = parents[labels[clustered]]
    return out


def nearest_center(Z: np.ndarray, centers: np.ndarray, chunk_size: int = 65_536) -> np.ndarray:
    r"""Index of the nearest of ``(K, p)`` centres for each ``(n, p)`` row, ``(n,)``."""
    out = np.empty(Z.shape[0], dtype=np.int64)
    c2 = np.einsum("ij,ij->i", centers, centers)
    for start in range(0, Z.shape[0], chunk_size):
        block = Z[start : start + chunk_size]
        out[start : start + block.shape[0]] = np.argmin(c2[None, :] - 2.0 * block @ centers.T, axis=1)
    return out


def tiny_to_noise(labels: np.ndarray, min_cluster_size: int) -> np.ndarray:
    r"""Copy of ``(m,)`` labels where clusters with fewer than ``min_cluster_size`` members are ``-1``."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    clustered = labels >= 0
    if not clustered.any():
        return labels
    ids, counts = np.unique(labels[clustered], return_counts=True)
    tiny = ids[counts < min_cluster_size]
    if tiny.size:
        labels[np.isin(labels, tiny)] = -1
    return labels


def relabel_by_size(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Renumber ``(m,)`` labels ``0 .. K-1`` by decreasing size (ties: earliest first row).

    Returns:
        ``(new_labels, old_ids)``: the ``(m,)`` new labels and the ``(K,)`` old label of
        each new cluster.
    """
    labels = np.asarray(labels, dtype=np.int64)
    clustered = labels >= 0
    if not clustered.any():
        return labels.copy(), np.zeros(0, dtype=np.int64)
    ids, first, counts = np.unique(labels[clustered], return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    old_ids = ids[order]
    lookup = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    lookup[old_ids] = np.arange(old_ids.size)
    out = np.full(labels.shape, -1, dtype=np.int64)
    out[clustered] = lookup[labels[clustered]]
    return out, old_ids


def _bisect(Z: np.ndarray, seed: int, n_init: int) -> np.ndarray:
    model = KMeans(n_clusters=2, n_init=n_init, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return np.asarray(model.fit_predict(Z), dtype=np.int64)


def split_giants(
    Z: np.ndarray,
    labels: np.ndarray,
    *,
    min_cluster_size: int,
    giant_min_size: int,
    giant_fraction: float,
    max_split_depth: int,
    seed: int,
    n_init: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Bisect giant clusters (see the module docstring for the rule).

    Args:
        Z: ``(m, p)`` fit-sample points.
        labels: ``(m,)`` labels after tiny clusters became noise.
        min_cluster_size: Smallest half a bisection may leave.
        giant_min_size, giant_fraction: A cluster is giant when it has at least
            ``max(giant_min_size, giant_fraction * m)`` members.
        max_split_depth: Most bisections on the way from a selected cluster to a part.
        seed: Seed of the k-means bisections.
        n_init: k-means restarts per bisection.

    Returns:
        ``(new_labels, parents)``: ``(m,)`` labels (not yet renumbered by size) and, for
        each new label id ``j``, ``parents[j]`` = the input label it came from.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    threshold = max(giant_min_size, giant_fraction * labels.shape[0])
    clustered = labels >= 0
    n_ids = int(labels.max()) + 1 if clustered.any() else 0
    parents = list(range(n_ids))
    queue = [(cid, 0) for cid in range(n_ids)]
    while queue:
        cid, depth = queue.pop(0)
        members = np.flatnonzero(labels == cid)
        if members.size < threshold or depth >= max_split_depth:
            continue
        halves = _bisect(Z[members], seed, n_init)
        sizes = np.bincount(halves, minlength=2)
        if sizes.min() < min_cluster_size:
            continue
        new_id = len(parents)
        parents.append(parents[cid])
        labels[members[halves == 1]] = new_id
        queue.append((cid, depth + 1))
        queue.append((new_id, depth + 1))
    return labels, np.asarray(parents, dtype=np.int64)


def cluster_centers(Z: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    r"""``(K, p)`` mean of the ``(m, p)`` points of each label ``0 .. K-1``."""
    centers = np.zeros((n_clusters, Z.shape[1]))
    if n_clusters == 0:
        return centers
    clustered = labels >= 0
    np.add.at(centers, labels[clustered], Z[clustered])
    counts = np.bincount(labels[clustered], minlength=n_clusters).astype(np.float64)
    return centers / np.maximum(counts, 1.0)[:, None]
