"""Versioned migrations: files made before them are adopted without data loss, SQLite upgrades
itself, PostgreSQL refuses with one line until ``lsq db upgrade``, a newer schema is refused,
and the migration files ship in the wheel."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from runtime.errors import ConfigurationError
from runtime.store import schema
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.leases import Leases
from runtime.store.state import StateStore
from runtime.store.storage import open_database, open_storage
from tests.postgres import fresh_database

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "new_lead-" + "a" * 20

# The schemas exactly as lsq wrote them before versioned migrations (state: PRAGMA
# user_version = 1; history: no version at all).
OLD_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    instance_id TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dedupe (
    instance_id TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, event_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_type TEXT,
    raw_body     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id   TEXT NOT NULL,
    event_key     TEXT NOT NULL,
    delivery_id   INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
    received_at   TEXT NOT NULL,
    content_type  TEXT,
    payload       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    claim_token   TEXT,
    claimed_until TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_status ON inbox (status, id);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox (instance_id, status);
CREATE TABLE IF NOT EXISTS subscriptions (
    instance_id  TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL,
    secret       TEXT NOT NULL,
    receiver_url TEXT NOT NULL,
    event_code   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    instance_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, member_id)
) WITHOUT ROWID;
"""
OLD_TRIGGER_CONFIGS = (
    "CREATE TABLE IF NOT EXISTS webhook_triggers ("
    "instance_id TEXT PRIMARY KEY, trigger_key TEXT NOT NULL, config TEXT NOT NULL, "
    "account TEXT NOT NULL)"
)
OLD_HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow    TEXT NOT NULL,
    source      TEXT,
    trigger_key TEXT NOT NULL,
    origin      TEXT NOT NULL,
    instance_id TEXT,
    event_key   TEXT,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    event       TEXT,
    error       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_once ON runs (workflow, instance_id, event_key)
    WHERE event_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, id);
