r"""The metaheuristics paper's task: elemental-composition design against a property model.

The paper (Zhang et al., "benchmarking 11 optimisation algorithms for elemental
composition design") maximises ``J = K - E_Fermi`` of a crystal whose elements and
composition are chosen by three design variables ``Theta = [n_atom, xi, eta]``
(``n_atom in [1, 4]`` elements, ``xi in [0, 100]`` choosing the element basis,
``eta in [0, 100]`` choosing a composition from the basis' materials library) and
scores every composition with a pretrained graph network (MEGNet). No pretrained
network can be downloaded here, so this module builds the oracle from real data
the package ships:

- **Training compositions.** The ``elastic_tensor_2015`` table (de Jong et al.'s
  DFT bulk moduli of 1,181 compounds, as featurised by madml) carries no formula
  column, only element-property statistics. Its formulas are recovered exactly
  from those statistics (:func:`elastic_tensor_compositions`): the element set
  from the minimum, maximum and arithmetic mean of the atomic number, checked
  against the arithmetic means of eight more Magpie properties (every row
  matches one element set to machine precision), and the fractions from the
  composition-weighted means by least squares, rounded to small integer ratios.
- **Oracle** (:class:`BulkModulusOracle`): a gradient-boosted tree model
  (scikit-learn ``HistGradientBoostingRegressor``, fixed seed) of
  ``log10 K_VRH`` (GPa) on the 132 Magpie features of those compositions
  (:func:`axfusion.data.featurize.featurize_formulas`). The data hold no Fermi
  energy of the compounds, so the objective is ``J = log10 K`` alone (the
  paper's ``K`` is MEGNet's ``log10 K_VRH`` too); the issue allows this.
- **Design variables** as the paper defines them (:class:`CompositionSpace`):
  ``n_atom`` picks the number of elements; ``xi`` the element basis among all
  ``C(E, n_atom)`` sets of the ``E`` elements the oracle was trained on, in
  lexicographic order of atomic numbers; ``eta`` the composition among the
  integer stoichiometries with entries ``1 .. max_coefficient`` and greatest
  common divisor 1, in lexicographic order (the paper's library is the Materials
  Project's compounds of the basis; a generated library stands in for it).
  A variable in ``[0, 100]`` selects item ``min(floor(v / 100 * m), m - 1)`` of
  a list of ``m`` items, as the paper's random numbers do.

The registered problem ``composition_bulk_modulus`` minimises ``-J`` (the
harness minimises); :func:`composition_metrics` gives the paper's metrics
(unique compositions, mean and best objective) for one run's evaluations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import numpy as np
import pandas as pd

from axfusion.benchmarks.problems import ProblemParameter, TestProblem, register_problem

__all__ = [
    "BulkModulusOracle",
    "CompositionSpace",
    "composition_metrics",
    "elastic_tensor_compositions",
    "formula_of",
    "make_composition_problem",
]

#: Properties whose arithmetic mean over the distinct elements must match to
#: accept an element set (Magpie tables as shipped with matminer).
_CHECK_PROPERTIES: tuple[str, ...] = (
    "AtomicWeight", "Column", "Row", "MendeleevNumber", "Electronegativity", "MeltingT",
    "CovalentRadius", "GSvolume_pa",
)
#: Properties whose composition-weighted means fix the fractions.
_FRACTION_PROPERTIES: tuple[str, ...] = ("Number", "AtomicWeight", "Column", "Row", "MendeleevNumber")
_MAX_ELEMENTS: int = 4
_MAX_DENOMINATOR: int = 24


@cache
def _magpie_table(prop: str) -> dict[int, float]:
    from matminer.utils.data import MagpieData
    from pymatgen.core import Element

    values = MagpieData().all_elemental_props[prop]
    out: dict[int, float] = {}
    for z in range(1, 104):
        sym = Element.from_Z(z).symbol
        if sym in values and values[sym] is not None and np.isfinite(float(values[sym])):
            out[z] = float(values[sym])
    return out


def _check_error(elements: tuple[int, ...], row: pd.Series) -> float:
    err = 0.0
    for prop in _CHECK_PROPERTIES:
        col = f"{prop}_arithmetic_average"
        table = _magpie_table(prop)
        if col not in row.index or not all(z in table for z in elements):
            return math.inf
        mean = float(np.mean([table[z] for z in elements]))
        err += abs(mean - float(row[col])) / max(abs(float(row[col])), 1e-3)
    return err


def _element_sets(zmin: int, zmax: int, mean: float) -> list[tuple[int, ...]]:
    if zmin == zmax:
        return [(zmin,)]
    out = []
    for n in range(2, _MAX_ELEMENTS + 1):
        total = n * mean - zmin - zmax
        if abs(total - round(total)) > 1e-6:
            continue
        for mid in itertools.combinations(range(zmin + 1, zmax), n - 2):
            if sum(mid) == round(total):
                out.append((zmin, *mid, zmax))
    return out


def _fractions(elements: tuple[int, ...], row: pd.Series) -> tuple[int, ...]:
    n = len(elements)
    if n == 1:
        return (1,)
    A = [np.ones(n) * 100.0]
    b = [100.0]
    for prop in _FRACTION_PROPERTIES:
        table = _magpie_table(prop)
        scale = max(abs(float(row[f"{prop}_composition_average"])), 1.0)
        A.append(np.array([table[z] for z in elements]) / scale)
        b.append(float(row[f"{prop}_composition_average"]) / scale)
    x = np.linalg.lstsq(np.vstack(A), np.array(b), rcond=None)[0]
    fr = [Fraction(float(v)).limit_denominator(_MAX_DENOMINATOR) for v in x]
    if any(f <= 0 for f in fr):
        raise ValueError(f"elastic_tensor_2015: non-positive fraction {x} for elements {elements}.")
    lcm = math.lcm(*(f.denominator for f in fr))
    ints = [int(f * lcm) for f in fr]
    g = math.gcd(*ints)
    return tuple(v // g for v in ints)


def formula_of(elements: Sequence[int], counts: Sequence[int]) -> str:
    r"""A formula string, e.g. ``formula_of((13, 8), (2, 3)) == "Al2O3"`` (elements by atomic number)."""
    from pymatgen.core import Element

    return "".join(
        f"{Element.from_Z(int(z)).symbol}{'' if int(c) == 1 else int(c)}" for z, c in zip(elements, counts)
    )


@cache
def elastic_tensor_compositions() -> pd.DataFrame:
    r"""The formulas of the ``elastic_tensor_2015`` rows, recovered from their feature statistics.

    Returns:
        ``1181 x 3`` frame with columns ``formula`` (e.g. ``"Si1Co1Nb4"`` written as
        ``"SiCoNb4"``), ``n_elements`` and ``log10_K`` (the table's target,
        ``log10 K_VRH`` in GPa), in the table's row order.

    Raises:
        ValueError: If a row matches no element set, or more than one, within the
            tolerance (the shipped table matches exactly one in every row).
    """
    from axfusion.data.builtin import builtin_root

    frame = pd.read_csv(builtin_root() / "elastic_tensor_2015" / "data.csv.gz")
    rows = []
    for i, row in frame.iterrows():
        zmin = int(round(float(row["AtomicNumber_min_value"])))
        zmax = int(round(float(row["AtomicNumber_max_value"])))
        scored = sorted(
            (_check_error(c, row), c) for c in _element_sets(zmin, zmax, float(row["AtomicNumber_arithmetic_average"]))
        )
        if not scored or scored[0][0] > 1e-6 or (len(scored) > 1 and scored[1][0] < 1e-3):
            raise ValueError(f"elastic_tensor_2015: row {i} matches {len(scored)} element sets; cannot recover it.")
        elements = scored[0][1]
        counts = _fractions(elements, row)
        rows.append((formula_of(elements, counts), len(elements), float(row["log(K_VRH)"])))
    return pd.DataFrame(rows, columns=["formula", "n_elements", "log10_K"])


class BulkModulusOracle:
    r"""``log10 K_VRH`` (GPa) of a composition, from a gradient-boosted model of real DFT data.

    Fitted once at construction on :func:`elastic_tensor_compositions` (repeated
    formulas averaged) with the 132 Magpie features; deterministic.

    Attributes:
        elements: The atomic numbers present in the training compositions, ascending.
        r2_cv: Five-fold cross-validated R² of the model on its training data.
    """

    def __init__(self, *, random_state: int = 0) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.model_selection import KFold, cross_val_score

        from axfusion.data.featurize import featurize_formulas

        data = elastic_tensor_compositions().groupby("formula", sort=True)["log10_K"].mean()
        X = featurize_formulas(list(data.index)).to_numpy()
        y = data.to_numpy()
        self._model = HistGradientBoostingRegressor(random_state=random_state, max_iter=400, learning_rate=0.05)
        self.r2_cv = float(np.mean(cross_val_score(
            self._model, X, y, cv=KFold(5, shuffle=True, random_state=random_state), scoring="r2",
        )))
        self._model.fit(X, y)
        from pymatgen.core import Composition

        self.elements: tuple[int, ...] = tuple(sorted({el.Z for f in data.index for el in Composition(f).elements}))
        self._memo: dict[str, float] = {}

    def predict(self, formulas: Sequence[str]) -> np.ndarray:
        r"""``k`` formulas -> ``k`` predicted ``log10 K_VRH`` values (memoised per formula)."""
        from axfusion.data.featurize import featurize_formulas

        new = sorted({f for f in formulas if f not in self._memo})
        if new:
            pred = self._model.predict(featurize_formulas(new).to_numpy())
            self._memo.update(zip(new, (float(v) for v in pred)))
        return np.array([self._memo[f] for f in formulas], dtype=np.float64)


@cache
def _oracle() -> BulkModulusOracle:
    return BulkModulusOracle()


def _unrank_combination(rank: int, n_items: int, k: int) -> tuple[int, ...]:
    r"""The ``rank``-th ``k``-subset of ``range(n_items)`` in lexicographic order."""
    out = []
    start = 0
    for slot in range(k):
        for item in range(start, n_items):
            block = math.comb(n_items - item - 1, k - slot - 1)
            if rank < block:
                out.append(item)
                start = item + 1
                break
            rank -= block
    return tuple(out)


@dataclass
class CompositionSpace:
    r"""The paper's parameterisation ``Theta = [n_atom, xi, eta]`` of a composition.

    Attributes:
        elements: Atomic numbers that may be chosen, ascending.
        max_elements: Largest ``n_atom``.
        max_coefficient: Largest integer in a stoichiometry.
    """

    elements: tuple[int, ...]
    max_elements: int = 4
    max_coefficient: int = 4
    _stoichiometries: dict[int, list[tuple[int, ...]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._stoichiometries = {
            n: [c for c in itertools.product(range(1, self.max_coefficient + 1), repeat=n) if math.gcd(*c) == 1]
            for n in range(1, self.max_elements + 1)
        }

    def size(self) -> int:
        r"""Number of distinct (basis, stoichiometry) designs."""
        return sum(math.comb(len(self.elements), n) * len(s) for n, s in self._stoichiometries.items())

    @staticmethod
    def _pick(value: float, m: int) -> int:
        return min(int(math.floor(float(np.clip(value, 0.0, 100.0)) / 100.0 * m)), m - 1)

    def design(self, n_atom: int, xi: float, eta: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
        r"""``(elements, counts)`` selected by one design ``(n_atom, xi, eta)``."""
        n = int(np.clip(round(n_atom), 1, self.max_elements))
        rank = self._pick(xi, math.comb(len(self.elements), n))
        basis = tuple(self.elements[i] for i in _unrank_combination(rank, len(self.elements), n))
        stoich = self._stoichiometries[n]
        return basis, stoich[self._pick(eta, len(stoich))]

    def formulas(self, V: np.ndarray) -> list[str]:
        r"""``k x 3`` designs (columns ``n_atom, xi, eta``) -> ``k`` reduced formulas."""
        V = np.asarray(V, dtype=np.float64).reshape(-1, 3)
        return [formula_of(*self.design(*row)) for row in V]


def make_composition_problem(max_coefficient: int = 4) -> TestProblem:
    r"""The composition-design problem: minimise ``-log10 K_VRH`` over ``(n_atom, xi, eta)``.

    The optimum is unknown (the design space holds about 2 x 10⁸ compositions);
    compare methods on their best and mean objective (:func:`composition_metrics`).
    """
    oracle = _oracle()
    space = CompositionSpace(oracle.elements, max_coefficient=max_coefficient)

    def negative_log_k(V: np.ndarray) -> np.ndarray:
        return -oracle.predict(space.formulas(V))

    return TestProblem(
        name="composition_bulk_modulus",
        parameters=[
            ProblemParameter("n_atom", "integer", 1, space.max_elements),
            ProblemParameter("xi", "continuous", 0.0, 100.0),
            ProblemParameter("eta", "continuous", 0.0, 100.0),
        ],
        function=negative_log_k,
        description=(
            "metaheuristics paper's composition design: -log10 K_VRH (GPa) predicted by a gradient-boosted "
            f"model of the elastic_tensor_2015 DFT data (5-fold R² {oracle.r2_cv:.2f}); Theta = [n_atom, xi, eta] "
            f"over {len(oracle.elements)} elements, stoichiometries 1..{max_coefficient}"
        ),
    )


def composition_metrics(X: np.ndarray, values: np.ndarray) -> dict[str, float]:
    r"""The paper's per-run metrics of ``k`` evaluated designs.

    Args:
        X: ``k x 3`` designs ``(n_atom, xi, eta)`` as evaluated.
        values: ``k`` values of the problem (``-J``).

    Returns:
        ``unique_compositions`` (distinct reduced formulas), ``mean_objective`` and
        ``best_objective`` (of ``J = log10 K``, GPa), and ``evaluations``.
    """
    space = CompositionSpace(_oracle().elements)
    formulas = space.formulas(X)
    J = -np.asarray(values, dtype=np.float64).reshape(-1)
    return {
        "evaluations": float(len(J)),
        "unique_compositions": float(len(set(formulas))),
        "mean_objective": float(np.mean(J)),
        "best_objective": float(np.max(J)),
    }


register_problem("composition_bulk_modulus", make_composition_problem)
