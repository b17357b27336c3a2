r"""Candidate generation for continuous or mixed box spaces (Stage 2, the authors' recipe).

For ``M`` surrogate families:

1. one differential-evolution (DE) run per family on its stochastic landscape -- at each
   evaluation the mean of ``members_per_call`` (2) of its members drawn at random;
2. one DE run on the pooled members of all families, ``pooled_members_per_call`` (4) per
   evaluation;
3. every trial vector scored by these runs is recorded; the best ``n_candidates`` (10,000)
   distinct designs by objective value are kept;
4. ``floor(n_candidates · M · sobol_fraction_per_family)`` scrambled Sobol points are added
   (``sobol_fraction_per_family = 1/5`` gives docs/method.md's ``floor(n_cand · M / 5)``);
5. optionally (``n_local > 0`` with ``anchors``), local candidates around the best evaluated
   designs (:mod:`axfusion.candidates.local`) -- an axfusion addition, not in the authors'
   recipe: without it a large continuous box gets no candidates near the incumbent.

All DE runs share one wall-clock budget: each run, in turn, may use the time left divided by
the number of runs left (time a run does not use passes to the later runs), and stops at the
end of the generation in which its share ran out (every run scores at least its initial
population and one generation). Categorical and integer values are exact
(see :mod:`axfusion.candidates.parameters`); with linear constraints DE is given them as
constraints, so only feasible trials are scored and kept.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import NonlinearConstraint, differential_evolution

from axfusion.candidates._ranking import round_robin_order
from axfusion.candidates._validation import (
    check_fraction,
    check_non_negative_int,
    check_positive_int,
)
from axfusion.candidates.archive import TrialArchive, best_distinct, row_keys
from axfusion.candidates.local import sample_local_codes
from axfusion.candidates.objective import MemberFn, MemberMeanObjective
from axfusion.candidates.space import SearchSpace
from axfusion.settings import BoxSettings, resolve

POOLED = "pooled"
r"""Source label of the DE run on the pooled members."""
SOBOL = "sobol"
r"""Source label of the Sobol points."""
LOCAL = "local"
r"""Source label of the local candidates around evaluated anchors."""

Allocation = Literal["pooled", "per_run"]


@dataclass(frozen=True)
class DERunReport:
    r"""What one differential-evolution run did.

    Attributes:
        name: Family name, or ``"pooled"``.
        n_trials: Trial vectors scored (the initial population included).
        n_generations: Generations completed.
        wall_time_s: Seconds spent.
        time_limit_s: The run's share of the budget (``inf`` without a budget).
        stopped_by_time: Whether the budget ended the run.
        best_objective: Largest objective value seen (``nan`` if nothing was feasible).
        message: Scipy's termination message.
    """

    name: str
    n_trials: int
    n_generations: int
    wall_time_s: float
    time_limit_s: float
    stopped_by_time: bool
    best_objective: float
    message: str


@dataclass(frozen=True)
class CandidateBatch:
    r"""Generated candidates: the DE candidates (best first with ``allocation="pooled"``,
    interleaved run by run with ``"per_run"``), then the local candidates, then the Sobol
    points.

    Attributes:
        raw: ``k``-row DataFrame of designs (exact levels and integers).
        features: ``(k, p)`` float64 model features.
        vectors: ``(k, D)`` canonical optimiser vectors.
        source: ``(k,)`` str: the family name, ``"pooled"``, ``"local"`` or ``"sobol"``.
        objective: ``(k,)`` the stochastic objective value at which a DE candidate was
            recorded (its best, if recorded more than once); ``nan`` for local and Sobol
            points.
        feature_names: The ``p`` feature names.
        runs: One :class:`DERunReport` per DE run.
    """

    raw: pd.DataFrame
    features: np.ndarray
    vectors: np.ndarray
    source: np.ndarray
    objective: np.ndarray
    feature_names: tuple[str, ...]
    runs: tuple[DERunReport, ...]

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def subset(self, index: Any) -> CandidateBatch:
        r"""The candidates selected by ``index`` (integer indices or a boolean mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return CandidateBatch(
            raw=self.raw.iloc[index].reset_index(drop=True),
            features=self.features[index],
            vectors=self.vectors[index],
            source=self.source[index],
            objective=self.objective[index],
            feature_names=self.feature_names,
            runs=self.runs,
        )


def generate_box_candidates(
    space: SearchSpace,
    members: Mapping[str, MemberFn],
    *,
    settings: BoxSettings | None = None,
    anchors: np.ndarray | None = None,
    seed: int = 0,
    **options: Any,
) -> CandidateBatch:
    r"""Generate a candidate set for a box space from surrogate members.

    Args:
        space: The search space.
        members: Family name -> member function mapping features ``(k, p)`` to member
            predictions ``(B, k)`` of the objective to maximise (``M`` families).
        settings: :class:`~axfusion.settings.BoxSettings`: candidates kept, the DE options
            (generations, population, tolerance, time budget), members per objective call,
            the Sobol share, ``redraw`` (``"vector"``: members drawn per trial vector,
            ``"call"``: per generation), ``allocation`` (``"pooled"`` keeps the best trials of
            all runs by value, ``"per_run"`` an equal share per run), and the local candidates.
        **options: Fields of :class:`~axfusion.settings.BoxSettings` overriding ``settings``.
        anchors: ``(a, D)`` codes of the best evaluated designs, best first, for the local
            candidates (required when ``n_local > 0``).
        seed: Seed of all DE runs, member draws, local and Sobol points.

    Returns:
        A :class:`CandidateBatch`: ``min(n_candidates, distinct trials)`` DE candidates,
        then the local candidates, then the Sobol points (local or Sobol points equal to an
        earlier candidate -- possible in discrete spaces -- are dropped).
    """
    cfg = resolve(BoxSettings, settings, options, "generate_box_candidates")
    n_candidates, members_per_call = cfg.n_candidates, cfg.members_per_call
    pooled_members_per_call, sobol_fraction_per_family = cfg.pooled_members_per_call, cfg.sobol_fraction_per_family
    maxiter, popsize, time_budget_s = cfg.maxiter, cfg.popsize, cfg.time_budget_s
    allocation, redraw = cfg.allocation, cfg.redraw
    n_local, local_scales = cfg.n_local, cfg.local_scales
    strategy, mutation, recombination, tol, init = cfg.strategy, cfg.mutation, cfg.recombination, cfg.tol, cfg.init
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
    families = _check_members(members)
    n_candidates = check_positive_int(n_candidates, "n_candidates")
    members_per_call = check_positive_int(members_per_call, "members_per_call")
    pooled_members_per_call = check_positive_int(pooled_members_per_call, "pooled_members_per_call")
    sobol_fraction_per_family = check_fraction(
        sobol_fraction_per_family, "sobol_fraction_per_family"
    )
    maxiter = check_positive_int(maxiter, "maxiter")
    popsize = check_positive_int(popsize, "popsize")
    if time_budget_s is not None and not (np.isfinite(time_budget_s) and time_budget_s > 0):
        raise ValueError(f"time_budget_s must be a positive number or None, got {time_budget_s}")
    if allocation not in ("pooled", "per_run"):
        raise ValueError(f"allocation must be 'pooled' or 'per_run', got {allocation!r}")
    if redraw not in ("vector", "call"):
        raise ValueError(f"redraw must be 'vector' or 'call', got {redraw!r}")
    n_local = check_non_negative_int(n_local, "n_local")
    if n_local and anchors is None:
        raise ValueError("n_local > 0 needs anchors: the codes of the best evaluated designs")

    runs: list[tuple[str, list[tuple[str, MemberFn]], int]] = [
        (name, [(name, fn)], members_per_call) for name, fn in families
    ]
    runs.append((POOLED, families, pooled_members_per_call))
    seeds = np.random.SeedSequence(seed).spawn(2 * len(runs) + 2)
    constraints = _de_constraints(space)
    de_options = dict(
        strategy=strategy,
        maxiter=maxiter,
        popsize=popsize,
        mutation=mutation,
        recombination=recombination,
        tol=tol,
        init=init,
        polish=False,
        updating="deferred",
        vectorized=True,
    )

    start = time.perf_counter()
    archives: list[TrialArchive] = []
    reports: list[DERunReport] = []
    for r, (name, run_families, per_call) in enumerate(runs):
        if time_budget_s is None:
            limit = np.inf
        else:
            limit = max(time_budget_s - (time.perf_counter() - start), 0.0) / (len(runs) - r)
        archive = TrialArchive(n_candidates)
        objective = MemberMeanObjective(
            space,
            run_families,
            per_call,
            np.random.default_rng(seeds[2 * r]),
            redraw=redraw,
            recorder=archive.add,
        )
        reports.append(
            _run_de(
                name,
                objective,
                archive,
                space,
                limit,
                constraints,
                np.random.default_rng(seeds[2 * r + 1]),
                de_options,
            )
        )
        archives.append(archive)

    run_names = [name for name, _, _ in runs]
    codes, values, labels = _select(archives, run_names, n_candidates, allocation)
    n_sobol = int(np.floor(n_candidates * len(families) * sobol_fraction_per_family))
    sobol_seed = int(seeds[-2].generate_state(1)[0])
    sobol = space.sample_sobol_codes(n_sobol, seed=sobol_seed)
    local = np.empty((0, space.dim))
    if n_local:
        local_seed = int(seeds[-1].generate_state(1)[0])
        assert anchors is not None  # checked above
        local = sample_local_codes(space, anchors, n_local, scales=local_scales, seed=local_seed)
        local = local[_new_rows(codes, local)]
    sobol = sobol[_new_rows(np.concatenate([codes, local]), sobol)]

    all_codes = np.concatenate([codes, local, sobol])
    n_extra = local.shape[0] + sobol.shape[0]
    return CandidateBatch(
        raw=space.codes_to_raw(all_codes),
        features=space.codes_to_features(all_codes),
        vectors=space.codes_to_vectors(all_codes),
        source=np.concatenate(
            [labels, np.full(local.shape[0], LOCAL), np.full(sobol.shape[0], SOBOL)]
        ).astype(str),
        objective=np.concatenate([values, np.full(n_extra, np.nan)]),
        feature_names=space.feature_names,
        runs=tuple(reports),
    )


def _check_members(members: Mapping[str, MemberFn]) -> list[tuple[str, MemberFn]]:
    if not isinstance(members, Mapping) or not members:
        raise TypeError("members must be a non-empty mapping of family name -> member function")
    out = []
    for name, fn in members.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"family names must be non-empty strings, got {name!r}")
        if name in (POOLED, SOBOL, LOCAL):
            raise ValueError(f"{name!r} is reserved as a candidate source label; rename the family")
        if not callable(fn):
            raise TypeError(f"members of family {name!r} must be callable, got {type(fn).__name__}")
        out.append((name, fn))
    return out


