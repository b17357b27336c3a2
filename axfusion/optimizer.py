r"""FusionOptimizer: the method's ask/tell loop, without Ax.

One call of :meth:`FusionOptimizer.suggest` runs the four stages on the
measurements so far:

1. Stage 0-1: fit a :class:`~axfusion.models.ReservoirModel` (capacity from the
   intrinsic dimension, target-biased bootstrap, OOB reliability);
2. Stage 2: the candidate set -- the unevaluated, non-pending rows of a closed
   pool (masked by index; large pools prefiltered by ensemble mean and spread)
   or DE + Sobol candidates in a box -- and the structural weights ``pi(x)``;
3. Stage 3: the fusion acquisition ``U(x) = pi(x) A(x)`` (or ``pi(x) U_MO(x)``)
   and a cluster-aware, diverse batch.

:meth:`FusionOptimizer.observe` records measurements (also for rows that were
not suggested, and failed ones, which are kept but not modelled). With a
``state_path`` the whole campaign -- data, suggestions, diagnostics, seeds -- is
written atomically after every ``observe`` and ``suggest``, and
:meth:`FusionOptimizer.resume` continues it exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from axfusion.acquisition import FusionAcquisition, FusionConfig, HypervolumeConfig, Target
from axfusion.acquisition.batch import select_batch
from axfusion.acquisition.targets import orient, parse_targets
from axfusion.candidates import CandidatePool, SearchSpace, generate_box_candidates, prefilter
from axfusion.diagnostics import IterationRecord, jsonable
from axfusion.models import ReservoirModel, TuningRecord, TuningState
from axfusion.protocols import pareto_rows
from axfusion.structure import Embedding, structural_weights

__all__ = ["CampaignMismatchError", "FusionOptimizer", "OptimizerConfig", "Suggestion"]


class CampaignMismatchError(ValueError):
    r"""A saved campaign is resumed with another pool than it was started on."""

STATE_VERSION = 1
#: Dimensions kept for the batch geometry (distances, duplicates, novelty). The
#: clustering embedding keeps 10 (docs/method.md); distances need more: 10 principal axes of
#: one-hot categorical features map distinct designs onto the same point.
BATCH_EMBEDDING_DIM = 50


@dataclass(frozen=True)
class OptimizerConfig:
    r"""Options of the loop (every stage's own options live in its config).

    Attributes:
        batch_size: Default batch size of :meth:`FusionOptimizer.suggest`.
        budget_iterations: Planned number of iterations (caps Stage 0's
            information budget at ``batch_size * remaining iterations``).
        families: Surrogate families (names); ``None`` = the defaults.
        n_members: Bootstrap members per family.
        n_jobs: Processes fitting the families.
        prefilter_min_rows: Pools with at least this many available rows are
            prefiltered to a working set.
        prefilter_size: Size of the working set.
        n_box_candidates: Candidates generated per iteration in a box.
        box_time_budget_s: Shared DE time budget per iteration in a box
            (``None``: bounded by generations only, so a seed reproduces its
            candidates exactly on any machine).
        box_de_maxiter: DE generations per run in a box.
        box_de_popsize: DE population multiplier (population ``popsize · d``).
        n_local_candidates: Local candidates per iteration in a box, drawn around the
            best evaluated designs (:mod:`axfusion.candidates.local`); 0 gives the
            authors' recipe (DE and Sobol points only) and the default: an ablation
            that did not help on the benchmark functions (README).
        local_anchors: Number of best evaluated designs the local candidates start from
            (for several targets: Pareto-optimal designs first).
        pi_range: Range of the structural weights.
        use_structure: Multiply by ``pi(x)`` (ablation switch).
        cluster_bandwidth: Apply the paper's cluster bandwidth rule in the
            batch selection (``False`` = the authors' code).
        competitive_ratio: A cluster whose strength is at least this share of
            the leading cluster's gets batch slots (see
            :func:`~axfusion.acquisition.batch.select_batch`).
        chunk_size: Candidates scored at once.
    """

    batch_size: int = 10
    budget_iterations: int = 50
    families: tuple[str, ...] | None = None
    n_members: int = 8
    n_jobs: int = 1
    prefilter_min_rows: int = 100_000
    prefilter_size: int = 20_000
    n_box_candidates: int = 2_000
    box_time_budget_s: float | None = 20.0
    box_de_maxiter: int = 100
    box_de_popsize: int = 15
    n_local_candidates: int = 0
    local_anchors: int = 5
    pi_range: tuple[float, float] = (0.5, 1.0)
    use_structure: bool = True
    cluster_bandwidth: bool = True
    competitive_ratio: float = 0.8
    chunk_size: int = 20_000

    def as_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)


@dataclass
class Suggestion:
    r"""A suggested batch.

    Attributes:
        iteration: 1-based iteration number.
        table: One row per suggestion: ``row_id`` (pools) or the design's
            parameters (boxes); ``utility``, ``pi``, ``acquisition``; per target
            the predicted ``mean[...]`` and ``std[...]`` (raw units) and the
            ``model[...]`` / ``fusion[...]`` channels; ``cluster``; ``reason``.
        record: The iteration's :class:`~axfusion.diagnostics.IterationRecord`.
    """

    iteration: int
    table: pd.DataFrame
    record: IterationRecord

    @property
    def row_ids(self) -> np.ndarray:
        if "row_id" not in self.table:
            raise AttributeError("This suggestion is for a box search space; it has no pool row ids.")
        return self.table["row_id"].to_numpy()


@dataclass
class _Observation:
    key: Any  # pool row id, or the tuple of raw design values
    x: list[Any] | None
    y: list[float | None]
    failed: bool
    iteration: int


def _best_first(S: np.ndarray) -> np.ndarray:
    r"""Indices of ``n x m`` standardised oriented targets, best first: Pareto-optimal rows
    before the others, each group by decreasing mean (for ``m = 1``: by value)."""
    mean = S.mean(axis=1)
    on_front = np.zeros(S.shape[0], dtype=bool)
    on_front[pareto_rows(S)] = True
    return np.lexsort((-mean, ~on_front))


def _atomic_write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _pool_fingerprint(pool: CandidatePool) -> dict[str, Any]:
    rows = np.unique(np.linspace(0, pool.n_rows - 1, min(64, pool.n_rows)).astype(np.int64))
    digest = hashlib.sha256(np.ascontiguousarray(pool.take(rows), dtype=np.float64).tobytes()).hexdigest()
    return {"n_rows": int(pool.n_rows), "n_features": int(pool.n_features), "sha256_sample": digest}


def _restore_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


class FusionOptimizer:
    r"""The fusion optimiser as an ask/tell loop (closed pools or boxes).

    Example:
        >>> opt = FusionOptimizer(pool_X, targets=["maximize"], state_path="campaign.json", seed=0)
        >>> opt.observe(ids=initial_ids, Y=initial_y)
        >>> s = opt.suggest()                  # Suggestion; s.row_ids, s.table
        >>> opt.observe(ids=s.row_ids, Y=measure(s.row_ids))

    Args:
        candidates: A closed pool (:class:`~axfusion.candidates.CandidatePool`,
            an ``N x d`` array or a numeric DataFrame) or a box
            (:class:`~axfusion.candidates.SearchSpace`).
        targets: Per target a :class:`~axfusion.acquisition.Target` or
            ``"maximize"``/``"minimize"``; one entry per measured column.
        target_names: Names of the targets (for tables and reports).
        config: :class:`OptimizerConfig`.
        fusion_config: :class:`~axfusion.acquisition.FusionConfig`.
        hv_config: :class:`~axfusion.acquisition.HypervolumeConfig`.
        ref_point: Hypervolume reference point (oriented raw units).
        state_path: Where to save the campaign after every change (JSON).
        seed: Campaign seed; iteration ``t`` uses ``seed + t``.
    """

    def __init__(
        self,
        candidates: CandidatePool | SearchSpace | np.ndarray | pd.DataFrame,
        targets: Sequence[Target | str] | Target | str = "maximize",
        *,
        target_names: Sequence[str] | None = None,
        config: OptimizerConfig | None = None,
        fusion_config: FusionConfig | None = None,
        hv_config: HypervolumeConfig | None = None,
        ref_point: Sequence[float] | None = None,
        state_path: str | os.PathLike[str] | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(candidates, SearchSpace):
            self.space: SearchSpace | None = candidates
            self.pool: CandidatePool | None = None
        else:
            if isinstance(candidates, pd.DataFrame):
                bad = [c for c in candidates.columns if not pd.api.types.is_numeric_dtype(candidates[c])]
                if bad:
                    raise ValueError(
                        f"Pool columns must be numeric; non-numeric columns: {bad}. "
                        "Encode categorical columns first (e.g. Dataset.feature_matrix())."
                    )
                candidates = CandidatePool.from_frame(candidates)
            elif not isinstance(candidates, CandidatePool):
                candidates = CandidatePool.from_array(np.asarray(candidates, dtype=np.float64))
            self.pool = candidates
            self.space = None
        if isinstance(targets, (Target, str)):
            targets = [targets]
        self.targets = parse_targets(list(targets), len(list(targets)))
        self.m = len(self.targets)
        names = list(target_names) if target_names is not None else [
            t.name or f"y{j}" for j, t in enumerate(self.targets)
        ]
        if len(names) != self.m:
            raise ValueError(f"{len(names)} target names for {self.m} targets.")
        self.target_names = names
        self.config = config or OptimizerConfig()
        self.fusion_config = fusion_config or FusionConfig()
        self.hv_config = hv_config or HypervolumeConfig()
        self.ref_point = None if ref_point is None else [float(v) for v in ref_point]
        self.seed = int(seed)
        self.state_path = Path(state_path) if state_path is not None else None
        self.iteration = 0
        self.observations: list[_Observation] = []
        self.pending: list[Any] = []
        self.records: list[IterationRecord] = []
        self.suggestions: list[list[Any]] = []
        self.tuning_state = TuningState()
        self.model: ReservoirModel | None = None
        self._keys: dict[Any, int] = {}

    # ------------------------------------------------------------ observing
    def _key_of(self, x: Any) -> Any:
        if self.pool is not None:
            i = int(x)
            if not 0 <= i < self.pool.n_rows:
                raise IndexError(f"Row id {i} is outside the pool (0..{self.pool.n_rows - 1}).")
            return i
        return tuple(x)

    def observe(
        self,
        ids: Sequence[int] | np.ndarray | None = None,
        Y: np.ndarray | Sequence[Sequence[float]] | None = None,
        *,
        X: pd.DataFrame | None = None,
        failed: Sequence[bool] | np.ndarray | None = None,
    ) -> None:
        r"""Record measurements.

        Args:
            ids: Pool row ids (closed pools).
            Y: ``k x m`` measured targets (``k`` for one target). A row that is
                all-NaN, or flagged in ``failed``, is a failed measurement: it
                is recorded (and never suggested again) but not modelled.
            X: The measured designs (boxes): a DataFrame with the space's
                parameter columns.
            failed: ``k`` flags of failed measurements.
        """
        if self.pool is not None:
            if ids is None:
                raise ValueError("observe() on a closed pool needs the measured row `ids`.")
            keys = [self._key_of(i) for i in np.asarray(ids).reshape(-1)]
            xs: list[list[Any] | None] = [None] * len(keys)
        else:
            if X is None:
                raise ValueError("observe() in a box search space needs the measured designs `X`.")
            if not self.space.contains(X).all():
                raise ValueError("Some observed designs lie outside the search space.")
            raw = X[list(self.space.names)]
            xs = [list(r) for r in raw.itertuples(index=False, name=None)]
            keys = [tuple(r) for r in xs]
        k = len(keys)
        if Y is None:
            raise ValueError("observe() needs the measured targets `Y`.")
        Yarr = np.asarray(Y, dtype=np.float64)
        if Yarr.ndim == 1:
            Yarr = Yarr.reshape(k, -1) if self.m > 1 and Yarr.size == k * self.m else Yarr.reshape(-1, 1)
        if Yarr.shape != (k, self.m):
            raise ValueError(f"Y has shape {Yarr.shape}; expected ({k}, {self.m}) for {k} designs and {self.m} targets.")
        fail = np.zeros(k, dtype=bool) if failed is None else np.asarray(failed, dtype=bool).reshape(-1)
        if fail.shape != (k,):
            raise ValueError(f"`failed` needs {k} flags, got {fail.shape}.")
        if np.isinf(Yarr).any():
            raise ValueError("Y contains inf values; mark failed measurements with NaN or `failed`.")
        partial = np.isnan(Yarr).any(axis=1) & ~np.isnan(Yarr).all(axis=1) & ~fail
        if partial.any():
            raise ValueError(
                f"Rows {np.flatnonzero(partial).tolist()} have some targets missing; "
                "give all targets or mark the measurement failed."
            )
        fail = fail | np.isnan(Yarr).all(axis=1)
        if len(set(keys)) != k:
            raise ValueError("The same design appears twice in one observe() call.")
        for key, x, y, f in zip(keys, xs, Yarr, fail):
            if key in self._keys:
                raise ValueError(f"Design {key!r} was already observed; each design is measured once.")
            self._keys[key] = len(self.observations)
            self.observations.append(
                _Observation(key=key, x=x, y=[None if np.isnan(v) else float(v) for v in y], failed=bool(f), iteration=self.iteration)
            )
            if self.pool is not None:
                self.pool.mark_evaluated([key])
        observed = set(keys)
        self.pending = [p for p in self.pending if p not in observed]
        if self.pool is not None:
            self.pool.clear_pending()
            if self.pending:
                self.pool.mark_pending(self.pending)
        self.save()

    # -------------------------------------------------------------- helpers
    def _training_data(self) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        ok = [o for o in self.observations if not o.failed]
        if not ok:
            return np.zeros((0, 0)), np.zeros((0, self.m)), []
        Y = np.array([o.y for o in ok], dtype=np.float64)
        if self.pool is not None:
            X = self.pool.take(np.array([o.key for o in ok], dtype=np.int64))
        else:
            X = self.space.to_features(pd.DataFrame([o.x for o in ok], columns=list(self.space.names)))
        return np.asarray(X, dtype=np.float64), Y, [o.key for o in ok]

    @property
    def n_observed(self) -> int:
        return sum(not o.failed for o in self.observations)

    def best(self) -> pd.DataFrame:
        r"""The best successful measurement per target (oriented), with its design."""
        X, Y, keys = self._training_data()
        if not keys:
            raise ValueError("No successful measurement yet.")
        O = orient(Y, self.targets)
        rows = []
        for j, name in enumerate(self.target_names):
            i = int(np.argmax(O[:, j]))
            rows.append({"target": name, "value": Y[i, j], "design": keys[i]})
        return pd.DataFrame(rows)

    def set_pending(self, keys: Any) -> None:
        r"""Replace the pending designs (suggested, not yet measured) by ``keys``.

        Pending designs are never suggested again; an external scheduler (e.g. Ax,
        which knows which trials are still running) uses this to hand its view over.

        Args:
            keys: Pool row ids, or design tuples for a box.
        """
        keys = list(keys)
        if self.pool is not None:
            self.pending = sorted(int(k) for k in keys)
            self.pool.clear_pending()
            if self.pending:
                self.pool.mark_pending(np.asarray(self.pending, dtype=np.int64))
        else:
            self.pending = sorted((tuple(k) for k in keys), key=repr)
        self.save()

    # ------------------------------------------------------------- suggest
    def suggest(self, n: int | None = None) -> Suggestion:
        r"""Run the four stages and suggest the next batch of ``n`` designs."""
        q = int(n or self.config.batch_size)
        if q < 1:
            raise ValueError("The batch size must be at least 1.")
        X_obs, Y_obs, keys = self._training_data()
        if len(keys) < 5:
            raise ValueError(
                f"The fusion optimiser needs at least 5 successful measurements to fit its surrogates; it has {len(keys)}."
            )
        it = self.iteration + 1
        seed = self.seed + it
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        remaining = max(self.config.budget_iterations - self.iteration, 1) * q
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            model = ReservoirModel(
                torch.as_tensor(X_obs),
                torch.as_tensor(Y_obs),
                families=self.config.families,
                n_members=self.config.n_members,
                remaining_budget=remaining,
                tuning_state=self.tuning_state,
                n_jobs=self.config.n_jobs,
                seed=seed,
            )
        self.model = model
        timings["model"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        cand_ids, cand_X, cand_raw = self._candidates(model, q, seed)
        timings["candidates"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        O_obs = orient(Y_obs, self.targets)
        if self.config.use_structure:
            pi, report = structural_weights(
                cand_X, X_obs, evaluated_y=O_obs.mean(axis=1) if self.m > 1 else O_obs[:, 0],
                seed=seed, pi_range=self.config.pi_range,
            )
            labels = report.candidate_labels
        else:
            pi, report = np.ones(cand_X.shape[0]), None
            labels = np.zeros(cand_X.shape[0], dtype=np.int64)
        timings["structure"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        acqf = FusionAcquisition(
            model,
            self.targets,
            config=self.fusion_config,
            hv_config=self.hv_config,
            ref_point=self.ref_point,
            seed=seed,
        )
        cal = acqf.calibrate(torch.as_tensor(cand_X))
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, cand_X.shape[0], self.config.chunk_size):
            chunk = acqf.score(torch.as_tensor(cand_X[start : start + self.config.chunk_size]))
            for key, val in chunk.items():
                parts.setdefault(key, []).append(val)
        scores = {k: np.concatenate(v, axis=-1 if k == "ehvi" else 0) for k, v in parts.items()}
        utility = scores["acquisition"] * pi
        timings["acquisition"] = time.perf_counter() - t3

        t4 = time.perf_counter()
        emb = Embedding(n_components=min(BATCH_EMBEDDING_DIM, cand_X.shape[1]), seed=seed)
        emb.fit(np.vstack([cand_X, X_obs]))
        Z_cand, Z_obs = emb.transform(cand_X), emb.transform(X_obs)
        scalar = O_obs.mean(axis=1) if self.m > 1 else O_obs[:, 0]
        improvement = self._recent_cluster_improvement(report, scalar) if report is not None else None
        decision = select_batch(
            utility,
            Z_cand,
            labels,
            Z_obs,
            q,
            recent_improvement=improvement,
            cluster_bandwidth=self.config.cluster_bandwidth,
            competitive_ratio=self.config.competitive_ratio,
            seed=seed,
        )
        chosen = decision.indices
        timings["batch"] = time.perf_counter() - t4
        timings["total"] = time.perf_counter() - t0

        table = self._suggestion_table(model, cand_ids, cand_X, cand_raw, chosen, scores, pi, labels, utility)
        record = self._record(it, model, cal, decision, report, chosen, Z_cand, Z_obs, O_obs, timings, cand_ids)
        self.iteration = it
        batch_keys = [cand_ids[i] if self.pool is not None else tuple(cand_raw.iloc[i]) for i in chosen]
        batch_keys = [int(k) if self.pool is not None else k for k in batch_keys]
        self.pending.extend(batch_keys)
        if self.pool is not None:
            self.pool.mark_pending(batch_keys)
        self.records.append(record)
        self.suggestions.append(batch_keys)
        self._last_Z = Z_cand[chosen]
        self.save()
        return Suggestion(iteration=it, table=table, record=record)

    def _candidates(self, model: ReservoirModel, q: int, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]:
        if self.pool is not None:
            pool = self.pool
            pool.check_batch_size(q)
            if pool.n_available >= self.config.prefilter_min_rows:
                def mean_spread(Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                    vals = model.member_predictions(Xc)
                    O = orient(vals, self.targets).mean(axis=-1)  # M x B x k
                    flat = O.reshape(-1, O.shape[-1])
                    return flat.mean(axis=0), flat.std(axis=0)

                ws = prefilter(
                    pool, mean_spread, size=self.config.prefilter_size,
                    min_pool_rows=self.config.prefilter_min_rows, seed=seed,
                )
                ids = np.sort(ws.ids)
            else:
                ids = pool.available_ids()
            return ids, np.asarray(pool.take(ids), dtype=np.float64), None
        space = self.space

        def family_members(name_index: int) -> Any:
            def fn(F: np.ndarray) -> np.ndarray:
                vals = model.member_predictions(F)[name_index]  # B x k x m
                O = orient(vals, self.targets)
                O = (O - self._o_mean) / self._o_std
                return O.mean(axis=-1)

            return fn

        _, Y_obs, keys = self._training_data()
        O = orient(Y_obs, self.targets)
        self._o_mean, self._o_std = O.mean(axis=0), np.where(O.std(axis=0) > 0, O.std(axis=0), 1.0)
        members = {name: family_members(i) for i, name in enumerate(model.family_names)}
        anchors = None
        if self.config.n_local_candidates:
            best = _best_first((O - self._o_mean) / self._o_std)[: self.config.local_anchors]
            anchors = space.raw_to_codes(pd.DataFrame([keys[i] for i in best], columns=list(space.names)))
        batch = generate_box_candidates(
            space,
            members,
            n_candidates=self.config.n_box_candidates,
            time_budget_s=self.config.box_time_budget_s,
            maxiter=self.config.box_de_maxiter,
            popsize=self.config.box_de_popsize,
            anchors=anchors,
            n_local=self.config.n_local_candidates,
            seed=seed,
        )
        raw = batch.raw.reset_index(drop=True)
        observed = set(self._keys) | set(self.pending)
        keep = np.array([tuple(r) not in observed for r in raw[list(space.names)].itertuples(index=False, name=None)])
        if keep.sum() < q:
            raise ValueError(f"Only {int(keep.sum())} new candidates were generated; the batch needs {q}.")
        raw = raw[keep].reset_index(drop=True)
        return np.arange(len(raw)), np.asarray(batch.features[keep], dtype=np.float64), raw

    def _recent_cluster_improvement(self, report: Any, score: np.ndarray) -> dict[int, float] | None:
        r"""Per current cluster: how much the last batch raised its best value.

        Args:
            report: This iteration's structure report (labels of the evaluated rows).
            score: ``n`` oriented (scalarised) values of the evaluated rows.
        """
        if self.iteration == 0:
            return None
        ok = [o for o in self.observations if not o.failed]
        recent = np.array([o.iteration == self.iteration for o in ok])
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

    def _suggestion_table(
        self,
        model: ReservoirModel,
        cand_ids: np.ndarray,
        cand_X: np.ndarray,
        cand_raw: pd.DataFrame | None,
        chosen: np.ndarray,
        scores: dict[str, np.ndarray],
        pi: np.ndarray,
        labels: np.ndarray,
        utility: np.ndarray,
    ) -> pd.DataFrame:
        vals = model.member_predictions(cand_X[chosen])  # M x B x q x m
        flat = vals.reshape(-1, vals.shape[2], vals.shape[3])
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        order = np.argsort(-utility)
        rank = np.empty_like(order)
        rank[order] = np.arange(1, order.size + 1)
        rows = []
        top_q = set(order[: len(chosen)].tolist())
        for pos, i in enumerate(chosen):
            row: dict[str, Any] = {}
            if cand_raw is None:
                row["row_id"] = int(cand_ids[i])
            else:
                row.update(cand_raw.iloc[i].to_dict())
            row["utility"] = float(utility[i])
            row["pi"] = float(pi[i])
            row["acquisition"] = float(scores["acquisition"][i])
            for j, name in enumerate(self.target_names):
                row[f"mean[{name}]"] = float(mean[pos, j])
                row[f"std[{name}]"] = float(std[pos, j])
                row[f"model[{name}]"] = float(scores["model"][i, j])
                row[f"fusion[{name}]"] = float(scores["fusion"][i, j])
            row["cluster"] = int(labels[i])
            driver = "KF/rKF fusion" if scores["fusion"][i].max() >= scores["model"][i].max() else "model channel"
            pick = "top utility" if i in top_q else "diversity/cluster slot"
            row["reason"] = (
                f"rank {int(rank[i])} of {utility.size} by U ({pick}); driven by the {driver}; "
                f"pi={pi[i]:.2f}; cluster {int(labels[i])}"
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def _record(
        self,
        it: int,
        model: ReservoirModel,
        cal: Any,
        decision: Any,
        report: Any,
        chosen: np.ndarray,
        Z_cand: np.ndarray,
        Z_obs: np.ndarray,
        O_obs: np.ndarray,
        timings: dict[str, float],
        cand_ids: np.ndarray,
    ) -> IterationRecord:
        best_i = int(np.argmax(O_obs.mean(axis=1) if self.m > 1 else O_obs[:, 0]))
        Zb = Z_cand[chosen]
        d_best = np.linalg.norm(Zb - Z_obs[best_i], axis=1)
        prev = [np.asarray(r) for r in getattr(self, "_recent_Z", [])][-3:]
        if prev:
            P = np.vstack(prev)
            novelty = float(np.mean(np.min(np.linalg.norm(Zb[:, None, :] - P[None], axis=-1), axis=1)))
        else:
            novelty = float("nan")
        self._recent_Z = (prev + [Zb])[-3:]
        fam = {}
        for name, per_t in model.family_scores.items():
            fam[name] = [s.as_dict() for s in per_t]
        clusters: dict[str, Any] = {"batch_labels": [], "bandwidth": decision.cluster_bandwidth}
        if report is not None:
            clusters.update(
                algorithm=report.algorithm,
                score=report.score,
                n_clusters=report.n_clusters,
                batch_labels=report.candidate_labels[chosen].tolist(),
                cluster_sizes=report.cluster_sizes,
                cluster_evaluated=report.cluster_evaluated,
                cluster_best={
                    str(c): v for c, v in enumerate(np.asarray(report.cluster_best).reshape(report.n_clusters, -1)[:, 0].tolist())
                },
            )
        batch = [int(cand_ids[i]) for i in chosen] if self.pool is not None else [int(i) for i in chosen]
        return IterationRecord(
            iteration=it,
            n_observed=int(O_obs.shape[0]),
            best_so_far=O_obs.max(axis=0).tolist(),
            batch=batch,
            batch_distance_to_best=float(d_best.mean()),
            best_distance_to_best=float(d_best[0]),
            capacity=model.capacity.as_dict(),
            families=fam,
            fusion=cal.as_dict(),
            diversity={"diversified": decision.diversified, **decision.checks},
            clusters=clusters,
            intra_batch_distance=float(decision.intra_batch_distance),
            novelty=novelty,
            timings=timings,
            dropped_families=dict(model.dropped_families),
        )

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        r"""The whole campaign as a JSON-serialisable dict."""
        return jsonable(
            {
                "version": STATE_VERSION,
                "kind": "pool" if self.pool is not None else "box",
                "pool": _pool_fingerprint(self.pool) if self.pool is not None else None,
                "space": list(self.space.names) if self.space is not None else None,
                "targets": [t.as_dict() for t in self.targets],
                "target_names": self.target_names,
                "config": self.config.as_dict(),
                "ref_point": self.ref_point,
                "seed": self.seed,
                "iteration": self.iteration,
                "observations": [
                    {"key": list(o.key) if isinstance(o.key, tuple) else o.key, "x": o.x, "y": o.y, "failed": o.failed, "iteration": o.iteration}
                    for o in self.observations
                ],
                "pending": [list(p) if isinstance(p, tuple) else p for p in self.pending],
                "suggestions": [[list(k) if isinstance(k, tuple) else k for k in s] for s in self.suggestions],
                "diagnostics": [r.as_dict() for r in self.records],
                "tuning": [
                    {"family": fam, "target": t, "params": r.params, "oob_rmse": r.oob_rmse, "d_eff": r.d_eff, "capacity": r.capacity, "n_settings": r.n_settings}
                    for (fam, t), r in self.tuning_state.records.items()
                ],
            }
        )

    def save(self) -> None:
        r"""Write the campaign state to ``state_path`` (atomic); no-op without one."""
        if self.state_path is not None:
            _atomic_write_json(self.state_path, self.state_dict())

    @classmethod
    def resume(
        cls,
        state_path: str | os.PathLike[str],
        candidates: CandidatePool | SearchSpace | np.ndarray | pd.DataFrame,
        *,
        fusion_config: FusionConfig | None = None,
        hv_config: HypervolumeConfig | None = None,
    ) -> FusionOptimizer:
        r"""Continue a saved campaign (the same pool or search space must be given)."""
        path = Path(state_path)
        with open(path) as fh:
            state = json.load(fh)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{path} has campaign state version {state.get('version')}; expected {STATE_VERSION}.")
        cfg = dict(state["config"])
        cfg["pi_range"] = tuple(cfg["pi_range"])
        if cfg.get("families") is not None:
            cfg["families"] = tuple(cfg["families"])
        targets = [Target(kind=t["kind"], value=t["value"], lower=t["lower"], upper=t["upper"], name=t["name"]) for t in state["targets"]]
        opt = cls(
            candidates,
            targets,
            target_names=state["target_names"],
            config=OptimizerConfig(**cfg),
            fusion_config=fusion_config,
            hv_config=hv_config,
            ref_point=state["ref_point"],
            state_path=path,
            seed=state["seed"],
        )
        if opt.pool is not None and state["pool"] != _pool_fingerprint(opt.pool):
            raise CampaignMismatchError(
                f"The pool given to resume() differs from the campaign's pool in {path} "
                f"(saved {state['pool']['n_rows']} x {state['pool']['n_features']})."
            )
        for o in state["observations"]:
            key = tuple(o["key"]) if isinstance(o["key"], list) else o["key"]
            opt._keys[key] = len(opt.observations)
            y = [np.nan if v is None else v for v in o["y"]]
            opt.observations.append(_Observation(key=key, x=o["x"], y=y, failed=o["failed"], iteration=o["iteration"]))
            if opt.pool is not None:
                opt.pool.mark_evaluated([key])
        opt.pending = [tuple(p) if isinstance(p, list) else p for p in state["pending"]]
        if opt.pool is not None and opt.pending:
            opt.pool.mark_pending(opt.pending)
        opt.suggestions = [[tuple(k) if isinstance(k, list) else k for k in s] for s in state["suggestions"]]
        opt.records = [IterationRecord.from_dict(r) for r in state["diagnostics"]]
        opt.iteration = int(state["iteration"])
        for r in state["tuning"]:
            opt.tuning_state.records[(r["family"], r["target"])] = TuningRecord(
                params=_restore_params(r["params"]),
                oob_rmse=float("nan") if r["oob_rmse"] is None else r["oob_rmse"],
                d_eff=r["d_eff"],
                capacity=r["capacity"],
                n_settings=r["n_settings"],
            )
        return opt
