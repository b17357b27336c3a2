r"""One iteration of the method: :func:`propose` reads Stage 0 -> 1 -> 2 -> 3 in order.

Given the campaign state and the candidate source, :func:`propose` fits nothing outside
its own call and changes neither argument: it returns a :class:`Proposal` (the batch, its
table, the iteration's diagnostics record and what the state must remember), and the
caller (:class:`~axfusion.campaign.FusionOptimizer`) commits it to a new state. Each
stage is one function below, receiving its own settings node:

- Stage 0 (:func:`stage0_capacity`): intrinsic dimension -> information budget -> caps.
- Stage 1 (:func:`stage1_reservoir`): the bootstrap reservoir, built then fitted.
- Stage 2 (:func:`stage2_candidates`, :func:`stage2_structure`): the source's candidates,
  then clustering and the structural weights ``pi(x)``.
- Stage 3 (:func:`stage3_scores`, :func:`stage3_slots`, :func:`stage3_batch`): the fusion
  acquisition ``U = pi * A``, the exploration and family slots, and the cluster-aware,
  diverse batch.

The formulas are in ``docs/method.md``.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from axfusion.acquisition import FusionAcquisition
from axfusion.acquisition.acqf import FusionMoments
from axfusion.acquisition.batch import BatchDecision, select_batch
from axfusion.acquisition.coverage import coverage_slots, lead_slots, surprise
from axfusion.acquisition.exploration import gp_ei_slots, gp_ucb_slots
from axfusion.acquisition.fusion import probability_of_best
from axfusion.acquisition.greedy import qlognei_batch
from axfusion.acquisition.hedge import (
    adaptive_region_slots,
    family_draws,
    fused_draw_moments,
    hit_coverage_slots,
    sequential_slots,
    split_slots,
)
from axfusion.acquisition.levels import count_chosen, level_codes, unmeasured_levels
from axfusion.campaign.records import iteration_record, suggestion_table
from axfusion.campaign.sources import BoxSource, CandidateSet, CandidateSource
from axfusion.campaign.state import CampaignState
from axfusion.candidates.trust_region import TrustRegion, region_credit, trust_region_length
from axfusion.capacity import CapacityReport, estimate_capacity
from axfusion.diagnostics import IterationRecord
from axfusion.models import DEFAULT_BOX_FAMILIES, ReservoirModel, TuningState
from axfusion.models.outcome import winsorize_bad_tail
from axfusion.settings import ReservoirSettings
from axfusion.structure import Embedding, cluster_points, structural_weights
from axfusion.structure.report import StructureReport

__all__ = ["Fitted", "Proposal", "propose"]


@dataclass(frozen=True)
class Proposal:
    r"""What one iteration decided.

    Attributes:
        batch: ``q`` design keys, in the order chosen.
        table: The suggestion table (one row per design).
        record: The iteration's diagnostics.
        model: The fitted reservoir (kept by the facade for inspection).
        tuning: Tuned hyper-parameters after this iteration (warm starts).
        box_generations: DE generations the campaign records (boxes with a time budget).
        fitted: What a continuation of this batch reuses (``propose(..., previous=...)``):
            the fitted reservoir, its family weights, the candidates and the trust region.
    """

    batch: list[Any]
    table: pd.DataFrame
    record: IterationRecord
    model: ReservoirModel
    tuning: TuningState
    box_generations: int | None
    fitted: Fitted | None = None


@dataclass(frozen=True)
class Fitted:
    r"""Stages 0-2's products of one iteration, reused by a continuation of its batch.

    Attributes:
        iteration: The iteration it was fitted for.
        n_observations: The campaign's measurements (failed ones included) when fitted.
        model: The fitted reservoir.
        tuning: Its tuned hyper-parameters.
        ahead: Batch-ahead family weights (``stage3.fusion.family_weighting = "ahead"``), or ``None``.
        cands: The iteration's candidates.
        region: The iteration's trust region, or ``None``.
    """

    iteration: int
    n_observations: int
    model: ReservoirModel
    tuning: TuningState
    ahead: np.ndarray | None
    cands: CandidateSet
    region: TrustRegion | None

    def fits(self, state: CampaignState) -> bool:
        r"""Whether ``state`` holds the measurements this fit saw (as many: they only grow)."""
        return self.n_observations == len(state.observations)


class _Timer:
    r"""Wall seconds per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": time.perf_counter() - self._start}


