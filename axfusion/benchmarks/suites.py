r"""Named benchmark tasks and suites.

A :class:`TaskSpec` is a small, picklable recipe for a
:class:`~axfusion.benchmarks.tasks.Task`: what to build (a registered test
problem or a closed pool of a dataset / CSV file), with which targets, and the
protocol's default budget. :meth:`TaskSpec.build` turns it into a task, with
optional budget overrides. A new task is a few lines::

    register_task(TaskSpec("my_pool", "pool", "my_dataset", targets=("y",)))
    register_task(TaskSpec("sphere5", "function", "ackley", options={"dim": 5},
                           n_initial=5, batch_size=2, n_iterations=20))

Besides registered names, :func:`get_task` parses ad-hoc task strings:

- ``pool:PATH.csv:TARGET[,TARGET2][:maximize|minimize[,...]]`` -- a closed
  pool of a CSV file (:func:`axfusion.data.load_csv`); ``PATH`` may also be a
  built-in dataset name (``pool:supercon:Tc``);
- ``function:PROBLEM[:key=value,...]`` -- a registered test problem
  (``function:ackley:dim=5,shift=true``).

Protocols and budgets (``n_initial`` + ``batch_size`` x ``n_iterations``):

==============  ===========================================================
suite           tasks and budget
==============  ===========================================================
``pools``       the fusion paper's closed-pool protocol: 20 initial rows at or
                below the median, batches of 10, 50 iterations (520
                evaluations); success = a top-min(10, floor(N/100)) row.
                curie_temp (Tc_real), crossed_barrel, supercon,
                madml_steel_strength (yield_strength), am_lpbf, p3ht, agnp
                (minimise loss), perovskite_stability (minimise
                EnergyAboveHull), double_perovskites_gap, heusler_magnetic,
                dielectric_constant.
``multiobjective``  same protocol; success = a Pareto-optimal row:
                steel_strength_mo (yield + tensile strength, all 312 steels),
                curie_temp_mo (Tc_real + MagnetizationDensity); target-window
                pools: bandgap_window ('gap expt' in [1.1, 1.5] eV, 495 of
                6353 rows inside: an easy task) and bandgap_window_narrow
                ([1.33, 1.37] eV, 50 rows, about the protocol's top 1 %).
``synthetic20``  the fusion paper's 20-D functions ackley20, rastrigin20 (both
                with the random shift), schwefel20 (as is: its optimum sits
                near a corner): 10 Sobol points, batches of 10, 100 iterations
                (1010 evaluations). The shift is *fixed* (problem seed 0) so
                that every method and seed faces the same function; seeds vary
                the initial design and the methods' randomness. Pass
                ``problem_seed="run"`` to a spec to draw the shift per seed.
``synthetic20_rotated``  ackley20_rotated and rastrigin20_rotated: the same
                functions, shift and budget, composed with a fixed random
                rotation about the optimum (docs/method.md's protocol; the
                issue's "shifted and rotated" Ackley). A rotation makes
                Rastrigin non-separable: a coordinate-wise search gains nothing.
``mixed``       the LVGP-vs-Lolo paper's mixed-variable functions. The paper
                runs sequential BO; for a head-to-head with batch methods we
                use batches of 2: the 2-D/3-D functions (mixed_branin,
                mixed_mccormick, mixed_six_hump_camel, mixed_rastrigin_3d)
                10 initial points + 20 iterations (50 evaluations); the 6-D
                and 10-D ones (mixed_perm_6d, mixed_perm_10d,
                mixed_rosenbrock_10d, mixed_quadratic_10d) 20 initial points +
                30 iterations (80 evaluations).
``reactions``   the closed-pool protocol on reaction-condition pools with categorical
                components (SMILES levels): buchwald_a (792 reactions, 4 components,
                one-hot), suzuki_edbo (3696, 5 components, one-hot),
                suzuki_edbo_dft (the same with EDBO's DFT descriptors per level) and
                buchwald_b ... buchwald_e (Ahneman et al.'s other four aryl-halide
                cases, 792 reactions each; not shipped: read from a local Olympus
                copy, ``$AXFUSION_OLYMPUS_ROOT`` or ``../shared/data/olympus_datasets``).
``pools_held_out``  the closed-pool protocol on four Olympus pools never used to
                choose a default (a check on pools the defaults were not
                developed on): hplc_peak_area (1386 runs, 6 settings),
                photo_pce10_degradation (1040 four-component mixtures, minimise),
                liquid_water_error (374 runs, minimise), dye_lasers_peak_score
                (3458 molecules, 3 categorical fragments). Not shipped: read from
                a local Olympus copy like buchwald_b ... buchwald_e.
``composition``  the metaheuristics paper's elemental-composition design
                (``composition_design``, :mod:`axfusion.benchmarks.composition`):
                maximise a gradient-boosted model's log10 bulk modulus over
                ``Theta = [n_atom, xi, eta]``; 10 Sobol points, batches of 10,
                20 iterations (210 evaluations; the paper spends 5,000).
                Default methods: fusion, GP-BO, TuRBO, CMA-ES, the ten
                metaheuristics (RUN among them) and random.
``smoke``       CI: smoke_pool (agnp, 10 initial rows, batches of 5, 3
                iterations) and smoke_function (mixed_branin, 5 Sobol points,
                batches of 2, 3 iterations): seconds per run.
==============  ===========================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypedDict

__all__ = [
    "Budget",
    "Suite",
    "TaskSpec",
    "csv_task",
    "get_suite",
    "get_task",
    "list_suites",
    "list_tasks",
    "register_suite",
    "register_task",
    "resolve_tasks",
]

TaskKind = Literal["function", "pool"]
#: Pool source prefix of an Olympus dataset read from a local copy (not shipped).
OLYMPUS_SOURCE_PREFIX = "olympus:"
#: Pool source prefix of a generated pool (:mod:`axfusion.benchmarks.synthetic_pools`;
#: options ``n_rows`` and ``seed``).
GENERATED_SOURCE_PREFIX = "generated:"
_DIRECTIONS = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}


def _freeze(value: Any) -> Any:
    """Hashable, JSON-like form of option values (for cache keys)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if hasattr(value, "as_dict"):
        return ("__obj__", _freeze(value.as_dict()))
    return value


