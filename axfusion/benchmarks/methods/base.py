r"""The interface every benchmarked method implements, and the method registry.

A method drives its own loop through the task's :class:`~axfusion.benchmarks.tasks.Evaluator`
until the evaluator raises :class:`~axfusion.benchmarks.tasks.BudgetExhausted`; the runner
evaluates the shared initial design before calling :meth:`Method.run`, so ``evaluator.X``,
``evaluator.Y``, ``evaluator.loss`` (and ``evaluator.rows`` on a pool) already hold it.

Register a new method in a few lines::

    from axfusion.benchmarks.methods import Method, register_method

    class RandomRows(Method):
        name = "random_rows"
        def run(self, task, evaluator):
            rng = np.random.default_rng(evaluator.seed)
            while True:
                evaluator.evaluate(task.space.sample(task.batch_size, int(rng.integers(2**31)), "random"))

    register_method("random_rows", RandomRows)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from axfusion.benchmarks.tasks import Evaluator, Task

__all__ = [
    "Method",
    "get_method",
    "limited_threads",
    "list_methods",
    "register_method",
    "unregister_method",
]


class Method(ABC):
    r"""A benchmarked optimiser.

    Attributes:
        name: Registry name (set by subclasses).
        options: Keyword options given to :func:`get_method`.
    """

    name: str = "method"
    #: Whether :meth:`run` continues from :attr:`checkpoint` (saving after every batch).
    supports_checkpoint: bool = False

    def __init__(self, **options: Any) -> None:
        self.options = dict(options)
        #: Set by the runner when :attr:`supports_checkpoint`: a
        #: :class:`~axfusion.benchmarks.checkpoint.RunCheckpoint` whose ``resumed`` holds the
        #: state to continue from (the evaluator is already restored) and whose ``save`` the
        #: method calls after every measured batch.
        self.checkpoint: Any = None

    @abstractmethod
    def run(self, task: Task, evaluator: Evaluator) -> None:
        r"""Propose and evaluate batches until ``evaluator`` raises ``BudgetExhausted``.

        Args:
            task: The task (its ``space``, ``batch_size`` and kind).
            evaluator: Holds the evaluated initial design; the seed is ``evaluator.seed``.
        """

    def supports(self, task: Task) -> bool:
        r"""Whether the method can run ``task`` (e.g. LVGP needs categorical inputs)."""
        return True

    def diagnostics(self) -> list[dict[str, Any]]:
        r"""Per-iteration diagnostics of the last run (JSON-able dicts; empty by default)."""
        return []


@contextmanager
def limited_threads(n_threads: int = 1) -> Iterator[None]:
    r"""Cap BLAS/OpenMP (``threadpoolctl``) and torch intra-op threads at ``n_threads``.

    The previous torch thread count is restored on exit (threadpoolctl restores its own).
    """
    import torch
    from threadpoolctl import threadpool_limits

    n = max(int(n_threads), 1)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)


_METHODS: dict[str, Callable[..., Method]] = {}


def register_method(name: str, factory: Callable[..., Method], *, overwrite: bool = False) -> None:
    r"""Register ``factory(**options) -> Method`` under ``name``.

    Raises:
        ValueError: If ``name`` is taken and ``overwrite`` is false.
    """
    if name in _METHODS and not overwrite:
        raise ValueError(f"A method named {name!r} is already registered.")
    _METHODS[name] = factory


def unregister_method(name: str) -> None:
    r"""Remove a registered method."""
    if name not in _METHODS:
        raise KeyError(f"No method named {name!r}.")
    del _METHODS[name]


def get_method(name: str, **options: Any) -> Method:
    r"""A fresh method instance by name.

    Raises:
        KeyError: Naming the registered methods when ``name`` is unknown.
    """
    if name not in _METHODS:
        raise KeyError(f"Unknown method {name!r}; registered: {sorted(_METHODS)}.")
    return _METHODS[name](**options)


def list_methods() -> list[str]:
    r"""Registered method names, sorted."""
    return sorted(_METHODS)
