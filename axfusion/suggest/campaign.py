r"""One call of the workflow: open or continue the campaign, observe the new rows, suggest the next batch."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from axfusion.suggest.errors import SuggestInputError, SuggestWarning
from axfusion.suggest.measured import MIN_SUCCESSFUL, load_measured
from axfusion.suggest.pool import _Pool, load_pool
from axfusion.suggest.tables import ROW_ID_COLUMN, TableSource, _listed, _plural, _same_file, _verb
from axfusion.suggest.targets import DirectionSpec, describe_target, parse_targets

if TYPE_CHECKING:  # imported where used: the CLI parser is built without torch/botorch
    from axfusion.acquisition.targets import Target
    from axfusion.optimizer import FusionOptimizer

_EXTRA_OPTIONS: tuple[str, ...] = ("ref_point", "preset")
_EXECUTION_ONLY: tuple[str, ...] = ("loop.n_jobs",)


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    r"""``**optimizer_options`` -> (settings options by dotted path, constructor extras)."""
    from axfusion.settings import SettingsError, resolve_option

    cfg: dict[str, Any] = {}
    unknown = []
    for key, value in options.items():
        if key in _EXTRA_OPTIONS:
            continue
        try:
            cfg[resolve_option(key)] = value
        except SettingsError:
            unknown.append(key)
    if unknown:
        raise TypeError(
            f"Unknown optimizer option(s) {sorted(unknown)}; use options of axfusion.settings.Settings "
            f"(dotted paths such as 'stage1.n_members', or unique names such as 'n_members') or {list(_EXTRA_OPTIONS)}."
        )
    if cfg.get("stage1.families") is not None:
        from axfusion.models import list_families

        given = cfg["stage1.families"]
        families = [given] if isinstance(given, str) else list(given)
        known = list_families()
        unknown_families = [f for f in families if isinstance(f, str) and f not in known]
        if not families:
            raise SuggestInputError(f"Give at least one surrogate family; the registered families are {known}.")
        if unknown_families:
            raise SuggestInputError(
                f"Unknown surrogate family name(s) {unknown_families}; the registered families are {known}."
            )
        cfg["stage1.families"] = tuple(families)
    for key, least in (("stage1.n_members", 2), ("loop.n_jobs", 1), ("loop.batch_size", 1)):
        value = cfg.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least):
            name = key.split(".")[-1]
            raise SuggestInputError(f"The option {name} must be a whole number of at least {least}, not {value!r}.")
    return cfg, {k: v for k, v in options.items() if k in _EXTRA_OPTIONS}


def _open_campaign(
    campaign: Path | None,
    pool: _Pool,
    names: list[str],
    targets: list[Target],
    *,
    seed: int,
    batch_size: int,
    options: Mapping[str, Any],
) -> tuple[FusionOptimizer, bool]:
    r"""A new optimiser, or the one resumed from ``campaign``; also whether it was resumed."""
    from axfusion.acquisition.targets import Target
    from axfusion.campaign import CampaignMismatchError, FusionOptimizer
    from axfusion.settings import SettingsError

    cfg, extra = _split_options(options)
    if campaign is None or not campaign.exists():
        try:
            opt = FusionOptimizer(
                pool.pool, targets, target_names=names, settings=extra.get("preset"),
                options={"loop.batch_size": batch_size, **cfg}, ref_point=extra.get("ref_point"), seed=seed,
            )
        except SettingsError as error:
            raise SuggestInputError(f"Invalid option: {error}") from error
        except (TypeError, ValueError) as error:  # the seed, the reference point
            raise SuggestInputError(f"Cannot start the campaign: {error}") from error
        return opt, False
    if not campaign.is_file():
        raise SuggestInputError(f"The campaign path {str(campaign)!r} exists but is not a file.")
    from axfusion.campaign import CampaignFileError
    from axfusion.campaign.optimizer import read_campaign_file
    from axfusion.campaign.state import STATE_VERSION, validate_campaign_file

    try:
        state, _ = read_campaign_file(campaign)
    except CampaignFileError as error:
        raise SuggestInputError(str(error)) from error
    if "observations" not in state or "targets" not in state:
        raise SuggestInputError(f"{campaign.name} is not an axfusion campaign file.")
    if state.get("version") == STATE_VERSION:  # the current schema, checked field by field before any use
        try:
            validate_campaign_file(state, campaign.name)
        except CampaignFileError as error:
            raise SuggestInputError(str(error)) from error
    elif not isinstance(state.get("target_names", []), list) or not isinstance(state["targets"], list):
        raise SuggestInputError(f"{campaign.name} is not a complete axfusion campaign file (targets).")
    if state.get("kind") != "pool":
        raise SuggestInputError(f"{campaign.name} is a campaign over a search space, not over a candidate pool.")
    try:
        saved = [Target(**{k: t[k] for k in ("kind", "value", "lower", "upper", "name")}) for t in state["targets"]]
        saved_names = [str(n) for n in state.get("target_names", [])]
    except (KeyError, TypeError, ValueError) as error:
        raise SuggestInputError(
            f"{campaign.name} is not a complete axfusion campaign file (targets: {error})."
        ) from error
    if saved_names != names or [dataclasses.replace(t, name=None) for t in saved] != [
        dataclasses.replace(t, name=None) for t in targets
    ]:
        was = ", ".join(describe_target(dataclasses.replace(t, name=n)) for t, n in zip(saved, saved_names))
        now = ", ".join(describe_target(t) for t in targets)
        raise SuggestInputError(
            f"The campaign {campaign.name} was started for the targets {was}; this call asks for {now}. "
            "Use the campaign's targets, or start a new campaign with another --campaign path."
        )
    try:
        opt = FusionOptimizer.resume(campaign, pool.pool, save=False)
    except CampaignFileError as error:
        raise SuggestInputError(str(error)) from error
    except CampaignMismatchError as error:
        reason = str(error).split(": ", 1)[-1].split(". Give", 1)[0]
        raise SuggestInputError(
            f"The campaign {campaign.name} belongs to another pool: {reason} (this pool: {pool.table.named}, "
            f"{pool.n_rows} rows x {len(pool.feature_names)} features). Give the campaign's pool (same rows, "
            "order and feature columns), or start a new campaign with another --campaign path."
        ) from error
    except ValueError as error:
        raise SuggestInputError(f"Cannot continue the campaign {campaign.name}: {error}") from error
    except (KeyError, TypeError) as error:
        raise SuggestInputError(
            f"{campaign.name} is not a complete axfusion campaign file (missing {error})."
        ) from error
    current = {**{k: opt.settings.get(k) for k in cfg}, "ref_point": opt.ref_point}
    given = dict(cfg)
    if extra.get("ref_point") is not None:
        given["ref_point"] = [float(v) for v in extra["ref_point"]]
    ignored = [k for k, v in given.items() if k not in _EXECUTION_ONLY and current[k] != v]
    if ignored:
        from axfusion.settings import resolve_option

        label = {resolve_option(k): k for k in options if k not in _EXTRA_OPTIONS}
        label["ref_point"] = "ref_point"
        asked = {label[k]: given[k] for k in ignored}
        kept = {label[k]: current[k] for k in ignored}
        warnings.warn(
            f"the campaign {campaign.name} keeps the settings it was started with, so that it continues exactly; "
            f"ignored: {asked} (the campaign has {kept}).",
            SuggestWarning,
            stacklevel=4,
        )
    if "loop.n_jobs" in cfg:
        opt.set_execution(n_jobs=cfg["loop.n_jobs"])
    return opt, True


@dataclass
class _Outcome:
    r"""What one suggest call did (for the CLI's summary)."""

    table: pd.DataFrame
    iteration: int
    campaign: Path | None
    resumed: bool
    n_measured_rows: int
    n_new: int
    n_new_failed: int
    n_pending: int
    n_available: int
    pool_label: str
    measured_label: str
    n_pool_rows: int
    n_features: int
    encoding: list[str] = field(default_factory=list)


def _output_table(s_table: pd.DataFrame, iteration: int, pool: _Pool) -> pd.DataFrame:
    r"""The suggestion table with the pool's id and formula in front."""
    rid = s_table[ROW_ID_COLUMN].to_numpy(dtype=np.int64)
    front: dict[str, Any] = {}
    if pool.id_column is not None and pool.ids is not None:
        front[pool.id_column] = pool.ids.iloc[rid].to_numpy()
    if pool.id_column != ROW_ID_COLUMN:
        front[ROW_ID_COLUMN] = rid
    if pool.formula_column is not None and pool.formula_column != pool.id_column and pool.formulas is not None:
        front[pool.formula_column] = pool.formulas.iloc[rid].to_numpy()
    for column in pool.categorical_columns:  # the user's levels, as written in the pool
        if column not in front and column in pool.table.frame.columns:
            front[column] = pool.table.frame[column].iloc[rid].to_numpy()
    front["iteration"] = np.full(rid.size, iteration, dtype=np.int64)
    rest = s_table.drop(columns=[ROW_ID_COLUMN]).reset_index(drop=True)
    clash = [c for c in front if c in rest.columns]
    if clash:
        raise SuggestInputError(
            f"The id/formula column name(s) {clash} clash with output columns {list(rest.columns)}; rename them."
        )
    return pd.concat([pd.DataFrame(front), rest], axis=1)


def _run(
    pool: TableSource,
    measured: TableSource,
    targets: Sequence[str] | str,
    *,
    directions: Any = None,
    batch_size: int = 10,
    id_column: str | None = None,
    formula_column: str | None = None,
    features: Sequence[str] | None = None,
    campaign: str | os.PathLike[str] | None = None,
    seed: int = 0,
    optimizer_options: Mapping[str, Any] | None = None,
    deliver: Callable[[pd.DataFrame], None] | None = None,
    categorical: Sequence[str] = (),
    ordinal: Mapping[str, Sequence[Any]] | None = None,
    descriptors: Mapping[str, Any] | None = None,
    smiles: Sequence[str] = (),
    retract: Callable[[], None] | None = None,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> _Outcome:
    r"""The whole suggest call; see :func:`suggest_next`.

    The campaign's lock (:func:`~axfusion.files.campaign_lock`) is held from reading the
    campaign to saving it, so a second call on the same campaign refuses (or waits up to
    ``wait`` seconds, telling ``on_wait``) instead of working on the same state.
    ``deliver`` (the CLI's writer of ``--out``) receives the table before the
    campaign is saved, so a batch that could not be delivered is never left pending;
    if the campaign then cannot be saved, ``retract`` undoes the delivery.
    """
    from axfusion.files import CampaignLockedError, OutputPathError, campaign_lock, check_output_path

    for value, name in ((pool, "pool"), (measured, "measured")):
        if not isinstance(value, (str, os.PathLike, pd.DataFrame)):
            raise TypeError(f"{name} must be a file path or a pandas DataFrame; got {type(value).__name__}.")
    if campaign is not None and not isinstance(campaign, (str, os.PathLike)):
        raise TypeError(f"campaign must be a file path or None; got {type(campaign).__name__}.")
    if not isinstance(targets, str) and (
        not isinstance(targets, Sequence) or not all(isinstance(t, str) for t in targets)
    ):
        raise TypeError(f"targets must be a column name or a list of column names; got {targets!r}.")
    encoding = {"categorical": categorical, "ordinal": ordinal, "descriptors": descriptors, "smiles": smiles}
    if campaign is None:
        return _run_locked(
            pool, measured, targets, directions=directions, batch_size=batch_size, id_column=id_column,
            formula_column=formula_column, features=features, campaign=None, seed=seed,
            optimizer_options=optimizer_options, deliver=deliver, retract=retract, encoding=encoding,
        )
    try:
        check_output_path(campaign, "the campaign file")
        with campaign_lock(campaign, wait=wait, on_wait=on_wait):
            return _run_locked(
                pool, measured, targets, directions=directions, batch_size=batch_size, id_column=id_column,
                formula_column=formula_column, features=features, campaign=campaign, seed=seed,
                optimizer_options=optimizer_options, deliver=deliver, retract=retract, encoding=encoding,
            )
    except (CampaignLockedError, OutputPathError) as error:
        raise SuggestInputError(_cap_first(str(error))) from error


def _cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _run_locked(
    pool: TableSource,
    measured: TableSource,
    targets: Sequence[str] | str,
    *,
    directions: Any,
    batch_size: int,
    id_column: str | None,
    formula_column: str | None,
    features: Sequence[str] | None,
    campaign: str | os.PathLike[str] | None,
    seed: int,
    optimizer_options: Mapping[str, Any] | None,
    deliver: Callable[[pd.DataFrame], None] | None,
    retract: Callable[[], None] | None,
    encoding: Mapping[str, Any],
) -> _Outcome:
    r""":func:`_run` once the campaign's lock is held (``encoding``: the categorical,
    ordinal, descriptor and SMILES arguments of :func:`suggest_next`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SuggestInputError(f"The batch size must be a whole number of at least 1, not {batch_size!r}.")
    batch_size = int(batch_size)
    names, target_specs = parse_targets(targets, directions)
    pool_path = None if isinstance(pool, pd.DataFrame) else Path(pool)
    measured_path = None if isinstance(measured, pd.DataFrame) else Path(measured)
    campaign_path = None if campaign is None else Path(campaign)
    if _same_file(pool_path, measured_path):
        raise SuggestInputError(
            f"The pool and the measured table are the same file ({pool_path}); the measured table lists only the "
            "measured rows (an empty target marks a failed measurement)."
        )
    for given, role in ((pool_path, "pool"), (measured_path, "measured")):
        if _same_file(campaign_path, given):
            raise SuggestInputError(
                f"The campaign path {str(campaign_path)!r} is the {role} file; it would be overwritten. "
                "Choose another campaign path."
            )
    for name in names:
        if name in (id_column, formula_column):
            raise SuggestInputError(f"Column {name!r} cannot be both a target and the id/formula column.")

    p = load_pool(
        pool, id_column=id_column, formula_column=formula_column, features=features, targets=names,
        **encoding,
    )
    m = load_measured(measured, p, names)
    opt, resumed = _open_campaign(
        campaign_path, p, names, target_specs, seed=seed, batch_size=batch_size, options=optimizer_options or {}
    )

    def who(pos: int) -> str:
        return f"id {p.ids.iloc[pos]!r}" if p.ids is not None else f"{ROW_ID_COLUMN} {pos}"

    recorded = {o.key: o for o in opt.observations}
    new = np.array([int(pos) not in recorded for pos in m.positions], dtype=bool)
    changed = []
    for i in np.flatnonzero(~new):
        o = recorded[int(m.positions[i])]
        old = np.array([np.nan if v is None else v for v in o.y], dtype=np.float64)
        old_failed = bool(o.failed)
        if old_failed != bool(m.failed[i]) or (not old_failed and not np.allclose(old, m.Y[i], rtol=1e-12, atol=0.0)):
            changed.append(f"{m.table.row(int(i))} ({who(int(m.positions[i]))})")
    if changed:
        warnings.warn(
            f"{_plural(len(changed), 'row')} of {m.table.label} {_verb(len(changed), 'differs', 'differ')} "
            "from the values the campaign recorded "
            f"earlier: {_listed(changed)}. The campaign keeps the recorded values (a design is measured once); "
            "start a new campaign to use the corrected values.",
            SuggestWarning,
            stacklevel=3,
        )
    in_file = set(int(x) for x in m.positions)
    absent = [k for k in recorded if int(k) not in in_file]
    if absent:
        warnings.warn(
            f"{_plural(len(absent), 'measurement')} recorded in the campaign {_verb(len(absent), 'is', 'are')} "
            f"not in {m.table.label} "
            f"({_listed([who(int(k)) for k in absent])}); the campaign keeps them.",
            SuggestWarning,
            stacklevel=3,
        )
    new_failed = np.flatnonzero(new & m.failed)
    if new_failed.size:
        parts = []
        for j, name in enumerate(names):
            miss = new_failed[np.isnan(m.Y[new_failed, j])]
            if miss.size:
                parts.append(f"{name!r} in {m.table.rows(miss.tolist())}")
        warnings.warn(
            f"{_plural(new_failed.size, 'measured row')} of {m.table.label} "
            f"{_verb(new_failed.size, 'has', 'have')} no value for a target "
            f"({'; '.join(parts)}): treated as failed measurements -- recorded in the campaign, never suggested "
            "again, and not used to fit the surrogates.",
            SuggestWarning,
            stacklevel=3,
        )

    n_success = opt.n_observed + int((new & ~m.failed).sum())
    if n_success < MIN_SUCCESSFUL:
        n_fail = sum(o.failed for o in opt.observations) + int(new_failed.size)
        raise SuggestInputError(
            f"The fusion optimiser needs at least {MIN_SUCCESSFUL} successful measurements to fit its surrogates; "
            f"there {'is' if n_success == 1 else 'are'} {n_success} (and {_plural(n_fail, 'failed measurement')}) "
            f"in {m.table.label}{' and the campaign' if resumed else ''}."
        )
    new_pos = m.positions[new]
    n_evaluated = len(opt.observations) + int(new.sum())
    pending = [q for q in opt.pending if q not in set(new_pos.tolist())]
    available = p.n_rows - n_evaluated - len(pending)
    if batch_size > available:
        raise SuggestInputError(
            f"The batch of {batch_size} rows is larger than the remaining pool: {available} rows are left to suggest "
            f"({p.n_rows} pool rows - {n_evaluated} measured - {len(pending)} pending). Ask for at most {available}."
        )
    if new.any():
        opt.observe(ids=new_pos, Y=m.Y[new], failed=m.failed[new])
    from axfusion.acquisition.batch import BatchSelectionError

    try:
        suggestion = opt.suggest(batch_size)
    except BatchSelectionError as error:
        raise SuggestInputError(
            f"No batch of {batch_size} rows can be suggested from {p.table.named}: {error}"
        ) from error
    table = _output_table(suggestion.table, suggestion.iteration, p)
    if deliver is not None:
        deliver(table)
    if campaign_path is not None:
        try:
            opt.save(campaign_path)
        except OSError as error:
            if retract is not None:
                retract()
            raise SuggestInputError(
                f"Cannot save the campaign file {campaign_path}: {error.strerror or error}. Nothing was kept: "
                "the campaign and the suggestions file are as before; free space or choose a writable folder "
                "and run again."
            ) from error
    return _Outcome(
        table=table,
        iteration=suggestion.iteration,
        campaign=campaign_path,
        resumed=resumed,
        n_measured_rows=len(m.positions),
        n_new=int(new.sum()),
        n_new_failed=int(new_failed.size),
        n_pending=len(opt.pending),
        n_available=p.pool.n_available,
        pool_label=p.table.label,
        measured_label=m.table.label,
        n_pool_rows=p.n_rows,
        n_features=len(p.feature_names),
        encoding=p.encoding_lines(),
    )


def suggest_next(
    pool: TableSource,
    measured: TableSource,
    targets: Sequence[str] | str,
    *,
    directions: Mapping[str, DirectionSpec] | Sequence[DirectionSpec] | DirectionSpec = None,
    batch_size: int = 10,
    id_column: str | None = None,
    formula_column: str | None = None,
    features: Sequence[str] | None = None,
    campaign: str | os.PathLike[str] | None = None,
    seed: int = 0,
    categorical: Sequence[str] = (),
    ordinal: Mapping[str, Sequence[Any]] | None = None,
    descriptors: Mapping[str, Any] | None = None,
    smiles: Sequence[str] = (),
    **optimizer_options: Any,
) -> pd.DataFrame:
    r"""Suggest the next batch of pool rows to measure, given the measurements so far.

    Example:
        >>> nxt = suggest_next("pool.csv", "measured.csv", "Tc", batch_size=10,
        ...                    id_column="id", campaign="tc.campaign.json")
        >>> nxt[["id", "mean[Tc]", "std[Tc]", "utility", "reason"]]

    Args:
        pool: The candidate pool: a CSV or Parquet (``.parquet``/``.pq``) file, or a
            DataFrame; one row per candidate. Read only.
        measured: The measurements so far: a CSV/Parquet file or a DataFrame with the
            target column(s) and, per row, the id column, a ``row_id`` (pool position)
            or the full feature row (see :mod:`axfusion.suggest` for the matching rules).
            An empty target marks a failed measurement. Read only.
        targets: Target column name(s) in ``measured``.
        directions: What to do with each target: ``None`` (maximise all), one
            direction for all targets, a list with one per target, or a dict
            ``{target: direction}``. A direction is ``"maximize"``, ``"minimize"``, a
            number (reach that value), a ``(low, high)`` window (``None`` for an open
            end) or a :class:`~axfusion.acquisition.Target`.
        batch_size: Rows to suggest (at most the rows neither measured nor pending).
        id_column: Column of unique row ids, in both tables; rows are matched by it.
        formula_column: Column of chemical formulas in the pool (and in ``measured``
            when rows are matched by features), featurised with Magpie (132 columns,
            cached on disk; see :func:`~axfusion.data.featurize_formulas_cached`).
        features: Pool columns used as features; default every column that is
            not the id, formula or a target column. The formula's Magpie features are
            added to these. Text, boolean and ``category`` columns are categorical
            (one-hot, two levels one unit apart; :mod:`axfusion.data.encoding`) and come
            back as written in the output.
        categorical: Numeric (integer-coded) columns to treat as categorical.
        ordinal: Column -> its levels from lowest to highest (encoded as ranks).
        descriptors: Column -> descriptor table (CSV path or DataFrame: a level column,
            then numeric descriptors); the column's levels are encoded by their
            descriptors. A level missing from the table is an error naming it.
        smiles: Columns of SMILES strings, encoded by Morgan fingerprints (needs RDKit:
            ``pip install 'axfusion[chem]'``); a string that does not parse is an error
            naming its row.
        campaign: Campaign file (JSON). If it exists the campaign continues: rows it
            has recorded are not observed again and its pending rows are not
            suggested; it is (re)written when the call succeeds. ``None`` keeps no
            state: every measured row is observed afresh and nothing is pending.
        seed: Seed of a new campaign (a resumed campaign keeps its own seed).
        **optimizer_options: Options of :class:`~axfusion.settings.Settings` by unique
            name (e.g. ``families=("ridge", "knn", "lightgbm")``, ``n_members=3``,
            ``n_jobs=2``) or dotted path (``**{"stage3.batch.cluster_bandwidth": False}``),
            ``preset`` (``"default"``, ``"paper"``, ``"authors_code"``) and ``ref_point``.
            They apply when a campaign starts; a resumed campaign keeps its settings
            (``n_jobs`` excepted) and warns about options that differ.

    Returns:
        One row per suggestion, best first: the id column (when given), ``row_id``
        (pool position), the formula column (when given), ``iteration``,
        ``utility`` (the fusion score ``U = pi * acquisition``), ``pi`` (structural
        weight), ``acquisition``; per target ``mean[t]``, ``std[t]`` (the ensemble's
        prediction and spread, in the target's units), ``model[t]`` and
        ``fusion[t]`` (the two acquisition channels); ``cluster`` and ``reason``.

    Raises:
        SuggestInputError: Any problem with the input, named in the message.
        TypeError: An unknown optimizer option.

    Warns:
        SuggestWarning: Failed (empty-target) measurements, rows whose values differ
            from the campaign's record, campaign rows missing from ``measured``, and
            ignored options of a resumed campaign.
    """
    return _run(
        pool,
        measured,
        targets,
        directions=directions,
        batch_size=batch_size,
        id_column=id_column,
        formula_column=formula_column,
        features=features,
        campaign=campaign,
        seed=seed,
        optimizer_options=optimizer_options,
        categorical=categorical,
        ordinal=ordinal,
        descriptors=descriptors,
        smiles=smiles,
    ).table
