r"""Exploration slots scored by an ARD Gaussian process (``stage3.batch.explore_model = "gp"``).

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

The scores go to :func:`~axfusion.acquisition.batch.select_batch` as ``slot_scores``; a
slot whose best candidate the fused picks already took takes its next best.

Shapes: ``n`` evaluated designs, ``k`` candidates, ``d`` member-space inputs, ``m``
targets, ``s`` slots.
"""

from __future__ import annotations

import numpy as np

from axfusion.models.gp_family import ARDGaussianProcess

__all__ = ["gp_ucb_slots"]


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
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    Z = np.asarray(Z, dtype=np.float64)
    if n_slots <= 0:
        return []
    allowed = np.ones(Z.shape[0], dtype=bool) if support is None else np.asarray(support, dtype=bool)
    gps = [ARDGaussianProcess(random_state=seed).fit(X, Y[:, j]) for j in range(Y.shape[1])]
    slots: list[np.ndarray] = []
    X_aug, Y_aug = X, Y
    for s in range(n_slots):
        means = np.empty((Z.shape[0], len(gps)))
        ucb = np.zeros(Z.shape[0])
        for j, gp in enumerate(gps):
            mu, sd = gp.predict(Z, return_std=True)
            means[:, j] = mu
            ucb += (mu + beta * sd) / len(gps)
        slots.append(ucb)
        if s == n_slots - 1:
            break
        open_ = np.flatnonzero(allowed & np.isfinite(ucb))
        if open_.size == 0:
            break
        pick = int(open_[np.argmax(ucb[open_])])
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

