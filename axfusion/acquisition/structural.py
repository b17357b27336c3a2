r"""The structural weight pi(x) as a function of the inputs.

Stage 2 (:func:`axfusion.structure.structural_weights`) computes ``pi`` for every
row of a candidate set. Acquisition functions see tensors, not row ids, so
:class:`StructuralWeight` maps any ``x`` to the ``pi`` of the nearest candidate
(exactly its own value for a candidate row), through a k-d tree built once on
the standardised candidate set.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

__all__ = ["StructuralWeight"]


class StructuralWeight:
    r"""Look up ``pi(x)`` from a candidate set's structural weights.

    Args:
        points: ``k x d`` candidate inputs (the space the acquisition sees).
        pi: ``k`` structural weights in (0, 1].
        default: Weight for an ``x`` farther than ``max_distance`` (in
            standardised units) from every candidate; ``None`` always uses the
            nearest candidate.
        max_distance: See ``default``.
    """

    def __init__(
        self,
        points: np.ndarray | Tensor,
        pi: np.ndarray | Tensor,
        *,
        default: float | None = 1.0,
        max_distance: float = 1e-6,
    ) -> None:
        P = points.detach().cpu().numpy() if isinstance(points, Tensor) else np.asarray(points)
        w = pi.detach().cpu().numpy() if isinstance(pi, Tensor) else np.asarray(pi)
        P = np.asarray(P, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if P.ndim != 2 or P.shape[0] != w.size:
            raise ValueError(f"points ({P.shape}) and pi ({w.shape}) must describe the same k candidates.")
        if np.any(~np.isfinite(w)) or np.any(w <= 0) or np.any(w > 1):
            raise ValueError("Structural weights must lie in (0, 1].")
        self._mean = P.mean(axis=0)
        std = P.std(axis=0)
        self._std = np.where(std > 1e-12, std, 1.0)
        self._tree = cKDTree((P - self._mean) / self._std)
        self.pi = w
        self.default = default
        self.max_distance = max_distance

    def __call__(self, X: Tensor) -> Tensor:
        r"""``pi`` at ``X`` (``batch x q x d`` -> ``batch x q``)."""
        flat = X.detach().cpu().numpy().reshape(-1, X.shape[-1])
        dist, idx = self._tree.query((flat - self._mean) / self._std, k=1)
        out = self.pi[idx]
        if self.default is not None:
            out = np.where(dist <= self.max_distance, out, self.default)
        return torch.as_tensor(out, dtype=X.dtype, device=X.device).reshape(X.shape[:-1])
