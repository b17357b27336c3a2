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

The loop gives a share of each batch to the best fused utility, or a GP's expected
improvement, inside the region (``stage3.batch.trust_region_share``,
``.trust_region_model``); the rest of the batch is chosen over all candidates. With
``stage3.batch.trust_region_adaptive`` that share follows where the recent improvements came
from (:func:`region_credit`): each past batch's region is recomputed from the history, and the
measured designs inside it and outside it are two arms whose improvement rates split the
batch's slots. With
``stage2.box.trust_region_polish > 0`` a short local search on that GP's expected
improvement (:func:`refine_trust_region_codes`) adds the best designs it finds inside the
region: a few hundred uniform draws are sparse in ten dimensions, and standard BO optimises
its acquisition rather than sampling it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from axfusion.candidates._validation import check_non_negative_int
from axfusion.candidates.local import feasible_codes, gaussian_moves, move_mask
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
    credit: RegionCredit | None = None

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
        out: dict[str, float | int] = {
            "length": float(self.length),
            "successes": int(self.successes),
            "failures": int(self.failures),
            "restarts": int(self.restarts),
        }
        if self.credit is not None:
            out.update(self.credit.as_dict())
        return out


@dataclass(frozen=True)
class RegionCredit:
    r"""Where the recent improvements of a box campaign came from.

    Over the last batches (:func:`region_credit`), every measured design is counted as inside
    or outside the trust region of its own batch, and as a hit when it beat the best design
    measured before that batch (by more than ``1e-3 |best|``, TuRBO's success rule).

    Attributes:
        hits_in, picks_in: Hits and measured designs inside their batch's region.
        hits_out, picks_out: The same outside it.
    """

    hits_in: int = 0
    picks_in: int = 0
    hits_out: int = 0
    picks_out: int = 0

    @property
    def local_share(self) -> float:
        r"""The region's share of the two arms' improvement rates, each a posterior mean under a
        uniform prior: ``r_in / (r_in + r_out)``, ``r = (hits + 1) / (picks + 2)``; ``0.5``
        with no history."""
        r_in = (self.hits_in + 1.0) / (self.picks_in + 2.0)
        r_out = (self.hits_out + 1.0) / (self.picks_out + 2.0)
        return r_in / (r_in + r_out)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "hits_in": self.hits_in, "picks_in": self.picks_in, "hits_out": self.hits_out,
            "picks_out": self.picks_out, "local_share": float(self.local_share),
        }


def region_credit(
    space: SearchSpace,
    codes: np.ndarray,
    values: np.ndarray,
    iterations: np.ndarray,
    q: int,
    *,
    window: int = 10,
) -> RegionCredit:
    r"""Hits and picks inside and outside the trust region over the last ``window`` batches.

    Each batch's region is the one the loop used for it: centred on the best design measured
    before the batch, its side from :func:`trust_region_length` on the batches before it. A
    pure function of the measurements in batch order, so a resumed campaign agrees.

    Args:
        space: The search space of ``codes``.
        codes: ``(n, D)`` codes of the successful measurements.
        values: ``(n,)`` their values, larger is better.
        iterations: ``(n,)`` the iteration of each; the smallest is the initial design.
        q: Batch size (TuRBO's failure tolerance).
        window: Batches counted, the last ones.

    Returns:
        The :class:`RegionCredit`.
    """
    codes = np.asarray(codes, dtype=np.float64).reshape(-1, space.dim)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    iterations = np.asarray(iterations).reshape(-1)
    if not codes.shape[0] == values.size == iterations.size:
        raise ValueError(
            f"region_credit needs as many codes, values and iterations; got {codes.shape[0]}, {values.size}, "
            f"{iterations.size}."
        )
    if values.size == 0 or window < 1:
        return RegionCredit()
    first, last = int(iterations.min()), int(iterations.max())
    batches = [values[iterations == i] for i in range(first, last + 1)]
    hits_in = picks_in = hits_out = picks_out = 0
    for b in range(max(1, len(batches) - window), len(batches)):
        rows = np.flatnonzero(iterations == first + b)
        before = np.flatnonzero(iterations < first + b)
        if rows.size == 0 or before.size == 0:
            continue
        best_row = before[int(np.argmax(values[before]))]
        best = float(values[best_row])
        length = trust_region_length(batches[:b], q, space.dim)[0]
        inside = TrustRegion(center=codes[best_row], length=length).contains(space, codes[rows])
        hit = values[rows] > best + 1e-3 * abs(best)
        hits_in, picks_in = hits_in + int((hit & inside).sum()), picks_in + int(inside.sum())
        hits_out, picks_out = hits_out + int((hit & ~inside).sum()), picks_out + int((~inside).sum())
    return RegionCredit(hits_in, picks_in, hits_out, picks_out)


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
    mask = move_mask(rng, n, D, min(1.0, 20.0 / D))
    draws = b[:, 0] + rng.random((n, D)) * (b[:, 1] - b[:, 0])
    return feasible_codes(space, np.where(mask, draws, center[None, :]))


