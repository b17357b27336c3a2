r"""Benchmark test problems for head-to-head optimiser comparisons.

- :mod:`axfusion.benchmarks.problems` -- :class:`ProblemParameter`,
  :class:`TestProblem` and the registry (:func:`register_problem`,
  :func:`get_problem`, :func:`list_problems`);
- :mod:`axfusion.benchmarks.synthetic` -- the fusion paper's Ackley,
  Rastrigin (optionally shifted and rotated) and Schwefel;
- :mod:`axfusion.benchmarks.mixed` -- the LVGP-vs-Lolo paper's
  mixed-variable functions;
- :mod:`axfusion.benchmarks.composition` -- the metaheuristics paper's
  elemental-composition design against a bulk-modulus model.

Importing this package registers the built-in problems::

    from axfusion.benchmarks import get_problem
    problem = get_problem("ackley", dim=20, shift=True, rotate=True, seed=3)
    y = problem.evaluate(X)  # X: (k, 20) array or DataFrame -> (k,)
"""

from axfusion.benchmarks import composition, mixed, synthetic
from axfusion.benchmarks.problems import (
    ProblemParameter,
    TestProblem,
    get_problem,
    list_problems,
    register_problem,
    unregister_problem,
)

__all__ = [
    "ProblemParameter",
    "TestProblem",
    "composition",
    "get_problem",
    "list_problems",
    "mixed",
    "register_problem",
    "synthetic",
    "unregister_problem",
]
