r"""Benchmark figures (matplotlib, Agg backend), written as PNG (and PDF on request).

- :func:`plot_convergence` -- median best-so-far (or simple regret) with IQR
  bands per method, and random search's exact expectation;
- :func:`plot_success` -- fraction of seeds that found a success row by
  iteration ``t`` (pools), with random search's exact ``P(T <= t)``;
- :func:`plot_ef_af` -- ``EF(t)`` and ``AF(p)`` (Liang *et al.* 2021; Top% on
  pools, normalised best-so-far on functions);
- :func:`plot_fusion_diagnostics` -- the fusion paper's per-run panels from
  :class:`~axfusion.diagnostics.IterationRecord` dicts: cluster bandwidth
  heatmap (iterations x clusters), novelty and intra-batch distance, OOB R^2
  and ELPD per family, deviation ratios (drawn by :mod:`axfusion.plots`, which
  draws the same panels from a user's campaign file).

Colours come from the Okabe-Ito colour-blind-safe palette; every method keeps
its colour, line style and marker in every figure (:func:`method_styles`).

Every ``plot_*`` function takes ``formats``: ``("png",)`` by default (a
256-colour PNG, small enough to keep in git), ``("png", "pdf")`` for vector
copies too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from axfusion.plots import (
    FORMATS,
    diagnostic_series,
    draw_bandwidth,
    draw_deviation,
    draw_family_scores,
    draw_novelty,
    family_styles,
    figure_grid,
    has_fusion_diagnostics,
    integer_ticks,
    line_style,
    pyplot,
    save_figure,
)

__all__ = [
    "FORMATS",
    "REFERENCE_STYLE",
    "compact_diagnostics",
    "diagnostic_series",
    "has_fusion_diagnostics",
    "method_styles",
    "plot_convergence",
    "plot_ef_af",
    "plot_fusion_diagnostics",
    "plot_success",
    "save_figure",
]

_GREY = "#999999"
#: Canonical order: the same method always gets the same style.
KNOWN_METHODS = (
    "fusion", "gpbo", "rfbo", "lvgp", "turbo", "cmaes", "ga", "clpso", "de", "sa", "gwo_woa", "hi_woa", "acor",
    "abc", "aoa", "run",
)
REFERENCE_STYLE: dict[str, Any] = {"color": "#000000", "linestyle": ":", "linewidth": 1.6, "label": "random (exact E)"}


def method_styles(methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    r"""``{method: {color, linestyle, marker, linewidth}}``, stable across figures.

    Known methods have fixed styles (fusion: vermillion, thick); random search
    and Sobol are grey; other names follow in sorted order.
    """
    styles: dict[str, dict[str, Any]] = {}
    for i, m in enumerate(KNOWN_METHODS):
        styles[m] = line_style(i)
    styles["fusion"]["linewidth"] = 2.4
    styles["random"] = {"color": _GREY, "linestyle": "-", "marker": "x", "linewidth": 1.4}
    styles["sobol"] = {"color": _GREY, "linestyle": "--", "marker": "+", "linewidth": 1.4}
    extra = sorted(m for m in methods if m not in styles)
    for j, m in enumerate(extra):
        styles[m] = line_style(len(KNOWN_METHODS) + j)
    return {m: dict(styles[m]) for m in methods}


def _target_label(info: Mapping[str, Any]) -> tuple[str, bool]:
    r"""Y label of the convergence panel and whether it shows the raw target."""
    if info.get("kind") == "pool":
        targets = info.get("targets") or []
        if len(targets) == 1 and info.get("raw_sign") is not None:
            unit = (info.get("units") or {}).get(targets[0])
            return f"best {targets[0]} ({unit or 'target units'})", True
        if len(targets) == 1:
            d = (info.get("directions") or [{}])[0]
            return f"best distance of {targets[0]} to the {d.get('kind', 'target')} (target units)", False
        return "best scalarised loss (mean std. oriented targets, -)", False
    if info.get("optimal_value") is not None:
        return "simple regret f(x) - f* (function units, log)", False
    return "best f(x) (function units)", False


def _legend(fig: Any, styles: Mapping[str, Mapping[str, Any]], reference: bool = True) -> None:
    r"""One legend for the figure, below the panels (``bbox_inches="tight"`` keeps it in)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=s["color"], linestyle=s["linestyle"], linewidth=s["linewidth"], label=m)
               for m, s in styles.items()]
    if reference:
        handles.append(Line2D([], [], **REFERENCE_STYLE))
    fig.tight_layout()
    fig.legend(handles=handles, loc="upper center", ncol=min(6, len(handles)), frameon=False,
               bbox_to_anchor=(0.5, 0.0))


