"""Options and helpers shared by the command modules: connection, storage, JSON in and out.

Every command that talks to LeadSquared takes ``--connection FILE``; without it the
``LSQ_ACCESS_KEY`` / ``LSQ_SECRET_KEY`` / ``LSQ_API_HOST`` environment variables are used, and
with neither the embedded sandbox starts in this process (a note on stderr says so).

Every command takes ``--database URL`` (a global option, :mod:`runtime.cli.arguments`; else
``$LSQ_DATABASE_URL``): a ``postgresql://`` URL puts trigger state, the inbox and run history
in PostgreSQL; without it they live in SQLite files (see :mod:`runtime.store.storage`).
Commands open their stores through :func:`open_state_store`, :func:`open_history_store` and
:func:`open_storage_for`, never a backend directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.text import json_text

if TYPE_CHECKING:  # imported when a command needs them, so `lsq validate` stays light
    from runtime.api.client import LeadSquaredClient
    from runtime.api.connection import Connection
    from runtime.store.history import HistoryStore
    from runtime.store.state import StateStore
    from runtime.store.storage import Storage

EMBEDDED_NOTE = "note: no connection configured; using the embedded LeadSquared sandbox"
_NOTES_GIVEN: set[str] = set()  # notes already printed by this command (each is said once)


def embedded_connection_noted() -> Connection:
    """The embedded sandbox's connection, its records kept in the project's state folder (the
    state file's, ``.lsq/`` by default), after a note on stderr saying where they live."""
    from runtime.embedded import embedded_connection, records_file
    from runtime.store.state import default_state_path

    folder = default_state_path().parent
    connection = embedded_connection(folder)
    note = embedded_note(records_file(folder))
    if note not in _NOTES_GIVEN:  # e.g. `lsq validate a.yaml b.yaml` resolves several accounts
        _NOTES_GIVEN.add(note)
        print(note, file=sys.stderr)
    return connection


def forget_notes() -> None:
    """A new command starts: its notes are printed again (``main`` may run several times in
    one process, as in tests or a host)."""
    _NOTES_GIVEN.clear()


def embedded_note(records: Path) -> str:
    """The note a command prints when it uses the embedded sandbox keeping ``records``."""
    return (f"{EMBEDDED_NOTE}; its records are kept in {shown_path(records)} "
            "(lsq sandbox reset empties it)")


def shown_path(path: Path) -> str:
    """``path`` relative to the current directory when under it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def add_connection_option(parser: argparse.ArgumentParser) -> None:
    """``--connection FILE``: a connection YAML file (else LSQ_* env, else the sandbox)."""
    parser.add_argument(
        "--connection", metavar="FILE",
        help="connection file (YAML); default: LSQ_ACCESS_KEY/LSQ_SECRET_KEY/LSQ_API_HOST, "
        "else the embedded sandbox",
    )


def database_option(args: argparse.Namespace) -> str | None:
    """The PostgreSQL URL the command line or the environment selects (checked), or None."""
    from runtime.cli import UsageError
    from runtime.errors import ConfigurationError
    from runtime.store.storage import database_url

    try:
        url = database_url(getattr(args, "database", None) or None)
    except ConfigurationError as problem:
        raise UsageError(str(problem)) from None
    if url is not None and getattr(args, "state", None):
        raise UsageError("--state names a SQLite file but --database (or LSQ_DATABASE_URL) "
                         "selects PostgreSQL; give one")
    return url


def open_state_store(args: argparse.Namespace) -> StateStore:
    """The trigger state store the options select (``--database``, ``--state``)."""
    from runtime.store.storage import open_state

    return open_state(database_option(args), path=getattr(args, "state", None))


def open_history_store(args: argparse.Namespace) -> HistoryStore:
    """The run history the options select (``--database``)."""
    from runtime.store.storage import open_history

    return open_history(database_option(args))


def open_storage_for(args: argparse.Namespace) -> Storage:
    """State and history together (one PostgreSQL pool for both); with PostgreSQL, the
    account rate budgets of the clients made from now on are kept there too."""
    from runtime.store.storage import open_storage

    storage = open_storage(database_option(args), state_path=getattr(args, "state", None))
    if storage.backend == "postgresql":
        share_rate_budgets(storage)
    return storage


def share_rate_budgets(storage: Storage) -> None:
    """One rate budget per account across every process using ``storage``'s database, until
    ``storage`` is closed (then in-process budgets again)."""
    from runtime.api.governor import GOVERNORS
    from runtime.store.rate_budget import shared_budgets

    GOVERNORS.use(shared_budgets(storage.state.db))
    close = storage.close

    def close_and_forget() -> None:
        GOVERNORS.use(None)
        close()

    storage.close = close_and_forget  # type: ignore[method-assign]


def add_group(
    commands: argparse._SubParsersAction, name: str, help: str, *, dest: str,
    metavar: str = "ACTION",
) -> argparse._SubParsersAction:
    """``lsq NAME SUBCOMMAND``: a command group; its subcommands (one is required)."""
    parser = commands.add_parser(name, help=help)
    subcommands = parser.add_subparsers(dest=dest, metavar=metavar, parser_class=type(parser))
    subcommands.required = True
    return subcommands


def add_root_option(parser: argparse.ArgumentParser) -> None:
    """``--root DIR``: the connector whose manifest the command reads."""
    parser.add_argument(
        "--root", metavar="DIR", help="connector root (default: $LSQ_CONNECTOR_ROOT, else this one)"
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
        connection = embedded_connection_noted()
    return LeadSquaredClient(connection)


def read_json_object(value: str | None, option: str = "-i") -> dict[str, Any]:
    """A JSON object given inline, as ``@file.json`` or as ``@-`` (stdin); ``{}`` if absent.

    Text that is not valid Unicode (a lone surrogate, e.g. from a ``"\\ud83d"`` escape) is
    refused: these are inputs a person typed, sent on to LeadSquared.
    """
    from runtime.cli import UsageError  # the CLI package imports this module first
    from runtime.text import find_lone_surrogate

    if value is None:
        return {}
    if value.startswith("@"):
        data, where = read_json(value[1:], option)
    else:
        data, where = parse_json(_inline(value, option), option, ""), ""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise UsageError(f"{option}: the input{where} must be a JSON object, not {kind}")
    bad = find_lone_surrogate(data)
    if bad is not None:
        raise UsageError(f"{option}: the input{where} holds half of a UTF-16 surrogate pair at "
                         f"{bad}; write the whole character")
    return data


def read_json(source: str, option: str) -> tuple[Any, str]:
    """(the JSON value, `` in FILE`` / `` on stdin``) of a file or ``-``, read with its cap."""
    from runtime.cli import UsageError
    from runtime.inputs import MAX_JSON_INPUT_BYTES, UnreadableInput, read_text_input

    where = " on stdin" if source == "-" else f" in {source}"
    what = "stdin" if source == "-" else source
    try:
        text = read_text_input(source, limit=MAX_JSON_INPUT_BYTES, what=what)
    except UnreadableInput as problem:
        raise UsageError(f"{option}: {problem}") from None
    return parse_json(text, option, where), where


def _inline(text: str, option: str) -> str:
    """Inline JSON, capped like a file."""
    from runtime.cli import UsageError
    from runtime.inputs import MAX_JSON_INPUT_BYTES, UnreadableInput, check_size

    try:
        check_size(text, MAX_JSON_INPUT_BYTES, "the inline JSON")
    except UnreadableInput as problem:
        raise UsageError(f"{option}: {problem}") from None
    return text


def parse_json(text: str, option: str, where: str) -> Any:
    """``text`` as JSON, or a one-line :class:`UsageError` naming ``option`` and the place."""
    from runtime.cli import UsageError

    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise UsageError(
            f"{option}: invalid JSON{where} at line {problem.lineno} column {problem.colno}: "
            f"{problem.msg}"
        ) from None
    except RecursionError:
        raise UsageError(f"{option}: the JSON{where} is nested too deeply") from None


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A header row and rows in columns two spaces apart, each as wide as its widest cell."""
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def print_json(value: Any, *, compact: bool) -> None:
    """One JSON value on stdout: compact (``--json``) or indented for people."""
    print(json_text(value, indent=None if compact else 2))
