r"""The campaign core proposes the same batches as the loop it replaced (pinned before the
refactor in data/golden_batches.json by tests/campaign/golden_cases.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("golden_cases", Path(__file__).with_name("golden_cases.py"))
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)
CASES, GOLDEN, run_case = golden.CASES, golden.GOLDEN, golden.run_case


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_batches_as_before_the_refactor(name):
    pinned = json.loads(GOLDEN.read_text())[name]
    assert run_case(name, golden.make_optimizer) == pinned
