"""PostgreSQL for tests: each test gets a database of its own, created and dropped around it.

An upgraded database is copied from a template made once per test session (the migrations
run once, not once per test), one database ahead on a background thread; databases are
dropped on that thread too, and the template when the session ends.

The server is ``$LSQ_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/
postgres``, a maintenance database the test user may create databases from). When it cannot
be reached (or psycopg is not installed) the PostgreSQL tests are left out with one line in
the summary (see ``tests/conftest.py``), unless ``LSQ_REQUIRE_POSTGRES=1`` (CI): then they run
and fail.

A test needs PostgreSQL when it uses a fixture of :data:`POSTGRES_FIXTURES` or runs with the
``backend`` parameter ``postgresql``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL_ENV = "LSQ_TEST_POSTGRES_URL"
REQUIRE_ENV = "LSQ_REQUIRE_POSTGRES"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_FIXTURES = frozenset({"pg_url", "empty_postgres"})


def needs_postgres(item: pytest.Item) -> bool:
    """Whether a collected test needs the PostgreSQL server."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgresql":
        return True
    return bool(POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())))


def postgres_required() -> bool:
    """CI: PostgreSQL tests must run (and fail when the server cannot be reached)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV, "").strip() or DEFAULT_ADMIN_URL


@functools.cache
def unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests (None: it can)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    try:
        psycopg.connect(admin_url(), connect_timeout=3).close()
    except psycopg.Error as problem:
        first = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
        return f"no PostgreSQL at {ADMIN_URL_ENV}={admin_url()} ({first})"
    return None


def require_postgres() -> str:
    """The admin URL; skips the test (fails it with LSQ_REQUIRE_POSTGRES=1) when unusable."""
    reason = unavailable()
    if reason is not None:
        message = f"PostgreSQL tests: {reason}; set {REQUIRE_ENV}=1 to fail instead of skip"
        if postgres_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return admin_url()


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    parts = urlsplit(admin_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(statement)


class _Maker:
    """Creates and drops test databases on one background thread, a database ahead: creating
    one costs the server 0.5 to 1 s of mostly disk waits, which then overlap the tests."""

    def __init__(self) -> None:
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-test-dbs")
        self.template = self._create(None)  # at the current schema version, copied per test
        self.spare: Future[str] | None = None

    @staticmethod
    def _create(template: str | None) -> str:
        from runtime.store import schema
        from runtime.store.storage import open_database

        name = f"lsq_test_{uuid.uuid4().hex[:16]}"
        _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        if template is None:
            db = open_database(database_url(name))
            try:
                schema.upgrade(db, schema.STATE)
            finally:
                db.close()
        return name

    def take(self) -> str:
        """An upgraded database of its own; the next one starts being made at once."""
        spare = self.spare or self.worker.submit(self._create, self.template)
        self.spare = self.worker.submit(self._create, self.template)
        return spare.result()

    def drop(self, name: str) -> None:
        self.worker.submit(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop the spare and the template (at the end of the test session)."""
        if self.spare is not None:
            self.drop(self.spare.result())
        self.drop(self.template)
        self.worker.shutdown(wait=True)


_makers: list[_Maker] = []


def _maker() -> _Maker:
    if not _makers:
        _makers.append(_Maker())
    return _makers[0]


def finish() -> None:
    """Drop what the session's databases left (``pytest_sessionfinish`` calls this)."""
    while _makers:
        _makers.pop().close()


@contextlib.contextmanager
def fresh_database(*, upgraded: bool = False) -> Iterator[str]:
    """The URL of a new database (empty, or at the current schema version), dropped (with its
    connections) afterwards."""
    require_postgres()
    if upgraded:
        name = _maker().take()
    else:
        name = f"lsq_test_{uuid.uuid4().hex[:16]}"
        _admin(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        _maker().drop(name)
