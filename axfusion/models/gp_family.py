r"""An ARD Gaussian-process surrogate family for the reservoir (``gp_ard``, Stage 1).

Tree and k-NN members are flat between data points and their spread does not grow
away from the data; in smooth low-dimensional landscapes a GP with one length scale per
input (ARD) ranks nearby designs far better. :class:`ARDGaussianProcess` is a
scikit-learn-compatible regressor whose hyper-parameters are fitted by BoTorch:

- **Model.** BoTorch's ``SingleTaskGP`` with the covariance BoTorch 0.18 builds by
  default, :func:`~botorch.models.utils.gpytorch_modules.get_covar_module_with_dim_scaled_prior`
  (ARD, no output scale, length-scale prior ``LogNormal(sqrt(2) + log(d) / 2, sqrt(3))``,
  length scales at least 0.025, after [Hvarfner2024vanilla]), asked for its Matérn
  variant (``use_rbf_kernel=False``, i.e. Matérn-5/2) rather than the RBF: Matérn-5/2 is
  twice differentiable but not analytic, the usual choice for response surfaces that are
  smooth but not infinitely so; the noise is BoTorch's default Gaussian likelihood
  (``LogNormal(-4, 1)`` prior, noise at least 1e-4); a constant mean. The
  hyper-parameters maximise the marginal likelihood with
  :func:`botorch.fit.fit_gpytorch_mll` (L-BFGS-B, BoTorch's retry policy), in float64.
- **Scales.** The reservoir passes standardised (clipped) inputs and a standardised
  target. BoTorch's priors assume inputs in the unit cube, so inputs are divided by
  :data:`INPUT_SCALE` ``= sqrt(12)`` (a standardised uniform variable then spans an
  interval of width one; a stationary kernel ignores the shift). The target is
  standardised again on the rows the GP sees (BoTorch's ``Standardize``, done here so
  that shared hyper-parameters keep their meaning, see below).
- **Duplicates.** Rows with identical inputs are collapsed into one row with the mean of
  their targets. A bootstrap resample repeats about a third of its rows with identical
  targets: kept, the copies are read as independent measurements that agree exactly,
  which drives the noise estimate to its floor (1e-4 on every noisy resample we tried)
  and leaves ``K + sigma^2 I`` nearly singular; they would also make every Cholesky
  factorisation about four times dearer.
  Collapsed, a member is a GP on the ~63 % of distinct rows its resample drew (as in
  subagging); the target-biased bootstrap still acts through which rows are drawn, but
  not through how often.
- **Cost.** At most ``max_rows`` (1,500) distinct rows condition a member and at most
  ``max_fit_rows`` (500) of them enter the marginal-likelihood fit (seeded subsets);
  Cholesky factorisations always (GPyTorch switches to iterative solvers above 800 rows).
- **Shared hyper-parameters.** Members of one family are fitted one after the other
  (``axfusion.models.reservoir._fit_family_task``); fitting the hyper-parameters of each
  would cost ``B`` optimisations and add optimiser noise to the bootstrap spread. With
  ``share_hyperparameters=True`` (what the ``gp_ard`` family builds) the first member
  fits them and every later member *conditions* its own resample on them, fixed:
  the members then differ only through their data, so their spread is the bootstrap's.
  The hand-over is a small module-level cache keyed by the estimator's seed: the
  reservoir seeds member ``b`` of a (campaign seed, family, target) with
  ``base_seed + b``, ``base_seed`` a 30-bit hash of the three, so the entry written under
  seed ``s - 1`` is the previous member of the same family and target. It is used only
  when it has the same number of inputs and at least :data:`MIN_SHARED_OVERLAP` of the
  member's distinct ``(x, y)`` rows are among the previous member's (two bootstrap
  resamples of one data set share ~63 %; unrelated data share none); otherwise the
  member fits its own. Results are deterministic: the first member of a reservoir fit
  never finds an entry (its seed minus one belongs to no member), so it always fits
  from BoTorch's default initial values, and every later member reuses what the
  previous one, fitted just before it in the same process, handed over. Nothing is
  carried across reservoir fits (a warm start from the previous campaign iteration
  would make a resumed campaign differ from an uninterrupted one). The price: on noisy
  data the first member's resample can settle in the low-noise, short-length-scale mode
  of the likelihood (BoTorch's noise prior favours it), and every member inherits it;
  members fitting their own hyper-parameters averaged over modes (held-out R^2 on
  ``crossed_barrel``, n = 120: 0.66 against 0.62) at five to ten times the cost.
- **Prediction** is the closed-form posterior of the fitted GP in NumPy (equal to
  ``SingleTaskGP.posterior`` to rounding; see the tests): fast on large candidate
  sets, and a fitted member pickles small (members travel back from worker processes).
  ``predict(X, return_std=True)`` returns the posterior std of the latent function
  (observation noise excluded): the reservoir adds it to the members' spread as the
  family's predictive uncertainty about the response (``family_moments``, Stage 3's
  ``P_m``, whose measurement noise ``R_m`` comes separately from the OOB residuals).

Shapes: ``n`` training rows, ``u`` distinct rows, ``d`` inputs, ``k`` query points.
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from sklearn.base import BaseEstimator, RegressorMixin

__all__ = [
    "INPUT_SCALE",
    "MIN_SHARED_OVERLAP",
    "ARDGaussianProcess",
    "GPHyperparameters",
    "clear_shared_hyperparameters",
    "gp_ard_estimator",
    "gp_ard_std",
]

#: Inputs are divided by this before the kernel: a standardised uniform variable then
#: spans a unit interval, the scale of BoTorch's dimension-scaled length-scale prior.
INPUT_SCALE: float = math.sqrt(12.0)
#: Least share of a member's distinct (x, y) rows that must appear in the previous
#: member's rows for it to reuse that member's hyper-parameters.
MIN_SHARED_OVERLAP: float = 0.25
#: Entries kept by the hand-over cache (one per recently fitted member).
_SHARED_CACHE_SIZE: int = 64
#: Query rows predicted at once (bounds the ``k x u`` cross-covariance).
_PREDICT_CHUNK: int = 4096
_SQRT5 = math.sqrt(5.0)


@dataclass(frozen=True)
class GPHyperparameters:
    r"""Fitted hyper-parameters of an :class:`ARDGaussianProcess`.

    Attributes:
        lengthscale: ``d`` Matérn-5/2 length scales, in units of the inputs divided
            by :data:`INPUT_SCALE`.
        noise: Observation-noise variance, in units of the standardised target.
        constant: Constant prior mean, in units of the standardised target.
        y_loc: Mean used to standardise the target.
        y_scale: Standard deviation used to standardise the target.
    """

    lengthscale: tuple[float, ...]
    noise: float
    constant: float
    y_loc: float
    y_scale: float


@dataclass(frozen=True)
class _Handover:
    n_features: int
    rows: frozenset[int]
    hyper: GPHyperparameters


_SHARED: OrderedDict[int, _Handover] = OrderedDict()
_SHARED_LOCK = threading.Lock()


def _row_keys(X: np.ndarray, y: np.ndarray) -> frozenset[int]:
    r"""Hashes of the distinct ``(x, y)`` rows of ``X`` (``n x d``) and ``y`` (``n``)."""
    data = np.ascontiguousarray(np.column_stack([X, y]))
    return frozenset(hash(row.tobytes()) for row in data)


def _take_handover(seed: int, n_features: int, rows: frozenset[int]) -> GPHyperparameters | None:
    r"""The previous member's hyper-parameters if they may be shared, else ``None``."""
    with _SHARED_LOCK:
        prev = _SHARED.get(seed - 1)
    if prev is None or prev.n_features != n_features or not rows:
        return None
    if len(rows & prev.rows) < MIN_SHARED_OVERLAP * len(rows):
        return None
    return prev.hyper


