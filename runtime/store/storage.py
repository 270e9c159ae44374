"""The one place that decides where state and history live: SQLite files or PostgreSQL.

- No database URL (the default): SQLite files, as always: the state file
  (``$LSQ_STATE_DB``, else ``.lsq/state.sqlite3``) and the run history next to it
  (``$LSQ_HISTORY_DB``, else ``history.sqlite3``). Created and upgraded on first use.
- ``--database URL`` / ``$LSQ_DATABASE_URL`` with a ``postgresql://`` URL: trigger state, the
  inbox, run history and leases all live in that database, shared by any number of processes
  and machines; its schema is created and upgraded by ``lsq db upgrade`` only. Each process
  holds at most ``$LSQ_DATABASE_POOL_SIZE`` (default 10) connections to it.

Callers ask for stores (:func:`open_storage`, :func:`open_state`, :func:`open_history`) and
never branch on the backend. The URL's password never appears in a message, a log line or a
summary: stores show it as ``postgresql://user:***@host/db``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from runtime.clock import Clock, utc_now
from runtime.errors import ConfigurationError
from runtime.store import schema
from runtime.store.database import Database, is_database_url, redact_url
from runtime.store.history import HistoryStore, default_history_path
from runtime.store.inbox import DEFAULT_CLAIM_TTL, DEFAULT_MAX_ATTEMPTS, Inbox
from runtime.store.leases import Leases
from runtime.store.retention import Retention, prune
from runtime.store.sqlite_backend import SQLiteDatabase
from runtime.store.state import BUSY_TIMEOUT_SECONDS, StateStore, default_state_path

DATABASE_URL_ENV = "LSQ_DATABASE_URL"
POOL_SIZE_ENV = "LSQ_DATABASE_POOL_SIZE"


def database_url(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The PostgreSQL URL in effect (``explicit``, else ``$LSQ_DATABASE_URL``), or None."""
    env = os.environ if environ is None else environ
    value = (explicit if explicit is not None else env.get(DATABASE_URL_ENV, "")).strip()
    if not value:
        return None
    if not is_database_url(value):
        shown = redact_url(value) if "://" in value else "the value given"
        raise ConfigurationError(
            f"--database / {DATABASE_URL_ENV}: {shown!r} is not a postgresql:// URL",
            hint="e.g. postgresql://lsq:PASSWORD@db.example.com/lsq; without it, state lives "
            "in SQLite files under .lsq/",
        )
    return value


def open_database(url: str, environ: Mapping[str, str] | None = None) -> Database:
    """A pool of connections to the PostgreSQL database at ``url``."""
    from runtime.store.postgres_backend import DEFAULT_POOL_SIZE, PostgresDatabase

    env = os.environ if environ is None else environ
    size = env.get(POOL_SIZE_ENV, "").strip()
    if size and (not size.isdigit() or int(size) < 1):
        raise ConfigurationError(f"{POOL_SIZE_ENV}={size!r} is not a whole number of 1 or more")
    return PostgresDatabase(url, pool_size=int(size) if size else DEFAULT_POOL_SIZE)


