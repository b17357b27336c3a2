r"""Family slots of the batch: a hedge across the reservoir's hypotheses.

The fused utility ``U`` ranks the candidates by the families' consensus. With few
measurements, all of them far from the best designs, no family predicts well (out-of-bag
``R^2`` of 0-0.4 is typical at ``n`` = 20-50) and the consensus can be wrong as a whole:
every pick of a batch ranked by ``U`` alone then lands in the same wrong place. The family
slots spend ``floor(stage3.batch.family_share q)`` of the ``q`` slots on the families' own
hypotheses instead: slot ``j`` belongs to the ``j``-th family in order of decreasing
accuracy ``s_m`` (cycling when there are more slots than families), which draws one of its
bootstrap members at random -- a Thompson draw from the family's bootstrap distribution --
and takes the unchosen candidate that member predicts best
(:func:`~axfusion.acquisition.batch.select_batch`'s ``slot_scores``). A batch then holds the
consensus picks and each plausible family's best guess, so one family that ranks the top
designs well is enough to find them.

The batch's other extra slots, the exploration slots (``stage3.batch.explore_share``),
are scored by :meth:`axfusion.acquisition.FusionAcquisition.exploration`: mean + 2 std
with every family's std widened by its out-of-bag error away from the evaluated designs.

Shapes: ``M`` families, ``B`` members, ``k`` candidates, ``m`` targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from axfusion.acquisition.acqf import FusionMoments

__all__ = [
    "FamilyDraw", "adaptive_region_slots", "family_draws", "fused_draw_moments", "hit_coverage_slots",
    "sequential_slots", "slot_counts", "split_slots", "trust_region_slots",
]


@dataclass(frozen=True)
class FamilyDraw:
    r"""One family slot's Thompson draw.

    Attributes:
        family: Index of the family (ensemble order).
        member: Index of the drawn bootstrap member inside the family.
        values: ``k`` scalar values of the member's prediction (oriented, standardised;
            larger is better).
    """

    family: int
    member: int
    values: np.ndarray


def family_draws(
    members: np.ndarray,
    accuracy: np.ndarray,
    n_slots: int,
    rng: np.random.Generator,
    start: int = 0,
    probabilities: np.ndarray | None = None,
) -> list[FamilyDraw]:
    r"""The Thompson draws of ``n_slots`` family slots.

    Args:
        members: ``M x B x k x m`` member predictions, oriented (larger is better) and
            standardised on the evaluated set.
        accuracy: ``M`` family accuracies ``s_m`` (the order of the slots; ties keep the
            ensemble order).
        n_slots: Number of slots.
        rng: The iteration's generator (member draws; with several targets, the random
            weights that scalarise them).
        start: Position in the accuracy order of the first slot's family (the order is
            cycled: ``stage3.batch.family_order = "rotate"`` passes the slots taken by the
            batches before).
        probabilities: ``M`` probabilities (sum 1); when given, each slot's family is drawn
            from them (with replacement) instead of taken in accuracy order.

    Returns:
        One :class:`FamilyDraw` per slot, in slot order. With several targets a member's
        values are the augmented Chebyshev scalarisation ``min_t w_t o_t + 0.05 sum_t
        w_t o_t`` with weights drawn uniformly from the simplex, one set per slot.
    """
    if members.ndim != 4:
        raise ValueError(f"members must be M x B x k x m; got shape {members.shape}.")
    M, B, _, m = members.shape
    acc = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if acc.shape != (M,):
        raise ValueError(f"accuracy needs {M} values, one per family; got {acc.shape}.")
    order = np.argsort(-acc, kind="stable")
    p = None
    if probabilities is not None:
        p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if p.shape != (M,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
            raise ValueError(f"probabilities must be {M} non-negative values summing to 1; got {p}.")
    draws = []
    for j in range(int(n_slots)):
        f = int(order[(int(start) + j) % M]) if p is None else int(rng.choice(M, p=p))
        b = int(rng.integers(B))
        vals = members[f, b]
        if m == 1:
            scalar = vals[:, 0]
        else:
            w = rng.dirichlet(np.ones(m))
            scalar = (w * vals).min(axis=1) + 0.05 * (w * vals).sum(axis=1)
        draws.append(FamilyDraw(family=f, member=b, values=np.asarray(scalar, dtype=np.float64)))
    return draws


def hit_coverage_slots(
    members: np.ndarray,
    family_weights: np.ndarray,
    n_slots: int,
    top: int,
    covered: np.ndarray,
    support: np.ndarray,
) -> list[np.ndarray]:
    r"""Family slots that cover the members' hypotheses of where the best candidates are
    (``stage3.batch.family_rule = "coverage"``).

    Each bootstrap member ``(f, b)`` nominates its ``top`` best candidates on ``support``
    (its hypothesis of the top set) and carries weight ``w_f / B``. A member is *covered*
    once a candidate it nominates is in the batch: the ``covered`` rows (the fused picks)
    to start with, then each slot's pick. Slot ``j`` scores every candidate by the weight of
    the uncovered members nominating it -- the greedy step of maximising the posterior
    probability, under the reservoir's bootstrap, that the batch holds a row of the true top
    set -- with ties broken by the members' weighted mean. Where family draws
    (:func:`family_draws`) may draw two members that nominate the same rows, each slot here
    goes to the largest share of the hypotheses the batch misses so far.

    Args:
        members: ``M x B x k x m`` member predictions, oriented (larger is better) and
            standardised; several targets are averaged.
        family_weights: ``M`` non-negative weights of the families (sum 1).
        n_slots: Number of slots.
        top: How many candidates each member nominates.
        covered: Indices of candidates already in the batch.
        support: ``k`` flags of the candidates that may be picked.

    Returns:
        ``n_slots`` arrays of ``k`` scores, ``-inf`` off ``support``.
    """
    if members.ndim != 4:
        raise ValueError(f"members must be M x B x k x m; got shape {members.shape}.")
    M, B, k, _ = members.shape
    w = np.asarray(family_weights, dtype=np.float64).reshape(-1)
    if w.shape != (M,) or (w < 0).any():
        raise ValueError(f"family_weights must be {M} non-negative values; got {w}.")
    ok = np.asarray(support, dtype=bool)
    values = np.where(ok, members.mean(axis=-1), -np.inf).reshape(M * B, k)
    nominated = np.zeros((M * B, k), dtype=bool)
    if ok.any():
        n_top = max(1, min(int(top), int(ok.sum())))
        idx = np.argpartition(-values, n_top - 1, axis=1)[:, :n_top]
        np.put_along_axis(nominated, idx, True, axis=1)
    nominated &= ok
    weight = np.repeat(w / B, B)
    uncovered = np.ones(M * B, dtype=bool)
    for row in np.asarray(covered, dtype=int).reshape(-1):
        uncovered &= ~nominated[:, row]
    mean = weight @ np.where(np.isfinite(values), values, 0.0)
    spread = float(np.ptp(mean[ok])) if ok.any() else 0.0
    tie = 1e-6 * (mean - mean[ok].min()) / spread if spread > 0 else np.zeros(k)  # < one member's weight

    def score() -> np.ndarray:
        gain = (weight * uncovered) @ nominated
        return np.where(ok, gain + tie, -np.inf)

    def take(row: int) -> None:
        uncovered[nominated[:, row]] = False

    return sequential_slots(n_slots, score, take)


def fused_draw_moments(moments: FusionMoments, rng: np.random.Generator) -> FusionMoments:
    r"""One posterior draw of the reservoir, as moments the fusion acquisition scores.

    Every family's mean ``mu_m`` is replaced by the predictions of one of its ``B``
    bootstrap members, drawn uniformly at random and independently per family; the stds,
    the inputs and the members are kept. Scoring the draw with the calibrated
    :class:`~axfusion.acquisition.FusionAcquisition` gives the fused utility of one
    hypothesis per family -- Thompson sampling through the fusion acquisition
    (``stage3.batch.fused_draws``): the picks of different draws spread over the
    hypotheses the bootstrap holds, where the picks of ``U`` (the members' means) all
    follow the consensus.

    Args:
        moments: The candidates' :class:`~axfusion.acquisition.acqf.FusionMoments`
            (``members``: ``M x B x k x m``).
        rng: The iteration's generator.

    Returns:
        The moments with ``mu`` (``M x k x m``) taken from the drawn members.
    """
    M, B = moments.members.shape[:2]
    picks = rng.integers(B, size=M)
    return replace(moments, mu=moments.members[np.arange(M), picks])


def _floor_slots(share: float, q: int) -> int:
    r"""``floor(share q)``, robust to the rounding of ``share q`` (``0.3 x 10``)."""
    return int(np.floor(share * q + 1e-9))


def slot_counts(family_share: float, explore_share: float, q: int) -> tuple[int, int]:
    r"""How many family and exploration slots a batch of ``q`` holds.

    ``n_family = min(floor(family_share q), q - 1)`` and ``n_explore = min(floor(explore_share
    q), q - 1 - n_family)``: every batch keeps at least one pick by the fused utility, and
    small batches (``q = 2``: ``0.3 x 2 = 0.6``) hold no slot. Spreading the fractional slots
    over the iterations instead (a slot in three of every five batches of 2) was measured
    worse in the boxes: Hartmann-6 through Ax, batches of 2, seeds 0-2: -2.92, -2.28, -2.94
    against -3.10, -2.90, -2.66 (docs/method.md).

    Returns:
        ``(n_family, n_explore)``.
    """
    if q < 1:
        raise ValueError(f"slot_counts needs q >= 1; got q={q}.")
    n_family = min(_floor_slots(family_share, q), q - 1)
    n_explore = min(_floor_slots(explore_share, q), q - 1 - n_family)  # >= 0: n_family <= q - 1
    return n_family, n_explore


def trust_region_slots(share: float, q: int, n_other: int) -> int:
    r"""How many trust-region slots a box batch of ``q`` holds next to ``n_other`` family and
    exploration slots: ``min(ceil(share q), q - 1 - n_other)`` (at least one pick stays with
    the fused utility; ``q = 1`` holds none, ``q = 2`` one with any ``share > 0``).

    Returns:
        The slot count ``>= 0``.
    """
    if q < 1 or n_other < 0:
        raise ValueError(f"trust_region_slots needs q >= 1 and n_other >= 0; got q={q}, n_other={n_other}.")
    if share <= 0:
        return 0
    return max(0, min(int(np.ceil(share * q - 1e-9)), q - 1 - n_other))


def split_slots(
    region_share: float, family_share: float, explore_share: float, q: int, *, region_first: bool = True
) -> tuple[int, int, int]:
    r"""How many trust-region (a box) or GP (a pool's ``pool_gp_share``), family and exploration
    slots a batch of ``q`` holds; at least one pick always stays with the fused utility.

    With ``region_first`` (a box's default, ``stage3.batch.box_slot_order = "region_first"``)
    the slots are filled in order of what finds better designs in a box: the trust region
    (``n_region = min(ceil(region_share q), q - 1)``, the only contraction towards the
    incumbent), then exploration (``min(floor(explore_share q), q - 1 - n_region)``), then the
    families (``min(floor(family_share q), q - 1 - n_region - n_explore)``). Without it (a pool,
    and a box before) the family and exploration slots come first (:func:`slot_counts`) and
    the region takes what remains (:func:`trust_region_slots`). With the default shares of 0.3
    the two orders differ only in batches of 4 (``(2, 0, 1)`` against ``(1, 1, 1)``) and 7
    (``(3, 1, 2)`` against ``(2, 2, 2)``): a batch too small for every hedge gives up the family
    slot first. Measured on Hartmann-6 through Ax in batches of 4, seeds 0-9: without the family
    slot -3.286 against -3.146 with it (7 better / 3 worse), without the exploration slot
    -3.176 (6 / 4; ``benchmarks/results/ax_hartmann_q4_slots.md``); this order, -3.291 (GP-BO
    -3.267; ``benchmarks/results/ax_hartmann_q4_region_first.md``).

    Returns:
        ``(n_region, n_family, n_explore)``.
    """
    if q < 1:
        raise ValueError(f"split_slots needs q >= 1; got q={q}.")
    if not region_first:
        n_family, n_explore = slot_counts(family_share, explore_share, q)
        return trust_region_slots(region_share, q, n_family + n_explore), n_family, n_explore
    n_region = trust_region_slots(region_share, q, 0)
    n_explore = min(_floor_slots(explore_share, q), q - 1 - n_region)
    n_family = min(_floor_slots(family_share, q), q - 1 - n_region - n_explore)
    return n_region, n_family, n_explore


def adaptive_region_slots(n_region: int, n_family: int, n_explore: int, local_share: float) -> tuple[int, int, int]:
    r"""Re-split a box batch's trust-region, family and exploration slots by where the recent
    improvements came from (``stage3.batch.trust_region_adaptive``).

    The ``S = n_region + n_family + n_explore`` slots keep their total (the fused picks are
    untouched). The fixed split's odds ``b / (1 - b)``, ``b = n_region / S``, are multiplied
    by the evidence's odds ``rho / (1 - rho)``: the region takes ``round(S p)`` slots, ``p =
    b rho / (b rho + (1 - b)(1 - rho))``, at least one, so that with no evidence (``rho =
    0.5``) nothing moves; the rest go to the family and exploration slots in their own ratio,
    the family slots rounded up. With no region slot (``n_region = 0``: no trust region) or
    no other slot nothing moves.

    Args:
        local_share: The trust region's share of the recent improvement rates, in ``[0, 1]``
            (:attr:`~axfusion.candidates.trust_region.RegionCredit.local_share`).

    Returns:
        ``(n_region, n_family, n_explore)``, summing to ``S``.
    """
    if min(n_region, n_family, n_explore) < 0 or not 0.0 <= local_share <= 1.0:
        raise ValueError(
            "adaptive_region_slots needs slot counts >= 0 and local_share in [0, 1]; got "
            f"{(n_region, n_family, n_explore)} and {local_share}."
        )
    other = n_family + n_explore
    if n_region == 0 or other == 0:
        return n_region, n_family, n_explore
    total = n_region + other
    b = n_region / total
    p = b * local_share / (b * local_share + (1.0 - b) * (1.0 - local_share))
    region = min(max(int(np.floor(p * total + 0.5)), 1), total)
    rest = total - region
    family = int(np.ceil(rest * n_family / other - 1e-9))
    return region, family, rest - family


def sequential_slots(
    n_slots: int, score: Callable[[], np.ndarray], take: Callable[[int], None]
) -> list[np.ndarray]:
    r"""The scores of ``n_slots`` slots chosen one after the other: slot ``j``'s ``k`` scores
    come from ``score()``; its best candidate not taken by an earlier slot is passed to
    ``take(row)`` (which updates what ``score`` sees) before the next slot is scored. When no
    candidate is left (every score ``-inf`` or taken) the last scores are repeated.

    Returns:
        ``n_slots`` arrays of ``k`` scores (``[]`` for no slot).
    """
    out: list[np.ndarray] = []
    taken: list[int] = []
    for _ in range(max(int(n_slots), 0)):
        values = score()
        out.append(values)
        free = values.copy()
        free[taken] = -np.inf
        if not np.isfinite(free).any():
            break
        row = int(np.argmax(free))
        taken.append(row)
        take(row)
    return out + [out[-1]] * (int(n_slots) - len(out)) if out else []

