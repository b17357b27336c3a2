r"""Candidate sources: where a campaign's candidates come from (Stage 2a).

One interface, two sources, so that the loop has no pool/box branches:

- :class:`PoolSource`: a closed pool (:class:`~axfusion.candidates.CandidatePool`); the
  candidates are its unevaluated, non-pending rows (masked by index), prefiltered by the
  reservoir's mean and spread when the pool is large; a design's key is its row id.
- :class:`BoxSource`: a :class:`~axfusion.candidates.SearchSpace`; the candidates come from
  differential evolution on the surrogate members plus Sobol points
  (:func:`~axfusion.candidates.generate_box_candidates`); a design's key is the tuple of its
  raw parameter values.

A source turns the user's observations into keys and model features, proposes a
:class:`CandidateSet` for a batch, and describes itself for the campaign file (the pool's
fingerprint of every row, or the box's parameters), so that a campaign resumed on another
pool or space is refused by name.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from axfusion.acquisition.coverage import LEAD_NEIGHBOURS, lead_rows, surprise
from axfusion.acquisition.exploration import gp_log_ei
from axfusion.acquisition.targets import Target, orient, pareto_rows
from axfusion.candidates import CandidatePool, SearchSpace, generate_box_candidates, nearest_rows, prefilter
from axfusion.candidates.archive import row_keys
from axfusion.candidates.fingerprint import PoolMismatchError, check_pool, pool_fingerprint
from axfusion.candidates.trust_region import TrustRegion, refine_trust_region_codes, sample_trust_region_codes
from axfusion.models import ReservoirModel
from axfusion.models.families import limit_threads
from axfusion.settings import BoxSettings, PoolSettings

__all__ = ["BoxSource", "CampaignMismatchError", "CandidateSet", "CandidateSource", "PoolSource", "make_source"]


class CampaignMismatchError(ValueError):
    r"""A saved campaign is resumed with another pool or search space than it was started on."""


@dataclass(frozen=True)
class CandidateSet:
    r"""The candidates of one iteration.

    Attributes:
        keys: ``k`` design keys (pool row ids, or raw design tuples).
        X: ``k x d`` model features.
        raw: ``k``-row DataFrame of raw designs (boxes) or ``None`` (pools).
        generations: DE generations a time budget allowed in this iteration (boxes, when
            the budget stopped a run), else ``None``.
        in_region: ``k`` flags: candidates inside the iteration's trust region (boxes with
            a trust region), else ``None``.
        prefiltered: Whether the candidates are the prefilter's working set of a large
            pool (``stage2.pool.prefilter_min_rows`` available rows or more).
    """

    keys: list[Any]
    X: np.ndarray
    raw: pd.DataFrame | None = None
    generations: int | None = None
    in_region: np.ndarray | None = None
    prefiltered: bool = False

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def without(self, keys: set[Any]) -> CandidateSet:
        r"""The candidates whose key is not in ``keys`` (same order; the rest unchanged)."""
        keep = np.array([k not in keys for k in self.keys], dtype=bool)
        return dataclasses.replace(
            self,
            keys=[k for k, ok in zip(self.keys, keep) if ok],
            X=self.X[keep],
            raw=None if self.raw is None else self.raw.loc[keep].reset_index(drop=True),
            in_region=None if self.in_region is None else self.in_region[keep],
        )

    def describe(self, i: int) -> dict[str, Any]:
        r"""The table columns naming candidate ``i``: ``row_id``, or the raw parameters."""
        if self.raw is None:
            return {"row_id": int(self.keys[i])}
        return self.raw.iloc[i].to_dict()


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class CandidateSource(abc.ABC):
    r"""Where the candidates come from (see the module docstring)."""

    kind: str

    @property
    def column_scale(self) -> np.ndarray | None:
        r"""``d`` fixed input scales (categorical columns of a pool; ``NaN``: standardise the
        column), or ``None``: every column standardised."""
        return None

    @property
    def column_groups(self) -> np.ndarray | None:
        r"""``d`` indices of the categorical input each column encodes (``-1``: numeric), or
        ``None``: unknown (each fixed-scale column counts as its own input)."""
        return None

    @abc.abstractmethod
    def observation_keys(
        self, ids: Sequence[Any] | np.ndarray | None, X: pd.DataFrame | None
    ) -> tuple[list[Any], list[tuple[Any, ...] | None]]:
        r"""``(keys, raw designs)`` of the designs an ``observe`` call names (validated)."""

    @abc.abstractmethod
    def features(self, keys: Sequence[Any]) -> np.ndarray:
        r"""``k x d`` model features of ``k`` design keys."""

    @abc.abstractmethod
    def candidates(
        self,
        model: ReservoirModel,
        targets: Sequence[Target],
        observed: Sequence[Any],
        Y: np.ndarray,
        excluded: set[Any],
        q: int,
        seed: int,
        generations: int | None,
        region: TrustRegion | None = None,
    ) -> CandidateSet:
        r"""The candidate set of one iteration.

        Args:
            model: The fitted reservoir.
            targets: The targets (orientation).
            observed: ``n`` keys of the successful measurements (the model's training rows).
            Y: ``n x m`` successful measurements (raw units), in the order of ``observed``.
            excluded: Keys that must not be proposed (observed, failed and pending designs).
            q: Batch size.
            seed: The iteration's seed.
            generations: DE generations recorded by the campaign (boxes).
            region: The trust region around the incumbent (boxes; its candidates are added
                and flagged), or ``None``.
        """

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        r"""What the campaign file records of the source."""

    @abc.abstractmethod
    def check(self, saved: dict[str, Any], what: str) -> None:
        r"""Raise :class:`CampaignMismatchError` unless ``saved`` describes this source."""

    def sync(self, evaluated: Sequence[Any], pending: Sequence[Any]) -> None:  # noqa: B027 (optional hook)
        r"""Mirror the campaign's evaluated and pending designs (pools mask their rows)."""


class PoolSource(CandidateSource):
    r"""A closed pool.

    Args:
        pool: The pool.
        settings: :class:`~axfusion.settings.PoolSettings` (prefilter).
    """

    kind = "pool"

    def __init__(self, pool: CandidatePool, settings: PoolSettings) -> None:
        self.pool = pool
        self.settings = settings
        self._fingerprint: dict[str, Any] | None = None

    @property
    def column_scale(self) -> np.ndarray | None:
        return getattr(self.pool, "column_scale", None)

    @property
    def column_groups(self) -> np.ndarray | None:
        return getattr(self.pool, "column_groups", None)

    def observation_keys(
        self, ids: Sequence[Any] | np.ndarray | None, X: pd.DataFrame | None
    ) -> tuple[list[Any], list[tuple[Any, ...] | None]]:
        if ids is None:
            raise ValueError("observe() on a closed pool needs the measured row `ids`.")
        keys = []
        for value in np.asarray(ids).reshape(-1):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"Row ids must be whole numbers; got {value!r}. Give the pool's row ids.")
            i = int(value)
            if not 0 <= i < self.pool.n_rows:
                raise IndexError(f"Row id {i} is outside the pool (0..{self.pool.n_rows - 1}).")
            keys.append(i)
        return keys, [None] * len(keys)

    def features(self, keys: Sequence[Any]) -> np.ndarray:
        if not len(keys):
            return np.zeros((0, self.pool.n_features))
        return np.asarray(self.pool.take(np.asarray(list(keys), dtype=np.int64)), dtype=np.float64)

    def sync(self, evaluated: Sequence[Any], pending: Sequence[Any]) -> None:
        pool = self.pool
        pool.clear_pending()
        fresh = np.setdiff1d(np.asarray(list(evaluated), dtype=np.int64), pool.evaluated_ids())
        if fresh.size:
            pool.mark_evaluated(fresh)
        if len(pending):
            pool.mark_pending(np.asarray(list(pending), dtype=np.int64))

    def candidates(
        self,
        model: ReservoirModel,
        targets: Sequence[Target],
        observed: Sequence[Any],
        Y: np.ndarray,
        excluded: set[Any],
        q: int,
        seed: int,
        generations: int | None,
        region: TrustRegion | None = None,
    ) -> CandidateSet:
        pool, cfg = self.pool, self.settings
        pool.check_batch_size(q)
        if pool.n_available >= cfg.prefilter_min_rows:

            def mean_spread(Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                # the first prefilter_members members of every family screen the pool
                O = orient(model.member_predictions(Xc, members=cfg.prefilter_members), targets).mean(axis=-1)
                flat = O.reshape(-1, O.shape[-1])
                return flat.mean(axis=0), flat.std(axis=0)

            ws = prefilter(
                pool, mean_spread, size=cfg.prefilter_size, random_fraction=cfg.random_fraction,
                spread_fraction=cfg.spread_fraction, optimism=cfg.optimism, n_strata=cfg.n_strata,
                reservoir_factor=cfg.reservoir_factor, min_pool_rows=cfg.prefilter_min_rows, seed=seed,
            )
            ids, prefiltered = np.sort(ws.ids), ws.prefiltered
            if prefiltered and cfg.lead_neighbours:
                ids = np.union1d(ids, self.lead_neighbours(model, targets, observed))
        else:
            ids, prefiltered = pool.available_ids(), False
        return CandidateSet(
            keys=[int(i) for i in ids], X=np.asarray(pool.take(ids), dtype=np.float64), prefiltered=prefiltered
        )

    def lead_neighbours(self, model: ReservoirModel, targets: Sequence[Target], observed: Sequence[Any]) -> np.ndarray:
        r"""The :data:`~axfusion.acquisition.coverage.LEAD_NEIGHBOURS` nearest available rows,
        in the members' standardised inputs, of every lead among the ``observed`` rows (the
        successful measurements, in the model's order; :func:`~axfusion.acquisition.coverage.lead_rows`):
        ascending ids, empty without a lead (``stage2.pool.lead_neighbours``)."""
        leads = lead_rows(surprise(model.oob_residuals(), [t.kind for t in targets]))
        if leads.size == 0:
            return np.empty(0, dtype=np.int64)
        points = model.standardised_inputs(self.pool.take([observed[i] for i in leads]))
        return nearest_rows(self.pool, points, LEAD_NEIGHBOURS, model.standardised_inputs)

    def describe(self) -> dict[str, Any]:
        if self._fingerprint is None:
            self._fingerprint = pool_fingerprint(self.pool).as_dict()
        out: dict[str, Any] = {"kind": "pool", "fingerprint": self._fingerprint}
        scale = self.column_scale
        if scale is not None:  # categorical columns: the fixed scales and the levels, for an identical resume
            out["column_scale"] = [None if not np.isfinite(v) else float(v) for v in scale]
            if self.column_groups is not None:
                out["column_groups"] = [int(g) for g in self.column_groups]
            encoder = getattr(self.pool, "encoder", None)
            if encoder is not None:
                out["encoding"] = encoder.as_dict()
        return out

    def check(self, saved: dict[str, Any], what: str) -> None:
        if saved.get("kind") != "pool":
            raise CampaignMismatchError(f"{what} is a campaign over a search space, not over a candidate pool.")
        try:
            found = check_pool(saved["fingerprint"], self.pool, what=what)
        except PoolMismatchError as error:
            raise CampaignMismatchError(str(error)) from error
        self._fingerprint = found.as_dict()
        if saved.get("column_scale") is not None:
            stored = np.array([np.nan if v is None else v for v in saved["column_scale"]], dtype=np.float64)
            mine = self.column_scale
            if mine is None:  # a pool given as numbers: keep the campaign's categorical scales
                self.pool.column_scale = stored
                if saved.get("column_groups") is not None and self.column_groups is None:
                    self.pool.column_groups = np.asarray(saved["column_groups"], dtype=np.int64)
            elif not np.allclose(mine, stored, equal_nan=True):
                raise CampaignMismatchError(
                    f"{what} encoded its categorical columns differently (other levels or descriptors); "
                    "give the campaign's pool table."
                )


class BoxSource(CandidateSource):
    r"""A box search space (continuous, integer and categorical parameters).

    Args:
        space: The search space.
        settings: :class:`~axfusion.settings.BoxSettings` (DE + Sobol candidates).
    """

    kind = "box"

    def __init__(self, space: SearchSpace, settings: BoxSettings) -> None:
        self.space = space
        self.settings = settings

    @property
    def names(self) -> list[str]:
        return list(self.space.names)

    def observation_keys(
        self, ids: Sequence[Any] | np.ndarray | None, X: pd.DataFrame | None
    ) -> tuple[list[Any], list[tuple[Any, ...] | None]]:
        if X is None:
            raise ValueError("observe() in a box search space needs the measured designs `X`.")
        missing = [n for n in self.names if n not in X.columns]
        if missing:
            raise ValueError(f"The observed designs lack the parameter column(s) {missing}.")
        if not self.space.contains(X).all():
            raise ValueError("Some observed designs lie outside the search space.")
        rows = [tuple(_plain(v) for v in r) for r in X[self.names].itertuples(index=False, name=None)]
        return list(rows), list(rows)

    def features(self, keys: Sequence[Any]) -> np.ndarray:
        if not len(keys):
            return np.zeros((0, self.space.n_features))
        frame = pd.DataFrame([list(k) for k in keys], columns=self.names)
        return np.asarray(self.space.to_features(frame), dtype=np.float64)

    def candidates(
        self,
        model: ReservoirModel,
        targets: Sequence[Target],
        observed: Sequence[Any],
        Y: np.ndarray,
        excluded: set[Any],
        q: int,
        seed: int,
        generations: int | None,
        region: TrustRegion | None = None,
    ) -> CandidateSet:
        space, cfg = self.space, self.settings
        O = orient(Y, targets)
        o_mean, o_std = O.mean(axis=0), np.where(O.std(axis=0) > 0, O.std(axis=0), 1.0)
        members = {
            name: _member_objective(model, i, targets, o_mean, o_std) for i, name in enumerate(model.family_names)
        }
        anchors = None
        if cfg.n_local:
            best = _best_first((O - o_mean) / o_std)[: cfg.local_anchors]
            anchors = space.raw_to_codes(pd.DataFrame([list(observed[i]) for i in best], columns=self.names))
        if generations is not None:
            cfg = BoxSettings.from_dict({**cfg.as_dict(), "maxiter": generations, "time_budget_s": None})
        with limit_threads(1):  # set once: each DE generation's member predictions would rescan the libraries
            batch = generate_box_candidates(space, members, settings=cfg, anchors=anchors, seed=seed)
        raw = batch.raw.reset_index(drop=True)
        in_region = None
        if region is not None:
            existing = space.raw_to_codes(raw)
            local = sample_trust_region_codes(space, region, cfg.trust_region_candidates, seed=seed)
            if cfg.trust_region_polish:
                y = ((O - o_mean) / o_std).mean(axis=1)  # the value the trust region's GP sees
                local = np.concatenate([local, self._polish(model, y, region, local, seed)])
            stacked = np.concatenate([existing, local])
            first = np.sort(np.unique(row_keys(stacked), return_index=True)[1])
            local = stacked[first[first >= len(existing)]]  # new designs only, in draw order
            raw = pd.concat([raw, space.codes_to_raw(local)], ignore_index=True)
            features = np.concatenate([batch.features, space.codes_to_features(local)]).astype(np.float64)
            in_region = region.contains(space, np.concatenate([existing, local]))
        else:
            features = np.asarray(batch.features, dtype=np.float64)
        keys = [tuple(_plain(v) for v in r) for r in raw[self.names].itertuples(index=False, name=None)]
        keep = np.array([k not in excluded for k in keys], dtype=bool)
        if keep.sum() < q:
            raise ValueError(f"Only {int(keep.sum())} new candidates were generated; the batch needs {q}.")
        decided = None
        if generations is None and any(r.stopped_by_time for r in batch.runs):
            decided = max(1, min(r.n_generations for r in batch.runs))
        return CandidateSet(
            keys=[k for k, ok in zip(keys, keep) if ok],
            X=features[keep],
            raw=raw[keep].reset_index(drop=True),
            generations=decided,
            in_region=None if in_region is None else in_region[keep],
        )

    def _polish(
        self, model: ReservoirModel, y: np.ndarray, region: TrustRegion, start: np.ndarray, seed: int
    ) -> np.ndarray:
        r"""The best designs of a local search on an ARD GP's expected improvement inside the
        region (``stage2.box.trust_region_polish`` rounds), started from ``start`` codes; ``y``:
        ``n`` standardised oriented values (mean over targets) of the measured designs."""
        space = self.space
        log_ei = gp_log_ei(model.standardised_training_data()[0], y, seed=seed)

        def score(codes: np.ndarray) -> np.ndarray:
            return log_ei(model.standardised_inputs(space.codes_to_features(codes).astype(np.float64)))

        rounds = self.settings.trust_region_polish
        return refine_trust_region_codes(space, region, start, score, rounds=rounds, seed=seed)

    def describe(self) -> dict[str, Any]:
        return {"kind": "box", "parameters": self.names, "space": repr(self.space)}

    def check(self, saved: dict[str, Any], what: str) -> None:
        if saved.get("kind") != "box":
            raise CampaignMismatchError(f"{what} is a campaign over a candidate pool, not over a search space.")
        if list(saved.get("parameters") or []) != self.names:
            raise CampaignMismatchError(
                f"{what} was started on a search space with the parameters {saved.get('parameters')}; "
                f"this one has {self.names}. Give the campaign's search space or start a new campaign."
            )
        if saved.get("space") is not None and saved["space"] != repr(self.space):
            raise CampaignMismatchError(
                f"{what} was started on another search space ({saved['space']}); this one is {self.space!r}. "
                "Give the campaign's search space or start a new campaign."
            )


def _best_first(S: np.ndarray) -> np.ndarray:
    r"""Indices of ``n x m`` standardised oriented targets, best first: Pareto-optimal rows
    before the others, each group by decreasing mean."""
    mean = S.mean(axis=1)
    on_front = np.zeros(S.shape[0], dtype=bool)
    on_front[pareto_rows(S)] = True
    return np.lexsort((-mean, ~on_front))


def _member_objective(
    model: ReservoirModel, index: int, targets: Sequence[Target], o_mean: np.ndarray, o_std: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    r"""Family ``index``'s members as DE objectives: ``k x d`` features -> ``B x k``
    standardised oriented predictions (mean over targets)."""

    def fn(F: np.ndarray) -> np.ndarray:
        vals = model.member_predictions(F, family=index)[0]  # B x k x m
        return ((orient(vals, targets) - o_mean) / o_std).mean(axis=-1)

    return fn


def make_source(
    candidates: CandidatePool | SearchSpace | np.ndarray | pd.DataFrame,
    pool_settings: PoolSettings,
    box_settings: BoxSettings,
) -> CandidateSource:
    r"""The source for a pool (array, DataFrame, :class:`CandidatePool`) or a
    :class:`~axfusion.candidates.SearchSpace`. A DataFrame with text, boolean or ``category``
    columns is encoded by :meth:`CandidatePool.from_table` (one-hot, fixed scales); declare
    integer-coded, ordinal or described columns with ``CandidatePool.from_table(...)``."""
    if isinstance(candidates, SearchSpace):
        return BoxSource(candidates, box_settings)
    if isinstance(candidates, pd.DataFrame):
        from axfusion.data.encoding import is_text_column

        if any(is_text_column(candidates[c]) for c in candidates.columns):
            candidates = CandidatePool.from_table(candidates)
        else:
            candidates = CandidatePool.from_frame(candidates)
    elif not isinstance(candidates, CandidatePool):
        try:
            array = np.asarray(candidates, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"The pool must be an N x d array of numbers: {error}") from error
        if array.ndim != 2:
            raise ValueError(f"The pool must be an N x d array (one row per candidate); got shape {array.shape}.")
        candidates = CandidatePool.from_array(array)
    check_pool_values(candidates)
    return PoolSource(candidates, pool_settings)


#: Largest magnitude a feature or target value may have: beyond it, squares and spreads
#: overflow float64 in the models' standardisation (a column scaled by 1e300 would be zeroed).
MAX_ABS_VALUE: float = 1e100


def check_pool_values(pool: CandidatePool) -> None:
    r"""Raise ``ValueError`` naming the column and row of a missing, infinite or too large pool value.

    Values beyond :data:`MAX_ABS_VALUE` in magnitude are refused: the models standardise each
    column, and its spread would overflow.
    """
    names = list(pool.feature_names or [f"x{j}" for j in range(pool.n_features)])
    for ids, block in pool.iter_chunks():
        block = np.asarray(block, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(block) | (np.abs(block) > MAX_ABS_VALUE)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            value = block[i, j]
            what = "is missing (NaN)" if np.isnan(value) else f"is {value:g}"
            raise ValueError(
                f"Pool column {names[j]!r} (column {j}) {what} in row {int(ids[i])}: pool values must be finite "
                f"numbers of magnitude at most {MAX_ABS_VALUE:g}. Fill or drop such rows, or rescale the column (other "
                "units, or its logarithm)."
            )
