r"""The parts of the command line that :mod:`axfusion.cli` and :mod:`axfusion.cli_bench` share.

The root parser (``axfusion <command>``) and the dispatch to a command's function live here, so
that ``python -m axfusion.cli_bench`` runs ``axfusion bench`` without importing
:mod:`axfusion.cli`, which imports :mod:`axfusion.cli_bench` for its sub-commands: no two
modules import each other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["UsageError", "root_parser", "run"]


class UsageError(SystemExit):
    r"""A user error of a command: its one-line ``error: ...`` message is printed, and it exits with status 2.

    ``str()`` gives the message (``SystemExit`` itself would give the status).
    """

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def root_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    r"""The ``axfusion`` parser and its (required) sub-command set, without any sub-command."""
    parser = argparse.ArgumentParser(
        prog="axfusion",
        description="Information-theoretic multi-model fusion for materials design (BoTorch/Ax).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    r"""Parse ``argv`` and run the chosen sub-command's ``func``; its return value is the exit code.

    A command that stops with ``SystemExit("error: ...")`` exits with status 2 after printing the
    line (as argparse does for a bad argument), raising :class:`UsageError`.
    """
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError:
        raise
    except SystemExit as stop:
        # a command's ``SystemExit("error: ...")``: print the line and exit with status 2
        if isinstance(stop.code, str) and stop.code.startswith("error:"):
            print(stop.code, file=sys.stderr)
            raise UsageError(stop.code) from None
        raise
