r"""Loaders for datasets that are too large to ship and are read from a local copy.

- :func:`load_3dsc`: the 3DSC superconductor table (ICSD-only variant,
  ``3DSC_ICSD_only_IDs.csv.gz``), featurised from ``formula_sc`` with Magpie
  features cached on disk;
- :func:`load_olympus`: a dataset folder of the Olympus benchmarking package
  (``data.csv`` without header, ``config.json``, ``description.txt``).

Both go through :func:`axfusion.data.load_csv`.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from axfusion.data.dataset import ORIENTATIONS, Dataset
from axfusion.data.errors import DataValidationError, DataWarning
from axfusion.data.featurize import featurize_formulas_cached
from axfusion.data.tabular import load_csv
from axfusion.data.validation import MAX_REPORTED, check_columns_exist

THREE_DSC_FILE: str = "3DSC_ICSD_only_IDs.csv.gz"
THREE_DSC_HEADER_ROWS: int = 1
"""Comment lines before the header of the 3DSC ICSD-only file."""
THREE_DSC_FORMULA: str = "formula_sc"
THREE_DSC_TARGET: str = "tc"
THREE_DSC_NON_FEATURES: tuple[str, ...] = ("database_id_2", "synth_doped")
THREE_DSC_CITATION: str = (
    "T. Sommer, R. Willa, J. Schmalian, P. Friederich, 3DSC - a dataset of "
    "superconductors including crystal structures, Sci. Data 10, 816 (2023)."
)

OLYMPUS_DATA_FILE: str = "data.csv"
OLYMPUS_CONFIG_FILE: str = "config.json"
OLYMPUS_DESCRIPTION_FILE: str = "description.txt"
OLYMPUS_FOLDER_PREFIX: str = "dataset_"
OLYMPUS_NAME_PREFIX: str = "olympus_"
OLYMPUS_CITATION: str = (
    "F. Hase et al., Olympus: a benchmarking framework for noisy optimization and "
    "experiment planning, Mach. Learn.: Sci. Technol. 2, 035021 (2021); cite the "
    "dataset's original paper given in its description."
)


def load_3dsc(
    path_or_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> Dataset:
    r"""Load the 3DSC superconductors (ICSD-only file) with Magpie features of ``formula_sc``.

    The file lists 86,490 ICSD entries of 9,150 SuperCon formulas; Tc is a
    function of the formula, so by default (``average_duplicates=True``) rows
    with identical features are merged: one row per distinct fractional
    composition. The distinct formulas are featurised once and cached on disk
    (see :func:`axfusion.data.featurize.featurize_formulas_cached`); the first
    call takes about half a minute. Formulas that cannot be featurised are
    dropped and counted in ``n_dropped_invalid``. Like the built-in datasets,
    it loads without warnings by default (its cleaning is documented here and
    recorded in the counts); pass ``warn=True`` to see them.

    Args:
        path_or_dir: ``3DSC_ICSD_only_IDs.csv[.gz]`` or the folder holding it.
        cache_dir: Feature cache directory; default ``$AXFUSION_CACHE`` or
            ``~/.cache/axfusion``.
        progress: Show a progress bar while featurising.
        **options: Further :func:`load_csv` options (e.g. ``average_duplicates=False``,
            ``warn=True``).

    Returns:
        Dataset named ``"3dsc"``: ``X`` has the Magpie columns (constant ones
        dropped), ``Y`` the target ``tc`` [K], ``ids`` the SuperCon formula.
    """
    path = Path(path_or_dir)
    if path.is_dir():
        path = path / THREE_DSC_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No 3DSC file at {str(path)!r} (expected {THREE_DSC_FILE}).")
    frame = pd.read_csv(path, skiprows=THREE_DSC_HEADER_ROWS)
    check_columns_exist([THREE_DSC_FORMULA, THREE_DSC_TARGET], list(frame.columns), role="3DSC")
    formulas = frame[THREE_DSC_FORMULA].astype(str)
    table, invalid = featurize_formulas_cached(formulas, cache_dir=cache_dir, progress=progress)
    keep = ~formulas.isin(invalid).to_numpy()
    n_invalid = int((~keep).sum())
    warn = bool(options.get("warn", False))
    if n_invalid and warn:
        warnings.warn(
            f"3dsc: dropped {n_invalid} rows whose formula cannot be featurised: "
            f"{invalid[:MAX_REPORTED]}{' ...' if len(invalid) > MAX_REPORTED else ''}.",
            DataWarning,
            stacklevel=2,
        )
    kept = frame.loc[keep, [THREE_DSC_FORMULA, THREE_DSC_TARGET]].reset_index(drop=True)
    kept[THREE_DSC_FORMULA] = kept[THREE_DSC_FORMULA].astype(str)
    features = table.loc[kept[THREE_DSC_FORMULA]].reset_index(drop=True)
    arguments: dict[str, Any] = dict(
        targets=[THREE_DSC_TARGET],
        id_column=THREE_DSC_FORMULA,
        name="3dsc",
        average_duplicates=True,
        warn=False,
        units={THREE_DSC_TARGET: "K"},
        orientation={THREE_DSC_TARGET: "maximize"},
        citation=THREE_DSC_CITATION,
        licence="CC BY 4.0",
        source=f"aimat-lab/3DSC (GitHub, commit 8d69ca9c), {THREE_DSC_FILE}",
        description=(
            "Superconducting critical temperature of the 3DSC SuperCon formulas "
            "matched to ICSD structures (ICSD-only ids file, no structures), "
            "featurised with the 132 Magpie statistics of formula_sc; identical "
            "feature vectors are averaged (one row per fractional composition)."
        ),
        n_dropped_invalid=n_invalid,
    )
    arguments.update(options)
    return load_csv(pd.concat([kept, features], axis=1), **arguments)


def _olympus_folder(name: str, root: Path) -> Path:
    """Folder of Olympus dataset ``name`` under ``root`` (``name`` or ``dataset_<name>``)."""
    for candidate in (root / name, root / f"{OLYMPUS_FOLDER_PREFIX}{name}"):
        if (candidate / OLYMPUS_CONFIG_FILE).is_file():
            return candidate
    available = (
        sorted(
            p.name.removeprefix(OLYMPUS_FOLDER_PREFIX)
            for p in root.iterdir()
            if (p / OLYMPUS_CONFIG_FILE).is_file()
        )
        if root.is_dir()
        else []
    )
    matches = difflib.get_close_matches(name, available, n=3)
    hint = f" Did you mean {matches}?" if matches else ""
    raise FileNotFoundError(
        f"No Olympus dataset {name!r} under {str(root)!r}.{hint} Available: {available}."
    )


def _olympus_orientation(config: dict[str, Any]) -> dict[str, str]:
    """Per-measurement goal: the measurement's own ``goal``, else ``default_goal``."""
    measurements = config["measurements"]
    default = config.get("default_goal", "maximize")
    defaults = [default] * len(measurements) if isinstance(default, str) else list(default)
    if len(defaults) < len(measurements):
        raise DataValidationError(
            f"config.json lists {len(defaults)} default goals for "
            f"{len(measurements)} measurements."
        )
    orientation = {}
    for measurement, fallback in zip(measurements, defaults):
        goal = measurement.get("goal", fallback)
        if goal not in ORIENTATIONS:
            raise DataValidationError(
                f"Measurement {measurement['name']!r} has goal {goal!r}; expected one "
                f"of {ORIENTATIONS}."
            )
        orientation[measurement["name"]] = goal
    return orientation


