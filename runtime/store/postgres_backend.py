"""The PostgreSQL backend: psycopg 3 connections from a bounded psycopg_pool pool.

- Connections are autocommit; :meth:`PostgresDatabase.transaction` sends ``BEGIN`` (and, for
  ``durable=False``, ``SET LOCAL synchronous_commit TO off`` in the same round trip: such a
  commit survives a crash of this process but may be lost with the server) and ``COMMIT``, or
  ``ROLLBACK`` on any error. ``durable`` None or True commits with the server's default,
  ``synchronous_commit = on``: on disk before the block ends.
- ``?`` placeholders of the portable SQL become ``%s`` (a literal ``%`` is escaped).
- A pooled connection that the server dropped (a restart, a failover) is found by the first
  statement of a transaction or read: the pool's idle connections are checked, dead ones
  dropped, and the statement retried once on a live one (nothing had run yet).
- Faults: unreachable server, pool exhausted, disk full, shutdown, read-only standby, lock
  and serialization failures raise :class:`~runtime.errors.StorageUnavailable`; a wrong
  password or a missing database raise :class:`~runtime.errors.ConfigurationError`. Messages
  name the URL without its password and never contain it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

try:
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - the [postgres] extra is not installed
    psycopg = None  # type: ignore[assignment]

from runtime.errors import ConfigurationError, StorageUnavailable
from runtime.store.database import POSTGRESQL_DIALECT, Database, Rows, redact_url, url_secrets

DEFAULT_POOL_SIZE = 10
DEFAULT_CONNECT_TIMEOUT = 10.0
INSTALL_HINT = "pip install 'leadsquared-connector[postgres]'"

# SQLSTATE classes and codes that mean "not now" (PostgreSQL manual, appendix A, error codes):
# connection, transaction rollback (serialization, deadlock), resources (disk full, too many
# connections), operator intervention (shutdown), system errors.
_UNAVAILABLE_CLASSES = {"08", "40", "53", "57", "58"}
_UNAVAILABLE_CODES = {"55P03", "25006"}  # lock_not_available, read_only_sql_transaction
_AUTH_CODES = {"28000", "28P01"}
_NO_DATABASE = "3D000"


@functools.lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """Portable SQL (``?``) to psycopg's format (``%s``, literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresDatabase(Database):
    """A bounded pool of connections to one PostgreSQL database."""

    dialect = POSTGRESQL_DIALECT

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "PostgreSQL support is not installed (psycopg)", hint=INSTALL_HINT
            )
        self.location = redact_url(url)
        self.pool_size = pool_size
        self._secrets = url_secrets(url)
        options = {
            "autocommit": True,
            "connect_timeout": max(2, int(connect_timeout)),
            "application_name": "lsq",
        }
        try:
            # One direct connection first: an unreachable server or a wrong password is
            # reported at once with its reason, not after the pool's timeout.
            psycopg.connect(url, **options).close()
        except psycopg.Error as problem:
            raise self.classify(problem) from None
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs=options, timeout=connect_timeout,
            open=False, name="lsq",
        )
        self._pool.open(wait=False)

    # -- the pool -----------------------------------------------------------------------------

    def _getconn(self, *, check: bool = False) -> psycopg.Connection[Any]:
        """A connection from the pool; ``check`` first drops the idle ones that are dead."""
        try:
            if check:
                self._pool.check()
            return self._pool.getconn()
        except (PoolTimeout, psycopg.Error) as problem:
            raise self.classify(problem) from None

    def _putconn(self, conn: psycopg.Connection[Any]) -> None:
        self._pool.putconn(conn)  # a broken one is discarded and replaced by the pool

    @property
    def open_connections(self) -> int:
        """Connections open right now (idle or borrowed); never more than ``pool_size``."""
        return int(self._pool.get_stats().get("pool_size", 0))

    def close(self) -> None:
        self._pool.close()

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool | None = None) -> Iterator[_PgTransaction]:
        tx = _PgTransaction(self)
        try:
            tx.execute("BEGIN" if durable is not False
                       else "BEGIN; SET LOCAL synchronous_commit TO off")
            try:
                yield tx
                tx.execute("COMMIT")
            except BaseException:
                tx.rollback()
                raise
        finally:
            tx.release()

    @contextlib.contextmanager
    def read(self) -> Iterator[_PgTransaction]:
        tx = _PgTransaction(self)
        try:
            yield tx
        finally:
            tx.release()

    # -- faults -------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` with the URL's password replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def classify(self, problem: Exception) -> Exception:
        """The connector error for a driver or pool error (itself when unexpected)."""
        reason = self.scrub(" ".join(str(problem).split()) or type(problem).__name__)
        state = getattr(problem, "sqlstate", None) or ""
        where = f"PostgreSQL at {self.location}"
        if state in _AUTH_CODES or "authentication failed" in reason:
            return ConfigurationError(
                f"{where} refused the login: {reason}",
                hint="check the user and password of --database / LSQ_DATABASE_URL",
            )
        if state == _NO_DATABASE or ("database" in reason and "does not exist" in reason):
            return ConfigurationError(
                f"{where}: {reason}", hint="create the database, then run `lsq db upgrade`"
            )
        if (
            isinstance(problem, PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError)
            or state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_CODES
        ):
            return StorageUnavailable(f"{where} is unavailable: {reason}",
                                      hint="nothing was written; retry")
        if isinstance(problem, psycopg.Error):
            problem.args = (self.scrub(str(problem)),)
        return problem


class _PgTransaction:
    """Statements on one borrowed connection; driver errors come out classified."""

    dialect = POSTGRESQL_DIALECT
    __slots__ = ("_conn", "_db", "_fresh")

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._conn: psycopg.Connection[Any] | None = db._getconn()
        self._fresh = True  # nothing ran on this connection yet: a dropped one may be replaced

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        while True:
            conn = self._conn
            assert conn is not None
            try:
                cursor = conn.execute(to_psycopg(sql), params) if params else conn.execute(sql)
                rows = cursor.fetchall() if cursor.description is not None else []
                self._fresh = False
                return Rows(rows, cursor.rowcount)
            except psycopg.Error as problem:
                if self._fresh and conn.broken:
                    self._fresh = False
                    self.release()
                    self._conn = self._db._getconn(check=True)
                    continue
                raise self._db.classify(problem) from None

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        assert self._conn is not None
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(to_psycopg(sql), list(params))
        except psycopg.Error as problem:
            raise self._db.classify(problem) from None
        self._fresh = False

    def execute_script(self, sql: str) -> None:
        self.execute(sql)

    def rollback(self) -> None:
        conn = self._conn
        if conn is not None and not conn.broken:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._db._putconn(conn)


__all__ = ["DEFAULT_POOL_SIZE", "INSTALL_HINT", "PostgresDatabase", "to_psycopg"]