def _direction_dict(d: Any) -> Any:
    return d.as_dict() if hasattr(d, "as_dict") else d


class Budget(TypedDict):
    r"""A task's default budget: the initial design plus ``n_iterations`` batches of ``batch_size``."""

    n_initial: int
    batch_size: int
    n_iterations: int


@dataclass(frozen=True)
class TaskSpec:
    r"""A recipe for one benchmark task.

    Attributes:
        name: Task name (the run folder and the report row).
        kind: ``"function"`` (a registered test problem) or ``"pool"``.
        source: Problem name (functions), built-in dataset name, CSV path or
            ``olympus:NAME`` (pools; an Olympus dataset that is not shipped, read from
            :func:`~axfusion.data.external.olympus_root`, ``$AXFUSION_OLYMPUS_ROOT``) or
            ``generated:NAME`` (a pool of :mod:`axfusion.benchmarks.synthetic_pools`,
            options ``n_rows`` and ``seed``).
        options: Problem options (functions, e.g. ``{"dim": 20, "shift": True}``)
            or :func:`~axfusion.data.load_dataset` / :func:`~axfusion.data.load_csv`
            options (pools).
        targets: Pool target columns (default: the dataset's first).
        directions: Per target ``"maximize"``/``"minimize"``, a
            :class:`~axfusion.acquisition.targets.Target` or a dict of its
            fields (``{"kind": "window", "lower": 1.1, "upper": 1.5}``);
            default: the dataset's orientation.
        n_initial, batch_size, n_iterations: The protocol's default budget.
        problem_seed: Functions: ``"fixed"`` (the problem's ``seed`` option,
            0 by default, for every run) or ``"run"`` (the run seed is passed
            as the problem's ``seed``: a new shift/rotation per seed).
        csv: ``source`` is a CSV file (:func:`axfusion.data.load_csv`).
        description: One line for listings and reports.
    """

    name: str
    kind: TaskKind
    source: str
    options: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] | None = None
    directions: tuple[Any, ...] | None = None
    n_initial: int = 10
    batch_size: int = 10
    n_iterations: int = 100
    problem_seed: Literal["fixed", "run"] = "fixed"
    csv: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("function", "pool"):
            raise ValueError(f"TaskSpec {self.name!r}: kind must be 'function' or 'pool', got {self.kind!r}.")
        if self.problem_seed not in ("fixed", "run"):
            raise ValueError(f"TaskSpec {self.name!r}: problem_seed must be 'fixed' or 'run'.")
        for attr in ("n_initial", "batch_size", "n_iterations"):
            if int(getattr(self, attr)) < 1:
                raise ValueError(f"TaskSpec {self.name!r}: {attr} must be >= 1.")
        object.__setattr__(self, "options", dict(self.options))
        if self.targets is not None:
            object.__setattr__(self, "targets", tuple(self.targets))
        if self.directions is not None:
            object.__setattr__(self, "directions", tuple(self.directions))

    def __hash__(self) -> int:  # options/directions may hold dicts
        return hash(self.cache_key())

    # ------------------------------------------------------------------ build
    @property
    def seed_dependent(self) -> bool:
        r"""Whether the task itself changes with the run seed."""
        return self.kind == "function" and self.problem_seed == "run"

    def budget(self, **overrides: int | None) -> Budget:
        r"""``{"n_initial", "batch_size", "n_iterations"}`` with overrides applied (``None`` keeps)."""
        out = {"n_initial": self.n_initial, "batch_size": self.batch_size, "n_iterations": self.n_iterations}
        for k, v in overrides.items():
            if k not in out:
                raise TypeError(f"Unknown budget override {k!r}; use one of {sorted(out)}.")
            if v is not None:
                if int(v) < 1:
                    raise ValueError(f"{k} must be >= 1, got {v}.")
                out[k] = int(v)
        return Budget(n_initial=out["n_initial"], batch_size=out["batch_size"], n_iterations=out["n_iterations"])

    def cache_key(self, seed: int | None = None, **overrides: int | None) -> tuple:
        b = self.budget(**overrides)
        return (
            self.name, self.kind, self.source, _freeze(self.options), self.targets, _freeze(self.directions),
            tuple(sorted(b.items())), seed if self.seed_dependent else None, self.csv,
        )

    def build(
        self,
        *,
        n_iterations: int | None = None,
        batch_size: int | None = None,
        n_initial: int | None = None,
        seed: int | None = None,
    ) -> Any:
        r"""The :class:`~axfusion.benchmarks.tasks.Task` (budget overrides: ``None`` keeps the default).

        Args:
            seed: The run seed; used only with ``problem_seed="run"``.
        """
        from axfusion.benchmarks.tasks import FunctionTask, PoolTask

        b = self.budget(n_iterations=n_iterations, batch_size=batch_size, n_initial=n_initial)
        if self.kind == "function":
            import axfusion.benchmarks  # noqa: F401  (registers the built-in problems)

            opts = dict(self.options)
            if self.problem_seed == "run" and seed is not None:
                opts["seed"] = int(seed)
            return FunctionTask.from_problem(self.source, name=self.name, **b, **opts)
        return PoolTask.from_dataset(
            self.dataset(), targets=list(self.targets) if self.targets else None,
            directions=self.target_directions(), name=self.name, **b,
        )

    def target_directions(self) -> list[Any] | None:
        r"""``directions`` with dict entries turned into :class:`~axfusion.acquisition.targets.Target`."""
        if not self.directions:
            return None
        out = []
        for d in self.directions:
            if isinstance(d, Mapping):
                from axfusion.acquisition.targets import Target

                d = Target(**dict(d))
            out.append(d)
        return out

    def dataset(self) -> Any:
        r"""The pool's :class:`~axfusion.data.Dataset` (pools only)."""
        if self.kind != "pool":
            raise TypeError(f"Task {self.name!r} is not a pool.")
        from axfusion.data import load_csv, load_dataset

        if self.csv:
            opts = dict(self.options)
            opts.setdefault("targets", list(self.targets) if self.targets else None)
            if opts["targets"] is None:
                raise ValueError(f"CSV task {self.name!r} needs target columns.")
            opts.setdefault("name", self.name)
            opts.setdefault("average_duplicates", True)
            return load_csv(self.source, **opts)
        if self.source.startswith(OLYMPUS_SOURCE_PREFIX):
            from axfusion.data import load_olympus
            from axfusion.data.external import olympus_root

            return load_olympus(self.source[len(OLYMPUS_SOURCE_PREFIX):], olympus_root(), **self.options)
        if self.source.startswith(GENERATED_SOURCE_PREFIX):
            from axfusion.benchmarks.synthetic_pools import generated_dataset

            return generated_dataset(self.source[len(GENERATED_SOURCE_PREFIX):], **self.options)
        return load_dataset(self.source, **self.options)

    def as_dict(self) -> dict[str, Any]:
        r"""JSON-able description (stored in every run file)."""
        return {
            "name": self.name, "kind": self.kind, "source": self.source,
            "options": json.loads(json.dumps(self.options, default=str)),
            "targets": list(self.targets) if self.targets else None,
            "directions": [_direction_dict(d) for d in self.directions] if self.directions else None,
            "n_initial": self.n_initial, "batch_size": self.batch_size, "n_iterations": self.n_iterations,
            "problem_seed": self.problem_seed, "csv": self.csv, "description": self.description,
        }

    def with_budget(self, **overrides: int | None) -> TaskSpec:
        r"""A copy with a different default budget."""
        return replace(self, **self.budget(**overrides))