def _put_handover(seed: int, entry: _Handover) -> None:
    with _SHARED_LOCK:
        _SHARED[seed] = entry
        _SHARED.move_to_end(seed)
        while len(_SHARED) > _SHARED_CACHE_SIZE:
            _SHARED.popitem(last=False)


def clear_shared_hyperparameters() -> None:
    r"""Empty the hand-over cache of shared hyper-parameters (tests, memory)."""
    with _SHARED_LOCK:
        _SHARED.clear()


def _matern52(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    r"""Matérn-5/2 correlation of ``a x d`` and ``b x d`` inputs already divided by their
    length scales: an ``a x b`` matrix."""
    sq = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2.0 * (A @ B.T)
    r = np.sqrt(np.maximum(sq, 0.0))
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * r**2) * np.exp(-_SQRT5 * r)


def _fit_hyperparameters(Z: np.ndarray, t: np.ndarray, seed: int, max_iter: int) -> tuple[np.ndarray, float, float]:
    r"""Maximise BoTorch's marginal likelihood.

    Args:
        Z: ``u x d`` scaled inputs (divided by :data:`INPUT_SCALE`).
        t: ``u`` standardised targets.
        seed: Seeds the random restarts of BoTorch's retry policy.
        max_iter: L-BFGS-B iterations per attempt.

    Returns:
        ``(lengthscale (d,), noise, constant)``.
    """
    import gpytorch
    import torch
    from botorch.exceptions import ModelFittingError
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
    from gpytorch.mlls import ExactMarginalLogLikelihood

    train_X = torch.as_tensor(Z, dtype=torch.float64)
    train_Y = torch.as_tensor(t, dtype=torch.float64).unsqueeze(-1)
    covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=Z.shape[1], use_rbf_kernel=False)
    model = SingleTaskGP(train_X, train_Y, covar_module=covar, outcome_transform=None)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with (
        torch.random.fork_rng(devices=[]),
        gpytorch.settings.max_cholesky_size(Z.shape[0] + 1),
        warnings.catch_warnings(),
    ):
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        # If every attempt fails, BoTorch rolls the model back to its initial values
        # (the priors' modes): a valid if untuned GP, kept.
        with contextlib.suppress(ModelFittingError):
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": max_iter}})
    with torch.no_grad():
        lengthscale = model.covar_module.lengthscale.detach().reshape(-1).numpy().astype(np.float64)
        noise = float(model.likelihood.noise.detach().reshape(-1)[0])
        constant = float(model.mean_module.constant.detach().reshape(-1)[0])
    return lengthscale, noise, constant