def _de_constraints(space: SearchSpace) -> tuple[NonlinearConstraint, ...]:
    r"""The space's linear constraints as a DE constraint on optimiser vectors.

    They are linear in the raw values, not in the vectors (log scales, rounding), so they are
    passed as a vectorised nonlinear constraint ``slack(decode(v)) <= 0``."""
    if not space.linear_constraints:
        return ()

    def slack(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        out = space.constraint_slack(space.vectors_to_codes(v.reshape(space.dim, -1).T)).T
        return out[:, 0] if v.ndim == 1 else out

    return (NonlinearConstraint(slack, -np.inf, 0.0),)


class _ObjectiveFailed(Exception):
    r"""Raised through scipy when the objective failed; the original error follows."""


def _run_de(
    name: str,
    objective: MemberMeanObjective,
    archive: TrialArchive,
    space: SearchSpace,
    limit: float,
    constraints: tuple[NonlinearConstraint, ...],
    rng: np.random.Generator,
    de_options: dict[str, Any],
) -> DERunReport:
    r"""One DE run on ``objective`` whose trials go to ``archive``, stopped after the
    generation in which ``limit`` seconds have passed."""
    t0 = time.perf_counter()
    stopped = False

    def callback(intermediate_result: Any) -> None:
        nonlocal stopped
        if time.perf_counter() - t0 >= limit:
            stopped = True
            raise StopIteration

    failures: list[Exception] = []

    def guarded(v: np.ndarray) -> np.ndarray:
        # scipy turns a ValueError or TypeError of the objective into an opaque RuntimeError;
        # carry the original (e.g. a member function's bad output shape) past it instead.
        try:
            return objective(v)
        except (ValueError, TypeError) as exc:
            failures.append(exc)
            raise _ObjectiveFailed from exc

    try:
        result = differential_evolution(
            guarded,
            bounds=space.bounds,
            constraints=constraints,
            callback=callback,
            rng=rng,
            **de_options,
        )
    except _ObjectiveFailed:
        raise failures[0] from None
    _, values = archive.best()
    return DERunReport(
        name=name,
        n_trials=objective.n_trials,
        n_generations=int(result.nit),
        wall_time_s=time.perf_counter() - t0,
        time_limit_s=float(limit),
        stopped_by_time=stopped,
        best_objective=float(values[0]) if values.size else float("nan"),
        message=str(result.message),
    )


def _select(
    archives: list[TrialArchive], names: list[str], n: int, allocation: Allocation
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The best ``n`` distinct trials over all runs: codes ``(n, D)``, values ``(n,)`` and
    source labels ``(n,)``."""
    parts = [(a.best(), r) for r, a in enumerate(archives)]
    parts = [((c, v), r) for (c, v), r in parts if v.size]
    if not parts:
        raise RuntimeError("no differential-evolution run scored a feasible trial vector")
    codes = np.concatenate([c for (c, _), _ in parts])
    values = np.concatenate([v for (_, v), _ in parts])
    run = np.concatenate([np.full(v.size, r) for (_, v), r in parts])
    rank = np.concatenate([np.arange(v.size) for (_, v), _ in parts])
    if allocation == "pooled":
        keep = best_distinct(codes, values, np.arange(values.size), n)
    else:
        order = round_robin_order(run, rank.astype(np.float64))
        position = np.arange(order.size)
        first_seen = best_distinct(codes[order], -position.astype(np.float64), position, n)
        keep = order[first_seen]
    return codes[keep], values[keep], np.asarray(names, dtype=object)[run[keep]]


def _new_rows(existing: np.ndarray, new: np.ndarray) -> np.ndarray:
    r"""Boolean mask of the rows of ``new`` ``(m, D)`` that equal neither a row of
    ``existing`` ``(n, D)`` nor an earlier row of ``new``."""
    if new.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    stacked = np.concatenate([existing, new])
    _, first = np.unique(row_keys(stacked), return_index=True)
    keep = np.zeros(stacked.shape[0], dtype=bool)
    keep[first] = True
    return keep[existing.shape[0] :]
