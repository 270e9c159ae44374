"""Options and helpers shared by the command modules: connection, JSON input and output.

Every command that talks to LeadSquared takes ``--connection FILE``; without it the
``LSQ_ACCESS_KEY`` / ``LSQ_SECRET_KEY`` / ``LSQ_API_HOST`` environment variables are used, and
with neither the embedded sandbox starts in this process (a note on stderr says so).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command needs a client, so `lsq validate` stays light
    from runtime.api.client import LeadSquaredClient

EMBEDDED_NOTE = "note: no connection configured; using the embedded LeadSquared sandbox"


def add_connection_option(parser: argparse.ArgumentParser) -> None:
    """``--connection FILE``: a connection YAML file (else LSQ_* env, else the sandbox)."""
    parser.add_argument(
        "--connection", metavar="FILE",
        help="connection file (YAML); default: LSQ_ACCESS_KEY/LSQ_SECRET_KEY/LSQ_API_HOST, "
        "else the embedded sandbox",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print exactly one JSON value on stdout."""
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")


def open_client(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> LeadSquaredClient:
    """A client for the connection the options name (use it as a context manager)."""
    from runtime.api.client import LeadSquaredClient
    from runtime.api.connection import load_connection

    connection = load_connection(args.connection, os.environ if environ is None else environ)
    if connection is None:
        from runtime.embedded import embedded_connection

        print(EMBEDDED_NOTE, file=sys.stderr)
        connection = embedded_connection()
    return LeadSquaredClient(connection)


def read_json_object(value: str | None, option: str = "-i") -> dict[str, Any]:
    """A JSON object given inline, as ``@file.json`` or as ``@-`` (stdin); ``{}`` if absent."""
    from runtime.cli import UsageError  # the CLI package imports this module first

    if value is None:
        return {}
    where, text = "", value
    if value == "@-":
        where, text = " on stdin", sys.stdin.read()
    elif value.startswith("@"):
        where = f" in {value[1:]}"
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as problem:
            reason = getattr(problem, "strerror", None) or type(problem).__name__
            raise UsageError(f"{option}: cannot read {value[1:]}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as problem:
        raise UsageError(
            f"{option}: invalid JSON{where} at line {problem.lineno} column {problem.colno}: "
            f"{problem.msg}"
        ) from None
    except RecursionError:
        raise UsageError(f"{option}: the JSON{where} is nested too deeply") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise UsageError(f"{option}: the input{where} must be a JSON object, not {kind}")
    return data


def print_json(value: Any, *, compact: bool) -> None:
    """One JSON value on stdout: compact (``--json``) or indented for people."""
    print(json.dumps(value, ensure_ascii=False, indent=None if compact else 2))
