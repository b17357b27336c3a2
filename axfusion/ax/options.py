r"""The fusion method's options in Ax: a preset plus flat, JSON-storable options.

A generation node is stored in Ax's JSON/SQL storage by its constructor arguments, so its
options must be plain JSON values. :func:`node_settings` turns a preset name
(``"default"``, ``"paper"``, ``"authors_code"``) and a flat mapping of options -- any option
of :class:`~axfusion.settings.Settings` by dotted path (``"stage3.fusion.kalman.channels"``),
unique name (``"n_members"``) or earlier flat name (``"n_box_candidates"``,
``"hv_n_samples"``) -- into the settings tree; ``batch_size`` is the node's own argument.
The node stores the resulting tree whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from axfusion.settings import LEGACY_NAMES, Settings, SettingsError, preset, resolve_option

__all__ = ["node_settings", "normalise_options", "valid_option_names"]

_LOOP_OWNED = ("loop.batch_size",)


def valid_option_names() -> tuple[str, ...]:
    r"""Every option name the node accepts: the settings tree's dotted paths and the
    earlier flat names (unique last names of the paths are accepted too)."""
    paths = tuple(p for p in Settings.option_paths() if p not in _LOOP_OWNED)
    return paths + tuple(sorted(LEGACY_NAMES))


def normalise_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    r"""Check option names and make the values JSON-friendly (tuples become lists).

    Raises:
        TypeError: naming an unknown or ambiguous option (and where to look).
    """
    out: dict[str, Any] = {}
    for key, value in dict(options or {}).items():
        try:
            path = resolve_option(str(key))
        except SettingsError as err:
            raise TypeError(f"Unknown fusion option: {err}") from err
        if path in _LOOP_OWNED:
            raise TypeError("batch_size is the node's own argument, not a fusion option.")
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def node_settings(name: str, options: Mapping[str, Any] | None, batch_size: int) -> Settings:
    r"""The settings tree of preset ``name`` with ``options`` and the node's ``batch_size``."""
    return preset(name, {**normalise_options(options), "loop.batch_size": int(batch_size)})
