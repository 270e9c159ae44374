"""The store on both backends: each test using ``backend`` runs on SQLite and on PostgreSQL.

``database`` is an upgraded, empty database of the backend (a SQLite file, or a PostgreSQL
database made for this test and dropped after it); ``storage`` opens state and history on it
with a settable clock, as ``lsq`` would (``open_storage``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.store.database import Database
from runtime.store.sqlite_backend import SQLiteDatabase
from runtime.store.storage import Storage, open_database, open_storage
from tests.postgres import fresh_database
from tests.triggers_infra.helpers import T0, FakeClock

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def database_url(backend: str) -> Iterator[str | None]:
    """None for SQLite; a fresh, upgraded PostgreSQL database's URL otherwise."""
    if backend == "sqlite":
        yield None
        return
    with fresh_database(upgraded=True) as url:
        yield url


@pytest.fixture
def storage(database_url: str | None, tmp_path: Path, clock: FakeClock) -> Iterator[Storage]:
    paths = {} if database_url else {"state_path": tmp_path / "state.sqlite3",
                                     "history_path": tmp_path / "history.sqlite3"}
    with open_storage(database_url, clock=clock, environ={}, **paths) as opened:
        yield opened


@pytest.fixture
def database(database_url: str | None, tmp_path: Path) -> Iterator[Database]:
    """A raw pool on the backend (state schema applied on PostgreSQL, nothing on SQLite)."""
    db: Database = (
        open_database(database_url) if database_url
        else SQLiteDatabase(tmp_path / "raw.sqlite3", busy_timeout=5.0)
    )
    try:
        yield db
    finally:
        db.close()
