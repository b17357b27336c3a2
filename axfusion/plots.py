r"""Figures of a campaign: the fusion paper's per-run panels, drawn from a campaign file.

:func:`campaign` reads the JSON file that ``FusionOptimizer(state_path=...)`` (or
``axfusion suggest --campaign``) writes, a :class:`~axfusion.campaign.CampaignState`, a
:class:`~axfusion.campaign.FusionOptimizer` or an Ax experiment, and writes one figure per
panel (PNG, and PDF with ``pdf=True``) into a folder:

==============================  ==========================================================================
file                            panel
==============================  ==========================================================================
``<name>_best_so_far``          best measured value per target after each iteration (raw units), every
                                measurement as a dot; a target value or window drawn in
``<name>_distance_to_best``     mean distance of each batch, and of its best-scored design, to the best
                                design measured before it (the iteration's embedding)
``<name>_cluster_bandwidth``    batch slots per cluster label and iteration (heat map)
``<name>_novelty``              novelty (distance to the previous three batches) and intra-batch distance
``<name>_family_scores``        out-of-bag :math:`R^2` (accuracy channel) and ELPD per point (calibration
                                channel) of every surrogate family, one row per target
``<name>_deviation_ratios``     the deviation ratios :math:`D_{R^2}`, :math:`D_\mathrm{ELPD}` and the rKF
                                strength :math:`\lambda`, one panel per target
==============================  ==========================================================================

An Ax experiment JSON file (``Client.save_to_json_file`` or Ax's ``save_experiment``) that used
the fusion strategy has fewer: the fusion node stores, per arm, its iteration and the predicted
mean and spread, not the iteration records. :func:`ax_experiment` draws what it has -- best so
far per measured design, the distances of each fusion batch in the unit box of the search space
and the predicted mean and std against the measured value -- and says what is missing in the
returned :attr:`Figures.notes`.

The drawing helpers (palette, styles, the 256-colour PNG writer and the diagnostic panels of
:func:`diagnostic_series`) are shared with the benchmark figures of
:mod:`axfusion.benchmarks.plots`, which draw the same panels from benchmark run records.
matplotlib is needed (``pip install axfusion[plots]``); figures use the Agg backend.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "AX_MISSING",
    "FORMATS",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "PANELS",
    "CampaignFileError",
    "Figures",
    "ax_experiment",
    "campaign",
    "diagnostic_series",
    "draw_bandwidth",
    "draw_deviation",
    "draw_family_scores",
    "draw_novelty",
    "family_styles",
    "figure_grid",
    "has_fusion_diagnostics",
    "integer_ticks",
    "line_style",
    "pyplot",
    "save_figure",
]

#: Okabe & Ito (2008) colour-blind-safe palette, without yellow (too light on white) and black.
PALETTE: tuple[str, ...] = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: Line styles, cycled after the palette.
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")
#: Markers, cycled with the palette.
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Default figure formats.
FORMATS: tuple[str, ...] = ("png",)
#: The panels :func:`campaign` writes for a campaign file, in order (file name suffixes).
PANELS: tuple[str, ...] = (
    "best_so_far", "distance_to_best", "cluster_bandwidth", "novelty", "family_scores", "deviation_ratios",
)
#: What an Ax experiment file does not hold (the fusion node keeps no iteration records).
AX_MISSING = (
    "cluster bandwidth, novelty, OOB R^2 and ELPD per family, deviation ratios and the Stage-0 capacity are not "
    "in an Ax experiment (the fusion node stores per arm only its iteration and predictions, not the iteration "
    "records); a FusionOptimizer campaign file (state_path=...) has them"
)
_DPI = 90
_GREY = "#999999"


class CampaignFileError(ValueError):
    r"""The file is not a campaign file (nor an Ax experiment), or it is incomplete."""


class Figures(list[Path]):
    r"""The written figure files, plus :attr:`notes`: what could not be drawn and why."""

    def __init__(self, paths: Sequence[Path] = (), notes: Sequence[str] = ()) -> None:
        super().__init__(paths)
        #: One sentence per panel left out (missing data) or quantity an Ax file does not hold.
        self.notes: list[str] = list(notes)


# ----------------------------------------------------------------- drawing helpers
def line_style(i: int) -> dict[str, Any]:
    r"""``{color, linestyle, marker, linewidth}`` of the ``i``-th line (palette, then line styles)."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "linestyle": LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
        "linewidth": 1.6,
    }


