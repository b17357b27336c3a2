r"""One embedding per iteration: the leading axes of a wider PCA are the smaller PCA's, and
``structural_weights`` accepts the campaign's fitted embedding instead of fitting its own."""

from __future__ import annotations

import numpy as np
import pytest

from axfusion.structure import Embedding, structural_weights


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(600, 30)) @ rng.normal(size=(30, 30)), rng.normal(size=(40, 30))


def test_leading_axes_match_a_smaller_pca():
    X, _ = _data()
    wide = Embedding(n_components=20, seed=0).fit(X)
    narrow = Embedding(n_components=5, seed=0).fit(X)
    lead = wide.leading(5)
    assert lead.n_components_ == 5
    Z_lead, Z_narrow = lead.transform(X), narrow.transform(X)
    # principal axes are defined up to sign
    signs = np.sign(np.sum(Z_lead * Z_narrow, axis=0))
    np.testing.assert_allclose(Z_lead * signs, Z_narrow, atol=1e-8)
    np.testing.assert_allclose(lead.explained_variance_ratio_, narrow.explained_variance_ratio_)


def test_structural_weights_with_a_shared_embedding():
    X, E = _data(1)
    shared = Embedding(n_components=25, seed=3).fit(np.vstack([X, E]))
    pi, report = structural_weights(X, E, embedding=shared, seed=3)
    assert pi.shape == (600,) and np.all((pi >= 0.5) & (pi <= 1.0))
    assert report.embedding_dim == 10 and report.n_candidates == 600
    again, _ = structural_weights(X, E, embedding=shared, seed=3)
    np.testing.assert_array_equal(pi, again)
    with pytest.raises(ValueError, match="features"):
        structural_weights(X[:, :10], E[:, :10], embedding=shared)
