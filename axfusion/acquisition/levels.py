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

The share ``1 / (1 + n)`` assumes every input's levels differ by about one measurement's
noise. :func:`level_effect_variance` estimates both per categorical input instead, from the
evaluated designs (a one-way random-effects model, ANOVA moments): an input whose measured
levels differ widely (the additive of a Buchwald-Hartwig pool) gives its unmeasured levels a
large variance, one whose levels do not differ gives none. ``stage3.fusion.level_spread``
adds that variance to every family's (:meth:`~axfusion.acquisition.FusionAcquisition.level_variance`),
so that the fused picks see it too, as expected improvement sees a Gaussian process's
variance at an unmeasured level.

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

__all__ = [
    "count_chosen",
    "level_codes",
    "level_codes_of",
    "level_counts",
    "level_effect_variance",
    "level_reach",
    "unmeasured_levels",
]

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


def level_codes(X: np.ndarray, columns: Sequence[int] | np.ndarray, max_share: float) -> np.ndarray:
    r"""``(k, J)`` codes of the candidates' values in the ``J`` categorical ``columns`` of
    ``X`` (``k x d``; one-hot indicators or descriptors), ``-1`` for a value held by
    ``max_share`` of the candidates or more (a one-hot column's zeros; a level common enough
    that a batch may hold it often)."""
    cols = np.asarray(columns, dtype=np.int64).reshape(-1)
    out = np.full((X.shape[0], cols.size), -1, dtype=np.int64)
    for i, j in enumerate(cols):
        values, inverse, counts = np.unique(np.round(X[:, j], DECIMALS), return_inverse=True, return_counts=True)
        rare = counts < max_share * X.shape[0]
        out[:, i] = np.where(rare[inverse], inverse, -1)
    return out


def level_codes_of(Z_train: np.ndarray, Z: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(n, k)`` integer level codes of the evaluated designs and the candidates in the
    ``columns`` of one categorical input (its one-hot indicators or descriptors): equal
    values (to :data:`DECIMALS`) share a code."""
    both = np.round(np.vstack([Z_train[:, columns], Z[:, columns]]), DECIMALS)
    codes = np.unique(both, axis=0, return_inverse=True)[1].reshape(-1)
    return codes[: Z_train.shape[0]], codes[Z_train.shape[0] :]


def level_effect_variance(
    Z_train: np.ndarray, Y: np.ndarray, Z: np.ndarray, groups: Sequence[np.ndarray]
) -> np.ndarray:
    r"""``k x m``: the posterior variance of the candidates' level effects, summed over the
    categorical inputs, under a one-way random-effects model fitted per input and target.

    For an input with ``L >= 2`` measured levels (``n_l`` designs each, ``N`` in all) the
    effect variance ``tau^2`` and the noise ``s^2`` are the method-of-moments (ANOVA)
    estimates: ``s^2 = MSW``, ``tau^2 = max(0, (MSB - MSW) / n_0)``,
    ``n_0 = (N - sum n_l^2 / N) / (L - 1)``. A candidate whose level ``n`` designs share
    gets ``tau^2 / (1 + n tau^2 / s^2)``: all of ``tau^2`` for a level never measured, less
    the more often it was measured; an input whose measured levels do not differ adds
    nothing. With fewer than two measured levels (or no replicate to estimate ``s^2``)
    the effects cannot be told from the noise: ``tau^2 = s^2 = Var(y) / 2``.

    Args:
        Z_train: ``n x d`` evaluated designs (member space).
        Y: ``n x m`` their targets (oriented, standardised).
        Z: ``k x d`` candidates.
        groups: Per categorical input, the indices of its columns.
    """
    Y = np.asarray(Y, dtype=np.float64).reshape(Z_train.shape[0], -1)
    out = np.zeros((Z.shape[0], Y.shape[1]))
    if Z_train.shape[0] < 2:
        return out
    for cols in groups:
        train, cand = level_codes_of(Z_train, Z, np.asarray(cols, dtype=np.int64))
        counts = np.bincount(train, minlength=int(max(train.max(), cand.max())) + 1)
        n = counts[cand].astype(np.float64)  # 0 for a level no evaluated design has
        n_l = counts[counts > 0]
        N, L = train.size, n_l.size
        for t in range(Y.shape[1]):
            y = Y[:, t]
            if L >= 2 and N > L:
                means = np.bincount(train, weights=y, minlength=counts.size) / np.maximum(counts, 1)
                msw = float(np.sum((y - means[train]) ** 2) / (N - L))
                msb = float(np.sum(n_l * (means[counts > 0] - y.mean()) ** 2) / (L - 1))
                n0 = (N - float(np.sum(n_l**2)) / N) / (L - 1)
                tau2, s2 = max(0.0, (msb - msw) / n0), msw
            else:
                tau2 = s2 = float(np.var(y, ddof=1)) / 2.0
            if tau2 <= 0:
                continue
            out[:, t] += tau2 / (1.0 + n * tau2 / s2) if s2 > 0 else np.where(n > 0, 0.0, tau2)
    return out
