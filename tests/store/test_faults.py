"""Storage faults are one classified, retriable error, and the same store works again once the
fault clears: disk full, a lock held past the busy timeout, a read-only database, PostgreSQL
unreachable or dropping its connections. The receiver answers 503 meanwhile (LeadSquared
retries) and 200 after."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from runtime.engine.receiver import SECRET_HEADER, WebhookReceiver, hook_path
from runtime.errors import StorageUnavailable
from runtime.store.inbox import Inbox
from runtime.store.sqlite_backend import SQLiteDatabase
from runtime.store.state import StateStore, Subscription, instance_id
from runtime.store.storage import Storage, open_state, open_storage
from tests.postgres import admin_url, fresh_database

INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
SECRET = "fault-test-secret-0123456789"


@pytest.fixture
def one_connection_store(tmp_path: Path) -> Iterator[StateStore]:
    """A store whose pool has one connection, so a PRAGMA set on it applies to every call."""
    db = SQLiteDatabase(tmp_path / "state.sqlite3", busy_timeout=0.5, pool_size=1)
    with StateStore(database=db, owns_database=True) as store:
        store.save_subscription(Subscription(INSTANCE, "wh", SECRET))
        yield store


def pragma(store: StateStore, statement: str) -> None:
    with store.db.read() as tx:
        tx.execute(statement)


def deliver(client: Client, n: int) -> int:
    body = json.dumps({"ProspectID": f"lead-{n}", "Padding": "x" * 2000})
    return client.post(hook_path(INSTANCE), data=body, content_type="application/json",
                       headers={SECRET_HEADER: SECRET}).status_code


def test_disk_full_is_unavailable_the_receiver_answers_503_and_recovers(
    one_connection_store: StateStore,
) -> None:
    store = one_connection_store
    inbox = Inbox(store)
    client = Client(WebhookReceiver(store, inbox=inbox))
    pages = store.db.query("PRAGMA page_count")[0][0]
    pragma(store, f"PRAGMA max_page_count = {pages + 2}")  # the disk has two pages left
    answers = [deliver(client, n) for n in range(20)]
    assert 503 in answers and answers.index(503) > 0
    refused = answers.index(503)
    with pytest.raises(StorageUnavailable, match="disk is full") as raised:
        inbox.accept(INSTANCE, "one-more", {"x": "y" * 50_000})
    assert raised.value.retriable and "\n" not in str(raised.value)
    assert not store.seen(INSTANCE, "one-more")  # nothing of the failed delivery was kept

    pragma(store, "PRAGMA max_page_count = 1073741823")  # space freed: the same objects work
    assert deliver(client, refused) == 200
    assert inbox.accept(INSTANCE, "one-more", {"x": "y"})
    assert inbox.counts()["pending"] == refused + 2


def test_a_lock_held_past_the_busy_timeout_is_unavailable_then_clears(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateStore(path, busy_timeout=0.2) as store:
        inbox = Inbox(store)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        with pytest.raises(StorageUnavailable, match="write lock"):
            inbox.accept(INSTANCE, "k", {})
        assert time.monotonic() - began < 5
        holder.execute("ROLLBACK")
        holder.close()
        assert inbox.accept(INSTANCE, "k", {}) and inbox.counts()["pending"] == 1


def test_a_read_only_database_is_unavailable_then_clears(
    one_connection_store: StateStore,
) -> None:
    store = one_connection_store
    pragma(store, "PRAGMA query_only = ON")
    with pytest.raises(StorageUnavailable, match="read-only"):
        store.put_cursor(INSTANCE, {"n": 1})
    assert store.get_cursor(INSTANCE) is None  # reads still work
    pragma(store, "PRAGMA query_only = OFF")
    assert store.put_cursor(INSTANCE, {"n": 1}) == 1


def test_an_exhausted_pool_is_unavailable_not_a_hang(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "s.sqlite3", busy_timeout=0.2, pool_size=1)
    with (
        StateStore(database=db, owns_database=True) as store,
        store.db.read(),
        pytest.raises(StorageUnavailable, match="connections stayed busy"),
    ):
        store.get_cursor(INSTANCE)


def test_unreachable_postgresql_is_unavailable_and_never_shows_the_password() -> None:
    url = "postgresql://lsq:Sup3rS3cretPw@127.0.0.1:1/lsq"
    began = time.monotonic()
    with pytest.raises(StorageUnavailable) as raised:
        open_state(url)
    assert time.monotonic() - began < 15
    message = str(raised.value)
    assert "Sup3rS3cretPw" not in message and "postgresql://lsq:***@127.0.0.1:1/lsq" in message
    assert "\n" not in message and raised.value.retriable


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database(upgraded=True) as url:
        yield url


@pytest.fixture
def pg_storage(pg_url: str) -> Iterator[Storage]:
    with open_storage(pg_url) as storage:
        yield storage


def terminate_connections(url: str) -> int:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


def test_postgresql_dropping_its_connections_is_survived(pg_storage: Storage, pg_url: str) -> None:
    inbox = pg_storage.inbox()
    assert inbox.accept(INSTANCE, "before", {})
    assert terminate_connections(pg_url) >= 1
    # Pooled connections are dead: the first statement of each call finds out, takes a new
    # connection and runs (nothing had run on the dead one).
    assert inbox.accept(INSTANCE, "after", {}) and pg_storage.state.seen(INSTANCE, "after")
    with pytest.raises(StorageUnavailable), pg_storage.state.batch() as batch:
        batch.record_key(INSTANCE, "mid")
        terminate_connections(pg_url)  # dies inside a transaction: not retried
        batch.record_key(INSTANCE, "mid-2")
    assert not pg_storage.state.seen(INSTANCE, "mid")
    assert inbox.accept(INSTANCE, "later", {}) and inbox.counts()["pending"] == 3