@dataclass(frozen=True)
class Suite:
    r"""A named list of tasks and the methods run when none are named.

    Attributes:
        name: Suite name.
        tasks: Task names (registered :class:`TaskSpec`\ s).
        default_methods: Methods used when the caller names none (those not
            registered at run time are left out).
        description: One line.
    """

    name: str
    tasks: tuple[str, ...]
    default_methods: tuple[str, ...] = ("fusion", "gpbo", "random")
    description: str = ""


#: Tasks of the ``ablations`` suite: five closed pools (the hard supercon and the small,
#: low-dimensional crossed_barrel among them) and two boxes.
ABLATION_TASKS: tuple[str, ...] = (
    "supercon", "crossed_barrel", "curie_temp", "p3ht", "madml_steel_strength", "mixed_branin", "ackley20",
)
#: The full method and its ablations (``axfusion.benchmarks.methods.fusion.VARIANTS``).
ABLATION_METHODS: tuple[str, ...] = (
    "fusion", "fusion:no_stage0", "fusion:model_only", "fusion:fusion_only", "fusion:kf_only", "fusion:rkf_only",
    "fusion:r2_channel", "fusion:no_pi", "fusion:no_structure", "fusion:no_diversity", "fusion:no_bandwidth",
    "fusion:no_bias", "fusion:paper", "fusion:authors_code", "fusion:qlognei", "fusion:family=gp",
    "fusion:tier=low", "fusion:tier=medium", "fusion:tier=high",
)

