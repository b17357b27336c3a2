r"""Baseline surrogates for the head-to-head comparison, as BoTorch models.

- :class:`LVGP` -- LVGP-style latent-variable Gaussian process for mixed inputs
  (categorical levels embedded as learned 2-D latent points);
- :class:`RandomForestModel` -- Lolo-style random forest whose predictive variance is
  the bias-corrected jackknife / infinitesimal jackknife of Wager et al. (2014).
"""

from axfusion.baselines.forest import RandomForestModel
from axfusion.baselines.jackknife import bagged_variance, bootstrap_counts
from axfusion.baselines.lvgp import LVGP
from axfusion.baselines.lvgp_kernel import LatentVariableKernel

__all__ = [
    "LVGP",
    "LatentVariableKernel",
    "RandomForestModel",
    "bagged_variance",
    "bootstrap_counts",
]
