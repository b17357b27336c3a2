r"""The campaign loop: state, candidate sources, ``propose`` (Stages 0 -> 3) and the facade.

- :class:`CampaignState` (:mod:`~axfusion.campaign.state`): observations, failed and pending
  designs, iteration, seed, the whole settings tree, tuned hyper-parameters and diagnostics;
  an immutable value that round-trips through the campaign file exactly.
- :class:`PoolSource` / :class:`BoxSource` (:mod:`~axfusion.campaign.sources`): the
  candidates of a closed pool or a box, behind one interface.
- :func:`propose` (:mod:`~axfusion.campaign.loop`): one iteration, Stage 0 -> 1 -> 2 -> 3.
- :class:`FusionOptimizer` (:mod:`~axfusion.campaign.optimizer`): the ask/tell facade with
  atomic ``observe``, saving after every change and exact ``resume``.
"""

from axfusion.campaign.loop import Proposal, propose
from axfusion.campaign.optimizer import FusionOptimizer, Suggestion
from axfusion.campaign.sources import (
    BoxSource,
    CampaignMismatchError,
    CandidateSet,
    CandidateSource,
    PoolSource,
    make_source,
)
from axfusion.campaign.state import CampaignFileError, CampaignState, Observation

__all__ = [
    "BoxSource",
    "CampaignFileError",
    "CampaignMismatchError",
    "CampaignState",
    "CandidateSet",
    "CandidateSource",
    "FusionOptimizer",
    "Observation",
    "PoolSource",
    "Proposal",
    "Suggestion",
    "make_source",
    "propose",
]
