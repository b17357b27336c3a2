"""Shared set-up of the axfusion tutorials (not a tutorial itself).

Every tutorial starts with ``from _setup import FAST, OUT, display, finish``. That works
when a tutorial runs as a script (``python tutorials/01_closed_pool_curie.py``: the
script's folder is on ``sys.path``) and as a notebook (Jupyter starts the kernel in the
notebook's folder). Importing this module

* reads the two environment variables below into ``FAST`` and ``OUT`` (and creates
  ``OUT``);
* silences warnings and log records below ERROR (Ax logs every trial at INFO and short
  batches at WARNING);
* selects matplotlib's non-interactive ``Agg`` backend in fast mode (before ``pyplot`` is
  imported anywhere);
* sets pandas' display width, columns and column width for the wide suggestion tables;
* runs torch on one thread (the surrogates are many small models; threads only contend);
* provides ``display`` (IPython's, or ``print`` outside IPython) and ``finish``.

Environment variables:

``AXFUSION_TUTORIAL_FAST``
    ``1`` gives a quick run with small budgets (used by ``tests/test_tutorials.py``);
    each tutorial sets its own budgets from ``FAST`` in its first cell.
``AXFUSION_TUTORIAL_OUT``
    Folder the figures are written to as ``<name>.png``; default a new temporary folder.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib

FAST = os.environ.get("AXFUSION_TUTORIAL_FAST") == "1"
if FAST:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
import torch  # noqa: E402

try:
    from IPython.display import display
except ImportError:  # plain `python tutorial.py` without IPython installed
    display = print

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)
pd.set_option("display.max_colwidth", 70)
torch.set_num_threads(1)

OUT = Path(os.environ.get("AXFUSION_TUTORIAL_OUT") or tempfile.mkdtemp(prefix="axfusion_tutorial_"))
OUT.mkdir(parents=True, exist_ok=True)

__all__ = ["FAST", "OUT", "display", "finish"]


def finish(fig, name: str) -> None:
    """Save ``fig`` as ``OUT/<name>.png``; show it in a full run, close it in fast mode."""
    fig.savefig(OUT / f"{name}.png", dpi=150, bbox_inches="tight")
    if FAST:
        plt.close(fig)
    else:
        plt.show()
