r"""The datasets shipped inside the package (``axfusion/data/builtin/``).

Each dataset has a folder ``builtin/<name>/`` with the source table as
``data.csv.gz`` (the original file, gzipped, content unchanged) and a
``SOURCE.md`` with its origin, licence, citation and the processing applied
here. Formula-only datasets also carry ``magpie.csv.gz``, the Magpie features of
their distinct formulas, and ``invalid_formulas.csv``, the formulas that cannot
be featurised; both are written by ``scripts/featurise_builtin.py``.

A :class:`BuiltinSpec` declares how a table becomes a dataset; every dataset is
then loaded through :func:`axfusion.data.load_csv`, the same code path as user
tables. The row and feature counts recorded in each spec are those of a load
with default options and are checked against real loads by the test suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from axfusion.data.dataset import Dataset
from axfusion.data.errors import DataValidationError
from axfusion.data.max_phases import SITE_COLUMNS, m2ax_sites
from axfusion.data.tabular import load_csv
from axfusion.data.validation import MAX_REPORTED

DATA_FILE: str = "data.csv.gz"
COMPOSITION_FEATURE_FILE: str = "magpie.csv.gz"
INVALID_FORMULA_FILE: str = "invalid_formulas.csv"
SOURCE_FILE: str = "SOURCE.md"

MAXIMIZE: str = "maximize"
MINIMIZE: str = "minimize"

LICENCE_CC_BY: str = "CC BY 4.0"
LICENCE_MIT: str = "MIT"

PVLAB_SOURCE = (
    "PV-Lab/Benchmarking (GitHub, commit 7585c517), datasets/{file}; the pools of "
    "Liang et al. 2021"
)
PVLAB_CITATION = (
    "Q. Liang et al., Benchmarking the performance of Bayesian optimization across "
    "multiple experimental materials science domains, npj Comput. Mater. 7, 188 (2021)."
)
MADML_SOURCE = (
    "madml 2.6.7 wheel (PyPI), madml/data/{file}; pre-featurised by the UW-Madison "
    "Computational Materials Group"
)
MADML_CITATION = (
    "madml 2.6.7 (UW-Madison Computational Materials Group, MIT licence), "
    "file madml/data/{file}; cite the original data source{original}."
)
MADML_LICENCE = "MIT (madml package); underlying data per the original source"
MATMINER_REEXPORT = (
    "Zhang-NJ-Lab/Datasets (GitHub, commit 02c69072), {file}: a CSV re-export of "
    "matminer's '{matminer}' dataset"
)


def builtin_root() -> Path:
    r"""Folder holding the shipped data files (``axfusion/data/builtin``)."""
    return Path(str(resources.files("axfusion.data").joinpath("builtin")))


def _add_m2ax_sites(frame: pd.DataFrame) -> pd.DataFrame:
    """Insert the M, A, X site columns parsed from ``formula``."""
    sites = m2ax_sites(frame["formula"].tolist())
    return pd.concat([frame[["formula"]], sites, frame.drop(columns=["formula"])], axis=1)


@dataclass(frozen=True)
class BuiltinSpec:
    r"""How one shipped table becomes a :class:`Dataset`.

    Attributes:
        name: Dataset name (also the folder under ``builtin/``).
        targets: Default targets.
        description: What the data is and how it is processed.
        source: Where the file comes from (short).
        citation: How to cite the data.
        licence: Licence of the data.
        n_rows: Rows of a default load.
        n_features: Feature columns ``d`` of a default load.
        orientation: Target -> ``"maximize"``/``"minimize"``.
        units: Target -> unit, where known.
        id_column: Identifier column, if any.
        features: Explicit feature columns (``None``: all columns that are not
            targets, the identifier or excluded).
        exclude: Columns that are neither features nor targets.
        categorical: Categorical feature columns.
        read_csv_kwargs: Extra :func:`pandas.read_csv` arguments.
        options: Default :func:`load_csv` options for this dataset.
        prepare: Transformation of the raw table before validation.
        formula_column: Column of chemical formulas to featurise from the
            shipped Magpie table (formula-only datasets).
        descriptor_file: Shipped table of level descriptors (columns ``component``,
            ``level`` and the descriptors), used with ``load_dataset(name,
            descriptors=True)`` instead of one-hot.
    """

    name: str
    targets: tuple[str, ...]
    description: str
    source: str
    citation: str
    licence: str
    n_rows: int
    n_features: int
    orientation: Mapping[str, str]
    units: Mapping[str, str] = field(default_factory=dict)
    id_column: str | None = None
    features: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    read_csv_kwargs: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    formula_column: str | None = None
    descriptor_file: str | None = None

    @property
    def folder(self) -> Path:
        r"""Folder of the dataset's files."""
        return builtin_root() / self.name

    @property
    def n_categorical(self) -> int:
        r"""Number of categorical feature columns."""
        return len(self.categorical)


