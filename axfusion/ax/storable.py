r"""Storage plumbing shared by axfusion's generation nodes.

Ax stores a generation node as a JSON dict (also inside its SQL tables). A class in
``CORE_ENCODER_REGISTRY`` is encoded by its registered function, and a
``SerializationMixin`` class (every ``GenerationNode`` is one) is rebuilt as
``cls(**cls.deserialize_init_args(json, ...))``. :class:`StorableNode` makes both sides
one definition: a node lists its constructor arguments in :meth:`init_args`, the
encoder registered in :mod:`axfusion.ax.registration` stores them, and
:meth:`deserialize_init_args` decodes the nested Ax objects (transition and pausing
criteria) with the registries Ax passes in. It also keeps the generator runs' fit times
floats, which SQL storage needs to match saved trials.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ax.storage.json_store.decoder import object_from_json
from ax.storage.json_store.registry import CORE_CLASS_DECODER_REGISTRY, CORE_DECODER_REGISTRY

__all__ = ["StorableNode", "encode_node"]

_AX_OBJECT_ARGS = ("transition_criteria", "pausing_criteria")


class StorableNode(ABC):
    r"""Mixin for generation nodes stored by their constructor arguments."""

    fit_time_since_gen: float  # set by Ax's ExternalGenerationNode

    @abstractmethod
    def init_args(self) -> dict[str, Any]:
        r"""The keyword arguments that rebuild this node (JSON values or Ax objects)."""

    def _gen(self, *args: Any, **kwargs: Any) -> Any:
        r"""Ax's ``ExternalGenerationNode`` resets its fit-time counter to the integer 0
        after a run, so the next run's ``fit_time`` is an ``int``; SQL storage loads it back
        as a float and then fails to match the trial it saved (its data is not saved).
        Keep the counter a float."""
        self.fit_time_since_gen = float(self.fit_time_since_gen)
        return super()._gen(*args, **kwargs)  # type: ignore[misc]

    @classmethod
    def serialize_init_args(cls, obj: Any) -> dict[str, Any]:
        return obj.init_args()

    @classmethod
    def deserialize_init_args(
        cls,
        args: dict[str, Any],
        decoder_registry: Any = None,
        class_decoder_registry: Any = None,
    ) -> dict[str, Any]:
        out = dict(args)
        out.pop("__type", None)
        for key in _AX_OBJECT_ARGS:
            if out.get(key) is not None:
                out[key] = object_from_json(
                    out[key],
                    decoder_registry=decoder_registry or CORE_DECODER_REGISTRY,
                    class_decoder_registry=class_decoder_registry or CORE_CLASS_DECODER_REGISTRY,
                )
        return out


def encode_node(node: StorableNode) -> dict[str, Any]:
    r"""The JSON dict of a node (``__type`` plus its constructor arguments)."""
    return {"__type": type(node).__name__, **node.init_args()}