def propose(state: CampaignState, source: CandidateSource, q: int, previous: Fitted | None = None) -> Proposal:
    r"""Run Stages 0-3 on ``state`` and choose a batch of ``q`` designs from ``source``.

    With ``previous`` (the :attr:`Proposal.fitted` of the last proposal, nothing measured
    since) the batch continues that one: Stages 0-1 and the candidate search are not run
    again; the same reservoir scores the same candidates less the ones now pending, Stage 2's
    structure and Stage 3 are run on them (one reservoir fit for all the arms of an Ax
    ``get_next_trials`` call). Not recomputed from a saved campaign, which refits.

    Raises:
        ValueError: with fewer successful measurements than ``settings.loop.min_observations``,
            or fewer than ``q`` candidates; with a ``previous`` fitted on other measurements.
    """
    s = state.settings
    keys = [o.key for o in state.successful]
    if len(keys) < s.loop.min_observations:
        raise ValueError(
            f"The fusion optimiser needs at least {s.loop.min_observations} successful measurements "
            f"to fit its surrogates; it has {len(keys)}."
        )
    it = state.iteration + 1
    seed = state.seed + it
    X_obs, O_obs = source.features(keys), state.oriented()
    Y_obs = stage1_targets(state)
    remaining = max(s.loop.budget_iterations - state.iteration, 1) * q
    timer = _Timer()
    scale = source.column_scale  # fixed input scales of categorical columns (or None)
    excluded = state.observed_keys() | set(state.pending)
    if previous is not None:
        if not previous.fits(state):
            raise ValueError(
                "Only a batch with nothing measured since can be continued; suggest with a refit instead."
            )
        model, tuning, ahead, region = previous.model, previous.tuning, previous.ahead, previous.region
        cands = previous.cands.without(excluded)
    else:
        tuning = state.tuning_state()
        with timer("model"), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            model = ReservoirModel(
                torch.as_tensor(X_obs), torch.as_tensor(Y_obs), reservoir_settings(state, source),
                clusterer=bootstrap_clusterer(state, member_scale(scale)), tuning_state=tuning,
                n_jobs=s.loop.n_jobs, seed=seed, input_scale=scale, input_groups=source.column_groups,
            )
            capacity = stage0_capacity(model, state, remaining, seed)
            stage1_reservoir(model, capacity)
            ahead = stage1_ahead_weights(state, source, model, X_obs, Y_obs, capacity, seed)
        with timer("candidates"):
            region = stage2_trust_region(state, source, keys, q)
            cands = source.candidates(
                model, state.targets, keys, Y_obs, excluded, q, seed, state.box_generations, region=region
            )
    with timer("structure"):
        geometry = embed_designs(state, cands, X_obs, seed, scale)
        pi, report, labels = stage2_structure(state, cands, X_obs, geometry, seed)
    if s.stage3.acquisition == "qlognei":  # ablation: the reservoir under BoTorch's decision
        with timer("acquisition"):
            scores, decision = stage3_qlognei(state, model, cands, X_obs, geometry, labels, q)
        slot_families: list[str] = []
        Z_cand, Z_obs = geometry.transform(cands.X), geometry.transform(X_obs)
    else:
        with timer("acquisition"):
            scores, moments, acqf = stage3_scores(
                state, model, cands, pi, seed, box=isinstance(source, BoxSource),
                family_weights=ahead if s.stage3.fusion.family_weighting == "ahead" else None,
            )
        with timer("batch"):
            slots, slot_families = stage3_slots(
                state, model, acqf, moments, scores, q, seed, cands.in_region, box=isinstance(source, BoxSource),
                family_order=ahead if s.stage3.batch.family_order == "ahead" else None,
                coverage=(report, geometry, cands.X, X_obs),
                local_share=None if region is None or region.credit is None else region.credit.local_share,
            )
            decision, Z_cand, Z_obs = stage3_batch(
                state, cands, X_obs, geometry, stage3_region_utility(state, cands, scores), labels, report, q, seed,
                slots, scale=None if isinstance(source, BoxSource) else scale,
            )
            slot_families = slot_families[: decision.extra_slots]
    chosen = decision.indices
    history = [source.features(list(b)) for b in state.suggestions[-3:]]
    record = iteration_record(
        it, model, scores, decision, report, chosen, Z_cand, Z_obs, O_obs, timer.total(), cands,
        history, geometry.transform, None if region is None else region.as_dict(), slot_families,
    )
    table = suggestion_table(model, cands, chosen, scores, labels, state.target_names, slot_families)
    generations = state.box_generations if state.box_generations is not None else cands.generations
    return Proposal(
        batch=[cands.keys[i] for i in chosen], table=table, record=record, model=model,
        tuning=tuning, box_generations=generations,
        fitted=Fitted(it, len(state.observations), model, tuning, ahead, cands, region),
    )


# ------------------------------------------------------------------------ stage 0
def stage0_capacity(model: ReservoirModel, state: CampaignState, remaining: int, seed: int) -> CapacityReport:
    r"""Stage 0: the capacity ``C`` and per-family caps from the intrinsic dimension of the
    data as the members see them (standardised, clipped), capped by the remaining budget."""
    Xs, Ys = model.standardised_training_data()
    return estimate_capacity(
        Xs, Ys, remaining_budget=remaining, settings=state.settings.stage0, seed=seed,
        column_scale=member_scale(model.input_scale),
    )


def member_scale(scale: np.ndarray | None) -> np.ndarray | None:
    r"""Fixed scales in the members' (already standardised) input space: 1 where the raw
    inputs have a fixed scale (one-hot indicators, descriptors), ``NaN`` (standardise
    again) elsewhere; ``None`` when nothing is fixed."""
    if scale is None:
        return None
    return np.where(np.isfinite(scale), 1.0, np.nan)


# ------------------------------------------------------------------------ stage 1
def reservoir_settings(state: CampaignState, source: CandidateSource) -> ReservoirSettings:
    r"""Stage 1's settings, with the defaults resolved for the source: in a box
    (differential evolution over the members) the default families plus the ARD GP
    (``DEFAULT_BOX_FAMILIES``) and the bootstrap bias always on; on a pool
    ``DEFAULT_FAMILIES`` and the bias off below ``10 d^2`` rows
    (:meth:`~axfusion.settings.ReservoirSettings.bias_threshold`)."""
    stage1 = state.settings.stage1
    box = isinstance(source, BoxSource)
    stage1 = dataclasses.replace(stage1, bias_off_below_n_per_d2=stage1.bias_threshold(pool=not box))
    if stage1.families is None and box:
        return dataclasses.replace(stage1, families=DEFAULT_BOX_FAMILIES)
    return stage1


