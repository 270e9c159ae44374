"""One SQLite file shared by threads and processes: the state store and the run history use it.

Each thread gets its own connection (autocommit, WAL, a busy timeout, foreign keys on);
writes go through :meth:`SQLiteFile.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled
back on any error). The file is created owner-only (0600): it may hold webhook secrets.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from runtime.errors import ConfigurationError


class SQLiteFile:
    """Per-thread connections to one SQLite file, and write transactions on them."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float,
        synchronous: str = "FULL",
        what: str = "the database",
        env_hint: str = "",
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        except OSError as problem:
            raise ConfigurationError(
                f"cannot open {what} {path}: {problem.strerror}",
                hint=f"set {env_hint} to a writable path" if env_hint else None,
            ) from None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` for writes)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,  # used only by its thread; close() may run elsewhere
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable`` makes this commit wait until the disk has it
        (``synchronous = FULL``), whatever the file's usual setting."""
        conn = self.connection()
        raise_level = durable and self._synchronous != "FULL"
        if raise_level:
            conn.execute("PRAGMA synchronous = FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if raise_level:
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    def close(self) -> None:
        """Close every connection opened on this file (in any thread)."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
