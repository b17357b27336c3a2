from __future__ import annotations

import torch
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
from ax.generators.torch.botorch_modular.surrogate import ModelConfig
from ax.storage.botorch_modular_registry import CLASS_TO_REGISTRY
from ax.storage.json_store.registry import CORE_DECODER_REGISTRY, CORE_ENCODER_REGISTRY
from ax.storage.transform_registry import REVERSE_TRANSFORM_REGISTRY
from botorch.models.model import Model
from botorch.utils.datasets import SupervisedDataset

from axfusion.ax import FusionGenerationNode, PoolRandomNode, modular_generation_strategy, register_with_ax
from axfusion.ax.transforms import UnorderedChoiceToIndex
from axfusion.baselines import LVGP, RandomForestModel
from axfusion.models import ReservoirModel

RESERVOIR = ModelConfig(
    botorch_model_class=ReservoirModel,
    model_options={"families": ["ridge", "knn"], "n_members": 3, "seed": 0},
    name="Reservoir",
)


def test_registrations_are_in_place_and_idempotent():
    register_with_ax()
    register_with_ax()
    for cls in (FusionGenerationNode, PoolRandomNode):
        assert cls in CORE_ENCODER_REGISTRY and CORE_DECODER_REGISTRY[cls.__name__] is cls
    for model in (ReservoirModel, LVGP, RandomForestModel):
        assert CLASS_TO_REGISTRY[Model][model] == model.__name__
    assert REVERSE_TRANSFORM_REGISTRY["UnorderedChoiceToIndex"] is UnorderedChoiceToIndex


def test_reservoir_construct_inputs_accepts_ax_options():
    X = torch.rand(12, 3, dtype=torch.float64)
    data = SupervisedDataset(X, X.sum(-1, keepdim=True), feature_names=["a", "b", "c"], outcome_names=["y"])
    inputs = ReservoirModel.construct_inputs(data, categorical_features=[2], families=["ridge"], n_members=2)
    assert set(inputs) == {"train_X", "train_Y", "families", "n_members"}
    assert inputs["families"] == ("ridge",)
    model = ReservoirModel(**inputs).fit()
    assert model.posterior(X[:4].unsqueeze(1)).mean.shape == (4, 1, 1)


def _reservoir_loop(x_parameter) -> Client:
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            x_parameter,
            ChoiceParameterConfig(name="c", parameter_type="str", values=["a", "b", "c"], is_ordered=False),
        ]
    )
    client.configure_optimization(objective="-loss")
    client.set_generation_strategy(modular_generation_strategy(RESERVOIR, n_initial=5, seed=0))
    for _ in range(4):
        for index, p in client.get_next_trials(max_trials=2).items():
            client.complete_trial(index, {"loss": (p["x"] / 20 - 0.3) ** 2 + (p["c"] == "b")})
    return client


def test_reservoir_in_ax_modular_botorch_on_a_discrete_space(tmp_path):
    client = _reservoir_loop(
        ChoiceParameterConfig(name="x", parameter_type="int", values=list(range(21)), is_ordered=True)
    )
    gs = client._generation_strategy
    assert isinstance(gs.adapter.generator.surrogate.model, ReservoirModel)
    last = client._experiment.trials[max(client._experiment.trials)]
    assert last.generator_runs[0]._generation_node_name == "Reservoir"
    path = tmp_path / "reservoir.json"
    client.save_to_json_file(str(path))
    reloaded = Client.load_from_json_file(str(path))
    assert len(reloaded.get_next_trials(max_trials=1)) == 1


def test_reservoir_in_ax_modular_botorch_on_a_continuous_space():
    # The members are not differentiable; the posterior keeps a zero-gradient path to X so
    # Ax's gradient-based optimiser runs (on its random restarts).
    Xq = torch.rand(3, 1, 2, dtype=torch.float64, requires_grad=True)
    small = ReservoirModel(
        Xq.detach()[:, 0].repeat(4, 1), torch.rand(12, 1, dtype=torch.float64), families=["ridge"], n_members=2
    ).fit()
    assert small.posterior(Xq).mean.requires_grad
    client = _reservoir_loop(RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 20.0)))
    assert isinstance(client._generation_strategy.adapter.generator.surrogate.model, ReservoirModel)


_SAVE = """
import sys
from ax.api.client import Client
from ax.api.configs import RangeParameterConfig
from axfusion.ax import fusion_generation_strategy

client = Client(random_seed=0)
client.configure_experiment(parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))])
client.configure_optimization(objective="-loss")
client.set_generation_strategy(fusion_generation_strategy(n_initial=5, batch_size=2, seed=0))
for index, p in client.get_next_trials(max_trials=2).items():
    client.complete_trial(index, {"loss": p["x"] ** 2})
client.save_to_json_file(sys.argv[1])
"""

_LOAD = """
import sys
{imports}
from ax.api.client import Client

client = Client.load_from_json_file(sys.argv[1])
print(type(client._generation_strategy.nodes_by_name["Fusion"]).__name__)
"""


def test_a_fresh_session_reloads_an_experiment_after_import_axfusion_ax(tmp_path):
    # Ax's decoder knows axfusion's classes once `import axfusion.ax` has run (README: "In an Ax
    # loop"); Ax has no plugin hook that would let a fresh session find them on its own.
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    path = tmp_path / "experiment.json"

    def python(code):
        return subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                              timeout=300)

    saved = python(_SAVE)
    assert saved.returncode == 0, saved.stderr
    without = python(_LOAD.format(imports=""))
    assert without.returncode != 0 and "FusionGenerationNode" in without.stderr
    loaded = python(_LOAD.format(imports="import axfusion.ax  # registers axfusion's classes with Ax"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "FusionGenerationNode"