def bootstrap_clusterer(
    state: CampaignState, fixed_scale: np.ndarray | None = None
) -> Callable[[np.ndarray, int], np.ndarray]:
    r"""The clusterer of Stage 1's target-biased bootstrap: the adaptive clusterer with the
    campaign's ``stage2.cluster`` settings and embedding (shared with Stage 2);
    ``fixed_scale`` keeps the categorical columns' scale (:func:`member_scale`)."""
    structure, config = state.settings.stage2.structure, state.settings.stage2.cluster

    def clusterer(Xs: np.ndarray, seed: int) -> np.ndarray:
        partition = cluster_points(
            Xs, seed=seed, config=config, embedding_method=structure.embedding_method,
            n_components=structure.n_components, fixed_scale=fixed_scale,
        )
        return np.asarray(partition.labels)

    return clusterer


def stage1_targets(state: CampaignState) -> np.ndarray:
    r"""Stage 1's input: the ``n x m`` successful measurements with each maximised or
    minimised target's bad tail clipped at Tukey's fence (``stage1.winsorize``;
    :mod:`axfusion.models.outcome`). The campaign's own record is not changed."""
    sides = [{"maximize": "lower", "minimize": "upper"}.get(t.kind) for t in state.targets]
    return winsorize_bad_tail(state.Y(), sides, state.settings.stage1.winsorize)  # type: ignore[arg-type]


def stage1_reservoir(model: ReservoirModel, capacity: CapacityReport) -> ReservoirModel:
    r"""Stage 1: fit the reservoir inside the Stage-0 caps (bootstrap, tuning, OOB scores)."""
    return model.fit(capacity)


#: Bootstrap resamples of the last batch's rows behind each family's batch-ahead spread.
AHEAD_RESAMPLES = 200
#: Bootstrap members per family of the reservoir refitted without the last batch.
AHEAD_MEMBERS = 2


def stage1_ahead_weights(
    state: CampaignState,
    source: CandidateSource,
    model: ReservoirModel,
    X_obs: np.ndarray,
    Y_obs: np.ndarray,
    capacity: CapacityReport,
    seed: int,
) -> np.ndarray | None:
    r"""The families' weights one batch ahead (``stage3.fusion.family_weighting = "ahead"``,
    ``stage3.batch.family_order = "ahead"``).

    The reservoir is refitted (``AHEAD_MEMBERS`` members per family, the same settings and
    Stage-0 caps) on the successful measurements *before* the last measured batch after
    the initial design, and each family's mean predicts that batch: its ``R^2`` (averaged
    over the targets) is the family's score, its spread the std of that ``R^2`` over
    ``AHEAD_RESAMPLES`` seeded bootstrap resamples of the batch's rows (each resample's mean
    squared error over the whole batch's variance, so that a resample of near-equal values
    cannot blow it up), and the weights are
    :func:`~axfusion.acquisition.fusion.probability_of_best` of the scores. A family the
    refit dropped gets no weight. Recomputed from the measurements, so a resumed campaign
    agrees.

    Args:
        X_obs: ``n x d`` features of the successful measurements (``model``'s inputs).
        Y_obs: ``n x m`` Stage-1 targets (``model``'s outputs).

    Returns:
        ``M`` weights in the order of ``model.family_names`` (sum 1), or ``None`` when both
        options are off, no batch after the initial design has a successful measurement,
        or fewer than three rows are in the last batch.
    """
    s = state.settings
    if s.stage3.fusion.family_weighting != "ahead" and s.stage3.batch.family_order != "ahead":
        return None
    iterations = np.array([o.iteration for o in state.successful])
    last = int(iterations.max())
    held = iterations == last
    if last == int(iterations.min()) or held.sum() < 3 or (~held).sum() < s.loop.min_observations:
        return None
    from axfusion.acquisition.fusion import probability_of_best

    settings = dataclasses.replace(reservoir_settings(state, source), n_members=AHEAD_MEMBERS)
    scale = source.column_scale
    sub = ReservoirModel(
        torch.as_tensor(X_obs[~held]), torch.as_tensor(Y_obs[~held]), settings,
        clusterer=bootstrap_clusterer(state, member_scale(scale)), seed=seed, input_scale=scale,
    ).fit(capacity)
    pred = sub.member_predictions(X_obs[held]).mean(axis=1)  # M' x k x m: each family's mean
    truth = Y_obs[held]
    rng = np.random.default_rng(seed)
    draws = [np.arange(truth.shape[0])] + [
        rng.integers(0, truth.shape[0], truth.shape[0]) for _ in range(AHEAD_RESAMPLES)
    ]

    var = truth.var(axis=0)
    ok = var > 0

    def r2(rows: np.ndarray, p: np.ndarray) -> float:  # the batch's variance as the fixed denominator
        mse = ((truth[rows] - p[rows]) ** 2).mean(axis=0)
        return float(np.mean(1.0 - mse[ok] / var[ok])) if ok.any() else 0.0

    names = list(model.family_names)
    scores = {name: np.array([r2(rows, pred[i]) for rows in draws]) for i, name in enumerate(sub.family_names)}
    floor = min((float(v[0]) for v in scores.values()), default=0.0) - 1.0
    mean = np.array([scores[n][0] if n in scores else floor for n in names])
    std = np.array([np.nanstd(scores[n][1:]) if n in scores else 0.0 for n in names])
    return probability_of_best(np.nan_to_num(mean, nan=floor), np.nan_to_num(std))