#: Methods of the ``composition`` suite: the paper's eleven (BO and the ten metaheuristics of
#: ``axfusion.benchmarks.methods.metaheuristics``) and the peers a user would pick instead.
COMPOSITION_METHODS: tuple[str, ...] = (
    "fusion", "gpbo", "turbo", "cmaes", "ga", "clpso", "de", "sa", "gwo_woa", "hi_woa", "acor", "abc", "aoa", "run",
    "random",
)

_TASKS: dict[str, TaskSpec] = {}
_SUITES: dict[str, Suite] = {}


def register_task(spec: TaskSpec, *, overwrite: bool = False) -> TaskSpec:
    r"""Register ``spec`` under ``spec.name``; returns it.

    Raises:
        ValueError: If the name is taken and ``overwrite`` is false.
    """
    if spec.name in _TASKS and not overwrite:
        raise ValueError(f"A task named {spec.name!r} is already registered.")
    _TASKS[spec.name] = spec
    return spec


def register_suite(suite: Suite, *, overwrite: bool = False) -> Suite:
    r"""Register ``suite``; its tasks must be registered."""
    if suite.name in _SUITES and not overwrite:
        raise ValueError(f"A suite named {suite.name!r} is already registered.")
    unknown = [t for t in suite.tasks if t not in _TASKS]
    if unknown:
        raise ValueError(f"Suite {suite.name!r}: unknown tasks {unknown}.")
    _SUITES[suite.name] = suite
    return suite


def list_tasks() -> list[str]:
    return sorted(_TASKS)


def list_suites() -> list[str]:
    return sorted(_SUITES)


def get_suite(name: str) -> Suite:
    if name not in _SUITES:
        raise KeyError(f"Unknown suite {name!r}; registered: {sorted(_SUITES)}.")
    return _SUITES[name]


