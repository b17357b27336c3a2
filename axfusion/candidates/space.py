r"""A box search space of continuous, integer and categorical parameters.

Representations of ``k`` designs (see :mod:`axfusion.candidates.parameters` for each
parameter's part; ``D`` = number of parameters, ``p`` = number of model features):

- raw -- a ``pandas.DataFrame`` with one column per parameter (categoricals hold the exact
  level objects, integers are ``int64``);
- codes -- ``(k, D)`` float64, the canonical numeric form used internally;
- features -- ``(k, p)`` float64 for the surrogate models, categoricals one-hot
  (:attr:`SearchSpace.feature_names`);
- vectors -- ``(k, D)`` float64 for differential evolution inside :attr:`SearchSpace.bounds`;
  every vector in the bounds decodes to a valid design.

Linear constraints ``sum_i w_i · x_i <= b`` over numeric parameters act as a feasibility
filter: :meth:`SearchSpace.contains` rejects designs that violate them, the samplers draw in
rounds and keep the feasible draws (rejection), and candidate generation hands them to
differential evolution as constraints, so that infeasible trial vectors are never scored or
kept. Nothing is projected or repaired: a design is never moved to make it feasible.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from axfusion.candidates._validation import check_non_negative_int, check_positive_int
from axfusion.candidates.parameters import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
    Parameter,
)

_PARAMETER_TYPES = (ContinuousParameter, IntegerParameter, CategoricalParameter)


class SearchSpace:
    r"""A box of parameters with optional linear inequality constraints.

    Args:
        parameters: The parameters, distinct names, at least one.
        linear_constraints: ``LinearConstraint`` objects or ``(weights, bound)`` pairs
            meaning ``sum_i weights[name_i] · x_i <= bound``, over numeric parameters only.
        max_rejection_draws: Samplers give up (``ValueError``) after drawing this many times
            the requested number of points without finding enough feasible ones.
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        linear_constraints: Iterable[LinearConstraint | tuple[Mapping[str, float], float]] = (),
        *,
        max_rejection_draws: int = 100,
    ) -> None:
        parameters = tuple(parameters)
        if not parameters:
            raise ValueError("a search space needs at least one parameter")
        for p in parameters:
            if not isinstance(p, _PARAMETER_TYPES):
                raise TypeError(
                    f"parameters must be Continuous-, Integer- or CategoricalParameter, got {p!r}"
                )
        names = [p.name for p in parameters]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"parameter names must be distinct, repeated: {dup}")
        self._parameters = parameters
        self._position = {name: i for i, name in enumerate(names)}
        self._constraints = tuple(self._check_constraint(c) for c in linear_constraints)
        self._constraint_matrix = np.zeros((len(self._constraints), len(parameters)))
        for j, c in enumerate(self._constraints):
            for name, w in c.weights.items():
                self._constraint_matrix[j, self._position[name]] = w
        self._constraint_bounds = np.array([c.bound for c in self._constraints], dtype=np.float64)
        self._max_rejection_draws = check_positive_int(max_rejection_draws, "max_rejection_draws")
        widths = [len(p.feature_names) for p in parameters]
        self._feature_slices = np.r_[0, np.cumsum(widths)]

    def _check_constraint(self, c: Any) -> LinearConstraint:
        if not isinstance(c, LinearConstraint):
            if not (isinstance(c, tuple) and len(c) == 2):
                raise TypeError(
                    "a linear constraint must be a LinearConstraint or (weights, bound), "
                    f"got {c!r}"
                )
            c = LinearConstraint(c[0], c[1])
        for name in c.weights:
            if name not in self._position:
                raise ValueError(f"linear constraint {c} names an unknown parameter {name!r}")
            if not self._parameters[self._position[name]].is_numeric:
                raise ValueError(f"linear constraint {c} names the categorical parameter {name!r}")
        return c

    # ------------------------------------------------------------------ description
    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return self._parameters

    @property
    def names(self) -> tuple[str, ...]:
        r"""Parameter names, the columns of a raw frame."""
        return tuple(p.name for p in self._parameters)

    @property
    def linear_constraints(self) -> tuple[LinearConstraint, ...]:
        return self._constraints

    @property
    def dim(self) -> int:
        r"""Number of parameters ``D`` (the optimiser's dimension)."""
        return len(self._parameters)

    @property
    def n_features(self) -> int:
        r"""Number of model features ``p``."""
        return int(self._feature_slices[-1])

    @property
    def feature_names(self) -> tuple[str, ...]:
        r"""Names of the ``p`` feature columns (``"name=level"`` for one-hot columns,
        ``"log10(name)"`` for log-scale parameters)."""
        return tuple(n for p in self._parameters for n in p.feature_names)

    @property
    def bounds(self) -> np.ndarray:
        r"""``(D, 2)`` lower and upper optimiser-vector bounds, for differential evolution."""
        return np.array([p.vector_bounds for p in self._parameters], dtype=np.float64)

    def __repr__(self) -> str:
        constraints = [str(c) for c in self._constraints]
        return (
            f"{type(self).__name__}(parameters={list(self._parameters)!r}, "
            f"linear_constraints={constraints})"
        )

    # ------------------------------------------------------------------ conversions
    def vectors_to_codes(self, v: np.ndarray) -> np.ndarray:
        r"""Decode optimiser vectors ``(k, D)`` (values outside the bounds are clipped) to
        codes ``(k, D)``."""
        v = self._check_matrix(v, "optimiser vectors")
        return np.column_stack([p.vector_to_code(v[:, i]) for i, p in enumerate(self._parameters)])

    def codes_to_vectors(self, codes: np.ndarray) -> np.ndarray:
        r"""Canonical optimiser vectors ``(k, D)`` of codes ``(k, D)`` (a categorical level
        maps to the centre of its cell)."""
        codes = self._check_matrix(codes, "codes")
        return np.column_stack(
            [p.code_to_vector(codes[:, i]) for i, p in enumerate(self._parameters)]
        )

    def codes_to_features(self, codes: np.ndarray) -> np.ndarray:
        r"""Model features ``(k, p)`` of codes ``(k, D)``."""
        codes = self._check_matrix(codes, "codes")
        return np.hstack([p.code_to_features(codes[:, i]) for i, p in enumerate(self._parameters)])

    def codes_to_raw(self, codes: np.ndarray) -> pd.DataFrame:
        r"""Raw designs (a ``k``-row DataFrame) of codes ``(k, D)``."""
        codes = self._check_matrix(codes, "codes")
        return pd.DataFrame(
            {p.name: p.code_to_raw(codes[:, i]) for i, p in enumerate(self._parameters)},
            columns=list(self.names),
        )

    def raw_to_codes(self, raw: pd.DataFrame) -> np.ndarray:
        r"""Codes ``(k, D)`` of a raw frame; raises ``ValueError`` naming the parameter and
        the values that are outside the space (constraints are not checked here)."""
        raw = self._check_frame(raw)
        if len(raw) == 0:
            return np.empty((0, self.dim))
        return np.column_stack([p.raw_to_code(raw[p.name].to_numpy()) for p in self._parameters])

    def decode(self, v: np.ndarray) -> pd.DataFrame:
        r"""Raw designs of optimiser vectors ``(k, D)``: categorical dimensions are floored to
        a level index, integers rounded then clipped, continuous values clipped to the box."""
        return self.codes_to_raw(self.vectors_to_codes(v))

    def encode(self, raw: pd.DataFrame) -> np.ndarray:
        r"""Optimiser vectors ``(k, D)`` of a raw frame; ``decode(encode(raw))`` equals ``raw``."""
        return self.codes_to_vectors(self.raw_to_codes(raw))

    def to_features(self, raw: pd.DataFrame) -> np.ndarray:
        r"""Model features ``(k, p)`` float64 of a raw frame."""
        return self.codes_to_features(self.raw_to_codes(raw))

    # ------------------------------------------------------------------ feasibility
    def constraint_slack(self, codes: np.ndarray) -> np.ndarray:
        r"""``(k, n_constraints)`` values ``w·x - b`` of codes ``(k, D)``; ``<= 0`` is feasible."""
        codes = self._check_matrix(codes, "codes")
        return codes @ self._constraint_matrix.T - self._constraint_bounds

    def feasible_codes(self, codes: np.ndarray) -> np.ndarray:
        r"""Boolean ``(k,)``: whether codes ``(k, D)`` satisfy every linear constraint."""
        return np.all(self.constraint_slack(codes) <= 0.0, axis=1)

    def contains(self, raw: pd.DataFrame) -> np.ndarray:
        r"""Boolean ``(k,)``: whether each raw design is in the box, has integer values for
        integer parameters, valid categorical levels, and satisfies the linear constraints."""
        raw = self._check_frame(raw)
        k = len(raw)
        ok = np.ones(k, dtype=bool)
        for p in self._parameters:
            ok &= p.valid_raw(raw[p.name].to_numpy())
        if self._constraints and ok.any():
            codes = np.column_stack(
                [p.raw_to_code(raw[p.name].to_numpy()[ok]) for p in self._parameters]
            )
            ok[np.flatnonzero(ok)] = self.feasible_codes(codes)
        return ok

    # ------------------------------------------------------------------ sampling
    def sample_sobol(self, n: int, seed: int = 0) -> pd.DataFrame:
        r"""``n`` feasible designs from a scrambled Sobol sequence over the optimiser box.

        Integer and categorical values are exact (every integer and level has an equal share
        of the unit interval); with linear constraints, infeasible points of the sequence are
        skipped.
        """
        return self.codes_to_raw(self.sample_sobol_codes(n, seed))

    def sample_random(self, n: int, seed: int = 0) -> pd.DataFrame:
        r"""``n`` feasible designs drawn uniformly over the optimiser box."""
        return self.codes_to_raw(self.sample_random_codes(n, seed))

    def sample_sobol_codes(self, n: int, seed: int = 0) -> np.ndarray:
        r"""Codes ``(n, D)`` of :meth:`sample_sobol`."""
        n = check_non_negative_int(n, "n")
        rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
        engine = qmc.Sobol(self.dim, scramble=True, rng=rng)

        def draw(m: int) -> np.ndarray:
            with warnings.catch_warnings():
                # Balance properties need 2^m points; the first n of the sequence are still
                # a low-discrepancy design, which is what is wanted here.
                warnings.filterwarnings("ignore", message=".*balance properties.*")
                return engine.random(m)

        return self._rejection_sample(draw, n)

    def sample_random_codes(self, n: int, seed: int = 0) -> np.ndarray:
        r"""Codes ``(n, D)`` of :meth:`sample_random`."""
        n = check_non_negative_int(n, "n")
        rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
        return self._rejection_sample(lambda m: rng.random((m, self.dim)), n)

    def unit_to_codes(self, u: np.ndarray) -> np.ndarray:
        r"""Codes ``(k, D)`` of points ``(k, D)`` of the unit cube ``[0, 1)^D`` mapped
        affinely onto the optimiser box."""
        b = self.bounds
        v = b[:, 0] + self._check_matrix(u, "unit points") * (b[:, 1] - b[:, 0])
        return self.vectors_to_codes(v)

    def _rejection_sample(self, draw: Any, n: int) -> np.ndarray:
        parts: list[np.ndarray] = []
        found = drawn = 0
        while found < n:
            if drawn >= self._max_rejection_draws * n:
                raise ValueError(
                    f"only {found} of {drawn} points drawn satisfy the linear constraints "
                    f"{[str(c) for c in self._constraints]}; cannot sample {n} feasible points"
                )
            m = n if drawn == 0 else max(n - found, n // 4, 1)
            codes = self.unit_to_codes(draw(m))
            drawn += m
            if self._constraints:
                codes = codes[self.feasible_codes(codes)]
            parts.append(codes)
            found += codes.shape[0]
        out = np.concatenate(parts) if parts else np.empty((0, self.dim))
        return out[:n]

    # ------------------------------------------------------------------ checks
    def _check_matrix(self, x: Any, what: str) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"{what} must have shape (k, {self.dim}), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contain NaN or infinite values")
        return arr

    def _check_frame(self, raw: Any) -> pd.DataFrame:
        if not isinstance(raw, pd.DataFrame):
            raise TypeError(f"raw designs must be a pandas DataFrame, got {type(raw).__name__}")
        missing = [name for name in self.names if name not in raw.columns]
        if missing:
            raise KeyError(f"raw designs lack the parameter columns {missing}")
        return raw
