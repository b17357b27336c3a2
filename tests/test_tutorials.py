r"""The tutorial notebooks run on a Jupyter kernel (fast mode) and match their scripts.

Each ``tutorials/NN_name.ipynb`` is executed by nbclient on an ipykernel ``python3`` kernel started
in the notebook's folder (as Jupyter starts it, so ``from _setup import ...`` must work from there),
with ``AXFUSION_TUTORIAL_FAST=1`` and ``AXFUSION_TUTORIAL_OUT`` set; a cell that raises fails the
test with the cell's traceback, and the notebook must write its figures. The executed copy stays in
memory: the committed notebooks keep no outputs. The jupytext script ``tutorials/NN_name.py`` is the
source of truth: the paired ``.ipynb`` must hold the same cells (code and markdown), and every
committed notebook is stored without outputs or execution counts. ``tutorials/_setup.py`` is the
set-up the tutorials share (imported in their first cell), not a tutorial.

The six notebooks take 130-160 s on a loaded 2-core machine (as the scripts did: a kernel starts
in about 2 s).
"""

from __future__ import annotations

import json
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
    "06_reaction_conditions": ["06_best_yield_per_batch"],
}

#: Per-cell limit in fast mode (a whole tutorial takes 15-35 s on a loaded 2-core machine).
TIMEOUT_S = 180


def test_every_tutorial_is_tested():
    # NN_name.py are the tutorials; _setup.py (shared set-up) is not one
    scripts = sorted(p.stem for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
    assert scripts == sorted(EXPECTED_FIGURES)
    assert (TUTORIALS / "_setup.py").is_file()


def _kernel_env(out: Path) -> dict[str, str]:
    return {
        "AXFUSION_TUTORIAL_FAST": "1",
        "AXFUSION_TUTORIAL_OUT": str(out),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
        "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ for _setup.py in tutorials/
    }


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_notebook_runs_on_a_kernel_in_fast_mode(name, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out = tmp_path / "figures"
    for key, value in _kernel_env(out).items():
        monkeypatch.setenv(key, value)  # the kernel inherits the environment of the test
    before = sorted(p.name for p in TUTORIALS.iterdir())
    nb = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=TIMEOUT_S,  # per cell
        startup_timeout=120,
        resources={"metadata": {"path": str(TUTORIALS)}},  # the kernel's working directory
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # the failing cell and its traceback
        pytest.fail(f"{name}.ipynb failed on the kernel:\n{str(exc)[-6000:]}")
    missing = [f for f in EXPECTED_FIGURES[name] if not (out / f"{f}.png").is_file()]
    assert not missing, f"{name} did not write {missing}; wrote {sorted(p.name for p in out.glob('*'))}"
    assert all((out / f"{f}.png").stat().st_size > 1000 for f in EXPECTED_FIGURES[name])
    # it ran as a notebook: the kernel's display() output and printed text are cell outputs
    assert any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    assert sorted(p.name for p in TUTORIALS.iterdir()) == before, "the notebook left files in tutorials/"


def test_committed_notebooks_have_no_outputs():
    notebooks = sorted(TUTORIALS.glob("*.ipynb"))
    assert len(notebooks) == len(EXPECTED_FIGURES)
    for path in notebooks:
        raw = json.loads(path.read_text())
        for cell in raw["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                    f"{path.name} stores outputs: run `jupyter nbconvert --clear-output --inplace {path}`"
                )
        assert "widgets" not in raw.get("metadata", {}), f"{path.name} stores widget state"


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