def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def csv_task(
    path: str | os.PathLike[str],
    targets: Sequence[str] | str,
    directions: Sequence[str] | str | None = None,
    *,
    name: str | None = None,
    n_initial: int = 20,
    batch_size: int = 10,
    n_iterations: int = 50,
    **load_options: Any,
) -> TaskSpec:
    r"""A closed-pool spec of a CSV file (paper protocol budget by default).

    ``path`` may also be a built-in dataset name. Extra options go to
    :func:`~axfusion.data.load_csv` (``id_column``, ``categorical``, ``descriptors``,
    ``ordinal``, ``smiles``, ...). Text columns of a CSV file that are features and not
    ordinal or SMILES columns are added to ``categorical`` (one-hot, levels one unit apart;
    :mod:`axfusion.data.encoding`).
    """
    from axfusion.data import list_datasets

    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    if isinstance(directions, str):
        directions = (directions,)
    if directions is not None:
        directions = tuple(_DIRECTIONS.get(str(d).lower(), d) for d in directions)
        if len(directions) != len(targets):
            raise ValueError(f"Got {len(directions)} directions for {len(targets)} targets.")
    path = os.fspath(path)
    is_file = os.path.exists(path)
    if not is_file and path not in set(list_datasets()["name"]):
        raise FileNotFoundError(f"No CSV file or built-in dataset {path!r}.")
    stem = os.path.splitext(os.path.basename(path))[0] if is_file else path
    if is_file:
        load_options = _with_text_columns(path, targets, dict(load_options))
    if name is None:
        name = f"{stem}_{'_'.join(t.replace(' ', '') for t in targets)}"
        name = "".join(c if (c.isalnum() or c in "_-.") else "_" for c in name)
    return TaskSpec(
        name=name, kind="pool", source=os.path.abspath(path) if is_file else path,
        options=dict(load_options), targets=targets, directions=directions, n_initial=n_initial,
        batch_size=batch_size, n_iterations=n_iterations, csv=is_file,
        description=f"closed pool of {os.path.basename(path)} ({', '.join(targets)})",
    )


def _with_text_columns(path: str, targets: Sequence[str], options: dict[str, Any]) -> dict[str, Any]:
    r"""``options`` with the CSV's text feature columns added to ``categorical`` (and
    descriptor table paths made absolute)."""
    import pandas as pd

    from axfusion.data.encoding import is_text_column

    frame = pd.read_csv(path, **dict(options.get("read_csv_kwargs") or {}))
    reserved = {*targets, options.get("id_column"), *(options.get("exclude") or ())}
    features = options.get("features") or [c for c in frame.columns if c not in reserved]
    declared = list(options.get("categorical") or ())
    other_roles = {*dict(options.get("ordinal") or {}), *(options.get("smiles") or ())}
    text = [str(c) for c in features if c in frame.columns and is_text_column(frame[c]) and c not in declared
            and c not in other_roles]
    if declared or text:
        options["categorical"] = declared + text
    if options.get("descriptors"):
        options["descriptors"] = {
            str(k): os.path.abspath(v) if isinstance(v, (str, os.PathLike)) else v
            for k, v in dict(options["descriptors"]).items()
        }
    return options


def _parse_pool(text: str) -> TaskSpec:
    body = text.split(":", 1)[1]
    directions = None
    head, _, last = body.rpartition(":")
    if head and all(p.strip().lower() in _DIRECTIONS for p in last.split(",")):
        directions = [p.strip() for p in last.split(",")]
        body = head
    path, sep, tgt = body.rpartition(":")
    if not sep or not path or not tgt:
        raise ValueError(f"Cannot parse {text!r}; use pool:PATH.csv:TARGET[,TARGET2][:maximize|minimize].")
    return csv_task(path, [t.strip() for t in tgt.split(",")], directions)