# ------------------------------------------------------------------------ stage 2
def embed_designs(
    state: CampaignState, cands: CandidateSet, X_obs: np.ndarray, seed: int, scale: np.ndarray | None = None
) -> Embedding:
    r"""The iteration's one embedding: standardise + PCA (``loop.geometry_dim`` axes) fitted
    on the candidates and the evaluated designs. The clusterer uses its leading
    ``stage2.structure.n_components`` axes; the batch geometry (distances, near-duplicates,
    novelty) all of them. ``scale``: the source's fixed column scales (categorical
    columns), else every column is standardised."""
    dim = min(state.settings.loop.geometry_dim, cands.X.shape[1])
    return Embedding(n_components=dim, seed=seed, fixed_scale=scale).fit(np.vstack([cands.X, X_obs]))


def stage2_trust_region(
    state: CampaignState, source: CandidateSource, keys: Sequence[Any], q: int
) -> TrustRegion | None:
    r"""Stage 2a in a box: the trust region around the incumbent
    (:mod:`axfusion.candidates.trust_region`), its side recomputed from the measured values
    batch by batch (so a resumed campaign continues exactly); ``None`` on a pool, with
    ``stage3.batch.trust_region_share = 0``, or when the batch holds no trust-region slot."""
    s = state.settings
    if not isinstance(source, BoxSource) or s.stage2.box.trust_region_candidates == 0:
        return None
    if batch_slots(state, q)[0] == 0:
        return None
    length, succ, fail, restarts = trust_region_length(measured_batches(state), q, source.space.dim)
    best = keys[int(np.argmax(state.scalar()))]
    center = source.space.raw_to_codes(pd.DataFrame([list(best)], columns=source.names))[0]
    credit = None
    if s.stage3.batch.trust_region_adaptive:
        codes = source.space.raw_to_codes(pd.DataFrame([list(k) for k in keys], columns=source.names))
        iterations = np.array([o.iteration for o in state.successful])
        credit = region_credit(source.space, codes, state.scalar(), iterations, q)
    return TrustRegion(
        center=center, length=length, successes=succ, failures=fail, restarts=restarts, credit=credit
    )


def stage2_structure(
    state: CampaignState, cands: CandidateSet, X_obs: np.ndarray, geometry: Embedding, seed: int
) -> tuple[np.ndarray, StructureReport | None, np.ndarray]:
    r"""Stage 2b: clusters and structural weights ``pi(x)`` of the candidates, in the
    iteration's embedding (UMAP, when chosen, fits its own). The clusterer of a large pool's
    prefiltered working set is fitted on at most ``stage2.pool.prefilter_fit_rows`` rows.

    Returns:
        ``(pi, report, labels)``: ``k`` weights, the structure report (``None`` when the
        structure is switched off: ``pi = 1``, one cluster) and ``k`` cluster labels.
    """
    s = state.settings.stage2
    k = len(cands)
    if not s.structure.enabled:
        return np.ones(k), None, np.zeros(k, dtype=np.int64)
    shared = geometry if s.structure.embedding_method == "pca" else None
    cluster = s.cluster
    if cands.prefiltered and s.pool.prefilter_fit_rows is not None:  # a large pool's working set
        cluster = dataclasses.replace(cluster, max_fit_rows=min(cluster.max_fit_rows, s.pool.prefilter_fit_rows))
    pi, report = structural_weights(
        cands.X, X_obs, evaluated_y=state.scalar(), settings=s.structure, cluster_config=cluster,
        embedding=shared, seed=seed,
    )
    return pi, report, report.candidate_labels


# ------------------------------------------------------------------------ stage 3
def stage3_scores(
    state: CampaignState,
    model: ReservoirModel,
    cands: CandidateSet,
    pi: np.ndarray,
    seed: int,
    box: bool = False,
    family_weights: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], FusionMoments, FusionAcquisition]:
    r"""Stage 3a: the fusion acquisition on every candidate: predicted once (in chunks of
    ``loop.chunk_size``), calibrated on the whole set (or its seeded sample) and scored;
    ``utility = pi * acquisition``. The family weighting's ``"auto"`` is resolved for the
    source (``box``: a search space; :meth:`~axfusion.settings.FusionConfig.weighting`);
    ``family_weights`` are the ``"ahead"`` weighting's (:func:`stage1_ahead_weights`).

    Returns:
        ``(scores, moments, acqf)``: the acquisition's score dict (``utility``,
        ``acquisition``, ``pi``, ``model``, ``fusion``, ...) and the candidates' moments,
        both concatenated over chunks, and the calibrated acquisition.
    """
    s = state.settings
    config = dataclasses.replace(s.stage3.fusion, family_weighting=s.stage3.fusion.weighting(pool=not box))
    acqf = FusionAcquisition(
        model, state.targets, config=config, hv_config=s.stage3.hypervolume,
        ref_point=state.ref_point, seed=seed,
    )
    acqf.scorer.ahead_weights = family_weights
    step = s.loop.chunk_size
    chunks = [(lo, torch.as_tensor(cands.X[lo : lo + step])) for lo in range(0, len(cands), step)]
    moments = [acqf.predict(Xc) for _, Xc in chunks]  # every candidate predicted once
    acqf.calibrate(FusionMoments.concat(moments))
    parts: dict[str, list[np.ndarray]] = {}
    for (lo, Xc), m in zip(chunks, moments):
        chunk = acqf.score(Xc, pi=pi[lo : lo + step], moments=m)
        for key, val in chunk.items():
            parts.setdefault(key, []).append(val)
    scores = {k: np.concatenate(v, axis=-1 if k == "ehvi" else 0) for k, v in parts.items()}
    scores["calibration"] = acqf.calibration  # type: ignore[assignment]
    return scores, FusionMoments.concat(moments), acqf


