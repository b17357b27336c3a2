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
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axfusion.acquisition.targets import Target, orient
from axfusion.diagnostics import IterationRecord, jsonable
from axfusion.models.tuning import TuningRecord, TuningState
from axfusion.settings import Settings, saved_settings

__all__ = ["CampaignFileError", "CampaignState", "Observation", "validate_campaign_file"]

#: Version of the campaign file written by :meth:`CampaignState.as_dict`.
STATE_VERSION = 2


class CampaignFileError(ValueError):
    r"""A campaign file that is not valid (hand-edited, truncated or of another program); the
    message names the file and the field."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_REQUIRED: dict[str, tuple[type | tuple[type, ...], str]] = {
    "settings": (dict, "an object"),
    "targets": (list, "a list"),
    "target_names": (list, "a list"),
    "seed": (int, "a whole number"),
    "iteration": (int, "a whole number"),
    "observations": (list, "a list"),
    "pending": (list, "a list"),
    "suggestions": (list, "a list"),
    "diagnostics": (list, "a list"),
    "tuning": (list, "a list"),
}


def validate_campaign_file(d: Any, label: str = "the campaign file") -> None:
    r"""Check a version-2 campaign file's fields (types, lengths, ranges, repeats) before use.

    Pool keys are range-checked against the pool by :meth:`CampaignState.check_keys`.

    Raises:
        CampaignFileError: naming ``label`` and the first invalid field.
    """

    def bad(field_name: str, what: str) -> CampaignFileError:
        return CampaignFileError(
            f"{label} is not a valid campaign file: {field_name} {what}. Restore the file from a backup or start "
            "a new campaign (a campaign file is written by axfusion, not edited by hand)."
        )

    if not isinstance(d, dict):
        raise bad("the file", "is not a JSON object")
    for name, (expected, words) in _REQUIRED.items():
        if name not in d:
            raise bad(f"'{name}'", "is missing")
        value = d[name]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise bad(f"'{name}'", f"must be {words}; got {value!r:.60}")
    if d["iteration"] < 0:
        raise bad("'iteration'", f"must be at least 0; got {d['iteration']}")
    kind = d.get("kind")
    if kind not in ("pool", "box"):
        raise bad("'kind'", f"must be 'pool' or 'box'; got {kind!r:.60}")
    m = len(d["targets"])
    if m < 1:
        raise bad("'targets'", "is empty")
    if any(not isinstance(t, dict) for t in d["targets"]):
        raise bad("'targets'", "must hold one object per target")
    if len(d["target_names"]) != m or any(not isinstance(n, str) for n in d["target_names"]):
        raise bad("'target_names'", f"must hold {m} names (one per target); got {d['target_names']!r:.80}")
    if not isinstance(d.get("source", {}), dict):
        raise bad("'source'", f"must be an object; got {d.get('source')!r:.60}")
    rp = d.get("ref_point")
    if rp is not None and (not isinstance(rp, list) or len(rp) != m or not all(_is_number(v) for v in rp)):
        raise bad("'ref_point'", f"must be null or {m} numbers; got {rp!r:.80}")
    bg = d.get("box_generations")
    if bg is not None and (not _is_int(bg) or bg < 1):
        raise bad("'box_generations'", f"must be null or a whole number of at least 1; got {bg!r:.60}")

    def key_ok(key: Any) -> bool:
        if kind == "pool":
            return _is_int(key) and key >= 0
        return isinstance(key, list) and all(v is None or isinstance(v, (str, int, float)) for v in key)

    key_words = "a pool row id (a whole number >= 0)" if kind == "pool" else "a list of parameter values"
    seen: set[Any] = set()
    for i, o in enumerate(d["observations"]):
        where = f"observations[{i}]"
        if not isinstance(o, dict):
            raise bad(where, "must be an object")
        for name in ("key", "x", "y", "failed", "iteration"):
            if name not in o:
                raise bad(f"{where}.{name}", "is missing")
        if not key_ok(o["key"]):
            raise bad(f"{where}.key", f"must be {key_words}; got {o['key']!r:.60}")
        if o["x"] is not None and not isinstance(o["x"], list):
            raise bad(f"{where}.x", f"must be null or a list; got {o['x']!r:.60}")
        y = o["y"]
        if not isinstance(y, list) or len(y) != m or not all(v is None or _is_number(v) for v in y):
            raise bad(f"{where}.y", f"must be a list of {m} numbers (null where missing); got {y!r:.80}")
        if any(v is not None and not math.isfinite(v) for v in y):
            raise bad(f"{where}.y", f"must hold finite numbers; got {y!r:.80}")
        if not isinstance(o["failed"], bool):
            raise bad(f"{where}.failed", f"must be true or false; got {o['failed']!r:.60}")
        if not o["failed"] and any(v is None for v in y):
            raise bad(f"{where}.y", "has a missing value but the observation is not marked failed")
        if not _is_int(o["iteration"]) or not 0 <= o["iteration"] <= d["iteration"]:
            raise bad(
                f"{where}.iteration", f"must be a whole number from 0 to {d['iteration']}; got {o['iteration']!r:.60}"
            )
        key = _key(o["key"])
        if key in seen:
            raise bad(
                f"{where}.key", f"repeats the design {o['key']!r:.60}, observed earlier (a design is measured once)"
            )
        seen.add(key)
    pending: set[Any] = set()
    for i, p in enumerate(d["pending"]):
        if not key_ok(p):
            raise bad(f"pending[{i}]", f"must be {key_words}; got {p!r:.60}")
        key = _key(p)
        if key in pending:
            raise bad(f"pending[{i}]", f"repeats {p!r:.60}")
        if key in seen:
            raise bad(f"pending[{i}]", f"is {p!r:.60}, which is already observed")
        pending.add(key)
    for i, batch in enumerate(d["suggestions"]):
        if not isinstance(batch, list) or not all(key_ok(k) for k in batch):
            raise bad(f"suggestions[{i}]", f"must be a list of keys, each {key_words}")
    if any(not isinstance(r, dict) for r in d["diagnostics"]):
        raise bad("'diagnostics'", "must hold one object per iteration")
    for i, r in enumerate(d["tuning"]):
        if not isinstance(r, dict) or not {"family", "target", "params", "oob_rmse", "d_eff", "capacity",
                                             "n_settings"} <= set(r):
            raise bad(f"tuning[{i}]", "must be an object with family, target, params, oob_rmse, d_eff, capacity "
                      "and n_settings")
        if not _is_int(r["target"]) or not 0 <= r["target"] < m or not isinstance(r["params"], dict):
            raise bad(f"tuning[{i}]", f"has a target outside 0..{m - 1} or params that are not an object")


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
    def from_dict(cls, d: dict[str, Any], *, label: str = "the campaign file") -> CampaignState:
        r"""Rebuild a state from :meth:`as_dict` output (version 2) or a version-1 file.

        The file is validated first (:func:`validate_campaign_file`).

        Raises:
            CampaignFileError: naming ``label`` and the invalid field.
        """
        version = d.get("version") if isinstance(d, dict) else None
        if version == 1:
            try:
                d = _upgrade_v1(d)
            except (KeyError, TypeError, ValueError) as error:
                raise CampaignFileError(f"{label} is a version-1 campaign file that cannot be read: {error}") from error
        elif version != STATE_VERSION:
            raise CampaignFileError(
                f"{label}: campaign file version {version!r} is not supported (expected 1 or {STATE_VERSION})."
            )
        validate_campaign_file(d, label)
        try:
            return cls._from_valid_dict(d)
        except CampaignFileError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            from axfusion.settings import SettingsError

            if isinstance(error, SettingsError):
                section = "settings"
            elif "IterationRecord" in str(error):
                section = "diagnostics"
            elif "Target" in str(error) or "target kind" in str(error):
                section = "targets"
            else:
                section = "a field"
            raise CampaignFileError(
                f"{label} is not a valid campaign file ({section}: {error}). Restore the file from a backup or "
                "start a new campaign."
            ) from error

    def check_keys(self, source: Any, *, label: str = "the campaign file") -> None:
        r"""Raise :class:`CampaignFileError` unless every pool key lies in ``source``'s pool.

        Args:
            source: The campaign's :class:`~axfusion.campaign.sources.CandidateSource`.
            label: How the message names the file.
        """
        pool = getattr(source, "pool", None)
        if pool is None:
            return
        n = pool.n_rows
        for name, keys in (
            ("observations", [o.key for o in self.observations]),
            ("pending", list(self.pending)),
            ("suggestions", [k for b in self.suggestions for k in b]),
        ):
            out = [k for k in keys if not 0 <= int(k) < n]
            if out:
                raise CampaignFileError(
                    f"{label} is not a valid campaign file: {name} names pool row {out[0]}, outside the pool's "
                    f"{n} rows (0..{n - 1}). Restore the file from a backup or start a new campaign."
                )

    @classmethod
    def _from_valid_dict(cls, d: dict[str, Any]) -> CampaignState:
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
            settings=saved_settings(d["settings"]),
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
