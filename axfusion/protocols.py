r"""The closed-pool protocol of the fusion paper.

A closed pool is a table of ``N`` candidates whose targets are all known; the
optimiser sees only what it asks for (docs/method.md, "Protocols"):

- 20 initial rows drawn at random from those at or below the median target;
- batches of 10; a budget of 50 iterations;
- success = any of the top ``min(10, floor(0.01 N))`` rows (at least 1)
  evaluated; iterations to success are counted in batches after the
  initial design. The authors' code uses the top 5 instead, and the single
  best row is the strictest criterion: both are reported too.
- With several (max/min) targets, success = a Pareto-optimal row evaluated.

:func:`random_search_expectation` gives the exact hypergeometric expectation
of the same criteria for random search, the baseline of every table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from axfusion.acquisition.targets import Target, orient, pareto_rows, parse_targets

__all__ = [
    "ClosedPoolResult",
    "ClosedPoolSetup",
    "closed_pool_setup",
    "pareto_rows",
    "random_search_expectation",
    "run_closed_pool",
    "success_set_size",
    "summarize",
    "top_rows",
]


def top_rows(o: np.ndarray, n_top: int) -> np.ndarray:
    r"""Indices of the ``n_top`` best rows of the oriented target ``o`` (ties included)."""
    o = np.asarray(o, dtype=np.float64).reshape(-1)
    cutoff = np.sort(o)[::-1][min(n_top, o.size) - 1]
    return np.flatnonzero(o >= cutoff)


def success_set_size(N: int, top_fraction: float = 0.01, max_top: int = 10) -> int:
    r"""``min(max_top, floor(top_fraction N))``, at least 1."""
    return max(1, min(max_top, int(np.floor(top_fraction * N))))


def random_search_expectation(
    N: int, n_success: int, n_initial: int, batch_size: int, n_iterations: int, n_excluded: int = 0
) -> float:
    r"""Expected iterations to success for random search (exact hypergeometric).

    Random search draws batches without replacement from the ``N - n_initial``
    rows outside the initial design, ``n_success`` of which are successes
    (the initial design, drawn below the median, holds none). ``n_excluded``
    rows are unavailable. Iterations beyond the budget count as the budget.

    Returns:
        ``E[min(T, n_iterations)]`` where ``T`` is the first batch holding a success.
    """
    pool = N - n_initial - n_excluded
    if n_success <= 0:
        return float(n_iterations)
    expect = 0.0
    # P(T > t) = C(pool - n_success, t*b) / C(pool, t*b)
    from scipy.special import gammaln

    def log_comb(a: float, b: float) -> float:
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    for t in range(n_iterations):
        drawn = t * batch_size
        if drawn > pool - n_success:
            break
        expect += float(np.exp(log_comb(pool - n_success, drawn) - log_comb(pool, drawn)))
    return expect


@dataclass
class ClosedPoolResult:
    r"""Outcome of one closed-pool campaign.

    Attributes:
        dataset: Dataset name.
        seed: The seed.
        iterations_to_success: First iteration whose batch held a success row
            (``None`` when the budget ran out).
        iterations_to_top5: Same with the authors' top-5 criterion.
        iterations_to_best: Same for the single best row.
        success_rows: The pool rows counted as successes.
        trajectory: One dict per iteration: best-so-far (raw units, per
            target), whether a success row was found, wall time.
        initial_ids: The initial design.
        evaluated_ids: Every evaluated row, in order.
        diagnostics: The optimiser's :class:`~axfusion.diagnostics.IterationRecord` dicts.
        wall_time: Total seconds.
    """

    dataset: str
    seed: int
    iterations_to_success: int | None
    iterations_to_top5: int | None
    iterations_to_best: int | None
    success_rows: list[int]
    trajectory: list[dict[str, Any]]
    initial_ids: list[int]
    evaluated_ids: list[int]
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def success(self) -> bool:
        return self.iterations_to_success is not None

    def as_dict(self) -> dict[str, Any]:
        from axfusion.diagnostics import jsonable

        return jsonable(self.__dict__)



@dataclass
class ClosedPoolSetup:
    r"""Everything the closed-pool protocol fixes before the first iteration.

    Attributes:
        dataset: The :class:`~axfusion.data.Dataset`.
        targets: The ``q`` target names.
        directions: One :class:`Target` per target.
        X: ``N x p`` feature matrix (categoricals one-hot).
        Y: ``N x q`` raw targets.
        O: ``N x q`` oriented (larger-is-better) targets.
        N: Pool size.
        success: Success rows (top-k, or the Pareto set for several targets).
        top5: The authors' top-5 rows (the Pareto set for several targets).
        best: The single best row (the Pareto set for several targets).
        ranking: ``N`` larger-is-better scalar ranking (the mean oriented
            standardised target for several targets).
        initial_ids: The seeded initial design, sorted.
    """

    dataset: Any
    targets: list[str]
    directions: list[Target]
    X: np.ndarray
    Y: np.ndarray
    O: np.ndarray
    N: int
    success: set[int]
    top5: set[int]
    best: set[int]
    ranking: np.ndarray
    initial_ids: np.ndarray


def closed_pool_setup(
    dataset: Any,
    *,
    targets: Sequence[str] | None = None,
    directions: Sequence[Target | str] | None = None,
    seed: int = 0,
    n_initial: int = 20,
    top_fraction: float = 0.01,
    max_top: int = 10,
) -> ClosedPoolSetup:
    r"""Success sets and the seeded initial design of the closed-pool protocol.

    The initial rows are drawn at random from the rows at or below the median
    of the ranking, never from the success set. Shared by
    :func:`run_closed_pool` and the benchmark harness, so every method starts
    from the same rows.

    Raises:
        ValueError: On an unknown target, missing target values, or fewer than
            ``n_initial`` rows at or below the median.
    """
    from axfusion.data import Dataset, load_dataset

    ds: Dataset = load_dataset(dataset) if isinstance(dataset, str) else dataset
    names = list(targets) if targets is not None else [ds.targets[0]]
    unknown = [t for t in names if t not in ds.targets]
    if unknown:
        raise ValueError(f"Unknown target column(s) {unknown}; {ds.name} has {ds.targets}.")
    if directions is None:
        directions = [ds.orientation.get(t, "maximize") for t in names]
    tspecs = parse_targets(list(directions), len(names))
    X = ds.feature_matrix()
    Y = ds.target_matrix(names)
    if np.isnan(Y).any():
        raise ValueError(f"The pool has missing values in {names}; a closed pool needs every target.")
    N = X.shape[0]
    O = orient(Y, tspecs)
    if len(names) == 1:
        o = O[:, 0]
        n_top = success_set_size(N, top_fraction, max_top)
        success = set(top_rows(o, n_top).tolist())
        top5 = set(top_rows(o, 5).tolist())
        best = set(top_rows(o, 1).tolist())
        ranking = o
    else:
        success = set(pareto_rows(O).tolist())
        top5, best = success, success
        ranking = ((O - O.mean(0)) / np.where(O.std(0) > 0, O.std(0), 1)).mean(axis=1)
    rng = np.random.default_rng(seed)
    low = np.flatnonzero(ranking <= np.median(ranking))
    low = np.setdiff1d(low, np.fromiter(success, dtype=np.int64))
    if low.size < n_initial:
        raise ValueError(f"Only {low.size} rows lie at or below the median; n_initial={n_initial}.")
    init = np.sort(rng.choice(low, size=n_initial, replace=False))
    return ClosedPoolSetup(
        dataset=ds, targets=names, directions=tspecs, X=X, Y=Y, O=O, N=N, success=success,
        top5=top5, best=best, ranking=ranking, initial_ids=init,
    )

def _first_hit(batches: list[list[int]], rows: set[int]) -> int | None:
    for t, b in enumerate(batches, start=1):
        if rows.intersection(b):
            return t
    return None


def run_closed_pool(
    dataset: Any,
    *,
    targets: Sequence[str] | None = None,
    directions: Sequence[Target | str] | None = None,
    seed: int = 0,
    n_initial: int = 20,
    batch_size: int = 10,
    n_iterations: int = 50,
    top_fraction: float = 0.01,
    max_top: int = 10,
    stop_at_success: bool = False,
    progress: bool = False,
    state_path: str | None = None,
    settings: Any = None,
    **options: Any,
) -> ClosedPoolResult:
    r"""Run the paper's closed-pool protocol with the fusion optimiser.

    Args:
        dataset: A built-in dataset name or an :class:`axfusion.data.Dataset`.
        targets: Target columns (default: the dataset's first target).
        directions: Per target ``"maximize"``/``"minimize"``/:class:`Target`;
            default: the dataset's orientation.
        seed: Seed of the initial design and the optimiser.
        n_initial: Initial rows, drawn at or below the median target (for
            several targets: the median of the mean oriented standardised target).
        batch_size: Rows per iteration.
        n_iterations: Budget in iterations.
        top_fraction, max_top: The success set is the top
            ``min(max_top, floor(top_fraction N))`` rows (at least 1).
        stop_at_success: Stop once every criterion (top-k, top-5, best) was met.
        progress: Show a progress bar.
        state_path: Save the campaign state there after every batch.
        settings: The method's :class:`~axfusion.settings.Settings` or a preset name
            (default: ``"default"``).
        **options: Options applied on top of ``settings`` (dotted paths or unique names,
            e.g. ``n_members=4``; see :meth:`~axfusion.settings.Settings.with_options`).

    Returns:
        The :class:`ClosedPoolResult` (``.iterations_to_success`` is ``None``
        when the budget ran out).
    """
    from axfusion.campaign import FusionOptimizer

    setup = closed_pool_setup(
        dataset, targets=targets, directions=directions, seed=seed, n_initial=n_initial,
        top_fraction=top_fraction, max_top=max_top,
    )
    ds, names, tspecs = setup.dataset, setup.targets, setup.directions
    X, Y, O, N, init = setup.X, setup.Y, setup.O, setup.N, setup.initial_ids
    success, top5, best = setup.success, setup.top5, setup.best
    total_batches = min(n_iterations, (N - n_initial) // batch_size)
    opt = FusionOptimizer(
        X,
        tspecs,
        target_names=names,
        settings=settings,
        options={"batch_size": batch_size, "budget_iterations": n_iterations, **options},
        state_path=state_path,
        seed=seed,
    )
    opt.observe(ids=init, Y=Y[init])
    batches: list[list[int]] = []
    trajectory: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_batches, desc=f"{ds.name} seed {seed}", unit="batch", leave=False)
    try:
        for t in range(1, total_batches + 1):
            ti = time.perf_counter()
            s = opt.suggest(batch_size)
            ids = s.row_ids.astype(np.int64)
            opt.observe(ids=ids, Y=Y[ids])
            batches.append(ids.tolist())
            found = bool(success.intersection(ids.tolist()))
            evaluated = np.concatenate([init, np.concatenate([np.asarray(b) for b in batches])])
            trajectory.append(
                {
                    "iteration": t,
                    "best_so_far": [float(Y[evaluated, j][np.argmax(O[evaluated, j])]) for j in range(len(names))],
                    "found_success": found,
                    "wall_time": time.perf_counter() - ti,
                }
            )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(best=f"{trajectory[-1]['best_so_far'][0]:.4g}")
            hit_all = all(_first_hit(batches, s_) is not None for s_ in (success, top5, best))
            if stop_at_success and hit_all:
                break
    finally:
        if bar is not None:
            bar.close()
    return ClosedPoolResult(
        dataset=ds.name,
        seed=seed,
        iterations_to_success=_first_hit(batches, success),
        iterations_to_top5=_first_hit(batches, top5),
        iterations_to_best=_first_hit(batches, best),
        success_rows=sorted(success),
        trajectory=trajectory,
        initial_ids=init.tolist(),
        evaluated_ids=init.tolist() + [i for b in batches for i in b],
        diagnostics=[r.as_dict() for r in opt.records],
        wall_time=time.perf_counter() - t_start,
    )


def summarize(results: Sequence[ClosedPoolResult]) -> pd.DataFrame:
    r"""Success rate, median and 20-80 % range of iterations to success."""
    rows = []
    for key in ("iterations_to_success", "iterations_to_top5", "iterations_to_best"):
        vals = [getattr(r, key) for r in results]
        hits = np.array([v for v in vals if v is not None], dtype=float)
        rows.append(
            {
                "criterion": key,
                "success": f"{hits.size}/{len(vals)}",
                "median": float(np.median(hits)) if hits.size else float("nan"),
                "p20": float(np.percentile(hits, 20)) if hits.size else float("nan"),
                "p80": float(np.percentile(hits, 80)) if hits.size else float("nan"),
            }
        )
    return pd.DataFrame(rows)
