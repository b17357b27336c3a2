r"""GP-BO and RF-BO on a closed pool, without Ax (the fusion paper's baselines).

Ax's BoTorch generator cannot search a candidate pool, so on a
:class:`~axfusion.benchmarks.tasks.PoolTask` the ``gpbo`` and ``rfbo`` methods run
these classes instead (:mod:`axfusion.benchmarks.methods.ax_methods` registers the
names and dispatches on the task kind). Every iteration:

1. the model is fitted on the evaluated rows, features normalised to the pool's
   min-max box ``[0, 1]^p`` (constant columns to 0), targets oriented larger-is-better
   (:func:`~axfusion.acquisition.targets.orient`) and standardised;
2. every unevaluated row is scored in chunks (no ``N x N`` matrix is ever formed);
   pools with more than ``max_candidates`` unevaluated rows are first pre-screened to
   the ``max_candidates`` rows of largest posterior ``mean + 2 std``;
3. the batch of ``task.batch_size`` rows is chosen.

:class:`PoolGPBO` (``gpbo`` on pools) -- BoTorch's ``SingleTaskGP`` with its default
kernel and priors (RBF with ARD, dimension-scaled log-normal lengthscale prior,
log-normal noise prior; the model Ax 1.3's "MBM defaults" fits), ``Standardize``
outcome transform, fitted by ``fit_gpytorch_mll``. One target:
``qLogNoisyExpectedImprovement`` (128 Sobol QMC samples, pruned baseline); several
targets: ``qLogNoisyExpectedHypervolumeImprovement`` on a batched multi-output GP with
the reference point BoTorch's ``infer_reference_point`` puts below the observed Pareto
front -- what Ax does for several objectives, and what the success criterion (a
Pareto-optimal row) rewards; ``multi_objective="scalarize"`` instead models the
task's fixed scalarisation ``-task.loss(Y)`` with qLogNEI. The batch is chosen by
sequential greedy conditioning (as ``botorch.optim.optimize_acqf_discrete`` does, over
the unevaluated rows): each pick is added to ``X_pending`` before the next.

:class:`PoolRFBO` (``rfbo`` on pools) -- :class:`~axfusion.baselines.RandomForestModel`
(100 trees; Lolo's bias-corrected jackknife-after-bootstrap variance) on the
scalarised target ``-task.loss(Y)`` (the oriented target itself for one target);
acquisition ``mean + kappa * std`` (UCB, ``kappa = 2``, the paper's RF-BO) or analytic
log-EI, and the batch is the top ``batch_size`` rows (a forest cannot condition on
pending points).

Both are deterministic given ``evaluator.seed`` (QMC sampler, forest bootstraps and
hyperparameter-fit restarts are seeded per iteration) and run single-threaded by default.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from botorch.utils.sampling import manual_seed

from axfusion.benchmarks.methods.base import Method, limited_threads
from axfusion.benchmarks.tasks import BudgetExhausted, Evaluator, PoolTask, Task

__all__ = ["PoolGPBO", "PoolLVGP", "PoolRFBO", "iteration_seed", "unit_box"]

_SEED_BOUND = 2**31 - 1


def iteration_seed(seed: int, iteration: int, salt: int = 0) -> int:
    r"""A seed for ``iteration`` of a run with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(iteration), int(salt)]).generate_state(1)[0] % _SEED_BOUND)


