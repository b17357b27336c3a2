r"""An ensemble posterior whose MC samples enumerate the members.

BoTorch's :class:`~botorch.sampling.index_sampler.IndexSampler` draws member
indices independently per t-batch: the same ``x`` then gets different members
in two slots and 512 draws of a 56-member ensemble waste work.
:class:`EnumeratingSampler` instead lets sample ``i`` be member ``i mod s``
(or, for weighted members, a deterministic largest-remainder allocation of the
samples to members), the same member for every t-batch: Monte-Carlo
acquisitions see the exact ensemble average with common random numbers.

:class:`ReservoirPosterior` is an :class:`EnsemblePosterior` for which
:func:`botorch.sampling.get_sampler` returns an :class:`EnumeratingSampler`,
so stock MC acquisitions (qLogNEI, qUCB, qLogEHVI, ...) pick it up without
being told. When the members report their own predictive std (Gaussian processes,
forests), the posterior carries it: a sample is a member's prediction plus that member's
std times a standard normal draw, so that a reservoir of GPs is not read as certain of its
means (the draws are fixed by ``noise_seed``: common random numbers again).
"""

from __future__ import annotations

import math

import torch
from botorch.posteriors.ensemble import EnsemblePosterior
from botorch.sampling.base import MCSampler
from botorch.sampling.get_sampler import GetSampler
from torch import Tensor

__all__ = ["EnumeratingSampler", "ReservoirPosterior", "allocate_members"]


class ReservoirPosterior(EnsemblePosterior):
    r"""Ensemble posterior of a :class:`~axfusion.models.ReservoirModel`.

    :class:`EnsemblePosterior` (``values`` is ``batch x s x q x m``) for which
    ``get_sampler`` dispatches to :class:`EnumeratingSampler`, with the members' own
    predictive stds when they have them.

    Args:
        values: ``batch x s x q x m`` member predictions.
        weights: ``s`` member weights (``None``: uniform).
        stds: ``batch x s x q x m`` the members' own predictive stds (0 for a member
            without one), or ``None``. Then the posterior is the mixture of the members'
            Gaussians: :attr:`variance` adds the weighted mean of the members' variances
            to their spread, and a sample of member ``j`` at a point is
            ``values_j + stds_j z`` with ``z`` standard normal, independent across points
            and outputs (a member's covariance between points is not kept).
        noise_seed: Seed of the normal draws ``z``; the same sample slot and point get the
            same ``z`` in every t-batch and every call with the same shapes.
    """

    def __init__(
        self,
        values: Tensor,
        weights: Tensor | None = None,
        stds: Tensor | None = None,
        noise_seed: int = 0,
    ) -> None:
        super().__init__(values=values, weights=weights)
        if stds is not None:
            if stds.shape != values.shape:
                raise ValueError(f"stds has shape {tuple(stds.shape)}, values {tuple(values.shape)}.")
            stds = stds.to(values).clamp_min(0.0)
            if not bool((stds > 0).any()):
                stds = None
        self.stds = stds
        self.noise_seed = int(noise_seed)

    @property
    def variance(self) -> Tensor:
        r"""``batch x q x m``: the members' spread plus, with :attr:`stds`, the
        weighted mean of their own variances (the law of total variance)."""
        var = super().variance
        if self.stds is None:
            return var
        return var + (self.weights[..., None, None] * self.stds**2).sum(dim=-3)

    def rsample_from_base_samples(self, sample_shape: torch.Size, base_samples: Tensor) -> Tensor:
        r"""Member values at the sampled indices, plus their own noise when :attr:`stds`
        is set: ``sample_shape x batch x q x m``."""
        out = super().rsample_from_base_samples(sample_shape=sample_shape, base_samples=base_samples)
        if self.stds is None:
            return out
        sd = EnsemblePosterior(values=self.stds).rsample_from_base_samples(
            sample_shape=sample_shape, base_samples=base_samples
        )
        gen = torch.Generator().manual_seed(self.noise_seed)
        shape = sample_shape + torch.Size([1] * len(self.batch_shape)) + self.values.shape[-2:]
        z = torch.randn(shape, generator=gen, dtype=self.values.dtype).to(self.values.device)
        return out + sd * z


