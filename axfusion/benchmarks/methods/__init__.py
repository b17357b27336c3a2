r"""Benchmarked optimisers behind one interface (:class:`Method`) and a registry.

Importing this package registers every built-in method:

- ``fusion`` (:mod:`~axfusion.benchmarks.methods.fusion`);
- ``gpbo``, ``rfbo``, ``lvgp``, ``sobol`` -- through Ax on functions, on pools without
  Ax (:mod:`~axfusion.benchmarks.methods.ax_methods`, :mod:`~axfusion.benchmarks.methods.pool_bo`);
- ``turbo`` (:mod:`~axfusion.benchmarks.methods.turbo`), ``random``
  (:mod:`~axfusion.benchmarks.methods.random_search`), ``cmaes``
  (:mod:`~axfusion.benchmarks.methods.cmaes`);
- the metaheuristics ``ga``, ``clpso``, ``de``, ``sa``, ``gwo_woa``, ``hi_woa``, ``acor``,
  ``abc``, ``aoa``, ``run`` through mealpy (:mod:`~axfusion.benchmarks.methods.metaheuristics`);
- ``baybe``, ``baybe_rf`` through BayBE (:mod:`~axfusion.benchmarks.methods.baybe`).

Optional libraries (``cma``, ``mealpy``, ``baybe``) are imported when a run starts, so listing the
methods never needs them.
"""

from axfusion.benchmarks.methods import (  # noqa: E402  (registration on import)
    ax_methods,
    baybe,
    cmaes,
    fusion,
    metaheuristics,
    pool_bo,
    random_search,
    turbo,
)
from axfusion.benchmarks.methods.base import (
    Method,
    get_method,
    limited_threads,
    list_methods,
    register_method,
    unregister_method,
)

__all__ = [
    "Method",
    "ax_methods",
    "baybe",
    "cmaes",
    "fusion",
    "get_method",
    "limited_threads",
    "list_methods",
    "metaheuristics",
    "pool_bo",
    "random_search",
    "register_method",
    "turbo",
    "unregister_method",
]
