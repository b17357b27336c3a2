from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from axfusion.structure.neighbours import NeighbourIndex, drop_self


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_query_matches_brute_force(n_jobs: int) -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(300, 4))
    Q = rng.normal(size=(1_000, 4))
    index = NeighbourIndex(ref, n_jobs=n_jobs, chunk_size=128)
    dist, idx = index.query(Q, 5)
    full = cdist(Q, ref)
    expected = np.sort(full, axis=1)[:, :5]
    np.testing.assert_allclose(dist, expected, atol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(full, idx, axis=1), expected, atol=1e-12)
    np.testing.assert_allclose(index.nearest_distance(Q), expected[:, 0], atol=1e-12)


def test_query_rejects_bad_requests() -> None:
    index = NeighbourIndex(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="exceeds"):
        index.query(np.zeros((1, 2)), 4)
    with pytest.raises(ValueError, match="shape"):
        index.query(np.zeros((1, 3)), 1)
    with pytest.raises(ValueError, match="non-empty"):
        NeighbourIndex(np.zeros((0, 2)))


def test_drop_self_removes_own_index_or_farthest() -> None:
    dist = np.array([[0.0, 1.0, 2.0], [0.5, 1.0, 3.0], [0.0, 0.0, 1.0]])
    idx = np.array([[4, 2, 9], [1, 2, 3], [7, 5, 8]])
    self_index = np.array([4, -1, 5])
    d, i = drop_self(dist, idx, self_index)
    np.testing.assert_array_equal(i, [[2, 9], [1, 2], [7, 8]])
    np.testing.assert_array_equal(d, [[1.0, 2.0], [0.5, 1.0], [0.0, 1.0]])
