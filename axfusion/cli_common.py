r"""The parts of the command line that :mod:`axfusion.cli` and :mod:`axfusion.cli_bench` share.

The root parser (``axfusion <command>``) and the dispatch to a command's function live here, so
that ``python -m axfusion.cli_bench`` runs ``axfusion bench`` without importing
:mod:`axfusion.cli`, which imports :mod:`axfusion.cli_bench` for its sub-commands: no two
modules import each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["root_parser", "run"]


def root_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    r"""The ``axfusion`` parser and its (required) sub-command set, without any sub-command."""
    parser = argparse.ArgumentParser(
        prog="axfusion",
        description="Information-theoretic multi-model fusion for materials design (BoTorch/Ax).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    r"""Parse ``argv`` and run the chosen sub-command's ``func``; its return value is the exit code."""
    args = parser.parse_args(argv)
    return int(args.func(args))
