r"""BayBE (Merck KGaA's Bayesian Back End, https://emdgroup.github.io/baybe/) as a peer method.

BayBE is what most materials scientists would use for a closed candidate table, so the
harness runs it the way its documentation sets up a campaign, with two names:

- ``baybe`` -- a :class:`baybe.Campaign` with BayBE's default recommender, a
  ``TwoPhaseMetaRecommender`` whose Bayesian phase is a ``BotorchRecommender`` with its
  default ``GaussianProcessSurrogate`` and default acquisition function (qLogEI for one
  target; qLogNEHVI for a Pareto objective);
- ``baybe_rf`` -- the same with ``RandomForestSurrogate`` (scikit-learn's forest, BayBE's
  default forest settings) in the ``BotorchRecommender``. BayBE optimises continuous inputs
  by gradient and its forest has none, so ``baybe_rf`` runs pools and purely discrete
  function spaces only (BayBE itself raises ``IncompatibleSurrogateError`` otherwise).

BayBE's default *initial* strategy (random recommendations until the campaign has a
measurement) is replaced by the harness's shared initial design: the evaluator's initial
measurements are added with ``Campaign.add_measurements`` before the first
``recommend``, so the meta recommender is in its Bayesian phase from the first batch on.
Every later batch is ``campaign.recommend(batch_size)`` (fewer rows when less budget is
left), evaluated through the evaluator and added back as one batch of measurements,
until the evaluator raises :class:`~axfusion.benchmarks.tasks.BudgetExhausted`.

**Pools** (:class:`~axfusion.benchmarks.tasks.PoolTask`). The search space is
``SubspaceDiscrete.from_dataframe`` of the pool's distinct feature rows, one
``NumericalDiscreteParameter`` per feature column inferred by BayBE (its values: the
column's distinct values; constant columns carry no information and are left out, BayBE
needs two values per parameter). Pools can contain the same feature row several times (``bandgap`` has
1431 such rows): BayBE's candidate set holds each distinct row once and the method maps
a recommended candidate back to the lowest unevaluated pool row id with those features.
Recommendations are restricted to rows not yet evaluated: a candidate is excluded
(``Campaign.toggle_discrete_candidates``) once *every* pool row with its features is
evaluated. This is BayBE's ``allow_recommending_already_measured=False`` with one
difference that matters for duplicated rows only: BayBE's own flag would block the
unevaluated twin of a measured row (its measured flag is per candidate), so the flags
are set to ``True`` and the exclusion is done explicitly. On a pool without duplicated
feature rows both are the same. All evaluated rows are measurements (a twin's second
value too: the GP sees the replicate). A batch holds distinct candidates, so it takes at
most one row of a set of twins, and is cut to the number of candidates left when fewer
remain than ``batch_size``.

Targets follow ``task.directions``: ``NumericalTarget(name, minimize=...)`` for
maximised/minimised targets; a value or window target (:class:`~axfusion.acquisition.targets.Target`)
is handed to BayBE as its oriented value ``-distance`` (maximised). Several targets:
``multi_objective="pareto"`` (default) is BayBE's ``ParetoObjective`` (qLogNEHVI),
``"desirability"`` BayBE's ``DesirabilityObjective`` (geometric mean, equal weights) of
targets ramped to ``[0, 1]`` over the pool's range of each oriented target.

**Functions** (:class:`~axfusion.benchmarks.tasks.FunctionTask`). Continuous inputs are
``NumericalContinuousParameter``\ s of the box, integer inputs ``NumericalDiscreteParameter``\ s
of their whole numbers, categorical inputs ``CategoricalParameter``\ s of their levels
(one-hot, BayBE's default); the single target ``loss`` is minimised. BayBE searches a
hybrid space by optimising the continuous part for *every* configuration of the discrete
part (``optimize_acqf_mixed``): a task whose discrete part has more than
``max_discrete_configurations`` configurations is not supported
(:meth:`BayBEMethod.unsupported_reason` says why) unless a ``hybrid_sampler``
(BayBE's ``"Random"`` or ``"FPS"`` sampling of ``sampling_percentage`` of them) is set.
Purely discrete function spaces are enumerated (at most ``max_discrete_configurations``
times 1000 points).

**Seeds.** Every ``recommend`` runs inside ``baybe.Settings(random_seed=s)`` with ``s``
derived from ``evaluator.seed`` and the iteration
(:func:`~axfusion.benchmarks.methods.pool_bo.iteration_seed`), which seeds Python's,
numpy's and torch's global generators and restores them afterwards; a seed reproduces
its run. BayBE's disk cache is switched off in that context. The runner records BayBE's
version with the other package versions.

**Diagnostics** (:meth:`BayBEMethod.diagnostics`), one dict per iteration: ``iteration``,
``recommend_time_s`` (the ``recommend`` call: model fit and acquisition optimisation; the
evaluator's ``iteration_times`` hold the whole proposal time), ``recommender`` (the pure
recommender BayBE's meta recommender used), ``surrogate``, ``objective``, ``acquisition``
(BayBE's default choice by class name, or the option), ``n_recommended``, and on pools
``n_candidates`` (candidates left) and ``rows``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from axfusion.benchmarks.methods.base import Method, limited_threads, register_method
from axfusion.benchmarks.methods.pool_bo import iteration_seed
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, FunctionTask, PoolTask, Task

if TYPE_CHECKING:
    from baybe import Campaign
    from baybe.objectives.base import Objective
    from baybe.recommenders.base import RecommenderProtocol
    from baybe.targets import NumericalTarget

__all__ = ["BayBEMethod", "BayBERandomForest", "PoolCandidates"]

_SURROGATES = ("gp", "rf")
_MULTI_OBJECTIVES = ("pareto", "desirability")
_HYBRID_SAMPLERS = ("Random", "FPS")
#: Purely discrete function spaces are enumerated up to this many times ``max_discrete_configurations``.
_DISCRETE_ENUMERATION_FACTOR = 1000
#: The salt of :func:`iteration_seed` (other methods use other salts).
_SALT = 0xBA7BE


class PoolCandidates:
    r"""A pool's distinct feature rows (BayBE's candidates) and the pool rows behind each.

    Args:
        X: ``N x p`` feature matrix of the pool.
        names: ``p`` feature names.

    Attributes:
        columns: Names of the non-constant feature columns (the BayBE parameters).
        frame: ``G x len(columns)`` DataFrame of the distinct rows (index ``0 .. G-1``,
            in the order of their first pool row).
        group: ``N`` group (candidate) index of each pool row.
    """

    def __init__(self, X: np.ndarray, names: tuple[str, ...] | list[str]) -> None:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError("PoolCandidates: X must be N x p with one name per column.")
        if not np.all(np.isfinite(X)):
            raise ValueError("PoolCandidates: the feature matrix holds NaN or infinite values.")
        keep = [j for j in range(X.shape[1]) if np.unique(X[:, j]).size > 1]
        if not keep:
            raise ValueError("PoolCandidates: every feature column is constant.")
        self.columns = [str(names[j]) for j in keep]
        Xk = X[:, keep]
        _, first, inverse = np.unique(Xk, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # groups in the order of their first row
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        self.group = rank[np.asarray(inverse).reshape(-1)].astype(np.int64)
        self.frame = pd.DataFrame(Xk[np.sort(first)], columns=self.columns)
        counts = np.bincount(self.group, minlength=len(self.frame))
        self._members = np.split(np.argsort(self.group, kind="stable"), np.cumsum(counts)[:-1])

    @property
    def n_groups(self) -> int:
        return len(self.frame)

    def members(self, g: int) -> np.ndarray:
        r"""Pool row ids (ascending) with the features of candidate ``g``."""
        return self._members[int(g)]

    def exhausted(self, evaluated: np.ndarray) -> np.ndarray:
        r"""``G`` booleans: candidates whose pool rows are all evaluated."""
        left = np.bincount(self.group[~np.asarray(evaluated, dtype=bool)], minlength=self.n_groups)
        return left == 0

    def to_rows(self, groups: np.ndarray, evaluated: np.ndarray) -> np.ndarray:
        r"""The lowest unevaluated pool row of each candidate (distinct rows).

        Raises:
            ValueError: If a candidate has no unevaluated row left.
        """
        taken = np.asarray(evaluated, dtype=bool).copy()
        out = np.empty(len(groups), dtype=np.int64)
        for i, g in enumerate(groups):
            free = [r for r in self.members(int(g)) if not taken[r]]
            if not free:
                raise ValueError(f"Candidate {int(g)} has no unevaluated pool row left.")
            out[i] = free[0]
            taken[free[0]] = True
        return out


class BayBEMethod(Method):
    r"""A BayBE campaign (default recommender) on a pool or a function box.

    Options:
        surrogate: ``"gp"`` (BayBE's default ``GaussianProcessSurrogate``) or ``"rf"``
            (``RandomForestSurrogate``).
        model_params: ``RandomForestSurrogate(model_params=...)`` (scikit-learn forest
            options; ``surrogate="rf"`` only).
        acquisition_function: A BayBE acquisition function name (``"qLogEI"``,
            ``"qUCB"``, ...) for the ``BotorchRecommender``; default: BayBE's choice.
        multi_objective: Several targets: ``"pareto"`` (``ParetoObjective``, default) or
            ``"desirability"`` (``DesirabilityObjective``).
        max_discrete_configurations: Function tasks: the largest number of discrete
            configurations of a hybrid space BayBE's brute-force hybrid optimisation is
            run on without a ``hybrid_sampler`` (64).
        hybrid_sampler: ``None`` (every discrete configuration, BayBE's default),
            ``"Random"`` or ``"FPS"`` (BayBE's ``hybrid_sampler``).
        sampling_percentage: Fraction of the discrete configurations sampled by the
            ``hybrid_sampler`` (1.0).
        n_restarts, n_raw_samples: ``BotorchRecommender`` options of its continuous/hybrid
            optimisation (BayBE's defaults 10 and 64; unused on pools).
        n_threads: Thread cap inside :meth:`run` (1).
    """

    name = "baybe"
    _default_surrogate = "gp"

    def __init__(
        self,
        surrogate: str | None = None,
        model_params: dict[str, Any] | None = None,
        acquisition_function: str | None = None,
        multi_objective: str = "pareto",
        max_discrete_configurations: int = 64,
        hybrid_sampler: str | None = None,
        sampling_percentage: float = 1.0,
        n_restarts: int = 10,
        n_raw_samples: int = 64,
        n_threads: int = 1,
    ) -> None:
        surrogate = self._default_surrogate if surrogate is None else surrogate
        if surrogate not in _SURROGATES:
            raise ValueError(f"surrogate must be one of {_SURROGATES}, got {surrogate!r}.")
        if model_params and surrogate != "rf":
            raise TypeError("model_params are options of the random-forest surrogate (surrogate='rf').")
        if multi_objective not in _MULTI_OBJECTIVES:
            raise ValueError(f"multi_objective must be one of {_MULTI_OBJECTIVES}, got {multi_objective!r}.")
        if hybrid_sampler is not None and hybrid_sampler not in _HYBRID_SAMPLERS:
            raise ValueError(f"hybrid_sampler must be None or one of {_HYBRID_SAMPLERS}, got {hybrid_sampler!r}.")
        if not 0.0 < float(sampling_percentage) <= 1.0:
            raise ValueError("sampling_percentage must lie in (0, 1].")
        if int(max_discrete_configurations) < 1 or int(n_restarts) < 1 or int(n_raw_samples) < 1:
            raise ValueError("max_discrete_configurations, n_restarts and n_raw_samples must be positive.")
        super().__init__(
            surrogate=surrogate, model_params=dict(model_params or {}), acquisition_function=acquisition_function,
            multi_objective=multi_objective, max_discrete_configurations=max_discrete_configurations,
            hybrid_sampler=hybrid_sampler, sampling_percentage=sampling_percentage, n_restarts=n_restarts,
            n_raw_samples=n_raw_samples, n_threads=n_threads,
        )
        self.name = "baybe" if surrogate == "gp" else "baybe_rf"
        self.surrogate = surrogate
        self.model_params = dict(model_params or {})
        self.acquisition_function = acquisition_function
        self.multi_objective = multi_objective
        self.max_discrete_configurations = int(max_discrete_configurations)
        self.hybrid_sampler = hybrid_sampler
        self.sampling_percentage = float(sampling_percentage)
        self.n_restarts = int(n_restarts)
        self.n_raw_samples = int(n_raw_samples)
        self.n_threads = int(n_threads)
        self._records: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- support
    def unsupported_reason(self, task: Task) -> str | None:
        r"""Why BayBE cannot run ``task`` as set up here (``None`` when it can)."""
        if isinstance(task, PoolTask):
            return None
        if not isinstance(task, FunctionTask):
            return f"BayBE runs pool and function tasks, not a {task.kind!r} task."
        n_cont = sum(k == "continuous" for k in task.space.kinds)
        if n_cont and self.surrogate == "rf":
            return (
                f"{task.name!r} has continuous inputs: BayBE optimises them by gradient, and its "
                f"RandomForestSurrogate provides no gradients (BayBE raises IncompatibleSurrogateError)."
            )
        n_conf = _discrete_configurations(task)
        if n_cont == 0:
            limit = self.max_discrete_configurations * _DISCRETE_ENUMERATION_FACTOR
            if n_conf > limit:
                return (
                    f"the purely discrete space of {task.name!r} has {n_conf} configurations; BayBE enumerates "
                    f"a discrete search space (at most {limit} here)."
                )
            return None
        if n_conf > self.max_discrete_configurations and self.hybrid_sampler is None:
            return (
                f"the hybrid space of {task.name!r} has {n_conf} discrete configurations; BayBE's hybrid "
                f"recommender optimises the continuous inputs for every one of them (more than "
                f"max_discrete_configurations={self.max_discrete_configurations}); set hybrid_sampler "
                f"('Random' or 'FPS') with a sampling_percentage, or raise max_discrete_configurations."
            )
        return None

    def supports(self, task: Task) -> bool:
        return self.unsupported_reason(task) is None

    def diagnostics(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records]

    # ------------------------------------------------------------ components
    def _recommender(self) -> RecommenderProtocol:
        r"""BayBE's default meta recommender, its ``BotorchRecommender`` set up by the options."""
        from baybe.recommenders import BotorchRecommender, TwoPhaseMetaRecommender
        from baybe.surrogates import GaussianProcessSurrogate, RandomForestSurrogate

        surrogate = (
            RandomForestSurrogate(model_params=self.model_params) if self.surrogate == "rf"
            else GaussianProcessSurrogate()
        )
        options: dict[str, Any] = {
            "surrogate_model": surrogate, "n_restarts": self.n_restarts, "n_raw_samples": self.n_raw_samples,
        }
        if self.acquisition_function is not None:
            options["acquisition_function"] = self.acquisition_function
        if self.hybrid_sampler is not None:
            options["hybrid_sampler"] = self.hybrid_sampler
            options["sampling_percentage"] = self.sampling_percentage
        return TwoPhaseMetaRecommender(recommender=BotorchRecommender(**options))

    def _recommend(self, campaign: Campaign, q: int, seed: int, iteration: int) -> pd.DataFrame:
        r"""``campaign.recommend(q)`` under a seeded BayBE settings context; records its time."""
        from baybe import Settings
        from baybe.recommenders.meta.base import MetaRecommender

        used = campaign.recommender
        if isinstance(used, MetaRecommender):
            used = used.get_non_meta_recommender(measurements=campaign.measurements)
        t0 = time.perf_counter()
        with Settings(random_seed=seed, cache_directory=None):
            rec = campaign.recommend(batch_size=q)
        elapsed = time.perf_counter() - t0
        acquisition = self.acquisition_function
        choose = getattr(used, "_get_acquisition_function", None)  # BayBE's default choice (private API)
        if acquisition is None and callable(choose) and campaign.objective is not None:
            try:
                acquisition = type(choose(campaign.objective)).__name__
            except Exception:  # a BayBE version without it: the record says "default"
                acquisition = None
        self._records.append({
            "iteration": iteration,
            "recommend_time_s": elapsed,
            "recommender": type(used).__name__,
            "surrogate": "RandomForestSurrogate" if self.surrogate == "rf" else "GaussianProcessSurrogate",
            "objective": type(campaign.objective).__name__,
            "acquisition": acquisition or "default",
            "n_recommended": len(rec),
        })
        return rec

    # ------------------------------------------------------------------ run
    def run(self, task: Task, evaluator: Evaluator) -> None:
        reason = self.unsupported_reason(task)
        if reason is not None:
            raise TypeError(f"{self.name}: not supported: {reason}")
        self._records = []
        with limited_threads(self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator.tick()
            if isinstance(task, PoolTask):
                self._run_pool(task, evaluator)
            else:
                assert isinstance(task, FunctionTask)
                self._run_function(task, evaluator)

    # ----------------------------------------------------------------- pools
    def _pool_objective(self, task: PoolTask, names: list[str]) -> tuple[Objective, Any]:
        r"""BayBE's objective of the pool's targets and ``Y -> measurement columns``."""
        from baybe.objectives import DesirabilityObjective, ParetoObjective, SingleTargetObjective
        from baybe.targets import NumericalTarget

        base = task.setup(0)
        taken = set(names)
        cols = [c if c not in taken else f"target:{c}" for c in (str(t) for t in base.targets)]
        raw = [t.kind in ("maximize", "minimize") for t in base.directions]
        targets: list[NumericalTarget] = []
        if len(cols) > 1 and self.multi_objective == "desirability":
            P = base.O  # oriented targets of the pool (larger is better)
            for j, c in enumerate(cols):
                lo, hi = float(np.min(P[:, j])), float(np.max(P[:, j]))
                targets.append(NumericalTarget.normalized_ramp(c, cutoffs=(lo, hi if hi > lo else lo + 1.0)))
            raw = [False] * len(cols)
        else:
            for c, t, r in zip(cols, base.directions, raw):
                targets.append(NumericalTarget(c, minimize=(t.kind == "minimize")) if r else NumericalTarget(c))
        objective: Objective
        if len(targets) == 1:
            objective = SingleTargetObjective(targets[0])
        elif self.multi_objective == "pareto":
            objective = ParetoObjective(targets)
        else:
            objective = DesirabilityObjective(targets)

        def values(Y: np.ndarray) -> dict[str, np.ndarray]:
            Y = np.asarray(Y, dtype=np.float64).reshape(-1, len(cols))
            out = {}
            for j, (c, t, r) in enumerate(zip(cols, base.directions, raw)):
                out[c] = Y[:, j] if r else t.orient(Y[:, j])
            return out

        return objective, values

    def _run_pool(self, task: PoolTask, evaluator: Evaluator) -> None:
        from baybe import Campaign
        from baybe.searchspace import SearchSpace, SubspaceDiscrete

        cand = PoolCandidates(task.X, task.space.names)
        # BayBE infers one NumericalDiscreteParameter per column (its values: the column's
        # distinct values). Passing the same parameters explicitly gives the same space but
        # makes BayBE check every value against every other one (quadratic in pure Python:
        # 5 s on p3ht's 158 rows, hours on the larger pools).
        searchspace = SearchSpace(discrete=SubspaceDiscrete.from_dataframe(cand.frame))
        objective, values = self._pool_objective(task, cand.columns)
        campaign = Campaign(
            searchspace, objective, self._recommender(),
            allow_recommending_already_measured=True, allow_recommending_already_recommended=True,
        )

        def measurements(rows: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
            df = cand.frame.loc[cand.group[rows]].reset_index(drop=True)
            for c, v in values(Y).items():
                df[c] = v
            return df

        excluded = np.zeros(cand.n_groups, dtype=bool)

        def exclude_exhausted() -> np.ndarray:
            now = cand.exhausted(evaluator.evaluated_mask)
            new = np.flatnonzero(now & ~excluded)
            if new.size:
                campaign.toggle_discrete_candidates(cand.frame.loc[new], exclude=True)
                excluded[new] = True
            return np.flatnonzero(~excluded)

        def add(rows: np.ndarray, Y: np.ndarray) -> None:
            # the rows are candidates themselves: BayBE's per-value tolerance check (quadratic
            # in the number of a parameter's values) has nothing to find
            campaign.add_measurements(measurements(rows, Y), numerical_measurements_must_be_within_tolerance=False)

        n_seen = evaluator.n_evaluated
        if n_seen:
            add(evaluator.rows[:n_seen], evaluator.Y[:n_seen])
        iteration = 0
        while True:
            iteration += 1
            free = exclude_exhausted()
            if free.size == 0:
                raise BudgetExhausted(f"Pool {task.name!r} has no unevaluated row left.")
            q = min(task.batch_size, evaluator.remaining, free.size)
            rec = self._recommend(campaign, q, iteration_seed(evaluator.seed, iteration, _SALT), iteration)
            groups = np.asarray(rec.index, dtype=np.int64)
            expected = cand.frame.loc[groups, cand.columns].to_numpy()
            if not np.array_equal(rec[cand.columns].to_numpy(dtype=np.float64), expected):
                raise RuntimeError("BayBE's recommendations do not match their candidate index.")
            rows = cand.to_rows(groups, evaluator.evaluated_mask)
            self._records[-1].update({"n_candidates": int(free.size), "rows": rows.tolist()})
            evaluator.evaluate_rows(rows)  # raises BudgetExhausted at the end
            add(evaluator.rows[n_seen:], evaluator.Y[n_seen:])
            n_seen = evaluator.n_evaluated

    # ------------------------------------------------------------- functions
    def _run_function(self, task: FunctionTask, evaluator: Evaluator) -> None:
        from baybe import Campaign
        from baybe.parameters import CategoricalParameter, NumericalContinuousParameter, NumericalDiscreteParameter
        from baybe.parameters.base import Parameter
        from baybe.searchspace import SearchSpace
        from baybe.targets import NumericalTarget

        space = task.space
        names = [str(n) for n in space.names]
        labels: dict[int, list[str]] = {}
        params: list[Parameter] = []
        for j, (name, kind) in enumerate(zip(names, space.kinds)):
            lo, hi = float(space.lower[j]), float(space.upper[j])
            if kind == "continuous":
                params.append(NumericalContinuousParameter(name, bounds=(lo, hi)))
            elif kind == "integer":
                whole = tuple(float(v) for v in range(int(lo), int(hi) + 1))
                params.append(NumericalDiscreteParameter(name, values=whole))
            else:
                labels[j] = _level_labels(task.problem.parameters[j].levels)
                params.append(CategoricalParameter(name, values=tuple(labels[j])))
        target = "loss" if "loss" not in names else "_loss"
        campaign = Campaign(
            SearchSpace.from_product(params), NumericalTarget(target, minimize=True), self._recommender()
        )

        def frame(X: np.ndarray) -> pd.DataFrame:
            cols: dict[str, Any] = {}
            for j, name in enumerate(names):
                if j in labels:
                    cols[name] = [labels[j][int(round(v))] for v in X[:, j]]
                else:
                    cols[name] = X[:, j].astype(np.float64)
            return pd.DataFrame(cols)

        def points(rec: pd.DataFrame) -> np.ndarray:
            X = np.empty((len(rec), len(names)))
            for j, name in enumerate(names):
                if j in labels:
                    index = {lab: i for i, lab in enumerate(labels[j])}
                    X[:, j] = [index[str(v)] for v in rec[name]]
                else:
                    X[:, j] = rec[name].to_numpy(dtype=np.float64)
            return X

        n_seen = evaluator.n_evaluated
        if n_seen:
            df = frame(evaluator.X[:n_seen])
            df[target] = evaluator.loss[:n_seen]
            campaign.add_measurements(df, numerical_measurements_must_be_within_tolerance=False)
        iteration = 0
        while True:
            iteration += 1
            q = min(task.batch_size, evaluator.remaining)
            if q <= 0:
                raise BudgetExhausted(f"Budget of {task.budget} evaluations spent.")
            rec = self._recommend(campaign, q, iteration_seed(evaluator.seed, iteration, _SALT), iteration)
            evaluator.evaluate(points(rec))  # raises BudgetExhausted at the end
            df = frame(evaluator.X[n_seen:])
            df[target] = evaluator.loss[n_seen:]
            campaign.add_measurements(df, numerical_measurements_must_be_within_tolerance=False)
            n_seen = evaluator.n_evaluated


class BayBERandomForest(BayBEMethod):
    r"""``baybe_rf``: :class:`BayBEMethod` with BayBE's ``RandomForestSurrogate`` (same options)."""

    name = "baybe_rf"
    _default_surrogate = "rf"


def _discrete_configurations(task: FunctionTask) -> int:
    r"""Number of configurations of the integer and categorical inputs of ``task``."""
    sizes = [
        int(round(task.space.upper[j] - task.space.lower[j])) + 1
        for j, k in enumerate(task.space.kinds) if k != "continuous"
    ]
    return math.prod(sizes)


def _level_labels(levels: Any) -> list[str]:
    r"""Distinct string labels of categorical levels (``str(level)``, or ``level<i>`` when those clash)."""
    out = [str(v) for v in levels]
    return out if len(set(out)) == len(out) else [f"level{i}" for i in range(len(out))]


register_method("baybe", BayBEMethod)
register_method("baybe_rf", BayBERandomForest)
