r"""The fusion method's options as one flat, JSON-storable mapping.

A generation node is stored in Ax's JSON/SQL storage by its constructor arguments, so
its options must be plain JSON values. :func:`fusion_configs` turns a flat mapping into
the three config objects of :class:`~axfusion.optimizer.FusionOptimizer`:

- every field of :class:`~axfusion.optimizer.OptimizerConfig` (``families``,
  ``n_members``, ``n_box_candidates``, ``box_time_budget_s``, ``budget_iterations``,
  ``prefilter_min_rows``, ``pi_range``, ``use_structure``, ...; ``batch_size`` is the
  node's own argument);
- the scalar fields of :class:`~axfusion.acquisition.FusionConfig`
  (``calibration_size``, ``flat_factor``, ``use_model_channel``, ``use_fusion_channel``);
- the fields of :class:`~axfusion.acquisition.HypervolumeConfig`, prefixed ``hv_``
  (``hv_n_samples``, ``hv_spread_weight``, ``hv_reference_margin``, ``hv_chunk_size``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from axfusion.acquisition import FusionConfig, HypervolumeConfig
from axfusion.optimizer import OptimizerConfig

__all__ = ["FusionConfigs", "fusion_configs", "normalise_options", "valid_option_names"]

_TUPLE_FIELDS = ("families", "pi_range")
_OPTIMIZER_FIELDS = tuple(f.name for f in dataclasses.fields(OptimizerConfig) if f.name != "batch_size")
_FUSION_FIELDS = ("calibration_size", "flat_factor", "use_model_channel", "use_fusion_channel")
_HV_FIELDS = tuple(f"hv_{f.name}" for f in dataclasses.fields(HypervolumeConfig))


@dataclasses.dataclass(frozen=True)
class FusionConfigs:
    r"""The three configs built from a flat option mapping."""

    optimizer: OptimizerConfig
    fusion: FusionConfig
    hypervolume: HypervolumeConfig


def valid_option_names() -> tuple[str, ...]:
    r"""Every option name :func:`fusion_configs` accepts."""
    return _OPTIMIZER_FIELDS + _FUSION_FIELDS + _HV_FIELDS


def normalise_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    r"""Check option names and make the values JSON-friendly (tuples become lists).

    Raises:
        TypeError: naming unknown options and the valid ones.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(valid_option_names()))
    if unknown:
        raise TypeError(f"Unknown fusion options {unknown}; valid options: {sorted(valid_option_names())}.")
    out: dict[str, Any] = {}
    for key, value in options.items():
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def fusion_configs(options: Mapping[str, Any] | None, batch_size: int) -> FusionConfigs:
    r"""Build the optimizer, fusion and hypervolume configs from a flat mapping."""
    options = normalise_options(options)
    opt_kwargs: dict[str, Any] = {"batch_size": int(batch_size)}
    fusion_kwargs: dict[str, Any] = {}
    hv_kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if key in _OPTIMIZER_FIELDS:
            opt_kwargs[key] = tuple(value) if key in _TUPLE_FIELDS and value is not None else value
        elif key in _FUSION_FIELDS:
            fusion_kwargs[key] = value
        else:
            hv_kwargs[key[len("hv_"):]] = value
    return FusionConfigs(
        optimizer=OptimizerConfig(**opt_kwargs),
        fusion=FusionConfig(**fusion_kwargs),
        hypervolume=HypervolumeConfig(**hv_kwargs),
    )