def plot_convergence(
    tasks: Sequence[str],
    curves: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    infos: Mapping[str, Mapping[str, Any]],
    stem: str | Path,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    r"""Median best-so-far with IQR bands per task (one panel each).

    Args:
        tasks: Tasks (panels).
        curves: ``(task, method) -> aggregate_curves(...)``.
        infos: ``task -> task_info`` of a run file.
        stem: Output path without suffix.
    """
    methods = sorted({m for (t, m) in curves if t in tasks})
    styles = method_styles(methods)
    fig, axes = figure_grid(len(tasks))
    for ax, task in zip(axes.flat, tasks):
        info = infos.get(task, {})
        label, raw = _target_label(info)
        sign = info.get("raw_sign")
        regret = info.get("kind") == "function" and info.get("optimal_value") is not None
        key = "regret" if regret else ("best_raw" if raw else "best_so_far")
        ref_drawn = False
        for m in methods:
            c = curves.get((task, m))
            if not c or f"{key}_median" not in c:
                continue
            t, s = c["t"], styles[m]
            ax.plot(t, c[f"{key}_median"], color=s["color"], linestyle=s["linestyle"], linewidth=s["linewidth"])
            ax.fill_between(t, c[f"{key}_q25"], c[f"{key}_q75"], color=s["color"], alpha=0.15, linewidth=0)
            if not ref_drawn and "ref_best_mean" in c:
                ref = c["ref_best_mean"][: t.size]
                if regret:
                    ref = ref - info["optimal_value"]
                elif raw and sign is not None:
                    ref = sign * ref
                ax.plot(t[: ref.size], ref, **{k: v for k, v in REFERENCE_STYLE.items() if k != "label"})
                ref_drawn = True
        if regret:
            ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("iteration (batches after the initial design)")
        integer_ticks(ax)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    _legend(fig, styles)
    return save_figure(fig, stem, formats)


def plot_success(
    tasks: Sequence[str],
    curves: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    stem: str | Path,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    r"""Fraction of seeds with a success found by iteration ``t``.

    Pools: a success row; test functions: a point meeting the problem's
    success criterion (tasks without success curves are left out by the caller).
    """
    methods = sorted({m for (t, m) in curves if t in tasks})
    styles = method_styles(methods)
    fig, axes = figure_grid(len(tasks))
    for ax, task in zip(axes.flat, tasks):
        ref_drawn = False
        for m in methods:
            c = curves.get((task, m))
            if not c or "success_rate" not in c:
                continue
            s = styles[m]
            ax.step(c["t"], c["success_rate"], where="post", color=s["color"], linestyle=s["linestyle"],
                    linewidth=s["linewidth"])
            if not ref_drawn and "ref_success_mean" in c:
                r = c["ref_success_mean"][: c["t"].size]
                ax.plot(c["t"][: r.size], r, **{k: v for k, v in REFERENCE_STYLE.items() if k != "label"})
                ref_drawn = True
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("iteration (batches after the initial design)")
        integer_ticks(ax)
        ax.set_ylabel("success rate (fraction of seeds)")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    _legend(fig, styles)
    return save_figure(fig, stem, formats)


def plot_ef_af(
    tasks: Sequence[str],
    curves: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
    infos: Mapping[str, Mapping[str, Any]],
    stem: str | Path,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    r"""``EF(t)`` (left) and ``AF(p)`` (right) per task (one row each)."""
    from axfusion.benchmarks.metrics import af_curve

    plt = pyplot()
    methods = sorted({m for (t, m) in curves if t in tasks})
    styles = method_styles(methods)
    n = max(1, len(tasks))
    fig, axes = plt.subplots(n, 2, figsize=(9.0, 3.0 * n), squeeze=False)
    for row, task in zip(axes, tasks):
        pool = infos.get(task, {}).get("kind") == "pool"
        which = "top" if pool else "best"
        for m in methods:
            c = curves.get((task, m))
            if not c:
                continue
            s = styles[m]
            ef = c.get(f"ef_{which}")
            if ef is not None:
                row[0].plot(c["t"], ef, color=s["color"], linestyle=s["linestyle"], linewidth=s["linewidth"])
            lv, af = af_curve(c, which)
            if lv.size:
                row[1].plot(lv, af, color=s["color"], linestyle=s["linestyle"], linewidth=s["linewidth"])
        metric = "Top% (fraction of the top-5 % rows found)" if pool else "normalised best-so-far P (-)"
        for ax in row:
            ax.axhline(1.0, **{k: v for k, v in REFERENCE_STYLE.items() if k != "label"})
            ax.grid(alpha=0.3)
        row[0].set_title(f"{task}: enhancement factor", fontsize=10)
        row[0].set_xlabel("iteration (batches after the initial design)")
        integer_ticks(row[0])
        row[0].set_ylabel(f"EF(t) on {'Top%' if pool else 'P'} (-)")
        row[1].set_title(f"{task}: acceleration factor", fontsize=10)
        row[1].set_xlabel(f"level p: {metric}", fontsize=8)
        row[1].set_ylabel("AF(p) (-)")
    if title:
        fig.suptitle(title)
    _legend(fig, styles)
    return save_figure(fig, stem, formats)


# ------------------------------------------------------- fusion diagnostics
def compact_diagnostics(diagnostics: Sequence[Any]) -> list[dict[str, Any]]:
    r"""Only what :func:`diagnostic_series` reads from each record (for compact run files).

    Per record: ``iteration``, ``clusters.bandwidth``, ``novelty``,
    ``intra_batch_distance``, per family ``r2_mean`` and ``elpd_per_point`` of the
    first target, and ``D_r2``, ``D_elpd``, ``lambda`` of the first target's
    fusion. Diagnostics that are not fusion records give ``[]``.
    """
    if not has_fusion_diagnostics(diagnostics):
        return []
    recs = [d for d in diagnostics if isinstance(d, Mapping)]
    out: list[dict[str, Any]] = []
    for i, d in enumerate(recs):
        c: dict[str, Any] = {"iteration": d.get("iteration", i + 1)}
        if "clusters" in d:
            bw = (d.get("clusters") or {}).get("bandwidth")
            c["clusters"] = {"bandwidth": dict(bw)} if bw else {}
        for key in ("novelty", "intra_batch_distance"):
            if key in d:
                c[key] = d[key]
        if "families" in d:
            fams: dict[str, Any] = {}
            for f, per_t in (d.get("families") or {}).items():
                first = per_t[0] if isinstance(per_t, list) and per_t else per_t
                if isinstance(first, Mapping):
                    kept = {k: first[k] for k in ("r2_mean", "elpd_per_point") if k in first}
                    fams[f] = [kept] if isinstance(per_t, list) else kept
            c["families"] = fams
        if "fusion" in d:
            fu = d.get("fusion") or {}
            t0 = fu.get("target_0") if isinstance(fu.get("target_0"), Mapping) else fu
            c["fusion"] = {"target_0": {k: t0[k] for k in ("D_r2", "D_elpd", "lambda") if k in t0}} if isinstance(
                t0, Mapping) else {}
        out.append(c)
    return out


def plot_fusion_diagnostics(run: Mapping[str, Any], stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    r"""The fusion paper's per-run diagnostic panels for one run file.

    Returns:
        The written paths (empty when the run has no such diagnostics).
    """
    diags = run.get("diagnostics") or []
    if not has_fusion_diagnostics(diags):
        return []
    s = diagnostic_series(diags)
    panels = [k for k in ("bandwidth", "novelty", "r2", "elpd", "deviation") if k in s or
              (k == "novelty" and "intra_batch_distance" in s)]
    if not panels:
        return []
    fig, axes = figure_grid(len(panels), ncols=3, size=(4.6, 3.6))
    fam_style = family_styles([s])
    for ax, key in zip(axes.flat, panels):
        if key == "bandwidth":
            draw_bandwidth(ax, s)
        elif key == "novelty":
            draw_novelty(ax, s)
        elif key in ("r2", "elpd"):
            draw_family_scores(ax, s, key, fam_style)
        elif key == "deviation":
            draw_deviation(ax, s)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{run.get('task')} / {run.get('method')} / seed {run.get('seed')}", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, stem, formats)