LOADER_OPTIONS: frozenset[str] = frozenset(
    {
        "targets",
        "features",
        "drop_missing_targets",
        "average_duplicates",
        "on_duplicates",
        "drop_constant",
        "min_rows",
        "warn",
        "descriptors",
    }
)
""":func:`load_csv` options a user may override when loading a built-in dataset."""


def _join_composition_features(
    frame: pd.DataFrame, spec: BuiltinSpec
) -> tuple[pd.DataFrame, int]:
    """Attach the shipped Magpie features; drop rows whose formula cannot be featurised."""
    column = spec.formula_column
    table = pd.read_csv(spec.folder / COMPOSITION_FEATURE_FILE, index_col=0)
    invalid = set(pd.read_csv(spec.folder / INVALID_FORMULA_FILE)["formula"])
    formulas = frame[column]
    unknown = sorted(set(formulas) - set(table.index) - invalid)
    if unknown:
        raise DataValidationError(
            f"{spec.name}: the shipped Magpie table lacks formula(s) "
            f"{unknown[:MAX_REPORTED]}; "
            "regenerate it with scripts/featurise_builtin.py."
        )
    keep = ~formulas.isin(invalid).to_numpy()
    kept = frame[keep].reset_index(drop=True)
    features = table.loc[kept[column]].reset_index(drop=True)
    return pd.concat([kept, features], axis=1), int((~keep).sum())


def load_builtin(spec: BuiltinSpec, **options: Any) -> Dataset:
    r"""Load a shipped dataset through :func:`load_csv`.

    Args:
        spec: The dataset's declaration.
        **options: Overrides of the :func:`load_csv` options in
            :data:`LOADER_OPTIONS` (e.g. ``targets=[...]``, ``average_duplicates=False``).
            Requested targets may be any subset of the spec's targets (the
            others are then neither targets nor features). Built-in datasets
            load without warnings by default (``warn=False``): their cleaning is
            documented in the description and recorded in the counts; pass
            ``warn=True`` to see it.
    """
    unknown = sorted(set(options) - LOADER_OPTIONS)
    if unknown:
        raise TypeError(
            f"Unknown option(s) {unknown} for built-in dataset {spec.name!r}; "
            f"allowed: {sorted(LOADER_OPTIONS)}."
        )
    use_descriptors = bool(options.pop("descriptors", False))
    if use_descriptors and spec.descriptor_file is None:
        raise DataValidationError(f"Built-in dataset {spec.name!r} has no descriptor table.")
    frame = pd.read_csv(spec.folder / DATA_FILE, **dict(spec.read_csv_kwargs))
    if spec.prepare is not None:
        frame = spec.prepare(frame)
    n_invalid = 0
    if spec.formula_column is not None:
        frame, n_invalid = _join_composition_features(frame, spec)
    requested = options.get("targets", spec.targets)
    requested = [requested] if isinstance(requested, str) else list(requested)
    unrequested = [t for t in spec.targets if t not in requested]
    arguments: dict[str, Any] = dict(
        targets=list(spec.targets),
        features=None if spec.features is None else list(spec.features),
        id_column=spec.id_column,
        categorical=list(spec.categorical),
        exclude=[*spec.exclude, *unrequested],
        name=spec.name,
        warn=False,
        units=dict(spec.units),
        orientation=dict(spec.orientation),
        citation=spec.citation,
        licence=spec.licence,
        source=spec.source,
        description=spec.description,
        n_dropped_invalid=n_invalid,
    )
    arguments.update(spec.options)
    arguments.update(options)
    if use_descriptors:
        assert spec.descriptor_file is not None
        long = pd.read_csv(spec.folder / spec.descriptor_file)
        arguments["descriptors"] = {
            str(component): part.drop(columns=["component"]).dropna(axis=1, how="all").set_index("level")
            for component, part in long.groupby("component", sort=False)
        }
        arguments["name"] = f"{spec.name}_dft"
    return load_csv(frame, **arguments)


