r"""How often the categorical levels of a candidate have been measured.

A closed pool's categorical columns reach the members as fixed-scale features (one-hot
indicators, or a level's descriptors; :mod:`axfusion.data.encoding`). A level that no
evaluated design has is invisible to the surrogates: a tree cannot split on an indicator that
is 0 on every training row, a linear member gives it no weight, and the distance from a
candidate with that level to the nearest evaluated design is no larger than the distance
between two measured levels (two indicators differ either way). The reservoir then predicts
a never-measured reagent like an average one, with an average spread, and a batch can pass
it by for many iterations -- while the best rows of a reaction pool often share one
additive, ligand or solvent.

A random-effects view says what the spread of such a level should be. With a level effect of
prior variance ``tau^2`` and measurements of noise variance ``s^2``, the posterior variance
of the effect after ``n`` measurements at that level is ``tau^2 / (1 + n tau^2 / s^2)``;
taking ``tau^2 = s^2`` (the level's effect is as uncertain as one measurement), the share of
the prior variance left is ``1 / (1 + n)``: all of it for a level never measured, half after
one measurement. :func:`level_reach` returns this share for the candidate's *rarest* level
(the categorical column whose value the fewest evaluated designs share), and
:meth:`~axfusion.acquisition.FusionAcquisition.exploration` adds it to the reach of the
distance rule: ``reach = 1 - (1 - reach_distance) (1 - reach_level)``.

Counting works per fixed-scale column, so it needs no record of which columns belong to
which categorical input: for one-hot indicators the rarest column of a candidate is its
own level's indicator (or, for a level shared by almost every evaluated design, the zeros of
another level's indicator, also rare), and for descriptors a column's value is shared by
the levels with that descriptor value (for fingerprint bits: a candidate with a
substructure no evaluated design has counts 0).

Shapes: ``n`` evaluated designs, ``k`` candidates, ``d`` member-space inputs, ``J`` fixed-
scale (categorical) columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["count_chosen", "level_counts", "level_reach", "unmeasured_levels"]

#: Decimals values are rounded to before they are compared (member-space values of one
#: level are computed by the same arithmetic, so equal levels agree far beyond this).
DECIMALS = 9


def level_counts(Z_train: np.ndarray, Z: np.ndarray, columns: Sequence[int] | np.ndarray) -> np.ndarray:
    r"""``k x J``: for each candidate and each of the ``J`` ``columns``, how many of the ``n``
    evaluated designs (``Z_train``, ``n x d``) have the candidate's value (``Z``, ``k x d``)
    in that column."""
    cols = np.asarray(columns, dtype=np.int64).reshape(-1)
    out = np.zeros((Z.shape[0], cols.size))
    for i, j in enumerate(cols):
        values, counts = np.unique(np.round(Z_train[:, j], DECIMALS), return_counts=True)
        z = np.round(Z[:, j], DECIMALS)
        if not values.size:
            continue
        pos = np.clip(np.searchsorted(values, z), 0, values.size - 1)
        out[:, i] = np.where(values[pos] == z, counts[pos], 0)
    return out


def count_chosen(counts: np.ndarray, Z: np.ndarray, columns: Sequence[int] | np.ndarray, row: int) -> np.ndarray:
    r"""``counts`` (``k x J``) once candidate ``row`` is in the batch: every candidate sharing
    its value in a column counts it as one more measurement there (a kriging believer for
    levels: the next exploration slot looks for another rare level)."""
    cols = np.asarray(columns, dtype=np.int64).reshape(-1)
    Zc = np.round(Z[:, cols], DECIMALS)
    return counts + (Zc == Zc[row][None, :])


def level_reach(counts: np.ndarray) -> np.ndarray:
    r"""``k`` shares in ``[0, 1]``: ``1 / (1 + n_min)``, ``n_min`` the count of the candidate's
    rarest value over the ``J`` columns (``k x J`` counts; ``J = 0``: zeros)."""
    if counts.shape[1] == 0:
        return np.zeros(counts.shape[0])
    return 1.0 / (1.0 + counts.min(axis=1))


def unmeasured_levels(
    counts: np.ndarray, Z: np.ndarray, columns: Sequence[int] | np.ndarray, limit: int, free: np.ndarray | None = None
) -> int:
    r"""How many never-measured levels the candidates hold, counted as the exploration slots
    would try them, at most ``limit``: while a (``free``) candidate has a value no evaluated
    design has (a count of 0 in some column), one level more, and that candidate's levels
    count as measured (:func:`count_chosen`). A level described by ``p`` descriptor columns
    counts once. ``counts``: ``k x J`` (:func:`level_counts`); ``free``: ``k`` flags of the
    candidates a slot may take (default all)."""
    seen = np.asarray(counts, dtype=np.float64)
    if seen.shape[1] == 0 or limit <= 0:
        return 0
    ok = np.ones(seen.shape[0], dtype=bool) if free is None else np.asarray(free, dtype=bool)
    n = 0
    while n < limit:
        new = ok & (seen.min(axis=1) == 0)
        if not new.any():
            break
        seen = count_chosen(seen, Z, columns, int(np.flatnonzero(new)[0]))
        n += 1
    return n