def stage3_slots(
    state: CampaignState,
    model: ReservoirModel,
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    q: int,
    seed: int,
    in_region: np.ndarray | None = None,
    box: bool = True,
    family_order: np.ndarray | None = None,
    coverage: tuple[StructureReport | None, Embedding, Any, np.ndarray] | None = None,
    local_share: float | None = None,
) -> tuple[list[np.ndarray], list[str]]:
    r"""Stage 3b's extra slots: with ``stage3.batch.fused_draws`` the fused picks after the
    first (:func:`stage3_fused_draws`), then the trust-region slots (boxes) or GP slots
    (pools), the exploration slots and the family slots (``stage3.batch.trust_region_share``
    or ``.pool_gp_share``, ``.explore_share``, ``.family_share``, counted by
    :func:`batch_slots`; docs/method.md).

    Args:
        in_region: ``k`` flags of the candidates inside the trust region (boxes), or ``None``.
        box: Whether the candidates come from a box (else a closed pool).
        family_order: ``M`` scores that order the family slots instead of the families'
            out-of-bag accuracy (``stage3.batch.family_order = "ahead"``:
            :func:`stage1_ahead_weights`), or ``None``.
        coverage: What the coverage slots need (``stage3.batch.stall_coverage``): Stage 2's
            structure report, the iteration's embedding, the ``k`` candidates' and the
            measured designs' features; or ``None`` (no coverage slots).
        local_share: The trust region's share of the recent improvement rates (boxes with
            ``stage3.batch.trust_region_adaptive``; :func:`batch_slots`), or ``None``.

    Returns:
        ``(slot_scores, sources)``: per slot, ``k`` scores and ``"fused_draw"`` (a fused pick
        of a posterior draw), ``"trust_region"`` (the
        utility inside the region) or ``"trust_region_gp"`` (a GP's expected improvement
        there), ``"pool_gp"`` (a GP's expected improvement over the pool),
        ``"exploration"`` (scored by the reservoir), ``"exploration_gp"`` (by the GP),
        ``"lead"`` (a stalled pool's first exploration slots with ``stall_leads``),
        ``"coverage"`` (its others with ``stall_coverage``) or the family's name.
    """
    batch = state.settings.stage3.batch
    n_region, n_family, n_explore = batch_slots(state, q, box=box, local_share=local_share)
    if box:
        region = stage3_region_slots(state, acqf, moments, scores, n_region, in_region, seed)
        region_label = "trust_region_gp" if batch.trust_region_model == "gp" else "trust_region"
    else:
        region = stage3_gp_slots(acqf, moments, scores, n_region, np.isfinite(scores["utility"]), seed)
        region_label = "pool_gp"
    leads: list[np.ndarray] = []
    is_stalled = not box and stalled_batches(state) >= batch.stall_batches
    if not box and not is_stalled:
        n_explore = new_level_slots(state, acqf, moments, scores, q, n_explore, q - n_region - n_family - 1)
    if batch.family_rule == "coverage":
        n_fused = max(q - n_region - n_family - n_explore, 1)
        family, names = stage3_hit_coverage_slots(moments, scores, n_family, q, n_fused), ["hit_coverage"] * n_family
    else:
        family, names = stage3_family_slots(state, model, moments, scores, n_family, seed, family_order)
    embedded = None
    if coverage is not None and not box and (is_stalled or (batch.stall_leads and batch.leads_anytime)):
        report, geometry, X_cand, X_obs = coverage
        embedded = (report, geometry.transform(X_cand), geometry.transform(X_obs))
    if embedded is not None and batch.stall_leads:
        leads = stage3_lead_slots(state, model, *embedded[1:], scores, n_explore)
    if embedded is not None and is_stalled and batch.stall_coverage:
        explore = stage3_coverage_slots(*embedded, scores, n_explore - len(leads))
        label = "coverage"
    else:
        explore = stage3_explore_slots(state, acqf, moments, scores, n_explore - len(leads), seed)
        label = "exploration_gp" if batch.explore_model == "gp" else "exploration"
    n_draws = max(q - n_region - n_family - n_explore - 1, 0) if batch.fused_draws else 0
    draws = stage3_fused_draws(state, acqf, moments, scores, n_draws, seed)
    return (
        draws + region + leads + explore + family,
        ["fused_draw"] * len(draws) + [region_label] * len(region) + ["lead"] * len(leads) + [label] * len(explore)
        + names,
    )


def new_level_slots(
    state: CampaignState,
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    q: int,
    n_explore: int,
    room: int,
) -> int:
    r"""The exploration slots of a pool batch with ``stage3.batch.new_level_share``: at least
    ``n_explore``, and one per level no evaluated design has among the candidates
    (:func:`~axfusion.acquisition.levels.unmeasured_levels`), up to
    ``floor(new_level_share q)`` and ``room`` (the slots that leave one fused pick)."""
    batch = state.settings.stage3.batch
    if batch.new_level_share <= 0 or not batch.explore_levels or batch.explore_model != "reservoir":
        return n_explore
    cap = min(int(np.floor(batch.new_level_share * q)), room)
    if cap <= n_explore:
        return n_explore
    counts = acqf.level_counts(moments.Z)
    if counts is None:
        return n_explore
    free = np.isfinite(scores["utility"])
    return max(n_explore, unmeasured_levels(counts, moments.Z, acqf.level_columns(), cap, free=free))