def _madml(
    name: str,
    file: str,
    target: str,
    *,
    n_rows: int,
    n_features: int,
    what: str,
    orientation: str = MAXIMIZE,
    unit: str | None = None,
    original: str = "",
    exclude: tuple[str, ...] = (),
    notes: str = "",
) -> BuiltinSpec:
    """Spec of one of the pre-featurised madml tables."""
    return BuiltinSpec(
        name=name,
        targets=(target,),
        description=(
            f"{what} All features are numeric elemental-property statistics "
            f"(MAST-ML/Magpie style) computed by madml; identifier columns are not "
            f"features.{notes}"
        ),
        source=MADML_SOURCE.format(file=file),
        citation=MADML_CITATION.format(
            file=file, original=f" ({original})" if original else ""
        ),
        licence=MADML_LICENCE,
        n_rows=n_rows,
        n_features=n_features,
        orientation={target: orientation},
        units={target: unit} if unit else {},
        exclude=exclude,
        options={"on_duplicates": "ignore"},
    )


_CURIE = BuiltinSpec(
    name="curie_temp",
    targets=("Tc_real", "MagnetizationDensity"),
    description=(
        "Curie temperatures of 1474 ferromagnetic compounds with 140 Magpie-style "
        "composition descriptors (Long et al. 2021; an earlier, smaller version of "
        "the fusion paper's curie_temp task). Identifier: compound (28 compound "
        "names occur twice with different descriptors). The 5 descriptors that are "
        "constant on this table (min_NpValence, min_NfValence, min_NpUnfilled, "
        "min_NfUnfilled, min_GSbandgap) are dropped, leaving 135. "
        "MagnetizationDensity is an auxiliary target with some negative values, as "
        "given."
    ),
    source=(
        "YixuanRezZhang/TMM_Bo_project (GitHub, commit f283bb41), Data/MagDTc.csv"
    ),
    citation=(
        "T. Long, N. M. Fortunato, Y. Zhang, O. Gutfleisch, H. Zhang, An accelerating "
        "approach of designing ferromagnetic materials via machine learning modeling "
        "of magnetic ground state and Curie temperature, Mater. Res. Lett. 9, 169-174 "
        "(2021)."
    ),
    licence="Apache-2.0 (code repository); no separate data licence stated",
    n_rows=1474,
    n_features=135,
    orientation={"Tc_real": MAXIMIZE, "MagnetizationDensity": MAXIMIZE},
    units={"Tc_real": "K"},
    id_column="compound",
    exclude=("No",),
)

_STEEL = BuiltinSpec(
    name="steel_strength",
    targets=("yield strength", "tensile strength", "elongation"),
    description=(
        "312 steels: 13 alloying-element contents (wt%: c, mn, si, cr, ni, mo, v, n, "
        "nb, co, w, al, ti) -> yield strength, ultimate tensile strength and "
        "elongation. Elongation is missing for 9 steels: a default load (all three "
        "targets) drops those rows (303 left); loading only "
        "targets=['yield strength', 'tensile strength'] keeps all 312. Identifier: "
        "the composition string."
    ),
    source=MATMINER_REEXPORT.format(file="steel_strength.csv", matminer="steel_strength"),
    citation=(
        "Citrine Informatics steel strength dataset, distributed with matminer: "
        "L. Ward et al., Matminer: An open source toolkit for materials data mining, "
        "Comput. Mater. Sci. 152, 60-69 (2018)."
    ),
    licence="Open (Citrine Informatics; matminer metadata lists the licence as unknown)",
    n_rows=303,
    n_features=13,
    orientation={
        "yield strength": MAXIMIZE,
        "tensile strength": MAXIMIZE,
        "elongation": MAXIMIZE,
    },
    units={"yield strength": "MPa", "tensile strength": "MPa", "elongation": "%"},
    id_column="formula",
    options={"drop_missing_targets": True},
)