CREATE TABLE IF NOT EXISTS steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    step_id     TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    input       TEXT,
    output      TEXT,
    error       TEXT,
    PRIMARY KEY (run_id, position)
);
"""


def old_file(path: Path, script: str, *statements: str, user_version: int = 0) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {user_version}")
    conn.close()


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    conn.close()
    return [row[0] for row in rows]


def test_a_state_file_of_the_previous_code_is_adopted_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    old_file(
        path, OLD_STATE_SCHEMA, OLD_TRIGGER_CONFIGS,
        f"INSERT INTO cursors VALUES ('{INSTANCE}', '{{\"kind\":\"time\"}}', 7, 't')",
        f"INSERT INTO dedupe VALUES ('{INSTANCE}', 'k1', '2024-05-01T09:00:00.000000Z')",
        f"INSERT INTO deliveries (instance_id, received_at, content_type, raw_body) "
        f"VALUES ('{INSTANCE}', 't', 'application/json', x'7b7d')",
        f"INSERT INTO inbox (instance_id, event_key, delivery_id, received_at, payload, status, "
        f"updated_at) VALUES ('{INSTANCE}', 'k1', 1, 't', '{{\"a\":1}}', 'pending', 't')",
        f"INSERT INTO subscriptions VALUES ('{INSTANCE}', 'wh', 'sekrit', 'u', '3', 't')",
        f"INSERT INTO snapshot VALUES ('{INSTANCE}', 'm1', 1)",
        f"INSERT INTO webhook_triggers VALUES ('{INSTANCE}', 'new_lead', '{{}}', 'acct')",
        user_version=1,
    )
    with StateStore(path) as store:
        assert (store.get_cursor(INSTANCE).value, store.get_cursor(INSTANCE).version) == (
            {"kind": "time"}, 7)
        assert store.seen(INSTANCE, "k1") and store.known_members(INSTANCE, ["m1"]) == {"m1"}
        [item] = Inbox(store).items()
        assert item.payload == {"a": 1} and Inbox(store).raw_body(item) == b"{}"
        assert store.get_subscription(INSTANCE).secret == "sekrit"
        assert store.trigger_configs()[INSTANCE]["account"] == "acct"
        assert Leases(store).holder("x") is None  # the new table exists
    assert versions(path) == [1, 2]


def test_a_history_file_of_the_previous_code_is_adopted_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old_file(
        path, OLD_HISTORY_SCHEMA,
        "INSERT INTO runs (workflow, trigger_key, origin, instance_id, event_key, status, "
        f"started_at) VALUES ('w', 'new_lead', 'webhook', '{INSTANCE}', 'k#0', 'succeeded', 't')",
        "INSERT INTO steps (run_id, position, step_id, action, status) "
        "VALUES (1, 0, 's', 'a', 'succeeded')",
    )
    with HistoryStore(path) as history:
        assert history.has_run("w", INSTANCE, "k#0")
        assert history.get_run(1)["steps"][0]["step_id"] == "s"
    assert versions(path) == [1, 2, 3, 4]


def test_status_reads_and_upgrade_applies_once(tmp_path: Path) -> None:
    env = {"LSQ_STATE_DB": str(tmp_path / "s.sqlite3"), "LSQ_HISTORY_DB": str(tmp_path / "h.db")}
    before = open_storage_status(env)
    assert before == [("state", 0, 2), ("history", 0, 4)] and not list(tmp_path.iterdir())
    assert [applied for _, _, applied in upgrade(env)] == [
        ["0001_initial", "0002_leases_and_retention"],
        ["0001_initial", "0002_retention", "0003_retries", "0004_no_status_index"]]
    assert [applied for _, _, applied in upgrade(env)] == [[], []]
    assert open_storage_status(env) == [("state", 2, 2), ("history", 4, 4)]


def open_storage_status(env: dict[str, str]) -> list[tuple[str, int, int]]:
    from runtime.store.storage import schema_status

    return [(what, s.found, s.needed) for what, s in schema_status(None, env)]


def upgrade(env: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    from runtime.store.storage import upgrade_schema

    return upgrade_schema(None, env)


def test_a_file_from_a_newer_lsq_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    StateStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 't')")
    conn.close()
    with pytest.raises(ConfigurationError, match="schema version 99, newer than this lsq"):
        StateStore(path)


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def test_postgresql_is_refused_until_upgraded_then_works(empty_postgres: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        open_storage(empty_postgres)
    message = str(raised.value)
    assert "\n" not in message and "schema version 0; this lsq needs 4" in message
    assert "run `lsq db upgrade`" in message
    db = open_database(empty_postgres)
    try:
        assert [m.label for m in schema.upgrade(db, schema.STATE)] == [
            "0001_initial", "0002_leases_and_retention", "0003_run_retries",
            "0004_rate_budgets"]
        assert schema.upgrade(db, schema.HISTORY) == []  # one set for state and history
        assert schema.status(db, schema.STATE).current
    finally:
        db.close()
    with open_storage(empty_postgres) as storage:
        assert Inbox(storage.state).accept(INSTANCE, "k", {}) and storage.history.count() == 0


def test_concurrent_postgresql_upgrades_apply_each_migration_once(empty_postgres: str) -> None:
    from tests.store.test_contract import in_threads

    def upgrade_once(_: int) -> list[str]:
        db = open_database(empty_postgres)
        try:
            return [m.label for m in schema.upgrade(db, schema.STATE)]
        finally:
            db.close()

    applied = in_threads(3, upgrade_once)
    assert sorted(applied, key=len) == [
        [], [], ["0001_initial", "0002_leases_and_retention", "0003_run_retries",
            "0004_rate_budgets"]]


def test_every_migration_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["runtime.store"]
    package = ROOT / "runtime" / "store"
    files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.sql"))
    assert files and all(any(fnmatch(name, glob) for glob in globs) for name in files)
    for folder in ("sqlite/state", "sqlite/history", "postgres"):
        assert [m.version for m in schema.migrations(folder)] == list(
            range(1, len(schema.migrations(folder)) + 1))
