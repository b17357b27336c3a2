r"""Stage 1: the heterogeneous surrogate reservoir as a BoTorch model."""

from axfusion.models.bootstrap import BootstrapPlan, plan_bootstrap, target_biased_probabilities
from axfusion.models.families import (
    DEFAULT_BOX_FAMILIES,
    DEFAULT_FAMILIES,
    SklearnFamily,
    SurrogateFamily,
    get_family,
    list_families,
    register_family,
    resolve_families,
)
from axfusion.models.reservoir import FamilyMoments, ReservoirModel, SurrogateFitWarning
from axfusion.models.sampler import EnumeratingSampler, ReservoirPosterior, allocate_members
from axfusion.models.scores import FamilyScore, MemberScore, structural_trend
from axfusion.models.tuning import TuningRecord, TuningState

__all__ = [
    "DEFAULT_BOX_FAMILIES",
    "DEFAULT_FAMILIES",
    "BootstrapPlan",
    "EnumeratingSampler",
    "FamilyMoments",
    "FamilyScore",
    "MemberScore",
    "ReservoirModel",
    "ReservoirPosterior",
    "SklearnFamily",
    "SurrogateFamily",
    "SurrogateFitWarning",
    "TuningRecord",
    "TuningState",
    "allocate_members",
    "get_family",
    "list_families",
    "plan_bootstrap",
    "register_family",
    "resolve_families",
    "structural_trend",
    "target_biased_probabilities",
]
