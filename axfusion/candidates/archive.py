r"""A bounded record of the trial vectors a differential-evolution run has scored.

Every trial is a candidate (docs/method.md keeps the best ``n_cand`` trial vectors, not only the
final population). The archive keeps, at any time, at most ``compact_factor · n_keep`` rows
and compacts to the best ``n_keep`` *distinct* designs whenever it grows past that, so its
memory is bounded however long the run goes.
"""

from __future__ import annotations

import numpy as np

from axfusion.candidates._validation import check_positive_int


def row_keys(codes: np.ndarray) -> np.ndarray:
    r"""One opaque, sortable key per row of ``codes`` ``(n, D)``: equal rows, equal keys.

    The rows' bytes (``-0.0`` folded into ``0.0``), which ``np.unique`` sorts faster than it
    sorts rows with ``axis=0``."""
    rows = np.ascontiguousarray(np.asarray(codes, dtype=np.float64) + 0.0)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()


def best_distinct(
    codes: np.ndarray, values: np.ndarray, order: np.ndarray, n_keep: int
) -> np.ndarray:
    r"""Indices of the best ``n_keep`` distinct rows of ``codes``.

    A design recorded several times counts once, with its largest value; equal values prefer
    the smaller ``order`` (earlier insertion).

    Args:
        codes: ``(n, D)`` design codes.
        values: ``(n,)`` objective values, larger is better.
        order: ``(n,)`` tie-breaking key, smaller first.
        n_keep: Maximum number of rows returned.

    Returns:
        ``(min(n_keep, n_distinct),)`` indices into the inputs, best first.
    """
    if codes.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    ranked = np.lexsort((order, -values))
    _, first = np.unique(row_keys(codes[ranked]), return_index=True)
    return ranked[np.sort(first)[:n_keep]]


class TrialArchive:
    r"""The best distinct trials of one run.

    Args:
        n_keep: Number of distinct designs to keep.
        compact_factor: Compact once more than ``compact_factor · n_keep`` rows are held.
    """

    def __init__(self, n_keep: int, *, compact_factor: int = 2) -> None:
        self._n_keep = check_positive_int(n_keep, "n_keep")
        self._capacity = check_positive_int(compact_factor, "compact_factor") * self._n_keep
        self._codes: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._order: list[np.ndarray] = []
        self._n_held = 0
        self._n_seen = 0

    @property
    def n_seen(self) -> int:
        r"""Trials recorded so far (duplicates included)."""
        return self._n_seen

    def add(self, codes: np.ndarray, values: np.ndarray) -> None:
        r"""Record trials: codes ``(S, D)`` and objective values ``(S,)``."""
        self._codes.append(np.array(codes, dtype=np.float64))
        self._values.append(np.array(values, dtype=np.float64))
        self._order.append(np.arange(self._n_seen, self._n_seen + values.shape[0]))
        self._n_seen += values.shape[0]
        self._n_held += values.shape[0]
        if self._n_held > self._capacity:
            self._compact()

    def _compact(self) -> None:
        codes, values, order = self._stacked()
        keep = best_distinct(codes, values, order, self._n_keep)
        self._codes, self._values, self._order = [codes[keep]], [values[keep]], [order[keep]]
        self._n_held = keep.size

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._codes:
            return np.empty((0, 0)), np.empty(0), np.empty(0, dtype=np.int64)
        codes, values = np.concatenate(self._codes), np.concatenate(self._values)
        return codes, values, np.concatenate(self._order)

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(codes (n, D), values (n,))`` of the best ``n <= n_keep`` distinct trials,
        best first."""
        self._compact()
        return self._codes[0], self._values[0]
