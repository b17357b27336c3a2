r"""Tests of axfusion.acquisition.exploration: GP-UCB exploration slots, GP-EI trust-region slots."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from axfusion.acquisition.exploration import gp_ei_slots, gp_ucb_slots
from axfusion.models.gp_family import ARDGaussianProcess


def _data(seed: int = 0, n: int = 15, k: int = 200):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.5, 1.5, size=(n, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * X[:, 1]
    Z = rng.uniform(-2, 2, size=(k, 2))
    return X, (y - y.mean()) / y.std(), Z


def test_first_slot_is_the_gp_upper_confidence_bound():
    X, y, Z = _data()
    slots = gp_ucb_slots(X, y[:, None], Z, 1, beta=2.0, seed=3)
    gp = ARDGaussianProcess(random_state=3).fit(X, y)
    mu, sd = gp.predict(Z, return_std=True)
    assert len(slots) == 1
    np.testing.assert_allclose(slots[0], mu + 2.0 * sd, rtol=1e-10)


def test_later_slots_are_conditioned_on_the_earlier_picks_and_spread_out():
    X, y, Z = _data(1)
    slots = gp_ucb_slots(X, y[:, None], Z, 3, seed=0)
    assert len(slots) == 3 and all(s.shape == (Z.shape[0],) for s in slots)
    first = int(np.argmax(slots[0]))
    # the believer leaves the mean as it was and shrinks the std: no score rises, the
    # pick's own falls by 2 (std before - std after)
    assert np.all(slots[1] <= slots[0] + 1e-8)
    gp = ARDGaussianProcess(random_state=0).fit(X, y)
    mu, sd = gp.predict(Z[first : first + 1], return_std=True)
    after = ARDGaussianProcess(hyperparameters=gp.hyperparameters_).fit(np.vstack([X, Z[first]]), np.append(y, mu))
    sd_after = after.predict(Z[first : first + 1], return_std=True)[1]
    assert sd_after[0] < 0.5 * sd[0]
    assert slots[1][first] == pytest.approx(slots[0][first] - 2.0 * (sd[0] - sd_after[0]), rel=1e-8)


def test_support_restricts_the_believer_picks_and_targets_are_averaged():
    X, y, Z = _data(2)
    support = np.zeros(Z.shape[0], dtype=bool)
    support[:50] = True
    Y = np.column_stack([y, -y])
    slots = gp_ucb_slots(X, Y, Z, 2, support=support, seed=0)
    first = int(np.flatnonzero(support)[np.argmax(slots[0][support])])
    assert slots[1][first] < slots[0][first]  # the pick came from the support
    one = gp_ucb_slots(X, y[:, None], Z, 1, seed=0)[0]
    other = gp_ucb_slots(X, -y[:, None], Z, 1, seed=0)[0]
    np.testing.assert_allclose(slots[0], 0.5 * (one + other), rtol=1e-8)
    assert gp_ucb_slots(X, y[:, None], Z, 0) == []


def test_first_ei_slot_is_the_log_expected_improvement_over_the_best_measured_value():
    X, y, Z = _data(3)
    slots = gp_ei_slots(X, y, Z, 1, seed=1)
    gp = ARDGaussianProcess(random_state=1).fit(X, y)
    mu, sd = gp.predict(Z, return_std=True)
    u = (mu - y.max()) / sd
    ei = sd * (u * norm.cdf(u) + norm.pdf(u))
    ok = ei > 1e-12  # where EI is representable, log EI agrees with the closed form
    assert ok.sum() > 20
    np.testing.assert_allclose(slots[0][ok], np.log(ei[ok]), rtol=1e-6, atol=1e-8)
    assert np.all(np.isfinite(slots[0]))  # finite far below the incumbent too


def test_later_ei_slots_fall_around_the_earlier_picks_and_respect_the_support():
    X, y, Z = _data(4)
    support = np.zeros(Z.shape[0], dtype=bool)
    support[::3] = True
    slots = gp_ei_slots(X, y, Z, 3, support=support, seed=0)
    assert len(slots) == 3
    first = int(np.flatnonzero(support)[np.argmax(slots[0][support])])
    # the believed pick's std collapses and its mean becomes the best value so far: its EI
    # falls, and no candidate's EI rises
    assert slots[1][first] < slots[0][first] - 1.0
    assert np.all(slots[1] <= slots[0] + 1e-6) and np.all(slots[2] <= slots[1] + 1e-6)
    assert gp_ei_slots(X, y, Z, 0) == []