def _parse_function(text: str) -> TaskSpec:
    parts = text.split(":")
    if len(parts) < 2 or not parts[1]:
        raise ValueError(f"Cannot parse {text!r}; use function:PROBLEM[:key=value,...].")
    problem = parts[1]
    opts: dict[str, Any] = {}
    if len(parts) > 2 and parts[2]:
        for item in ":".join(parts[2:]).split(","):
            k, eq, v = item.partition("=")
            if not eq:
                raise ValueError(f"Bad problem option {item!r} in {text!r}; use key=value.")
            opts[k.strip()] = _parse_value(v)
    import axfusion.benchmarks  # noqa: F401
    from axfusion.benchmarks.problems import list_problems

    if problem not in list_problems():
        raise KeyError(f"Unknown problem {problem!r}; registered: {list_problems()}.")
    suffix = "_".join(f"{k}{v}" for k, v in opts.items())
    return TaskSpec(
        name=f"{problem}_{suffix}" if suffix else problem, kind="function", source=problem, options=opts,
        description=f"test problem {problem} {opts or ''}".strip(),
    )


def get_task(name: str | TaskSpec) -> TaskSpec:
    r"""A registered task spec, or one parsed from ``pool:...`` / ``function:...``."""
    if isinstance(name, TaskSpec):
        return name
    if name in _TASKS:
        return _TASKS[name]
    if name.startswith("pool:") or name.startswith("csv:"):
        return _parse_pool(name)
    if name.startswith("function:"):
        return _parse_function(name)
    raise KeyError(
        f"Unknown task {name!r}; registered: {sorted(_TASKS)} "
        "(or pool:PATH.csv:TARGET, function:PROBLEM[:key=value,...])."
    )


def resolve_tasks(
    suites: Iterable[str] = (), tasks: Iterable[str | TaskSpec] = ()
) -> list[TaskSpec]:
    r"""The task specs of ``suites`` followed by ``tasks`` (duplicates dropped, order kept)."""
    out: dict[str, TaskSpec] = {}
    for s in suites:
        for t in get_suite(s).tasks:
            out.setdefault(t, _TASKS[t])
    for task in tasks:
        spec = get_task(task)
        out.setdefault(spec.name, spec)
    return list(out.values())


# --------------------------------------------------------------- built-ins
def _window(lower: float, upper: float, name: str) -> dict[str, Any]:
    # a Target as a plain dict: importing axfusion.acquisition here would import torch
    return {"kind": "window", "lower": lower, "upper": upper, "name": name}


