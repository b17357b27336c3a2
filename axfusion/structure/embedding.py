r"""Low-dimensional embedding of design features: standardise, then PCA (or UMAP).

docs/method.md, Stage 2: the clusterer works on standardised features reduced by PCA to at
most 10 components; UMAP is an optional alternative (package ``umap-learn``, an
optional extra).  The embedding is fitted on at most ``max_fit_rows`` rows drawn with
the seed and then applied to any number of rows in chunks, so a pool of millions of
rows (a ``numpy.memmap``) is never loaded at once.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

import numpy as np
from sklearn.decomposition import PCA

from axfusion.structure._validation import (
    as_matrix,
    check_finite_chunk,
    check_positive_int,
    check_seed,
    sample_rows,
)

EmbeddingMethod = Literal["pca", "umap"]
_METHODS = ("pca", "umap")


def _import_umap() -> Any:
    r"""Import ``umap`` or raise an ``ImportError`` that says how to get it."""
    try:
        return importlib.import_module("umap")
    except ImportError as exc:
        raise ImportError(
            "Embedding(method='umap') needs the optional package 'umap-learn', which is "
            "not installed; install it (pip install umap-learn, or the axfusion[extras] "
            "extra) or use method='pca'."
        ) from exc


class Embedding:
    r"""Standardisation followed by PCA (or UMAP) to at most ``n_components`` dimensions.

    ``fit`` learns, on at most ``max_fit_rows`` rows sampled with ``seed``:

    - per-column mean and standard deviation; columns whose standard deviation is at
      most ``zero_variance_tol * max(1, |mean|)`` are constant and dropped (with
      fewer than two rows every column is constant);
    - ``method="pca"``: the leading ``p = min(n_components, d_kept, n_fit - 1)``
      principal axes of the standardised kept columns.  The map is stored as one affine
      transform ``Z = X[:, kept] @ W + b``;
    - ``method="umap"``: PCA to ``min(umap_pca_components, ...)`` axes, then UMAP to
      ``n_components`` dimensions (``umap.UMAP(n_neighbors=umap_n_neighbors,
      random_state=seed)``); new rows go through ``UMAP.transform``.

    ``fixed_scale`` (``(d,)``, optional): a column with a finite entry is divided by it
    instead of its standard deviation (one-hot indicators of a categorical column:
    ``sqrt(2)``, so two levels are one unit apart; :mod:`axfusion.data.encoding`).

    When nothing varies (no kept column, or one fitted row) the embedding is one
    constant zero coordinate, so downstream code always sees ``p >= 1``.

    The attributes below are set by ``fit``.

    Attributes:
        n_features_in_: Number of input columns ``d``.
        kept_columns_: ``(d_kept,)`` indices of the non-constant columns.
        mean_, scale_: ``(d_kept,)`` standardisation of the kept columns.
        weights_, offset_: ``(d_kept, p)`` and ``(p,)`` affine PCA map (PCA part only).
        explained_variance_ratio_: ``(p_pca,)`` variance share of each principal axis.
        n_components_: Output dimension ``p``.
        fit_index_: ``(n_fit,)`` rows of the fitted array used for fitting.
    """

    def __init__(
        self,
        *,
        method: EmbeddingMethod = "pca",
        n_components: int = 10,
        max_fit_rows: int = 20_000,
        chunk_size: int = 65_536,
        zero_variance_tol: float = 1e-12,
        umap_n_neighbors: int = 15,
        umap_pca_components: int = 50,
        seed: int = 0,
        fixed_scale: np.ndarray | None = None,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.max_fit_rows = max_fit_rows
        self.chunk_size = chunk_size
        self.zero_variance_tol = zero_variance_tol
        self.umap_n_neighbors = umap_n_neighbors
        self.umap_pca_components = umap_pca_components
        self.seed = seed
        self.fixed_scale = fixed_scale

    def _check_params(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(
                f"method must be one of {_METHODS}, got {self.method!r}"
            )
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.max_fit_rows, "max_fit_rows", minimum=2)
        check_positive_int(self.chunk_size, "chunk_size")
        check_positive_int(self.umap_n_neighbors, "umap_n_neighbors", minimum=2)
        check_positive_int(self.umap_pca_components, "umap_pca_components")
        check_seed(self.seed)
        if not (np.isfinite(self.zero_variance_tol) and self.zero_variance_tol >= 0):
            raise ValueError(
                f"zero_variance_tol must be finite and >= 0, got {self.zero_variance_tol}"
            )

    def fit(self, X: Any, *, name: str = "X") -> Embedding:
        r"""Fit on at most ``max_fit_rows`` rows of ``X``.

        Args:
            X: ``(n, d)`` real array (may be a ``numpy.memmap``), ``n >= 1``.
            name: Name of ``X`` in error messages.

        Returns:
            ``self``.
        """
        self._check_params()
        umap_module = _import_umap() if self.method == "umap" else None
        X = as_matrix(X, name)
        rng = np.random.default_rng(self.seed)
        fit_index = sample_rows(X.shape[0], self.max_fit_rows, rng)
        sample = np.asarray(X[fit_index], dtype=np.float64)
        check_finite_chunk(sample, name, rows=fit_index)
        self.n_features_in_ = X.shape[1]
        self.fit_index_ = fit_index

        mean = sample.mean(axis=0)
        std = sample.std(axis=0)
        keep = std > self.zero_variance_tol * np.maximum(1.0, np.abs(mean))
        if sample.shape[0] < 2:
            keep[:] = False
        self.kept_columns_ = np.flatnonzero(keep)
        self.mean_ = mean[keep]
        if self.fixed_scale is not None:
            fixed = np.asarray(self.fixed_scale, dtype=np.float64).reshape(-1)
            if fixed.size != X.shape[1]:
                raise ValueError(f"fixed_scale has {fixed.size} entries for {X.shape[1]} columns")
            std = np.where(np.isfinite(fixed), fixed, std)
        self.scale_ = std[keep]
        self._umap = None

        n_pca_max = min(self.kept_columns_.size, sample.shape[0] - 1)
        target = self.umap_pca_components if umap_module is not None else self.n_components
        n_pca = min(target, n_pca_max)
        if n_pca < 1:
            self.weights_ = np.zeros((self.kept_columns_.size, 1))
            self.offset_ = np.zeros(1)
            self.explained_variance_ratio_ = np.zeros(0)
            self.n_components_ = 1
            return self

        standardised = (sample[:, keep] - self.mean_) / self.scale_
        pca = PCA(n_components=n_pca, svd_solver="auto", random_state=self.seed)
        pca.fit(standardised)
        components = pca.components_  # (n_pca, d_kept)
        self.weights_ = components.T / self.scale_[:, None]
        self.offset_ = -((self.mean_ / self.scale_) + pca.mean_) @ components.T
        self.explained_variance_ratio_ = np.asarray(pca.explained_variance_ratio_)
        self.n_components_ = n_pca

        if umap_module is not None:
            projected = standardised @ components.T - pca.mean_ @ components.T
            n_out = min(self.n_components, max(1, projected.shape[0] - 2))
            reducer = umap_module.UMAP(
                n_components=n_out,
                n_neighbors=min(self.umap_n_neighbors, max(2, projected.shape[0] - 1)),
                random_state=self.seed,
            )
            reducer.fit(projected)
            self._umap = reducer
            self.n_components_ = n_out
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise RuntimeError("Embedding is not fitted; call fit(X) first")

    def transform_chunk(self, chunk: np.ndarray, *, name: str = "X", offset: int = 0) -> np.ndarray:
        r"""Embed one in-memory chunk.

        Args:
            chunk: ``(c, d)`` rows of the input.
            name: Name of the full array, for error messages.
            offset: Index of ``chunk[0]`` in the full array, for error messages.

        Returns:
            ``(c, p)`` float64 embedding.
        """
        self._check_fitted()
        block = np.asarray(chunk, dtype=np.float64)
        check_finite_chunk(block, name, offset)
        Z = block[:, self.kept_columns_] @ self.weights_ + self.offset_
        if self._umap is not None:
            Z = np.asarray(self._umap.transform(Z), dtype=np.float64)
        return Z

    def transform(self, X: Any, *, name: str = "X") -> np.ndarray:
        r"""Embed all rows of ``X`` chunk by chunk.

        Args:
            X: ``(n, d)`` real array (may be a ``numpy.memmap``); ``n`` may be 0.
            name: Name of ``X`` in error messages.

        Returns:
            ``(n, p)`` float64 embedding.
        """
        self._check_fitted()
        X = as_matrix(X, name, allow_empty=True, n_features=self.n_features_in_)
        out = np.empty((X.shape[0], self.n_components_), dtype=np.float64)
        for start in range(0, X.shape[0], self.chunk_size):
            stop = min(start + self.chunk_size, X.shape[0])
            out[start:stop] = self.transform_chunk(X[start:stop], name=name, offset=start)
        return out

    def leading(self, n_components: int) -> Embedding:
        r"""The same fitted map restricted to its first ``n_components`` principal axes.

        One PCA serves several consumers: the campaign loop fits one embedding of the
        candidates and evaluated designs per iteration for its batch geometry and hands
        the clusterer its leading axes (PCA axes are nested, so these are the axes a
        smaller PCA of the same rows would find).

        Raises:
            ValueError: for a UMAP embedding (its coordinates are not nested).
        """
        self._check_fitted()
        if self._umap is not None:
            raise ValueError("leading() needs a PCA embedding; UMAP coordinates are not nested.")
        p = int(min(max(1, n_components), self.n_components_))
        out = Embedding(
            method="pca", n_components=p, max_fit_rows=self.max_fit_rows, chunk_size=self.chunk_size,
            zero_variance_tol=self.zero_variance_tol, seed=self.seed,
        )
        out.n_features_in_ = self.n_features_in_
        out.fit_index_ = self.fit_index_
        out.kept_columns_ = self.kept_columns_
        out.mean_, out.scale_ = self.mean_, self.scale_
        out.weights_ = self.weights_[:, :p]
        out.offset_ = self.offset_[:p]
        out.explained_variance_ratio_ = self.explained_variance_ratio_[:p]
        out.n_components_ = p
        out._umap = None
        return out

    def fit_transform(self, X: Any, *, name: str = "X") -> np.ndarray:
        r"""``fit(X)`` then ``transform(X)``; ``(n, d) -> (n, p)``."""
        return self.fit(X, name=name).transform(X, name=name)


def embed(
    X: Any,
    *,
    method: EmbeddingMethod = "pca",
    n_components: int = 10,
    max_fit_rows: int = 20_000,
    seed: int = 0,
) -> np.ndarray:
    r"""Standardise and reduce ``X`` with a freshly fitted :class:`Embedding`.

    Args:
        X: ``(n, d)`` real array (may be a ``numpy.memmap``).
        method: ``"pca"`` (default) or ``"umap"`` (needs ``umap-learn``).
        n_components: Maximum output dimension (docs/method.md: 10).
        max_fit_rows: Rows used to fit the embedding (docs/method.md: 20,000).
        seed: Seed of the fitting sample (and of UMAP).

    Returns:
        ``(n, p)`` float64 embedding with ``1 <= p <= n_components``.
    """
    return Embedding(
        method=method, n_components=n_components, max_fit_rows=max_fit_rows, seed=seed
    ).fit_transform(X)
