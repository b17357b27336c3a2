r"""The API reference builds with Sphinx, warnings as errors, and documents every public name.

``sphinx-build -W --keep-going -b html docs <tmp>`` runs once (about 30 s on one loaded core:
importing the package and its Ax/BoTorch stack, autodoc over 14 packages and the Markdown pages);
a broken docstring (RST markup) fails it. Every name of the ``__all__`` of every public package
must then be in the built objects inventory (``objects.inv``), under the package the user imports
it from. The page list itself is checked without a build.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import axfusion

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: The public packages (issue 19) and the campaign figures; each has docs/api/<name>.rst.
PUBLIC = (
    "settings", "campaign", "capacity", "models", "candidates", "structure", "acquisition", "ax", "baselines",
    "suggest", "data", "benchmarks", "diagnostics", "protocols", "plots", "files",
)
#: Top-level modules that are not documented as API: the command line (documented by
#: ``axfusion --help``) and the old import path of the optimiser (``axfusion.campaign`` is documented).
NOT_API = {"cli", "cli_bench", "cli_common", "optimizer"}


def _conf():
    spec = importlib.util.spec_from_file_location("axfusion_docs_conf", DOCS / "conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_package_has_an_api_page():
    conf = _conf()
    assert tuple(conf.PUBLIC_PACKAGES) == PUBLIC
    top = {m.name for m in pkgutil.iter_modules(axfusion.__path__) if not m.name.startswith("_")}
    assert top - NOT_API == set(PUBLIC), "a new top-level module needs a docs/api page (or an entry in NOT_API)"
    index = (DOCS / "api" / "index.rst").read_text()
    for name in PUBLIC:
        page = DOCS / "api" / f"{name}.rst"
        assert page.is_file(), f"docs/api/{name}.rst is missing"
        assert f".. automodule:: axfusion.{name}\n" in page.read_text()
        assert f"\n   {name}\n" in index, f"docs/api/index.rst does not list {name}"


def test_every_tutorial_has_a_page():
    scripts = sorted(p.stem for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    pages = sorted(p.stem for p in (DOCS / "tutorials").glob("[0-9][0-9]_*.md"))
    assert scripts and pages == scripts
    index = (DOCS / "tutorials" / "index.md").read_text()
    assert all(f"\n{name}\n" in index for name in scripts)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed (warnings are errors):\n{proc.stderr[-6000:]}"
    return out


def test_docs_build_with_every_public_name(built):
    from sphinx.util.inventory import InventoryFile

    with open(built / "objects.inv", "rb") as fh:
        inventory = InventoryFile.load(fh, "", lambda base, uri: uri)
    documented = {name for items in inventory.values() for name in items}
    missing = []
    for package in PUBLIC:
        module = importlib.import_module(f"axfusion.{package}")
        names = getattr(module, "__all__", None)
        assert names, f"axfusion.{package} has no __all__"
        missing += [f"axfusion.{package}.{n}" for n in names if f"axfusion.{package}.{n}" not in documented]
    assert not missing, f"public names missing from the API reference: {missing}"


def test_docs_pages(built):
    for page in ("index", "method", "design", "genindex", "py-modindex", "tutorials/index"):
        assert (built / f"{page}.html").is_file(), page
    for name in PUBLIC:
        assert (built / "api" / f"{name}.html").is_file(), name
    # a tutorial page is the rendered script: its text and code, not the stub
    curie = (built / "tutorials" / "01_closed_pool_curie.html").read_text()
    assert "FusionOptimizer" in curie and "Replaced at build time" not in curie
    # the method page's equations and anchors rendered, the changelog-worthy links kept
    method = (built / "method.html").read_text()
    assert 'id="deviations"' in method
