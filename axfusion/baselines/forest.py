r"""Lolo-style random forest with jackknife uncertainty, as a BoTorch model.

The second baseline of the LVGP-vs-Lolo comparison: a random forest whose predictive
variance is the bias-corrected jackknife-after-bootstrap and/or infinitesimal-jackknife
estimate of Wager, Hastie & Efron (2014), as in Citrine's Lolo.  The forest is
scikit-learn's random-forest algorithm with the bootstraps drawn here: every tree is a
``DecisionTreeRegressor`` fitted on all rows with ``sample_weight`` equal to its in-bag
counts (exactly how ``RandomForestRegressor`` fits a bootstrapped tree), so the in-bag
count matrix the variance estimators need is known without private scikit-learn API.

The posterior is Gaussian with diagonal covariance (``GPyTorchPosterior``), so analytic
(``LogExpectedImprovement``, ``UpperConfidenceBound``) and MC (``qLogExpectedImprovement``)
acquisitions accept it.  The forest is piecewise constant in ``X``: its gradient is zero
almost everywhere and is returned as such, so gradient-based optimisers stop at their
raw samples; use ``optimize_acqf_discrete`` or a candidate pool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from botorch.acquisition.objective import PosteriorTransform
from botorch.models.model import Model
from botorch.models.transforms.input import InputTransform
from botorch.models.transforms.outcome import OutcomeTransform
from botorch.posteriors.gpytorch import GPyTorchPosterior
from botorch.posteriors.posterior import Posterior
from botorch.utils.datasets import SupervisedDataset
from gpytorch.distributions import MultitaskMultivariateNormal, MultivariateNormal
from linear_operator.operators import DiagLinearOperator
from sklearn.tree import DecisionTreeRegressor
from torch import Tensor

from axfusion.baselines.categorical import (
    decode_levels,
    infer_num_levels,
    level_ranges,
    mean_target_ranks,
    normalize_cat_dims,
    pad_level_values,
    transformed_level_values,
)
from axfusion.baselines.jackknife import (
    VARIANCE_METHODS,
    VarianceMethod,
    bagged_variance,
    bootstrap_counts,
    out_of_bag_mean,
)

_SEED_BOUND = 2**31 - 1


class RandomForestModel(Model):
    r"""Random forest with jackknife / infinitesimal-jackknife predictive variance.

    One forest of ``n_estimators`` trees per output; all forests share the bootstrap
    samples.  The variance is that of the forest's mean prediction (Lolo's
    ``stdDevMean``), floored at ``variance_floor`` times the variance of the training
    targets.

    Example:
        >>> X = torch.rand(40, 2, dtype=torch.float64)
        >>> model = RandomForestModel(X, X.sum(-1, keepdim=True), n_estimators=50)
        >>> post = model.posterior(torch.rand(5, 3, 2, dtype=torch.float64))
        >>> post.mean.shape, post.variance.shape
        (torch.Size([5, 3, 1]), torch.Size([5, 3, 1]))
    """

    def __init__(
        self,
        train_X: Tensor,
        train_Y: Tensor,
        cat_dims: Sequence[int] = (),
        num_levels: Sequence[int] | None = None,
        n_estimators: int = 100,
        max_features: float | int | str | None = 1.0,
        min_samples_leaf: int = 1,
        max_depth: int | None = None,
        uncertainty: VarianceMethod = "jackknife",
        variance_floor: float = 1e-6,
        chunk_size: int = 2048,
        seed: int = 0,
        input_transform: InputTransform | None = None,
        outcome_transform: OutcomeTransform | None = None,
    ) -> None:
        r"""
        Args:
            train_X: An ``n x d`` tensor of training inputs.
            train_Y: An ``n x m`` tensor of training targets.
            cat_dims: Indices of categorical columns holding integer level codes
                ``0..L-1``.  Each tree splits them on the levels ordered by in-bag
                mean target (see ``mean_target_ranks``), not on the arbitrary codes.
            num_levels: Number of levels of each categorical column, in the order of
                ``cat_dims``; inferred as ``max code + 1`` if omitted.
            n_estimators: Number of trees per output (``B >= 2``).
            max_features: Features considered per split, as in scikit-learn (default
                all features, scikit-learn's regression default).
            min_samples_leaf: Minimum number of rows in a leaf.
            max_depth: Maximum tree depth; unlimited if None.
            uncertainty: ``"jackknife"`` (bias-corrected jackknife-after-bootstrap),
                ``"ij"`` (bias-corrected infinitesimal jackknife), ``"jackknife_ij"``
                (their average, Lolo's estimator) or ``"trees"`` (variance of the
                individual trees).
            variance_floor: Smallest predictive variance, as a fraction of the variance
                of each (transformed) training target.
            chunk_size: Number of prediction points processed at once; bounds memory
                at about ``(B + n) * chunk_size`` floats.
            seed: Seed of the bootstrap samples and of the trees' feature sampling.
            input_transform: An input transform applied before the trees.
            outcome_transform: An outcome transform (e.g. ``Standardize``); the forest
                is fitted to transformed targets and the posterior untransformed.
        """
        super().__init__()
        _validate_forest_inputs(train_X, train_Y)
        d = train_X.shape[-1]
        self.cat_dims = normalize_cat_dims(cat_dims, d=d)
        self.num_levels = infer_num_levels(
            train_X,
            self.cat_dims,
            num_levels=num_levels,
            given_order=[int(i) % d for i in cat_dims],
        )
        if n_estimators < 2:
            raise ValueError(f"n_estimators must be >= 2, got {n_estimators}.")
        if uncertainty not in VARIANCE_METHODS:
            raise ValueError(
                f"uncertainty must be one of {VARIANCE_METHODS}, got {uncertainty!r}."
            )
        if not variance_floor >= 0.0:
            raise ValueError(f"variance_floor must be >= 0, got {variance_floor}.")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}.")
        self.n_estimators = int(n_estimators)
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.uncertainty: VarianceMethod = uncertainty
        self.variance_floor = float(variance_floor)
        self.chunk_size = int(chunk_size)
        self.seed = int(seed)
        self._num_outputs = train_Y.shape[-1]
        self._input_dim = train_X.shape[-1]

        with torch.no_grad():
            X_tf = self.transform_inputs(X=train_X, input_transform=input_transform)
        if outcome_transform is not None:
            outcome_transform.train()
            train_Y, _ = outcome_transform(train_Y, X=X_tf)
        if input_transform is not None:
            self.input_transform = input_transform
        if outcome_transform is not None:
            self.outcome_transform = outcome_transform
        self._set_level_values(train_X, X_tf, input_transform)
        x_np = X_tf.detach().cpu().numpy().astype(np.float64)
        y_np = train_Y.detach().cpu().numpy().astype(np.float64)
        self._fit_forests(x_np, self._level_codes(X_tf), y_np)

    def _set_level_values(
        self, train_X: Tensor, X_tf: Tensor, input_transform: InputTransform | None
    ) -> None:
        r"""Record how the input transform encodes each level; check the training data."""
        values = transformed_level_values(
            train_X, self.cat_dims, self.num_levels, input_transform
        )
        self._level_values = pad_level_values(values).to(torch.float64)
        self._level_lower, self._level_upper = level_ranges(self._level_values)
        codes = self._level_codes(X_tf)
        if not np.array_equal(codes, train_X[:, self.cat_dims].cpu().numpy()):
            raise ValueError(
                "The input transform does not map each categorical column on its own: "
                "transformed training inputs do not decode back to their level codes."
            )

    def _level_codes(self, X_tf: Tensor) -> np.ndarray:
        r"""``N x k`` level codes of the categorical columns of ``N x d`` inputs."""
        if not self.cat_dims:
            return np.zeros((X_tf.shape[0], 0), dtype=np.int64)
        codes = decode_levels(
            X_tf[:, self.cat_dims].detach().cpu().to(torch.float64),
            self._level_values,
            self._level_lower,
            self._level_upper,
        )
        return codes.numpy()

    # ------------------------------------------------------------------ fitting
    def _fit_forests(self, x: np.ndarray, codes: np.ndarray, y: np.ndarray) -> None:
        r"""Draw the bootstraps and fit one forest per output column of ``y``.

        Args:
            x: ``n x d`` transformed training inputs.
            codes: ``n x k`` level codes of the categorical columns.
            y: ``n x m`` transformed training targets.
        """
        n = x.shape[0]
        rng = np.random.default_rng(self.seed)
        self.inbag_counts: np.ndarray = bootstrap_counts(n, self.n_estimators, rng)
        tree_seeds = rng.integers(_SEED_BOUND, size=(y.shape[1], self.n_estimators))
        weights = self.inbag_counts.astype(np.float64)
        self.forests: list[list[DecisionTreeRegressor]] = []
        self._level_ranks: list[np.ndarray] = []
        oob_mse, floors = [], []
        for j in range(y.shape[1]):
            self._level_ranks.append(
                mean_target_ranks(codes, y[:, j], weights, self.num_levels)
            )
            trees = []
            for b, tree_seed in enumerate(tree_seeds[j]):
                tree = DecisionTreeRegressor(
                    max_features=self.max_features,
                    min_samples_leaf=self.min_samples_leaf,
                    max_depth=self.max_depth,
                    random_state=int(tree_seed),
                )
                x_b = self._encode(x, codes, j, b)
                trees.append(tree.fit(x_b, y[:, j], sample_weight=weights[b]))
            self.forests.append(trees)
            oob = out_of_bag_mean(self._tree_predictions(j, x, codes), self.inbag_counts)
            residual = (y[:, j] - oob)[np.isfinite(oob)]
            oob_mse.append(float(np.mean(residual**2)) if residual.size else math.nan)
            target_variance = float(np.var(y[:, j]))
            scale = target_variance if target_variance > 0 else 1.0
            floors.append(self.variance_floor * scale)
        #: Out-of-bag mean squared error of each (transformed) output; the observation
        #: variance ``posterior(..., observation_noise=True)`` adds.
        self.oob_mse: Tensor = torch.tensor(oob_mse, dtype=torch.float64)
        self._floors = np.asarray(floors)

    def _encode(self, x: np.ndarray, codes: np.ndarray, output: int, tree: int) -> np.ndarray:
        r"""Replace the categorical columns of ``x`` by tree ``tree``'s level ranks."""
        if not self.cat_dims:
            return x
        ranks = self._level_ranks[output][tree]  # k x L_max
        encoded = x.copy()
        encoded[:, self.cat_dims] = ranks[np.arange(len(self.cat_dims)), codes]
        return encoded

    def _tree_predictions(self, output: int, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        r"""``B x N`` predictions of the trees of ``output`` at ``x`` (``N x d``).

        Args:
            output: The output index.
            x: ``N x d`` transformed inputs.
            codes: ``N x k`` level codes of their categorical columns.
        """
        return np.stack(
            [
                tree.predict(self._encode(x, codes, output, b))
                for b, tree in enumerate(self.forests[output])
            ]
        )

    # ------------------------------------------------------------------ prediction
    def _predict_moments(
        self, X: Tensor, outputs: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Forest mean and variance in the model's (transformed) space.

        Args:
            X: An ``N x d`` tensor of inputs, already input-transformed.
            outputs: Output indices (all if None).

        Returns:
            Two ``N x k`` arrays, mean and variance, for the ``k`` selected outputs.
        """
        outputs = list(range(self._num_outputs)) if outputs is None else list(outputs)
        x = X.detach().cpu().numpy().astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("X must be finite.")
        codes = self._level_codes(X)
        n_points = x.shape[0]
        mean = np.empty((n_points, len(outputs)))
        variance = np.empty((n_points, len(outputs)))
        for start in range(0, n_points, self.chunk_size):
            rows = slice(start, start + self.chunk_size)
            for col, j in enumerate(outputs):
                predictions = self._tree_predictions(j, x[rows], codes[rows])
                mean[rows, col] = predictions.mean(axis=0)
                variance[rows, col] = np.maximum(
                    bagged_variance(predictions, self.inbag_counts, self.uncertainty),
                    self._floors[j],
                )
        return mean, variance

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
        **kwargs: Any,
    ) -> Posterior:
        r"""Gaussian posterior with diagonal covariance.

        Args:
            X: A ``batch_shape x q x d`` tensor of inputs.
            output_indices: Outputs to return (all if None).
            observation_noise: If True, add each output's out-of-bag mean squared
                error; if a tensor (``batch_shape x q x k``), add it.  In the
                outcome-transformed space.
            posterior_transform: An optional ``PosteriorTransform``.

        Returns:
            A ``GPyTorchPosterior`` with ``mean`` and ``variance`` of shape
            ``batch_shape x q x k`` (``k`` selected outputs), or its transform.
        """
        if not isinstance(X, Tensor) or not X.is_floating_point() or X.dim() < 2:
            raise ValueError("X must be a floating-point batch_shape x q x d tensor.")
        if X.shape[-1] != self._input_dim:
            raise ValueError(f"X has {X.shape[-1]} columns, the model {self._input_dim}.")
        outputs = self._resolve_outputs(output_indices)
        self.eval()
        X_tf = self.transform_inputs(X)
        mean_np, var_np = self._predict_moments(X_tf.reshape(-1, X_tf.shape[-1]), outputs)
        out_shape = (*X_tf.shape[:-1], len(outputs))
        mean = torch.as_tensor(mean_np, dtype=X.dtype, device=X.device).reshape(out_shape)
        variance = torch.as_tensor(var_np, dtype=X.dtype, device=X.device).reshape(out_shape)
        if isinstance(observation_noise, Tensor):
            variance = variance + observation_noise.to(variance).expand(out_shape)
        elif observation_noise:
            variance = variance + self.oob_mse[outputs].to(variance)
        if X_tf.requires_grad:
            # Piecewise constant in X: connect to X with an exact zero gradient.
            mean = mean + 0.0 * X_tf.sum(dim=-1, keepdim=True)
        posterior: Posterior = GPyTorchPosterior(distribution=_diagonal_normal(mean, variance))
        if hasattr(self, "outcome_transform"):
            transform = self.outcome_transform
            if output_indices is not None:
                transform = transform.subset_output(outputs)
            posterior = transform.untransform_posterior(posterior, X=X)
        if posterior_transform is not None:
            return posterior_transform(posterior=posterior, X=X)
        return posterior

    def _resolve_outputs(self, output_indices: list[int] | None) -> list[int]:
        if output_indices is None:
            return list(range(self._num_outputs))
        m = self._num_outputs
        if len(output_indices) == 0 or any(not -m <= i < m for i in output_indices):
            raise ValueError(f"output_indices {output_indices} invalid for {m} outputs.")
        return [i % m for i in output_indices]

    # ------------------------------------------------------------------ BoTorch glue
    @property
    def num_outputs(self) -> int:
        r"""The number of outputs ``m``."""
        return self._num_outputs

    @property
    def batch_shape(self) -> torch.Size:
        r"""The model is not batched: ``torch.Size([])``."""
        return torch.Size([])

    def _set_transformed_inputs(self) -> None:
        r"""No-op: the trees are fitted once, on transformed inputs (not a GP)."""

    def _revert_to_original_inputs(self) -> None:
        r"""No-op counterpart of ``_set_transformed_inputs``."""

    @classmethod
    def construct_inputs(
        cls,
        training_data: SupervisedDataset,
        categorical_features: Sequence[int] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        r"""Model keyword arguments from a ``SupervisedDataset`` (as Ax calls it).

        Known observation variances (``training_data.Yvar``) are not used by the
        forest and are dropped.

        Args:
            training_data: The training data.
            categorical_features: Indices of the categorical columns (Ax passes the
                search space's categorical features here).
            **options: Further constructor options (``n_estimators``,
                ``uncertainty``, ``num_levels``, ...).
        """
        return {
            "train_X": training_data.X,
            "train_Y": training_data.Y,
            "cat_dims": list(categorical_features or []),
            **options,
        }


def _diagonal_normal(mean: Tensor, variance: Tensor) -> MultivariateNormal:
    r"""Independent normal over ``batch_shape x q x k`` means and variances.

    Returns a ``MultivariateNormal`` over ``q`` points if ``k = 1`` and an interleaved
    ``MultitaskMultivariateNormal`` otherwise.
    """
    if mean.shape[-1] == 1:
        return MultivariateNormal(mean.squeeze(-1), DiagLinearOperator(variance.squeeze(-1)))
    flat_variance = variance.reshape(*variance.shape[:-2], -1)
    return MultitaskMultivariateNormal(
        mean, DiagLinearOperator(flat_variance), interleaved=True
    )


def _validate_forest_inputs(train_X: Tensor, train_Y: Tensor) -> None:
    if not isinstance(train_X, Tensor) or not isinstance(train_Y, Tensor):
        raise TypeError("train_X and train_Y must be torch tensors.")
    if train_X.dim() != 2 or train_Y.dim() != 2:
        raise ValueError(
            f"RandomForestModel expects n x d train_X and n x m train_Y, got shapes "
            f"{tuple(train_X.shape)} and {tuple(train_Y.shape)}."
        )
    if train_X.shape[0] != train_Y.shape[0]:
        raise ValueError(
            f"train_X has {train_X.shape[0]} rows but train_Y has {train_Y.shape[0]}."
        )
    if train_X.shape[0] < 2:
        raise ValueError("RandomForestModel needs at least 2 training points.")
    if not (train_X.is_floating_point() and train_Y.is_floating_point()):
        raise TypeError("train_X and train_Y must be floating-point tensors.")
    if not (torch.isfinite(train_X).all() and torch.isfinite(train_Y).all()):
        raise ValueError("train_X and train_Y must be finite (no NaN or inf).")
