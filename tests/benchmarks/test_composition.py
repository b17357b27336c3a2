r"""Tests of axfusion.benchmarks.composition (the metaheuristics paper's composition design)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from axfusion.benchmarks.composition import (
    CompositionSpace,
    _unrank_combination,
    composition_metrics,
    elastic_tensor_compositions,
    formula_of,
)


def test_unranking_follows_the_lexicographic_order_of_combinations():
    for n_items, k in ((6, 1), (6, 2), (7, 3), (5, 5)):
        expected = list(itertools.combinations(range(n_items), k))
        assert [_unrank_combination(r, n_items, k) for r in range(len(expected))] == expected


def test_design_variables_select_basis_and_stoichiometry_as_the_paper_does():
    space = CompositionSpace((1, 6, 7, 8, 26), max_elements=3, max_coefficient=3)
    # xi = 0 -> the first basis, xi = 100 -> the last; eta likewise over the stoichiometries.
    assert space.design(2, 0.0, 0.0) == ((1, 6), (1, 1))
    assert space.design(2, 100.0, 100.0) == ((8, 26), (3, 2))
    assert space.design(1, 50.0, 99.0) == ((7,), (1,))  # 5 bases: floor(0.5 * 5) = 2
    # out-of-range values are clipped; n_atom is rounded
    assert space.design(2.4, -3.0, 250.0) == space.design(2, 0.0, 100.0)
    # gcd-1 stoichiometries only: (2, 2) never appears
    stoich = {space.design(2, 10.0, e)[1] for e in np.linspace(0, 100, 400)}
    assert (2, 2) not in stoich and len(stoich) == 7
    per_n = {1: 1, 2: 7, 3: 25}
    assert space.size() == sum(math.comb(5, n) * per_n[n] for n in per_n)
    assert space.formulas(np.array([[2, 0.0, 0.0], [3, 100.0, 0.0]])) == ["HC", "NOFe"]


def test_formula_strings():
    assert formula_of((13, 8), (2, 3)) == "Al2O3"
    assert formula_of((26,), (1,)) == "Fe"


def test_every_elastic_tensor_row_is_recovered_with_its_bulk_modulus():
    frame = elastic_tensor_compositions()
    assert len(frame) == 1181
    assert frame["n_elements"].between(1, 4).all()
    # the table's first rows, checked by hand against their feature statistics
    assert list(frame["formula"][:4]) == ["SiCoNb4", "AlSi2Co2", "SiOs", "Ga"]
    assert frame["log10_K"].between(0.8, 2.65).all()


def test_the_oracle_is_accurate_and_the_problem_deterministic():
    from axfusion.benchmarks import get_problem

    problem = get_problem("composition_bulk_modulus")
    V = np.array([[1, 0.0, 0.0], [2, 37.5, 60.0], [4, 99.9, 12.0]])
    first = problem.evaluate(V)
    assert np.array_equal(first, problem.evaluate(V))
    assert np.all((-first > 0.5) & (-first < 3.0))  # log10 K in GPa
    assert "R² 0.9" in problem.description or "R² 0.8" in problem.description
    m = composition_metrics(np.vstack([V, V[:1]]), np.append(first, first[0]))
    assert m["unique_compositions"] == 3 and m["evaluations"] == 4
    assert m["best_objective"] == pytest.approx(-first.min())


def test_the_composition_suite_runs_the_papers_methods():
    from axfusion.benchmarks.methods import list_methods
    from axfusion.benchmarks.suites import get_suite, get_task

    suite = get_suite("composition")
    assert suite.tasks == ("composition_design",)
    assert {"fusion", "gpbo", "run", "ga", "random"} <= set(suite.default_methods) <= set(list_methods())
    spec = get_task("composition_design")
    assert (spec.n_initial, spec.batch_size, spec.n_iterations) == (10, 10, 20)


def test_the_metrics_script_reads_a_benchmark_folder(tmp_path, capsys, quiet_single_thread, load_script):
    import json

    from axfusion.benchmarks.runner import run_benchmark

    run_benchmark(["composition_design"], ["random", "sa"], [0, 1], tmp_path / "bench", progress=False,
                  n_iterations=2, batch_size=4, n_initial=4)
    module = load_script("composition_metrics")
    out, fig = tmp_path / "metrics.json", tmp_path / "best.png"
    assert module.main([str(tmp_path / "bench"), "--out", str(out), "--figure", str(fig)]) == 0
    data = json.loads(out.read_text())
    assert set(data["summary"]) == {"random", "sa"}
    for runs in data["runs"].values():
        assert [r["seed"] for r in runs] == [0, 1]
        for r in runs:
            assert r["evaluations"] == 12 and 1 <= r["unique_compositions"] <= 12
            assert r["best_objective"] == pytest.approx(max(r["best_so_far"]), abs=1e-5)
            assert r["best_objective"] >= r["mean_objective"]
            assert r["best_after_0"] <= r["best_after_5"] == r["best_objective"]
    # the best J of any run is reached by at least that run; the others count as budget + 1
    assert sum(s["reached_top"] for s in data["summary"].values()) >= 1
    reach = [r["evaluations_to_top"] for runs in data["runs"].values() for r in runs]
    assert any(v is not None and 1 <= v <= 12 for v in reach)
    assert fig.stat().st_size > 0
    assert "| random | 2 |" in capsys.readouterr().out