class ARDGaussianProcess(RegressorMixin, BaseEstimator):
    r"""Gaussian process with a Matérn-5/2 ARD kernel, hyper-parameters fitted by BoTorch.

    Expects inputs on a standardised scale (unit variance per column), as the reservoir
    provides; see the module docstring for the model and the design choices.

    Args:
        max_rows: Most distinct rows that condition the GP (a seeded subset above it).
        max_fit_rows: Most distinct rows in the marginal-likelihood fit (a seeded
            subset of the conditioning rows above it).
        max_iter: L-BFGS-B iterations per fitting attempt.
        hyperparameters: Fixed hyper-parameters: condition on the data without
            fitting (e.g. another fitted estimator's ``hyperparameters_``).
        share_hyperparameters: Reuse the hyper-parameters the estimator seeded
            ``random_state - 1`` fitted just before on overlapping data (the reservoir's
            previous member of the same family and target), and hand this fit's on to
            the estimator seeded ``random_state + 1``.
        random_state: Seed of the row subsets and of BoTorch's random restarts.

    Attributes:
        hyperparameters_: The :class:`GPHyperparameters` used.
        hyperparameters_source_: ``"fitted"``, ``"shared"`` or ``"given"``.
        n_train_: Number of distinct rows conditioning the GP.
        n_features_in_: Number of inputs ``d``.

    Example:
        >>> gp = ARDGaussianProcess(random_state=0).fit(X, y)   # X: n x d, y: n
        >>> mean, std = gp.predict(X_new, return_std=True)      # k, k
    """

    def __init__(
        self,
        max_rows: int = 1500,
        max_fit_rows: int = 500,
        max_iter: int = 200,
        hyperparameters: GPHyperparameters | None = None,
        share_hyperparameters: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.max_rows = max_rows
        self.max_fit_rows = max_fit_rows
        self.max_iter = max_iter
        self.hyperparameters = hyperparameters
        self.share_hyperparameters = share_hyperparameters
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> ARDGaussianProcess:
        r"""Fit (or condition) the GP.

        Args:
            X: ``n x d`` inputs (standardised scale).
            y: ``n`` targets (or ``n x 1``).

        Returns:
            ``self``.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(
                f"ARDGaussianProcess.fit expects X (n x d) and y (n) with n >= 1; got {X.shape} and {y.shape}."
            )
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("ARDGaussianProcess.fit: X and y must be finite.")
        if self.max_rows < 1 or self.max_fit_rows < 1:
            raise ValueError("max_rows and max_fit_rows must be >= 1.")
        d = X.shape[1]
        seed = 0 if self.random_state is None else int(self.random_state)
        share = self.share_hyperparameters and self.random_state is not None
        rng = np.random.default_rng(seed)

        # Distinct rows, their targets averaged.
        Xu, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
        yu = np.bincount(inverse.reshape(-1), weights=y, minlength=Xu.shape[0]) / counts
        if Xu.shape[0] > self.max_rows:
            keep = np.sort(rng.choice(Xu.shape[0], size=self.max_rows, replace=False))
            Xu, yu = Xu[keep], yu[keep]

        rows = _row_keys(X, y) if share else frozenset()
        hyper = self.hyperparameters
        source = "given"
        if hyper is None and share:
            hyper = _take_handover(seed, d, rows)
            source = "shared"
        if hyper is None:
            source = "fitted"
            y_loc = float(yu.mean())
            y_sd = float(yu.std())
            y_scale = y_sd if y_sd > 1e-12 else 1.0
            fit_idx = np.arange(Xu.shape[0])
            if fit_idx.size > self.max_fit_rows:
                fit_idx = np.sort(rng.choice(fit_idx.size, size=self.max_fit_rows, replace=False))
            lengthscale, noise, constant = _fit_hyperparameters(
                Xu[fit_idx] / INPUT_SCALE, (yu[fit_idx] - y_loc) / y_scale, seed, self.max_iter
            )
            hyper = GPHyperparameters(
                lengthscale=tuple(float(v) for v in lengthscale),
                noise=noise,
                constant=constant,
                y_loc=y_loc,
                y_scale=y_scale,
            )
        if len(hyper.lengthscale) != d:
            raise ValueError(f"The hyper-parameters have {len(hyper.lengthscale)} length scales; X has {d} columns.")
        if share:
            _put_handover(seed, _Handover(n_features=d, rows=rows, hyper=hyper))
        self._condition(Xu, yu, hyper)
        self.hyperparameters_ = hyper
        self.hyperparameters_source_ = source
        self.n_train_ = int(Xu.shape[0])
        self.n_features_in_ = d
        return self

    def _condition(self, Xu: np.ndarray, yu: np.ndarray, hyper: GPHyperparameters) -> None:
        r"""Cholesky factor and weights of the posterior on ``u`` distinct rows."""
        inv_ls = 1.0 / (INPUT_SCALE * np.asarray(hyper.lengthscale, dtype=np.float64))
        A = Xu * inv_ls
        self._center = A.mean(axis=0)
        A = A - self._center
        K = _matern52(A, A)
        K[np.diag_indices_from(K)] += hyper.noise
        resid = (yu - hyper.y_loc) / hyper.y_scale - hyper.constant
        L = None
        for jitter in (0.0, 1e-8, 1e-6, 1e-4):
            try:
                L = cholesky(K + jitter * np.eye(K.shape[0]), lower=True, check_finite=False)
                break
            except np.linalg.LinAlgError:
                continue
        if L is None:
            raise np.linalg.LinAlgError("ARDGaussianProcess: the kernel matrix is not positive definite.")
        self._inv_ls = inv_ls
        self._A = A
        self._L = L
        self._alpha = cho_solve((L, True), resid, check_finite=False)

    @overload
    def predict(self, X: np.ndarray, return_std: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def predict(self, X: np.ndarray, return_std: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(self, X: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        r"""Posterior mean (and latent std) at ``X``.

        Args:
            X: ``k x d`` inputs.
            return_std: Also return the posterior std of the latent function
                (observation noise excluded).

        Returns:
            ``k`` means, or ``(mean, std)`` two ``k``-vectors, in the units of ``y``.
        """
        if not hasattr(self, "_alpha"):
            raise RuntimeError("ARDGaussianProcess is not fitted; call fit first.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"predict expects a k x {self.n_features_in_} array; got shape {X.shape}.")
        hyper = self.hyperparameters_
        k = X.shape[0]
        mean = np.empty(k)
        std = np.empty(k) if return_std else None
        for start in range(0, k, _PREDICT_CHUNK):
            B = X[start : start + _PREDICT_CHUNK] * self._inv_ls - self._center
            Kx = _matern52(B, self._A)  # chunk x u
            mean[start : start + B.shape[0]] = Kx @ self._alpha
            if std is not None:
                V = solve_triangular(self._L, Kx.T, lower=True, check_finite=False)
                var = np.maximum(1.0 - (V**2).sum(axis=0), 0.0)
                std[start : start + B.shape[0]] = np.sqrt(var)
        mean = hyper.y_loc + hyper.y_scale * (hyper.constant + mean)
        if std is None:
            return mean
        return mean, hyper.y_scale * std


def gp_ard_estimator(params: Mapping[str, Any], seed: int) -> ARDGaussianProcess:
    r"""Factory of the ``gp_ard`` family: members share the first member's hyper-parameters."""
    return ARDGaussianProcess(share_hyperparameters=True, random_state=int(seed), **dict(params))


def gp_ard_std(estimator: ARDGaussianProcess, X: np.ndarray) -> np.ndarray:
    r"""``k`` posterior stds of the latent function at ``k x d`` inputs ``X``."""
    return estimator.predict(X, return_std=True)[1]
