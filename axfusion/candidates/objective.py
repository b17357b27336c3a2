r"""The stochastic landscape that differential evolution climbs in Stage 2 (box spaces).

A surrogate family is a set of bootstrap members. Its "stochastic family landscape" is, at
every evaluation, the mean prediction of a few members drawn at random without replacement
(docs/method.md: 2 per family, 4 for the pooled run over all families). The objective below wraps
such landscapes for :func:`scipy.optimize.differential_evolution` with ``vectorized=True``:
it decodes the optimiser vectors of a whole generation, predicts once, draws members,
returns the negated mean (differential evolution minimises) and hands every scored trial to
a recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from axfusion.candidates._validation import check_positive_int
from axfusion.candidates.space import SearchSpace

MemberFn = Callable[[np.ndarray], np.ndarray]
r"""Maps features ``(k, p)`` to member predictions ``(B, k)`` of the objective to maximise."""

Recorder = Callable[[np.ndarray, np.ndarray], None]
r"""Receives the codes ``(S, D)`` and objective values ``(S,)`` of every scored trial."""

Redraw = Literal["vector", "call"]


def predict_members(name: str, fn: MemberFn, features: np.ndarray) -> np.ndarray:
    r"""Call a family's member function and check its output.

    Args:
        name: Family name, for error messages.
        fn: The member function.
        features: ``(k, p)`` features.

    Returns:
        ``(B, k)`` float64 member predictions (a ``(k,)`` output counts as one member).
    """
    k = features.shape[0]
    out = np.asarray(fn(features), dtype=np.float64)
    if out.ndim == 1 and out.shape[0] == k:
        out = out[None, :]
    if out.ndim != 2 or out.shape[1] != k or out.shape[0] == 0:
        raise ValueError(
            f"members of family {name!r} must return predictions of shape (B, {k}) for "
            f"{k} points, got {out.shape}"
        )
    if not np.isfinite(out).all():
        raise ValueError(f"members of family {name!r} returned NaN or infinite predictions")
    return out


class MemberMeanObjective:
    r"""Negated mean of randomly drawn members, vectorised for differential evolution.

    Args:
        space: The search space that decodes optimiser vectors.
        families: ``(name, member_fn)`` pairs whose members are pooled into one set of
            ``B = sum_f B_f`` members (one pair for a family run, all for the pooled run).
        members_per_call: Members averaged per evaluation (``min(members_per_call, B)``).
        rng: Source of the member draws.
        redraw: ``"vector"`` draws fresh members for every trial vector -- what a scalar
            objective called once per vector does, as in the authors' code; ``"call"`` draws
            once per call, so a whole generation sees the same landscape.
        recorder: Called with the codes ``(S, D)`` and objective values ``(S,)`` (larger is
            better) of every call.
    """

    def __init__(
        self,
        space: SearchSpace,
        families: Sequence[tuple[str, MemberFn]],
        members_per_call: int,
        rng: np.random.Generator,
        *,
        redraw: Redraw = "vector",
        recorder: Recorder | None = None,
    ) -> None:
        if redraw not in ("vector", "call"):
            raise ValueError(f"redraw must be 'vector' or 'call', got {redraw!r}")
        if not families:
            raise ValueError("the objective needs at least one family of members")
        self._space = space
        self._families = tuple(families)
        self._members_per_call = check_positive_int(members_per_call, "members_per_call")
        self._rng = rng
        self._redraw = redraw
        self._recorder = recorder
        self.n_trials = 0
        r"""Number of trial vectors scored so far."""

    def __call__(self, v: np.ndarray) -> np.ndarray:
        r"""Objective for ``scipy.optimize.differential_evolution``.

        Args:
            v: ``(D, S)`` trial vectors (``vectorized=True``) or one ``(D,)`` vector.

        Returns:
            ``(S,)`` values to minimise (a scalar for a ``(D,)`` input).
        """
        v = np.asarray(v, dtype=np.float64)
        single = v.ndim == 1
        trials = v.reshape(self._space.dim, -1).T
        if trials.shape[0] == 0:
            return np.empty(0)
        codes = self._space.vectors_to_codes(trials)
        values = self.values(codes)
        self.n_trials += trials.shape[0]
        if self._recorder is not None:
            self._recorder(codes, values)
        return -values[0] if single else -values

    def values(self, codes: np.ndarray) -> np.ndarray:
        r"""Objective values ``(S,)`` (larger is better) of codes ``(S, D)``, one member draw."""
        features = self._space.codes_to_features(codes)
        preds = np.concatenate([predict_members(n, fn, features) for n, fn in self._families])
        n_members, n_points = preds.shape
        m = min(self._members_per_call, n_members)
        if self._redraw == "call":
            return preds[self._rng.choice(n_members, size=m, replace=False)].mean(axis=0)
        picks = np.argsort(self._rng.random((n_members, n_points)), axis=0)[:m]
        return np.take_along_axis(preds, picks, axis=0).mean(axis=0)
