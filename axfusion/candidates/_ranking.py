r"""Deterministic ranking helpers: bounded top-k selection over a stream of chunks,
round-robin interleaving and per-row pseudo-random keys.

Ties are always broken by the smaller row id (or the earlier position), so that every result
is a deterministic function of its inputs, independent of how rows were split into chunks.
"""

from __future__ import annotations

import numpy as np

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def order_desc(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    r"""Permutation sorting rows by score descending, then id ascending.

    Args:
        ids: ``(n,)`` integer row ids.
        scores: ``(n,)`` float scores without NaN.

    Returns:
        ``(n,)`` permutation indices.
    """
    return np.lexsort((ids, -scores))


def top_k_indices(ids: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    r"""Indices of the ``k`` best rows, in no particular order.

    "Best" means the largest score; equal scores prefer the smaller id, so that the selection
    equals the first ``k`` entries of a full stable sort. ``O(n)``: ``np.partition`` locates
    the threshold and only the rows tied with it are sorted.

    Args:
        ids: ``(n,)`` integer row ids, distinct.
        scores: ``(n,)`` float scores without NaN.
        k: How many rows to keep (``k >= 0``).

    Returns:
        ``(min(k, n),)`` indices into the inputs.
    """
    n = scores.shape[0]
    if n <= k:
        return np.arange(n)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    threshold = np.partition(scores, n - k)[n - k]
    above = np.flatnonzero(scores > threshold)
    ties = np.flatnonzero(scores == threshold)
    ties = ties[np.argsort(ids[ties], kind="stable")[: k - above.size]]
    return np.concatenate([above, ties])


class RunningTopK:
    r"""The ``k`` best rows of a stream of chunks, with an optional payload per row.

    Rows are buffered and cut back to the best ``k`` whenever more than ``2k`` are held, so the
    memory is ``O(k + chunk)`` and each row costs ``O(1)`` amortised; nothing is sorted
    before :meth:`result`.

    Args:
        k: Number of rows to keep.
    """

    def __init__(self, k: int) -> None:
        self._k = k
        self._ids: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._payload: list[np.ndarray] = []
        self._held = 0

    def push(self, ids: np.ndarray, scores: np.ndarray, payload: np.ndarray | None = None) -> None:
        r"""Offer rows: ids ``(b,)``, scores ``(b,)`` and, optionally, a payload ``(b,)``."""
        keep = top_k_indices(ids, scores, self._k)
        self._ids.append(ids[keep])
        self._scores.append(scores[keep])
        self._payload.append(payload[keep] if payload is not None else np.empty(keep.size))
        self._held += keep.size
        if self._held > 2 * self._k:
            ids, scores, payload = self._stacked()
            keep = top_k_indices(ids, scores, self._k)
            self._ids, self._scores, self._payload = [ids[keep]], [scores[keep]], [payload[keep]]
            self._held = keep.size

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._ids:
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
        ids, scores = np.concatenate(self._ids), np.concatenate(self._scores)
        return ids, scores, np.concatenate(self._payload)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""``(ids, scores, payload)`` of the best ``min(k, rows seen)`` rows, best first."""
        ids, scores, payload = self._stacked()
        keep = top_k_indices(ids, scores, self._k)
        ids, scores, payload = ids[keep], scores[keep], payload[keep]
        order = order_desc(ids, scores)
        return ids[order], scores[order], payload[order]


def round_robin_order(groups: np.ndarray, priority: np.ndarray) -> np.ndarray:
    r"""Interleave groups by rank: every group's best row, then every group's second, ...

    Taking the first ``m`` entries of the returned order gives each group an equal share of
    ``m`` (up to one), and hands the share of a group that runs out of rows to the others.

    Args:
        groups: ``(n,)`` integer group labels.
        priority: ``(n,)`` float priorities; smaller is better within a group. Ties keep the
            input order.

    Returns:
        ``(n,)`` permutation indices, ordered by (rank within group, group label).
    """
    n = groups.shape[0]
    by_group = np.lexsort((priority, groups))
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    lengths = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, lengths)
    return by_group[np.lexsort((sorted_groups, rank))]


def row_uniforms(row_ids: np.ndarray, seed: int) -> np.ndarray:
    r"""Seeded pseudo-random numbers in ``[0, 1)`` attached to row ids.

    A SplitMix64 finaliser of ``row_id * golden_gamma + key(seed)``: the value of a row depends
    only on its id and the seed, never on which chunk the row was read in, so a bottom-k by
    these keys is a uniform random sample that is reproducible under any chunking.

    Args:
        row_ids: ``(n,)`` non-negative integer row ids.
        seed: Non-negative integer seed.

    Returns:
        ``(n,)`` float64 values in ``[0, 1)``.
    """
    key = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]
    with np.errstate(over="ignore"):
        z = row_ids.astype(np.uint64) * _GOLDEN_GAMMA + key
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (2.0**-53)