def stage3_fused_draws(
    state: CampaignState,
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    n_slots: int,
    seed: int,
) -> list[np.ndarray]:
    r"""Stage 3b, the fused picks after the first (``stage3.batch.fused_draws``): per slot,
    the fused utility ``pi A`` of one posterior draw of the reservoir
    (:func:`~axfusion.acquisition.hedge.fused_draw_moments`), scored by the calibrated
    acquisition in chunks of ``loop.chunk_size``. Candidates outside ``U``'s support stay
    excluded."""
    if n_slots <= 0:
        return []
    rng = np.random.default_rng([seed, 0xD4A5])
    step = state.settings.loop.chunk_size
    k = moments.Z.shape[0]
    out = []
    for _ in range(n_slots):
        draw = fused_draw_moments(moments, rng)
        parts = [
            acqf.score(
                torch.as_tensor(draw.Z[lo : lo + step]), pi=scores["pi"][lo : lo + step],
                moments=draw.take(np.arange(lo, min(lo + step, k))),
            )["utility"]
            for lo in range(0, k, step)
        ]
        out.append(_on_support(scores, np.concatenate(parts)))
    return out


def batch_slots(
    state: CampaignState, q: int, *, box: bool = True, local_share: float | None = None
) -> tuple[int, int, int]:
    r"""``(n_region, n_family, n_explore)``: the trust-region slots (``box``) or the pool's GP
    slots (``stage3.batch.pool_gp_share``), the family and the exploration slots of a batch of
    ``q`` (:func:`~axfusion.acquisition.hedge.split_slots`; in a box in the order
    ``stage3.batch.box_slot_order``, on a pool the family slots first). In a box with
    ``stage3.batch.trust_region_adaptive``, ``local_share`` (the trust region's share of the
    recent improvement rates, :class:`~axfusion.candidates.trust_region.RegionCredit`)
    re-splits the same slots (:func:`~axfusion.acquisition.hedge.adaptive_region_slots`)."""
    batch = state.settings.stage3.batch
    explore_share = batch.explore_share
    if not box and batch.stall_explore_share is not None and stalled_batches(state) >= batch.stall_batches:
        explore_share = max(explore_share, batch.stall_explore_share)
    n_region, n_family, n_explore = split_slots(
        batch.trust_region_share if box else batch.pool_gp_share, batch.family_share, explore_share, q,
        region_first=box and batch.box_slot_order == "region_first",
    )
    if box and batch.trust_region_adaptive and local_share is not None:
        return adaptive_region_slots(n_region, n_family, n_explore, local_share)
    return n_region, n_family, n_explore


def stalled_batches(state: CampaignState) -> int:
    r"""How many measured batches in a row, up to the last, found no design better than the
    best before them (by :meth:`~axfusion.campaign.CampaignState.scalar`); the initial
    design is never a stall. From the measurements alone, so a resumed campaign agrees."""
    if not state.successful:
        return 0
    initial, *batches = measured_batches(state)
    best, stall = float(np.max(initial)), 0
    for batch in (b for b in batches if b.size):  # a batch with no successful measurement is no evidence
        if float(batch.max()) > best:
            best, stall = float(batch.max()), 0
        else:
            stall += 1
    return stall


def measured_batches(state: CampaignState) -> list[np.ndarray]:
    r"""The successful measurements' :meth:`~axfusion.campaign.CampaignState.scalar` values per
    iteration, from the first measured one (the initial design) to the campaign's last: one
    array each, empty where no measurement of that iteration succeeded."""
    value = state.scalar()
    iterations = np.array([o.iteration for o in state.successful])
    return [value[iterations == i] for i in range(int(iterations.min()), state.iteration + 1)]


def stage3_region_slots(
    state: CampaignState,
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    n_slots: int,
    in_region: np.ndarray | None,
    seed: int = 0,
) -> list[np.ndarray]:
    r"""Stage 3b, trust region: the scores of ``n_slots`` trust-region slots, ``-inf``
    outside the region: the fused utility (``stage3.batch.trust_region_model = "utility"``)
    or an ARD GP's log expected improvement (``"gp"``,
    :func:`~axfusion.acquisition.exploration.gp_ei_slots`) on the mean of the oriented,
    standardised targets."""
    if in_region is None or n_slots <= 0:
        return []
    if state.settings.stage3.batch.trust_region_model == "utility":
        return [_in_region(scores["utility"], in_region)] * n_slots
    return stage3_gp_slots(acqf, moments, scores, n_slots, np.isfinite(scores["utility"]) & in_region, seed)


def stage3_gp_slots(
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    n_slots: int,
    support: np.ndarray,
    seed: int = 0,
) -> list[np.ndarray]:
    r"""``n_slots`` slot scores from an ARD GP's log expected improvement
    (:func:`~axfusion.acquisition.exploration.gp_ei_slots`) on the members' inputs and the
    mean of the oriented, standardised targets; ``-inf`` off ``support`` (``k`` flags)."""
    if n_slots <= 0:
        return []
    Xs = acqf.fusion_model.standardised_training_data()[0]
    y = np.asarray(acqf.scorer.Y_std).mean(axis=1)
    slots = gp_ei_slots(Xs, y, moments.Z, n_slots, support=support, seed=seed)
    return [np.where(support, v, -np.inf) for v in slots]


