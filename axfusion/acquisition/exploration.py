r"""Batch slots scored by an ARD Gaussian process: exploration (``stage3.batch.explore_model =
"gp"``) and the trust region (``stage3.batch.trust_region_model = "gp"``).

The exploration slots (``stage3.batch.explore_share``) spend part of every batch on designs
whose value is uncertain *and* may be high: ``mean + beta std``. Scored by the reservoir
(``explore_model = "reservoir"``), the std is the families' bootstrap spread, widened by
their out-of-bag error away from the evaluated designs
(:meth:`~axfusion.acquisition.FusionAcquisition.exploration`); the tree, k-NN and linear
members are flat away from the data, so the widening is a heuristic. A Gaussian process
with one length scale per input measures exactly this: its posterior std grows with the
distance from the evaluated designs along the inputs that matter, and shrinks along the
ones that do not. With ``explore_model = "gp"`` the slots are scored by an
:class:`~axfusion.models.gp_family.ARDGaussianProcess` (Matérn-5/2 ARD, BoTorch's
dimension-scaled priors, marginal likelihood fitted by BoTorch) per target, fitted on the
same standardised designs the reservoir sees and the oriented, standardised targets:

- slot 1 scores every candidate by ``mean_m (mu_m + beta sigma_m)`` (GP-UCB, averaged over
  targets);
- slot ``s > 1`` by the same GP conditioned, with its hyper-parameters fixed, on the
  earlier slots' best candidates at their predicted means (the "kriging believer"): the
  std collapses around a design already in the batch, so the slots spread out as a
  batch UCB does, without refitting.

The trust-region slots (``stage3.batch.trust_region_share``, boxes) use the same GP with
expected improvement instead (:func:`gp_ei_slots`): inside the small region around the
incumbent (:mod:`axfusion.candidates.trust_region`) a GP fitted next to its data is the
model that ranks designs well (docs/method.md, "Trust region"), and expected improvement
over the best measured value is the local descent standard BO makes there. The GP sees one
target, the mean of the oriented standardised targets (the value the trust region tracks).

The scores go to :func:`~axfusion.acquisition.batch.select_batch` as ``slot_scores``; a
slot whose best candidate the fused picks already took takes its next best.

Shapes: ``n`` evaluated designs, ``k`` candidates, ``d`` member-space inputs, ``m``
targets, ``s`` slots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from botorch.acquisition.analytic import _log_ei_helper

from axfusion.models.gp_family import ARDGaussianProcess

__all__ = ["gp_ei_slots", "gp_log_ei", "gp_ucb_slots"]

#: ``(means, stds, Y)`` -- ``k x m``, ``k x m`` and the ``n' x m`` values the GPs are
#: conditioned on (measured, then believed) -- to ``k`` slot scores.
SlotScore = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def gp_ucb_slots(
    X: np.ndarray,
    Y: np.ndarray,
    Z: np.ndarray,
    n_slots: int,
    *,
    beta: float = 2.0,
    support: np.ndarray | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    r"""Per exploration slot, ``k`` GP-UCB scores (batch by kriging believer).

    Args:
        X: ``n x d`` evaluated designs (member space: standardised, clipped).
        Y: ``n x m`` targets, oriented (larger is better) and standardised.
        Z: ``k x d`` candidates in the same space.
        n_slots: ``s`` slots.
        beta: Multiple of the posterior std.
        support: ``k`` booleans, the candidates a slot may take (default: all); the
            believer picks are drawn from these.
        seed: Seeds the hyper-parameter fit (BoTorch's random restarts).

    Returns:
        ``s`` arrays of ``k`` scores (larger is better).
    """

    def ucb(mu: np.ndarray, sd: np.ndarray, _: np.ndarray) -> np.ndarray:
        return np.mean(mu + beta * sd, axis=1)

    return _believer_slots(X, Y, Z, n_slots, ucb, support=support, seed=seed)


def gp_ei_slots(
    X: np.ndarray,
    y: np.ndarray,
    Z: np.ndarray,
    n_slots: int,
    *,
    support: np.ndarray | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    r"""Per trust-region slot, ``k`` log expected improvements of an ARD GP over the best
    value so far (batch by kriging believer: each slot's pick joins the data at its
    predicted mean, which also counts towards the best value, so the next slot's
    improvement is measured against the batch so far).

    Args:
        X: ``n x d`` evaluated designs (member space).
        y: ``n`` values, larger is better, standardised.
        Z: ``k x d`` candidates in the same space.
        n_slots: ``s`` slots.
        support: ``k`` booleans, the candidates a slot may take (default: all).
        seed: Seeds the hyper-parameter fit.

    Returns:
        ``s`` arrays of ``k`` log-EI scores (larger is better; BoTorch's numerically
        stable ``log h(u)``, finite far below the incumbent).
    """
    Y = np.asarray(y, dtype=np.float64).reshape(-1, 1)

    def log_ei(mu: np.ndarray, sd: np.ndarray, Y_seen: np.ndarray) -> np.ndarray:
        return _log_ei(mu[:, 0], sd[:, 0], float(Y_seen.max()))

    return _believer_slots(X, Y, Z, n_slots, log_ei, support=support, seed=seed)


def gp_log_ei(X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    r"""The log expected improvement over ``max(y)`` of an ARD GP fitted on ``n x d`` designs
    ``X`` and ``n`` values ``y`` (larger is better, standardised), as a function of ``k x d``
    designs in the same space (``k`` scores)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    gp = ARDGaussianProcess(random_state=seed).fit(np.asarray(X, dtype=np.float64), y)
    best = float(y.max())

    def score(Z: np.ndarray) -> np.ndarray:
        mu, sd = gp.predict(np.asarray(Z, dtype=np.float64), return_std=True)
        return _log_ei(mu, sd, best)

    return score


def _log_ei(mu: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    r"""``k`` values of ``log EI`` from ``k`` posterior means and stds (BoTorch's stable form)."""
    sigma = np.maximum(sd, 1e-12)
    u = torch.as_tensor((mu - best) / sigma)
    return np.asarray(_log_ei_helper(u).numpy()) + np.log(sigma)


def _believer_slots(
    X: np.ndarray,
    Y: np.ndarray,
    Z: np.ndarray,
    n_slots: int,
    score: SlotScore,
    *,
    support: np.ndarray | None,
    seed: int,
) -> list[np.ndarray]:
    r"""``s`` score arrays from one ARD GP per target column: slot 1 scores the candidates;
    slot ``s > 1`` scores them again after conditioning each GP, hyper-parameters fixed, on
    the earlier slots' best candidates at their predicted means (kriging believer)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    Z = np.asarray(Z, dtype=np.float64)
    if n_slots <= 0:
        return []
    allowed = np.ones(Z.shape[0], dtype=bool) if support is None else np.asarray(support, dtype=bool)
    gps: Sequence[ARDGaussianProcess] = [
        ARDGaussianProcess(random_state=seed).fit(X, Y[:, j]) for j in range(Y.shape[1])
    ]
    slots: list[np.ndarray] = []
    X_aug, Y_aug = X, Y
    for s in range(n_slots):
        means = np.empty((Z.shape[0], len(gps)))
        stds = np.empty((Z.shape[0], len(gps)))
        for j, gp in enumerate(gps):
            means[:, j], stds[:, j] = gp.predict(Z, return_std=True)
        values = score(means, stds, Y_aug)
        slots.append(values)
        if s == n_slots - 1:
            break
        open_ = np.flatnonzero(allowed & np.isfinite(values))
        if open_.size == 0:
            break
        pick = int(open_[np.argmax(values[open_])])
        allowed = allowed.copy()
        allowed[pick] = False
        X_aug = np.vstack([X_aug, Z[pick]])
        Y_aug = np.vstack([Y_aug, means[pick]])
        gps = [
            ARDGaussianProcess(hyperparameters=gp.hyperparameters_).fit(X_aug, Y_aug[:, j])
            for j, gp in enumerate(gps)
        ]
    while len(slots) < n_slots:
        slots.append(slots[-1])
    return slots
