r"""The benchmark report: ``report.md``, ``report.json`` and figures.

:func:`make_report` reads every run file of a results folder (see
:mod:`axfusion.benchmarks.runner`) and writes

- ``report.md`` -- per suite a markdown table: success rate, median [20-80 %]
  iterations to success (also the top-5 rows and the single best row), EF and
  AF, final best median [IQR], on pools the best after 5 and 10 batches,
  simple regret, seconds per iteration and peak memory, with random search's
  exact expectation as a reference row per task; then failed runs, unsupported (task, method) pairs and the definitions;
- ``report.json`` -- the same rows (``suites``, ``summary``), the task info,
  the figure list and the definitions;
- ``report_data.json.gz`` -- the per-run scalars (``runs``) and the aggregated
  curves (``curves``: median/IQR best-so-far, success rate, EF(t),
  references), gzip-compressed (:func:`load_report_data`);
- ``figures/`` -- per suite ``convergence_<suite>``, ``success_<suite>``
  (pools) and ``ef_af_<suite>`` (PNG; also PDF with ``pdf=True``), and
  ``figures/diagnostics/<task>__<method>__seed<k>`` for runs with fusion
  diagnostics (by default the lowest seed of each task and method).

The compact run files (:func:`~axfusion.benchmarks.runner.compact_run_record`)
suffice for all of it. The JSON files are written without spaces and with
their floats rounded to 6 significant digits (the tables show 3).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from axfusion.benchmarks import metrics as _m
from axfusion.benchmarks.runner import _atomic, _dumps, _gzip_bytes, _round_sig
from axfusion.diagnostics import jsonable
from axfusion.files import atomic_write

__all__ = ["DATA_FILE", "Report", "format_table", "load_report_data", "make_report", "suite_tables"]

REPORT_SCHEMA = "axfusion.bench.report/2"
DATA_SCHEMA = "axfusion.bench.report_data/1"
#: The per-run scalars and the curves, next to ``report.json``.
DATA_FILE = "report_data.json.gz"

_DEFINITIONS = """\
- **success**: fraction of the finished runs that evaluated a success row (the top
  min(10, floor(N/100)) rows; a Pareto-optimal row for two targets; a row inside the
  window for window targets) within the budget. For *random (exact E)* it is the exact
  probability. **iterations to success**: first batch after the initial design holding a
  success row, median [20th-80th percentile] over the successful runs (random: of the exact
  distribution conditional on success within the budget; *E* = exact E[min(T, budget)]).
  **top-5** / **best row**: the same for the authors' top-5 rows and the single best row.
  On test functions with a success criterion (the problem's own: Ackley f <= 0.5,
  Rastrigin gap <= 30, Schwefel every coordinate in the global minimiser's basin
  x_i > 302.52) success is the first iteration (0 = the initial design) that evaluated
  such a point.
- **EF / AF** (Liang et al., npj Comput. Mater. 7, 188 (2021)): on pools, Top% = fraction of
  the top 5 % rows (ceil(0.05 N)) evaluated; EF = Top%_method(T) / Top%_random(T) at the end
  of the budget T on the seed-mean curves; AF = t_random(p*) / t_method(p*), the ratio of the
  iterations each needs to first reach p* = min(Top%_method(T), Top%_random(T)). On functions
  the same factors on the normalised best-so-far P = (l_median - best) / (l_median - l_best)
  (l_median: the median loss of a random design, l_best: the optimum).
  Random search is the exact expectation (pools: sampling without replacement; functions:
  the empirical distribution of 16384 uniform points), so random search itself has EF = AF = 1
  in expectation.
- **final best**: median [25th-75th percentile] of the best value found (the raw target for
  one-target pools, the loss otherwise; random: the exact expectation). **best @5 / @10**
  (pools): the same after 5 and after 10 batches past the initial design, the EDBO protocol
  (Shields et al., Nature 590, 89 (2021)); "(n ended)" counts the runs that had ended before
  that batch (at their first success, or at an exhausted pool) and carry their best forward,
  a lower bound for them. **regret**: best
  f(x) - f*. **distance**: normalised distance of the incumbent to the nearest optimiser.
- **s / iter**: median over runs of the median proposal time per iteration (seconds);
  **peak MiB**: median over runs of the peak resident memory of the process running it.
