r"""axfusion inside Ax: generation strategies, closed pools, storage and baselines.

- :func:`fusion_generation_strategy` -- initial Sobol (or random pool rows), then the
  fusion method as an Ax ``ExternalGenerationNode`` (:class:`FusionGenerationNode`);
- :func:`generation_strategy` -- the fusion method or a baseline by name
  (``"fusion"``, ``"gpbo"``, ``"lvgp"``, ``"rfbo"``, ``"sobol"``, ``"random"``);
- closed pools: :func:`configure_pool_experiment`, :func:`register_pool`,
  :class:`PoolReference` (the experiment's single parameter is the row id ``row_id``);
- storage: importing this package registers the nodes and models with Ax's JSON and SQL
  storage and its modular BoTorch generator (:mod:`axfusion.ax.registration`).

Example::

    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig
    from axfusion.ax import fusion_generation_strategy

    client = Client()
    client.configure_experiment(
        parameters=[RangeParameterConfig(name="x", parameter_type="float", bounds=(0.0, 1.0))]
    )
    client.configure_optimization(objective="-loss")
    client.set_generation_strategy(fusion_generation_strategy(n_initial=8, batch_size=4, seed=0))
    trials = client.get_next_trials(max_trials=4)
"""

from axfusion.ax.node import FusionGenerationNode
from axfusion.ax.objectives import TargetSpec, targets_from_config
from axfusion.ax.pool import (
    ROW_ID,
    PoolReference,
    configure_pool_experiment,
    pool_parameter_config,
    pool_reference,
    pool_search_space,
    register_pool,
    registered_pools,
    unregister_pool,
)
from axfusion.ax.pool_random import PoolRandomNode
from axfusion.ax.registration import register_with_ax
from axfusion.ax.space import SpaceTranslation, translate_search_space
from axfusion.ax.strategy import (
    STRATEGY_NAMES,
    fusion_generation_strategy,
    generation_strategy,
    initial_node,
    modular_generation_strategy,
)

register_with_ax()

__all__ = [
    "ROW_ID",
    "STRATEGY_NAMES",
    "FusionGenerationNode",
    "PoolRandomNode",
    "PoolReference",
    "SpaceTranslation",
    "TargetSpec",
    "configure_pool_experiment",
    "fusion_generation_strategy",
    "generation_strategy",
    "initial_node",
    "modular_generation_strategy",
    "pool_parameter_config",
    "pool_reference",
    "pool_search_space",
    "register_pool",
    "register_with_ax",
    "registered_pools",
    "targets_from_config",
    "translate_search_space",
    "unregister_pool",
]
