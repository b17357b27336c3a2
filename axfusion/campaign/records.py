r"""What one iteration hands back: the suggestion table and the diagnostics record.

:func:`suggestion_table` explains every chosen design (utility, ``pi``, channels, predicted
mean and std per target, cluster, a one-line reason); :func:`iteration_record` collects the
iteration's diagnostics (docs/method.md, "Diagnostics") into an
:class:`~axfusion.diagnostics.IterationRecord`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from axfusion.acquisition.batch import BatchDecision
from axfusion.campaign.sources import CandidateSet
from axfusion.diagnostics import IterationRecord
from axfusion.models import ReservoirModel
from axfusion.structure.report import StructureReport

__all__ = ["iteration_record", "novelty", "suggestion_table"]


_SLOT_REASONS = {
    "trust_region": "trust-region slot: largest utility inside the trust region around the best design",
    "trust_region_gp": (
        "trust-region slot: largest expected improvement of an ARD Gaussian process inside the trust region "
        "around the best design"
    ),
    "pool_gp": "GP slot: largest expected improvement of an ARD Gaussian process (batch by kriging believer)",
    "fused_draw": "fused pick of a posterior draw: largest fused utility with one random member per family",
    "exploration": "exploration slot: largest mean + 2 std widened away from the measured designs",
    "exploration_gp": "exploration slot: largest mean + 2 std of an ARD Gaussian process (batch by kriging believer)",
    "coverage": (
        "coverage slot: after batches without improvement, the candidate farthest from the measured designs "
        "and the earlier picks, weighted by the pool's density"
    ),
    "hit_coverage": (
        "family slot: the candidate that the most members not yet covered by the batch nominate among "
        "their q best, the families weighted by their probability of being the most accurate"
    ),
    "lead": (
        "lead slot: after batches without improvement, a nearest unmeasured neighbour of a measured design "
        "that beat its out-of-bag prediction by 3 robust standard deviations or more"
    ),
}


def suggestion_table(
    model: ReservoirModel,
    cands: CandidateSet,
    chosen: np.ndarray,
    scores: dict[str, Any],
    labels: np.ndarray,
    target_names: Sequence[str],
    slot_families: Sequence[str] = (),
) -> pd.DataFrame:
    r"""One row per chosen candidate, in the order chosen.

    Columns: ``row_id`` (pools) or the design's parameters (boxes); ``utility``, ``pi``,
    ``acquisition``; per target ``mean[...]``, ``std[...]`` (raw units, over all members),
    ``model[...]`` and ``fusion[...]``; ``cluster``; ``reason``. The last
    ``len(slot_families)`` picks are slots (:mod:`axfusion.acquisition.hedge`): a family's
    name, ``"fused_draw"``, ``"trust_region"``, ``"trust_region_gp"``, ``"pool_gp"``, ``"exploration"``,
    ``"exploration_gp"``, ``"lead"`` or ``"coverage"``.
    """
    first_slot = len(chosen) - len(slot_families)
    vals = model.member_predictions(cands.X[chosen])  # M x B x q x m
    flat = vals.reshape(-1, vals.shape[2], vals.shape[3])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    utility, pi = scores["utility"], scores["pi"]
    order = np.argsort(-utility)
    rank = np.empty_like(order)
    rank[order] = np.arange(1, order.size + 1)
    top_q = set(order[: len(chosen)].tolist())
    rows = []
    for pos, i in enumerate(chosen):
        row: dict[str, Any] = dict(cands.describe(int(i)))
        row["utility"] = float(utility[i])
        row["pi"] = float(pi[i])
        row["acquisition"] = float(scores["acquisition"][i])
        for j, name in enumerate(target_names):
            row[f"mean[{name}]"] = float(mean[pos, j])
            row[f"std[{name}]"] = float(std[pos, j])
            row[f"model[{name}]"] = float(scores["model"][i, j])
            row[f"fusion[{name}]"] = float(scores["fusion"][i, j])
        row["cluster"] = int(labels[i])
        if scores.get("calibration") is None:
            driver = "qLogNEI (ablation)"
        elif scores["fusion"][i].max() >= scores["model"][i].max():
            driver = "KF/rKF fusion"
        else:
            driver = "model channel"
        if pos >= first_slot:
            source = slot_families[pos - first_slot]
            what = _SLOT_REASONS.get(source, f"family slot: the best candidate of a randomly drawn {source} member")
            row["reason"] = f"{what}; rank {int(rank[i])} of {utility.size} by U; cluster {int(labels[i])}"
            rows.append(row)
            continue
        pick = "top utility" if i in top_q else "diversity/cluster slot"
        row["reason"] = (
            f"rank {int(rank[i])} of {utility.size} by U ({pick}); driven by the {driver}; "
            f"pi={pi[i]:.2f}; cluster {int(labels[i])}"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def novelty(batch: np.ndarray, history: Sequence[np.ndarray], embed: Any, k: int = 5) -> float:
    r"""Mean k-NN distance of this batch to the designs of the previous (up to three) batches,
    all embedded in this iteration's geometry (``nan`` before there is a history).

    Args:
        batch: ``q x d`` features of this batch.
        history: Features of the previous batches (``q_i x d`` each).
        embed: ``features -> coordinates`` of this iteration's embedding.
        k: Neighbours averaged per design.
    """
    if not history:
        return float("nan")
    P = embed(np.vstack(history))
    Zb = embed(batch)
    dist = np.linalg.norm(Zb[:, None, :] - P[None], axis=-1)
    kk = min(k, P.shape[0])
    return float(np.mean(np.sort(dist, axis=1)[:, :kk]))


def iteration_record(
    it: int,
    model: ReservoirModel,
    scores: dict[str, Any],
    decision: BatchDecision,
    report: StructureReport | None,
    chosen: np.ndarray,
    Z_cand: np.ndarray,
    Z_obs: np.ndarray,
    O_obs: np.ndarray,
    timings: dict[str, float],
    cands: CandidateSet,
    history: Sequence[np.ndarray],
    embed: Any,
    trust_region: dict[str, Any] | None = None,
    slot_families: Sequence[str] = (),
) -> IterationRecord:
    r"""The iteration's diagnostics (docs/method.md, "Diagnostics").

    ``embed`` maps features to this iteration's batch geometry (the embedding of the
    candidates and evaluated designs that the batch was chosen in); the previous batches
    are embedded with it for the novelty, so every iteration measures novelty in its own,
    consistent coordinates, and a resumed campaign measures it exactly as before. The last
    ``len(slot_families)`` picks are slots (as in :func:`suggestion_table`), the others
    ``"utility"`` picks (``IterationRecord.batch_picks``).
    """
    best_i = int(np.argmax(O_obs.mean(axis=1) if O_obs.shape[1] > 1 else O_obs[:, 0]))
    Zb = Z_cand[chosen]
    d_best = np.linalg.norm(Zb - Z_obs[best_i], axis=1)
    nov = novelty(cands.X[chosen], history, embed)
    clusters: dict[str, Any] = {
        "batch_labels": [], "bandwidth": decision.cluster_bandwidth, "extra_slots": int(decision.extra_slots),
    }
    if report is not None:
        best = np.asarray(report.cluster_best).reshape(report.n_clusters, -1)[:, 0].tolist()
        clusters.update(
            algorithm=report.algorithm,
            score=report.score,
            n_clusters=report.n_clusters,
            batch_labels=report.candidate_labels[chosen].tolist(),
            cluster_sizes=report.cluster_sizes,
            cluster_evaluated=report.cluster_evaluated,
            cluster_best={str(c): v for c, v in enumerate(best)},
        )
    batch = [int(cands.keys[i]) for i in chosen] if cands.raw is None else [int(i) for i in chosen]
    assert model.capacity is not None
    return IterationRecord(
        iteration=it,
        n_observed=int(O_obs.shape[0]),
        best_so_far=O_obs.max(axis=0).tolist(),
        batch=batch,
        batch_distance_to_best=float(d_best.mean()),
        best_distance_to_best=float(d_best[0]),
        capacity=model.capacity.as_dict(),
        families={name: [s.as_dict() for s in per_t] for name, per_t in model.family_scores.items()},
        fusion={} if scores["calibration"] is None else scores["calibration"].as_dict(),
        diversity={"diversified": decision.diversified, **decision.checks},
        clusters=clusters,
        intra_batch_distance=float(decision.intra_batch_distance),
        novelty=nov,
        timings=timings,
        dropped_families=dict(model.dropped_families),
        trust_region=dict(trust_region or {}),
        batch_picks=["utility"] * (len(chosen) - len(slot_families)) + [str(f) for f in slot_families],
    )
