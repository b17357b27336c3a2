"""Static checks as tests: ruff (lint), mypy (types) and import-linter (the layer contracts).

Each tool runs as a subprocess of this interpreter (so the one installed in the test
environment, see the ``test`` extra) from the repository root, where ``pyproject.toml``
configures it; a failure shows the tool's report. Times on a 2-core machine: ruff and
lint-imports under a second each; mypy about 50-60 s from a cold cache (a fresh clone) and
a few seconds with its cache (``.mypy_cache``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# import-linter has no ``python -m`` entry point: call its console script's function.
_LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _run(args: list[str], tool: str, timeout: float) -> None:
    try:
        proc = subprocess.run(
            [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as err:  # pragma: no cover - only on a very slow machine
        pytest.fail(f"{tool} did not finish within {timeout:.0f} s:\n{err.stdout or ''}{err.stderr or ''}")
    output = (proc.stdout + proc.stderr).strip()
    # (a tool missing from the environment shows as "No module named ...": pip install -e '.[test]')
    assert proc.returncode == 0, f"{tool} failed (exit status {proc.returncode}):\n{output}"


def test_ruff() -> None:
    _run(["-m", "ruff", "check", "--output-format", "concise", "axfusion", "tests", "benchmarks"], "ruff", timeout=300)


def test_mypy() -> None:
    # the files and options come from [tool.mypy] in pyproject.toml (the package axfusion)
    _run(["-m", "mypy"], "mypy", timeout=900)


def test_import_contracts() -> None:
    # the contracts are [tool.importlinter] in pyproject.toml
    _run(["-c", _LINT_IMPORTS, "--no-logo"], "importlinter (lint-imports)", timeout=300)
