r"""Fixtures shared by several test folders."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture
def quiet_single_thread() -> Iterator[None]:
    r"""One torch thread (2-core machine), no INFO logging (Ax is chatty) and no warnings."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(previous)
    torch.set_num_threads(threads)
