r"""Stage 2a of the method: candidate sets.

- Closed pools (:class:`CandidatePool`): a fixed table of rows backed by an array, a memmap or
  a Parquet file, masked by row index and scored in chunks; :func:`prefilter` reduces a large
  pool to a working set.
- Box spaces (:class:`SearchSpace` of :class:`ContinuousParameter`,
  :class:`IntegerParameter` and :class:`CategoricalParameter`, with optional
  :class:`LinearConstraint`), and the authors' candidate recipe
  (:func:`generate_box_candidates`: differential evolution on stochastic family landscapes plus
  Sobol points, optionally with :func:`sample_local_codes` candidates around the best
  evaluated designs); :func:`snap_to_pool` maps generated points to unused pool rows.

This package works on plain callables and numpy arrays and imports no other part of
:mod:`axfusion`.
"""

from axfusion.candidates.fingerprint import (
    PoolFingerprint,
    PoolMismatchError,
    check_pool,
    compare_fingerprints,
    pool_fingerprint,
)
from axfusion.candidates.generation import (
    LOCAL,
    POOLED,
    SOBOL,
    CandidateBatch,
    DERunReport,
    generate_box_candidates,
)
from axfusion.candidates.local import sample_local_codes
from axfusion.candidates.objective import MemberMeanObjective
from axfusion.candidates.parameters import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
)
from axfusion.candidates.pool import CandidatePool
from axfusion.candidates.prefilter import WorkingSet, nearest_rows, prefilter
from axfusion.candidates.snap import SnapResult, snap_to_pool
from axfusion.candidates.space import SearchSpace
from axfusion.candidates.storage import ArrayStorage, ParquetStorage, PoolStorage

__all__ = [
    "LOCAL",
    "POOLED",
    "SOBOL",
    "ArrayStorage",
    "CandidateBatch",
    "CandidatePool",
    "CategoricalParameter",
    "ContinuousParameter",
    "DERunReport",
    "IntegerParameter",
    "LinearConstraint",
    "MemberMeanObjective",
    "ParquetStorage",
    "PoolFingerprint",
    "PoolMismatchError",
    "PoolStorage",
    "SearchSpace",
    "SnapResult",
    "WorkingSet",
    "check_pool",
    "compare_fingerprints",
    "generate_box_candidates",
    "pool_fingerprint",
    "nearest_rows",
    "prefilter",
    "sample_local_codes",
    "snap_to_pool",
]
