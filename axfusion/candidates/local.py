r"""Local candidates around the best evaluated designs (prototype neighbourhoods).

Differential evolution on the surrogates' landscapes (:mod:`axfusion.candidates.generation`)
and Sobol points cover the whole box. In a large continuous box (20-D Ackley, Rastrigin,
Schwefel) neither puts candidates close to the best designs measured so far, so the batch
cannot contract onto a promising basin. These candidates fill that gap: each is an evaluated
anchor design with a Gaussian step on a random subset of its coordinates, at one of several
scales (fractions of each coordinate's range), so the acquisition can choose between
short refinements and longer moves on the evidence of the surrogates; nothing here decides
which scale is right. Measured on 20-D Ackley and the mixed-variable functions, they do not
improve the fusion optimiser (the surrogates cannot rank nearby designs there; see the README's
test-function results), so :class:`~axfusion.optimizer.OptimizerConfig` leaves them off.

Steps are taken in the optimiser-vector space of :class:`~axfusion.candidates.space.SearchSpace`
(a categorical coordinate moves between levels when its step crosses a cell boundary,
integers are rounded); steps that leave the box are clipped, and with linear constraints
infeasible points are dropped (never repaired).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axfusion.candidates._validation import check_non_negative_int
from axfusion.candidates.space import SearchSpace

DEFAULT_SCALES: tuple[float, ...] = (0.2, 0.1, 0.05, 0.02, 0.01)
r"""Default step scales, as fractions of each coordinate's range."""


def sample_local_codes(
    space: SearchSpace,
    anchors: np.ndarray,
    n: int,
    *,
    scales: Sequence[float] = DEFAULT_SCALES,
    perturb_probability: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    r"""Codes of ``n`` designs near the anchors.

    Anchor ``i`` of ``a`` (ordered best first) is chosen with probability proportional to
    ``a - i``; the scale is chosen uniformly from ``scales``; each coordinate is perturbed with
    probability ``perturb_probability`` (default ``min(1, 20 / D)``, as in TuRBO; at least one
    coordinate always moves) by ``N(0, (scale · range)^2)``.

    Args:
        space: The search space (``D`` parameters).
        anchors: ``(a, D)`` codes of the anchor designs, best first (``a >= 1``).
        n: Number of designs to draw.
        scales: Step standard deviations as fractions of each coordinate's range, each in
            ``(0, 1]``.
        perturb_probability: Probability that a coordinate moves, in ``(0, 1]``.
        seed: Seed of the draws.

    Returns:
        ``(m, D)`` codes, ``m <= n``: draws that violate a linear constraint are dropped.
    """
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
    n = check_non_negative_int(n, "n")
    anchors = np.asarray(anchors, dtype=np.float64)
    if anchors.ndim != 2 or anchors.shape[1] != space.dim or anchors.shape[0] == 0:
        raise ValueError(
            f"anchors must be a non-empty (a, {space.dim}) array of codes, got shape {anchors.shape}"
        )
    if not np.isfinite(anchors).all():
        raise ValueError("anchors contain NaN or infinite codes")
    scale_values = np.asarray(tuple(scales), dtype=np.float64)
    if scale_values.size == 0 or not ((scale_values > 0) & (scale_values <= 1)).all():
        raise ValueError(f"scales must be a non-empty sequence of values in (0, 1], got {scale_values.tolist()}")
    D = space.dim
    p = min(1.0, 20.0 / D) if perturb_probability is None else float(perturb_probability)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"perturb_probability must be in (0, 1], got {perturb_probability}")
    if n == 0:
        return np.empty((0, D))

    rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
    a = anchors.shape[0]
    weights = np.arange(a, 0, -1, dtype=np.float64)
    which = rng.choice(a, size=n, p=weights / weights.sum())
    step_scale = rng.choice(scale_values, size=n)
    start = space.codes_to_vectors(anchors)[which]
    return feasible_codes(space, gaussian_moves(rng, start, step_scale, space.bounds, p))


def move_mask(rng: np.random.Generator, n: int, D: int, p: float) -> np.ndarray:
    r"""``(n, D)`` flags of the coordinates that move: each with probability ``p``, and at
    least one per row (TuRBO's perturbation mask)."""
    mask = rng.random((n, D)) < p
    mask[np.arange(n), rng.integers(0, D, size=n)] = True
    return mask


def gaussian_moves(
    rng: np.random.Generator, start: np.ndarray, step_scale: np.ndarray, bounds: np.ndarray, p: float
) -> np.ndarray:
    r"""``(n, D)`` optimiser vectors: ``start`` with the coordinates of :func:`move_mask` moved
    by ``N(0, (step_scale_i · width)^2)``, ``width`` the side of ``bounds`` (``(D, 2)``),
    clipped to ``bounds``.

    Args:
        start: ``(n, D)`` vectors.
        step_scale: ``(n,)`` step standard deviations as shares of each side.
    """
    n, D = start.shape
    width = bounds[:, 1] - bounds[:, 0]
    mask = move_mask(rng, n, D, p)
    steps = rng.standard_normal((n, D)) * step_scale[:, None] * width[None, :]
    return np.clip(start + mask * steps, bounds[:, 0], bounds[:, 1])


def feasible_codes(space: SearchSpace, vectors: np.ndarray) -> np.ndarray:
    r"""The codes of ``(n, D)`` optimiser vectors (exact categorical and integer values), the
    ones that violate a linear constraint dropped."""
    codes = space.vectors_to_codes(vectors)
    if space.linear_constraints:
        codes = codes[space.feasible_codes(codes)]
    return codes
