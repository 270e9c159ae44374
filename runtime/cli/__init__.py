"""The ``lsq`` command line: one module per command group, each with ``register(subparsers)``.

The top of the house: it may import every package (the sandbox only in ``sandbox_cmd``), and
nothing but ``runtime.__main__`` imports it. A command parses its options, opens what it
needs (a client, the storage, a service) and prints; what it does lives in the layers below.

Exit codes: 0 success, 1 a connector error (one line on stderr, no traceback), 2 a usage
error (a bad option value, or an argument that is not UTF-8 text). ``main(argv)`` returns the
code, so tests call it directly. Global options (:mod:`runtime.cli.arguments`) go before or
after the command. Commands print text, and one JSON value with ``--json`` (the services and
``mcp`` excepted); tests/cli/test_output_modes.py holds the list. Output never fails on text
that is not valid Unicode (it prints escaped), and an exception nobody foresaw prints one
``internal error`` line (its traceback at DEBUG).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

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
    ui_cmd,
    validate_cmd,
    worker_cmd,
)
from runtime.cli.arguments import add_global_options
from runtime.cli.common import forget_notes
from runtime.errors import ConnectorError, error_line
from runtime.text import LONE_SURROGATE, storable_text

COMMAND_MODULES = (
    sandbox_cmd, validate_cmd, invoke_cmd, auth_cmd, fields_cmd, docs_cmd, run_cmd, state_cmd,
    hooks_cmd, mcp_cmd, db_cmd, ui_cmd, worker_cmd,
)


class UsageError(Exception):
    """Wrong command-line usage (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """Usage errors raise :class:`UsageError`; every parser takes the global options."""

    def __init__(self, *args: Any, root: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_options(self, root=root)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lsq", description="LeadSquared connector: harness and tools.",
                     root=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lsq`` command and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _tolerant_output()
    forget_notes()
    undecodable = next((arg for arg in argv if LONE_SURROGATE.search(arg)), None)
    if undecodable is not None:
        print(f"lsq: argument {storable_text(undecodable)!r} is not valid UTF-8 text",
              file=sys.stderr)
        return 2
    try:
        args = build_parser().parse_args(argv)
    except UsageError as problem:
        print(str(problem) + _json_hint(str(problem), argv), file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    args.argv = argv  # what was parsed (a worker process of `lsq serve` is started with it)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
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
    except Exception as problem:
        sqlite3 = sys.modules.get("sqlite3")  # imported by the stores (not by every command)
        if sqlite3 is not None and isinstance(problem, sqlite3.Error):
            # The store names the file in its own errors (ConnectorError, above); this is
            # the one line for anything it did not foresee.
            print(f"error: {unusable_database(args, problem)}", file=sys.stderr)
            return 1
        # a bug: one line for the user, the traceback at DEBUG
        logging.getLogger(__name__).debug("lsq failed", exc_info=True)
        print(f"internal error: {type(problem).__name__} (please report it; --log-level DEBUG "
              "shows where)", file=sys.stderr)
        return 1


def _json_hint(message: str, argv: list[str]) -> str:
    """Where ``--json`` goes when it was refused: after the command, or nowhere (no JSON)."""
    if "unrecognized arguments" not in message or "--json" not in argv:
        return ""
    rest = [arg for arg in argv if arg != "--json"]
    try:
        args = build_parser().parse_args(rest)
    except (UsageError, SystemExit):
        return ""
    if hasattr(args, "json"):
        return f" (--json goes after the command: {shlex.join(['lsq', *rest, '--json'])})"
    return " (this command prints no JSON)"


def unusable_database(args: argparse.Namespace, problem: Exception) -> str:
    """One line for a database error: what SQLite said and which files are in use."""
    from runtime.store.history import default_history_path
    from runtime.store.state import default_state_path

    state = getattr(args, "state", None) or default_state_path()
    return (f"a database file cannot be used: {problem} (state file {state}, run history "
            f"{default_history_path()}; move a damaged file aside and lsq starts a new one)")


def _tolerant_output() -> None:
    """Text that is not valid Unicode prints as its ``\\udXXX`` escape instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
