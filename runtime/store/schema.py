"""Versioned schema migrations: ``migrations/<set>/NNNN_name.sql``, applied in order.

Sets: ``sqlite/state`` (the trigger state file), ``sqlite/history`` (the run history file)
and ``postgres`` (state and history in one PostgreSQL database). Each database records what it
has in ``schema_migrations (version, name, applied_at)``; all pending migrations are applied
in one transaction, so a failed upgrade changes nothing.

- SQLite upgrades itself when a store opens it (zero set-up stays zero set-up). A file made
  before versioned migrations (no ``schema_migrations``) is adopted: migration 0001 creates
  exactly that schema with ``IF NOT EXISTS``, so running it over such a file keeps its data.
- PostgreSQL is upgraded only by ``lsq db upgrade`` (:func:`upgrade`, under an advisory lock,
  so two at once are safe); a store refuses a database whose version differs from the one it
  needs, with one line saying both and the command to run.
- A database written by a newer lsq (a version this one does not know) is refused on both.
"""

from __future__ import annotations

import functools
import re
import weakref
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import ClassVar, Self

from runtime.clock import to_iso, utc_now
from runtime.errors import ConfigurationError
from runtime.store.database import POSTGRESQL, Database, Transaction

STATE = "state"
HISTORY = "history"
UPGRADE_COMMAND = "lsq db upgrade"
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6C73715F6462  # "lsq_db": serializes concurrent `lsq db upgrade`s
_FIRST_TABLE = {STATE: "cursors", HISTORY: "runs"}  # made by 0001 (and by the pre-0001 code)
_TABLE_EXISTS = {
    POSTGRESQL: "SELECT COUNT(*) FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_name = ?",
    "sqlite": "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
}
_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
_checked: weakref.WeakKeyDictionary[Database, set[str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Migration:
    """One ``NNNN_name.sql`` file."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands: ``found`` (0: none yet) and ``needed`` versions."""

    location: str
    found: int
    needed: int
    pending: tuple[str, ...]

    @property
    def current(self) -> bool:
        return self.found == self.needed

    def to_dict(self) -> dict[str, object]:
        return {"location": self.location, "found": self.found, "needed": self.needed,
                "pending": list(self.pending), "current": self.current}


def migration_set(db: Database, component: str) -> str:
    """The folder of migrations for ``db``: ``postgres``, or ``sqlite/<component>``."""
    return "postgres" if db.dialect.name == POSTGRESQL else f"sqlite/{component}"


@functools.cache
def migrations(folder: str) -> tuple[Migration, ...]:
    """The migrations of one set, by version (package data, so they ship in the wheel)."""
    found = []
    for entry in (resources.files("runtime.store") / "migrations" / folder).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"],
                                   entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise ConfigurationError(f"migrations of {folder} are not numbered 0001, 0002, ...")
    return tuple(found)


def _table_exists(tx: Transaction, table: str) -> bool:
    return bool(tx.execute(_TABLE_EXISTS[tx.dialect.name], (table,)).scalar())


def _found_version(tx: Transaction, component: str) -> int:
    if _table_exists(tx, "schema_migrations"):
        version = tx.execute("SELECT MAX(version) FROM schema_migrations").scalar()
        if version is not None:
            return int(version)
    # Made before versioned migrations: its tables are migration 0001's.
    return 1 if tx.dialect.name != POSTGRESQL and _table_exists(tx, _FIRST_TABLE[component]) else 0


def status(db: Database, component: str) -> SchemaStatus:
    """The schema version ``db`` has and the one this code needs (reads only)."""
    known = migrations(migration_set(db, component))
    with db.read() as tx:
        found = _found_version(tx, component)
    return SchemaStatus(db.location, found, len(known),
                        tuple(m.label for m in known if m.version > found))


def upgrade(db: Database, component: str) -> list[Migration]:
    """Apply the pending migrations in one transaction; returns those applied."""
    known = migrations(migration_set(db, component))
    with db.transaction(durable=True) as tx:
        if tx.dialect.name == POSTGRESQL:
            tx.execute(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        tx.execute(_CREATE_TABLE)
        rows = tx.execute("SELECT MAX(version) FROM schema_migrations").scalar()
        found = int(rows) if rows is not None else 0
        _refuse_newer(db, found, len(known))
        pending = [m for m in known if m.version > found]
        now = to_iso(utc_now())
        for migration in pending:
            tx.execute_script(migration.sql)
            tx.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                       "VALUES (?, ?, ?)", (migration.version, migration.name, now))
    _checked.setdefault(db, set()).add(migration_set(db, component))
    return pending


def ensure(db: Database, component: str) -> None:
    """Make ``db`` usable by this code: SQLite upgrades, PostgreSQL must already be current."""
    folder = migration_set(db, component)
    if folder in _checked.get(db, ()):
        return
    state = status(db, component)
    _refuse_newer(db, state.found, state.needed)
    if not state.current:
        if db.dialect.name == POSTGRESQL:
            raise ConfigurationError(
                f"the database {db.location} has schema version {state.found}; this lsq "
                f"needs {state.needed}: run `{UPGRADE_COMMAND}` with the same --database"
            )
        upgrade(db, component)
    _checked.setdefault(db, set()).add(folder)


class DatabaseStore:
    """A store on one database: attached at the current schema of its ``component``, closing
    the database when it owns it (it opened it), leaving a shared one open."""

    component: ClassVar[str]
    db: Database
    path: Path | None

    def _attach(self, database: Database, *, owns: bool) -> None:
        self.db, self._owns_database = database, owns
        self.path = getattr(database, "path", None)
        try:
            ensure(database, self.component)
        except BaseException:
            self.close()
            raise

    @property
    def location(self) -> str:
        """The file path, or the database URL without its password."""
        return self.db.location

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    def close(self) -> None:
        """Close the database connections this store opened (a shared database stays open)."""
        if self._owns_database:
            self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _refuse_newer(db: Database, found: int, needed: int) -> None:
    if found > needed:
        raise ConfigurationError(
            f"the database {db.location} has schema version {found}, newer than this lsq "
            f"knows ({needed})", hint="upgrade lsq (pip install -U leadsquared-connector)",
        )


__all__ = [
    "HISTORY",
    "STATE",
    "UPGRADE_COMMAND",
    "DatabaseStore",
    "Migration",
    "SchemaStatus",
    "ensure",
    "migration_set",
    "migrations",
    "status",
    "upgrade",
]
