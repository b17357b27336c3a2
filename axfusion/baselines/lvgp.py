r"""LVGP-style latent-variable Gaussian process for mixed-variable inputs.

The GP baseline of the LVGP-vs-Lolo comparison, after Zhang, Tao, Chen & Apley, "A
latent variable approach to Gaussian process modeling with qualitative and quantitative
factors" (Technometrics, 2020): every categorical input's levels are mapped to
learned 2-D latent coordinates, concatenated with the normalised quantitative inputs,
and a Gaussian (or Matérn) kernel acts on the joint space.  Latent coordinates and
kernel hyper-parameters are fitted jointly by maximising the marginal likelihood from
several random starts, keeping the best.

``LVGP`` is a ``SingleTaskGP`` (hence a ``GPyTorchModel`` and an ``ExactGP``) whose
``custom_fit`` hook makes ``botorch.fit.fit_gpytorch_mll`` run those restarts, so the
standard fitting path (including Ax's ``fit_botorch_model`` and ``ModelListGP``'s
``SumMarginalLogLikelihood``) fits it the LVGP way.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from copy import deepcopy
from functools import partial
from typing import Any

import torch
from botorch.exceptions.errors import ModelFittingError
from botorch.exceptions.warnings import OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models.gp_regression import SingleTaskGP
from botorch.models.transforms.input import InputTransform, Normalize
from botorch.models.transforms.outcome import OutcomeTransform
from botorch.optim.closures import get_loss_closure_with_grads
from botorch.optim.fit import fit_gpytorch_mll_scipy
from botorch.optim.utils import get_parameters
from botorch.utils.datasets import SupervisedDataset
from botorch.utils.types import DEFAULT, _DefaultType
from gpytorch.kernels import ScaleKernel
from gpytorch.likelihoods import FixedNoiseGaussianLikelihood, GaussianLikelihood
from gpytorch.likelihoods.likelihood import Likelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.mlls.marginal_log_likelihood import MarginalLogLikelihood
from linear_operator.utils.errors import NotPSDError
from torch import Tensor

from axfusion.baselines.categorical import (
    infer_num_levels,
    normalize_cat_dims,
    transformed_level_values,
)
from axfusion.baselines.lvgp_kernel import KernelName, LatentVariableKernel

#: Ranges from which each restart draws its initial hyper-parameters (log-uniform).
INIT_LENGTHSCALE_RANGE: tuple[float, float] = (0.05, 2.0)
INIT_NOISE_RANGE: tuple[float, float] = (1e-3, 1e-1)
#: Standard deviation of the initial latent coordinates.
INIT_LATENT_SCALE: float = 1.0


class LVGP(SingleTaskGP):
    r"""Latent-variable GP: categorical levels embedded as learned latent points.

    Inputs follow BoTorch's ``MixedSingleTaskGP`` convention: ``train_X`` is ``n x d``
    and the columns listed in ``cat_dims`` hold integer level codes ``0..L-1``.  The
    quantitative columns are normalised to the unit cube by default.  Single output;
    use ``botorch.models.ModelListGP`` for several outputs.

    Example:
        >>> x = torch.rand(30, 1, dtype=torch.float64)
        >>> t = torch.randint(4, (30, 1)).to(x)
        >>> model = LVGP(torch.cat([x, t], -1), torch.sin(6 * x) + t, cat_dims=[1])
        >>> model = model.fit()
        >>> model.latent_coordinates()[1].shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        train_X: Tensor,
        train_Y: Tensor,
        cat_dims: Sequence[int],
        num_levels: Sequence[int] | None = None,
        train_Yvar: Tensor | None = None,
        latent_dim: int = 2,
        kernel: KernelName = "rbf",
        nu: float = 2.5,
        num_restarts: int = 8,
        max_iter: int = 200,
        seed: int = 0,
        likelihood: Likelihood | None = None,
        outcome_transform: OutcomeTransform | _DefaultType | None = DEFAULT,
        input_transform: InputTransform | _DefaultType | None = DEFAULT,
    ) -> None:
        r"""
        Args:
            train_X: An ``n x d`` tensor of training inputs; the ``cat_dims`` columns
                hold integer level codes.
            train_Y: An ``n x 1`` tensor of training observations.
            cat_dims: Indices of the categorical columns (may be empty, giving a
                plain GP on the quantitative inputs).
            num_levels: Number of levels of each categorical column, in the order of
                ``cat_dims``; inferred as ``max code + 1`` if omitted.  Give it when
                some levels are not yet observed.
            train_Yvar: An optional ``n x 1`` tensor of known observation variances.
            latent_dim: Dimension of each categorical input's latent space.
            kernel: ``"rbf"`` (Gaussian, as in LVGP) or ``"matern"``.
            nu: Matérn smoothness (0.5, 1.5 or 2.5) when ``kernel="matern"``.
            num_restarts: Number of random starts of the marginal-likelihood fit.
            max_iter: L-BFGS-B iteration limit of each start; on noise-free data the
                fit otherwise creeps on for hundreds of iterations with negligible
                gain in likelihood.
            seed: Seed of the restarts' initial values.
            likelihood: A likelihood; BoTorch's ``SingleTaskGP`` default if omitted.
            outcome_transform: Outcome transform; ``Standardize`` by default, ``None``
                for none.
            input_transform: Input transform; by default a ``Normalize`` of the
                quantitative columns learned from ``train_X``, ``None`` for none.  A
                transform may also rescale the categorical columns (Ax normalises
                every column) as long as it maps each column on its own.
        """
        cat_dims, quant_dims, num_levels = _validate_lvgp_inputs(
            train_X=train_X, train_Y=train_Y, cat_dims=cat_dims, num_levels=num_levels
        )
        if num_restarts < 1:
            raise ValueError(f"num_restarts must be >= 1, got {num_restarts}.")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}.")
        if isinstance(input_transform, _DefaultType):  # DEFAULT
            input_transform = (
                Normalize(d=train_X.shape[-1], indices=quant_dims) if quant_dims else None
            )
        self._ignore_X_dims_scaling_check = cat_dims
        base_kernel = LatentVariableKernel(
            quant_dims=quant_dims,
            cat_dims=cat_dims,
            num_levels=num_levels,
            latent_dim=latent_dim,
            kernel=kernel,
            nu=nu,
        )
        super().__init__(
            train_X=train_X,
            train_Y=train_Y,
            train_Yvar=train_Yvar,
            likelihood=likelihood,
            covar_module=ScaleKernel(base_kernel),
            outcome_transform=outcome_transform,
            input_transform=input_transform,
        )
        self.cat_dims: list[int] = cat_dims
        self.quant_dims: list[int] = quant_dims
        self.num_levels: list[int] = num_levels
        self.num_restarts = int(num_restarts)
        self.max_iter = int(max_iter)
        self.seed = int(seed)
        #: Negative marginal log-likelihood (per datum) reached by each restart of the
        #: last fit; ``nan`` for a restart that failed.
        self.restart_losses: list[float] = []
        if cat_dims:
            self._calibrate_level_values(train_X)

    # ------------------------------------------------------------------ set-up
    def _calibrate_level_values(self, train_X: Tensor) -> None:
        r"""Tell the kernel how the input transform encodes each level.

        Pushes the codes ``0..L-1`` of every categorical column through the input
        transform (in eval mode, as ``posterior`` does) and checks that the transformed
        training inputs decode back to their codes.
        """
        transform = getattr(self, "input_transform", None)
        kernel = self.latent_kernel
        kernel.set_level_values(
            transformed_level_values(train_X, self.cat_dims, self.num_levels, transform)
        )
        with torch.no_grad():
            train_tf = (
                train_X if transform is None else transform.preprocess_transform(train_X)
            )
        decoded = kernel.level_codes(train_tf).to(train_X)
        if not torch.equal(decoded, train_X[:, self.cat_dims].round()):
            raise ValueError(
                "The input transform does not map each categorical column on its own: "
                "transformed training inputs do not decode back to their level codes."
            )

    # ------------------------------------------------------------------ accessors
    @property
    def latent_kernel(self) -> LatentVariableKernel:
        r"""The ``LatentVariableKernel`` inside the ``ScaleKernel``."""
        return self.covar_module.base_kernel

    def latent_coordinates(self) -> dict[int, Tensor]:
        r"""Learned latent coordinates of every categorical column.

        Returns:
            A dict mapping each categorical column index to an ``L x latent_dim``
            tensor whose row ``l`` is the latent position of level ``l`` (row 0 is the
            origin, row 1 lies on the first axis).
        """
        latent = self.latent_kernel.latent.detach()
        return {
            column: latent[k, :n_levels].clone()
            for k, (column, n_levels) in enumerate(zip(self.cat_dims, self.num_levels))
        }

    # ------------------------------------------------------------------ fitting
    def fit(self) -> LVGP:
        r"""Fit by marginal likelihood with ``num_restarts`` random starts.

        Equivalent to ``fit_gpytorch_mll(ExactMarginalLogLikelihood(likelihood, model))``.

        Returns:
            The fitted model (in eval mode).
        """
        fit_gpytorch_mll(ExactMarginalLogLikelihood(self.likelihood, self))
        return self

    def custom_fit(
        self,
        mll: MarginalLogLikelihood,
        closure: Callable[[], tuple[Tensor, Sequence[Tensor | None]]] | None = None,
        optimizer: Callable | None = None,
        closure_kwargs: dict[str, Any] | None = None,
        optimizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> MarginalLogLikelihood:
        r"""Multi-start marginal-likelihood fit; called by ``fit_gpytorch_mll``.

        Each restart draws initial latent coordinates, length-scales and noise from a
        generator seeded with ``self.seed``, runs ``optimizer`` (L-BFGS-B through
        ``fit_gpytorch_mll_scipy`` by default) and the parameters of the restart with
        the lowest loss are kept.  With the default optimizer each start is limited
        to ``self.max_iter`` L-BFGS-B iterations unless ``optimizer_kwargs`` sets
        ``options``.

        Args:
            mll: An ``ExactMarginalLogLikelihood`` whose model is this model.
            closure: Optional forward-backward closure (see ``fit_gpytorch_mll``).
            optimizer: Optional fit routine with the signature of
                ``fit_gpytorch_mll_scipy``.
            closure_kwargs: Keyword arguments for ``closure``.
            optimizer_kwargs: Keyword arguments for ``optimizer``.
            **kwargs: Ignored (accepted for ``fit_gpytorch_mll`` compatibility).

        Returns:
            ``mll`` in eval mode, loaded with the best restart's parameters.
        """
        if not isinstance(mll, ExactMarginalLogLikelihood) or mll.model is not self:
            raise ValueError("custom_fit needs an ExactMarginalLogLikelihood of this model.")
        optimizer_kwargs = {} if optimizer_kwargs is None else dict(optimizer_kwargs)
        if optimizer is None:
            optimizer = fit_gpytorch_mll_scipy
            optimizer_kwargs.setdefault("options", {"maxiter": self.max_iter})
        mll.train()
        if closure_kwargs is not None:
            if closure is None:
                closure = get_loss_closure_with_grads(
                    mll, parameters=get_parameters(mll, requires_grad=True)
                )
            closure = partial(closure, **closure_kwargs)

        generator = torch.Generator().manual_seed(self.seed)
        best_loss, best_state = math.inf, None
        self.restart_losses = []
        for _ in range(self.num_restarts):
            self._initialize_hyperparameters(generator)
            loss = math.nan
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", OptimizationWarning)
                    result = optimizer(mll, closure=closure, **optimizer_kwargs)
                loss = float(result.fval)
            except NotPSDError:
                pass
            self.restart_losses.append(loss)
            if math.isfinite(loss) and loss < best_loss:
                best_loss, best_state = loss, deepcopy(mll.state_dict())
            mll.train()
        if best_state is None:
            raise ModelFittingError(f"All {self.num_restarts} LVGP fit restarts failed.")
        mll.load_state_dict(best_state)
        return mll.eval()

    def _initialize_hyperparameters(self, generator: torch.Generator) -> None:
        r"""Draw a restart's initial hyper-parameters from ``generator``."""
        kernel = self.latent_kernel
        tkwargs = {"dtype": kernel.raw_latent.dtype, "device": kernel.raw_latent.device}
        with torch.no_grad():
            latent = INIT_LATENT_SCALE * torch.randn(
                kernel.raw_latent.shape, generator=generator, dtype=tkwargs["dtype"]
            )
            kernel.set_latent(latent.to(**tkwargs))
            if kernel.quant_dims:
                kernel.quantitative_lengthscale = _log_uniform(
                    len(kernel.quant_dims), INIT_LENGTHSCALE_RANGE, generator
                ).to(**tkwargs)
            self.covar_module.outputscale = torch.ones((), **tkwargs)
            self.mean_module.constant = torch.zeros((), **tkwargs)
            likelihood = self.likelihood
            if isinstance(likelihood, GaussianLikelihood) and not isinstance(
                likelihood, FixedNoiseGaussianLikelihood
            ):
                likelihood.noise = _log_uniform(1, INIT_NOISE_RANGE, generator).to(**tkwargs)

    # ------------------------------------------------------------------ BoTorch glue
    @classmethod
    def construct_inputs(
        cls,
        training_data: SupervisedDataset,
        categorical_features: Sequence[int] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        r"""Model keyword arguments from a ``SupervisedDataset`` (as Ax calls it).

        Args:
            training_data: The training data.
            categorical_features: Indices of the categorical columns (Ax passes the
                search space's categorical features here).
            **options: Further constructor options (``num_levels``, ``latent_dim``,
                ``kernel``, ``nu``, ``num_restarts``, ``max_iter``, ``seed``,
                ``likelihood``).
        """
        inputs = super().construct_inputs(training_data=training_data)
        return {**inputs, "cat_dims": list(categorical_features or []), **options}


def _log_uniform(
    size: int, bounds: tuple[float, float], generator: torch.Generator
) -> Tensor:
    r"""``size`` float64 draws, log-uniform on ``bounds``."""
    low, high = math.log(bounds[0]), math.log(bounds[1])
    u = torch.rand(size, generator=generator, dtype=torch.float64)
    return torch.exp(low + (high - low) * u)


def _validate_lvgp_inputs(
    train_X: Tensor,
    train_Y: Tensor,
    cat_dims: Sequence[int],
    num_levels: Sequence[int] | None,
) -> tuple[list[int], list[int], list[int]]:
    r"""Check LVGP training data; return sorted ``cat_dims``, ``quant_dims``, levels.

    Returns:
        Non-negative categorical column indices, quantitative column indices, and the
        number of levels of each categorical column (aligned with the first list).
    """
    if not isinstance(train_X, Tensor) or not isinstance(train_Y, Tensor):
        raise TypeError("train_X and train_Y must be torch tensors.")
    if train_X.dim() != 2 or train_Y.dim() != 2:
        raise ValueError(
            f"LVGP expects n x d train_X and n x 1 train_Y, got shapes "
            f"{tuple(train_X.shape)} and {tuple(train_Y.shape)}."
        )
    if train_Y.shape[-1] != 1:
        raise ValueError(
            f"LVGP is single-output (train_Y is n x 1), got {train_Y.shape[-1]} "
            "outputs; wrap one LVGP per output in botorch.models.ModelListGP."
        )
    if train_X.shape[0] != train_Y.shape[0]:
        raise ValueError(
            f"train_X has {train_X.shape[0]} rows but train_Y has {train_Y.shape[0]}."
        )
    if train_X.shape[0] < 2:
        raise ValueError("LVGP needs at least 2 training points.")
    if not train_X.is_floating_point():
        raise TypeError("train_X must be a floating-point tensor.")
    if not (torch.isfinite(train_X).all() and torch.isfinite(train_Y).all()):
        raise ValueError("train_X and train_Y must be finite.")
    cat = normalize_cat_dims(cat_dims, d=train_X.shape[-1])
    quant = [i for i in range(train_X.shape[-1]) if i not in set(cat)]
    given_order = [int(i) % train_X.shape[-1] for i in cat_dims]
    levels = infer_num_levels(train_X, cat, num_levels=num_levels, given_order=given_order)
    return cat, quant, levels
