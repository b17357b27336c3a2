r"""Snapping generated points to a closed pool (Stage 2: "with a pool and generated points,
snap to the nearest unused pool rows").

A k-d tree is built once over the available pool rows (or the available rows of a working
set), optionally standardised column by column. Points are assigned greedily in the order
given -- pass them best first -- each to its nearest row that no earlier point took, so no row
is used twice. Queries run in chunks; a point whose ``n_neighbors`` nearest rows are all taken
is queried again with twice as many neighbours until a free row is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from axfusion.candidates._validation import as_float_matrix, check_positive_int
from axfusion.candidates.pool import DEFAULT_CHUNK_SIZE, CandidatePool


@dataclass(frozen=True)
class SnapResult:
    r"""Pool rows matched to generated points.

    Attributes:
        row_ids: ``(n,)`` distinct pool row ids, ``row_ids[i]`` matched to point ``i``.
        distances: ``(n,)`` distances in the (standardised, if asked) feature space.
    """

    row_ids: np.ndarray
    distances: np.ndarray


def snap_to_pool(
    features: np.ndarray,
    pool: CandidatePool,
    *,
    ids: Any = None,
    standardize: bool = True,
    n_neighbors: int = 8,
    chunk_size: int = 4096,
    read_chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> SnapResult:
    r"""Map each generated point to the nearest pool row not used by an earlier point.

    Args:
        features: ``(n, d)`` generated points in the pool's feature space, highest priority
            first.
        pool: The pool; evaluated and pending rows are never used.
        ids: Optional restriction to these rows (e.g. a prefiltered working set).
        standardize: Measure distances after scaling every column by the mean and standard
            deviation of the available rows (a constant column is only centred).
        n_neighbors: Neighbours fetched per point in the first query.
        chunk_size: Points per batched k-d tree query.
        read_chunk_size: Rows per chunk while reading the pool to build the tree.

    Returns:
        A :class:`SnapResult`.

    Raises:
        ValueError: if there are more points than available rows (both numbers named), or if
            the feature widths differ.
    """
    points = as_float_matrix(features, "features", n_columns=pool.n_features)
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    n_points = points.shape[0]
    if ids is None:
        pool.check_batch_size(n_points)
        chunks = list(pool.iter_chunks(read_chunk_size))
    else:
        pool.check_batch_size(n_points, ids)
        ids = np.asarray(ids)
        chunks = list(pool.iter_chunks(read_chunk_size, ids=ids[pool.is_available(ids)]))
    if n_points == 0:
        return SnapResult(np.empty(0, dtype=np.int64), np.empty(0))
    row_ids = np.concatenate([c[0] for c in chunks])
    rows = np.concatenate([c[1] for c in chunks])
    del chunks
    if standardize:
        center = rows.mean(axis=0)
        scale = rows.std(axis=0)
        scale[scale == 0] = 1.0
        rows -= center
        rows /= scale
        points = (points - center) / scale
    tree = cKDTree(rows)
    n_tree = rows.shape[0]
    del rows

    used = np.zeros(n_tree, dtype=bool)
    out_rows = np.empty(n_points, dtype=np.int64)
    out_dist = np.empty(n_points)
    k0 = min(n_neighbors, n_tree)
    for start in range(0, n_points, chunk_size):
        block = points[start : start + chunk_size]
        dist, idx = tree.query(block, k=k0)
        dist, idx = dist.reshape(block.shape[0], k0), idx.reshape(block.shape[0], k0)
        for i in range(block.shape[0]):
            free = ~used[idx[i]]
            if free.any():
                j = int(np.argmax(free))
                row, d = int(idx[i, j]), float(dist[i, j])
            else:
                row, d = _nearest_free(tree, block[i], used, 2 * k0, n_tree)
            used[row] = True
            out_rows[start + i] = row
            out_dist[start + i] = d
    return SnapResult(row_ids[out_rows], out_dist)


def _nearest_free(
    tree: cKDTree, point: np.ndarray, used: np.ndarray, k: int, n_tree: int
) -> tuple[int, float]:
    r"""Nearest tree row not yet used, widening the query until one is found."""
    while True:
        k = min(k, n_tree)
        dist, idx = tree.query(point, k=k)
        dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
        free = np.flatnonzero(~used[idx])
        if free.size:
            return int(idx[free[0]]), float(dist[free[0]])
        k *= 2
