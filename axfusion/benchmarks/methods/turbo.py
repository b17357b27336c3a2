r"""TuRBO-1: trust-region Bayesian optimisation (Eriksson et al., 2019).

After BoTorch's TuRBO tutorial (``turbo_1``), in the unit cube of ``task.space``:

- one trust region, a box centred on the best point so far whose side lengths are
  ``length`` times the GP's ARD lengthscales (normalised to a geometric mean of one),
  clipped to the cube; ``length`` starts at 0.8, doubles (at most 1.6) after
  ``success_tolerance = 10`` consecutive successful batches and halves after
  ``failure_tolerance = ceil(max(4 / batch_size, d / batch_size))`` consecutive failures
  (a success improves the best value by more than ``1e-3 |best|``);
- when ``length`` falls below ``0.5**7`` the region has collapsed: TuRBO restarts with a
  fresh scrambled-Sobol design of ``task.n_initial`` points (evaluated in batches of
  ``batch_size``) and forgets the previous data, as TuRBO-1 does;
- the model is a ``SingleTaskGP`` with a scaled Matern-5/2 ARD kernel (lengthscales in
  ``[0.005, 4]``, noise in ``[1e-8, 1e-3]``) on standardised ``-loss`` of the points of the
  current restart;
- a batch is drawn by Thompson sampling (``MaxPosteriorSampling`` without replacement)
  over ``n_candidates = min(5000, max(2000, 200 d))`` Sobol points of the trust region,
  each perturbing a random subset of the centre's coordinates (probability
  ``min(20 / d, 1)`` per coordinate), or with ``acquisition="ei"`` by optimising
  qLogEI over the trust region.

Discrete dimensions are searched as continuous coordinates and rounded by
``task.space`` (categorical level indices are thus treated as ordinal: TuRBO has no
categorical kernel). On a pool, the proposals are continuous points of the pool's
feature box, snapped by the evaluator to the nearest unevaluated rows, and the GP is
fitted on the rows actually evaluated. Several targets are scalarised by ``task.loss``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

import numpy as np
import torch
from botorch.utils.sampling import manual_seed

from axfusion.benchmarks.methods.base import Method, limited_threads, register_method
from axfusion.benchmarks.methods.pool_bo import iteration_seed
from axfusion.benchmarks.tasks import Evaluator, Task

__all__ = ["Turbo", "TurboState", "update_state"]


class _StateOptions(TypedDict):
    r"""The method's options of a new :class:`TurboState`."""

    length: float
    length_min: float
    length_max: float
    success_tolerance: int
    failure_tolerance: int


@dataclass
class TurboState:
    r"""The trust region of TuRBO-1 (the tutorial's ``TurboState``)."""

    dim: int
    batch_size: int
    length: float = 0.8
    length_min: float = 0.5**7
    length_max: float = 1.6
    failure_counter: int = 0
    failure_tolerance: int = 0
    success_counter: int = 0
    success_tolerance: int = 10
    best_value: float = -math.inf
    restart_triggered: bool = False

    def __post_init__(self) -> None:
        if self.failure_tolerance <= 0:
            self.failure_tolerance = math.ceil(max(4.0 / self.batch_size, float(self.dim) / self.batch_size))


def update_state(state: TurboState, y_next: np.ndarray) -> TurboState:
    r"""Update the counters and the length after a batch with (maximised) values ``y_next``."""
    best_next = float(np.max(y_next))
    if best_next > state.best_value + 1e-3 * math.fabs(state.best_value):
        state.success_counter += 1
        state.failure_counter = 0
    else:
        state.success_counter = 0
        state.failure_counter += 1
    if state.success_counter == state.success_tolerance:
        state.length = min(2.0 * state.length, state.length_max)
        state.success_counter = 0
    elif state.failure_counter == state.failure_tolerance:
        state.length /= 2.0
        state.failure_counter = 0
    state.best_value = max(state.best_value, best_next)
    if state.length < state.length_min:
        state.restart_triggered = True
    return state