class Storage:
    """The state store and the run history of one deployment, opened together."""

    def __init__(self, state: StateStore, history: HistoryStore, shared: Database | None) -> None:
        self.state = state
        self.history = history
        self._shared = shared

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.state.db.dialect.name

    @property
    def location(self) -> str:
        """Where the data is (paths, or the URL without its password)."""
        if self._shared is not None:
            return self._shared.location
        return f"{self.state.location}, {self.history.location}"

    def inbox(
        self,
        *,
        claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> Inbox:
        """The webhook/poll inbox in the state store."""
        return Inbox(self.state, claim_ttl=claim_ttl, max_attempts=max_attempts)

    @property
    def leases(self) -> Leases:
        """Named leases in the state store."""
        return Leases(self.state)

    def prune(self, retention: Retention | None = None, *, now: datetime | None = None
              ) -> dict[str, int]:
        """Apply ``retention`` (default: from the environment) to history and state."""
        return prune(self.state, self.history, retention or Retention.from_env(), now=now)

    def close(self) -> None:
        self.state.close()
        self.history.close()
        if self._shared is not None:
            self._shared.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_storage(
    url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    state_path: str | Path | None = None,
    history_path: str | Path | None = None,
) -> Storage:
    """State and history: in PostgreSQL when a URL is in effect (one pool for both), else in
    the SQLite files (``state_path``/``history_path``, else the environment's or default)."""
    resolved = database_url(url, environ)
    if resolved is None:
        state = StateStore(state_path, environ=environ, clock=clock)
        try:
            history = HistoryStore(history_path, environ=environ)
        except BaseException:
            state.close()
            raise
        return Storage(state, history, None)
    _no_paths(state_path, history_path)
    db = open_database(resolved, environ)
    try:
        return Storage(StateStore(database=db, clock=clock), HistoryStore(database=db), db)
    except BaseException:
        db.close()
        raise


def open_state(
    url: str | None = None,
    *,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
) -> StateStore:
    """The trigger state store alone (see :func:`open_storage`); close it when done."""
    resolved = database_url(url, environ)
    if resolved is None:
        return StateStore(path, environ=environ, clock=clock)
    _no_paths(path, None)
    return StateStore(database=open_database(resolved, environ), clock=clock, owns_database=True)


def open_history(
    url: str | None = None,
    *,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> HistoryStore:
    """The run history alone (see :func:`open_storage`); close it when done."""
    resolved = database_url(url, environ)
    if resolved is None:
        return HistoryStore(path, environ=environ)
    _no_paths(None, path)
    return HistoryStore(database=open_database(resolved, environ), owns_database=True)


def scratch_state(folder: str | Path, *, clock: Clock = utc_now) -> StateStore:
    """A throwaway state store in ``folder`` (dry runs: never the deployment's store)."""
    return StateStore(Path(folder) / "scratch-state.sqlite3", clock=clock)


# -- schema administration (lsq db) --------------------------------------------------------


def schema_status(
    url: str | None = None, environ: Mapping[str, str] | None = None
) -> list[tuple[str, schema.SchemaStatus]]:
    """``(what, status)`` of each database: ``state`` and ``history`` files, or ``database``.

    Reads only: a SQLite file that does not exist yet is reported at version 0 (it is created
    at the current version on first use), never created here.
    """
    resolved = database_url(url, environ)
    if resolved is not None:
        db = open_database(resolved, environ)
        try:
            return [("database", schema.status(db, schema.STATE))]
        finally:
            db.close()
    report = []
    for what, component, path in _sqlite_files(environ):
        if not path.exists():
            needed = schema.migrations(f"sqlite/{component}")
            report.append((what, schema.SchemaStatus(
                str(path), 0, len(needed), tuple(m.label for m in needed))))
            continue
        db = _sqlite(path, what)
        try:
            report.append((what, schema.status(db, component)))
        finally:
            db.close()
    return report


def upgrade_schema(
    url: str | None = None, environ: Mapping[str, str] | None = None
) -> list[tuple[str, str, list[str]]]:
    """Apply pending migrations: ``(what, location, applied labels)`` per database."""
    resolved = database_url(url, environ)
    if resolved is not None:
        db = open_database(resolved, environ)
        try:
            applied = schema.upgrade(db, schema.STATE)
            return [("database", db.location, [m.label for m in applied])]
        finally:
            db.close()
    done = []
    for what, component, path in _sqlite_files(environ):
        db = _sqlite(path, what)
        try:
            done.append((what, db.location, [m.label for m in schema.upgrade(db, component)]))
        finally:
            db.close()
    return done


def _sqlite_files(environ: Mapping[str, str] | None) -> list[tuple[str, str, Path]]:
    return [("state", schema.STATE, default_state_path(environ)),
            ("history", schema.HISTORY, default_history_path(environ))]


def _sqlite(path: Path, what: str) -> SQLiteDatabase:
    label = "the state file" if what == "state" else "the run history"
    return SQLiteDatabase(path, busy_timeout=BUSY_TIMEOUT_SECONDS, what=label)


def _no_paths(state_path: str | Path | None, history_path: str | Path | None) -> None:
    if state_path is not None or history_path is not None:
        raise ConfigurationError(
            "a SQLite file was named while a PostgreSQL database is selected "
            f"({DATABASE_URL_ENV})", hint="give one of them",
        )


__all__ = [
    "DATABASE_URL_ENV",
    "POOL_SIZE_ENV",
    "Storage",
    "database_url",
    "open_database",
    "open_history",
    "open_state",
    "open_storage",
    "schema_status",
    "scratch_state",
    "upgrade_schema",
]
