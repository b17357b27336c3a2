r"""Row hashes (:func:`axfusion.suggest.row_hashes`)."""

from __future__ import annotations

import numpy as np

from axfusion.suggest import row_hashes


def test_row_hashes_match_equal_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    h = row_hashes(X)
    assert len(np.unique(h)) == 500
    np.testing.assert_array_equal(row_hashes(X[::-1].copy())[::-1], h)
    np.testing.assert_array_equal(row_hashes(np.asfortranarray(X)), h)
    Z = X.copy()
    Z[0, 0] = np.nextafter(Z[0, 0], np.inf)
    assert row_hashes(Z)[0] != h[0] and (row_hashes(Z)[1:] == h[1:]).all()
    assert row_hashes(np.array([[0.0, 1.0]]))[0] == row_hashes(np.array([[-0.0, 1.0]]))[0]
    # column order matters
    assert row_hashes(np.array([[1.0, 2.0]]))[0] != row_hashes(np.array([[2.0, 1.0]]))[0]
