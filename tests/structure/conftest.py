r"""Shared synthetic data for the structure tests."""

from __future__ import annotations

import numpy as np
import pytest


def make_blobs(
    n_per: int, centers: np.ndarray, scale: float, seed: int, extra_dims: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Isotropic Gaussian blobs: ``(len(centers) * n_per, p + extra_dims)`` points and labels.

    Extra dimensions are pure noise with the blobs' own scale (low-variance nuisance
    columns would be blown up by the per-feature standardisation).
    """
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    X = np.concatenate([c + scale * rng.normal(size=(n_per, centers.shape[1])) for c in centers])
    if extra_dims:
        X = np.hstack([X, scale * rng.normal(size=(X.shape[0], extra_dims))])
    return X, np.repeat(np.arange(len(centers)), n_per)


@pytest.fixture
def blobs():
    r"""The :func:`make_blobs` function, as a fixture (test modules cannot import conftest)."""
    return make_blobs


@pytest.fixture
def blobs_with_bridge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Two 2-D blobs at (-4, -4) and (4, 4) joined by a sparse bridge of 40 points.

    The layout is symmetric in both coordinates, so per-feature standardisation keeps
    the blobs round.  Returns ``(X, core_mask, bridge_mask)`` with ``X`` of shape
    ``(840, 2)``: rows 0-399 blob A, 400-799 blob B, 800-839 the bridge.
    """
    rng = np.random.default_rng(11)
    a = 0.8 * rng.normal(size=(400, 2)) + [-4.0, -4.0]
    b = 0.8 * rng.normal(size=(400, 2)) + [4.0, 4.0]
    t = rng.uniform(-2.0, 2.0, size=40)
    bridge = np.c_[t, t] + 0.2 * rng.normal(size=(40, 2))
    X = np.concatenate([a, b, bridge])
    core = (np.linalg.norm(X - [-4.0, -4.0], axis=1) < 0.6) | (
        np.linalg.norm(X - [4.0, 4.0], axis=1) < 0.6
    )
    bridge_mask = np.arange(X.shape[0]) >= 800
    return X, core, bridge_mask