def stage3_explore_slots(
    state: CampaignState,
    acqf: FusionAcquisition,
    moments: FusionMoments,
    scores: dict[str, Any],
    n_slots: int,
    seed: int = 0,
) -> list[np.ndarray]:
    r"""Stage 3b, exploration: the scores of ``n_slots`` exploration slots, from
    :meth:`~axfusion.acquisition.FusionAcquisition.exploration` (``explore_model =
    "reservoir"``) or an ARD GP's batch UCB (``"gp"``,
    :func:`~axfusion.acquisition.exploration.gp_ucb_slots`); candidates outside ``U``'s
    support stay excluded. With categorical columns and ``explore_levels`` the reservoir's
    spread also grows for rarely measured levels, and each slot counts the levels of the
    earlier slots' best free candidates as measured (:mod:`axfusion.acquisition.levels`)."""
    batch = state.settings.stage3.batch
    if n_slots <= 0:
        return []
    if batch.explore_model == "gp":
        Xs = acqf.fusion_model.standardised_training_data()[0]
        support = np.isfinite(scores["utility"])
        slots = gp_ucb_slots(Xs, acqf.scorer.Y_std, moments.Z, n_slots, support=support, seed=seed)
        return [_on_support(scores, v) for v in slots]
    counts = acqf.level_counts(moments.Z) if batch.explore_levels else None
    if counts is None:
        return [_on_support(scores, acqf.exploration(moments))] * n_slots
    Z, columns = moments.Z, acqf.level_columns()
    reach = acqf.distance_reach(acqf.data_distance(Z))
    seen = {"counts": counts}

    def score() -> np.ndarray:
        return _on_support(scores, acqf.exploration(moments, level_counts=seen["counts"], reach=reach))

    def take(row: int) -> None:  # each slot counts the earlier slots' levels as measured
        seen["counts"] = count_chosen(seen["counts"], Z, columns, row)

    return sequential_slots(n_slots, score, take)


def stage3_coverage_slots(
    report: StructureReport | None,
    Z_cand: np.ndarray,
    Z_obs: np.ndarray,
    scores: dict[str, Any],
    n_slots: int,
) -> list[np.ndarray]:
    r"""Stage 3b, a stalled pool's exploration (``stage3.batch.stall_coverage``): the scores of
    ``n_slots`` coverage slots (:func:`~axfusion.acquisition.coverage.coverage_slots`) -- the
    distance to the measured designs and the earlier picks in the iteration's embedding
    (``k x p`` candidates ``Z_cand``, ``n x p`` measured designs ``Z_obs``), weighted by Stage
    2's density ``1 - u_tail`` (1 everywhere with the structure stage off); candidates outside
    ``U``'s support stay excluded."""
    tail = None if report is None else report.components.get("tail")
    k = len(scores["utility"])
    density = np.ones(k) if tail is None else 1.0 - np.asarray(tail, dtype=np.float64)
    return coverage_slots(Z_cand, Z_obs, density, scores["utility"], n_slots)


def stage3_lead_slots(
    state: CampaignState,
    model: ReservoirModel,
    Z_cand: np.ndarray,
    Z_obs: np.ndarray,
    scores: dict[str, Any],
    n_slots: int,
) -> list[np.ndarray]:
    r"""Stage 3b, a stalled pool's leads (``stage3.batch.stall_leads``): up to ``n_slots`` lead
    slots (:func:`~axfusion.acquisition.coverage.lead_slots`) -- the nearest unmeasured
    neighbours, in the iteration's embedding (``Z_cand``, ``Z_obs`` as for
    :func:`stage3_coverage_slots`), of the measured designs that beat their
    out-of-bag prediction most (the reservoir's out-of-bag residuals, oriented and averaged
    over the maximised and minimised targets; none for ``value`` and ``window`` targets)."""
    if n_slots <= 0:
        return []
    values = surprise(model.oob_residuals(), [t.kind for t in state.targets])
    return lead_slots(Z_cand, Z_obs, values, scores["utility"], n_slots)


def stage3_family_slots(
    state: CampaignState,
    model: ReservoirModel,
    moments: FusionMoments,
    scores: dict[str, Any],
    n_slots: int,
    seed: int,
    order: np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[str]]:
    r"""Stage 3b, the hedge: the scores of ``n_slots`` family slots: per slot, a bootstrap
    member drawn from the next family in order of accuracy
    (:func:`~axfusion.acquisition.hedge.family_draws`) -- the out-of-bag accuracy averaged over
    the targets, or the ``M`` scores of ``order`` when given; with ``stage3.batch.family_order =
    "rotate"`` the iteration's first slot continues where the last batch's stopped, with
    ``"probability"`` each slot's family is drawn by its probability of being the most
    accurate. Candidates outside ``U``'s support (``-inf``) stay excluded.

    Returns:
        ``(slot_scores, families)``: per slot, ``k`` scores and the family's name.
    """
    if n_slots <= 0:
        return [], []
    accuracy = np.mean([t.accuracy for t in scores["calibration"].targets], axis=0) if order is None else order
    rule = state.settings.stage3.batch.family_order
    start = state.iteration * n_slots if rule == "rotate" else 0
    probabilities = _family_probabilities(scores, accuracy) if rule == "probability" else None
    draws = family_draws(
        moments.members, accuracy, n_slots, np.random.default_rng([seed, 0x5EED]), start, probabilities
    )
    names = model.family_names
    return [_on_support(scores, d.values) for d in draws], [names[d.family] for d in draws]


def stage3_hit_coverage_slots(
    moments: FusionMoments, scores: dict[str, Any], n_slots: int, q: int, n_fused: int
) -> list[np.ndarray]:
    r"""Stage 3b, the family slots with ``stage3.batch.family_rule = "coverage"``
    (:func:`~axfusion.acquisition.hedge.hit_coverage_slots`): each member nominates its ``q``
    best candidates on ``U``'s support, the families weighted by their probability of being
    the most accurate; the ``n_fused`` best candidates by ``U`` count as covered."""
    if n_slots <= 0:
        return []
    utility = np.asarray(scores["utility"])
    support = np.isfinite(utility)
    accuracy = np.mean([t.accuracy for t in scores["calibration"].targets], axis=0)
    covered = np.argsort(-np.where(support, utility, -np.inf), kind="stable")[: min(n_fused, int(support.sum()))]
    weights = _family_probabilities(scores, accuracy)
    return hit_coverage_slots(moments.members, weights, n_slots, q, covered, support)


