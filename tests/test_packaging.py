r"""The distribution: ``python -m build`` makes an sdist and a wheel that work outside the source tree.

The sources (``pyproject.toml``, ``README.md``, ``axfusion/``) are copied to a temporary folder and
built there with ``python -m build`` (isolated: it installs setuptools from the package index), the
wheel from the sdist, so a file missing from the sdist fails too. The wheel is installed, without
dependencies, into a fresh virtual environment that sees the third-party packages of the running
environment through a ``.pth`` file (reinstalling torch, BoTorch and Ax would take minutes); the
running environment's editable install of axfusion is *not* visible there (its ``.pth`` hook is not
processed for a directory that a ``.pth`` file adds), so axfusion comes from the wheel only. In that
environment: import, ``axfusion --help``, a built-in dataset, a one-iteration suggestion.

About 25-40 s on one loaded core (build about 12 s, venv and install 3 s, smoke test 10-20 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

SMOKE = r"""
import json, sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

import axfusion
from axfusion.campaign import FusionOptimizer
from axfusion.data import load_dataset

venv = Path(sys.argv[1]).resolve()
here = Path(axfusion.__file__).resolve()
assert venv in here.parents, f"axfusion imported from {here}, not from the wheel in {venv}"
assert (here.parent / "py.typed").is_file()
ds = load_dataset("crossed_barrel")
X, y = ds.feature_matrix(), ds.target_matrix()[:, 0]
opt = FusionOptimizer(X, ["maximize"], options={"families": ["ridge", "knn"], "n_members": 2, "batch_size": 3},
                      state_path="campaign.json", seed=0)
first = np.random.default_rng(0).choice(len(y), size=12, replace=False)
opt.observe(ids=first, Y=y[first])
s = opt.suggest()
assert len(s.row_ids) == 3 and not set(s.row_ids.tolist()) & set(first.tolist())
print(json.dumps({"file": str(here), "version": axfusion.__version__, "dist_version": version("axfusion"),
                  "rows": len(ds), "batch": s.row_ids.tolist()}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("build")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "axfusion", src / "axfusion", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(src)], cwd=src, timeout=600)
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_sdist_and_wheel_contents(dist):
    assert dist["wheel"].name == f"axfusion-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    assert "axfusion/py.typed" in names
    assert "axfusion/data/builtin/crossed_barrel/data.csv.gz" in names
    shipped = {p.parent.name for p in (ROOT / "axfusion/data/builtin").glob("*/data.*")}
    assert shipped and all(any(n.startswith(f"axfusion/data/builtin/{d}/data.") for n in names) for d in shipped)
    assert not any(n.startswith(("tests/", "docs/", "benchmarks/", "tutorials/")) for n in names)
    metadata = zipfile.ZipFile(dist["wheel"]).read(f"axfusion-{VERSION}.dist-info/METADATA").decode()
    assert f"Version: {VERSION}" in metadata
    entry_points = zipfile.ZipFile(dist["wheel"]).read(f"axfusion-{VERSION}.dist-info/entry_points.txt").decode()
    assert "axfusion = axfusion.cli:main" in entry_points
    with tarfile.open(dist["sdist"]) as tar:
        members = set(tar.getnames())
    for name in ("pyproject.toml", "README.md", "axfusion/py.typed", "axfusion/cli.py"):
        assert f"axfusion-{VERSION}/{name}" in members, name


def test_wheel_works_in_a_fresh_virtual_environment(dist, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    # the wheel alone (pip of the running environment, targeting the new one)
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", str(dist["wheel"])], cwd=tmp_path)
    # third-party packages from the running environment; its own axfusion hooks stay unprocessed
    purelib = Path(sysconfig.get_paths()["purelib"])
    venv_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=tmp_path).stdout.strip())
    (venv_site / "_axfusion_test_deps.pth").write_text(f"{purelib}\n")

    proc = _run([str(python), "-c", SMOKE, str(venv)], cwd=tmp_path)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["version"] == result["dist_version"] == VERSION
    assert result["rows"] == 600 and len(result["batch"]) == 3

    cli = venv / "bin" / "axfusion"
    assert cli.is_file(), "the wheel did not install the axfusion console script"
    help_text = _run([str(cli), "--help"], cwd=tmp_path).stdout
    for command in ("run", "suggest", "datasets", "bench", "plot"):
        assert command in help_text
    listing = _run([str(cli), "datasets"], cwd=tmp_path).stdout
    assert "crossed_barrel" in listing
    # the campaign the smoke script saved, plotted by the installed CLI
    _run([str(cli), "plot", "campaign.json", "--out", "plots"], cwd=tmp_path)
    assert len(list((tmp_path / "plots").glob("*.png"))) >= 3
