r"""FusionOptimizer: the method's ask/tell loop, a thin facade over state, source and stages.

:class:`FusionOptimizer` holds a :class:`~axfusion.campaign.state.CampaignState` (what the
campaign is), a :class:`~axfusion.campaign.sources.CandidateSource` (where candidates come
from) and hands them to :func:`~axfusion.campaign.loop.propose` (Stages 0 -> 3):

- :meth:`~FusionOptimizer.observe` records measurements (also for designs that were not
  suggested, and failed ones, which are kept but not modelled). It is atomic: a call that
  fails -- on bad input or while saving -- leaves the campaign exactly as before.
- :meth:`~FusionOptimizer.suggest` proposes the next batch and marks it pending.
- With a ``state_path`` the whole campaign (observations, settings, seeds, tuned
  hyper-parameters, diagnostics) is written atomically after every change, under the
  campaign's lock, and never over a file another run saved since this optimiser read it
  (:class:`~axfusion.files.CampaignChangedError`); a new optimiser never overwrites an
  existing file. Campaign files are validated field by field on :meth:`~FusionOptimizer.resume`
  (:class:`~axfusion.campaign.CampaignFileError`), and
  :meth:`~FusionOptimizer.resume` continues it exactly: the resumed campaign proposes what
  the uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from axfusion.acquisition.targets import Target, orient, parse_targets
from axfusion.campaign.loop import Fitted, propose
from axfusion.campaign.sources import (
    MAX_ABS_VALUE,
    BoxSource,
    CampaignMismatchError,
    CandidateSource,
    PoolSource,
    make_source,
)
from axfusion.campaign.state import CampaignFileError, CampaignState, Observation
from axfusion.candidates import CandidatePool, SearchSpace
from axfusion.diagnostics import IterationRecord
from axfusion.files import CampaignChangedError, atomic_write, campaign_lock
from axfusion.models import ReservoirModel
from axfusion.settings import Settings, SettingsError, preset

__all__ = ["CampaignChangedError", "CampaignFileError", "CampaignMismatchError", "FusionOptimizer", "Suggestion"]


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
        r"""``q`` pool row ids (closed pools only)."""
        if "row_id" not in self.table:
            raise AttributeError("This suggestion is for a box search space; it has no pool row ids.")
        return self.table["row_id"].to_numpy()


def _settings(settings: Settings | str | Mapping[str, Any] | None, options: Mapping[str, Any] | None) -> Settings:
    r"""A settings tree from a tree, a preset name or a mapping of options, plus ``options``."""
    if settings is None or isinstance(settings, str):
        return preset(settings or "default", options)
    if isinstance(settings, Settings):
        return settings.with_options(options)
    if isinstance(settings, Mapping):
        return Settings().with_options(settings).with_options(options)
    raise SettingsError(
        f"settings must be a Settings, a preset name or a mapping of options; got {type(settings).__name__}."
    )


def _atomic_write_json(path: Path, payload: dict[str, Any]) -> str:
    r"""Write ``payload`` to ``path`` atomically (temporary file + rename); returns the text's digest."""
    text = json.dumps(payload)
    atomic_write(path, lambda fh: fh.write(text))
    return _digest(text.encode())


def _digest(data: bytes) -> str:
    r"""The SHA-256 of a campaign file's bytes: what this optimiser last read or wrote."""
    return hashlib.sha256(data).hexdigest()


