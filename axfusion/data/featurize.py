r"""Composition features from chemical formulas (Magpie element-property statistics).

Formulas are parsed with :class:`pymatgen.core.Composition` (strict: unknown
element symbols are rejected) and featurised with matminer's
:class:`~matminer.featurizers.composition.ElementProperty` using its ``"magpie"``
preset: 22 elemental properties x 6 statistics (minimum, maximum, range, mean,
average deviation, mode) = 132 columns named as matminer names them, e.g.
``"MagpieData mean Number"``. The element tables ship with matminer, so this
works offline. Features depend only on the fractional composition, so
``"Fe2O3"`` and ``"Fe4O6"`` get identical rows.

Reference: L. Ward, A. Agrawal, A. Choudhary, C. Wolverton, "A general-purpose
machine learning framework for predicting properties of inorganic materials",
npj Comput. Mater. 2, 16028 (2016).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from axfusion.data.cache import cached_frame, content_hash
from axfusion.data.errors import DataValidationError
from axfusion.data.validation import MAX_REPORTED

MAGPIE_PRESET: str = "magpie"
"""matminer ``ElementProperty`` preset used for composition features."""

FORMULA_INDEX_NAME: str = "formula"
"""Name of the index of the frame returned by :func:`featurize_formulas`."""

InvalidPolicy = Literal["raise", "drop"]


@cache
def _element_property(preset: str, impute_nan: bool):
    """The matminer featuriser (imported lazily: matminer is slow to import)."""
    from matminer.featurizers.composition import ElementProperty

    return ElementProperty.from_preset(preset, impute_nan=impute_nan)


def composition_feature_names(preset: str = MAGPIE_PRESET) -> list[str]:
    r"""Column names produced by :func:`featurize_formulas` for ``preset`` (132 for Magpie)."""
    return list(_element_property(preset, False).feature_labels())


def featuriser_signature(preset: str = MAGPIE_PRESET, impute_nan: bool = False) -> str:
    r"""Text identifying the featuriser and its version, used in cache keys."""
    import matminer
    import pymatgen.core

    return (
        f"matminer={matminer.__version__};pymatgen={pymatgen.core.__version__};"
        f"ElementProperty preset={preset};impute_nan={impute_nan}"
    )


def _featurize_one(formula: object, preset: str, impute_nan: bool) -> np.ndarray | str:
    """Feature vector of one formula, or the reason it cannot be featurised."""
    from pymatgen.core import Composition

    if not isinstance(formula, str) or not formula.strip():
        return "not a non-empty string"
    try:
        composition = Composition(formula, strict=True)
    except Exception as error:  # pymatgen raises ValueError, KeyError, ...
        return f"does not parse ({type(error).__name__}: {error})"
    if composition.num_atoms <= 0:
        return "has no atoms"
    featurizer = _element_property(preset, impute_nan)
    values = np.asarray(featurizer.featurize(composition), dtype=np.float64)
    if not np.isfinite(values).all():
        lacking = sorted(
            str(element)
            for element in composition.elements
            if not np.isfinite(
                np.asarray(featurizer.featurize(Composition(str(element))), dtype=np.float64)
            ).all()
        )
        return (
            f"has element(s) without complete {preset} data ({', '.join(lacking)}); "
            "pass impute_nan=True to impute them"
        )
    return values


def featurize_formulas(
    formulas: Sequence[str],
    *,
    preset: str = MAGPIE_PRESET,
    impute_nan: bool = False,
    on_invalid: InvalidPolicy = "raise",
    progress: bool = False,
) -> pd.DataFrame:
    r"""Magpie composition features of chemical formulas.

    Each distinct formula is featurised once.

    Args:
        formulas: ``n`` formulas such as ``"Fe2O3"``, ``"Ba0.4K0.6Fe2As2"`` or
            ``"Ag(AuS)2"``.
        preset: matminer ``ElementProperty`` preset.
        impute_nan: Let matminer impute element properties it lacks (e.g. for
            noble gases) instead of treating such formulas as invalid.
        on_invalid: ``"raise"`` (default) raises on any formula that does not
            parse or cannot be featurised; ``"drop"`` leaves those formulas out of
            the result (compare its index with the input to find them).
        progress: Show a progress bar (tqdm).

    Returns:
        ``n x p`` ``float64`` frame (``p = 132`` for Magpie), one row per input
        formula in input order (duplicates repeated), indexed by the formula
        strings as given. Statistics of elemental properties, in the units of
        matminer's Magpie tables.

    Raises:
        DataValidationError: Names the formulas that do not parse (with the
            parser's reason) when ``on_invalid="raise"``.
    """
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}.")
    if isinstance(formulas, str):
        raise TypeError("formulas must be a sequence of strings, not a single string.")
    formulas = list(formulas)
    unique = list(dict.fromkeys(formulas))
    iterator = unique
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(unique, desc="featurising formulas", unit="formula")
    rows: dict[object, np.ndarray] = {}
    failures: dict[object, str] = {}
    for formula in iterator:
        result = _featurize_one(formula, preset, impute_nan)
        if isinstance(result, str):
            failures[formula] = result
        else:
            rows[formula] = result
    if failures and on_invalid == "raise":
        shown = list(failures.items())[:MAX_REPORTED]
        listed = "; ".join(f"{formula!r} {why}" for formula, why in shown)
        n_more = len(failures) - len(shown)
        more = f"; and {n_more} more" if n_more else ""
        raise DataValidationError(
            f"{len(failures)} formula(s) cannot be featurised: {listed}{more}."
        )
    kept = [f for f in formulas if f in rows]
    columns = composition_feature_names(preset)
    values = (
        np.vstack([rows[f] for f in kept]) if kept else np.zeros((0, len(columns)))
    )
    index = pd.Index(kept, name=FORMULA_INDEX_NAME, dtype=object)
    return pd.DataFrame(values, index=index, columns=columns)


COMPOSITION_CACHE_NAMESPACE: str = "composition_features"
"""Sub-directory of the axfusion cache holding featurised formula tables."""


def featurize_formulas_cached(
    formulas: Sequence[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    preset: str = MAGPIE_PRESET,
    impute_nan: bool = False,
    progress: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    r"""Featurise the distinct formulas once and cache the table on disk.

    The cache key is a SHA-256 hash of the sorted distinct formulas and of the
    featuriser and its version (:func:`featuriser_signature`), so a changed
    formula list or library version makes a new entry.

    Args:
        formulas: Formulas, possibly repeated.
        cache_dir: Cache directory; default ``$AXFUSION_CACHE`` or
            ``~/.cache/axfusion`` (see :func:`axfusion.data.cache.resolve_cache_dir`).
        preset: matminer ``ElementProperty`` preset.
        impute_nan: See :func:`featurize_formulas`.
        progress: Show a progress bar while featurising on a cache miss.

    Returns:
        ``(table, invalid)``: ``table`` is ``u x p`` ``float64``, one row per
        distinct featurisable formula, indexed by formula in sorted order;
        ``invalid`` lists the distinct formulas that could not be featurised.
    """
    unique = sorted({str(f) for f in formulas})
    key = content_hash(featuriser_signature(preset, impute_nan), *unique)
    table = cached_frame(
        key,
        lambda: featurize_formulas(
            unique, preset=preset, impute_nan=impute_nan, on_invalid="drop", progress=progress
        ),
        namespace=COMPOSITION_CACHE_NAMESPACE,
        cache_dir=cache_dir,
    )
    present = set(table.index)
    return table, [f for f in unique if f not in present]