def _register_builtins() -> None:
    pool = Budget(n_initial=20, batch_size=10, n_iterations=50)
    pools = [
        ("curie_temp", "curie_temp", ("Tc_real",), None, "Curie temperature (K), maximise"),
        ("crossed_barrel", "crossed_barrel", ("toughness",), None, "crossed-barrel toughness, maximise"),
        ("supercon", "supercon", ("Tc",), None, "superconducting Tc (K), maximise"),
        ("madml_steel_strength", "madml_steel_strength", ("yield_strength",), None, "steel yield strength (MPa)"),
        ("am_lpbf", "am_lpbf", ("RD (%)",), None, "LPBF relative density (%), maximise"),
        ("p3ht", "p3ht", ("Conductivity (measured) (S/cm)",), None, "P3HT/CNT conductivity (S/cm)"),
        ("agnp", "agnp", ("loss",), ("minimize",), "AgNP spectral loss, minimise"),
        ("perovskite_stability", "perovskite_stability", ("EnergyAboveHull",), ("minimize",),
         "energy above hull (meV/atom), minimise"),
        ("double_perovskites_gap", "double_perovskites_gap", ("gap gllbsc",), None, "GLLB-SC band gap (eV), maximise"),
        ("heusler_magnetic", "heusler_magnetic", ("mu_b saturation",), None, "Heusler saturation moment, maximise"),
        ("dielectric_constant", "dielectric_constant", ("log(poly_total)",), None, "log10 dielectric constant"),
    ]
    for name, ds, tg, dr, desc in pools:
        register_task(TaskSpec(name, "pool", ds, targets=tg, directions=dr, description=desc, **pool), overwrite=True)
    reactions = [
        ("buchwald_a", "buchwald_a", {}, "Buchwald-Hartwig couplings (792), 4 categorical components, one-hot"),
        ("suzuki_edbo", "suzuki_edbo", {}, "Suzuki-Miyaura couplings (3696), 5 categorical components, one-hot"),
        ("suzuki_edbo_dft", "suzuki_edbo", {"descriptors": True},
         "Suzuki-Miyaura couplings (3696), components by their DFT descriptors (EDBO)"),
        *(
            (f"buchwald_{case}", f"{OLYMPUS_SOURCE_PREFIX}buchwald_{case}", {},
             f"Buchwald-Hartwig couplings, case {case} (792), 4 categorical components, one-hot; "
             "read from the Olympus copy ($AXFUSION_OLYMPUS_ROOT)")
            for case in "bcde"
        ),
    ]
    for name, ds, opts, desc in reactions:
        register_task(TaskSpec(name, "pool", ds, options=opts, targets=("yield",), description=desc, **pool),
                      overwrite=True)
    register_task(TaskSpec(
        "steel_strength_mo", "pool", "steel_strength",
        options={"targets": ["yield strength", "tensile strength"]},
        targets=("yield strength", "tensile strength"), directions=("maximize", "maximize"),
        description="steel yield + tensile strength (MPa), Pareto set", **pool,
    ), overwrite=True)
    register_task(TaskSpec(
        "curie_temp_mo", "pool", "curie_temp", targets=("Tc_real", "MagnetizationDensity"),
        directions=("maximize", "maximize"), description="Tc_real + MagnetizationDensity, Pareto set", **pool,
    ), overwrite=True)
    register_task(TaskSpec(
        "bandgap_window", "pool", "bandgap", targets=("gap expt",),
        directions=(_window(1.1, 1.5, "gap expt"),),
        description="experimental band gap in [1.1, 1.5] eV (495 of 6353 rows)", **pool,
    ), overwrite=True)
    register_task(TaskSpec(
        "bandgap_window_narrow", "pool", "bandgap", targets=("gap expt",),
        directions=(_window(1.33, 1.37, "gap expt"),),
        description="experimental band gap in [1.33, 1.37] eV (50 of 6353 rows)", **pool,
    ), overwrite=True)

    large_pools = [
        ("needle10_20k", "needle10", 20_000,
         "generated, 20,000 rows, 10-D clusters; the top rows on 0.2 % of them, away from the trend"),
        ("latent135_20k", "latent135", 20_000, "generated, 20,000 rows, 135 Magpie-like columns, smooth latent target"),
        ("needle10_100k", "needle10", 100_000,
         "generated, 100,000 rows, 10-D clusters; the top rows on 0.2 % of them, away from the trend"),
    ]
    for name, gen, n_rows, desc in large_pools:
        register_task(TaskSpec(name, "pool", f"{GENERATED_SOURCE_PREFIX}{gen}", options={"n_rows": n_rows, "seed": 0},
                               targets=("y",), description=desc, **pool), overwrite=True)

    # Held-out pools: Olympus datasets never used to choose a default, read from the local copy.
    held_out = [
        ("hplc_peak_area", "hplc", "peak_area", "maximize", "HPLC peak area (1386 runs, 6 continuous settings)"),
        ("photo_pce10_degradation", "photo_pce10", "degradation", "minimize",
         "PCE10 photodegradation (1040 four-component mixtures)"),
        ("liquid_water_error", "liquid_water", "error", "minimize",
         "liquid-handling error for water (374 runs, 6 settings)"),
        ("dye_lasers_peak_score", "dye_lasers", "peak_score", "maximize",
         "laser-dye peak score (3458 molecules, 3 categorical fragments)"),
    ]
    for name, ds, target, direction, desc in held_out:
        register_task(TaskSpec(
            name, "pool", f"{OLYMPUS_SOURCE_PREFIX}{ds}", options={"targets": [target], "average_duplicates": True},
            targets=(target,), directions=(direction,),
            description=f"{desc}; read from the Olympus copy ($AXFUSION_OLYMPUS_ROOT)", **pool,
        ), overwrite=True)

    synth = Budget(n_initial=10, batch_size=10, n_iterations=100)
    register_task(TaskSpec("ackley20", "function", "ackley", options={"dim": 20, "shift": True, "seed": 0},
                           description="Ackley 20-D, shifted (fixed shift)", **synth), overwrite=True)
    register_task(TaskSpec("rastrigin20", "function", "rastrigin", options={"dim": 20, "shift": True, "seed": 0},
                           description="Rastrigin 20-D, shifted (fixed shift)", **synth), overwrite=True)
    register_task(TaskSpec("schwefel20", "function", "schwefel", options={"dim": 20},
                           description="Schwefel 20-D", **synth), overwrite=True)
    for fn in ("ackley", "rastrigin"):
        register_task(TaskSpec(f"{fn}20_rotated", "function", fn,
                               options={"dim": 20, "shift": True, "rotate": True, "seed": 0},
                               description=f"{fn.capitalize()} 20-D, shifted and rotated (fixed shift and rotation)",
                               **synth), overwrite=True)

    register_task(TaskSpec("composition_design", "function", "composition_bulk_modulus", n_initial=10,
                           batch_size=10, n_iterations=20,
                           description="metaheuristics paper: composition design, -log10 K (GPa) of a GBM oracle"),
                  overwrite=True)

    small = Budget(n_initial=10, batch_size=2, n_iterations=20)
    large = Budget(n_initial=20, batch_size=2, n_iterations=30)
    for p in ("mixed_branin", "mixed_mccormick", "mixed_six_hump_camel", "mixed_rastrigin_3d"):
        register_task(TaskSpec(p, "function", p, description=f"LVGP paper {p}", **small), overwrite=True)
    for p in ("mixed_perm_6d", "mixed_perm_10d", "mixed_rosenbrock_10d", "mixed_quadratic_10d"):
        register_task(TaskSpec(p, "function", p, description=f"LVGP paper {p}", **large), overwrite=True)

    register_task(TaskSpec("smoke_pool", "pool", "agnp", targets=("loss",), directions=("minimize",),
                           n_initial=10, batch_size=5, n_iterations=3, description="CI: agnp, tiny budget"),
                  overwrite=True)
    register_task(TaskSpec("smoke_function", "function", "mixed_branin", n_initial=5, batch_size=2,
                           n_iterations=3, description="CI: mixed Branin, tiny budget"), overwrite=True)

    register_suite(Suite("pools", tuple(p[0] for p in pools), description="closed pools, paper protocol"),
                   overwrite=True)
    register_suite(Suite("pools_held_out", tuple(h[0] for h in held_out),
                         default_methods=("fusion", "gpbo", "rfbo", "random"),
                         description="Olympus pools never used to choose a default (a held-out check), "
                                     "paper protocol"),
                   overwrite=True)
    register_suite(Suite("large_pools", tuple(p[0] for p in large_pools),
                         default_methods=("fusion", "gpbo", "rfbo", "random"),
                         description="generated pools of 2 x 10^4 - 10^5 rows, poor initial rows, paper protocol"),
                   overwrite=True)
    register_suite(Suite("reactions", tuple(r[0] for r in reactions),
                         default_methods=("fusion", "gpbo", "rfbo", "random"),
                         description="reaction-condition pools (categorical components), paper protocol"),
                   overwrite=True)
    register_suite(Suite("multiobjective", ("steel_strength_mo", "curie_temp_mo", "bandgap_window",
                                            "bandgap_window_narrow"),
                         description="two-target Pareto pools and target-window pools"), overwrite=True)
    register_suite(Suite("synthetic20", ("ackley20", "rastrigin20", "schwefel20"),
                         description="the fusion paper's 20-D functions"), overwrite=True)
    register_suite(Suite("synthetic20_rotated", ("ackley20_rotated", "rastrigin20_rotated"),
                         default_methods=("fusion", "turbo", "cmaes", "run", "random"),
                         description="the 20-D Ackley and Rastrigin shifted and rotated (docs/method.md)"),
                   overwrite=True)
    register_suite(Suite("mixed", ("mixed_branin", "mixed_mccormick", "mixed_six_hump_camel", "mixed_rastrigin_3d",
                                   "mixed_perm_6d", "mixed_perm_10d", "mixed_rosenbrock_10d", "mixed_quadratic_10d"),
                         default_methods=("fusion", "gpbo", "lvgp", "random"),
                         description="the LVGP paper's mixed-variable functions"), overwrite=True)
    register_suite(Suite("ablations", ABLATION_TASKS, default_methods=ABLATION_METHODS,
                         description="the method against its own ablations (fusion:<variant>), pools and boxes"),
                   overwrite=True)
    register_suite(Suite("composition", ("composition_design",), default_methods=COMPOSITION_METHODS,
                         description="the metaheuristics paper's elemental-composition design"), overwrite=True)
    register_suite(Suite("smoke", ("smoke_pool", "smoke_function"), default_methods=("random", "gpbo"),
                         description="CI smoke benchmark (seconds)"), overwrite=True)


_register_builtins()