class Turbo(Method):
    r"""TuRBO-1 (see the module docstring).

    Options:
        acquisition: ``"ts"`` (Thompson sampling, default) or ``"ei"`` (qLogEI).
        n_candidates: Thompson-sampling candidates (default ``min(5000, max(2000, 200 d))``).
        n_restart_points: Sobol points after a restart (default ``task.n_initial``).
        num_restarts, raw_samples: ``optimize_acqf`` settings for ``"ei"`` (10, 512).
        length_init, length_min, length_max: Trust-region side lengths (0.8, ``0.5**7``, 1.6).
        success_tolerance: Successes before the region doubles (10).
        failure_tolerance: Failures before it halves (default
            ``ceil(max(4 / batch_size, d / batch_size))``).
        n_threads: Thread cap (1).
    """

    name = "turbo"

    def __init__(
        self,
        acquisition: str = "ts",
        n_candidates: int | None = None,
        n_restart_points: int | None = None,
        num_restarts: int = 10,
        raw_samples: int = 512,
        length_init: float = 0.8,
        length_min: float = 0.5**7,
        length_max: float = 1.6,
        success_tolerance: int = 10,
        failure_tolerance: int | None = None,
        n_threads: int = 1,
    ) -> None:
        if acquisition not in ("ts", "ei"):
            raise ValueError(f"acquisition must be 'ts' or 'ei', got {acquisition!r}.")
        if not 0 < length_min <= length_init <= length_max:
            raise ValueError("Need 0 < length_min <= length_init <= length_max.")
        super().__init__(
            acquisition=acquisition, n_candidates=n_candidates, n_restart_points=n_restart_points,
            num_restarts=num_restarts, raw_samples=raw_samples, length_init=length_init,
            length_min=length_min, length_max=length_max, success_tolerance=success_tolerance,
            failure_tolerance=failure_tolerance, n_threads=n_threads,
        )
        self.fit_failures = 0
        self._state_options: _StateOptions = {
            "length": float(length_init), "length_min": float(length_min), "length_max": float(length_max),
            "success_tolerance": int(success_tolerance), "failure_tolerance": int(failure_tolerance or 0),
        }
        self.acquisition = acquisition
        self.n_candidates = n_candidates
        self.n_restart_points = n_restart_points
        self.num_restarts = int(num_restarts)
        self.raw_samples = int(raw_samples)
        self.n_threads = int(n_threads)
        self._records: list[dict[str, Any]] = []

    def diagnostics(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records]

    # ------------------------------------------------------------------- loop
    def run(self, task: Task, evaluator: Evaluator) -> None:
        self._records = []
        space = task.space
        d = space.dim
        q = task.batch_size
        n_restart = int(self.n_restart_points or task.n_initial)
        with limited_threads(self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator.tick()
            start = 0  # first evaluation of the current trust region's data
            restart = 0
            state = TurboState(dim=d, batch_size=q, **self._state_options)
            state.best_value = float(np.max(-evaluator.loss))
            iteration = 0
            while True:
                if state.restart_triggered:
                    restart += 1
                    seed = iteration_seed(evaluator.seed, restart, 0x5EED)
                    design = space.sample(n_restart, seed, "sobol")
                    start = evaluator.n_evaluated
                    for k in range(0, n_restart, q):
                        iteration += 1
                        self._records.append({"iteration": iteration, "restart": restart, "phase": "sobol"})
                        evaluator.evaluate(design[k : k + q])
                    state = TurboState(dim=d, batch_size=q, **self._state_options)
                    state.best_value = float(np.max(-evaluator.loss[start:]))
                    continue
                iteration += 1
                seed = iteration_seed(evaluator.seed, iteration, 0x7B)
                X = torch.as_tensor(space.unit(evaluator.X[start:]), dtype=torch.float64)
                y = torch.as_tensor(-evaluator.loss[start:], dtype=torch.float64).reshape(-1, 1)
                with manual_seed(seed):
                    U_next = self._propose(state, X, y, q, seed)
                self._records.append(
                    {"iteration": iteration, "restart": restart, "phase": "trust_region", **asdict(state)}
                )
                n_before = evaluator.n_evaluated
                try:
                    evaluator.evaluate(space.from_unit(U_next))
                finally:
                    if evaluator.n_evaluated > n_before:
                        update_state(state, -evaluator.loss[n_before:])

    # --------------------------------------------------------------- proposal
    def _fit(self, X: torch.Tensor, y: torch.Tensor) -> Any:
        import gpytorch
        from botorch.exceptions.errors import ModelFittingError
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from gpytorch.constraints import Interval
        from gpytorch.kernels import MaternKernel, ScaleKernel
        from gpytorch.likelihoods import GaussianLikelihood
        from gpytorch.mlls import ExactMarginalLogLikelihood

        d = X.shape[-1]
        # The tutorial's near-noiseless likelihood first; rounded discrete dimensions can
        # repeat a design with another value, which that cannot fit: then allow more noise.
        for noise_max in (1e-3, 1e-1):
            likelihood = GaussianLikelihood(noise_constraint=Interval(1e-8, noise_max))
            covar = ScaleKernel(MaternKernel(nu=2.5, ard_num_dims=d, lengthscale_constraint=Interval(0.005, 4.0)))
            model = SingleTaskGP(X, y, covar_module=covar, likelihood=likelihood, outcome_transform=Standardize(m=1))
            mll = ExactMarginalLogLikelihood(model.likelihood, model)
            try:
                with gpytorch.settings.max_cholesky_size(float("inf")):
                    fit_gpytorch_mll(mll)
                return model
            except ModelFittingError:
                self.fit_failures += 1
        return model  # last resort: the prior hyper-parameters of the noisier model

    def _propose(self, state: TurboState, X: torch.Tensor, y: torch.Tensor, q: int, seed: int) -> np.ndarray:
        import gpytorch
        from botorch.generation import MaxPosteriorSampling
        from torch.quasirandom import SobolEngine

        d = X.shape[-1]
        model = self._fit(X, y)
        x_center = X[y.argmax(), :].clone().reshape(-1)
        weights = model.covar_module.base_kernel.lengthscale.squeeze().detach().reshape(-1)
        weights = weights / weights.mean()
        weights = weights / torch.prod(weights.pow(1.0 / len(weights)))
        tr_lb = torch.clamp(x_center - weights * state.length / 2.0, 0.0, 1.0)
        tr_ub = torch.clamp(x_center + weights * state.length / 2.0, 0.0, 1.0)
        if self.acquisition == "ei":
            from botorch.acquisition.logei import qLogExpectedImprovement
            from botorch.optim import optimize_acqf

            acqf = qLogExpectedImprovement(model, best_f=y.max())
            with gpytorch.settings.max_cholesky_size(float("inf")):
                X_next, _ = optimize_acqf(
                    acqf, bounds=torch.stack([tr_lb, tr_ub]), q=q,
                    num_restarts=self.num_restarts, raw_samples=self.raw_samples,
                )
            return X_next.detach().cpu().numpy()
        n_cand = int(self.n_candidates or min(5000, max(2000, 200 * d)))
        sobol = SobolEngine(d, scramble=True, seed=seed)
        pert = sobol.draw(n_cand).to(dtype=torch.float64)
        pert = tr_lb + (tr_ub - tr_lb) * pert
        prob_perturb = min(20.0 / d, 1.0)
        mask = torch.rand(n_cand, d, dtype=torch.float64) <= prob_perturb
        ind = torch.where(mask.sum(dim=1) == 0)[0]
        mask[ind, torch.randint(0, d, size=(len(ind),))] = True
        X_cand = x_center.expand(n_cand, d).clone()
        X_cand[mask] = pert[mask]
        sampler = MaxPosteriorSampling(model=model, replacement=False)
        with torch.no_grad(), gpytorch.settings.max_cholesky_size(float("inf")):
            X_next = sampler(X_cand, num_samples=q)
        return X_next.detach().cpu().numpy()


register_method("turbo", Turbo)