def allocate_members(n_samples: int, weights: Tensor) -> Tensor:
    r"""Deterministically assign ``n_samples`` MC samples to members.

    Member ``j`` receives ``floor(n w_j)`` samples plus one of the remaining
    samples in order of the largest remainders (ties to the lower index).

    Args:
        n_samples: Number of samples ``S``.
        weights: ``s`` non-negative member weights.

    Returns:
        ``S`` member indices (long), sorted.
    """
    w = weights.detach().double().clamp_min(0)
    if w.sum() <= 0:
        raise ValueError("Member weights must have a positive sum.")
    w = w / w.sum()
    exact = n_samples * w
    counts = exact.floor().long()
    short = n_samples - int(counts.sum())
    if short > 0:
        remainder = exact - counts
        order = torch.argsort(-remainder, stable=True)
        counts[order[:short]] += 1
    return torch.repeat_interleave(torch.arange(w.numel()), counts)


class EnumeratingSampler(MCSampler):
    r"""MC sampler that enumerates the members of an ensemble posterior.

    With uniform member weights and ``S`` a multiple of the ensemble size ``s``
    the MC average is the exact ensemble average. Every t-batch sees the same
    member in a given sample slot (common random numbers).

    Args:
        sample_shape: The sample shape; ``S = sample_shape.numel()``.
        seed: Unused (the sampler is deterministic); kept for API symmetry.
    """

    # The posterior is narrowed to EnsemblePosterior, as in BoTorch's own IndexSampler: BoTorch
    # dispatches this sampler for ensemble posteriors only (see _get_enumerating_sampler).
    def forward(self, posterior: EnsemblePosterior) -> Tensor:  # type: ignore[override]
        r"""Draw the samples: ``sample_shape x batch x q x m``."""
        self._construct_base_samples(posterior=posterior)
        base_samples = self.base_samples
        assert isinstance(base_samples, Tensor)  # a registered buffer (typed Tensor | Module by torch)
        return posterior.rsample_from_base_samples(sample_shape=self.sample_shape, base_samples=base_samples)

    def _construct_base_samples(self, posterior: EnsemblePosterior) -> None:
        target_shape = self.sample_shape + posterior.batch_shape
        if self.base_samples is not None and self.base_samples.shape == target_shape:
            return
        n = self.sample_shape.numel()
        s = posterior.ensemble_size
        w = posterior.weights
        if w.ndim > 1:
            w = w.reshape(-1, s)[0]
        uniform = bool(torch.allclose(w, torch.full_like(w, 1.0 / s)))
        if uniform:
            idx = torch.arange(n) % s
        else:
            idx = allocate_members(n, w)
        idx = idx.reshape(self.sample_shape + torch.Size([1] * len(posterior.batch_shape)))
        self.register_buffer("base_samples", idx.expand(target_shape).to(posterior.device))

    def _update_base_samples(  # type: ignore[override]  # ensemble posteriors only, see forward
        self, posterior: EnsemblePosterior, base_sampler: MCSampler
    ) -> None:
        r"""No-op, needed for compatibility with cached-Cholesky acquisitions."""


@GetSampler.register(ReservoirPosterior)
def _get_enumerating_sampler(
    posterior: ReservoirPosterior,
    sample_shape: torch.Size,
    *,
    seed: int | None = None,
) -> MCSampler:
    r"""Dispatch: an :class:`EnumeratingSampler` that covers every member.

    With uniform weights and no member noise the sampler uses exactly one sample per
    member; with reliability weights or member noise (``posterior.stds``) it rounds the
    requested number of samples up to a multiple of the ensemble size and allocates
    them by weight.
    """
    s = posterior.ensemble_size
    w = posterior.weights.reshape(-1, s)[0]
    if posterior.stds is None and bool(torch.allclose(w, torch.full_like(w, 1.0 / s))):
        n = s
    else:
        n = s * math.ceil(max(sample_shape.numel(), s) / s)
    return EnumeratingSampler(sample_shape=torch.Size([n]), seed=seed)
