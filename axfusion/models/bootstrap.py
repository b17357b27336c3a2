r"""Target-biased cluster bootstrap (Stage 1).

Within each structural cluster ``c`` of the evaluated designs, rows whose
target exceeds the cluster median get more probability mass, in a
temperature-free way (docs/method.md, "code's weighting"):

.. math::

    s_i = \max(y_i - \mathrm{median}_c, 0) / \mathrm{IQR}_c, \qquad
    \mathrm{raw}_i = \exp(s_i - \max_{j \in c} s_j),

clustered rows share ``clustered_mass`` (0.9) of the probability in
proportion to ``raw``; noise rows (label ``-1``) share the rest uniformly.
Half of the members draw from ``rho * uniform + (1 - rho) * biased`` with
``rho ~ U(0.6, 1)``; the other half are plain uniform bootstraps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BootstrapPlan", "plan_bootstrap", "target_biased_probabilities"]


def target_biased_probabilities(
    y: np.ndarray,
    labels: np.ndarray,
    *,
    clustered_mass: float = 0.9,
) -> np.ndarray:
    r"""Sampling probabilities that favour high targets inside each cluster.

    Args:
        y: ``n`` targets, oriented so that larger is better.
        labels: ``n`` cluster labels; ``-1`` marks noise points.
        clustered_mass: Probability mass shared by the clustered rows (the
            noise rows share ``1 - clustered_mass``).

    Returns:
        ``n`` probabilities summing to one.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if y.shape != labels.shape:
        raise ValueError(f"y has {y.size} rows but labels has {labels.size}.")
    if not 0.0 < clustered_mass <= 1.0:
        raise ValueError("clustered_mass must lie in (0, 1].")
    n = y.size
    raw = np.zeros(n)
    clustered = labels >= 0
    for c in np.unique(labels[clustered]):
        idx = np.flatnonzero(labels == c)
        yc = y[idx]
        med = np.median(yc)
        scale = np.subtract(*np.percentile(yc, [75, 25]))
        if not scale > 0:
            scale = yc.std()
        if not scale > 0:
            scale = 1.0
        s = np.maximum(yc - med, 0.0) / scale
        raw[idx] = np.exp(s - s.max())
    noise = ~clustered
    probs = np.zeros(n)
    if clustered.any():
        mass = clustered_mass if noise.any() else 1.0
        probs[clustered] = mass * raw[clustered] / raw[clustered].sum()
    if noise.any():
        mass = 1.0 - clustered_mass if clustered.any() else 1.0
        probs[noise] = mass / noise.sum()
    return probs / probs.sum()


@dataclass(frozen=True)
class BootstrapPlan:
    r"""Row indices of every member's bootstrap sample.

    Attributes:
        indices: ``B`` arrays of ``n`` row indices (with repetition).
        biased: ``B`` flags: whether the member used the target-biased mixture.
        rho: ``B`` mixing weights of the uniform part (1 for uniform members).
    """

    indices: tuple[np.ndarray, ...]
    biased: np.ndarray
    rho: np.ndarray

    def oob_mask(self, b: int, n: int) -> np.ndarray:
        r"""Boolean ``n``-mask of the rows member ``b`` did not draw."""
        mask = np.ones(n, dtype=bool)
        mask[self.indices[b]] = False
        return mask


def plan_bootstrap(
    n: int,
    n_members: int,
    rng: np.random.Generator,
    *,
    biased_probs: np.ndarray | None = None,
    biased_fraction: float = 0.5,
    rho_range: tuple[float, float] = (0.6, 1.0),
    min_oob: int = 2,
    max_redraws: int = 20,
) -> BootstrapPlan:
    r"""Draw the bootstrap samples of ``n_members`` members.

    Args:
        n: Number of training rows.
        n_members: Number of members ``B``.
        rng: Random generator (consumed deterministically).
        biased_probs: Target-biased probabilities from
            :func:`target_biased_probabilities`; ``None`` draws every member
            uniformly.
        biased_fraction: Share of members drawn from the biased mixture.
        rho_range: Range of the uniform weight ``rho`` of biased members.
        min_oob: Redraw a sample that leaves fewer out-of-bag rows than this
            (so every member can be scored), up to ``max_redraws`` times.
        max_redraws: Redraw limit.

    Returns:
        The :class:`BootstrapPlan`.
    """
    if n < 2:
        raise ValueError(f"A bootstrap needs at least 2 rows, got {n}.")
    if n_members < 1:
        raise ValueError("n_members must be >= 1.")
    uniform = np.full(n, 1.0 / n)
    n_biased = int(round(biased_fraction * n_members)) if biased_probs is not None else 0
    indices: list[np.ndarray] = []
    biased = np.zeros(n_members, dtype=bool)
    rho = np.ones(n_members)
    for b in range(n_members):
        p = uniform
        if b < n_biased:
            biased[b] = True
            rho[b] = rng.uniform(*rho_range)
            p = rho[b] * uniform + (1.0 - rho[b]) * biased_probs
            p = p / p.sum()
        for _ in range(max_redraws):
            idx = rng.choice(n, size=n, replace=True, p=p)
            if n - np.unique(idx).size >= min(min_oob, n - 1):
                break
        indices.append(np.sort(idx))
    return BootstrapPlan(indices=tuple(indices), biased=biased, rho=rho)
