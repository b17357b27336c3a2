r"""Sphinx configuration of the axfusion documentation (API reference, method, design, tutorials).

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``tests/test_docs.py``
does, warnings as errors). The API pages (``docs/api/*.rst``) document each public package through
``automodule``; every name in a package's ``__all__`` is documented, with or without a docstring.
The tutorial pages (``docs/tutorials/NN_name.md``) are stubs: their text is the paired jupytext
script ``tutorials/NN_name.py`` rendered at build time (markdown cells as they are, code cells as
code blocks, nothing executed).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import axfusion  # noqa: E402

project = "axfusion"
author = "axfusion developers"
copyright = "axfusion developers"
release = axfusion.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Google-style docstrings; "Attributes:" as fields of the class, so that a dataclass field that
# autodoc also finds is not described twice.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
# The packages re-export what their modules define; the reference documents them where the user
# imports them from (``axfusion.campaign.FusionOptimizer``), so modules are not documented twice.

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# docs/method.md and docs/design.md link to source files of the repository (``../axfusion/...``),
# which are not documentation pages: keep those links as they are.
suppress_warnings = ["myst.xref_missing"]

html_theme = "alabaster"
html_title = f"axfusion {release}"
html_static_path: list[str] = []

#: The public packages; each has ``docs/api/<name>.rst`` (checked by tests/test_docs.py).
PUBLIC_PACKAGES = (
    "settings", "campaign", "capacity", "models", "candidates", "structure", "acquisition", "ax", "baselines",
    "suggest", "data", "benchmarks", "diagnostics", "protocols", "plots", "files",
)


def _public_names() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name in PUBLIC_PACKAGES:
        module = importlib.import_module(f"axfusion.{name}")
        out[f"axfusion.{name}"] = set(getattr(module, "__all__", ()))
    return out


_PUBLIC = _public_names()


def _keep_public(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    r"""Document every name of a public ``__all__``, also one without a docstring (a constant)."""
    if what == "module" and skip and any(name in names for names in _PUBLIC.values()):
        return False
    return None


def _imported_constants(package: str) -> list[str]:
    r"""``py:data`` directives for the constants of ``package.__all__`` that a submodule defines.

    autodoc documents a module's data only where the module itself assigns it; a constant that
    a package re-exports from a submodule gets its ``#:`` comment from that submodule here.
    """
    import inspect
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    module = importlib.import_module(package)
    own = ModuleAnalyzer.for_module(package).find_attr_docs()
    submodules = [module]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            submodules.append(importlib.import_module(info.name))
    out = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj) or ("", name) in own:
            continue
        doc: list[str] = []
        where = package
        for sub in submodules:
            if getattr(sub, name, None) is obj:
                docs = ModuleAnalyzer.for_module(sub.__name__).find_attr_docs()
                if ("", name) in docs:
                    doc, where = list(docs[("", name)]), sub.__name__
                    break
                where = sub.__name__
        value = repr(obj)
        value = value if len(value) <= 100 else value[:97] + "..."
        body = [line for line in doc if line.strip()] or ["A constant."]
        out += [f".. py:data:: {name}", f"   :module: {package}", f"   :value: {value}", ""]
        out += [f"   {line.strip()}" for line in body]
        out += ["", f"   Defined in ``{where}``.", ""]
    return out


def _add_constants(app: Any, docname: str, source: list[str]) -> None:
    r"""Append the re-exported constants of ``axfusion.<name>`` to the page ``api/<name>``."""
    if not docname.startswith("api/") or f"axfusion.{docname[4:]}" not in _PUBLIC:
        return
    lines = _imported_constants(f"axfusion.{docname[4:]}")
    if lines:
        source[0] = source[0].rstrip("\n") + "\n\nConstants\n---------\n\n" + "\n".join(lines) + "\n"


def _render_tutorial(app: Any, docname: str, source: list[str]) -> None:
    r"""The stub page ``tutorials/NN_name`` becomes the rendered script ``tutorials/NN_name.py``."""
    if not docname.startswith("tutorials/") or docname == "tutorials/index":
        return
    script = TUTORIALS / f"{docname.split('/', 1)[1]}.py"
    if not script.is_file():
        from sphinx.util import logging

        logging.getLogger(__name__).warning("no tutorial script %s for the page %s", script, docname)
        return
    import jupytext

    notebook = jupytext.read(script)
    parts = [f"<!-- rendered from tutorials/{script.name}; run it, or open {script.stem}.ipynb in Jupyter -->"]
    for cell in notebook.cells:
        text = cell.source.strip("\n")
        if not text.strip():
            continue
        parts.append(text if cell.cell_type == "markdown" else f"```python\n{text}\n```")
    source[0] = "\n\n".join(parts) + "\n"


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-skip-member", _keep_public)
    app.connect("source-read", _render_tutorial)
    app.connect("source-read", _add_constants)
    return {"parallel_read_safe": True}
