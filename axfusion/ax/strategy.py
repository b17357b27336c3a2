r"""Generation strategies: the fusion method and the baselines it is compared with.

:func:`generation_strategy` builds any of them by name, all usable with Ax's
``Client`` (``client.set_generation_strategy(gs)``) and the older
``AxClient(generation_strategy=gs)``:

============  ========================================================================
name          strategy
============  ========================================================================
``fusion``    ``n_initial`` Sobol trials (random rows of a pool), then
              :class:`~axfusion.ax.node.FusionGenerationNode`
``gpbo``      Ax's default GP-BO as ``Client.configure_generation_strategy()`` builds
              it (Sobol, then the modular BoTorch generator's defaults), without the
              centre trial
``lvgp``      Sobol, then the latent-variable GP (:class:`~axfusion.baselines.LVGP`)
              in Ax's modular BoTorch generator with mixed-variable transforms
              (``Generators.BO_MIXED`` plus
              :class:`~axfusion.ax.transforms.UnorderedChoiceToIndex`: each categorical
              parameter stays one column of level codes, which LVGP embeds)
``rfbo``      Sobol, then the Lolo-style random forest
              (:class:`~axfusion.baselines.RandomForestModel`, jackknife variance),
              same transforms
``sobol``     scrambled Sobol throughout (random rows of a pool)
``random``    uniform random throughout (random rows of a pool)
============  ========================================================================

The model-based baselines use Ax's default acquisition for the problem (LogEI family:
``qLogNoisyExpectedImprovement`` for one objective, ``qLogNEHVI`` for several, both
batch- and constraint-aware); ``acqf_class`` overrides it. On a closed pool only
``fusion``, ``sobol`` and ``random`` are available: Ax's BoTorch generator has no hook
for a candidate pool.

Every initial phase uses the same seeded Sobol generator, so the methods start from the
same designs. ``n_initial`` counts trials that did not fail; the initial node hands over
once ``n_initial`` trials have completed with data (the fusion node needs at least 5
successful measurements to fit its surrogates; ``gpbo`` keeps Ax's own rule, half of
them). At most ``n_initial`` initial trials are generated before data arrives, so the
call that crosses into the model-based node may return fewer trials than asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ax.adapter.registry import Generators
from ax.api.utils.generation_strategy_dispatch import choose_generation_strategy
from ax.api.utils.structs import GenerationStrategyDispatchStruct
from ax.core.experiment_status import ExperimentStatus
from ax.core.trial_status import TrialStatus
from ax.exceptions.core import UnsupportedError
from ax.generation_strategy.dispatch_utils import get_derelativize_config
from ax.generation_strategy.generation_node import GenerationNode
from ax.generation_strategy.generation_strategy import GenerationStrategy
from ax.generation_strategy.generator_spec import GeneratorSpec
from ax.generation_strategy.transition_criterion import MaxTrialsAwaitingData, MinTrials
from ax.generators.torch.botorch_modular.surrogate import ModelConfig, SurrogateSpec
from botorch.acquisition.acquisition import AcquisitionFunction

from axfusion.ax.node import MIN_OBSERVATIONS, FusionGenerationNode
from axfusion.ax.pool import PoolReference, PoolSource, pool_reference
from axfusion.ax.pool_random import PoolRandomNode
from axfusion.ax.transforms import LEVEL_CODE_TRANSFORMS
from axfusion.baselines import LVGP, RandomForestModel

__all__ = [
    "STRATEGY_NAMES",
    "fusion_generation_strategy",
    "generation_strategy",
    "initial_node",
    "modular_generation_strategy",
]

#: Names accepted by :func:`generation_strategy`.
STRATEGY_NAMES: tuple[str, ...] = ("fusion", "gpbo", "lvgp", "rfbo", "sobol", "random")

_NOT_MEASURED = [TrialStatus.FAILED, TrialStatus.ABANDONED]


def _whole(name: str, value: Any, minimum: int | None = None) -> int:
    r"""``value`` as an ``int`` if it is a whole number (numpy integers too; no floats, strings or booleans)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number; got {value!r} ({type(value).__name__}).")
    if minimum is not None and int(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _check_n_initial(n_initial: int, minimum: int = 1) -> int:
    return _whole("n_initial", n_initial, minimum)


def initial_node(
    next_node: str,
    *,
    n_initial: int,
    seed: int,
    pool: PoolReference | None = None,
) -> GenerationNode:
    r"""The initial design: seeded Sobol in a box, random rows of a pool.

    It hands over to ``next_node`` once ``n_initial`` trials exist that did not fail
    and ``n_initial`` trials have completed with data, and generates at most
    ``n_initial`` trials before data arrives.
    """
    n_initial = _check_n_initial(n_initial)
    transitions = [
        MinTrials(
            threshold=n_initial,
            transition_to=next_node,
            use_all_trials_in_exp=True,
            not_in_statuses=list(_NOT_MEASURED),
        ),
        MinTrials(
            threshold=n_initial,
            transition_to=next_node,
            use_all_trials_in_exp=True,
            only_in_statuses=[TrialStatus.COMPLETED],
            count_only_trials_with_data=True,
        ),
    ]
    pausing = [
        MaxTrialsAwaitingData(
            threshold=n_initial, not_in_statuses=list(_NOT_MEASURED), use_all_trials_in_exp=True
        )
    ]
    if pool is not None:
        return PoolRandomNode(
            pool, name="PoolRandom", seed=seed, transition_criteria=transitions, pausing_criteria=pausing
        )
    return GenerationNode(
        name="Sobol",
        generator_specs=[GeneratorSpec(generator_enum=Generators.SOBOL, generator_kwargs={"seed": seed})],
        transition_criteria=transitions,
        pausing_criteria=pausing,
        should_deduplicate=True,
        suggested_experiment_status=ExperimentStatus.INITIALIZATION,
    )


def fusion_generation_strategy(
    *,
    n_initial: int = 10,
    seed: int = 0,
    batch_size: int = 1,
    pool: PoolSource | PoolReference | None = None,
    include_failed: bool = True,
    preset: str = "default",
    **fusion_options: Any,
) -> GenerationStrategy:
    r"""Initial Sobol (or pool-random) trials, then the fusion method.

    Args:
        n_initial: Initial trials (at least 5, the surrogates' minimum).
        seed: Seed of the initial design and of the method.
        batch_size: Designs the fusion chooses jointly, under its batch diversity rules;
            set it to the ``max_trials`` of ``Client.get_next_trials`` (or the arms of a
            batch trial). More trials in one call continue the batch on the same fit.
        pool: A closed pool (array, DataFrame, ``CandidatePool``, ``.npy``/``.parquet``
            path or :class:`~axfusion.ax.pool.PoolReference`); the experiment must have
            the single parameter ``row_id`` (:func:`~axfusion.ax.pool.configure_pool_experiment`).
        include_failed: See :class:`~axfusion.ax.node.FusionGenerationNode`.
        preset: The method's named recipe (``"default"``, ``"paper"``, ``"authors_code"``).
        **fusion_options: Options applied to the preset (:mod:`axfusion.ax.options`): any
            option of :class:`~axfusion.settings.Settings` by unique name, e.g.
            ``families=("ridge", "knn", "lightgbm")``, ``n_members=3``, ``n_candidates=500``,
            ``time_budget_s=2.0``; dotted paths through ``**{"stage3.batch.cluster_bandwidth": False}``.

    Returns:
        A ``GenerationStrategy`` named ``"Sobol+Fusion"`` (``"PoolRandom+Fusion"``).
    """
    n_initial = _check_n_initial(n_initial, MIN_OBSERVATIONS)
    seed, batch_size = _whole("seed", seed), _whole("batch_size", batch_size, 1)
    ref = None if pool is None else pool_reference(pool)
    fusion = FusionGenerationNode(
        name="Fusion",
        seed=seed,
        batch_size=batch_size,
        options=fusion_options,
        preset=preset,
        pool=ref,
        include_failed=include_failed,
    )
    first = initial_node(fusion.name, n_initial=n_initial, seed=seed, pool=ref)
    return GenerationStrategy(nodes=[first, fusion], name=f"{first.name}+Fusion")


def _modular_node(
    name: str,
    model_config: ModelConfig,
    acqf_class: type[AcquisitionFunction] | None,
    allow_batched_models: bool = True,
) -> GenerationNode:
    r"""A modular BoTorch node with mixed-variable transforms that hand categorical
    parameters to the model as level codes (otherwise as Ax's dispatch builds its
    ``MBM`` node)."""
    kwargs: dict[str, Any] = {
        "surrogate_spec": SurrogateSpec(model_configs=[model_config], allow_batched_models=allow_batched_models),
        "transforms": list(LEVEL_CODE_TRANSFORMS),
        "transform_configs": get_derelativize_config(derelativize_with_raw_status_quo=True),
    }
    if acqf_class is not None:
        kwargs["botorch_acqf_class"] = acqf_class
    return GenerationNode(
        name=name,
        generator_specs=[GeneratorSpec(generator_enum=Generators.BO_MIXED, generator_kwargs=kwargs)],
        should_deduplicate=True,
        suggested_experiment_status=ExperimentStatus.OPTIMIZATION,
    )


def _gpbo(n_initial: int, seed: int, acqf_class: type[AcquisitionFunction] | None) -> GenerationStrategy:
    struct = GenerationStrategyDispatchStruct(
        method="fast",
        initialization_budget=n_initial,
        initialization_random_seed=seed,
        initialize_with_center=False,
    )
    return choose_generation_strategy(struct=struct, botorch_acqf_class=acqf_class)


def modular_generation_strategy(
    model_config: ModelConfig,
    *,
    n_initial: int = 10,
    seed: int = 0,
    acqf_class: type[AcquisitionFunction] | None = None,
    label: str | None = None,
    allow_batched_models: bool = True,
) -> GenerationStrategy:
    r"""Seeded Sobol, then any BoTorch model in Ax's modular BoTorch generator with the
    level-code mixed-variable transforms (how ``lvgp`` and ``rfbo`` are built).

    Args:
        model_config: The Ax ``ModelConfig`` (e.g. ``ModelConfig(ReservoirModel, ...)``).
        n_initial: Initial Sobol trials.
        seed: Seed of the Sobol design.
        acqf_class: BoTorch acquisition class (default: Ax's choice).
        label: Name of the model node (default: the config's name or ``"MBM"``).
        allow_batched_models: Let Ax fit several outcomes with one batched model;
            ``False`` fits one model per outcome (a ``ModelList``), for single-output
            models such as ``LVGP``.
    """
    model_node = _modular_node(
        label or model_config.name or "MBM", model_config, acqf_class, allow_batched_models
    )
    first = initial_node(model_node.name, n_initial=_check_n_initial(n_initial), seed=seed)
    return GenerationStrategy(nodes=[first, model_node], name=f"Sobol+{model_node.name}")


def _space_filling(kind: str, seed: int, ref: PoolReference | None) -> GenerationStrategy:
    if ref is not None:
        return GenerationStrategy(nodes=[PoolRandomNode(ref, name="PoolRandom", seed=seed)], name="PoolRandom")
    generator = Generators.SOBOL if kind == "sobol" else Generators.UNIFORM
    node = GenerationNode(
        name=kind.capitalize(),
        generator_specs=[GeneratorSpec(generator_enum=generator, generator_kwargs={"seed": seed})],
        should_deduplicate=True,
        suggested_experiment_status=ExperimentStatus.INITIALIZATION,
    )
    return GenerationStrategy(nodes=[node], name=node.name)


def generation_strategy(
    name: str,
    *,
    seed: int = 0,
    n_initial: int = 10,
    batch_size: int = 1,
    pool: PoolSource | PoolReference | None = None,
    acqf_class: type[AcquisitionFunction] | None = None,
    model_options: dict[str, Any] | None = None,
    **fusion_options: Any,
) -> GenerationStrategy:
    r"""A generation strategy by name (see the module docstring for the names).

    Args:
        name: One of :data:`STRATEGY_NAMES`.
        seed: Seed of the initial design and of the method.
        n_initial: Initial (Sobol / random pool rows) trials.
        batch_size: Designs chosen jointly by the fusion node (Ax's own nodes generate as
            many arms as each call asks for; more trials in one call continue the fusion's
            batch on the same fit).
        pool: A closed pool (``fusion``, ``sobol`` and ``random`` only).
        acqf_class: BoTorch acquisition class of ``gpbo``/``lvgp``/``rfbo`` (default:
            Ax's choice for the optimization config).
        model_options: Constructor options of the ``lvgp``/``rfbo`` model (defaults:
            LVGP ``num_restarts=3``, the forest ``n_estimators=100``; ``seed`` is added).
        **fusion_options: Options of ``fusion`` (:mod:`axfusion.ax.options`).

    Raises:
        ValueError: for an unknown name.
        UnsupportedError: for a model-based baseline on a pool, or options given to a
            strategy they do not apply to.
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {list(STRATEGY_NAMES)}.")
    seed, batch_size = _whole("seed", seed), _whole("batch_size", batch_size, 1)
    if name == "fusion":
        if acqf_class is not None or model_options:
            raise UnsupportedError("acqf_class and model_options apply to 'gpbo', 'lvgp' and 'rfbo' only.")
        return fusion_generation_strategy(
            n_initial=n_initial, seed=seed, batch_size=batch_size, pool=pool, **fusion_options
        )
    if fusion_options:
        raise UnsupportedError(f"Options {sorted(fusion_options)} apply to the 'fusion' strategy only.")
    ref = None if pool is None else pool_reference(pool)
    if name in ("sobol", "random"):
        return _space_filling(name, seed, ref)
    if ref is not None:
        raise UnsupportedError(
            f"The {name!r} baseline runs Ax's modular BoTorch generator, which cannot search a closed "
            "pool; use 'fusion', 'sobol' or 'random' on pools."
        )
    n_initial = _check_n_initial(n_initial)
    if name == "gpbo":
        if model_options:
            raise UnsupportedError("'gpbo' uses Ax's default model; model_options do not apply.")
        return _gpbo(n_initial, seed, acqf_class)
    options = dict(model_options or {})
    options.setdefault("seed", seed)
    if name == "lvgp":
        options.setdefault("num_restarts", 3)
        config = ModelConfig(botorch_model_class=LVGP, model_options=options, name="LVGP")
        return modular_generation_strategy(
            config, n_initial=n_initial, seed=seed, acqf_class=acqf_class, allow_batched_models=False
        )
    options.setdefault("n_estimators", 100)
    config = ModelConfig(botorch_model_class=RandomForestModel, model_options=options, name="RFBO")
    return modular_generation_strategy(config, n_initial=n_initial, seed=seed, acqf_class=acqf_class)