def refine_trust_region_codes(
    space: SearchSpace,
    region: TrustRegion,
    codes: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray],
    *,
    rounds: int = 3,
    keep: int = 10,
    per_anchor: int = 50,
    scale: float = 0.25,
    seed: int = 0,
) -> np.ndarray:
    r"""A local search on ``score`` inside the region, started from ``codes``.

    Each round takes the ``keep`` best designs seen so far and draws ``per_anchor``
    perturbations of each: every coordinate moves with probability ``min(1, 20 / D)`` (at
    least one) by ``N(0, (s L range)^2)``, ``s = scale / 2^round``, clipped to the region;
    categorical and integer values stay exact, draws that violate a linear constraint are
    dropped.

    Args:
        codes: ``(k, D)`` starting codes (inside the region).
        score: ``(m, D)`` codes to ``m`` scores, larger is better.
        rounds: Rounds of the search (0: none).

    Returns:
        ``(j, D)`` codes, ``j <= keep``: the best drawn designs that are not among
        ``codes``, best first.
    """
    rounds, keep, per_anchor = (check_non_negative_int(v, n) for v, n in ((rounds, "rounds"), (keep, "keep"),
                                                                          (per_anchor, "per_anchor")))
    codes = np.asarray(codes, dtype=np.float64).reshape(-1, space.dim)
    if rounds == 0 or keep == 0 or per_anchor == 0 or codes.shape[0] == 0:
        return np.empty((0, space.dim))
    rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
    b = region.bounds(space)
    D = space.dim
    seen = {tuple(c) for c in codes.tolist()}
    pool, values = codes, np.asarray(score(codes), dtype=np.float64)
    new_codes: list[np.ndarray] = []
    new_values: list[np.ndarray] = []
    for r in range(rounds):
        order = np.argsort(-np.where(np.isfinite(values), values, -np.inf), kind="stable")[:keep]
        base = np.repeat(space.codes_to_vectors(pool[order]), per_anchor, axis=0)
        step_scale = np.full(base.shape[0], scale / 2**r)
        drawn = feasible_codes(space, gaussian_moves(rng, base, step_scale, b, min(1.0, 20.0 / D)))
        fresh: list[int] = []
        for i, c in enumerate(drawn.tolist()):
            if tuple(c) not in seen:
                seen.add(tuple(c))
                fresh.append(i)
        if not fresh:
            continue
        drawn = drawn[fresh]
        v = np.asarray(score(drawn), dtype=np.float64)
        new_codes.append(drawn)
        new_values.append(v)
        pool, values = np.concatenate([pool, drawn]), np.concatenate([values, v])
    if not new_codes:
        return np.empty((0, D))
    found, found_values = np.concatenate(new_codes), np.concatenate(new_values)
    best = np.argsort(-np.where(np.isfinite(found_values), found_values, -np.inf), kind="stable")[:keep]
    return found[best]