_M2AX = BuiltinSpec(
    name="m2ax",
    targets=("elastic modulus", "bulk modulus", "shear modulus"),
    description=(
        "223 M2AX MAX phases (DFT): the categorical M, A and X sites, parsed from "
        "the formula (Ti2AlC -> M=Ti, A=Al, X=C; 10 M, 12 A and 2 X elements), -> "
        "Young's (elastic), bulk and shear moduli, as in the mixed-variable BO "
        "literature. The lattice parameters (a, c, d_mx, d_ma) and elastic constants "
        "(c11 ... c44) are not features. Orientation: stiffest compound (maximise)."
    ),
    source=MATMINER_REEXPORT.format(file="m2ax.csv", matminer="m2ax"),
    citation=(
        "M. F. Cover, O. Warschkow, M. M. M. Bilek, D. R. McKenzie, A comprehensive "
        "survey of M2AX phase elastic properties, J. Phys.: Condens. Matter 21, "
        "305403 (2009)."
    ),
    licence=LICENCE_CC_BY,
    n_rows=223,
    n_features=3,
    orientation={
        "elastic modulus": MAXIMIZE,
        "bulk modulus": MAXIMIZE,
        "shear modulus": MAXIMIZE,
    },
    units={"elastic modulus": "GPa", "bulk modulus": "GPa", "shear modulus": "GPa"},
    id_column="formula",
    features=SITE_COLUMNS,
    categorical=SITE_COLUMNS,
    prepare=_add_m2ax_sites,
)


def _pvlab(
    name: str,
    file: str,
    target: str,
    orientation: str,
    *,
    n_rows: int,
    n_features: int,
    what: str,
    unit: str | None = None,
    repeated: bool = False,
    read_csv_kwargs: Mapping[str, Any] | None = None,
) -> BuiltinSpec:
    """Spec of one of the five PV-Lab benchmark pools."""
    averaging = (
        " Repeated measurements of the same inputs are averaged (as in the Olympus "
        "version of the pool)."
        if repeated
        else ""
    )
    return BuiltinSpec(
        name=name,
        targets=(target,),
        description=f"{what}{averaging} Objective orientation as in Liang et al. 2021.",
        source=PVLAB_SOURCE.format(file=file),
        citation=PVLAB_CITATION,
        licence=LICENCE_MIT,
        n_rows=n_rows,
        n_features=n_features,
        orientation={target: orientation},
        units={target: unit} if unit else {},
        read_csv_kwargs=dict(read_csv_kwargs or {}),
        options={"average_duplicates": True} if repeated else {},
    )


