r"""The ask/tell optimiser's import path (kept for existing code): the implementation lives
in :mod:`axfusion.campaign` (state, sources, the stage-by-stage loop and the facade)."""

from axfusion.campaign import CampaignMismatchError, FusionOptimizer, Suggestion

__all__ = ["CampaignMismatchError", "FusionOptimizer", "Suggestion"]
