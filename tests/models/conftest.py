from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

#: Families cheap enough for unit tests but covering every tier.
FAST_FAMILIES = ("ridge", "lasso", "knn", "mlp", "lightgbm", "xgboost")


def kmeans_clusterer(X: np.ndarray, seed: int) -> np.ndarray:
    return KMeans(n_clusters=3, n_init=2, random_state=seed).fit_predict(X)


def toy_data(n: int = 40, d: int = 5, m: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, d))
    y1 = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2]
    cols = [y1]
    if m > 1:
        cols.append(-((X[:, 0] - 0.3) ** 2) + 0.5 * X[:, 3])
    Y = np.stack(cols[:m], axis=1) + 0.01 * rng.normal(size=(n, m))
    return torch.tensor(X), torch.tensor(Y)


@pytest.fixture(scope="module")
def fitted_single():
    from axfusion.models import ReservoirModel

    X, Y = toy_data()
    return ReservoirModel(X, Y, families=FAST_FAMILIES, n_members=4, clusterer=kmeans_clusterer, seed=0).fit()


@pytest.fixture(scope="module")
def fitted_two():
    from axfusion.models import ReservoirModel

    X, Y = toy_data(m=2)
    return ReservoirModel(
        X, Y, families=("ridge", "knn", "lightgbm"), n_members=4, clusterer=kmeans_clusterer, seed=1
    ).fit()