def _encode_ordinal_measurements(
    frame: pd.DataFrame, measurements: list[dict[str, Any]]
) -> pd.DataFrame:
    """Replace ordinal measurements given as option strings by their 0-based rank."""
    for measurement in measurements:
        options = measurement.get("options")
        if not options:
            continue
        column = measurement["name"]
        ranks = {option: float(rank) for rank, option in enumerate(options)}
        unknown = sorted(set(frame[column].dropna()) - set(ranks))
        if unknown:
            raise DataValidationError(
                f"Measurement {column!r} has values {unknown[:MAX_REPORTED]} that are not "
                f"among its options {options}."
            )
        frame[column] = frame[column].map(ranks)
    return frame


#: Environment variable naming the folder of the Olympus dataset folders (see :func:`olympus_root`).
OLYMPUS_ROOT_ENV_VAR: str = "AXFUSION_OLYMPUS_ROOT"


def olympus_root() -> Path:
    r"""The local folder of the Olympus datasets used by the benchmark tasks that are not shipped.

    ``$AXFUSION_OLYMPUS_ROOT`` if set, else ``../shared/data/olympus_datasets`` next to the
    checkout (the folder above the repository holding ``shared/data``).

    Raises:
        FileNotFoundError: Neither exists; the message names the variable to set.
    """
    env = os.environ.get(OLYMPUS_ROOT_ENV_VAR)
    candidate = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data" / "olympus_datasets"
    if not candidate.is_dir():
        raise FileNotFoundError(
            f"No Olympus datasets folder at {str(candidate)!r}; set ${OLYMPUS_ROOT_ENV_VAR} to a local copy "
            "of aspuru-guzik-group/olympus' src/olympus/datasets (one folder per dataset)."
        )
    return candidate