"""


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 10 ** (digits + 1) or abs(v) < 10 ** -(digits - 1):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def _its(row: Mapping[str, Any], pre: str, reference: bool = False, hits: bool = False) -> str:
    med = row.get(f"{pre}_median")
    if med is None or not np.isfinite(_num(med)):
        return f"0/{int(row.get('ok', 0) or 0)}" if hits and not reference else "–"
    s = f"{_fmt(med)} [{_fmt(row.get(f'{pre}_p20'))}–{_fmt(row.get(f'{pre}_p80'))}]"
    if hits and not reference:
        s = f"{int(row.get(f'{pre}_hits', 0) or 0)}/{int(row.get('ok', 0) or 0)}: " + s
    if reference and pre == "its" and row.get("expected_iterations") is not None and np.isfinite(
        _num(row.get("expected_iterations"))
    ):
        s += f"; E={_fmt(row['expected_iterations'])}"
    return s


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _iqr(row: Mapping[str, Any], pre: str) -> str:
    med = _num(row.get(f"{pre}_median"))
    if not np.isfinite(med):
        return "–"
    lo, hi = _num(row.get(f"{pre}_q25")), _num(row.get(f"{pre}_q75"))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _fmt(med)
    return f"{_fmt(med)} [{_fmt(lo)}–{_fmt(hi)}]"


def _at(row: Mapping[str, Any], k: int) -> str:
    r"""Best after ``k`` batches: median [IQR], and how many runs had ended before batch ``k``."""
    cell = _iqr(row, f"at{k}")
    early = _num(row.get(f"at{k}_early"))
    if cell != "–" and np.isfinite(early) and early > 0:
        cell += f" ({int(early)} ended)"
    return cell


def _runs_cell(row: Mapping[str, Any]) -> str:
    if str(row.get("method", "")).startswith("random (exact"):
        return "exact"
    n, failed = int(row.get("runs", 0)), int(row.get("failed", 0) or 0)
    return f"{n}" + (f" ({failed} failed)" if failed else "")


def format_table(rows: Sequence[Mapping[str, Any]], kind: str) -> str:
    r"""A markdown table of summary rows of one kind (``"pool"`` or ``"function"``)."""
    if kind == "pool":
        head = ["task", "method", "runs", "success", "iterations to success", "top-5", "best row", "EF", "AF",
                "final best", *(f"best @{k}" for k in _m.BEST_AT_BATCHES), "s / iter", "peak MiB"]
    else:
        with_success = any(r.get("success_label") for r in rows)
        head = ["task", "method", "runs"] + (["success", "iterations to success"] if with_success else []) + [
            "final best", "regret", "distance", "EF", "AF", "s / iter", "peak MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        ref = str(r.get("method", "")).startswith("random (exact")
        if kind == "pool":
            ok = int(r.get("ok", 0) or 0)
            if ref:
                succ = f"{_fmt(r.get('success'))} (P)" if r.get("success") is not None else "–"
            else:
                succ = f"{int(r.get('its_hits', 0) or 0)}/{ok}" if ok else "–"
            cells = [r["task"], r["method"], _runs_cell(r), succ, _its(r, "its", ref), _its(r, "top5", ref, True),
                     _its(r, "best", ref, True), _fmt(r.get("ef")), _fmt(r.get("af")), _iqr(r, "final"),
                     *(_at(r, k) for k in _m.BEST_AT_BATCHES),
                     _fmt(r.get("s_per_iteration")), _fmt(r.get("peak_rss_mib"))]
        else:
            succ_cells = []
            if with_success:
                ok = int(r.get("ok", 0) or 0)
                label = r.get("success_label")
                succ_cells = [f"{int(r.get('its_hits', 0) or 0)}/{ok} ({label})" if label and not ref else "–",
                              _its(r, "its") if label and not ref else "–"]
            cells = [r["task"], r["method"], _runs_cell(r), *succ_cells, _iqr(r, "final"), _iqr(r, "regret"),
                     _fmt(r.get("distance_median")), _fmt(r.get("ef")), _fmt(r.get("af")),
                     _fmt(r.get("s_per_iteration")), _fmt(r.get("peak_rss_mib"))]
        if ref:
            cells = [f"*{c}*" if c not in ("–", "") and i < 2 else c for i, c in enumerate(cells)]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _group_suites(runs: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    tasks_present = list(dict.fromkeys(r["task"] for r in runs))
    suites: dict[str, list[str]] = {}
    covered: set[str] = set()
    for name, tasks in (manifest.get("suites") or {}).items():
        ts = [t for t in tasks if t in tasks_present]
        if ts:
            suites[name] = ts
            covered.update(ts)
    rest = [t for t in tasks_present if t not in covered]
    if rest:
        suites["other" if suites else "all"] = rest
    return suites


def suite_tables(
    runs: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any] | None = None
) -> tuple[dict[str, list[dict[str, Any]]], pd.DataFrame, dict[tuple[str, str], dict[str, np.ndarray]]]:
    r"""Summary rows per suite (with the random reference rows), the full table and the curves."""
    table, curves = _m.aggregate(runs)
    suites = _group_suites(runs, manifest or {})
    by_task: dict[str, list[dict[str, Any]]] = {}
    for rec in table.to_dict("records"):
        by_task.setdefault(rec["task"], []).append(rec)
    out: dict[str, list[dict[str, Any]]] = {}
    for suite, tasks in suites.items():
        rows: list[dict[str, Any]] = []
        for t in tasks:
            rows.extend(by_task.get(t, []))
            ref = _m.random_reference_row([r for r in runs if r["task"] == t])
            if ref is not None:
                rows.append(ref)
        out[suite] = rows
    return out, table, curves


def render_markdown(suites: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    r"""The suite tables as markdown (pool and function rows in separate tables)."""
    parts = []
    for suite, rows in suites.items():
        parts.append(f"## Suite `{suite}`\n")
        for kind, title in (("pool", "Closed pools"), ("function", "Test functions")):
            rs = [r for r in rows if r.get("kind") == kind]
            if rs:
                if any(r.get("kind") != kind for r in rows):
                    parts.append(f"**{title}**\n")
                parts.append(format_table(rs, kind) + "\n")
    return "\n".join(parts)


@dataclass
class Report:
    r"""What :func:`make_report` wrote.

    Attributes:
        markdown: The report text.
        tables: Summary rows per suite.
        paths: Written files (report.md, report.json, report_data.json.gz, figures).
    """

    markdown: str
    tables: dict[str, list[dict[str, Any]]]
    paths: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        r"""The suite tables only (for the terminal)."""
        return render_markdown(self.tables)


def make_report(
    out_dir: str | os.PathLike[str],
    *,
    figures: bool = True,
    all_diagnostics: bool = False,
    pdf: bool = False,
) -> Report:
    r"""Write ``report.md``, ``report.json``, ``report_data.json.gz`` and the figures of a results folder.

    Args:
        out_dir: The folder :func:`~axfusion.benchmarks.runner.run_benchmark` wrote.
        figures: Also draw the figures (``figures/``).
        all_diagnostics: Diagnostic panels for every run with fusion
            diagnostics (default: the lowest seed per task and method).
        pdf: Also write every figure as PDF (default: PNG only).

    Raises:
        FileNotFoundError: If the folder holds no run files.
    """
    out = Path(out_dir)
    runs = _m.load_runs(out)
    if not runs:
        raise FileNotFoundError(f"No run files under {out / 'runs'}.")
    manifest: dict[str, Any] = {}
    if (out / "benchmark.json").exists():
        try:
            with open(out / "benchmark.json") as fh:
                manifest = json.load(fh)
        except (OSError, ValueError):
            manifest = {}
    tables, table, curves = suite_tables(runs, manifest)
    infos = {}
    for r in runs:
        if r.get("task_info") and r["task"] not in infos:
            infos[r["task"]] = r["task_info"]
    per_run = _m.runs_frame(runs)

    md = ["# Benchmark report\n",
          f"Results folder: `{out}`; {len(runs)} run files, generated "
          f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}.\n",
          render_markdown(tables)]
    n_early = sum(bool(r.get("stop_at_success")) for r in runs)
    n_stopped = sum(bool(r.get("stopped_at_success")) for r in runs)
    if n_early:
        md.append(
            f"**Early stop.** {n_early} of {len(runs)} runs were to end at their first success row "
            f"(`--stop-at-success`; {n_stopped} did, the others spent the budget): iterations to success are "
            "exact, while the top-5 and best-row "
            "columns count only rows found by then, and EF, AF and the final best carry the "
            "best-so-far forward from the stop, as do the best @5 / @10 columns for runs that ended "
            "earlier, so for those runs they are lower bounds on the "
            "method's performance over the whole budget. Compare methods on iterations to "
            "success.\n"
        )
    methods = {str(r.get("method")) for r in runs}
    if "fusion" in methods and any(m.startswith("fusion:") for m in methods):
        from axfusion.benchmarks.ablation import ablation_markdown, paired_table

        paired = paired_table(runs, baseline="fusion")
        md.append(ablation_markdown(paired, baseline="fusion"))
        paired.to_csv(out / "ablations.csv", index=False)
    failed = per_run[per_run["status"] != "ok"]
    if len(failed):
        md.append("## Failed runs\n")
        md.append("| task | method | seed | error |\n|---|---|---|---|")
        for r in failed.to_dict("records"):
            error = str(r["error"] or "").replace("|", "/")[:200]
            md.append(f"| {r['task']} | {r['method']} | {r['seed']} | {error} |")
        md.append("")
    unsupported = manifest.get("unsupported") or []
    if unsupported:
        md.append("## Skipped (method does not support the task)\n")
        md.extend(f"- {u['task']}: {u['method']}" for u in unsupported)
        md.append("")
    budgets = []
    for t, info in infos.items():
        budgets.append(f"| {t} | {info.get('kind')} | {info.get('n_initial')} | {info.get('batch_size')} | "
                       f"{info.get('n_iterations')} | {info.get('budget')} |")
    md.append("## Budgets\n\n| task | kind | initial | batch | iterations | evaluations |\n|---|---|---|---|---|---|")
    md.extend(budgets)
    md.append("\n## Definitions\n")
    md.append(_DEFINITIONS)

    paths: list[Path] = []
    fig_rel: list[str] = []
    if figures:
        fig_dir = out / "figures"
        formats = ("png", "pdf") if pdf else ("png",)
        for suite, rows in tables.items():
            tasks = list(dict.fromkeys(r["task"] for r in rows))
            sub = {k: v for k, v in curves.items() if k[0] in tasks and v}
            if not sub:
                continue
            paths += _safe_plot("plot_convergence", tasks, sub, infos, fig_dir / f"convergence_{suite}",
                                title=f"{suite}: convergence (median, IQR)", formats=formats)
            with_success = [t for t in tasks if any("success_rate" in c for (tt, _), c in sub.items() if tt == t)]
            if with_success:
                paths += _safe_plot("plot_success", with_success, sub, fig_dir / f"success_{suite}",
                                    title=f"{suite}: success rate", formats=formats)
            paths += _safe_plot("plot_ef_af", tasks, sub, infos, fig_dir / f"ef_af_{suite}",
                                title=f"{suite}: enhancement and acceleration factors", formats=formats)
        from axfusion.benchmarks.plots import has_fusion_diagnostics, plot_fusion_diagnostics

        done: set[tuple[str, str]] = set()
        for r in sorted(runs, key=lambda r: (r["task"], r["method"], r["seed"])):
            key = (r["task"], r["method"])
            if r.get("status") != "ok" or not has_fusion_diagnostics(r.get("diagnostics") or []):
                continue
            if key in done and not all_diagnostics:
                continue
            done.add(key)
            stem = fig_dir / "diagnostics" / f"{r['task']}__{r['method']}__seed{r['seed']}"
            try:
                paths += plot_fusion_diagnostics(r, stem, formats)
            except Exception as err:  # a figure never stops the report
                md.append(f"\n(diagnostic figure {stem.name} failed: {type(err).__name__}: {err})\n")
        fig_rel = [str(p.relative_to(out)) for p in paths if p.suffix == ".png"]
        if fig_rel:
            md.append("## Figures\n")
            md.extend(f"- [{p}]({p})" for p in fig_rel)
            md.append("")
    text = "\n".join(md) + "\n"
    md_path = out / "report.md"
    atomic_write(md_path, lambda fh: fh.write(text))  # a full disk leaves the previous report whole
    payload = {
        "schema": REPORT_SCHEMA,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "out_dir": str(out),
        "data": DATA_FILE,
        "suites": tables,
        "summary": table.to_dict("records"),
        "task_info": {t: {k: v for k, v in i.items() if not k.endswith("_rows")} for t, i in infos.items()},
        "unsupported": unsupported,
        "figures": fig_rel,
        "definitions": _DEFINITIONS,
    }
    json_path = out / "report.json"
    tmp = json_path.with_suffix(".json.tmp")
    with open(tmp, "w") as fh:
        json.dump(_round_sig(jsonable(payload), 6), fh, allow_nan=False, separators=(",", ":"))
    os.replace(tmp, json_path)
    data = {
        "schema": DATA_SCHEMA,
        "runs": per_run.drop(columns=["path"]).to_dict("records"),
        "curves": {f"{t}/{m}": c for (t, m), c in curves.items()},
    }
    data_path = out / DATA_FILE
    _atomic(data_path, _gzip_bytes(_dumps(_round_sig(jsonable(data), 6))))
    return Report(markdown=text, tables=tables, paths=[md_path, json_path, data_path, *paths])


def load_report_data(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    r"""``report_data.json.gz`` of a results folder: ``{"schema", "runs", "curves"}``."""
    import gzip

    with gzip.open(Path(out_dir) / DATA_FILE, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _safe_plot(name: str, *args: Any, **kwargs: Any) -> list[Path]:
    from axfusion.benchmarks import plots

    try:
        return getattr(plots, name)(*args, **kwargs)
    except Exception as err:  # pragma: no cover - a figure never stops the report
        import warnings

        warnings.warn(f"{name} failed: {type(err).__name__}: {err}", stacklevel=2)
        return []
