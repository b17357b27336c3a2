r"""axfusion: information-theoretic multi-model fusion for materials design.

The four stages of the method live in their own subpackages:

- :mod:`axfusion.capacity` -- Stage 0, intrinsic dimension and capacity caps;
- :mod:`axfusion.models` -- Stage 1, the surrogate reservoir as a BoTorch model;
- :mod:`axfusion.candidates` and :mod:`axfusion.structure` -- Stage 2;
- :mod:`axfusion.acquisition` -- Stage 3, the fusion acquisition functions.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    #: The installed distribution's version: pyproject.toml's ``[project] version`` is the one source.
    __version__: str = _version("axfusion")
except PackageNotFoundError:  # pragma: no cover - imported from a source tree that was never installed
    __version__ = "0+unknown"

