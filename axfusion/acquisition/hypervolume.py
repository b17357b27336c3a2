r"""Multi-objective fusion: expected hypervolume improvement per family.

For ``m > 1`` targets (docs/method.md, Stage 3): the targets' residual correlation
``Corr`` (from the members' out-of-bag residuals) couples correlated Monte
Carlo samples ``N(mu_m, diag(sigma_m) Corr diag(sigma_m))`` per family; each
sample's hypervolume improvement over the current Pareto front is computed on
BoTorch's box decomposition of the non-dominated region
(:class:`~botorch.utils.multi_objective.box_decompositions.non_dominated.FastNondominatedPartitioning`,
the same cells :class:`~botorch.acquisition.multi_objective.qExpectedHypervolumeImprovement`
integrates over). The multi-objective score is

.. math::

    U_\mathrm{MO}(x) = \sum_m e_m \, \mathrm{EHVI}_m(x) + 0.1 \, \mathrm{std}_m \mathrm{EHVI}_m(x).

Everything is in oriented, standardised units (larger is better).
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)

from axfusion.settings import HypervolumeConfig

__all__ = ["HypervolumeConfig", "data_reference_point", "ehvi_scores", "hypercell_bounds"]


def data_reference_point(Y: np.ndarray, margin: float = 0.1) -> np.ndarray:
    r"""Reference point below the observed front: ``min - margin * range``.

    Args:
        Y: ``n x m`` oriented observations.

    Returns:
        ``m`` reference coordinates.
    """
    Y = np.asarray(Y, dtype=np.float64)
    span = Y.max(axis=0) - Y.min(axis=0)
    span = np.where(span > 0, span, 1.0)
    return Y.min(axis=0) - margin * span


def hypercell_bounds(Y: np.ndarray, ref_point: np.ndarray) -> np.ndarray:
    r"""Lower/upper corners of the cells of the non-dominated region.

    Args:
        Y: ``n x m`` oriented observations.
        ref_point: ``m`` reference point.

    Returns:
        ``2 x C x m`` cell bounds (BoTorch's box decomposition).
    """
    part = FastNondominatedPartitioning(
        ref_point=torch.as_tensor(ref_point, dtype=torch.float64),
        Y=torch.as_tensor(Y, dtype=torch.float64),
    )
    return part.get_hypercell_bounds().numpy()


def _hvi(samples: np.ndarray, cells: np.ndarray) -> np.ndarray:
    r"""Hypervolume improvement of each sample point: ``... x m -> ...``."""
    lo, hi = cells[0], cells[1]  # C x m
    ext = np.clip(np.minimum(samples[..., None, :], hi) - lo, 0.0, None)  # ... x C x m
    return ext.prod(axis=-1).sum(axis=-1)


def ehvi_scores(
    mu: np.ndarray,
    sigma: np.ndarray,
    corr: np.ndarray,
    Y: np.ndarray,
    family_weights: np.ndarray,
    *,
    ref_point: np.ndarray | None = None,
    config: HypervolumeConfig = HypervolumeConfig(),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The multi-objective fusion score at ``k`` candidates.

    Args:
        mu: ``M x k x m`` oriented standardised family means.
        sigma: ``M x k x m`` family stds.
        corr: ``m x m`` residual correlation between targets.
        Y: ``n x m`` oriented standardised observations.
        family_weights: ``M`` calibration weights ``e_m``.
        ref_point: ``m`` reference point; from the data when ``None``.
        config: :class:`HypervolumeConfig`.
        seed: Seed of the (common) standard-normal base samples.

    Returns:
        ``(U_MO, ehvi)``: ``k`` scores and the ``M x k`` per-family EHVI.
    """
    M, k, m = mu.shape
    if ref_point is None:
        ref_point = data_reference_point(Y, config.reference_margin)
    cells = hypercell_bounds(Y, np.asarray(ref_point, dtype=np.float64))
    C = np.asarray(corr, dtype=np.float64)
    # nearest PSD factor of the correlation
    w, V = np.linalg.eigh(0.5 * (C + C.T))
    L = V * np.sqrt(np.clip(w, 1e-9, None))
    base = np.random.default_rng(seed).standard_normal((config.n_samples, m)) @ L.T  # S x m
    ehvi = np.zeros((M, k))
    for start in range(0, k, config.chunk_size):
        sl = slice(start, start + config.chunk_size)
        # M x S x c x m correlated samples sharing the base draws (common random numbers)
        samples = mu[:, None, sl, :] + sigma[:, None, sl, :] * base[None, :, None, :]
        ehvi[:, sl] = _hvi(samples, cells).mean(axis=1)
    fw = np.asarray(family_weights, dtype=np.float64).reshape(M, 1)
    score = (fw * ehvi).sum(axis=0) + config.spread_weight * ehvi.std(axis=0)
    return score, ehvi
