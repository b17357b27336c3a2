r"""Chunked k-nearest-neighbour queries against a small reference set.

All neighbour searches of the package go through :class:`NeighbourIndex`: a k-d tree
is built on the *smaller* set (a bounded reference sample of the pool, or the
evaluated designs) and the large set is streamed through it in chunks, so memory is
``O(chunk_size * k)`` and no pairwise distance matrix is ever formed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.neighbors import KDTree

from axfusion.structure._validation import check_positive_int


class NeighbourIndex:
    r"""k-d tree over ``(m, p)`` reference points with chunked, optionally threaded queries.

    Args:
        points: ``(m, p)`` float reference points, ``m >= 1``.
        leaf_size: Leaf size of the k-d tree.
        n_jobs: Threads used to query one chunk (the tree releases the GIL).
        chunk_size: Rows queried at a time.
    """

    def __init__(
        self,
        points: np.ndarray,
        *,
        leaf_size: int = 40,
        n_jobs: int = 1,
        chunk_size: int = 65_536,
    ) -> None:
        points = np.ascontiguousarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] < 1:
            raise ValueError(
                f"reference points must be a non-empty (m, p) array, got shape {points.shape}"
            )
        self.points = points
        self.n_jobs = check_positive_int(n_jobs, "n_jobs")
        self.chunk_size = check_positive_int(chunk_size, "chunk_size")
        self._tree = KDTree(points, leaf_size=check_positive_int(leaf_size, "leaf_size"))

    @property
    def n_points(self) -> int:
        r"""Number of reference points ``m``."""
        return self.points.shape[0]

    def _query_block(self, Z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.n_jobs == 1 or Z.shape[0] < 2 * self.n_jobs:
            return self._tree.query(Z, k=k)
        blocks = np.array_split(Z, self.n_jobs)
        with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
            parts = list(pool.map(lambda block: self._tree.query(block, k=k), blocks))
        return (
            np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]),
        )

    def query(self, Z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        r"""The ``k`` nearest reference points of each query row, nearest first.

        Args:
            Z: ``(n, p)`` query points.
            k: Number of neighbours, ``1 <= k <= m``.

        Returns:
            ``(distances, indices)``, both ``(n, k)``: float64 Euclidean distances and
            int64 row indices into the reference points.
        """
        k = check_positive_int(k, "k")
        if k > self.n_points:
            raise ValueError(f"k={k} exceeds the {self.n_points} reference points")
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.points.shape[1]:
            raise ValueError(
                f"query points must have shape (n, {self.points.shape[1]}), got {Z.shape}"
            )
        distances = np.empty((Z.shape[0], k), dtype=np.float64)
        indices = np.empty((Z.shape[0], k), dtype=np.int64)
        for start in range(0, Z.shape[0], self.chunk_size):
            stop = min(start + self.chunk_size, Z.shape[0])
            dist, idx = self._query_block(Z[start:stop], k)
            distances[start:stop] = dist
            indices[start:stop] = idx
        return distances, indices

    def nearest_distance(self, Z: np.ndarray) -> np.ndarray:
        r"""Distance of each ``(n, p)`` query row to its nearest reference point, ``(n,)``."""
        return self.query(Z, 1)[0][:, 0]


def drop_self(
    distances: np.ndarray, indices: np.ndarray, self_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Remove each query point itself from its ``k + 1`` neighbours.

    Rows whose query point is a reference point (``self_index >= 0``) drop that
    neighbour (the first one if it appears twice); the other rows drop their farthest
    neighbour, so every row keeps exactly ``k`` neighbours, nearest first.

    Args:
        distances: ``(n, k + 1)`` neighbour distances, nearest first.
        indices: ``(n, k + 1)`` neighbour indices into the reference points.
        self_index: ``(n,)`` reference index of each query point, ``-1`` when the query
            point is not a reference point.

    Returns:
        ``(distances, indices)`` of shape ``(n, k)``.
    """
    n, k1 = indices.shape
    is_self = indices == self_index[:, None]
    # Keep only the first match; rows without a match drop the last column.
    first = np.argmax(is_self, axis=1)
    has_self = is_self[np.arange(n), first]
    drop = np.where(has_self, first, k1 - 1)
    keep = np.ones((n, k1), dtype=bool)
    keep[np.arange(n), drop] = False
    return (
        distances[keep].reshape(n, k1 - 1),
        indices[keep].reshape(n, k1 - 1),
    )
