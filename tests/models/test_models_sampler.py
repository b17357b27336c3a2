import pytest
import torch
from botorch.sampling.get_sampler import get_sampler

from axfusion.models.sampler import EnumeratingSampler, ReservoirPosterior, allocate_members


def test_enumerating_sampler_visits_every_member_once():
    values = torch.arange(6, dtype=torch.float64).reshape(6, 1, 1).expand(6, 2, 1).clone()
    post = ReservoirPosterior(values=values)
    sampler = get_sampler(post, sample_shape=torch.Size([512]))
    assert isinstance(sampler, EnumeratingSampler)
    samples = sampler(post)
    assert samples.shape == (6, 2, 1)
    assert sorted(samples[:, 0, 0].tolist()) == list(range(6))
    # exact ensemble average
    assert samples.mean(0).flatten().tolist() == [2.5, 2.5]


def test_common_member_across_t_batches():
    values = torch.randn(4, 5, 2, 1, dtype=torch.float64)  # batch 4 x s=5 x q=2 x m=1
    # identical member values in every t-batch -> identical samples per slot
    values[:] = values[0]
    post = ReservoirPosterior(values=values)
    sampler = EnumeratingSampler(sample_shape=torch.Size([10]))
    s = sampler(post)
    assert s.shape == (10, 4, 2, 1)
    assert torch.equal(s[:, 0], s[:, 3])


def test_weighted_allocation_is_proportional():
    idx = allocate_members(100, torch.tensor([0.5, 0.3, 0.2]))
    assert torch.bincount(idx).tolist() == [50, 30, 20]
    idx = allocate_members(10, torch.tensor([1.0, 1.0, 1.0]))
    assert torch.bincount(idx).tolist() == [4, 3, 3]
    post = ReservoirPosterior(values=torch.randn(3, 2, 1), weights=torch.tensor([0.5, 0.3, 0.2]))
    sampler = get_sampler(post, sample_shape=torch.Size([7]))
    assert sampler.sample_shape == torch.Size([9])


def test_member_stds_are_checked_and_zero_stds_are_dropped():
    values = torch.randn(3, 4, 1, dtype=torch.float64)
    assert ReservoirPosterior(values=values, stds=torch.zeros_like(values)).stds is None
    with pytest.raises(ValueError, match="stds has shape"):
        ReservoirPosterior(values=values, stds=torch.ones(3, 4, 2, dtype=torch.float64))
    post = ReservoirPosterior(values=values, stds=torch.ones_like(values))
    # one sample per member would not sample the noise: the sampler asks for more
    sampler = get_sampler(post, sample_shape=torch.Size([10]))
    assert sampler.sample_shape == torch.Size([12])
    draws = sampler(post)
    assert draws.shape == (12, 4, 1) and not torch.equal(draws[0], draws[3])  # member 0, two draws
