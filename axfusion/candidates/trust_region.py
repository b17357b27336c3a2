r"""A trust region around the incumbent of a box campaign (TuRBO's step-size rule).

Measured on mixed Rosenbrock-10D (docs/method.md, "Trust region"), the box candidates hold
designs far better than the incumbent, yet no surrogate -- the reservoir, any single family,
or a plain GP fitted on every measurement -- ranks the best few percent of them: far from the
measured designs every model extrapolates. Standard BO wins such boxes by local descent: its
acquisition optimiser starts at the incumbent and the GP is accurate next to its data. This
module makes that contraction explicit, as the issue's "bandwidth collapses onto the dominant
cluster" asks:

- a hyper-rectangle of side ``L`` (a share of each optimiser coordinate's range) centred on
  the best measured design;
- ``L`` follows TuRBO's rule (Eriksson et al., NeurIPS 2019): doubled after ``success_tol``
  consecutive batches that improve the incumbent (by more than ``1e-3 |best|``), halved after
  ``fail_tol = ceil(max(4, D) / q)`` consecutive batches that do not, within
  ``[length_min, length_max]``; below ``length_min`` it restarts at ``length_init``;
- ``L`` is recomputed from the campaign's history at every iteration (a pure function of
  the measured values in batch order), so a resumed campaign continues exactly;
- candidates inside the region are drawn as TuRBO does: each coordinate moves with
  probability ``min(1, 20 / D)`` (at least one always does) to a uniform value in the region.

The loop gives a share of each batch to the best fused utility inside the region
(``stage3.batch.trust_region_share``); the rest of the batch is chosen over all candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from axfusion.candidates._validation import check_non_negative_int
from axfusion.candidates.space import SearchSpace


@dataclass(frozen=True)
class TrustRegion:
    r"""The trust region of one iteration.

    Attributes:
        center: ``(D,)`` codes of the incumbent (the best measured design).
        length: Side ``L`` as a share of each optimiser coordinate's range.
        successes: Consecutive improving batches at the end of the history.
        failures: Consecutive non-improving batches at the end of the history.
        restarts: How often ``L`` fell below its minimum and restarted.
    """

    center: np.ndarray
    length: float
    successes: int = 0
    failures: int = 0
    restarts: int = 0

    def bounds(self, space: SearchSpace) -> np.ndarray:
        r"""``(D, 2)`` lower and upper optimiser-vector bounds of the region (clipped to the box)."""
        lo, hi = space.bounds[:, 0], space.bounds[:, 1]
        c = space.codes_to_vectors(self.center[None, :])[0]
        half = 0.5 * self.length * (hi - lo)
        return np.column_stack([np.maximum(c - half, lo), np.minimum(c + half, hi)])

    def contains(self, space: SearchSpace, codes: np.ndarray) -> np.ndarray:
        r"""``(k,)`` bool: which of ``(k, D)`` codes lie in the region."""
        b = self.bounds(space)
        V = space.codes_to_vectors(np.asarray(codes, dtype=np.float64))
        tol = 1e-9 * (space.bounds[:, 1] - space.bounds[:, 0])
        return np.all((V >= b[:, 0] - tol) & (V <= b[:, 1] + tol), axis=1)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "length": float(self.length),
            "successes": int(self.successes),
            "failures": int(self.failures),
            "restarts": int(self.restarts),
        }


def trust_region_length(
    batches: Sequence[np.ndarray],
    q: int,
    dim: int,
    *,
    length_init: float = 0.8,
    length_min: float = 0.5**7,
    length_max: float = 1.6,
    success_tol: int = 3,
) -> tuple[float, int, int, int]:
    r"""TuRBO's side length after the measured batches.

    Args:
        batches: Larger-is-better values per iteration, in order: ``batches[0]`` the initial
            design, then one array per batch (empty arrays -- all failed -- count as failures).
        q: Batch size (sets ``fail_tol = ceil(max(4, dim) / q)``).
        dim: Number of parameters ``D``.
        length_init, length_min, length_max: TuRBO's ``L_init``, ``L_min``, ``L_max``.
        success_tol: Consecutive improving batches that double ``L``.

    Returns:
        ``(L, successes, failures, restarts)``.
    """
    if q < 1 or dim < 1:
        raise ValueError(f"trust_region_length needs q >= 1 and dim >= 1; got q={q}, dim={dim}.")
    fail_tol = math.ceil(max(4.0, float(dim)) / q)
    best = -np.inf
    length, succ, fail, restarts = float(length_init), 0, 0, 0
    for i, values in enumerate(batches):
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        top = float(v.max()) if v.size else -np.inf
        if i == 0:
            best = top
            continue
        if np.isfinite(top) and (not np.isfinite(best) or top > best + 1e-3 * abs(best)):
            succ, fail = succ + 1, 0
        else:
            succ, fail = 0, fail + 1
        best = max(best, top)
        if succ >= success_tol:
            length, succ = min(2.0 * length, length_max), 0
        elif fail >= fail_tol:
            length, fail = length / 2.0, 0
        if length < length_min:
            length, succ, fail, restarts = float(length_init), 0, 0, restarts + 1
    return length, succ, fail, restarts


def sample_trust_region_codes(space: SearchSpace, region: TrustRegion, n: int, *, seed: int = 0) -> np.ndarray:
    r"""Codes of ``n`` designs in the region, drawn as TuRBO does.

    Each coordinate of the incumbent moves with probability ``min(1, 20 / D)`` (at least one
    always moves) to a uniform value in the region's range; categorical and integer values are
    exact (:meth:`~axfusion.candidates.SearchSpace.vectors_to_codes`); draws that violate a
    linear constraint are dropped.

    Returns:
        ``(m, D)`` codes, ``m <= n``.
    """
    n = check_non_negative_int(n, "n")
    D = space.dim
    if n == 0:
        return np.empty((0, D))
    rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
    b = region.bounds(space)
    center = space.codes_to_vectors(region.center[None, :])[0]
    mask = rng.random((n, D)) < min(1.0, 20.0 / D)
    mask[np.arange(n), rng.integers(0, D, size=n)] = True
    draws = b[:, 0] + rng.random((n, D)) * (b[:, 1] - b[:, 0])
    vectors = np.where(mask, draws, center[None, :])
    codes = space.vectors_to_codes(vectors)
    if space.linear_constraints:
        codes = codes[space.feasible_codes(codes)]
    return codes
