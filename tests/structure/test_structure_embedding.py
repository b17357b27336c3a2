from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from axfusion.structure import Embedding, embed


def test_standardise_and_pca_shapes_and_variance_order() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 25)) * np.linspace(10.0, 0.1, 25) + 100.0
    emb = Embedding(n_components=10).fit(X)
    Z = emb.transform(X)
    assert Z.shape == (300, 10)
    assert emb.n_components_ == 10
    # Standardised features: the embedding is centred and the axes are ordered.
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    var = Z.var(axis=0)
    assert np.all(np.diff(var) <= 1e-9)
    # Scale invariance: multiplying a column by 1000 does not change the embedding.
    X2 = X.copy()
    X2[:, 3] *= 1000.0
    np.testing.assert_allclose(np.abs(embed(X2)), np.abs(Z), atol=1e-8)


def test_zero_variance_columns_are_dropped() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 6))
    X[:, 2] = 7.0
    X[:, 4] = 0.0
    emb = Embedding().fit(X)
    assert emb.kept_columns_.tolist() == [0, 1, 3, 5]
    assert emb.n_components_ == 4
    assert np.isfinite(emb.transform(X)).all()


def test_all_constant_gives_one_zero_coordinate() -> None:
    Z = embed(np.ones((5, 3)))
    assert Z.shape == (5, 1)
    assert np.all(Z == 0.0)


def test_components_capped_by_rows() -> None:
    rng = np.random.default_rng(2)
    Z = embed(rng.normal(size=(6, 140)))
    assert Z.shape == (6, 5)


def test_fit_sample_and_chunked_transform_match(tmp_path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5_000, 8)) @ rng.normal(size=(8, 8))
    path = tmp_path / "pool.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=X.shape)
    mm[:] = X
    mm.flush()
    pool = np.load(path, mmap_mode="r")
    emb = Embedding(max_fit_rows=1_000, chunk_size=777, seed=5).fit(pool)
    assert emb.fit_index_.shape == (1_000,)
    Z_chunked = emb.transform(pool)
    Z_whole = X[:, emb.kept_columns_] @ emb.weights_ + emb.offset_
    np.testing.assert_allclose(Z_chunked, Z_whole, atol=1e-10)
    # Same seed, same embedding.
    emb2 = Embedding(max_fit_rows=1_000, seed=5).fit(pool)
    np.testing.assert_array_equal(emb2.weights_, emb.weights_)


def test_bad_inputs_raise_clear_errors() -> None:
    X = np.ones((10, 3))
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match="row 17"):
        Embedding().fit_transform(np.vstack([np.random.default_rng(0).normal(size=(10, 3)), X]))
    big = np.random.default_rng(0).normal(size=(50, 3))
    big[41, 0] = np.inf
    with pytest.raises(ValueError, match="row 41"):
        Embedding(max_fit_rows=45, seed=1).fit(big)  # row 41 is found in the sample
    with pytest.raises(ValueError, match="2-D"):
        embed(np.ones(5))
    with pytest.raises(TypeError, match="real numbers"):
        embed(np.array([["a", "b"]]))
    emb = Embedding().fit(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="4 columns but 3"):
        emb.transform(np.ones((2, 4)))
    with pytest.raises(ValueError, match="method"):
        Embedding(method="tsne").fit(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        Embedding().transform(np.ones((3, 2)))


def test_umap_missing_raises_import_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` fail
    with pytest.raises(ImportError, match="umap-learn"):
        embed(np.random.default_rng(0).normal(size=(20, 4)), method="umap")


def test_umap_path_uses_the_umap_api(monkeypatch) -> None:
    class FakeUMAP:
        def __init__(self, n_components: int, n_neighbors: int, random_state: int) -> None:
            self.n_components = n_components
            self.n_neighbors = n_neighbors
            self.random_state = random_state

        def fit(self, Z: np.ndarray) -> FakeUMAP:
            self.fitted_rows = Z.shape[0]
            return self

        def transform(self, Z: np.ndarray) -> np.ndarray:
            return Z[:, : self.n_components] * 2.0

    fake = types.ModuleType("umap")
    fake.UMAP = FakeUMAP
    monkeypatch.setitem(sys.modules, "umap", fake)
    X = np.random.default_rng(0).normal(size=(40, 12))
    emb = Embedding(method="umap", n_components=3, seed=4).fit(X)
    Z = emb.transform(X)
    assert Z.shape == (40, 3)
    assert emb._umap.random_state == 4 and emb._umap.fitted_rows == 40
    pca_part = X[:, emb.kept_columns_] @ emb.weights_ + emb.offset_
    np.testing.assert_allclose(Z, 2.0 * pca_part[:, :3])


def test_fixed_scale_replaces_the_std_of_chosen_columns():
    rng = np.random.default_rng(0)
    codes = rng.choice(4, size=200, p=[0.85, 0.05, 0.05, 0.05])
    X = np.hstack([rng.normal(size=(200, 1)), np.eye(4)[codes]])
    scale = np.array([np.nan, *[np.sqrt(2.0)] * 4])
    emb = Embedding(n_components=5, fixed_scale=scale).fit(X)
    assert np.allclose(emb.scale_[1:], np.sqrt(2.0)) and np.isclose(emb.scale_[0], X[:, 0].std())
    Z = emb.transform(X)
    a, b = np.flatnonzero(codes == 1)[0], np.flatnonzero(codes == 2)[0]
    X2 = X.copy()
    X2[b, 0] = X[a, 0]  # same numeric value: only the level differs
    Z2 = emb.transform(X2)
    assert np.isclose(np.linalg.norm(Z[a] - Z2[b]), 1.0)
    with pytest.raises(ValueError, match="fixed_scale has 2 entries"):
        Embedding(fixed_scale=np.ones(2)).fit(X)
