r"""Everything Ax needs to know about axfusion's classes (run on import of :mod:`axfusion.ax`).

:func:`register_with_ax` (idempotent) makes these registrations:

- JSON and SQL storage of the generation nodes: :class:`FusionGenerationNode` and
  :class:`PoolRandomNode` in Ax's ``CORE_ENCODER_REGISTRY``/``CORE_DECODER_REGISTRY``
  (the default ``SQAConfig`` shares these dicts, so SQL storage knows them too);
- JSON and SQL storage of ``ModelConfig``s that name :class:`~axfusion.models.ReservoirModel`,
  :class:`~axfusion.baselines.LVGP` or :class:`~axfusion.baselines.RandomForestModel`
  (``botorch_modular_registry.register_model``) and of the baselines' transform
  :class:`~axfusion.ax.transforms.UnorderedChoiceToIndex` (``register_transform``);
- model fitting inside Ax's modular BoTorch generator: ``fit_botorch_model`` fits a
  ``ReservoirModel`` (Ax builds it, then fits it) and is a no-op for ``RandomForestModel``
  (which fits in its constructor); ``LVGP`` is a ``SingleTaskGP`` and takes Ax's GP path, which runs its
  multi-start ``custom_fit``;
- model construction: ``ReservoirModel.construct_inputs`` (attached here, see
  :func:`reservoir_construct_inputs`), a ``submodel_input_constructor`` case for
  ``ReservoirModel`` that attaches no BoTorch transforms, and cases for
  ``LVGP``/``RandomForestModel`` that pass the number of levels of each categorical
  column from the search space (levels not yet observed are known to the model).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ax.core.search_space import SearchSpaceDigest
from ax.generators.torch.botorch_modular.surrogate import Surrogate, submodel_input_constructor
from ax.generators.torch.botorch_modular.utils import ModelConfig, fit_botorch_model
from ax.storage.botorch_modular_registry import register_model
from ax.storage.json_store.registry import CORE_DECODER_REGISTRY, CORE_ENCODER_REGISTRY
from ax.storage.transform_registry import register_transform
from botorch.models.model import Model
from botorch.utils.datasets import SupervisedDataset
from gpytorch.mlls.marginal_log_likelihood import MarginalLogLikelihood

from axfusion.ax.node import FusionGenerationNode
from axfusion.ax.pool_random import PoolRandomNode
from axfusion.ax.storable import encode_node
from axfusion.ax.transforms import UnorderedChoiceToIndex
from axfusion.baselines import LVGP, RandomForestModel
from axfusion.models import ReservoirModel

__all__ = ["NODE_CLASSES", "register_with_ax", "reservoir_construct_inputs"]

#: Generation node classes stored by Ax's JSON/SQL storage.
NODE_CLASSES: tuple[type, ...] = (FusionGenerationNode, PoolRandomNode)

_REGISTERED = False


def reservoir_construct_inputs(
    cls: type[ReservoirModel],
    training_data: SupervisedDataset,
    categorical_features: list[int] | None = None,
    **options: Any,
) -> dict[str, Any]:
    r"""``ReservoirModel`` keyword arguments from a ``SupervisedDataset`` (as Ax calls it).

    The reservoir's members see one-hot (or numeric) columns and have no use for the
    categorical column indices or known observation variances, which are dropped; every
    other option (``families``, ``n_members``, ``seed``, ...) goes to the constructor.

    Args:
        training_data: ``n x d`` inputs and ``n x m`` targets.
        categorical_features: Ignored (Ax passes it for categorical search spaces).
        **options: ``ReservoirModel`` constructor options (``ModelConfig.model_options``).
    """
    families = options.pop("families", None)
    if families is not None:
        options["families"] = tuple(families)
    return {"train_X": training_data.X, "train_Y": training_data.Y, **options}


def _fit_in_constructor(
    model: Model,
    mll_class: type[MarginalLogLikelihood] | None = None,
    mll_options: dict[str, Any] | None = None,
) -> None:
    r"""No-op fit: the model was fitted when it was constructed."""
    return None


def _fit_reservoir(
    model: Model,
    mll_class: type[MarginalLogLikelihood] | None = None,
    mll_options: dict[str, Any] | None = None,
) -> None:
    r"""Fit a :class:`~axfusion.models.ReservoirModel` (Ax builds it, then fits it)."""
    if not model.is_fitted:
        model.fit()  # type: ignore[operator]


def _with_num_levels(
    botorch_model_class: type[Model],
    model_config: ModelConfig,
    dataset: SupervisedDataset,
    search_space_digest: SearchSpaceDigest,
    surrogate: Surrogate,
) -> dict[str, Any]:
    r"""Ax's base model inputs plus ``num_levels`` of every categorical column."""
    base = submodel_input_constructor.dispatch(Model)
    inputs = base(
        botorch_model_class=botorch_model_class,
        model_config=model_config,
        dataset=dataset,
        search_space_digest=search_space_digest,
        surrogate=surrogate,
    )
    cat_dims = list(inputs.get("cat_dims", []))
    if cat_dims:
        inputs.setdefault(
            "num_levels", [len(search_space_digest.discrete_choices[c]) for c in cat_dims]
        )
    return inputs


def _reservoir_inputs(
    botorch_model_class: type[Model],
    model_config: ModelConfig,
    dataset: SupervisedDataset,
    search_space_digest: SearchSpaceDigest,
    surrogate: Surrogate,
) -> dict[str, Any]:
    r"""Ax's base model inputs for ``ReservoirModel``, without BoTorch transforms.

    The reservoir standardises (and clips) its inputs itself and Ax's adapter has
    already standardised the outcomes, so no input or outcome transform is attached.
    (Ax would refuse them anyway: it looks for the transform arguments among the
    positional parameters, and the reservoir's are keyword-only.)
    """
    base = submodel_input_constructor.dispatch(Model)
    bare = dataclasses.replace(model_config, input_transform_classes=None, outcome_transform_classes=None)
    return base(
        botorch_model_class=botorch_model_class,
        model_config=bare,
        dataset=dataset,
        search_space_digest=search_space_digest,
        surrogate=surrogate,
    )


def register_with_ax() -> None:
    r"""Register axfusion's nodes and models with Ax (safe to call more than once)."""
    global _REGISTERED
    if _REGISTERED:
        return
    for cls in NODE_CLASSES:
        CORE_ENCODER_REGISTRY[cls] = encode_node
        CORE_DECODER_REGISTRY[cls.__name__] = cls
    for model_class in (ReservoirModel, LVGP, RandomForestModel):
        register_model(model_class)
    register_transform(UnorderedChoiceToIndex)
    ReservoirModel.construct_inputs = classmethod(reservoir_construct_inputs)  # type: ignore[assignment]
    fit_botorch_model.register(ReservoirModel)(_fit_reservoir)
    fit_botorch_model.register(RandomForestModel)(_fit_in_constructor)
    submodel_input_constructor.register(ReservoirModel)(_reservoir_inputs)
    submodel_input_constructor.register(LVGP)(_with_num_levels)
    submodel_input_constructor.register(RandomForestModel)(_with_num_levels)
    _REGISTERED = True
