r"""``axfusion.plots.campaign`` and ``axfusion plot``: the per-run panels of a user's campaign file.

A tiny two-target campaign (a maximised target and a window; 3 iterations on a 120-row pool, two
surrogate families with two members each) is saved by ``FusionOptimizer(state_path=...)`` and plotted
through the CLI and from the optimiser (with PDFs); an Ax experiment that used the fusion strategy
(5 Sobol trials, then fusion batches) is plotted from its JSON file. About 15 s of CPU in all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from axfusion import plots
from axfusion.acquisition import Target
from axfusion.campaign import FusionOptimizer
from axfusion.cli import main

FAST = {"families": ["ridge", "knn"], "n_members": 2, "batch_size": 4, "hv_n_samples": 16}


@pytest.fixture(autouse=True)
def _quiet_single_thread(quiet_single_thread: None) -> None:
    r"""Every test here runs quiet and single-threaded (tests/conftest.py)."""


@pytest.fixture(scope="module")
def campaign_file(tmp_path_factory) -> tuple[Path, FusionOptimizer]:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 4))
    Y = np.column_stack([-((X - 0.6) ** 2).sum(1), X[:, 0] + X[:, 1]])
    path = tmp_path_factory.mktemp("campaign") / "tiny.campaign.json"
    opt = FusionOptimizer(
        X, ["maximize", Target.window(0.8, 1.2)], target_names=["strength", "ratio"], options=FAST, seed=0,
        state_path=path,
    )
    first = rng.choice(120, size=10, replace=False)
    opt.observe(ids=first, Y=Y[first])
    for _ in range(3):
        ids = opt.suggest().row_ids
        opt.observe(ids=ids, Y=Y[ids])
    return path, opt


def _nontrivial_png(path: Path) -> None:
    from PIL import Image

    assert path.is_file() and path.stat().st_size > 4000, path
    with Image.open(path) as im:
        assert im.width > 300 and im.height > 200
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20, f"{path.name} looks blank"


def test_cli_plot_writes_every_panel_next_to_the_file(campaign_file, tmp_path, capsys):
    path = tmp_path / "tiny.campaign.json"
    path.write_text(campaign_file[0].read_text())
    assert main(["plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{len(plots.PANELS)} figure files from tiny.campaign.json" in out and "not drawn" not in out
    for panel in plots.PANELS:  # default folder: <name>_plots next to the file
        assert f"tiny.campaign_{panel}.png" in out
        _nontrivial_png(tmp_path / "tiny.campaign_plots" / f"tiny.campaign_{panel}.png")


def test_campaign_from_the_optimizer_with_pdf(campaign_file, tmp_path):
    _, opt = campaign_file
    figures = plots.campaign(opt, tmp_path / "figs", pdf=True)
    assert [p.name for p in figures] == [f"campaign_{panel}.{ext}" for panel in plots.PANELS for ext in ("png", "pdf")]
    assert figures.notes == [] and all(p.stat().st_size > 1000 for p in figures)


def test_a_campaign_without_iterations_plots_what_it_has(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(30, 3))
    opt = FusionOptimizer(X, "maximize", options=FAST, state_path=tmp_path / "new.json")
    opt.observe(ids=[0, 1, 2], Y=X[:3, 0])
    assert main(["plot", str(tmp_path / "new.json"), "--out", str(tmp_path / "out")]) == 0
    assert "not drawn: the per-iteration panels: no batch has been suggested yet" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["new_best_so_far.png"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: no such file"),
        ('{"name": "not a campaign"}', "is neither an axfusion campaign file"),
        ("this is not json", "is not JSON"),
        ("[1, 2, 3]", "is not a campaign file"),
        ("TRUNCATED", "is not a complete axfusion campaign file"),
    ],
)
def test_cli_plot_errors_are_one_line(content, message, campaign_file, tmp_path, capsys):
    path = tmp_path / "input.json"
    if content == "TRUNCATED":
        data = json.loads(campaign_file[0].read_text())
        del data["settings"]
        content = json.dumps(data)
    if content is not None:
        path.write_text(content)
    assert main(["plot", str(path), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_ax_experiment_file(tmp_path):
    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig

    from axfusion.ax import fusion_generation_strategy

    client = Client(random_seed=0)
    client.configure_experiment(
        name="box", parameters=[RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(0.0, 1.0))
                                for i in range(3)],
    )
    client.configure_optimization(objective="-loss")
    client.set_generation_strategy(fusion_generation_strategy(
        n_initial=5, seed=0, batch_size=3, families=("ridge", "knn"), n_members=2, n_box_candidates=200,
        box_time_budget_s=None, hv_n_samples=16,
    ))
    for _ in range(4):
        for index, params in client.get_next_trials(max_trials=3).items():
            client.complete_trial(index, {"loss": sum((v - 0.3) ** 2 for v in params.values())})
    path = tmp_path / "experiment.json"
    client.save_to_json_file(str(path))
    figures = plots.campaign(path, tmp_path / "ax")
    names = [p.name for p in figures]
    assert names == ["experiment_best_so_far.png", "experiment_batch_distances.png",
                     "experiment_predicted_vs_measured.png"]
    for p in figures:
        _nontrivial_png(p)
    assert figures.notes == [plots.AX_MISSING]


def test_benchmark_figures_draw_with_the_shared_code():
    from axfusion.benchmarks import plots as bench

    for name in ("diagnostic_series", "has_fusion_diagnostics", "save_figure", "FORMATS"):
        assert getattr(bench, name) is getattr(plots, name)
