r"""Latent-variable kernel for mixed quantitative / categorical inputs.

Each categorical variable ``t_k`` with ``L_k`` levels is mapped to learned coordinates
``z_k(t_k)`` in a ``latent_dim``-dimensional latent space (Zhang, Tao, Chen & Apley,
"A latent variable approach to Gaussian process modeling with qualitative and
quantitative factors", Technometrics 2020).  The kernel is a stationary kernel on the
joint space

.. math::

    k(v, v') = \kappa\Big(\sqrt{\textstyle\sum_j (x_j - x'_j)^2 / \ell_j^2
        + \sum_k \lVert z_k(t_k) - z_k(t'_k) \rVert^2}\Big),

with ``kappa`` the Gaussian (RBF) or a Matérn correlation.  The latent coordinates have
no separate length-scale: their scale is learned directly.  For identifiability the
first level sits at the origin and the second level on the first latent axis (in
general, level ``l`` has ``min(l, latent_dim)`` free coordinates), which removes the
translations and rotations that leave the kernel unchanged.

Categorical columns hold level codes.  Because an input transform (e.g. a ``Normalize``
that Ax applies to every column) may rescale those columns, the kernel decodes a level
as the nearest entry of ``level_values``, the transformed values of the codes
``0, ..., L_k - 1``; with no transform these are the codes themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from gpytorch.constraints import Interval, Positive
from gpytorch.kernels import Kernel
from torch import Tensor
from torch.nn import Parameter

from axfusion.baselines.categorical import decode_levels, level_ranges, pad_level_values

KernelName = Literal["rbf", "matern"]
MATERN_NUS: tuple[float, ...] = (0.5, 1.5, 2.5)


class LatentVariableKernel(Kernel):
    r"""Stationary kernel on quantitative inputs joined with latent level coordinates.

    Parameters (all unbatched):

    - ``raw_quantitative_lengthscale``: ``p`` ARD length-scales of the quantitative
      columns (absent when ``p = 0``);
    - ``raw_latent``: ``n_cat x L_max x latent_dim`` unconstrained coordinates, of which
      only the entries allowed by ``latent_mask`` are used (the others are fixed at 0).

    Example:
        >>> kernel = LatentVariableKernel(quant_dims=[0], cat_dims=[1], num_levels=[4])
        >>> X = torch.tensor([[0.1, 0.0], [0.5, 3.0]], dtype=torch.float64)
        >>> kernel.to(X)(X).to_dense().shape
        torch.Size([2, 2])
    """

    # buffers (registered in __init__, replaced by set_level_values)
    level_values: Tensor
    _decode_lower: Tensor
    _decode_upper: Tensor

    def __init__(
        self,
        quant_dims: Sequence[int],
        cat_dims: Sequence[int],
        num_levels: Sequence[int],
        latent_dim: int = 2,
        kernel: KernelName = "rbf",
        nu: float = 2.5,
        lengthscale_constraint: Interval | None = None,
    ) -> None:
        r"""
        Args:
            quant_dims: Non-negative column indices of the quantitative inputs.
            cat_dims: Non-negative column indices of the categorical inputs.
            num_levels: Number of levels ``L_k >= 1`` of each categorical input, in
                the order of ``cat_dims``.
            latent_dim: Dimension of the latent space of every categorical input.
            kernel: ``"rbf"`` (Gaussian, as in LVGP) or ``"matern"``.
            nu: Smoothness of the Matérn kernel, one of 0.5, 1.5, 2.5 (ignored for
                ``"rbf"``).
            lengthscale_constraint: Constraint on the quantitative length-scales;
                ``Positive()`` if omitted.
        """
        super().__init__()
        quant_dims = [int(i) for i in quant_dims]
        cat_dims = [int(i) for i in cat_dims]
        num_levels = [int(n) for n in num_levels]
        if len(quant_dims) + len(cat_dims) == 0:
            raise ValueError("LatentVariableKernel needs at least one input column.")
        if min(quant_dims + cat_dims) < 0:
            raise ValueError("Column indices must be non-negative.")
        if len(set(quant_dims + cat_dims)) != len(quant_dims) + len(cat_dims):
            raise ValueError("quant_dims and cat_dims must be disjoint, without repeats.")
        if len(num_levels) != len(cat_dims):
            raise ValueError(
                f"num_levels has {len(num_levels)} entries for {len(cat_dims)} "
                "categorical columns."
            )
        if any(n < 1 for n in num_levels):
            raise ValueError(f"Every categorical input needs >= 1 level, got {num_levels}.")
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}.")
        if kernel not in ("rbf", "matern"):
            raise ValueError(f"kernel must be 'rbf' or 'matern', got {kernel!r}.")
        if kernel == "matern" and nu not in MATERN_NUS:
            raise ValueError(f"nu must be one of {MATERN_NUS}, got {nu}.")

        self.quant_dims = quant_dims
        self.cat_dims = cat_dims
        self.num_levels = num_levels
        self.latent_dim = int(latent_dim)
        self.kernel_name: KernelName = kernel
        self.nu = float(nu)

        if quant_dims:
            self.register_parameter(
                "raw_quantitative_lengthscale",
                Parameter(torch.zeros(len(quant_dims), dtype=torch.float64)),
            )
            self.register_constraint(
                "raw_quantitative_lengthscale",
                Positive() if lengthscale_constraint is None else lengthscale_constraint,
            )
            self.quantitative_lengthscale = torch.ones(len(quant_dims), dtype=torch.float64)

        n_cat, l_max = len(cat_dims), max(num_levels, default=1)
        # Level l of input k has min(l, latent_dim) free coordinates; padding is masked.
        mask = torch.zeros(n_cat, l_max, self.latent_dim, dtype=torch.float64)
        for k, n_levels in enumerate(num_levels):
            for level in range(n_levels):
                mask[k, level, : min(level, self.latent_dim)] = 1.0
        self.register_buffer("latent_mask", mask)
        self.register_buffer("level_values", torch.empty(n_cat, l_max, dtype=torch.float64))
        self.register_buffer("_decode_lower", torch.empty(n_cat, dtype=torch.float64))
        self.register_buffer("_decode_upper", torch.empty(n_cat, dtype=torch.float64))
        self.set_level_values([torch.arange(n, dtype=torch.float64) for n in num_levels])
        self.register_parameter("raw_latent", Parameter(torch.zeros_like(mask)))
        self.register_buffer("_cat_index", torch.arange(n_cat))
        self.register_buffer("_cat_columns", torch.tensor(cat_dims, dtype=torch.long))
        self.register_buffer("_quant_columns", torch.tensor(quant_dims, dtype=torch.long))

    # ------------------------------------------------------------------ parameters
    @property
    def quantitative_lengthscale(self) -> Tensor | None:
        r"""The ``p`` ARD length-scales of the quantitative columns (None if ``p = 0``)."""
        if not self.quant_dims:
            return None
        return self.raw_quantitative_lengthscale_constraint.transform(
            self.raw_quantitative_lengthscale
        )

    @quantitative_lengthscale.setter
    def quantitative_lengthscale(self, value: Tensor | float) -> None:
        if not self.quant_dims:
            raise ValueError("The kernel has no quantitative columns.")
        value = torch.as_tensor(value).to(self.raw_quantitative_lengthscale)
        value = value.expand_as(self.raw_quantitative_lengthscale)
        self.initialize(
            raw_quantitative_lengthscale=(
                self.raw_quantitative_lengthscale_constraint.inverse_transform(value)
            )
        )

    @property
    def latent(self) -> Tensor:
        r"""Latent coordinates, ``n_cat x L_max x latent_dim`` (padding rows are 0)."""
        return self.raw_latent * self.latent_mask

    def set_latent(self, latent: Tensor) -> None:
        r"""Set the latent coordinates from an ``n_cat x L_max x latent_dim`` tensor.

        Entries fixed by the identifiability constraints are ignored (kept at 0).
        """
        if latent.shape != self.raw_latent.shape:
            raise ValueError(
                f"Expected latent of shape {tuple(self.raw_latent.shape)}, got "
                f"{tuple(latent.shape)}."
            )
        self.initialize(raw_latent=latent.to(self.raw_latent) * self.latent_mask)

    def set_level_values(self, level_values: Sequence[Tensor]) -> None:
        r"""Set the (input-transformed) column values that encode each level.

        Args:
            level_values: One tensor of shape ``L_k`` per categorical input: the value
                that encodes level ``l`` in the inputs the kernel receives.
        """
        if len(level_values) != len(self.cat_dims):
            raise ValueError("Need one tensor of level values per categorical input.")
        for k, (values, n_levels) in enumerate(zip(level_values, self.num_levels)):
            if torch.as_tensor(values).numel() != n_levels:
                raise ValueError(
                    f"Categorical input {k} has {n_levels} levels, got "
                    f"{torch.as_tensor(values).numel()} values."
                )
        if not self.cat_dims:
            return
        padded = pad_level_values(level_values).to(self.level_values)
        lower, upper = level_ranges(padded)
        self.level_values, self._decode_lower, self._decode_upper = padded, lower, upper

    # ------------------------------------------------------------------ embedding
    def level_codes(self, x: Tensor) -> Tensor:
        r"""Decode the categorical columns of ``x`` into level indices.

        Args:
            x: A ``batch_shape x n x d`` tensor of (transformed) inputs.

        Returns:
            A ``batch_shape x n x n_cat`` long tensor of level indices.
        """
        return decode_levels(
            x.index_select(-1, self._cat_columns),
            self.level_values,
            self._decode_lower,
            self._decode_upper,
        )

    def embed(self, x: Tensor) -> Tensor:
        r"""Map inputs to the joint (scaled quantitative, latent) space.

        Args:
            x: A ``batch_shape x n x d`` tensor of (transformed) inputs.

        Returns:
            A ``batch_shape x n x (p + n_cat * latent_dim)`` tensor.
        """
        parts = []
        lengthscale = self.quantitative_lengthscale  # None without quantitative columns
        if lengthscale is not None:
            parts.append(x.index_select(-1, self._quant_columns) / lengthscale)
        if self.cat_dims:
            codes = self.level_codes(x)
            z = self.latent[self._cat_index, codes]  # batch x n x n_cat x latent_dim
            parts.append(z.flatten(-2))
        return torch.cat(parts, dim=-1)

    # ------------------------------------------------------------------ kernel
    def forward(
        self,
        x1: Tensor,
        x2: Tensor,
        diag: bool = False,
        last_dim_is_batch: bool = False,
        **params: object,
    ) -> Tensor:
        r"""Evaluate the kernel.

        Args:
            x1: A ``batch_shape x n x d`` tensor.
            x2: A ``batch_shape x m x d`` tensor.
            diag: If True, return only the diagonal (``batch_shape x n``).
            last_dim_is_batch: Unsupported (the columns are not exchangeable).

        Returns:
            A ``batch_shape x n x m`` covariance tensor (``batch_shape x n`` if ``diag``).
        """
        if last_dim_is_batch:
            raise ValueError("LatentVariableKernel does not support last_dim_is_batch.")
        f1, f2 = self.embed(x1), self.embed(x2)
        centre = f1.mean(dim=-2, keepdim=True).detach()
        f1, f2 = f1 - centre, f2 - centre
        if self.kernel_name == "rbf":
            sq_dist = self.covar_dist(f1, f2, diag=diag, square_dist=True)
            return torch.exp(-0.5 * sq_dist)
        dist = self.covar_dist(f1, f2, diag=diag, square_dist=False)
        scaled = math.sqrt(2.0 * self.nu) * dist
        if self.nu == 0.5:
            polynomial = torch.ones_like(scaled)
        elif self.nu == 1.5:
            polynomial = 1.0 + scaled
        else:
            polynomial = 1.0 + scaled + scaled.square() / 3.0
        return polynomial * torch.exp(-scaled)