def _family_probabilities(scores: dict[str, Any], accuracy: np.ndarray) -> np.ndarray:
    r"""``M`` probabilities that each family is the most accurate
    (:func:`~axfusion.acquisition.fusion.probability_of_best` of ``accuracy`` and the members'
    out-of-bag spread, both averaged over the targets)."""
    targets = scores["calibration"].targets
    spread = [np.zeros_like(t.accuracy) if t.accuracy_spread is None else t.accuracy_spread for t in targets]
    return probability_of_best(accuracy, np.mean(spread, axis=0))


def stage3_region_utility(state: CampaignState, cands: CandidateSet, scores: dict[str, Any]) -> np.ndarray:
    r"""The utility the fused picks follow: ``U`` itself, or with ``stage3.batch.trust_region_share = 1``
    in a box, ``U`` inside the trust region and ``-inf`` outside it (the whole batch from the region)."""
    utility = np.asarray(scores["utility"])
    if cands.in_region is None or state.settings.stage3.batch.trust_region_share < 1.0:
        return utility
    return _in_region(utility, cands.in_region)


def _in_region(utility: np.ndarray, in_region: np.ndarray) -> np.ndarray:
    r"""``utility`` inside the trust region, ``-inf`` outside it."""
    return np.where(in_region, utility, -np.inf)


def _on_support(scores: dict[str, Any], values: np.ndarray) -> np.ndarray:
    r"""Slot scores with the candidates outside ``U``'s support (``-inf``) kept out."""
    return np.where(np.isfinite(scores["utility"]), values, -np.inf)


def stage3_batch(
    state: CampaignState,
    cands: CandidateSet,
    X_obs: np.ndarray,
    geometry: Embedding,
    utility: np.ndarray,
    labels: np.ndarray,
    report: StructureReport | None,
    q: int,
    seed: int,
    slot_scores: list[np.ndarray] | None = None,
    scale: np.ndarray | None = None,
) -> tuple[BatchDecision, np.ndarray, np.ndarray]:
    r"""Stage 3b: the batch, from the utilities and the geometry of the candidates (the
    last ``len(slot_scores)`` picks from the slots' scores, :func:`stage3_slots`). With
    ``stage3.batch.level_cap`` and a pool's fixed column ``scale`` (categorical columns),
    the picks sharing one level are capped (:class:`~axfusion.acquisition.batch.LevelCap`).

    Returns:
        ``(decision, Z_cand, Z_obs)``: the :class:`~axfusion.acquisition.batch.BatchDecision`
        and the ``k x p`` / ``n x p`` candidates and evaluated designs in the iteration's
        embedding, where distances were measured.
    """
    s = state.settings
    Z_cand, Z_obs = geometry.transform(cands.X), geometry.transform(X_obs)
    improvement = recent_cluster_improvement(state, report) if report is not None else None
    codes = None
    if s.stage3.batch.level_cap > 0 and scale is not None and np.isfinite(scale).any():
        codes = level_codes(cands.X, np.flatnonzero(np.isfinite(scale)), 1.0 / q)  # rarer than one per random batch
    decision = select_batch(
        utility, Z_cand, labels, Z_obs, q, recent_improvement=improvement, settings=s.stage3.batch, seed=seed,
        slot_scores=slot_scores or (), levels=codes,
    )
    return decision, Z_cand, Z_obs


def stage3_qlognei(
    state: CampaignState,
    model: ReservoirModel,
    cands: CandidateSet,
    X_obs: np.ndarray,
    geometry: Embedding,
    labels: np.ndarray,
    q: int,
) -> tuple[dict[str, Any], BatchDecision]:
    r"""Stage 3 ablation (``stage3.acquisition = "qlognei"``): qLogNEI on the reservoir over
    the same candidates, batch by sequential greedy conditioning; no pi, no batch rules.

    Returns:
        ``(scores, decision)`` shaped like the fusion path's (the fusion channels are NaN).
    """
    indices, values = qlognei_batch(model, X_obs, cands.X, state.targets, q)
    k, m = len(cands), state.m
    nan = np.full((k, m), np.nan)
    scores: dict[str, Any] = {
        "utility": values, "acquisition": values, "pi": np.ones(k), "model": nan, "fusion": nan, "calibration": None,
    }
    Zb = geometry.transform(cands.X[indices])
    pair = np.linalg.norm(Zb[:, None] - Zb[None], axis=-1)
    intra = float(pair[np.triu_indices(len(indices), 1)].mean()) if len(indices) > 1 else 0.0
    chosen_labels, counts = np.unique(labels[indices], return_counts=True)
    decision = BatchDecision(
        indices=indices, diversified=False, checks={}, leading_cluster=None, intra_batch_distance=intra,
        cluster_bandwidth={int(c): int(n) for c, n in zip(chosen_labels, counts)},
    )
    return scores, decision


def recent_cluster_improvement(state: CampaignState, report: StructureReport) -> dict[int, float] | None:
    r"""Per current cluster: how much the last batch raised its best value (the cluster
    bandwidth rule's "recent improvements"); ``None`` before the first batch."""
    if state.iteration == 0:
        return None
    score = state.scalar()
    recent = state.recent_mask()
    if not recent.any() or recent.all():
        return None
    labels = np.asarray(report.evaluated_labels)
    out: dict[int, float] = {}
    for c in np.unique(labels[labels >= 0]):
        in_c = labels == c
        new = score[in_c & recent]
        old = score[in_c & ~recent]
        if new.size:
            base = old.max() if old.size else score[~recent].min()
            out[int(c)] = float(max(new.max() - base, 0.0))
    return out or None
