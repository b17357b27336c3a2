r"""Random search: uniform random points of a function's box, random rows of a pool.

- ``random`` -- :class:`RandomSearch`: on a :class:`~axfusion.benchmarks.tasks.FunctionTask`
  ``batch_size`` points drawn uniformly in ``task.space`` per iteration (discrete
  dimensions uniformly over their values); on a
  :class:`~axfusion.benchmarks.tasks.PoolTask` ``batch_size`` distinct unevaluated rows
  drawn uniformly without replacement. Seeded by ``evaluator.seed``.

Random rows are also what ``sobol`` does on a pool (a pool has no space to fill:
:mod:`axfusion.benchmarks.methods.ax_methods` dispatches ``sobol`` on pools here).

"""

from __future__ import annotations

from typing import Any

import numpy as np

from axfusion.benchmarks.methods.base import Method, limited_threads, register_method
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, PoolTask, Task

__all__ = ["RandomSearch", "random_unevaluated_rows"]


def random_unevaluated_rows(evaluated: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    r"""``min(k, available)`` distinct unevaluated row ids drawn uniformly.

    Args:
        evaluated: ``N`` booleans, evaluated rows.
        k: Rows wanted.
        rng: The generator.
    """
    free = np.flatnonzero(~np.asarray(evaluated, dtype=bool))
    return rng.choice(free, size=min(int(k), free.size), replace=False).astype(np.int64)


class RandomSearch(Method):
    r"""Uniform random search (points of a box, or rows of a pool).

    Options:
        n_threads: Thread cap inside :meth:`run` (default 1).
    """

    name = "random"

    def __init__(self, n_threads: int = 1, **options: Any) -> None:
        if options:
            raise TypeError(f"random: unknown options {sorted(options)}; its options are ['n_threads'].")
        super().__init__(n_threads=n_threads)
        self.n_threads = int(n_threads)

    def run(self, task: Task, evaluator: Evaluator) -> None:
        # Separate streams for the method and the initial design drawn from the same seed.
        rng = np.random.default_rng([evaluator.seed, 0x52414E44])
        with limited_threads(self.n_threads):
            evaluator.tick()
            while True:
                if isinstance(task, PoolTask):
                    rows = random_unevaluated_rows(evaluator.evaluated_mask, task.batch_size, rng)
                    if rows.size == 0:
                        raise BudgetExhausted(f"Pool {task.name!r} has no unevaluated row left.")
                    evaluator.evaluate_rows(rows)
                else:
                    seed = int(rng.integers(2**31 - 1))
                    evaluator.evaluate(task.space.sample(task.batch_size, seed, "random"))


register_method("random", RandomSearch)
