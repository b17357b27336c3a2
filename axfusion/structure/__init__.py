r"""Stage 2b: embedding, adaptive clustering and structural weights :math:`\pi(x)`.

Geometry only: nothing here imports a model, torch or another axfusion subpackage.

- :class:`Embedding` / :func:`embed` -- standardise, then PCA (UMAP optional) to at most
  10 dimensions, fitted on a bounded sample and applied in chunks;
- :func:`adaptive_cluster` -- k-means, Gaussian mixtures, HDBSCAN (and optionally
  Leiden) at several settings, best noise-penalised silhouette wins, tiny clusters
  become noise, giant clusters are split; returns a :class:`Partition`;
- :func:`cluster_points` -- embedding + adaptive clustering of raw designs (Stage 1);
- :func:`structural_weights` -- ``pi(x)`` in ``pi_range`` for every candidate of a
  pool of up to millions of rows, with a :class:`StructureReport`.
"""

from axfusion.structure.clustering import ClusterConfig, adaptive_cluster, cluster_points
from axfusion.structure.embedding import Embedding, embed
from axfusion.structure.partition import Partition, Trial
from axfusion.structure.report import StructureReport
from axfusion.structure.structural import structural_weights
from axfusion.structure.weights import COMPONENTS, DEFAULT_COMPONENT_WEIGHTS

__all__ = [
    "COMPONENTS",
    "DEFAULT_COMPONENT_WEIGHTS",
    "ClusterConfig",
    "Embedding",
    "Partition",
    "StructureReport",
    "Trial",
    "adaptive_cluster",
    "cluster_points",
    "embed",
    "structural_weights",
]
