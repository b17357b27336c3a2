from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from axfusion.structure.silhouette import SampledSilhouette


@pytest.fixture
def points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(size=(60, 3)) + shift for shift in (0.0, 5.0, 10.0)])


def test_matches_sklearn_without_noise(points: np.ndarray) -> None:
    labels = np.repeat([0, 1, 2], 60)
    labels[5] = 3  # a singleton cluster scores 0 in both implementations
    scorer = SampledSilhouette(points, sample_size=10_000, rng=np.random.default_rng(0))
    assert scorer.score(labels) == pytest.approx(silhouette_score(points, labels), abs=1e-10)


def test_noise_is_excluded_and_penalised(points: np.ndarray) -> None:
    labels = np.repeat([0, 1, 2], 60)
    scorer = SampledSilhouette(points, sample_size=10_000, rng=np.random.default_rng(0))
    noisy = labels.copy()
    noisy[:60] = -1
    clean_part = silhouette_score(points[60:], labels[60:])
    assert scorer.score(noisy) == pytest.approx(clean_part * 120 / 180, abs=1e-10)


def test_undefined_with_fewer_than_two_clusters(points: np.ndarray) -> None:
    scorer = SampledSilhouette(points, sample_size=50, rng=np.random.default_rng(0))
    assert scorer.index.shape == (50,)
    assert np.isnan(scorer.score(np.zeros(180, dtype=int)))
    assert np.isnan(scorer.score(np.full(180, -1)))


def test_good_partition_beats_random_one(points: np.ndarray) -> None:
    scorer = SampledSilhouette(points, sample_size=100, rng=np.random.default_rng(1))
    good = np.repeat([0, 1, 2], 60)
    shuffled = np.random.default_rng(2).permutation(good)
    assert scorer.score(good) > 0.5 > scorer.score(shuffled)
