r"""Uniformly random pool rows as an Ax generation node.

:class:`PoolRandomNode` proposes rows of a closed pool drawn uniformly, without
replacement, from the rows that are neither measured (successfully or not) nor pending.
It is the initial design of a pool experiment (the counterpart of Sobol in a box) and
the ``"random"``/``"sobol"`` baseline on pools. Draws are seeded by
``seed + number of trials``, so a reloaded experiment continues as the original would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ax.core.data import Data
from ax.core.experiment import Experiment
from ax.core.trial_status import TrialStatus
from ax.core.types import TParameterization
from ax.exceptions.generation_strategy import GenerationStrategyCompleted
from ax.generation_strategy.external_generation_node import ExternalGenerationNode
from ax.generation_strategy.transition_criterion import PausingCriterion, TransitionCriterion

from axfusion.ax.pool import ROW_ID, PoolReference
from axfusion.ax.storable import StorableNode
from axfusion.candidates import CandidatePool

__all__ = ["PoolRandomNode"]

_REJECTION_DRAWS = 64
_DONE = (TrialStatus.COMPLETED, TrialStatus.EARLY_STOPPED, TrialStatus.FAILED, TrialStatus.ABANDONED)


def _row_of(parameters: TParameterization) -> int:
    r"""The pool row of an arm's parameters (Ax types parameter values as ``str | bool | float | int | None``)."""
    value = parameters[ROW_ID]
    if value is None:
        raise TypeError(f"The {ROW_ID!r} parameter of an arm is None, not a pool row.")
    return int(value)


class PoolRandomNode(StorableNode, ExternalGenerationNode):
    r"""Random unevaluated rows of a closed pool.

    Args:
        pool: The pool (a :class:`~axfusion.ax.pool.PoolReference` or its dict).
        name: Node name.
        seed: Seed; the draw for an experiment with ``t`` trials uses ``seed + t``.
        transition_criteria: Ax transition criteria (to the next node).
        pausing_criteria: Ax pausing criteria (e.g. the initial budget).
    """

    def __init__(
        self,
        pool: PoolReference | dict[str, Any],
        name: str = "PoolRandom",
        seed: int = 0,
        transition_criteria: Sequence[TransitionCriterion] | None = None,
        pausing_criteria: Sequence[PausingCriterion] | None = None,
    ) -> None:
        super().__init__(name=name, should_deduplicate=True, transition_criteria=transition_criteria)
        self._pausing_criteria = list(pausing_criteria or [])
        self.pool_ref = pool if isinstance(pool, PoolReference) else PoolReference.from_dict(pool)
        self.seed = int(seed)
        self._pool: CandidatePool | None = None
        self._rng: np.random.Generator | None = None

    def init_args(self) -> dict[str, Any]:
        return {
            "pool": self.pool_ref.as_dict(),
            "name": self.name,
            "seed": self.seed,
            "transition_criteria": list(self.transition_criteria),
            "pausing_criteria": list(self.pausing_criteria),
        }

    def update_generator_state(self, experiment: Experiment, data: Data) -> None:
        r"""Mask the rows of finished trials and seed the draw by the trial count."""
        pool = self.pool_ref.open()
        done = [
            _row_of(arm.parameters)
            for trial in experiment.trials.values()
            if trial.status in _DONE
            for arm in trial.arms
        ]
        if done:
            pool.mark_evaluated(np.unique(done))
        self._pool = pool
        self._rng = np.random.default_rng(self.seed + len(experiment.trials))

    def get_next_candidate(self, pending_parameters: list[TParameterization]) -> TParameterization:
        r"""One random row that is neither finished nor pending."""
        if self._pool is None or self._rng is None:
            raise RuntimeError("update_generator_state() must run before get_next_candidate().")
        pool = self._pool
        pool.clear_pending()
        pending = np.unique([_row_of(p) for p in pending_parameters]).astype(np.int64)
        if pending.size:
            pending = pending[pool.is_available(pending)]
            if pending.size:
                pool.mark_pending(pending)
        if pool.n_available == 0:
            raise GenerationStrategyCompleted(
                f"Every row of the {pool.n_rows}-row pool has been measured or is pending."
            )
        # Rejection draws cost O(1) while most rows are free; the O(N) list of free
        # rows is built only when the pool is nearly used up.
        for _ in range(_REJECTION_DRAWS):
            row = int(self._rng.integers(pool.n_rows))
            if pool.is_available([row])[0]:
                return {ROW_ID: row}
        return {ROW_ID: int(self._rng.choice(pool.available_ids()))}