def unit_box(X: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    r"""Map ``k x p`` points to ``[0, 1]^p`` by the box ``[lower, upper]`` (constant dims to 0)."""
    span = np.where(upper > lower, upper - lower, 1.0)
    return (np.asarray(X, dtype=np.float64) - lower) / span


class _PoolBO(Method):
    r"""The loop shared by the pool baselines: fit, score unevaluated rows, pick a batch."""

    _salt = 0

    def __init__(
        self, *, max_candidates: int = 10_000, chunk_size: int = 1024, n_threads: int = 1, **options: Any
    ) -> None:
        super().__init__(max_candidates=max_candidates, chunk_size=chunk_size, n_threads=n_threads, **options)
        if max_candidates < 1 or chunk_size < 1:
            raise ValueError("max_candidates and chunk_size must be positive.")
        self.max_candidates = int(max_candidates)
        self.chunk_size = int(chunk_size)
        self.n_threads = int(n_threads)
        self._records: list[dict[str, Any]] = []

    def supports(self, task: Task) -> bool:
        return isinstance(task, PoolTask)

    def diagnostics(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records]

    def run(self, task: Task, evaluator: Evaluator) -> None:
        if not isinstance(task, PoolTask):
            raise TypeError(f"{type(self).__name__} runs on pool tasks only; got a {task.kind} task.")
        self._records = []
        U = self._inputs(task)
        with limited_threads(self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator.tick()
            iteration = 0
            while True:
                iteration += 1
                free = np.flatnonzero(~evaluator.evaluated_mask)
                if free.size == 0:
                    raise BudgetExhausted(f"Pool {task.name!r} has no unevaluated row left.")
                q = min(task.batch_size, evaluator.remaining, free.size)
                seed = iteration_seed(evaluator.seed, iteration, self._salt)
                with manual_seed(seed):
                    picks, info = self._select(task, evaluator, U, free, q, seed)
                rows = free[picks]
                self._records.append({"iteration": iteration, "rows": rows.tolist(), **info})
                evaluator.evaluate_rows(rows)

    # ----------------------------------------------------------------- helpers
    def _inputs(self, task: PoolTask) -> torch.Tensor:
        r"""``N x p`` model inputs of the pool's rows: the feature matrix in its min-max box ``[0, 1]^p``."""
        lower, upper = task.X.min(axis=0), task.X.max(axis=0)
        return torch.as_tensor(unit_box(task.X, lower, upper), dtype=torch.float64)

    def _scores(self, fn: Any, Xc: torch.Tensor) -> np.ndarray:
        r"""``fn`` (``b x d -> b``) over the rows of ``Xc`` in chunks."""
        out = []
        with torch.no_grad():
            for start in range(0, Xc.shape[0], self.chunk_size):
                out.append(fn(Xc[start : start + self.chunk_size]).detach().reshape(-1))
        return torch.cat(out).cpu().numpy() if out else np.empty(0)

    def _prescreen(self, model: Any, Xc: torch.Tensor, free: np.ndarray) -> np.ndarray:
        r"""Positions (into ``free``) to score: all, or the ``max_candidates`` of largest
        posterior ``mean + 2 std`` (averaged over outputs, in the model's standardised units)."""
        if free.size <= self.max_candidates:
            return np.arange(free.size)

        def ucb(X: torch.Tensor) -> torch.Tensor:
            post = model.posterior(X)
            return (post.mean + 2.0 * post.variance.clamp_min(0).sqrt()).mean(dim=-1)

        score = self._scores(ucb, Xc)
        return np.sort(np.argsort(-score, kind="stable")[: self.max_candidates])

    @abstractmethod
    def _select(
        self, task: PoolTask, evaluator: Evaluator, U: torch.Tensor, free: np.ndarray, q: int, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        r"""Fit the model and choose ``q`` positions into ``free``; returns them and a diagnostics dict."""


class PoolGPBO(_PoolBO):
    r"""GP-BO over a pool: SingleTaskGP + qLogNEI (qLogNEHVI for several targets),
    batch by sequential greedy over the unevaluated rows.

    Options:
        mc_samples: QMC samples of the MC acquisition (128).
        multi_objective: ``"ehvi"`` (qLogNEHVI, default) or ``"scalarize"`` (qLogNEI on
            ``-task.loss(Y)``) for several targets.
        max_candidates: Pre-screen larger candidate sets to this many rows (10 000).
        chunk_size: Rows scored at once (1024).
        n_threads: Thread cap (1).
    """

    name = "gpbo"
    _salt = 1

    def __init__(
        self,
        mc_samples: int = 128,
        multi_objective: str = "ehvi",
        max_candidates: int = 10_000,
        chunk_size: int = 1024,
        n_threads: int = 1,
    ) -> None:
        if multi_objective not in ("ehvi", "scalarize"):
            raise ValueError(f"multi_objective must be 'ehvi' or 'scalarize', got {multi_objective!r}.")
        super().__init__(
            max_candidates=max_candidates, chunk_size=chunk_size, n_threads=n_threads,
            mc_samples=mc_samples, multi_objective=multi_objective,
        )
        self.mc_samples = int(mc_samples)
        self.multi_objective = multi_objective

    _model_name = "SingleTaskGP"

    def _fit(self, X_tr: torch.Tensor, Y_tr: torch.Tensor, seed: int) -> Any:
        r"""The fitted model of ``n x p`` inputs and ``n x m`` oriented targets."""
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood

        model = SingleTaskGP(X_tr, Y_tr, outcome_transform=Standardize(m=Y_tr.shape[-1]))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        return model

    def _targets(self, task: PoolTask, evaluator: Evaluator) -> np.ndarray:
        from axfusion.acquisition.targets import orient

        if task.n_objectives > 1 and self.multi_objective == "ehvi":
            return orient(evaluator.Y, task.setup(0).directions)
        return -task.loss(evaluator.Y).reshape(-1, 1)

    def _select(
        self, task: PoolTask, evaluator: Evaluator, U: torch.Tensor, free: np.ndarray, q: int, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        import time

        from botorch.acquisition.acquisition import AcquisitionFunction
        from botorch.acquisition.logei import qLogNoisyExpectedImprovement
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
        from botorch.sampling.normal import SobolQMCNormalSampler
        from botorch.utils.multi_objective.hypervolume import infer_reference_point
        from botorch.utils.multi_objective.pareto import is_non_dominated

        t0 = time.perf_counter()
        X_tr = U[torch.as_tensor(evaluator.rows)]
        Y_tr = torch.as_tensor(self._targets(task, evaluator), dtype=torch.float64)
        m = Y_tr.shape[-1]
        model = self._fit(X_tr, Y_tr, seed)
        t_fit = time.perf_counter() - t0

        Xfree = U[torch.as_tensor(free)]
        keep = self._prescreen(model, Xfree, free)
        Xc = Xfree[torch.as_tensor(keep)]
        sampler = SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]), seed=seed)
        acqf: AcquisitionFunction
        if m == 1:
            acqf = qLogNoisyExpectedImprovement(model, X_baseline=X_tr, sampler=sampler, prune_baseline=True)
        else:
            pareto = Y_tr[is_non_dominated(Y_tr)]
            ref_point = infer_reference_point(pareto)
            acqf = qLogNoisyExpectedHypervolumeImprovement(
                model, ref_point=ref_point, X_baseline=X_tr, sampler=sampler, prune_baseline=True
            )
        available = np.ones(Xc.shape[0], dtype=bool)
        chosen: list[int] = []
        for _ in range(min(q, Xc.shape[0])):
            pos = np.flatnonzero(available)
            vals = self._scores(lambda X: acqf(X.unsqueeze(-2)), Xc[torch.as_tensor(pos)])
            vals = np.where(np.isnan(vals), -np.inf, vals)
            j = int(pos[int(np.argmax(vals))])
            chosen.append(j)
            available[j] = False
            acqf.set_X_pending(Xc[torch.as_tensor(chosen)])
        info = {
            "model": self._model_name,
            "acquisition": "qLogNEI" if m == 1 else "qLogNEHVI",
            "n_candidates": int(Xc.shape[0]),
            "fit_time_s": t_fit,
            "select_time_s": time.perf_counter() - t0 - t_fit,
        }
        return keep[np.asarray(chosen, dtype=np.int64)], info


class PoolLVGP(PoolGPBO):
    r"""LVGP-BO over a pool with categorical columns (``lvgp`` on pools; the LVGP-vs-Lolo paper's GP).

    The model is :class:`~axfusion.baselines.LVGP`: each categorical column of the pool's
    dataset enters as its level codes, embedded in a learned 2-D latent space, the numeric
    columns in their min-max box ``[0, 1]``; one LVGP per target (a ``ModelListGP`` for
    several). Acquisition and batch as :class:`PoolGPBO` (qLogNEI / qLogNEHVI, sequential
    greedy over the unevaluated rows). Only pools with a categorical column (a one-hot or
    descriptor-encoded text column) are supported.

    Options:
        num_restarts: Random starts of each marginal-likelihood fit (4).
        mc_samples, multi_objective, max_candidates, chunk_size, n_threads: See :class:`PoolGPBO`.
    """

    name = "lvgp"
    _salt = 3
    _model_name = "LVGP"

    def __init__(
        self,
        num_restarts: int = 4,
        mc_samples: int = 128,
        multi_objective: str = "ehvi",
        max_candidates: int = 10_000,
        chunk_size: int = 1024,
        n_threads: int = 1,
    ) -> None:
        super().__init__(
            mc_samples=mc_samples, multi_objective=multi_objective, max_candidates=max_candidates,
            chunk_size=chunk_size, n_threads=n_threads,
        )
        if num_restarts < 1:
            raise ValueError(f"num_restarts must be >= 1, got {num_restarts}.")
        self.num_restarts = int(num_restarts)
        self.options["num_restarts"] = self.num_restarts
        self._cat_dims: list[int] = []
        self._num_levels: list[int] = []

    def supports(self, task: Task) -> bool:
        return isinstance(task, PoolTask) and bool(task.setup(0).dataset.categorical)

    def _inputs(self, task: PoolTask) -> torch.Tensor:
        frame = task.setup(0).dataset.X
        cols, self._cat_dims, self._num_levels = [], [], []
        for j, name in enumerate(frame.columns):
            col = frame[name]
            if name in task.setup(0).dataset.categorical:
                self._cat_dims.append(j)
                self._num_levels.append(len(col.cat.categories))
                cols.append(col.cat.codes.to_numpy(dtype=np.float64))
            else:
                v = col.to_numpy(dtype=np.float64)
                span = v.max() - v.min()
                cols.append((v - v.min()) / span if span > 0 else np.zeros_like(v))
        return torch.as_tensor(np.column_stack(cols), dtype=torch.float64)

    def _fit(self, X_tr: torch.Tensor, Y_tr: torch.Tensor, seed: int) -> Any:
        from botorch.models import ModelListGP

        from axfusion.baselines import LVGP

        models = [
            LVGP(X_tr, Y_tr[:, i : i + 1], cat_dims=self._cat_dims, num_levels=self._num_levels,
                 num_restarts=self.num_restarts, seed=seed, input_transform=None).fit()
            for i in range(Y_tr.shape[-1])
        ]
        return models[0] if len(models) == 1 else ModelListGP(*models)


class PoolRFBO(_PoolBO):
    r"""RF-BO over a pool: a random forest scores every unevaluated row by UCB
    (``mean + kappa std``) or log-EI; the batch is the top rows.

    Options:
        acquisition: ``"ucb"`` (default) or ``"ei"``.
        kappa: UCB's multiple of the standard deviation (2).
        n_estimators: Trees (100).
        uncertainty: The forest's variance: ``"jackknife"`` (Lolo's bias-corrected
            jackknife-after-bootstrap, default), ``"ij"``, ``"jackknife_ij"`` or ``"trees"``
            (spread of the trees; see :class:`~axfusion.baselines.RandomForestModel`).
        model_options: Further :class:`~axfusion.baselines.RandomForestModel` options.
        max_candidates, chunk_size, n_threads: See :class:`PoolGPBO`.
    """

    name = "rfbo"
    _salt = 2

    def __init__(
        self,
        acquisition: str = "ucb",
        kappa: float = 2.0,
        n_estimators: int = 100,
        uncertainty: str = "jackknife",
        model_options: dict[str, Any] | None = None,
        max_candidates: int = 10_000,
        chunk_size: int = 4096,
        n_threads: int = 1,
    ) -> None:
        if acquisition not in ("ucb", "ei"):
            raise ValueError(f"acquisition must be 'ucb' or 'ei', got {acquisition!r}.")
        super().__init__(
            max_candidates=max_candidates, chunk_size=chunk_size, n_threads=n_threads,
            acquisition=acquisition, kappa=kappa, n_estimators=n_estimators, uncertainty=uncertainty,
            model_options=dict(model_options or {}),
        )
        self.acquisition = acquisition
        self.kappa = float(kappa)
        self.model_options = {"n_estimators": int(n_estimators), "uncertainty": uncertainty, **(model_options or {})}

    def _select(
        self, task: PoolTask, evaluator: Evaluator, U: torch.Tensor, free: np.ndarray, q: int, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        import time

        from botorch.acquisition.analytic import LogExpectedImprovement
        from botorch.posteriors.torch import TorchPosterior

        from axfusion.baselines import RandomForestModel

        t0 = time.perf_counter()
        y = -task.loss(evaluator.Y)
        sd = float(y.std()) if y.std() > 0 else 1.0
        z = torch.as_tensor((y - y.mean()) / sd, dtype=torch.float64).reshape(-1, 1)
        X_tr = U[torch.as_tensor(evaluator.rows)]
        model = RandomForestModel(X_tr, z, seed=seed, **self.model_options)
        t_fit = time.perf_counter() - t0

        Xfree = U[torch.as_tensor(free)]
        keep = self._prescreen(model, Xfree, free)
        Xc = Xfree[torch.as_tensor(keep)]
        if self.acquisition == "ucb":
            def score(X: torch.Tensor) -> torch.Tensor:
                post = model.posterior(X)
                assert isinstance(post, TorchPosterior)  # a GPyTorchPosterior: it has a mean and a variance
                return (post.mean + self.kappa * post.variance.clamp_min(0).sqrt()).squeeze(-1)
        else:
            acqf = LogExpectedImprovement(model, best_f=z.max())

            def score(X: torch.Tensor) -> torch.Tensor:
                return acqf(X.unsqueeze(-2))

        vals = self._scores(score, Xc)
        vals = np.where(np.isnan(vals), -np.inf, vals)
        chosen = np.argsort(-vals, kind="stable")[: min(q, vals.size)]
        info = {
            "model": "RandomForestModel",
            "acquisition": self.acquisition,
            "n_candidates": int(Xc.shape[0]),
            "fit_time_s": t_fit,
            "select_time_s": time.perf_counter() - t0 - t_fit,
        }
        return keep[chosen], info