def _on_disk(path: Path) -> str | None:
    r"""The digest of the file at ``path`` now (``None`` when there is none)."""
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def read_campaign_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    r"""A campaign file's JSON object and its digest; a file that is not one is named.

    Raises:
        CampaignFileError: The file is missing, unreadable, not JSON or not a JSON object.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CampaignFileError(f"The campaign file {path} does not exist.") from None
    except OSError as error:
        raise CampaignFileError(f"Cannot read the campaign file {path}: {error.strerror or error}.") from error
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CampaignFileError(f"{path.name} is not an axfusion campaign file (not JSON: {error}).") from error
    if not isinstance(payload, dict):
        raise CampaignFileError(f"{path.name} is not an axfusion campaign file (not a JSON object).")
    return payload, _digest(data)


def _check_batch_size(n: Any, default: int) -> int:
    if n is None:
        return default
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"The batch size must be a whole number; got {n!r}.")
    if int(n) < 1:
        raise ValueError(f"The batch size must be at least 1; got {n}.")
    return int(n)


class FusionOptimizer:
    r"""The fusion optimiser as an ask/tell loop (closed pools or boxes).

    Example:
        >>> opt = FusionOptimizer(pool_X, "maximize", settings="paper", state_path="campaign.json", seed=0)
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
        settings: The method's :class:`~axfusion.settings.Settings`, a preset name
            (``"default"``, ``"paper"``, ``"authors_code"``) or a mapping of options.
        options: Options applied on top of ``settings``, by dotted path or unique name
            (``{"batch_size": 5, "stage1.n_members": 4}``).
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
        settings: Settings | str | Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        ref_point: Sequence[float] | None = None,
        state_path: str | os.PathLike[str] | None = None,
        seed: int = 0,
    ) -> None:
        tree = _settings(settings, options)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be a whole number; got {seed!r}.")
        if not -(2**31) < int(seed) < 2**31 - 2**20:
            raise ValueError(f"seed must lie between -2**31 and 2**31 - 2**20 (iteration t uses seed + t); got {seed}.")
        if isinstance(targets, (Target, str)):
            targets = [targets]
        parsed = parse_targets(list(targets), len(list(targets)))
        names = list(target_names) if target_names is not None else [t.name or f"y{j}" for j, t in enumerate(parsed)]
        if len(names) != len(parsed):
            raise ValueError(f"{len(names)} target names for {len(parsed)} targets.")
        self.source: CandidateSource = make_source(candidates, tree.stage2.pool, tree.stage2.box)
        self._state = CampaignState(
            settings=tree,
            targets=tuple(parsed),
            target_names=tuple(names),
            seed=int(seed),
            ref_point=None if ref_point is None else tuple(float(v) for v in ref_point),
            source=self.source.describe() if isinstance(self.source, BoxSource) else {},
        )
        if state_path is not None and not isinstance(state_path, (str, os.PathLike)):
            raise TypeError(f"state_path must be a file path; got {type(state_path).__name__}.")
        self.state_path = Path(state_path) if state_path is not None else None
        if self.state_path is not None and self.state_path.exists():
            raise FileExistsError(
                f"{self.state_path} already exists; a new campaign never overwrites a file. Continue that "
                f"campaign with FusionOptimizer.resume({str(self.state_path)!r}, candidates), or give another "
                "state_path."
            )
        self._disk: str | None = None  # digest of the campaign file as this optimiser last read or wrote it
        self.model: ReservoirModel | None = None
        self._fitted: Fitted | None = None  # the last proposal's fit, for suggest(refit=False)

    # --------------------------------------------------------------- views
    @property
    def state(self) -> CampaignState:
        r"""The campaign state (an immutable value)."""
        return self._state

    @property
    def settings(self) -> Settings:
        r"""The campaign's settings tree."""
        return self._state.settings

    @property
    def targets(self) -> list[Target]:
        return list(self._state.targets)

    @property
    def target_names(self) -> list[str]:
        return list(self._state.target_names)

    @property
    def m(self) -> int:
        r"""Number of targets."""
        return self._state.m

    @property
    def seed(self) -> int:
        return self._state.seed

    @property
    def ref_point(self) -> list[float] | None:
        rp = self._state.ref_point
        return None if rp is None else list(rp)

    @property
    def iteration(self) -> int:
        r"""Completed iterations (suggested batches)."""
        return self._state.iteration

    @property
    def observations(self) -> list[Observation]:
        return list(self._state.observations)

    @property
    def pending(self) -> list[Any]:
        r"""Suggested designs not measured yet."""
        return list(self._state.pending)

    @property
    def suggestions(self) -> list[list[Any]]:
        return [list(b) for b in self._state.suggestions]

    @property
    def records(self) -> list[IterationRecord]:
        r"""One diagnostics record per suggested batch."""
        return list(self._state.records)

    @property
    def n_observed(self) -> int:
        r"""Successful measurements."""
        return self._state.n_observed

    @property
    def pool(self) -> CandidatePool | None:
        r"""The closed pool (``None`` in a box)."""
        return self.source.pool if isinstance(self.source, PoolSource) else None

    @property
    def space(self) -> SearchSpace | None:
        r"""The search space (``None`` on a closed pool)."""
        return self.source.space if isinstance(self.source, BoxSource) else None

    # ------------------------------------------------------------ changes
    def _commit(self, state: CampaignState) -> None:
        r"""Save ``state`` (when there is a ``state_path``), then make it current.

        The file is written first: if that fails, the campaign stays as it was. The write holds
        the campaign's lock and is refused when another run changed the file since this
        optimiser last read or wrote it (:class:`~axfusion.files.CampaignChangedError`), so
        two optimisers on one file never silently drop each other's batches."""
        if self.state_path is not None:
            with campaign_lock(self.state_path):
                self._check_unchanged(self.state_path)
                self._disk = _atomic_write_json(self.state_path, self._payload(state))
        self._state = state
        self.source.sync([o.key for o in state.observations], state.pending)

    def _check_unchanged(self, path: Path) -> None:
        r"""Raise :class:`~axfusion.files.CampaignChangedError` if ``path`` is not as this optimiser left it."""
        now = _on_disk(path)
        if now is not None and now != self._disk:
            raise CampaignChangedError(
                f"The campaign file {path} was changed by another run since this optimiser "
                f"{'read' if self._disk is not None else 'was created'}; nothing was saved, so that run's "
                f"measurements and batch are kept. Continue from the file: FusionOptimizer.resume({str(path)!r}, "
                "candidates)."
            )

    def _payload(self, state: CampaignState) -> dict[str, Any]:
        if not state.source:
            state = replace(state, source=self.source.describe())
        return state.as_dict()

    def observe(
        self,
        ids: Sequence[int] | np.ndarray | None = None,
        Y: np.ndarray | Sequence[Sequence[float]] | Sequence[float] | None = None,
        *,
        X: pd.DataFrame | None = None,
        failed: Sequence[bool] | np.ndarray | None = None,
    ) -> None:
        r"""Record measurements (atomic: on any error nothing is recorded).

        Args:
            ids: Pool row ids (closed pools).
            Y: ``k x m`` measured targets (``k`` for one target). A row that is
                all-NaN, or flagged in ``failed``, is a failed measurement: it
                is recorded (and never suggested again) but not modelled.
            X: The measured designs (boxes): a DataFrame with the space's
                parameter columns.
            failed: ``k`` flags of failed measurements.
        """
        keys, xs = self.source.observation_keys(ids, X)
        Yarr, fail = self._check_measurements(len(keys), Y, failed)
        self._commit(self._state.observe(keys, xs, Yarr, fail))

    def _check_measurements(self, k: int, Y: Any, failed: Any) -> tuple[np.ndarray, np.ndarray]:
        r"""``(k x m values, k failure flags)`` from the user's ``Y`` and ``failed``."""
        if Y is None:
            raise ValueError("observe() needs the measured targets `Y`.")
        m = self.m
        raw = np.asarray(Y)
        if raw.dtype == object and all(
            v is None or (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)))
            for v in raw.reshape(-1)
        ):
            raw = np.array([np.nan if v is None else float(v) for v in raw.reshape(-1)]).reshape(raw.shape)
        if raw.dtype.kind not in "fiu":
            raise ValueError(
                f"Y must hold numbers (NaN for a failed measurement); got {raw.dtype} values "
                f"such as {raw.reshape(-1)[:1].tolist()}. Convert them to numbers first (no text or booleans)."
            )
        Yarr = raw.astype(np.float64)
        if Yarr.ndim == 1:
            Yarr = Yarr.reshape(k, -1) if m > 1 and Yarr.size == k * m else Yarr.reshape(-1, 1)
        if Yarr.shape != (k, m):
            raise ValueError(f"Y has shape {Yarr.shape}; expected ({k}, {m}) for {k} designs and {m} targets.")
        if failed is None:
            fail = np.zeros(k, dtype=bool)
        else:
            flags = np.asarray(failed)
            if flags.dtype != bool and flags.size:
                raise ValueError(
                    f"`failed` must hold booleans (True for a failed measurement); got {flags.dtype} values such as "
                    f"{flags.reshape(-1)[:1].tolist()}."
                )
            fail = flags.astype(bool).reshape(-1)
        if fail.shape != (k,):
            raise ValueError(f"`failed` needs {k} flags, got {fail.shape}.")
        if np.isinf(Yarr).any():
            raise ValueError("Y contains inf values; mark failed measurements with NaN or `failed`.")
        with np.errstate(invalid="ignore"):
            huge = np.abs(Yarr) > MAX_ABS_VALUE
        if huge.any():
            i, j = (int(v) for v in np.argwhere(huge)[0])
            raise ValueError(
                f"Target {self.target_names[j]!r} is {Yarr[i, j]:g} in row {i} of Y: measured values must have "
                f"magnitude at most {MAX_ABS_VALUE:g} (the models' standardisation would overflow). Rescale the "
                "target (other units, or its logarithm)."
            )
        partial = np.isnan(Yarr).any(axis=1) & ~np.isnan(Yarr).all(axis=1) & ~fail
        if partial.any():
            raise ValueError(
                f"Rows {np.flatnonzero(partial).tolist()} have some targets missing; "
                "give all targets or mark the measurement failed."
            )
        return Yarr, fail | np.isnan(Yarr).all(axis=1)

    def set_pending(self, keys: Any) -> None:
        r"""Replace the pending designs (suggested, not yet measured) by ``keys``.

        Pending designs are never suggested again; an external scheduler (e.g. Ax,
        which knows which trials are still running) uses this to hand its view over.

        Args:
            keys: Pool row ids, or design tuples for a box.
        """
        if isinstance(self.source, PoolSource):
            checked, _ = self.source.observation_keys(list(keys), None)  # whole numbers inside the pool
            if len(set(checked)) != len(checked):
                raise ValueError("set_pending() got the same row twice.")
            pending: list[Any] = sorted(checked)
        else:
            pending = sorted((tuple(k) for k in keys), key=repr)
        self._commit(self._state.with_pending(pending))

    def advance(self, iteration: int, *, box_generations: int | None = None) -> None:
        r"""Set the number of completed iterations to ``iteration`` (not lower than now).

        For a scheduler that rebuilds a campaign from its own records (the Ax node replays
        an experiment's trials batch by batch): observations recorded afterwards belong to
        this iteration, and the next batch uses the seed ``seed + iteration + 1``.

        Args:
            iteration: Completed iterations.
            box_generations: The DE generations an earlier iteration's time budget decided
                (recorded with the scheduler's records), so that the rebuilt campaign
                proposes what the original would have.
        """
        if isinstance(iteration, (bool, np.bool_)) or not isinstance(iteration, (int, np.integer)):
            raise ValueError(f"iteration must be a whole number; got {iteration!r}.")
        if int(iteration) < self._state.iteration:
            raise ValueError(f"Cannot go back from iteration {self._state.iteration} to {iteration}.")
        state = replace(self._state, iteration=int(iteration))
        if box_generations is not None and state.box_generations is None:
            state = replace(state, box_generations=int(box_generations))
        self._commit(state)

    def set_execution(self, *, n_jobs: int | None = None) -> None:
        r"""Change how the campaign runs without changing what it proposes.

        Args:
            n_jobs: Processes fitting the surrogate families (the batches do not depend on it).
        """
        if n_jobs is not None:
            tree = self._state.settings.with_options({"loop.n_jobs": n_jobs})
            self._state = replace(self._state, settings=tree)

    def suggest(self, n: int | None = None, *, refit: bool = True) -> Suggestion:
        r"""Run the four stages and suggest the next batch of ``n`` designs (default:
        ``settings.loop.batch_size``); the batch becomes pending and the campaign is saved.

        Args:
            n: Batch size.
            refit: ``False`` continues the last batch of this optimiser when nothing was
                measured since: the same fitted reservoir scores the same candidates, less
                the pending ones (no Stage-0/1 fit, no new candidate search; what an Ax
                node does for the second trial of one ``get_next_trials`` call). The result
                depends on that in-memory fit: a resumed campaign refits instead.

        Raises:
            ValueError: ``refit=False`` without a batch of this optimiser to continue, or
                with measurements recorded since.
        """
        q = _check_batch_size(n, self._state.settings.loop.batch_size)
        previous = None
        if not refit:
            previous = self._fitted
            if previous is None or not previous.fits(self._state):
                raise ValueError(
                    "suggest(refit=False) continues this optimiser's last batch when nothing was measured "
                    "since; call suggest() to fit the surrogates."
                )
        self.source.sync([o.key for o in self._state.observations], self._state.pending)
        proposal = propose(self._state, self.source, q, previous=previous)
        state = self._state.after_batch(proposal.batch, proposal.record, proposal.tuning, proposal.box_generations)
        self._commit(state)
        self.model = proposal.model
        self._fitted = proposal.fitted
        return Suggestion(iteration=state.iteration, table=proposal.table, record=proposal.record)

    def reuse_fit(self, other: FusionOptimizer) -> bool:
        r"""Let :meth:`suggest` with ``refit=False`` continue ``other``'s last batch: when
        ``other`` fitted it for this campaign's current iteration on as many measurements as
        this campaign holds (the caller vouches that they are the same ones, e.g. an Ax node
        rebuilding its optimiser from an experiment with no new data). Returns whether the fit
        was taken over."""
        fitted = other._fitted
        if fitted is None or fitted.iteration != self._state.iteration or not fitted.fits(self._state):
            return False
        self._fitted = fitted
        self.model = fitted.model
        return True

    # ------------------------------------------------------------- queries
    def best(self) -> pd.DataFrame:
        r"""The best successful measurement per target (oriented), with its design."""
        ok = self._state.successful
        if not ok:
            raise ValueError("No successful measurement yet.")
        Y = self._state.Y()
        O = orient(Y, self._state.targets)
        rows = []
        for j, name in enumerate(self._state.target_names):
            i = int(np.argmax(O[:, j]))
            rows.append({"target": name, "value": Y[i, j], "design": ok[i].key})
        return pd.DataFrame(rows)

    # --------------------------------------------------------------- files
    def state_dict(self) -> dict[str, Any]:
        r"""The whole campaign as a JSON-serialisable dict (every setting included)."""
        return self._payload(self._state)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        r"""Write the campaign to ``path`` (default: ``state_path``), atomically."""
        target = Path(path) if path is not None else self.state_path
        if target is None:
            raise ValueError("save() needs a path: this campaign has no state_path.")
        with campaign_lock(target):
            if target == self.state_path:
                self._check_unchanged(target)
            digest = _atomic_write_json(target, self.state_dict())
            if target == self.state_path:
                self._disk = digest

    @classmethod
    def resume(
        cls,
        state_path: str | os.PathLike[str],
        candidates: CandidatePool | SearchSpace | np.ndarray | pd.DataFrame,
        *,
        save: bool = True,
    ) -> FusionOptimizer:
        r"""Continue a saved campaign exactly (the same pool or search space must be given).

        Args:
            state_path: The campaign file.
            candidates: The pool or search space the campaign was started on.
            save: Keep saving to ``state_path`` after every change.

        Raises:
            CampaignFileError: The file is not a valid campaign file; the message names the field.
            CampaignMismatchError: naming how ``candidates`` differ from the campaign's.
        """
        path = Path(state_path)
        with campaign_lock(path):
            payload, digest = read_campaign_file(path)
        opt = cls.from_state_dict(payload, candidates, label=path.name, where=f"The campaign in {path}")
        opt.state_path = path if save else None
        opt._disk = digest
        return opt

    @classmethod
    def from_state_dict(
        cls,
        payload: dict[str, Any],
        candidates: CandidatePool | SearchSpace | np.ndarray | pd.DataFrame,
        *,
        label: str = "the campaign",
        where: str | None = None,
    ) -> FusionOptimizer:
        r"""Continue a campaign from :meth:`state_dict`'s dict exactly, without a file.

        The optimiser saves nowhere (``state_path`` is ``None``); :meth:`resume` is this plus
        the file. Used by the benchmark harness's per-batch checkpoints.

        Args:
            payload: A :meth:`state_dict` (or a campaign file's JSON object).
            candidates: The pool or search space the campaign was started on.
            label: How errors name the campaign.
            where: How a mismatch of ``candidates`` names the campaign (default from ``label``).

        Raises:
            CampaignFileError: ``payload`` is not a valid campaign; the message names the field.
            CampaignMismatchError: naming how ``candidates`` differ from the campaign's.
        """
        state = CampaignState.from_dict(payload, label=label)
        opt = cls.__new__(cls)
        opt.source = make_source(candidates, state.settings.stage2.pool, state.settings.stage2.box)
        try:
            opt.source.check(state.source, what=where or f"The campaign {label}")
        except CampaignMismatchError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise CampaignFileError(
                f"{label} is not a valid campaign file (source: {error}). Restore the file from a backup or start "
                "a new campaign."
            ) from error
        state.check_keys(opt.source, label=label)
        opt._state = replace(state, source=opt.source.describe())
        opt.state_path = None
        opt._disk = None
        opt.model = None
        opt._fitted = None
        opt.source.sync([o.key for o in state.observations], state.pending)
        return opt
