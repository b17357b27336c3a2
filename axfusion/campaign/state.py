r"""The campaign state: everything a campaign is, apart from the method that runs it.

:class:`CampaignState` holds the observations (successful and failed), the pending
designs, the iteration counter, the seed, the whole :class:`~axfusion.settings.Settings`
tree, the targets, the tuned hyper-parameters (warm starts), what a DE time budget decided,
and the per-iteration diagnostics. It is a plain value: :meth:`CampaignState.observe` and
:meth:`CampaignState.after_batch` return a *new* state, so a call that fails half-way leaves
the campaign exactly as before, and :meth:`as_dict` / :meth:`from_dict` round-trip it
through JSON exactly (a resumed campaign proposes what the uninterrupted one would have).

Keys identify designs: a pool row id (``int``) on a closed pool, the tuple of raw parameter
values in a box.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axfusion.acquisition.targets import Target, orient
from axfusion.diagnostics import IterationRecord, jsonable
from axfusion.models.tuning import TuningRecord, TuningState
from axfusion.settings import Settings

__all__ = ["CampaignState", "Observation"]

#: Version of the campaign file written by :meth:`CampaignState.as_dict`.
STATE_VERSION = 2


@dataclass(frozen=True)
class Observation:
    r"""One measurement.

    Attributes:
        key: Pool row id, or the tuple of the design's raw parameter values.
        x: The raw design (boxes) or ``None`` (pools: the pool holds it).
        y: ``m`` measured values (``None`` where missing; all ``None`` when failed).
        failed: Whether the measurement failed (kept, never proposed again, not modelled).
        iteration: The campaign iteration when it was recorded.
    """

    key: Any
    x: tuple[Any, ...] | None
    y: tuple[float | None, ...]
    failed: bool
    iteration: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": list(self.key) if isinstance(self.key, tuple) else self.key,
            "x": None if self.x is None else list(self.x),
            "y": list(self.y),
            "failed": self.failed,
            "iteration": self.iteration,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Observation:
        key = tuple(d["key"]) if isinstance(d["key"], list) else d["key"]
        x = None if d["x"] is None else tuple(d["x"])
        return cls(key=key, x=x, y=tuple(d["y"]), failed=bool(d["failed"]), iteration=int(d["iteration"]))


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class CampaignState:
    r"""A campaign's state (see the module docstring).

    Attributes:
        settings: The whole settings tree.
        targets: One :class:`~axfusion.acquisition.Target` per measured column.
        target_names: Their names.
        seed: Campaign seed; iteration ``t`` uses ``seed + t``.
        ref_point: Hypervolume reference point (oriented raw units) or ``None``.
        iteration: Completed iterations (suggested batches).
        observations: Every measurement, in the order recorded.
        pending: Suggested designs not measured yet (never proposed again meanwhile).
        suggestions: The keys of every suggested batch.
        records: One :class:`~axfusion.diagnostics.IterationRecord` per batch.
        tuning: Tuned hyper-parameters per (family, target): Stage 1's warm start.
        box_generations: DE generations the first box iteration's time budget allowed
            (``None``: not decided, or no time budget); bounds later iterations.
        source: What the candidates are: ``{"kind": "pool", "fingerprint": ...}`` or
            ``{"kind": "box", "parameters": [...]}``.
    """

    settings: Settings
    targets: tuple[Target, ...]
    target_names: tuple[str, ...]
    seed: int = 0
    ref_point: tuple[float, ...] | None = None
    iteration: int = 0
    observations: tuple[Observation, ...] = ()
    pending: tuple[Any, ...] = ()
    suggestions: tuple[tuple[Any, ...], ...] = ()
    records: tuple[IterationRecord, ...] = ()
    tuning: dict[tuple[str, int], TuningRecord] = field(default_factory=dict)
    box_generations: int | None = None
    source: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- queries
    @property
    def m(self) -> int:
        r"""Number of targets."""
        return len(self.targets)

    @property
    def successful(self) -> tuple[Observation, ...]:
        r"""The observations that did not fail, in order."""
        return tuple(o for o in self.observations if not o.failed)

    @property
    def n_observed(self) -> int:
        r"""Successful measurements."""
        return len(self.successful)

    def observed_keys(self) -> set[Any]:
        r"""Keys of every observation (failed ones included)."""
        return {o.key for o in self.observations}

    def Y(self) -> np.ndarray:
        r"""``n x m`` successful measurements (raw units)."""
        ok = self.successful
        if not ok:
            return np.zeros((0, self.m))
        return np.array([[np.nan if v is None else v for v in o.y] for o in ok], dtype=np.float64)

    def oriented(self) -> np.ndarray:
        r"""``n x m`` successful measurements oriented so that larger is better."""
        return orient(self.Y(), self.targets)

    def scalar(self) -> np.ndarray:
        r"""``n`` oriented values (the mean over targets when there are several)."""
        O = self.oriented()
        return O.mean(axis=1) if self.m > 1 else O[:, 0]

    def recent_mask(self) -> np.ndarray:
        r"""``n`` flags: successful observations recorded in the latest iteration."""
        return np.array([o.iteration == self.iteration for o in self.successful], dtype=bool)

    def tuning_state(self) -> TuningState:
        r"""A fresh :class:`~axfusion.models.TuningState` holding the stored records (the
        reservoir updates it in place; the campaign keeps its own copy)."""
        return TuningState(records=dict(self.tuning))

    # ---------------------------------------------------------------- updates
    def observe(
        self, keys: Sequence[Any], xs: Sequence[Sequence[Any] | None], Y: np.ndarray, failed: np.ndarray
    ) -> CampaignState:
        r"""A new state with ``k`` measurements added (validated by the caller).

        Args:
            keys: ``k`` distinct design keys, none observed before.
            xs: ``k`` raw designs (boxes) or ``None`` each (pools).
            Y: ``k x m`` values (NaN where missing).
            failed: ``k`` flags.

        Raises:
            ValueError: when a key was observed before or repeats.
        """
        seen = self.observed_keys()
        if len(set(keys)) != len(keys):
            raise ValueError("The same design appears twice in one observe() call.")
        for key in keys:
            if key in seen:
                raise ValueError(f"Design {key!r} was already observed; each design is measured once.")
        new = tuple(
            Observation(
                key=key,
                x=None if x is None else tuple(x),
                y=tuple(None if np.isnan(v) else float(v) for v in y),
                failed=bool(f),
                iteration=self.iteration,
            )
            for key, x, y, f in zip(keys, xs, Y, failed)
        )
        done = set(keys)
        return dataclasses.replace(
            self,
            observations=self.observations + new,
            pending=tuple(p for p in self.pending if p not in done),
        )

    def with_pending(self, keys: Sequence[Any]) -> CampaignState:
        r"""A new state whose pending designs are ``keys`` (an external scheduler's view)."""
        return dataclasses.replace(self, pending=tuple(keys))

    def after_batch(
        self,
        batch: Sequence[Any],
        record: IterationRecord,
        tuning: TuningState,
        box_generations: int | None,
    ) -> CampaignState:
        r"""A new state after a suggested batch: one more iteration, the batch pending."""
        return dataclasses.replace(
            self,
            iteration=self.iteration + 1,
            pending=self.pending + tuple(batch),
            suggestions=self.suggestions + (tuple(batch),),
            records=self.records + (record,),
            tuning=dict(tuning.records),
            box_generations=box_generations,
        )

    # ------------------------------------------------------------------ files
    def as_dict(self) -> dict[str, Any]:
        r"""The state as JSON-serialisable values (every setting included)."""
        return jsonable(
            {
                "version": STATE_VERSION,
                "kind": self.source.get("kind"),
                "source": self.source,
                "settings": self.settings.as_dict(),
                "targets": [t.as_dict() for t in self.targets],
                "target_names": list(self.target_names),
                "ref_point": None if self.ref_point is None else list(self.ref_point),
                "seed": self.seed,
                "iteration": self.iteration,
                "observations": [o.as_dict() for o in self.observations],
                "pending": [list(p) if isinstance(p, tuple) else p for p in self.pending],
                "suggestions": [[list(k) if isinstance(k, tuple) else k for k in s] for s in self.suggestions],
                "diagnostics": [r.as_dict() for r in self.records],
                "tuning": [
                    {"family": fam, "target": t, **dataclasses.asdict(r)} for (fam, t), r in self.tuning.items()
                ],
                "box_generations": self.box_generations,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CampaignState:
        r"""Rebuild a state from :meth:`as_dict` output (version 2) or a version-1 file."""
        version = d.get("version")
        if version == 1:
            d = _upgrade_v1(d)
        elif version != STATE_VERSION:
            raise ValueError(f"campaign state version {version!r} is not supported (expected 1 or {STATE_VERSION}).")
        tuning = {}
        for r in d["tuning"]:
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in r["params"].items()}
            tuning[(r["family"], int(r["target"]))] = TuningRecord(
                params=params,
                oob_rmse=float("nan") if r["oob_rmse"] is None else float(r["oob_rmse"]),
                d_eff=r["d_eff"],
                capacity=r["capacity"],
                n_settings=r["n_settings"],
            )
        return cls(
            settings=Settings.from_dict(d["settings"]),
            targets=tuple(Target(**t) for t in d["targets"]),
            target_names=tuple(d["target_names"]),
            seed=int(d["seed"]),
            ref_point=None if d["ref_point"] is None else tuple(float(v) for v in d["ref_point"]),
            iteration=int(d["iteration"]),
            observations=tuple(Observation.from_dict(o) for o in d["observations"]),
            pending=tuple(_key(p) for p in d["pending"]),
            suggestions=tuple(tuple(_key(k) for k in s) for s in d["suggestions"]),
            records=tuple(IterationRecord.from_dict(r) for r in d["diagnostics"]),
            tuning=tuning,
            box_generations=d.get("box_generations"),
            source=dict(d.get("source") or {}),
        )


def _upgrade_v1(d: dict[str, Any]) -> dict[str, Any]:
    r"""A version-1 campaign file (flat ``OptimizerConfig``, no acquisition settings, a
    sampled pool fingerprint) as version 2. Its acquisition ran on the defaults, which
    version 1 did not record: they are the defaults here too."""
    settings = Settings().with_options(d["config"])
    out = dict(d)
    out["settings"] = settings.as_dict()
    kind = d.get("kind")
    if kind == "pool":
        out["source"] = {"kind": "pool", "fingerprint": d.get("pool")}
    else:
        out["source"] = {"kind": "box", "parameters": d.get("space")}
    out["box_generations"] = None
    return out
