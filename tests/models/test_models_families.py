import numpy as np
import pytest

from axfusion.capacity import caps_from_capacity
from axfusion.models import families as fam


@pytest.mark.parametrize("name", fam.list_families())
def test_every_builtin_family_fits_inside_its_caps(name):
    caps = caps_from_capacity(60, 4, 20)
    family = fam.get_family(name)
    grid = family.param_grid(caps, 20, 6)
    assert grid
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 6))
    y = X[:, 0] - X[:, 1] ** 2
    est = fam.fit_quietly(family.build(grid[0], seed=0), X, y)
    mu, sd = family.predict(est, X[:4])
    assert mu.shape == (4,)
    assert (sd is not None) == family.provides_std
    for params in grid:
        if "n_estimators" in params:
            assert params["n_estimators"] <= max(caps.max_trees, 20)
        if "n_neighbors" in params:
            assert params["n_neighbors"] <= min(caps.knn_k_max, 19)
        if "max_depth" in params:
            assert params["max_depth"] <= caps.max_depth
        if "hidden_layer_sizes" in params:
            assert max(params["hidden_layer_sizes"]) <= caps.mlp_width
            assert len(params["hidden_layer_sizes"]) <= caps.mlp_depth


def test_grids_grow_with_capacity():
    small, large = caps_from_capacity(30, 3, 10), caps_from_capacity(900, 3, 300)
    mlp = fam.get_family("mlp")
    assert max(max(p["hidden_layer_sizes"]) for p in mlp.param_grid(large, 300, 10)) >= max(
        max(p["hidden_layer_sizes"]) for p in mlp.param_grid(small, 10, 10)
    )
    lgb = fam.get_family("lightgbm")
    assert max(p["n_estimators"] for p in lgb.param_grid(large, 300, 10)) >= max(
        p["n_estimators"] for p in lgb.param_grid(small, 10, 10)
    )


def test_register_and_resolve():
    from sklearn.linear_model import HuberRegressor

    f = fam.SklearnFamily("huber_test", HuberRegressor(), grid=[{"epsilon": 1.35}])
    fam.register_family(f)
    try:
        assert fam.get_family("huber_test") is f
        with pytest.raises(ValueError, match="already registered"):
            fam.register_family(f)
        assert [x.name for x in fam.resolve_families(["ridge", "huber_test"])] == ["ridge", "huber_test"]
        with pytest.raises(ValueError, match="twice"):
            fam.resolve_families(["ridge", "ridge"])
        with pytest.raises(TypeError):
            fam.register_family("ridge")  # type: ignore[arg-type]
    finally:
        fam._REGISTRY.pop("huber_test", None)
    assert fam.resolve_families(None)[0].name == fam.DEFAULT_FAMILIES[0]


def test_limit_threads_is_reentrant_and_restores_the_limit():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})

    before = blas_threads()
    with fam.limit_threads(1):
        inner = fam.limit_threads(1)
        # inside a limit of the same size a second limit is a no-op (no library rescan)
        assert type(inner).__name__ == "nullcontext"
        with inner:
            assert set(blas_threads()) <= {1}
        assert type(fam.limit_threads(2)).__name__ != "nullcontext"
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before
    assert type(fam.limit_threads(1)).__name__ != "nullcontext"