_PVLAB = (
    _pvlab(
        "crossed_barrel",
        "Crossed barrel_dataset.csv",
        "toughness",
        MAXIMIZE,
        n_rows=600,
        n_features=4,
        what=(
            "3D-printed crossed-barrel structures (Gongora et al. 2020): number of "
            "struts n, angle theta, radius r and thickness t -> mechanical toughness; "
            "1800 measurements of 600 designs (3 replicates each)."
        ),
        repeated=True,
    ),
    _pvlab(
        "agnp",
        "AgNP_dataset.csv",
        "loss",
        MINIMIZE,
        n_rows=164,
        n_features=5,
        what=(
            "Silver-nanoparticle synthesis in microfluidics: flow-rate ratios of "
            "AgNO3, PVA, TSC, seeds and total flow -> spectral loss; 3295 "
            "measurements of 164 conditions."
        ),
        repeated=True,
    ),
    _pvlab(
        "autoam",
        "AutoAM_dataset.csv",
        "Score",
        MAXIMIZE,
        n_rows=100,
        n_features=4,
        what=(
            "Autonomous additive manufacturing (syringe extrusion): prime delay, print "
            "speed and x/y offset corrections -> print-quality score."
        ),
    ),
    _pvlab(
        "p3ht",
        "P3HT_dataset.csv",
        "Conductivity (measured) (S/cm)",
        MAXIMIZE,
        n_rows=178,
        n_features=5,
        what=(
            "P3HT/carbon-nanotube composite films: contents (%) of P3HT and four CNT "
            "types -> electrical conductivity; 233 measurements of 178 blends."
        ),
        unit="S/cm",
        repeated=True,
    ),
    _pvlab(
        "perovskite",
        "Perovskite_dataset.csv",
        "Instability index",
        MINIMIZE,
        n_rows=94,
        n_features=3,
        what=(
            "Mixed-cation lead-iodide perovskite thin films: CsPbI, FAPbI, MAPbI "
            "fractions -> instability index under degradation; 139 measurements of "
            "94 compositions. The file has a UTF-8 byte-order mark."
        ),
        repeated=True,
        read_csv_kwargs={"encoding": "utf-8-sig"},
    ),
)

_MADML = (
    _madml(
        "supercon",
        "super_cond.csv",
        "Tc",
        n_rows=6252,
        n_features=20,
        what="Superconducting critical temperature of 6252 compounds with 20 selected "
        "composition features.",
        unit="K",
        original="SuperCon database",
        exclude=("group", "mat"),
        notes=" 76 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "madml_steel_strength",
        "steel_strength.csv",
        "yield_strength",
        n_rows=312,
        n_features=14,
        what="Yield strength of 312 steels (the steels of steel_strength) with 15 "
        "composition features; valence_difference is constant and dropped.",
        unit="MPa",
        original="Citrine Informatics steel strength dataset",
        exclude=("group", "mat"),
    ),
    _madml(
        "dielectric_constant",
        "dielectric_constant_simplified.xlsx",
        "log(poly_total)",
        n_rows=1056,
        n_features=416,
        what="Polycrystalline dielectric constant (decimal log of poly_total) of 1056 "
        "compounds with 416 composition features.",
        original="I. Petousis et al., Sci. Data 4, 160134 (2017)",
        notes=" 92 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "double_perovskites_gap",
        "double_perovskites_gap.xlsx",
        "gap gllbsc",
        n_rows=1306,
        n_features=343,
        what="GLLB-SC band gap of 1306 double perovskites with 343 composition features.",
        unit="eV",
        original="G. Pilania et al., Sci. Rep. 6, 19375 (2016)",
    ),
    _madml(
        "heusler_magnetic",
        "heusler_magnetic_simplified.xlsx",
        "mu_b saturation",
        n_rows=1081,
        n_features=357,
        what="Saturation magnetic moment of 1081 Heusler compounds with 357 "
        "composition features.",
        notes=" 83 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "elastic_tensor_2015",
        "elastic_tensor_2015_simplified.xlsx",
        "log(K_VRH)",
        n_rows=1181,
        n_features=409,
        what="Voigt-Reuss-Hill bulk modulus (decimal log of K_VRH in GPa) of 1181 "
        "compounds with 409 composition features.",
        unit="log10(GPa)",
        original="M. de Jong et al., Sci. Data 2, 150009 (2015)",
        notes=" 94 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "perovskite_stability",
        "Perovskite_stability_Wei_updated_forGlenn.xlsx",
        "EnergyAboveHull",
        n_rows=1918,
        n_features=340,
        what="Energy above the convex hull of 1918 perovskite oxides with 340 "
        "composition features; lower is more stable (minimise).",
        orientation=MINIMIZE,
        unit="meV/atom",
        exclude=("Unnamed: 0",),
        notes=" 2 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "rpv_fluence",
        "fluence.csv",
        "Measured_DT41J_[C]",
        n_rows=2049,
        n_features=9,
        what="Irradiation embrittlement of reactor-pressure-vessel steels: 9 inputs "
        "(composition, temperature, fluence, flux) -> measured shift of the 41 J "
        "Charpy transition temperature; a smaller shift is better (minimise).",
        orientation=MINIMIZE,
        unit="degC",
        exclude=("group",),
        notes=" 264 rows repeat an earlier feature vector; they are kept.",
    ),
    _madml(
        "diffusion",
        "diffusion.csv",
        "E_regression",
        n_rows=408,
        n_features=25,
        what="Activation energy of dilute solute diffusion for 408 host-solute pairs "
        "with 25 site features. The source states no optimisation direction; it is "
        "maximised by the closed-pool convention.",
        unit="eV",
        exclude=("group", "mat"),
    ),
)

