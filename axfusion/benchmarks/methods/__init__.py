r"""Benchmarked optimisers behind one interface (:class:`Method`) and a registry."""

from axfusion.benchmarks.methods.base import (
    Method,
    get_method,
    list_methods,
    register_method,
    unregister_method,
)

__all__ = ["Method", "get_method", "list_methods", "register_method", "unregister_method"]
