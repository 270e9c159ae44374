"""The one database interface the store's domain modules are written against.

A :class:`Database` is SQLite (:mod:`runtime.store.sqlite_backend`, files) or PostgreSQL
(:mod:`runtime.store.postgres_backend`); :func:`runtime.store.storage.open_storage` picks one.
Domain modules write portable SQL once:

- ``?`` placeholders (rewritten for psycopg); ``INSERT ... ON CONFLICT`` (never ``INSERT OR
  IGNORE/REPLACE``); ``RETURNING`` (never ``lastrowid``); ``CAST(? AS TEXT) IS NULL`` for an
  optional filter (PostgreSQL cannot type a bare ``? IS NULL``); no ``IS ?``;
- times as fixed-width UTC text (:func:`runtime.clock.to_iso`), JSON as text, ids as integers;
- the one difference that matters for behaviour is in :class:`Dialect` (row locks for claims).

Connections are borrowed from a bounded pool for one :meth:`Database.transaction` or
:meth:`Database.read` and returned at its end, so any number of short-lived threads use at
most ``pool_size`` connections. A transaction never opens another one on the same database
(a thread would wait on itself when the pool is exhausted).

Faults are classified by the backend: a database that cannot be used right now (disk full,
locked past the busy timeout, read-only, server unreachable) raises
:class:`~runtime.errors.StorageUnavailable` (retriable: nothing was committed); a damaged or
wrong file raises :class:`~runtime.errors.ConfigurationError` naming it and the fix.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Dialect:
    """What differs between the backends for the domain modules.

    ``skip_locked`` is appended to a ``SELECT ... LIMIT 1`` that claims a row: PostgreSQL's
    ``FOR UPDATE SKIP LOCKED`` lets concurrent claimers take different rows; SQLite needs none
    (a write transaction holds the whole file).
    """

    name: str
    skip_locked: str


SQLITE_DIALECT = Dialect(SQLITE, "")
POSTGRESQL_DIALECT = Dialect(POSTGRESQL, " FOR UPDATE SKIP LOCKED")


class Rows:
    """The result of one statement, fetched: ``rows`` (tuples) and ``rowcount``."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


class Transaction(Protocol):
    """Statements on one borrowed connection: one transaction, or autocommit reads."""

    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (``?`` placeholders); its rows are fetched before it returns."""
        ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per parameter row."""
        ...

    def execute_script(self, sql: str) -> None:
        """Run several ``;``-separated statements without parameters (migrations)."""
        ...


class Database(abc.ABC):
    """A pool of connections to one database (a SQLite file or a PostgreSQL database)."""

    dialect: Dialect
    location: str
    """Where it is, for messages: a file path, or the URL without its password."""

    @abc.abstractmethod
    def transaction(
        self, *, durable: bool | None = None
    ) -> contextlib.AbstractContextManager[Transaction]:
        """One write transaction, committed when the block ends, rolled back on any error.

        ``durable=True``: the commit is on disk when the block ends. ``False``: it survives a
        crash of this process but may be lost with the machine (cheaper). ``None``: the
        database's default (see the backend).
        """

    @abc.abstractmethod
    def read(self) -> contextlib.AbstractContextManager[Transaction]:
        """A connection for reads (autocommit: each statement sees the latest commits)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the pool's idle connections (borrowed ones are closed when returned)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read statement's rows, on a connection borrowed for it."""
        with self.read() as tx:
            return tx.execute(sql, params).rows

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


def is_database_url(value: str) -> bool:
    """Whether ``value`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return urlsplit(value.strip()).scheme in {"postgresql", "postgres"}


def redact_url(url: str) -> str:
    """``url`` without its password (in the authority or a ``password=`` query field)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{host}"
    query_fields = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.lower() == "password" for name, _ in query_fields):
        query_text = urlencode(
            [(name, "***" if name.lower() == "password" else value)
             for name, value in query_fields], safe="*",
        )
    else:
        query_text = parts.query
    if (netloc, query_text) == (parts.netloc, parts.query):
        return url  # nothing to hide: as given (urlunsplit would drop an empty authority's //)
    shown = urlunsplit((parts.scheme, netloc, parts.path, query_text, parts.fragment))
    rest = shown[len(parts.scheme) + 1:]
    if url[len(parts.scheme) + 1:].startswith("//") and not rest.startswith("//"):
        shown = f"{parts.scheme}://{rest}"
    return shown


def url_secrets(url: str) -> list[str]:
    """The password(s) a URL carries, to scrub from any text shown to people."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [value for name, value in parse_qsl(parts.query) if name.lower() == "password"]
    return [secret for secret in found if secret]


__all__ = [
    "POSTGRESQL",
    "POSTGRESQL_DIALECT",
    "SQLITE",
    "SQLITE_DIALECT",
    "Database",
    "Dialect",
    "Rows",
    "Transaction",
    "is_database_url",
    "redact_url",
    "url_secrets",
]
