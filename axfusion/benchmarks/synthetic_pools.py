r"""Generated closed pools: large pools (10^4 - 10^6 rows) rebuilt from a seed.

The real pools of the harness hold at most a few thousand rows. A user's pool can hold
millions (the fusion paper's largest has 4 x 10^6), and there the method must keep
exploring until it finds the good region, every initial measurement being poor (the
harness draws the initial rows at or below the median). These generators make such
pools without a download, deterministically: rows are generated in fixed chunks of
:data:`CHUNK` rows, each from its own random stream, so the first ``N`` rows of a pool do
not depend on ``N`` (a 10^6-row pool starts with the 10^4-row pool of the same seed).

Pools (``name``: ``d`` features, the target, maximised):

- ``smooth20``: uniform features in ``[0, 1]^20``; a smooth target of ten of them (a
  quadratic bowl around an interior point plus a ripple) -- the top rows lie where the
  trend of the whole pool points (the ``d = 20`` pool of ``benchmarks/bench_speed.py``).
- ``latent135``: 135 correlated columns like Magpie's (a rank-12 mix of latent factors
  plus noise; a third exponentiated -- skewed, positive --, a third rounded to integers);
  the target is a smooth function of four latent factors plus a ripple and a trend
  (the ``d = 135`` pool of ``benchmarks/bench_speed.py``).
- ``needle10``: 10 features drawn from a mixture of 40 Gaussian clusters of unequal sizes
  and widths (families of related materials); the target is a smooth trend towards a
  point inside the pool plus a bump on a small cluster (:data:`NEEDLE_FRACTION` = 0.2 % of
  the rows) placed far from that point, lifting the cluster's centre :data:`NEEDLE_HEIGHT`
  times the trend's drop from the point to it. The top rows are the bump's: the trend
  of the measured rows points away from them, so a method finds them only by exploring
  clusters it has not measured -- a deceptive pool, as a user's large pool can be.

Shapes: ``N`` rows, ``d`` features; features are ``float32`` (as a large pool is stored),
targets ``float64``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "CHUNK", "GENERATED_POOLS", "NEEDLE_FRACTION", "NEEDLE_HEIGHT", "array_dataset", "generated_dataset", "pool_chunk",
    "pool_data",
]

#: Rows per generation chunk (the data do not depend on anything else).
CHUNK = 65_536
#: ``needle10``: the bump lifts its cluster's centre this many times the trend's drop from its peak.
NEEDLE_HEIGHT = 1.5
#: ``needle10``: fraction of the rows in the bump's cluster.
NEEDLE_FRACTION = 0.002
_NEEDLE_CLUSTERS = 40


def _smooth20(rng: np.random.Generator, fixed: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.random((n, 20))
    centre = np.linspace(0.2, 0.8, 10)
    z = X[:, :10]
    y = -4.0 * ((z - centre) ** 2).mean(axis=1) + 0.3 * np.sin(6.0 * np.pi * z[:, :5]).mean(axis=1)
    return X, y


def _latent135(rng: np.random.Generator, fixed: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    k = 12
    W = fixed.normal(size=(k, 135)) / math.sqrt(k)
    scale = np.exp(fixed.normal(size=135))
    offset = fixed.normal(size=135) * 3.0
    G = rng.normal(size=(n, k))
    E = rng.normal(size=(n, 135))
    Z = G @ W + 0.3 * E
    X = np.empty_like(Z)
    X[:, :45] = np.exp(0.5 * Z[:, :45]) * scale[:45]
    X[:, 45:90] = np.round(2.0 * Z[:, 45:90] + 6.0)
    X[:, 90:] = Z[:, 90:] * scale[90:] + offset[90:]
    centre = fixed.normal(size=4) * 0.5
    y = -((G[:, :4] - centre) ** 2).mean(axis=1) + 0.3 * np.sin(2.0 * G[:, 4]) + 0.1 * G[:, 5]
    return X, y


def _needle10(rng: np.random.Generator, fixed: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    d, K = 10, _NEEDLE_CLUSTERS
    centres = fixed.random((K, d))
    widths = fixed.uniform(0.03, 0.10, size=K)
    weights = fixed.dirichlet(np.ones(K)) * (1.0 - NEEDLE_FRACTION)
    peak = fixed.uniform(0.2, 0.8, size=d)
    # the bump's cluster: of 256 random points, the one farthest from the trend's peak
    far = fixed.random((256, d))
    needle = far[np.argmax(((far - peak) ** 2).sum(axis=1))]
    centres = np.vstack([centres, needle])
    widths = np.append(widths, 0.05)
    weights = np.append(weights, NEEDLE_FRACTION)
    labels = rng.choice(K + 1, size=n, p=weights / weights.sum())
    X = centres[labels] + widths[labels, None] * rng.normal(size=(n, d))
    trend = -((X - peak) ** 2).mean(axis=1) + 0.05 * np.sin(4.0 * np.pi * X[:, :3]).mean(axis=1)
    # the bump lifts its centre NEEDLE_HEIGHT times the trend's drop from the peak to it;
    # its width (0.15) covers the cluster (rows lie ~0.16 from its centre in 10-D)
    height = NEEDLE_HEIGHT * float(((needle - peak) ** 2).mean())
    bump = height * np.exp(-((X - needle) ** 2).sum(axis=1) / (2.0 * 0.15**2))
    return X, trend + bump


#: name -> (width ``d``, generator ``(chunk stream, fixed stream, rows) -> (X, y)``, one line).
GENERATED_POOLS: dict[str, tuple[int, Callable[..., tuple[np.ndarray, np.ndarray]], str]] = {
    "smooth20": (20, _smooth20, "uniform features in [0, 1]^20, a smooth bowl plus a ripple"),
    "latent135": (135, _latent135, "135 Magpie-like columns of 12 latent factors, a smooth latent target"),
    "needle10": (10, _needle10, "40 Gaussian clusters in 10-D; a trend away from a bump on 0.2 % of the rows"),
}
_KIND = {"smooth20": 20, "latent135": 135, "needle10": 10}


def _check(name: str) -> tuple[int, Callable[..., tuple[np.ndarray, np.ndarray]], str]:
    if name not in GENERATED_POOLS:
        raise ValueError(f"no generated pool {name!r}; choose one of {sorted(GENERATED_POOLS)}.")
    return GENERATED_POOLS[name]


def pool_chunk(name: str, start: int, stop: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Rows ``start .. stop`` (inside one chunk of :data:`CHUNK` rows) of pool ``name``.

    Returns:
        ``(stop - start) x d`` float32 features and ``stop - start`` float64 targets.
    """
    _, gen, _ = _check(name)
    c = start // CHUNK
    if stop > (c + 1) * CHUNK or stop < start:
        raise ValueError(f"rows {start}..{stop} do not lie inside one chunk of {CHUNK} rows.")
    kind = _KIND[name]
    rng = np.random.default_rng([seed, kind, c])
    fixed = np.random.default_rng([seed, kind])  # the pool's parameters: the same for every chunk
    X, y = gen(rng, fixed, CHUNK)  # always the whole chunk: the first N rows do not depend on N
    lo, hi = start - c * CHUNK, stop - c * CHUNK
    return X[lo:hi].astype(np.float32), np.asarray(y[lo:hi], dtype=np.float64)


