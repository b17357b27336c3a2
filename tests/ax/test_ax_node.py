from __future__ import annotations

import numpy as np
import pytest
from ax.api.client import Client
from ax.api.configs import RangeParameterConfig
from ax.exceptions.core import UnsupportedError

from axfusion.ax import ROW_ID, FusionGenerationNode, configure_pool_experiment, register_pool, unregister_pool


@pytest.fixture
def pool_client():
    X = np.random.default_rng(0).uniform(size=(40, 2))
    client = Client()
    ref = configure_pool_experiment(client, X, name="test-ax-node-pool")
    client.configure_optimization(objective="y")
    for row in range(6):
        index = client.attach_trial({ROW_ID: row})
        client.complete_trial(index, {"y": float(X[row].sum())})
    failed = client.attach_trial({ROW_ID: 6})
    client.mark_trial_failed(failed)
    client.attach_trial({ROW_ID: 7})  # running
    yield client, ref
    unregister_pool("test-ax-node-pool")


def test_failed_arms_are_kept_or_forgotten(pool_client, fast_options):
    client, ref = pool_client
    exp = client._experiment
    keep = FusionGenerationNode(pool=ref, options=fast_options)
    keep.update_generator_state(exp, exp.lookup_data())
    assert [o.key for o in keep.optimizer.observations] == list(range(7))
    assert [o.failed for o in keep.optimizer.observations] == [False] * 6 + [True]
    assert keep.optimizer.pool.evaluated_ids().tolist() == list(range(7))
    forget = FusionGenerationNode(pool=ref, options=fast_options, include_failed=False)
    forget.update_generator_state(exp, exp.lookup_data())
    assert [o.key for o in forget.optimizer.observations] == list(range(6))
    # Running trials are pending: the batch avoids them and the measured rows.
    forget._n_remaining = 3
    rows = [forget.get_next_candidate([{ROW_ID: 7}])[ROW_ID] for _ in range(3)]
    assert len(set(rows)) == 3 and not set(rows) & (set(range(6)) | {7})


def test_invalid_uses_raise(pool_client, fast_options):
    client, ref = pool_client
    box = Client()
    box.configure_experiment(parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))])
    box.configure_optimization(objective="y")
    node = FusionGenerationNode(pool=ref, options=fast_options)
    with pytest.raises(UnsupportedError, match="row_id"):
        node.update_generator_state(box._experiment, box._experiment.lookup_data())
    no_config = Client()
    no_config.configure_experiment(
        parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))]
    )
    with pytest.raises(UnsupportedError, match="optimization config"):
        FusionGenerationNode().update_generator_state(no_config._experiment, no_config._experiment.lookup_data())
    with pytest.raises(RuntimeError, match="update_generator_state"):
        FusionGenerationNode().get_next_candidate([])
    with pytest.raises(ValueError, match="batch_size"):
        FusionGenerationNode(batch_size=0)
    with pytest.raises(TypeError, match="Unknown fusion option"):
        FusionGenerationNode(options={"n_trees": 3})
    with pytest.raises(ValueError, match="min_observations"):
        FusionGenerationNode(min_observations=2)
    with pytest.raises(ValueError, match="different pool"):
        register_pool("test-ax-node-pool", np.zeros((40, 2)))
