r"""Datasets, formula featurisation and input validation (no model code).

- :func:`load_dataset` / :func:`list_datasets`: the datasets shipped with axfusion;
- :func:`load_csv`: any table (file or DataFrame) -> validated :class:`Dataset`,
  the code path every loader uses;
- :func:`load_3dsc`, :func:`load_olympus`: larger datasets read from a local copy;
- :func:`featurize_formulas`: Magpie composition features of chemical formulas;
- :class:`DataValidationError`, :class:`DataWarning`: what bad input raises, and
  how cleaning actions are reported.
"""

from axfusion.data.dataset import Dataset
from axfusion.data.errors import DataValidationError, DataWarning
from axfusion.data.external import load_3dsc, load_olympus
from axfusion.data.featurize import (
    composition_feature_names,
    featurize_formulas,
    featurize_formulas_cached,
)
from axfusion.data.max_phases import m2ax_sites, parse_m2ax_formula
from axfusion.data.registry import list_datasets, load_dataset
from axfusion.data.tabular import load_csv

__all__ = [
    "DataValidationError",
    "DataWarning",
    "Dataset",
    "composition_feature_names",
    "featurize_formulas",
    "featurize_formulas_cached",
    "list_datasets",
    "load_3dsc",
    "load_csv",
    "load_dataset",
    "load_olympus",
    "m2ax_sites",
    "parse_m2ax_formula",
]
