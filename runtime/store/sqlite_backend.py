"""The SQLite backend: one file, a bounded pool of connections, write transactions, faults.

- The file: created owner-only (0600: it may hold webhook secrets); an existing file readable
  by others is made 0600 when opened (with its ``-wal``/``-shm`` companions). It must be a
  regular file: a directory, a device such as /dev/null, a FIFO or a symbolic link at the path
  is refused with one line naming the path and the fix (never written through).
- Connections (autocommit, WAL, a busy timeout, foreign keys on) are borrowed from a pool of
  at most ``pool_size`` for one transaction or read and returned at its end: a process never
  holds more than ``pool_size`` connections to the file, whatever its number of threads.
- Writes go through :meth:`SQLiteDatabase.transaction`: ``BEGIN IMMEDIATE`` ... ``COMMIT``,
  ``ROLLBACK`` on any error. ``synchronous`` is the file's usual level; a ``durable=True``
  transaction raises it to ``FULL`` for its commit (on disk before the block ends), a
  ``durable=False`` one lowers it to ``NORMAL`` (survives a crash of the process; WAL).
- Faults: disk full, locked past the busy timeout, read-only, I/O errors and an exhausted pool
  raise :class:`~runtime.errors.StorageUnavailable` (nothing was committed; the same object
  works again once the fault clears); a damaged file or one that is not a database raises
  :class:`~runtime.errors.ConfigurationError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runtime.errors import ConfigurationError, StorageUnavailable
from runtime.store.database import SQLITE_DIALECT, Database, Rows

try:
    import fcntl
except ImportError:  # not POSIX: writers of other processes are waited for by SQLite alone
    fcntl = None  # type: ignore[assignment]

DEFAULT_POOL_SIZE = 8
OWNER_ONLY = 0o600
COMPANIONS = ("-wal", "-shm", "-journal", "-writer")

# SQLite primary result codes (https://sqlite.org/rescode.html) that mean "not now".
_UNAVAILABLE = {
    5: "another process holds the write lock past the busy timeout",  # SQLITE_BUSY
    6: "a table is locked",  # SQLITE_LOCKED
    7: "out of memory",  # SQLITE_NOMEM
    8: "it is read-only; make the file and its folder writable",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    13: "the disk is full; free some space",  # SQLITE_FULL
    14: "it cannot be opened",  # SQLITE_CANTOPEN
    15: "file locking failed",  # SQLITE_PROTOCOL
}
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


class SQLiteDatabase(Database):
    """A pool of connections to one SQLite file."""

    dialect = SQLITE_DIALECT

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float,
        synchronous: str = "FULL",
        what: str = "the database",
        env_hint: str = "",
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.path = path
        self.location = str(path)
        self.what = what
        self.env_hint = env_hint
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self.pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)  # a connection came back
        self._opened = 0
        prepare_file(path, what, env_hint)
        self._writer = WriterLock(path.with_name(path.name + "-writer"))
        self._uri = "file:" + quote(str(path.absolute())) + "?nofollow=1"

    # -- the pool -----------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """Connections open right now (idle or borrowed); never more than ``pool_size``."""
        return self._opened

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._uri, uri=True, timeout=self.busy_timeout, isolation_level=None,
            check_same_thread=False,  # borrowed by one thread at a time, closed by any
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _take(self) -> sqlite3.Connection:
        """An idle connection, a new one while fewer than ``pool_size`` are open, else wait
        (at most the busy timeout) for one to come back."""
        # A lock and a list, not a queue.Queue or a semaphore: the hot path (an idle
        # connection is there) is one uncontended lock, ~0.2 us instead of ~3 us.
        with self._lock:
            if not self._idle and self._opened >= self.pool_size and not self._returned.wait_for(
                lambda: self._idle or self._opened < self.pool_size, self.busy_timeout
            ):
                raise StorageUnavailable(
                    f"{self.what} {self.path} is unavailable: all {self.pool_size} "
                    f"connections stayed busy for {self.busy_timeout:g} s",
                    hint="nothing was written; retry",
                )
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            return self._connect()
        except BaseException as problem:
            with self._lock:
                self._opened -= 1
                self._returned.notify()
            if isinstance(problem, sqlite3.Error):
                raise self.classify(problem) from None
            raise

    def _give_back(self, conn: sqlite3.Connection) -> None:
        try:
            reusable = not conn.in_transaction
        except sqlite3.Error:
            reusable = False
        if not reusable:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        with self._lock:
            if reusable:
                self._idle.append(conn)
            else:
                self._opened -= 1
            self._returned.notify()

    def close(self) -> None:
        """Close the idle connections; the object stays usable (it opens new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
        for conn in idle:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool | None = None) -> Iterator[_SQLiteTransaction]:
        # durable=False on a FULL file: NORMAL for this commit (in WAL mode it survives a crash
        # of the process, not of the machine); the next FULL commit flushes it too.
        level = {True: "FULL", False: "NORMAL", None: self.synchronous}[durable]
        change_level = level != self.synchronous
        conn = self._take()
        tx = _SQLiteTransaction(conn, self)
        try:
            if change_level:
                tx.control(f"PRAGMA synchronous = {level}")
            with self._writer:
                tx.control("BEGIN IMMEDIATE")
                try:
                    yield tx
                    tx.control("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
        finally:
            if change_level:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            self._give_back(conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[_SQLiteTransaction]:
        conn = self._take()
        try:
            yield _SQLiteTransaction(conn, self)
        finally:
            self._give_back(conn)

    # -- faults -------------------------------------------------------------------------------

    def classify(self, problem: sqlite3.Error) -> Exception:
        """The connector error for a driver error (the driver error itself when unexpected)."""
        code = getattr(problem, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in _DAMAGED:
            return ConfigurationError(
                f"{self.what} {self.path} is damaged or not a SQLite database ({problem})",
                hint="move it away to start afresh (its state is lost) or restore a backup"
                + (f"; or set {self.env_hint} to another file" if self.env_hint else ""),
            )
        if primary in _UNAVAILABLE:
            return StorageUnavailable(
                f"{self.what} {self.path} is unavailable: {_UNAVAILABLE[primary]} ({problem})",
                hint="nothing was written; retry",
            )
        return problem


class WriterLock:
    """One writer at a time per file, across threads and processes, handed over at once.

    SQLite's own wait for the write lock (the busy timeout) polls: it sleeps 1, 2, 5, 10...
    ms between tries, whatever the moment the lock frees. With `lsq serve`'s receiver in one
    process committing deliveries (each group held the lock through its fsync) and its
    worker process claiming and settling, claims waited that way for a quarter of a worker's
    time (profiled, issue 14). Writers first take this lock: a thread lock, then an ``flock``
    on ``<file>-writer``, which the kernel hands to the next waiter as soon as it is
    released; BEGIN IMMEDIATE then rarely waits. SQLite's lock still decides: a writer
    without this lock (another program) is only waited for as before. Re-entrant in a
    thread (a nested write transaction fails on SQLite's lock as it did, not here).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._depth == 0 and fcntl is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _file(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(
                    self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, OWNER_ONLY
                )
            except OSError as problem:
                raise StorageUnavailable(
                    f"cannot open the writer lock {self.path}: {problem.strerror}",
                    hint="make the folder writable",
                ) from None
        return self._fd


class _SQLiteTransaction:
    """Statements on one borrowed connection; driver errors come out classified."""

    dialect = SQLITE_DIALECT
    __slots__ = ("_conn", "_db")

    def __init__(self, conn: sqlite3.Connection, db: SQLiteDatabase) -> None:
        self._conn = conn
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        try:
            cursor = self._conn.execute(sql, params)
            return Rows(cursor.fetchall(), cursor.rowcount)
        except sqlite3.Error as problem:
            raise self._db.classify(problem) from None

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, params)
        except sqlite3.Error as problem:
            raise self._db.classify(problem) from None

    def execute_script(self, sql: str) -> None:
        for statement in split_statements(sql):
            self.execute(statement)

    def control(self, sql: str) -> None:
        """A statement without rows (``BEGIN``, ``COMMIT``, a ``PRAGMA`` setting)."""
        try:
            self._conn.execute(sql)
        except sqlite3.Error as problem:
            raise self._db.classify(problem) from None


def split_statements(sql: str) -> list[str]:
    """The complete statements of a script (``executescript`` would commit the transaction)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


def prepare_file(path: Path, what: str, env_hint: str) -> None:
    """Create ``path`` owner-only, or check the existing one (regular file, made 0600).

    Refuses a symbolic link, a directory, a device or a FIFO at ``path`` with one line naming
    it and the fix; never follows a link (``O_NOFOLLOW``) or blocks on a FIFO.
    """
    hint = f"set {env_hint} to a writable path" if env_hint else None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
            OWNER_ONLY,
        )
    except OSError as problem:
        kind = _special_kind(path)
        if kind is not None:
            raise _not_a_file(path, what, kind, env_hint) from None
        raise ConfigurationError(
            f"cannot open {what} {path}: {problem.strerror}", hint=hint
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_a_file(path, what, _kind_of(mode), env_hint)
        if stat.S_IMODE(mode) & ~OWNER_ONLY:
            os.fchmod(fd, OWNER_ONLY)
    finally:
        os.close(fd)
    for suffix in COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):
            info = companion.lstat()
            if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) & ~OWNER_ONLY:
                companion.chmod(OWNER_ONLY)


def _special_kind(path: Path) -> str | None:
    try:
        return _kind_of(path.lstat().st_mode)
    except OSError:
        return None


def _kind_of(mode: int) -> str | None:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), None)


def _not_a_file(path: Path, what: str, kind: str | None, env_hint: str) -> ConfigurationError:
    where = f"set {env_hint} to a regular file" if env_hint else "use a regular file"
    return ConfigurationError(
        f"{what} {path} is {kind or 'not a regular file'}, not a database file",
        hint=f"remove it or {where} (links are never followed)",
    )


__all__ = ["DEFAULT_POOL_SIZE", "SQLiteDatabase", "prepare_file", "split_statements"]