_AM_LPBF = BuiltinSpec(
    name="am_lpbf",
    targets=("RD (%)",),
    description=(
        "Laser powder bed fusion: 1579 prints from 86 papers; 7 numeric process and "
        "powder parameters (laser power, scan speed, hatch space, layer thickness, "
        "spot size, geometric factor, D50) and 4 categorical inputs (Material, "
        "Density Measurement Method, Atmosphere, Printed Geom.) -> relative density. "
        "Repeated prints of the same inputs (204 rows) are averaged, leaving 1375 "
        "designs. No., Printer Model and DOI are not features (No. is the identifier)."
    ),
    source=(
        "GermanOmar/data_LPBF (GitHub, commit 08162f78), dataset.xlsx sheet 'data'"
    ),
    citation=(
        "I. La Fe-Perdomo, G. O. Barrionuevo, J. A. Ramos-Grez, A dataset for modeling "
        "and optimizing the relative density of metallic alloys in laser-based powder "
        "bed fusion, Harvard Dataverse, doi:10.7910/DVN/VPBQK8 (2024)."
    ),
    licence="CC0 1.0 (Harvard Dataverse default; not verified)",
    n_rows=1375,
    n_features=11,
    orientation={"RD (%)": MAXIMIZE},
    units={"RD (%)": "%"},
    id_column="No.",
    exclude=("Printer Model", "DOI"),
    categorical=("Material", "Density Measurement Method", "Atmosphere", "Printed Geom."),
    options={"average_duplicates": True},
)

_MAGPIE_NOTE = (
    " Features: the 132 Magpie element-property statistics of the formula "
    "(matminer ElementProperty preset 'magpie'), precomputed by "
    "scripts/featurise_builtin.py; constant columns are dropped."
)

_BANDGAP = BuiltinSpec(
    name="bandgap",
    targets=("gap expt",),
    description=(
        "Experimental band gaps of 6354 inorganic compounds (Zhuo et al. 2018, full "
        "version with metals at 0 eV and repeated formulas). One formula "
        "('GaAs0.1P0.9G1128', a typo in the source) does not parse and its row is "
        "dropped. Repeated formulas and formulas with the same fractional "
        "composition share a feature vector; they are kept (pass "
        "average_duplicates=True to average them)." + _MAGPIE_NOTE
    ),
    source=MATMINER_REEXPORT.format(file="expt_gap.csv", matminer="expt_gap"),
    citation=(
        "Y. Zhuo, A. Mansouri Tehrani, J. Brgoch, Predicting the band gaps of "
        "inorganic solids by machine learning, J. Phys. Chem. Lett. 9, 1668-1673 "
        "(2018)."
    ),
    licence=LICENCE_CC_BY,
    n_rows=6353,
    n_features=132,
    orientation={"gap expt": MAXIMIZE},
    units={"gap expt": "eV"},
    id_column="formula",
    formula_column="formula",
    options={"on_duplicates": "ignore"},
)