def pyplot() -> Any:
    r"""``matplotlib.pyplot`` on the non-interactive Agg backend (unless a backend is already in use)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save_png(fig: Any, path: Path) -> None:
    r"""``fig`` as a 256-colour (palette) PNG: a third to a fifth of the RGBA file's bytes, same look."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    try:
        from PIL import Image

        buf.seek(0)
        with Image.open(buf) as im:
            rgb = im.convert("RGB")
        rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            path, format="PNG", optimize=True)
    except Exception:  # noqa: BLE001 - Pillow missing or failing: the plain PNG
        path.write_bytes(buf.getvalue())


def save_figure(fig: Any, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    r"""Save ``fig`` as ``stem.png`` (90 dpi, 256 colours) and/or ``stem.pdf``; closes it.

    Args:
        fig: A matplotlib figure.
        stem: Output path without suffix.
        formats: ``"png"`` and/or ``"pdf"``.
    """
    plt = pyplot()
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    unknown = set(formats) - {"png", "pdf"}
    if unknown or not formats:
        plt.close(fig)
        raise ValueError(f"Figure formats are 'png' and 'pdf', got {list(formats)}.")
    paths = []
    for fmt in dict.fromkeys(formats):
        path = stem.parent / f"{stem.name}.{fmt}"  # not with_suffix: a stem may hold dots (tiny.campaign)
        if fmt == "png":
            _save_png(fig, path)
        else:
            fig.savefig(path, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def figure_grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.2, 3.2)) -> tuple[Any, np.ndarray]:
    r"""A figure with ``n`` panels in rows of ``ncols`` (unused axes hidden) and its axes array."""
    plt = pyplot()
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def integer_ticks(ax: Any) -> None:
    r"""Integer ticks on the x axis (iterations)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ------------------------------------------------------------ diagnostic series
def has_fusion_diagnostics(diagnostics: Sequence[Any]) -> bool:
    r"""Whether per-iteration diagnostics look like IterationRecord dicts."""
    keys = {"clusters", "families", "fusion", "novelty", "intra_batch_distance"}
    return any(isinstance(d, Mapping) and keys.intersection(d) for d in diagnostics or [])


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def diagnostic_series(diagnostics: Sequence[Mapping[str, Any]], target: int = 0) -> dict[str, Any]:
    r"""Arrays for the diagnostic panels (missing quantities are left out).

    Args:
        diagnostics: :class:`~axfusion.diagnostics.IterationRecord` dicts (or the compact records
            of benchmark run files).
        target: The target whose family scores and deviation ratios are read.

    Returns:
        ``iterations``; ``bandwidth`` (iterations x clusters) with
        ``bandwidth_labels``; ``novelty``; ``intra_batch_distance``;
        ``r2`` and ``elpd`` (``{family: array}``); ``deviation``
        (``{"D_r2", "D_elpd", "lambda"}``).
    """
    recs = [d for d in diagnostics if isinstance(d, Mapping)]
    out: dict[str, Any] = {"iterations": np.array([_num(d.get("iteration", i + 1)) for i, d in enumerate(recs)])}
    bw = [(d.get("clusters") or {}).get("bandwidth") or {} for d in recs]
    labels = sorted({str(k) for b in bw for k in b},
                    key=lambda s: (int(s) < 0, int(s)) if s.lstrip("-").isdigit() else (True, 0))
    if labels:
        out["bandwidth"] = np.array([[_num(b.get(lab, b.get(int(lab) if lab.lstrip("-").isdigit() else lab, 0)))
                                      for lab in labels] for b in bw])
        out["bandwidth_labels"] = labels
    for key in ("novelty", "intra_batch_distance"):
        vals = np.array([_num(d.get(key)) for d in recs])
        if np.isfinite(vals).any():
            out[key] = vals
    fams = sorted({f for d in recs for f in (d.get("families") or {})})
    for metric, name in (("r2_mean", "r2"), ("elpd_per_point", "elpd")):
        series = {}
        for f in fams:
            per_rec = []
            for d in recs:
                per_t = (d.get("families") or {}).get(f)
                this = (per_t[target] if len(per_t) > target else None) if isinstance(per_t, list) else per_t
                per_rec.append(_num(this.get(metric)) if isinstance(this, Mapping) else float("nan"))
            arr = np.array(per_rec)
            if np.isfinite(arr).any():
                series[f] = arr
        if series:
            out[name] = series
    dev = {}
    for key in ("D_r2", "D_elpd", "lambda"):
        per_rec = []
        for d in recs:
            fu = d.get("fusion") or {}
            tk = f"target_{target}"
            t0 = fu.get(tk) if isinstance(fu.get(tk), Mapping) else (fu if target == 0 else None)
            per_rec.append(_num(t0.get(key)) if isinstance(t0, Mapping) else float("nan"))
        vals = np.array(per_rec)
        if np.isfinite(vals).any():
            dev[key] = vals
    if dev:
        out["deviation"] = dev
    return out


# --------------------------------------------------------------- the panels
def draw_bandwidth(ax: Any, series: Mapping[str, Any]) -> None:
    r"""Cluster bandwidth heat map (clusters x iterations) with its colour bar."""
    it = series["iterations"]
    B = series["bandwidth"].T  # clusters x iterations
    im = ax.imshow(B, aspect="auto", origin="lower", cmap="cividis", interpolation="nearest",
                   extent=(it.min() - 0.5, it.max() + 0.5, -0.5, B.shape[0] - 0.5))
    ax.set_yticks(range(B.shape[0]))
    ax.set_yticklabels(["noise" if lab == "-1" else lab for lab in series["bandwidth_labels"]], fontsize=7)
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    ax.set_ylabel("cluster label")
    ax.set_title("cluster bandwidth (batch slots)", fontsize=10)
    ax.figure.colorbar(im, ax=ax, label="slots per cluster (count)")


def draw_novelty(ax: Any, series: Mapping[str, Any]) -> None:
    r"""Novelty and intra-batch distance per iteration."""
    it = series["iterations"]
    if "novelty" in series:
        ax.plot(it, series["novelty"], color=PALETTE[0], marker="o", markersize=3, label="novelty")
    if "intra_batch_distance" in series:
        ax.plot(it, series["intra_batch_distance"], color=PALETTE[1], marker="s", markersize=3,
                linestyle="--", label="intra-batch distance")
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    ax.set_ylabel("distance (standardised feature units)")
    ax.set_title("novelty and intra-batch distance", fontsize=10)
    ax.legend(fontsize=7)


def draw_family_scores(ax: Any, series: Mapping[str, Any], key: str, styles: Mapping[str, Mapping[str, Any]]) -> None:
    r"""OOB :math:`R^2` (``key="r2"``) or ELPD per point (``key="elpd"``) of every family."""
    it = series["iterations"]
    for f, vals in series[key].items():
        st = styles[f]
        ax.plot(it, vals, color=st["color"], linestyle=st["linestyle"], marker=st["marker"], markersize=3, label=f)
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    if key == "r2":
        ax.set_ylabel("OOB R^2 (-)")
        ax.set_title("out-of-bag R^2 per family", fontsize=10)
    else:
        ax.set_ylabel("OOB ELPD per point (nats)")
        ax.set_title("out-of-bag ELPD per family", fontsize=10)
    ax.legend(fontsize=6, ncol=2)


def draw_deviation(ax: Any, series: Mapping[str, Any]) -> None:
    r"""Deviation ratios :math:`D_{R^2}`, :math:`D_\mathrm{ELPD}` and the rKF strength :math:`\lambda`."""
    it = series["iterations"]
    for j, (name, vals) in enumerate(series["deviation"].items()):
        ax.plot(it, vals, color=PALETTE[j % len(PALETTE)], linestyle=LINESTYLES[j % 4], marker="o",
                markersize=3, label=name)
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    ax.set_ylabel("ratio (-)")
    ax.set_title("deviation ratios and rKF strength", fontsize=10)
    ax.legend(fontsize=7)


def family_styles(series: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    r"""One style per family name found in the ``r2``/``elpd`` entries of ``series`` (sorted names)."""
    names = sorted({f for s in series for key in ("r2", "elpd") for f in s.get(key, {})})
    return {f: line_style(i) for i, f in enumerate(names)}


# ------------------------------------------------------------- input files
def _read_json(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise CampaignFileError(f"{path} is a folder, not a campaign file")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CampaignFileError(f"{path.name} is not JSON ({error.msg}, line {error.lineno})") from None
    except UnicodeDecodeError:
        raise CampaignFileError(f"{path.name} is not a text (JSON) file") from None


def _ax_payload(data: Any) -> Mapping[str, Any] | None:
    r"""The encoded Ax experiment of an Ax JSON file (an experiment, or a ``Client`` snapshot)."""
    if not isinstance(data, Mapping):
        return None
    if data.get("__type") == "Experiment":
        return data
    inner = data.get("experiment")
    if isinstance(inner, Mapping) and inner.get("__type") == "Experiment":
        return inner
    return None


def _is_campaign(data: Any) -> bool:
    return isinstance(data, Mapping) and {"observations", "targets", "diagnostics"} <= set(data)


def _campaign_state(data: Mapping[str, Any], name: str) -> Any:
    from axfusion.campaign import CampaignState

    try:
        return CampaignState.from_dict(dict(data))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
        raise CampaignFileError(f"{name} is not a complete axfusion campaign file ({detail})") from None


def campaign(path_or_state: Any, out_dir: str | Path, pdf: bool = False) -> Figures:
    r"""Write the per-run panels of a campaign into ``out_dir``.

    Args:
        path_or_state: A campaign file (JSON written by ``FusionOptimizer(state_path=...)`` or
            ``axfusion suggest``) or its parsed dict, a :class:`~axfusion.campaign.CampaignState`, a
            :class:`~axfusion.campaign.FusionOptimizer`, or an Ax experiment (a JSON file of one, or
            an ``ax.core.experiment.Experiment``), which goes to :func:`ax_experiment`.
        out_dir: Folder for the figures (created).
        pdf: Also write a PDF of every figure.

    Returns:
        The written files (:class:`Figures`, a list of paths; its ``notes`` say which panels were
        left out and why).

    Raises:
        FileNotFoundError: ``path_or_state`` is a path that does not exist.
        CampaignFileError: The file is neither a campaign file nor an Ax experiment, or incomplete.
    """
    from axfusion.campaign import CampaignState

    formats = ("png", "pdf") if pdf else FORMATS
    out = Path(out_dir)
    name = "campaign"
    source = path_or_state
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name[: -len(".json")] if path.name.endswith(".json") else path.stem
        source = _read_json(path)
        label = path.name
        if not isinstance(source, Mapping):
            raise CampaignFileError(f"{label} is not a campaign file (its JSON is a {type(source).__name__})")
    else:
        label = "the campaign"
    if _ax_payload(source) is not None or _is_ax_experiment(source):
        return ax_experiment(source, out, pdf=pdf, name=name)
    state = getattr(source, "state", source)  # a FusionOptimizer
    if isinstance(state, Mapping):
        if not _is_campaign(state):
            raise CampaignFileError(
                f"{label} is neither an axfusion campaign file (written by FusionOptimizer(state_path=...) or "
                "axfusion suggest --campaign) nor an Ax experiment JSON file"
            )
        state = _campaign_state(state, label)
    if not isinstance(state, CampaignState):
        raise TypeError(f"expected a campaign file, CampaignState or FusionOptimizer, got {type(path_or_state)}")
    return _plot_state(state, out, name, formats)


def _plot_state(state: Any, out: Path, name: str, formats: Sequence[str]) -> Figures:
    from axfusion.acquisition.targets import orient

    figs = Figures()
    records = [r.as_dict() for r in state.records]
    title = f"{name}: {state.n_observed} measurements, {state.iteration} iterations"
    ok = state.successful
    if ok:
        Y = state.Y()
        O = orient(Y, state.targets)
        its = np.array([o.iteration for o in ok])
        figs += _best_so_far_panels(
            [np.arange(state.iteration + 1)] * state.m,
            [_best_by_step(Y[:, j], O[:, j], its, state.iteration) for j in range(state.m)],
            [(its, Y[:, j]) for j in range(state.m)],
            list(state.targets), list(state.target_names), out / f"{name}_best_so_far", title,
            "iteration (batches after the initial measurements)", formats,
        )
    else:
        figs.notes.append("best so far: no successful measurement yet")
    if not records:
        figs.notes.append("the per-iteration panels: no batch has been suggested yet")
        return figs
    it = np.array([r["iteration"] for r in records], dtype=float)
    dist = {k: np.array([_num(r.get(k)) for r in records]) for k in ("batch_distance_to_best", "best_distance_to_best")}
    fig, axes = figure_grid(1, ncols=1, size=(5.6, 3.6))
    ax = axes[0, 0]
    ax.plot(it, dist["batch_distance_to_best"], color=PALETTE[0], marker="o", markersize=4, label="batch (mean)")
    ax.plot(it, dist["best_distance_to_best"], color=PALETTE[1], marker="s", markersize=4, linestyle="--",
            label="best-scored design of the batch")
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    ax.set_ylabel("distance to the best measured design\n(the iteration's embedding, standardised)")
    ax.set_title("distance of the batch to the best so far", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    figs += save_figure(fig, out / f"{name}_distance_to_best", formats)

    per_target = [diagnostic_series(records, target=j) for j in range(state.m)]
    s = per_target[0]
    for key, panel, draw in (("bandwidth", "cluster_bandwidth", draw_bandwidth), ("novelty", "novelty", draw_novelty)):
        if key in s or (key == "novelty" and "intra_batch_distance" in s):
            fig, axes = figure_grid(1, ncols=1, size=(5.6, 3.8))
            draw(axes[0, 0], s)
            axes[0, 0].grid(alpha=0.3)
            fig.suptitle(title, fontsize=10)
            fig.tight_layout()
            figs += save_figure(fig, out / f"{name}_{panel}", formats)
        else:
            figs.notes.append(f"{panel.replace('_', ' ')}: not in the iteration records")
    names = list(state.target_names)
    if any("r2" in t or "elpd" in t for t in per_target):
        styles = family_styles(per_target)
        fig, axes = figure_grid(2 * state.m, ncols=2, size=(5.0, 3.6))
        for j, t in enumerate(per_target):
            for k, key in enumerate(("r2", "elpd")):
                ax = axes[j, k]
                if key in t:
                    draw_family_scores(ax, t, key, styles)
                    ax.set_title(f"{ax.get_title()}: {names[j]}", fontsize=10)
                ax.grid(alpha=0.3)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        figs += save_figure(fig, out / f"{name}_family_scores", formats)
    else:
        figs.notes.append("family scores: no family scores in the iteration records")
    if any("deviation" in t for t in per_target):
        fig, axes = figure_grid(state.m, ncols=min(state.m, 3), size=(5.0, 3.6))
        for j, t in enumerate(per_target):
            ax = axes.flat[j]
            if "deviation" in t:
                draw_deviation(ax, t)
                ax.set_title(f"{ax.get_title()}: {names[j]}", fontsize=10)
            ax.grid(alpha=0.3)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        figs += save_figure(fig, out / f"{name}_deviation_ratios", formats)
    else:
        figs.notes.append("deviation ratios: no fusion calibration in the iteration records "
                          "(stage3.acquisition = qlognei has none)")
    return figs


def _best_by_step(y: np.ndarray, o: np.ndarray, steps: np.ndarray, last: int) -> np.ndarray:
    r"""Raw value of the best (oriented) measurement made up to each step ``0..last`` (NaN before any)."""
    out = np.full(last + 1, np.nan)
    for t in range(last + 1):
        seen = np.flatnonzero((steps <= t) & np.isfinite(o))
        if seen.size:
            out[t] = y[seen[np.argmax(o[seen])]]
    return out


def _best_so_far_panels(
    xs: Sequence[np.ndarray],
    bests: Sequence[np.ndarray],
    points: Sequence[tuple[np.ndarray, np.ndarray]],
    targets: Sequence[Any],
    names: Sequence[str],
    stem: Path,
    title: str,
    xlabel: str,
    formats: Sequence[str],
    colors: Sequence[np.ndarray] | None = None,
) -> list[Path]:
    r"""One panel per target: the best so far (step line), every measurement (dots), the target."""
    fig, axes = figure_grid(len(targets), ncols=min(len(targets), 3), size=(5.2, 3.6))
    for j, (ax, target) in enumerate(zip(axes.flat, targets)):
        px, py = points[j]
        if colors is None:
            ax.scatter(px, py, s=10, color=_GREY, alpha=0.6, label="measured", zorder=2)
        else:
            fus = colors[j]
            ax.scatter(px[~fus], py[~fus], s=12, color=_GREY, alpha=0.7, label="initial design", zorder=2)
            ax.scatter(px[fus], py[fus], s=14, color=PALETTE[1], alpha=0.8, label="fusion", zorder=2)
        ax.step(xs[j], bests[j], where="post", color=PALETTE[0], linewidth=2.0, label="best so far", zorder=3)
        if target.kind == "value" and target.value is not None:
            ax.axhline(target.value, color="k", linestyle=":", linewidth=1.2, label="target value")
        elif target.kind == "window":
            lo = -np.inf if target.lower is None else target.lower
            hi = np.inf if target.upper is None else target.upper
            finite = [v for v in (lo, hi) if np.isfinite(v)]
            for v in finite:
                ax.axhline(v, color="k", linestyle=":", linewidth=1.2)
            if len(finite) == 2:
                ax.axhspan(lo, hi, color=PALETTE[2], alpha=0.12, label="target window")
        ax.set_xlabel(xlabel, fontsize=8)
        integer_ticks(ax)
        ax.set_ylabel(f"{names[j]} (measured units)")
        ax.set_title(f"best so far: {names[j]} ({target.kind})", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem, formats)


# ------------------------------------------------------------- Ax experiments
def _is_ax_experiment(obj: Any) -> bool:
    return type(obj).__name__ == "Experiment" and hasattr(obj, "trials") and hasattr(obj, "search_space")


def ax_experiment(path_or_experiment: Any, out_dir: str | Path, pdf: bool = False, name: str | None = None) -> Figures:
    r"""Write what an Ax experiment that used the fusion strategy has into ``out_dir``.

    ``<name>_best_so_far`` (per target, over the measured designs in trial order; the fusion's
    designs marked), ``<name>_batch_distances`` (each fusion iteration's mean distance to the best
    design measured before it and its intra-batch distance, in the unit box of the search space; not
    for a closed pool, whose designs are row ids) and ``<name>_predicted_vs_measured`` (the fusion's
    predicted mean and std per target, stored with every arm, against the measured value).

    Args:
        path_or_experiment: An Ax experiment JSON file (``save_experiment`` or a ``Client`` snapshot),
            its parsed dict, or an ``Experiment``.
        out_dir: Folder for the figures (created).
        pdf: Also write a PDF of every figure.
        name: File name prefix (default: the file's name, or ``"experiment"``).

    Returns:
        The written files; their ``notes`` list :data:`AX_MISSING` and any panel left out.
    """
    from axfusion.ax.objectives import targets_from_config
    from axfusion.ax.observations import FUSION_ITERATION, collect_observations

    formats = ("png", "pdf") if pdf else FORMATS
    out = Path(out_dir)
    experiment = path_or_experiment
    if isinstance(experiment, (str, Path)):
        path = Path(experiment)
        name = name or (path.name[: -len(".json")] if path.name.endswith(".json") else path.stem)
        experiment = _read_json(path)
    name = name or "experiment"
    if not _is_ax_experiment(experiment):
        experiment = _decode_experiment(experiment, name)
    config = experiment.optimization_config
    if config is None:
        raise CampaignFileError(f"{name}: the Ax experiment has no optimization config (no objective to plot)")
    specs = targets_from_config(config)
    table = collect_observations(experiment, experiment.lookup_data(), specs, include_failed=False)
    figs = Figures(notes=[AX_MISSING])
    meta = _arm_metadata(experiment)
    signatures = [_signature(experiment, p) for p in table.parameters]
    fusion = table.iteration > 0
    k = len(table.parameters)
    title = f"{name}: {k} measured designs, {int(table.iteration.max(initial=0))} fusion iterations"
    if k == 0:
        figs.notes.append("best so far: no measured design yet")
        return figs
    if not fusion.any():
        figs.notes.append("no measured design was proposed by the fusion node (no fusion_iteration metadata)")
    from axfusion.acquisition.targets import orient

    targets = [s.target for s in specs]
    names = [s.name for s in specs]
    O = orient(table.Y, targets)
    x = np.arange(1, k + 1)
    bests = []
    for j in range(len(specs)):
        b = _best_by_step(table.Y[:, j], O[:, j], np.arange(k), k - 1)
        bests.append(b)
    figs += _best_so_far_panels(
        [x] * len(specs), bests, [(x, table.Y[:, j]) for j in range(len(specs))], targets, names,
        out / f"{name}_best_so_far", title, "measured design (trial order)", formats,
        colors=[fusion] * len(specs),
    )
    # batch distances in the unit box
    from axfusion.ax.pool import ROW_ID

    params = list(experiment.search_space.parameters)
    if params == [ROW_ID]:
        figs.notes.append("batch distances: a closed-pool experiment's designs are row ids; the pool's rows are "
                          "not stored in the experiment")
    else:
        figs += _ax_batch_distances(experiment, table, O, out / f"{name}_batch_distances", title, formats, figs)
    # predicted vs measured
    pred = [(i, meta.get(sig, {})) for i, sig in enumerate(signatures)]
    have = [[(i, m) for i, m in pred if m.get(FUSION_ITERATION) and m.get(f"mean[{n}]") is not None] for n in names]
    if any(have):
        fig, axes = figure_grid(len(specs), ncols=min(len(specs), 3), size=(4.6, 4.0))
        for j, (ax, n) in enumerate(zip(axes.flat, names)):
            rows = have[j]
            if not rows:
                ax.set_title(f"{n}: no predictions stored", fontsize=10)
                continue
            measured = np.array([table.Y[i, j] for i, _ in rows])
            mean = np.array([_num(m.get(f"mean[{n}]")) for _, m in rows])
            std = np.array([_num(m.get(f"std[{n}]")) for _, m in rows])
            its = np.array([m[FUSION_ITERATION] for _, m in rows], dtype=float)
            ax.errorbar(measured, mean, yerr=np.where(np.isfinite(std), 2 * std, 0), fmt="none", ecolor=_GREY,
                        elinewidth=1, alpha=0.7, zorder=1)
            sc = ax.scatter(measured, mean, c=its, cmap="viridis", s=18, zorder=2)
            lo = np.nanmin(np.concatenate([measured, mean - 2 * np.nan_to_num(std)]))
            hi = np.nanmax(np.concatenate([measured, mean + 2 * np.nan_to_num(std)]))
            ax.plot([lo, hi], [lo, hi], color="k", linestyle=":", linewidth=1.0, label="predicted = measured")
            inside = np.abs(measured - mean) <= 2 * std
            ax.set_xlabel(f"measured {n}")
            ax.set_ylabel(f"predicted mean of {n} (+-2 std)")
            ax.set_title(f"{n}: {int(inside.sum())}/{len(rows)} within 2 std", fontsize=10)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
            fig.colorbar(sc, ax=ax, label="fusion iteration")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        figs += save_figure(fig, out / f"{name}_predicted_vs_measured", formats)
    else:
        figs.notes.append("predicted vs measured: no arm carries the fusion's predictions")
    return figs


def _decode_experiment(data: Any, name: str) -> Any:
    payload = _ax_payload(data)
    if payload is None:
        raise CampaignFileError(f"{name} is not an Ax experiment JSON file")
    from ax.storage.json_store.decoder import object_from_json
    from ax.storage.json_store.registry import CORE_CLASS_DECODER_REGISTRY, CORE_DECODER_REGISTRY

    import axfusion.ax  # noqa: F401  (registers the fusion classes with Ax's decoder)

    try:
        return object_from_json(
            dict(payload), decoder_registry=CORE_DECODER_REGISTRY, class_decoder_registry=CORE_CLASS_DECODER_REGISTRY
        )
    except Exception as error:  # noqa: BLE001 - Ax's decoder raises many types
        raise CampaignFileError(f"{name}: Ax could not read the experiment ({type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else ''})") from None


def _arm_metadata(experiment: Any) -> dict[str, dict[str, Any]]:
    r"""Arm signature -> candidate metadata the generation nodes stored with their runs."""
    out: dict[str, dict[str, Any]] = {}
    for trial in experiment.trials.values():
        for gr in trial.generator_runs:
            for signature, cand in (gr.candidate_metadata_by_arm_signature or {}).items():
                if cand:
                    out[signature] = dict(cand)
    return out


def _signature(experiment: Any, parameters: Mapping[str, Any]) -> str:
    from ax.core.arm import Arm

    return Arm(parameters=dict(parameters)).signature


def _ax_batch_distances(
    experiment: Any, table: Any, O: np.ndarray, stem: Path, title: str, formats: Sequence[str], figs: Figures
) -> list[Path]:
    from axfusion.ax.space import translate_search_space

    try:
        translation = translate_search_space(experiment.search_space)
        U = np.asarray(translation.space.encode(translation.to_frame(table.parameters)), dtype=float)
    except Exception as error:  # noqa: BLE001 - a search space the fusion cannot encode
        figs.notes.append(f"batch distances: the search space cannot be encoded ({error})")
        return []
    score = O.mean(axis=1)
    rows = []
    for t in sorted({int(i) for i in table.iteration if i > 0}):
        members = np.flatnonzero(table.iteration == t)
        before = np.arange(members.min())
        before = before[np.isfinite(score[before])]
        if before.size == 0:
            continue
        best = U[before[np.argmax(score[before])]]
        d_best = float(np.linalg.norm(U[members] - best, axis=1).mean())
        if members.size > 1:
            D = np.linalg.norm(U[members][:, None] - U[members][None], axis=-1)
            intra = float(D[np.triu_indices(members.size, 1)].mean())
        else:
            intra = float("nan")
        rows.append((t, d_best, intra))
    if not rows:
        figs.notes.append("batch distances: no fusion batch with a measured design before it")
        return []
    arr = np.array(rows)
    fig, axes = figure_grid(1, ncols=1, size=(5.6, 3.6))
    ax = axes[0, 0]
    ax.plot(arr[:, 0], arr[:, 1], color=PALETTE[0], marker="o", markersize=4, label="to the best so far (mean)")
    ax.plot(arr[:, 0], arr[:, 2], color=PALETTE[1], marker="s", markersize=4, linestyle="--",
            label="intra-batch (mean pairwise)")
    ax.set_xlabel("fusion iteration")
    integer_ticks(ax)
    ax.set_ylabel("distance (unit box of the search space)")
    ax.set_title("distances of the fusion batches", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem, formats)
