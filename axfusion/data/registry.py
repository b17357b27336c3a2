r"""Names and sizes of every dataset axfusion knows, and loading by name.

:func:`list_datasets` answers from metadata (no file is read), so it is fast.
The recorded sizes are those of a load with default options and are checked
against real loads by the test suite. Shipped datasets load with
:func:`load_dataset`; the others are read from a local copy with
:func:`~axfusion.data.load_3dsc` or :func:`~axfusion.data.load_olympus`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from axfusion.data.builtin import BUILTIN_SPECS, load_builtin
from axfusion.data.dataset import Dataset
from axfusion.data.external import OLYMPUS_NAME_PREFIX

LIST_COLUMNS: tuple[str, ...] = (
    "name",
    "N",
    "d",
    "targets",
    "categorical",
    "shipped",
    "description",
)


@dataclass(frozen=True)
class ExternalEntry:
    r"""Metadata of a dataset that is loaded from a local copy, not shipped.

    Attributes:
        name: Name of the loaded :class:`Dataset`.
        n_rows: Rows of a default load.
        n_features: Feature columns of a default load.
        targets: Targets of a default load.
        n_categorical: Categorical feature columns.
        description: What it is and how to load it.
    """

    name: str
    n_rows: int
    n_features: int
    targets: tuple[str, ...]
    n_categorical: int
    description: str


THREE_DSC_ENTRY = ExternalEntry(
    name="3dsc",
    n_rows=9150,
    n_features=132,
    targets=("tc",),
    n_categorical=0,
    description=(
        "3DSC superconductors (ICSD-only ids file, 86,490 rows of 9,150 formulas), "
        "Magpie features, averaged per composition; load_3dsc(path)."
    ),
)

# name: (N, d, targets, categorical) of load_olympus(name, root) with default options.
_OLYMPUS: dict[str, tuple[int, int, tuple[str, ...], int]] = {
    "agnp": (164, 5, ("spectrum_score",), 0),
    "alkox": (208, 4, ("conversion",), 0),
    "autoam": (100, 4, ("shape_score",), 0),
    "benzylation": (73, 4, ("impurity",), 0),
    "buchwald_a": (792, 4, ("yield",), 4),
    "buchwald_b": (792, 4, ("yield",), 4),
    "buchwald_c": (792, 4, ("yield",), 4),
    "buchwald_d": (792, 4, ("yield",), 4),
    "buchwald_e": (792, 4, ("yield",), 4),
    "colors_bob": (241, 5, ("difference_to_green",), 0),
    "colors_n9": (102, 3, ("difference_to_green",), 0),
    "crossed_barrel": (600, 4, ("toughness",), 0),
    "dye_lasers": (3458, 3, ("peak_score", "spectral_overlap", "fluo_rate"), 3),
    "electrochem": (30, 4, ("voltage",), 2),
    "fullerenes": (246, 3, ("product",), 0),
    "hplc": (1386, 6, ("peak_area",), 0),
    "liquid_ace_100": (48, 7, ("error", "stdev"), 0),
    "liquid_dce": (215, 6, ("error",), 0),
    "liquid_hep_100": (69, 7, ("error", "stdev"), 0),
    "liquid_thf_100": (39, 7, ("error", "stdev"), 0),
    "liquid_thf_500": (67, 7, ("error", "stdev"), 0),
    "liquid_toluene": (221, 6, ("error", "stdev"), 0),
    "liquid_water": (374, 6, ("error",), 0),
    "lnp3": (768, 5, ("drug_loading", "encap_efficiency", "particle_diameter"), 5),
    "p3ht": (178, 5, ("conductivity",), 0),
    "perovskites": (192, 3, ("hse_gap",), 3),
    "photo_pce10": (1040, 4, ("degradation",), 0),
    "photo_wf3": (1040, 4, ("degradation",), 0),
    "snar": (66, 4, ("impurity",), 0),
    "suzuki": (247, 4, ("yield",), 0),
    "suzuki_edbo": (3696, 5, ("yield",), 5),
    "suzuki_i": (89, 4, ("yield", "turnover"), 1),
    "suzuki_ii": (91, 4, ("yield", "turnover"), 1),
    "suzuki_iii": (88, 4, ("yield", "turnover"), 1),
    "suzuki_iv": (88, 4, ("yield", "turnover"), 1),
    "thin_film": (94, 3, ("instability_index",), 0),
    "vapdiff_crystal": (918, 10, ("crystal_score",), 2),
}

OLYMPUS_ENTRIES: tuple[ExternalEntry, ...] = tuple(
    ExternalEntry(
        name=f"{OLYMPUS_NAME_PREFIX}{name}",
        n_rows=n_rows,
        n_features=n_features,
        targets=targets,
        n_categorical=n_categorical,
        description=f"Olympus benchmark pool {name!r}; load_olympus({name!r}, root).",
    )
    for name, (n_rows, n_features, targets, n_categorical) in _OLYMPUS.items()
)

EXTERNAL_ENTRIES: dict[str, ExternalEntry] = {
    entry.name: entry for entry in (THREE_DSC_ENTRY, *OLYMPUS_ENTRIES)
}
"""Datasets read from a local copy, by name."""


def list_datasets() -> pd.DataFrame:
    r"""Every known dataset, shipped first.

    Returns:
        One row per dataset with columns ``name``, ``N`` (rows), ``d`` (raw
        feature columns, a categorical column counting once), ``targets`` (list
        of default target names), ``categorical`` (number of categorical
        features), ``shipped`` (loadable with :func:`load_dataset`) and
        ``description``. Sizes are those of a load with default options.
    """
    rows = [
        (
            spec.name,
            spec.n_rows,
            spec.n_features,
            list(spec.targets),
            spec.n_categorical,
            True,
            spec.description,
        )
        for spec in BUILTIN_SPECS.values()
    ]
    rows += [
        (
            entry.name,
            entry.n_rows,
            entry.n_features,
            list(entry.targets),
            entry.n_categorical,
            False,
            entry.description,
        )
        for entry in EXTERNAL_ENTRIES.values()
    ]
    return pd.DataFrame(rows, columns=list(LIST_COLUMNS))


def load_dataset(name: str, **options: Any) -> Dataset:
    r"""Load a shipped dataset by name.

    Args:
        name: One of the names with ``shipped=True`` in :func:`list_datasets`.
        **options: :func:`~axfusion.data.load_csv` options to override, e.g.
            ``targets=["yield strength", "tensile strength"]``,
            ``average_duplicates=False`` or ``warn=True`` (built-ins load
            without warnings by default; their cleaning is recorded on the
            dataset and described in ``description``).

    Returns:
        The validated dataset.

    Raises:
        ValueError: Unknown name (close matches suggested) or a dataset that is
            not shipped (the message says which loader reads it).
    """
    if name in BUILTIN_SPECS:
        return load_builtin(BUILTIN_SPECS[name], **options)
    if name in EXTERNAL_ENTRIES:
        raise ValueError(
            f"Dataset {name!r} is not shipped with axfusion; "
            f"{EXTERNAL_ENTRIES[name].description}"
        )
    matches = difflib.get_close_matches(name, [*BUILTIN_SPECS, *EXTERNAL_ENTRIES], n=3)
    hint = f" Did you mean {matches}?" if matches else ""
    raise ValueError(
        f"Unknown dataset {name!r}.{hint} Shipped datasets: {sorted(BUILTIN_SPECS)}."
    )
