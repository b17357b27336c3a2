r"""Silhouette score of many partitions on one bounded sample.

Every candidate partition is scored on the same ``s <= sample_size`` rows, so the
``(s, s)`` distance matrix is computed once and reused: scoring a partition costs one
``(s, s) @ (s, K)`` product.  Noise (label ``-1``) is left out of the silhouette and
penalised by the clustered share, so a density-based partition that discards most of
the data cannot win by scoring only its cleanest cores:

    score = mean_{i clustered} s_i * (clustered rows in the sample) / s,
    s_i = (b_i - a_i) / max(a_i, b_i),

``a_i`` the mean distance to the other members of ``i``'s cluster (``s_i = 0`` for a
singleton, as in scikit-learn), ``b_i`` the smallest mean distance to another cluster.
"""

from __future__ import annotations

import numpy as np

from axfusion.structure._validation import sample_rows


class SampledSilhouette:
    r"""Silhouette scorer bound to a fixed sample of ``(m, p)`` points.

    Args:
        Z: ``(m, p)`` embedded points (the clustering's fit sample).
        sample_size: Rows used for the silhouette (a uniform sample when ``m`` is larger).
        rng: Source of randomness for the sample.

    Attributes:
        index: ``(s,)`` rows of ``Z`` in the sample.
    """

    def __init__(self, Z: np.ndarray, sample_size: int, rng: np.random.Generator) -> None:
        self.index = sample_rows(Z.shape[0], sample_size, rng)
        points = np.asarray(Z[self.index], dtype=np.float64)
        sq = np.einsum("ij,ij->i", points, points)
        dist = points @ points.T  # one (s, s) buffer, turned into distances in place
        dist *= -2.0
        dist += sq[:, None]
        dist += sq[None, :]
        np.maximum(dist, 0.0, out=dist)
        np.fill_diagonal(dist, 0.0)
        self._distances = np.sqrt(dist, out=dist)

    def score(self, labels: np.ndarray) -> float:
        r"""Noise-penalised mean silhouette of a partition.

        Args:
            labels: ``(m,)`` integer labels of all fit rows (``-1`` = noise).

        Returns:
            The score in ``[-1, 1]``, or NaN when fewer than two clusters have members
            in the sample (the silhouette is undefined).
        """
        sampled = np.asarray(labels)[self.index]
        clustered = sampled >= 0
        if not clustered.any():
            return float("nan")
        ids, codes = np.unique(sampled[clustered], return_inverse=True)
        n_clusters = ids.size
        if n_clusters < 2:
            return float("nan")
        rows = np.flatnonzero(clustered)
        one_hot = np.zeros((sampled.size, n_clusters))
        one_hot[rows, codes] = 1.0  # noise rows stay zero
        sums = (self._distances @ one_hot)[rows]  # (r, K): summed distance to each cluster
        counts = one_hot.sum(axis=0)
        own = sums[np.arange(rows.size), codes]
        own_count = counts[codes]
        a = np.where(own_count > 1, own / np.maximum(own_count - 1, 1), 0.0)
        means = sums / counts
        means[np.arange(rows.size), codes] = np.inf
        b = means.min(axis=1)
        denom = np.maximum(a, b)
        s = np.where((own_count > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
        return float(s.mean() * rows.size / sampled.size)