def pool_data(name: str, n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The first ``n_rows`` rows of pool ``name``: ``n_rows x d`` float32 features, ``n_rows`` targets."""
    if int(n_rows) < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}.")
    Xs, ys = [], []
    for start in range(0, int(n_rows), CHUNK):
        X, y = pool_chunk(name, start, min(start + CHUNK, int(n_rows)), seed)
        Xs.append(X)
        ys.append(y)
    return np.concatenate(Xs), np.concatenate(ys)


def array_dataset(name: str, X: np.ndarray, y: np.ndarray, *, source: str = "", description: str = "") -> object:
    r"""An ``N x d`` feature array and its ``N`` targets as a :class:`~axfusion.data.Dataset`:
    columns ``x0 .. x{d-1}`` (float64), target ``y`` (maximised), row ids ``0 .. N-1``."""
    import pandas as pd

    from axfusion.data import Dataset

    index = pd.RangeIndex(len(y))
    return Dataset(
        name=name,
        X=pd.DataFrame(np.asarray(X, dtype=np.float64), columns=[f"x{j}" for j in range(X.shape[1])], index=index),
        Y=pd.DataFrame({"y": y}, index=index),
        ids=pd.Series(np.arange(len(y)), index=index),
        orientation={"y": "maximize"},
        source=source,
        description=description,
    )


def generated_dataset(name: str, n_rows: int, seed: int = 0) -> object:
    r"""Pool ``name``'s first ``n_rows`` rows as a :class:`~axfusion.data.Dataset` (target ``y``, maximised)."""
    _, _, text = _check(name)
    X, y = pool_data(name, n_rows, seed)
    return array_dataset(
        f"{name}_{n_rows}", X, y,
        source=f"generated: axfusion.benchmarks.synthetic_pools ({name}, seed {seed})",
        description=f"{n_rows} rows of the generated pool {name!r}: {text}.",
    )
