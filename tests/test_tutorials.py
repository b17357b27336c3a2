r"""The tutorials run end to end (fast mode) and their notebooks match the scripts.

Each ``tutorials/NN_name.py`` (a jupytext percent script, the source of truth) is run in
a subprocess with ``AXFUSION_TUTORIAL_FAST=1``; the test checks the exit code and that
the tutorial wrote its figures. The paired ``.ipynb`` must hold the same cells (code and
markdown) as the script, without stored outputs. ``tutorials/_setup.py`` is the set-up the
tutorials share (imported in their first cell), not a tutorial: it must import both next
to a script and from the notebook folder, as a Jupyter kernel does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"

#: Figures (``OUT/<name>.png``) each tutorial must write.
EXPECTED_FIGURES: dict[str, list[str]] = {
    "01_closed_pool_curie": [
        "01_iterations_to_success",
        "01_best_so_far",
        "01_cluster_bandwidth",
        "01_novelty_distance",
        "01_family_scores",
        "01_fusion_weights",
        "01_capacity_timings",
    ],
    "02_ax_client_continuous": ["02_best_so_far", "02_generation_time"],
    "03_mixed_m2ax": ["03_m2ax_data", "03_closed_pool_best_so_far", "03_ax_best_so_far", "03_lvgp_latent"],
    "04_multiobjective_windows": ["04_steel_hypervolume", "04_steel_batch_vs_front", "04_bandgap_window"],
    "05_custom_family": ["05_family_scores", "05_campaign_families"],
}

#: Per-tutorial wall-clock limit in fast mode (they take 15-35 s on a loaded 2-core machine).
TIMEOUT_S = 180


def test_every_tutorial_is_tested():
    # NN_name.py are the tutorials; _setup.py (shared set-up) is not one
    scripts = sorted(p.stem for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
    assert scripts == sorted(EXPECTED_FIGURES)
    assert (TUTORIALS / "_setup.py").is_file()


def test_shared_setup_imports_from_the_notebook_folder(tmp_path):
    # A Jupyter kernel starts in the notebook's folder with "" (its working directory) on
    # sys.path, as `python -c` does; a script run has the script's folder there instead.
    out = tmp_path / "figures"
    env = dict(os.environ, AXFUSION_TUTORIAL_FAST="1", AXFUSION_TUTORIAL_OUT=str(out), PYTHONDONTWRITEBYTECODE="1")
    env.pop("MPLBACKEND", None)  # fast mode itself selects Agg
    code = (
        "from _setup import FAST, OUT, display, finish\n"
        "import matplotlib, matplotlib.pyplot as plt\n"
        "finish(plt.figure(), 'probe')\n"
        "print(FAST, OUT, matplotlib.get_backend())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=TUTORIALS, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    fast, folder, backend = proc.stdout.split()
    assert (fast, folder, backend.lower()) == ("True", str(out), "agg")
    assert (out / "probe.png").is_file()


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_tutorial_runs_in_fast_mode(name, tmp_path):
    out = tmp_path / "figures"
    env = dict(os.environ)
    env.update(
        AXFUSION_TUTORIAL_FAST="1",
        AXFUSION_TUTORIAL_OUT=str(out),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        PYTHONWARNINGS="ignore",
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ for _setup.py in tutorials/
    )
    proc = subprocess.run(
        [sys.executable, str(TUTORIALS / f"{name}.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    missing = [f for f in EXPECTED_FIGURES[name] if not (out / f"{f}.png").is_file()]
    assert not missing, f"{name} did not write {missing}; wrote {sorted(p.name for p in out.glob('*'))}"
    assert all((out / f"{f}.png").stat().st_size > 1000 for f in EXPECTED_FIGURES[name])


def _cells_of_script(path: Path) -> list[tuple[str, str]]:
    import jupytext

    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_is_in_sync_with_script(name):
    pytest.importorskip("jupytext")
    import nbformat

    script, notebook = TUTORIALS / f"{name}.py", TUTORIALS / f"{name}.ipynb"
    assert notebook.is_file(), f"{notebook.name} is missing: run `jupytext --sync tutorials/{name}.py`"
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    expected = _cells_of_script(script)
    actual = [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert [c for c in actual if c[0] == "code"] == [c for c in expected if c[0] == "code"], (
        f"the code cells of {notebook.name} differ from {script.name}: run `jupytext --sync tutorials/{name}.py`"
    )
    assert actual == expected, f"the markdown cells of {notebook.name} differ from {script.name}"
    # paired, and stored without outputs
    assert "ipynb" in nb.metadata.get("jupytext", {}).get("formats", "")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{notebook.name} stores outputs"
    assert json.loads(notebook.read_text())["nbformat"] == 4