_MATBENCH_GAP = BuiltinSpec(
    name="matbench_expt_gap",
    targets=("gap expt",),
    description=(
        "Matbench experimental band gaps: 4604 distinct compositions (the "
        "deduplicated version of Zhuo et al. 2018). Compositions with the same "
        "fractional composition share a feature vector; they are kept." + _MAGPIE_NOTE
    ),
    source=MATMINER_REEXPORT.format(
        file="matbench_expt_gap.csv", matminer="matbench_expt_gap"
    ),
    citation=(
        "A. Dunn, Q. Wang, A. Ganose, D. Dopp, A. Jain, Benchmarking materials "
        "property prediction methods: the Matbench test set and Automatminer "
        "reference algorithm, npj Comput. Mater. 6, 138 (2020); data from Y. Zhuo et "
        "al., J. Phys. Chem. Lett. 9, 1668 (2018)."
    ),
    licence=LICENCE_CC_BY,
    n_rows=4604,
    n_features=132,
    orientation={"gap expt": MAXIMIZE},
    units={"gap expt": "eV"},
    id_column="composition",
    formula_column="composition",
    options={"on_duplicates": "ignore"},
)

_OLYMPUS_SOURCE = (
    "Olympus (aspuru-guzik-group/olympus, commit 440b6b58, src/olympus/datasets/dataset_{name}/data.csv "
    "with the column names of its config.json); MIT licence"
)
_OLYMPUS_CITATION = (
    "F. Häse et al., Olympus: a benchmarking framework for noisy optimization and experiment planning, "
    "Mach. Learn.: Sci. Technol. 2, 035021 (2021); data: {original}"
)

_BUCHWALD_A = BuiltinSpec(
    name="buchwald_a",
    targets=("yield",),
    description=(
        "Buchwald-Hartwig C-N cross-couplings, case a (Y = CH, Z = CH, R = CF3; Ahneman et al. 2018): "
        "792 reactions, four categorical components as SMILES -- aryl halide (3), additive (22), "
        "base (3), ligand (4) -> yield (%). Reaction-condition benchmark of the `reactions` suite."
    ),
    source=_OLYMPUS_SOURCE.format(name="buchwald_a"),
    citation=_OLYMPUS_CITATION.format(
        original="D. T. Ahneman, J. G. Estrada, S. Lin, S. D. Dreher, A. G. Doyle, Predicting reaction "
        "performance in C-N cross-coupling using machine learning, Science 360, 186-190 (2018)"
    ),
    licence=LICENCE_MIT,
    n_rows=792,
    n_features=4,
    orientation={"yield": MAXIMIZE},
    units={"yield": "%"},
    categorical=("aryl_halide", "additive", "base", "ligand"),
)

_SUZUKI_EDBO = BuiltinSpec(
    name="suzuki_edbo",
    targets=("yield",),
    description=(
        "Suzuki-Miyaura couplings of the EDBO paper (Perera et al. 2018; Shields et al. 2021): 3696 "
        "reactions, five categorical components as SMILES -- electrophile (4), nucleophile (3), base (7), "
        "ligand (11), solvent (4) -> yield (%). With descriptors=True each component is encoded by the "
        "leading principal components of its DFT descriptors (EDBO's table, scripts/prepare_reactions.py)."
    ),
    source=_OLYMPUS_SOURCE.format(name="suzuki_edbo") + "; descriptors from descriptors_dft.csv",
    citation=_OLYMPUS_CITATION.format(
        original="D. Perera et al., A platform for automated nanomole-scale reaction screening and "
        "micromole-scale synthesis in flow, Science 359, 429-434 (2018); descriptors: B. J. Shields et al., "
        "Bayesian reaction optimization as a tool for chemical synthesis, Nature 590, 89-96 (2021)"
    ),
    licence=LICENCE_MIT,
    n_rows=3696,
    n_features=5,
    orientation={"yield": MAXIMIZE},
    units={"yield": "%"},
    categorical=("electrophile", "nucleophile", "base", "ligand", "solvent"),
    descriptor_file="descriptors.csv.gz",
)

BUILTIN_SPECS: dict[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        _CURIE,
        _STEEL,
        _M2AX,
        *_PVLAB,
        *_MADML,
        _AM_LPBF,
        _BANDGAP,
        _MATBENCH_GAP,
        _BUCHWALD_A,
        _SUZUKI_EDBO,
    )
}
"""Every shipped dataset by name."""
