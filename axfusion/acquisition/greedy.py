r"""A BoTorch decision on the reservoir: qLogNEI with sequential greedy selection.

The ablation that separates the surrogate from the decision layer (docs/method.md, Stage 3,
``stage3.acquisition = "qlognei"``): the same reservoir and the same candidates as the
method, but BoTorch's ``qLogNoisyExpectedImprovement`` instead of the fusion acquisition,
and the batch chosen by sequential greedy conditioning on the pending picks (as
``botorch.optim.optimize_acqf_discrete`` does) instead of the diversity and bandwidth rules.

Shapes: ``n`` evaluated designs, ``k`` candidates, ``d`` features, ``q`` batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.objective import ScalarizedPosteriorTransform
from botorch.models.model import Model

from axfusion.acquisition.targets import Target

__all__ = ["qlognei_batch"]


def qlognei_batch(
    model: Model,
    X_baseline: np.ndarray,
    candidates: np.ndarray,
    targets: Sequence[Target],
    q: int,
    *,
    chunk_size: int = 4_096,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Choose ``q`` candidates by sequential greedy qLogNEI.

    Args:
        model: A fitted model of the raw targets (the reservoir).
        X_baseline: ``n x d`` evaluated designs (qLogNEI's baseline).
        candidates: ``k x d`` candidates.
        targets: One maximised or minimised target (windows and several targets need the
            fusion acquisition).
        q: Batch size, ``1 <= q <= k``.
        chunk_size: Candidates scored at once.

    Returns:
        ``(indices, values)``: ``q`` positions into ``candidates`` in pick order, and the
        ``k`` log-EI values of the first greedy round (``-inf`` where undefined).

    Raises:
        ValueError: for several targets or a value/window target.
    """
    if len(targets) != 1 or targets[0].kind not in ("maximize", "minimize"):
        raise ValueError("stage3.acquisition='qlognei' needs one maximised or minimised target.")
    sign = 1.0 if targets[0].kind == "maximize" else -1.0
    transform = ScalarizedPosteriorTransform(weights=torch.tensor([sign], dtype=torch.float64))
    acqf = qLogNoisyExpectedImprovement(
        model, X_baseline=torch.as_tensor(X_baseline), posterior_transform=transform, prune_baseline=False
    )
    Xc = torch.as_tensor(candidates, dtype=torch.float64)
    k = Xc.shape[0]
    available = np.ones(k, dtype=bool)
    chosen: list[int] = []
    first = None
    with torch.no_grad():
        for _ in range(min(q, k)):
            vals = np.full(k, -np.inf)
            pos = np.flatnonzero(available)
            for lo in range(0, pos.size, chunk_size):
                idx = pos[lo : lo + chunk_size]
                out = acqf(Xc[torch.as_tensor(idx)].unsqueeze(-2)).detach().cpu().numpy()
                vals[idx] = np.where(np.isfinite(out), out, -np.inf)
            if first is None:
                first = vals.copy()
            j = int(pos[int(np.argmax(vals[pos]))])
            chosen.append(j)
            available[j] = False
            acqf.set_X_pending(Xc[torch.as_tensor(chosen)])
    assert first is not None
    return np.asarray(chosen, dtype=np.int64), first
