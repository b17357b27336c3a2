r"""Site decomposition of M2AX (MAX-phase) formulas into categorical M, A, X inputs.

An M2AX formula is written ``<M>2<A><X>``: two atoms of the early transition
metal ``M``, one A-group element ``A`` and one ``X`` (C or N), e.g. ``Ti2AlC``,
``Sc2SC`` (A = S) or ``Zr2TlN`` (A = Tl). Element symbols are one capital letter
optionally followed by one lower-case letter, which makes the split unique.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from axfusion.data.errors import DataValidationError
from axfusion.data.validation import MAX_REPORTED

M2AX_PATTERN = re.compile(r"^([A-Z][a-z]?)2([A-Z][a-z]?)([A-Z][a-z]?)$")
"""``<M>2<A><X>`` with one- or two-letter element symbols."""

SITE_COLUMNS: tuple[str, str, str] = ("M", "A", "X")


def _is_element(symbol: str) -> bool:
    from pymatgen.core import Element

    return Element.is_valid_symbol(symbol)


def parse_m2ax_formula(formula: str) -> tuple[str, str, str]:
    r"""Split an M2AX formula into its ``(M, A, X)`` element symbols.

    Args:
        formula: e.g. ``"Ti2AlC"``.

    Returns:
        ``("Ti", "Al", "C")`` for ``"Ti2AlC"``.

    Raises:
        DataValidationError: The formula is not of the form ``<M>2<A><X>`` or a
            symbol is not a chemical element.
    """
    match = M2AX_PATTERN.match(formula.strip()) if isinstance(formula, str) else None
    if match is None:
        raise DataValidationError(
            f"{formula!r} is not an M2AX formula of the form <M>2<A><X> (e.g. 'Ti2AlC')."
        )
    sites = match.groups()
    unknown = [s for s in sites if not _is_element(s)]
    if unknown:
        raise DataValidationError(
            f"M2AX formula {formula!r} contains unknown element symbol(s) {unknown}."
        )
    return sites[0], sites[1], sites[2]


def m2ax_sites(formulas: Sequence[str]) -> pd.DataFrame:
    r"""Site table of M2AX formulas.

    Args:
        formulas: ``n`` formulas.

    Returns:
        ``n x 3`` frame of strings with columns ``M``, ``A``, ``X``, in input order.

    Raises:
        DataValidationError: Names the formulas that are not M2AX formulas.
    """
    sites, bad = [], []
    for formula in formulas:
        try:
            sites.append(parse_m2ax_formula(formula))
        except DataValidationError:
            bad.append(formula)
    if bad:
        raise DataValidationError(
            f"{len(bad)} formula(s) are not M2AX formulas <M>2<A><X>: {bad[:MAX_REPORTED]}"
            + (" ..." if len(bad) > MAX_REPORTED else "")
        )
    return pd.DataFrame(sites, columns=list(SITE_COLUMNS))
