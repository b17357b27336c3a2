r"""Per-chunk geometry of candidates against a fitted partition.

:class:`ChunkScorer` holds everything the candidate pass needs that does not grow with
the pool -- the reference k-d tree, the reference points' own k-th-neighbour
distances, the mode centres, the evaluated set's k-d tree -- and turns one chunk of
embedded candidates into labels and the point-level indicators of
:mod:`axfusion.structure.weights` (``edge``, ``bridge``, ``tail`` and the distance to
the nearest evaluated point).  The cluster-level ``coverage`` needs the labels of the
whole pool and is computed after the pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from axfusion.structure.neighbours import NeighbourIndex, drop_self
from axfusion.structure.partition import Partition, parent_labels
from axfusion.structure.weights import ModeGeometry, bridge_scores, tail_scores


@dataclass(frozen=True)
class ChunkScores:
    r"""Point-level results for ``c`` candidates.

    Attributes:
        labels: ``(c,)`` int64 cluster, ``-1`` = noise.
        edge, bridge, tail: ``(c,)`` indicators in ``[0, 1]``.
        nearest_evaluated: ``(c,)`` distance to the nearest evaluated point (``inf`` when
            there is none).
    """

    labels: np.ndarray
    edge: np.ndarray
    bridge: np.ndarray
    tail: np.ndarray
    nearest_evaluated: np.ndarray


class ChunkScorer:
    r"""Scores chunks of embedded candidates against a partition of their fit sample.

    Args:
        partition: Partition of the ``(m, p)`` fit sample (``partition.fit_index`` must
            be all of it, as when :func:`adaptive_cluster` is called on the sample).
        Z_fit: ``(m, p)`` embedded fit sample.
        fit_rows: ``(m,)`` increasing candidate rows of the fit sample.
        Z_evaluated: ``(n, p)`` embedded evaluated points (``n`` may be 0).
        n_neighbors: ``k`` of the density and bridge indicators (reduced to ``r - 1``
            for a reference of ``r`` points).
        bridge_saturation, tail_quantile: See :mod:`axfusion.structure.weights`.
        n_jobs: Threads of the k-d-tree queries.
        chunk_size: Rows per k-d-tree query.

    Attributes:
        k: The effective number of neighbours.
        novelty_scale: ``h``, the median k-th-neighbour distance of the reference points.
        reference_rows: ``(r,)`` candidate rows of the reference points.
    """

    def __init__(
        self,
        partition: Partition,
        Z_fit: np.ndarray,
        fit_rows: np.ndarray,
        Z_evaluated: np.ndarray,
        *,
        n_neighbors: int,
        bridge_saturation: float,
        tail_quantile: float,
        n_jobs: int,
        chunk_size: int,
    ) -> None:
        if partition.fit_index.size != Z_fit.shape[0] or fit_rows.size != Z_fit.shape[0]:
            raise ValueError("partition, Z_fit and fit_rows must describe the same fit sample")
        self.partition = partition
        self.fit_rows = fit_rows
        self.bridge_saturation = bridge_saturation
        self.tail_quantile = tail_quantile
        self._fit_labels = partition.labels
        fit_modes = parent_labels(partition.labels, partition.parents)
        self._geometry = ModeGeometry(Z_fit, fit_modes, int(partition.parents.max()) + 1)
        self._reference_labels = partition.reference_labels
        self._reference_modes = fit_modes[partition.reference_index]
        self.reference_rows = fit_rows[partition.reference_index]

        points = partition.reference_points
        self._index = NeighbourIndex(points, n_jobs=n_jobs, chunk_size=chunk_size)
        self.k = min(n_neighbors, points.shape[0] - 1)
        self._reference_kth = np.zeros(0)
        self.novelty_scale = 1.0
        if self.k >= 1:
            dist, idx = self._index.query(points, self.k + 1)
            dist, _ = drop_self(dist, idx, np.arange(points.shape[0]))
            self._reference_kth = np.sort(dist[:, -1])
            median = float(np.median(self._reference_kth))
            positive = self._reference_kth[self._reference_kth > 0]
            if median > 0:
                self.novelty_scale = median
            elif positive.size:
                self.novelty_scale = float(positive.mean())
        self._evaluated_index = (
            NeighbourIndex(Z_evaluated, n_jobs=n_jobs, chunk_size=chunk_size)
            if Z_evaluated.shape[0]
            else None
        )

    def _positions(self, rows: np.ndarray, sorted_rows: np.ndarray) -> np.ndarray:
        r"""Position of each of ``rows`` in ``sorted_rows``, ``-1`` where absent."""
        pos = np.minimum(np.searchsorted(sorted_rows, rows), sorted_rows.size - 1)
        return np.where(sorted_rows[pos] == rows, pos, -1)

    def score(self, start: int, Z: np.ndarray) -> ChunkScores:
        r"""Score candidates ``start .. start + c - 1`` with ``(c, p)`` embedding ``Z``.

        A candidate of the fit sample keeps its fitted label; any other takes the label
        of its nearest reference point (as :meth:`Partition.assign`).  A reference point
        is left out of its own neighbours.
        """
        rows = np.arange(start, start + Z.shape[0])
        fit_pos = self._positions(rows, self.fit_rows)
        self_ref = self._positions(rows, self.reference_rows)
        c = Z.shape[0]
        if self.k >= 1:
            dist, idx = self._index.query(Z, self.k + 1)
            dist, idx = drop_self(dist, idx, self_ref)
            nearest = idx[:, 0]
            bridge = bridge_scores(self._reference_modes[idx], self.bridge_saturation)
            tail = tail_scores(dist[:, -1], self._reference_kth, self.tail_quantile)
        else:
            nearest = np.zeros(c, dtype=np.int64)
            bridge = np.zeros(c)
            tail = np.zeros(c)
        labels = np.where(fit_pos >= 0, self._fit_labels[fit_pos], self._reference_labels[nearest])
        edge = self._geometry.edge_scores(Z, parent_labels(labels, self.partition.parents))
        nearest_evaluated = (
            self._evaluated_index.nearest_distance(Z)
            if self._evaluated_index is not None
            else np.full(c, np.inf)
        )
        return ChunkScores(labels, edge, bridge, tail, nearest_evaluated)
