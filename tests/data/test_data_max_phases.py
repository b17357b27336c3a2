from __future__ import annotations

import pytest

from axfusion.data import DataValidationError, m2ax_sites, parse_m2ax_formula


@pytest.mark.parametrize(
    "formula, sites",
    [
        ("Ti2AlC", ("Ti", "Al", "C")),
        ("V2PC", ("V", "P", "C")),
        ("Sc2SC", ("Sc", "S", "C")),
        ("Cr2GaN", ("Cr", "Ga", "N")),
        ("Nb2InC", ("Nb", "In", "C")),
        ("Hf2SnN", ("Hf", "Sn", "N")),
        ("W2TlC", ("W", "Tl", "C")),
        ("Mo2PbN", ("Mo", "Pb", "N")),
    ],
)
def test_parse_one_and_two_letter_sites(formula, sites):
    assert parse_m2ax_formula(formula) == sites


@pytest.mark.parametrize("formula", ["Ti3AlC2", "TiAlC", "Ti2AlCN", "Xy2AlC", "ti2AlC", ""])
def test_reject_non_m2ax_formulas(formula):
    with pytest.raises(DataValidationError, match="M2AX"):
        parse_m2ax_formula(formula)


def test_site_table_names_bad_formulas():
    table = m2ax_sites(["Ti2AlC", "Zr2SN"])
    assert table.to_dict("list") == {"M": ["Ti", "Zr"], "A": ["Al", "S"], "X": ["C", "N"]}
    with pytest.raises(DataValidationError, match=r"1 formula.*'Ti3SiC2'"):
        m2ax_sites(["Ti2AlC", "Ti3SiC2"])
