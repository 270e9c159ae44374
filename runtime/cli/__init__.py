"""The ``lsq`` command line: one module per command group, each with ``register(subparsers)``.

Exit codes: 0 success, 1 a connector error (one line on stderr, no traceback), 2 a usage
error. ``main(argv)`` returns the code, so tests call it directly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from runtime.cli import (
    auth_cmd,
    db_cmd,
    docs_cmd,
    fields_cmd,
    hooks_cmd,
    invoke_cmd,
    mcp_cmd,
    run_cmd,
    sandbox_cmd,
    state_cmd,
    validate_cmd,
)
from runtime.cli.common import add_database_option, add_everywhere
from runtime.errors import ConnectorError, error_line

COMMAND_MODULES = (
    sandbox_cmd, validate_cmd, invoke_cmd, auth_cmd, fields_cmd, docs_cmd, run_cmd, state_cmd,
    hooks_cmd, mcp_cmd, db_cmd,
)


class UsageError(Exception):
    """Wrong command-line usage (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lsq", description="LeadSquared connector: harness and tools.")
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG, INFO, ...)")
    add_database_option(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in COMMAND_MODULES:
        module.register(commands)
    add_everywhere(parser, lambda sub: add_database_option(sub, top=False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lsq`` command and return its exit code."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as problem:
        print(str(problem), file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except UsageError as problem:
        print(f"lsq: {problem}", file=sys.stderr)
        return 2
    except ConnectorError as problem:
        print(error_line(problem), file=sys.stderr)
        return problem.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `lsq validate --json | head`: the reader left; exit quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
