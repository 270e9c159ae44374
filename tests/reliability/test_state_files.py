"""A corrupted, truncated, foreign or special file at the state or history path ends the CLI
command in one line naming the file (exit 1), never a traceback or a hang.

The store detects and names what it can (``runtime/store/``); the CLI prints any store error
as one line, and a raw SQLite error as one line naming both files.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import assert_contract, run_cli


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def _truncated(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (randomblob(200000))")
    conn.close()
    path.write_bytes(path.read_bytes()[:5000])


def _foreign(path: Path) -> None:
    """Another program's SQLite database: its own tables, with our table names."""
    with sqlite3.connect(path) as conn:
        for table in ("cursors", "inbox", "subscriptions", "runs", "steps", "seen"):
            conn.execute(f"CREATE TABLE {table} (other TEXT)")
    conn.close()


KINDS: dict[str, Callable[[Path], None]] = {
    "garbage": _garbage,
    "truncated": _truncated,
    "foreign-database": _foreign,
    "directory": lambda path: path.mkdir(),
    "dev-null": lambda path: path.symlink_to("/dev/null"),
    "fifo": lambda path: os.mkfifo(path),
    "dangling-symlink-in-missing-dir": lambda path: path.symlink_to("/nonexistent/dir/x.db"),
}
COMMANDS = {
    "state show": (["state", "show"], "state"),
    "state reset": (["state", "reset", "--trigger", "new_account"], "state"),
    "runs list": (["runs", "list"], "history"),
    "runs show": (["runs", "show", "1"], "history"),
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unusable_database_file_is_one_line(cli_env: Path, kind: str, command: str) -> None:
    argv, which = COMMANDS[command]
    path = cli_env / f"{which}.sqlite3"  # LSQ_STATE_DB / LSQ_HISTORY_DB (conftest)
    KINDS[kind](path)
    started = time.monotonic()
    result = run_cli(argv)
    assert time.monotonic() - started < 10
    assert_contract(result)
    assert result.code == 1, (result.code, result.out, result.err)
    [line] = result.err.strip().splitlines()
    assert line.startswith("error: ") and str(path) in line, line