def load_olympus(name: str, root: str | os.PathLike[str], **options: Any) -> Dataset:
    r"""Load one Olympus benchmark dataset from a local copy.

    ``data.csv`` has no header: its columns are the ``parameters`` of
    ``config.json`` followed by its ``measurements``. Parameters of type
    ``categorical`` become categorical features (``continuous`` and ``discrete``
    are numeric); every measurement is a target, oriented by its ``goal`` or the
    config's ``default_goal``. A measurement with a list of ``options`` (ordinal
    labels, e.g. ``vapdiff_crystal``'s crystal score) is encoded as the option's
    0-based rank. The descriptor tables (``descriptors.csv``) are not used.
    Duplicated inputs are kept with a :class:`DataWarning` by default (several
    Olympus pools repeat inputs); pass ``average_duplicates=True`` to average
    them or ``on_duplicates="ignore"`` to keep them silently.

    Args:
        name: Dataset name, e.g. ``"crossed_barrel"`` (folder ``<root>/<name>`` or
            ``<root>/dataset_<name>``).
        root: Folder holding the Olympus dataset folders.
        **options: Further :func:`load_csv` options (e.g. ``targets=[...]``,
            ``average_duplicates=True``).

    Returns:
        Dataset named ``"olympus_<name>"``.
    """
    folder = _olympus_folder(name, Path(root))
    config = json.loads((folder / OLYMPUS_CONFIG_FILE).read_text())
    parameters = config["parameters"]
    measurements = config["measurements"]
    columns = [p["name"] for p in parameters] + [m["name"] for m in measurements]
    frame = pd.read_csv(folder / OLYMPUS_DATA_FILE, header=None)
    if frame.shape[1] != len(columns):
        raise DataValidationError(
            f"{folder / OLYMPUS_DATA_FILE} has {frame.shape[1]} columns but config.json "
            f"declares {len(parameters)} parameters and {len(measurements)} measurements."
        )
    frame.columns = columns
    frame = _encode_ordinal_measurements(frame, measurements)
    description_file = folder / OLYMPUS_DESCRIPTION_FILE
    description = (
        description_file.read_text().strip() if description_file.is_file() else ""
    )
    arguments: dict[str, Any] = dict(
        targets=[m["name"] for m in measurements],
        features=[p["name"] for p in parameters],
        categorical=[p["name"] for p in parameters if p["type"] == "categorical"],
        name=f"{OLYMPUS_NAME_PREFIX}{name}",
        orientation=_olympus_orientation(config),
        citation=OLYMPUS_CITATION,
        licence="MIT",
        source=(
            f"aspuru-guzik-group/olympus (GitHub, commit 440b6b58), "
            f"src/olympus/datasets/dataset_{name}"
        ),
        description=description,
    )
    arguments.update(options)
    return load_csv(frame, **arguments)
