"""The inbox's commit discipline for throughput (issue 14), on both backends where it applies:
concurrent deliveries share one durable commit (a bad one fails alone), claims and settles do
not wait for the disk, a worker is woken by a delivery, events of one record run in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import StorageUnavailable
from runtime.store.database import Database, Transaction
from runtime.store.group_commit import GroupCommit
from runtime.store.inbox import record_of
from runtime.store.sqlite_backend import SQLiteDatabase
from runtime.store.storage import Storage

INSTANCE = "new_lead-0123456789abcdef0123"
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class CountingDatabase:
    """Wraps a database: counts transactions by ``durable`` and can slow each commit."""

    def __init__(self, db: Database, commit_delay: float = 0.0) -> None:
        self.db, self.commit_delay = db, commit_delay
        self.transactions: list[bool | None] = []

    @contextmanager
    def transaction(self, *, durable: bool | None = None) -> Iterator[Transaction]:
        self.transactions.append(durable)
        with self.db.transaction(durable=durable) as tx:
            yield tx
            time.sleep(self.commit_delay)  # an fsync that takes a while: others queue up

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def insert(value: str) -> Callable[[Transaction], str]:
    def write(tx: Transaction) -> str:
        tx.execute("INSERT INTO t (v) VALUES (?)", (value,))
        return value
    return write


@pytest.fixture
def table(tmp_path: Path) -> Iterator[SQLiteDatabase]:
    db = SQLiteDatabase(tmp_path / "g.sqlite3", busy_timeout=5.0)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (v TEXT UNIQUE NOT NULL)")
    yield db
    db.close()


def test_concurrent_writes_share_durable_commits_and_each_returns_its_own_result(
    table: SQLiteDatabase,
) -> None:
    counting = CountingDatabase(table, commit_delay=0.02)
    group = GroupCommit(counting)  # type: ignore[arg-type]
    values = [f"v{n}" for n in range(24)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda v: group.run(insert(v)), values))
    assert results == values
    assert sorted(r[0] for r in table.query("SELECT v FROM t")) == sorted(values)
    assert set(counting.transactions) == {True}  # every commit durable
    assert len(counting.transactions) < len(values)  # fewer commits than writes


@pytest.mark.parametrize(
    ("values", "failures"),
    [(["a", "b", "a", "c"], 1), (["x", "x"], 1), (["p", "q", "p", "p", "r"], 2)],
    ids=["a-duplicate-in-a-group", "two-of-one-value", "three-of-one-value"],
)
def test_a_failing_write_fails_alone(
    table: SQLiteDatabase, values: list[str], failures: int
) -> None:
    counting = CountingDatabase(table, commit_delay=0.05)
    group = GroupCommit(counting)  # type: ignore[arg-type]
    outcomes: dict[int, Any] = {}
    gate = threading.Barrier(len(values))

    def write(index: int) -> None:
        gate.wait()
        time.sleep(0.01 * index)  # in order, within one commit's delay
        try:
            outcomes[index] = group.run(insert(values[index]))
        except Exception as problem:
            outcomes[index] = problem

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(values))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [n for n, outcome in outcomes.items() if isinstance(outcome, Exception)]
    assert len(failed) == failures  # only the duplicates (whichever came second) failed
    assert all(outcomes[n] == values[n] for n in outcomes if n not in failed)
    assert sorted(r[0] for r in table.query("SELECT v FROM t")) == sorted(set(values))


def test_a_storage_fault_reaches_every_writer(table: SQLiteDatabase) -> None:
    class Full:
        @contextmanager
        def transaction(self, *, durable: bool | None = None) -> Iterator[Transaction]:
            raise StorageUnavailable("the disk is full")
            yield  # pragma: no cover

    group = GroupCommit(Full())  # type: ignore[arg-type]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(group.run, insert(f"v{n}")) for n in range(8)]
    assert all(isinstance(f.exception(), StorageUnavailable) for f in futures)


@pytest.mark.parametrize(
    ("file_level", "durable", "inside"),
    [("FULL", None, "FULL"), ("FULL", True, "FULL"), ("FULL", False, "NORMAL"),
     ("NORMAL", True, "FULL"), ("NORMAL", False, "NORMAL"), ("NORMAL", None, "NORMAL")],
)
def test_sqlite_commit_level_follows_durable(
    tmp_path: Path, file_level: str, durable: bool | None, inside: str
) -> None:
    db = SQLiteDatabase(tmp_path / "s.sqlite3", busy_timeout=5.0, synchronous=file_level)
    with db.transaction(durable=durable) as tx:
        assert SYNCHRONOUS[tx.execute("PRAGMA synchronous").scalar()] == inside
    with db.read() as tx:  # the connection is back at the file's level
        assert SYNCHRONOUS[tx.execute("PRAGMA synchronous").scalar()] == file_level
    db.close()


def test_claims_and_settles_do_not_wait_for_the_disk_deliveries_do(storage: Storage) -> None:
    counting = CountingDatabase(storage.state.db)
    storage.state.db = counting  # type: ignore[assignment]
    inbox = storage.inbox()
    inbox.accept(INSTANCE, "lead-1", {"ProspectID": "lead-1"})
    assert counting.transactions == [True]
    item = inbox.claim_next(INSTANCE)
    assert item is not None
    assert inbox.keep_claim(item)  # fresh: nothing written
    inbox.mark_done(item)
    assert counting.transactions == [True, False, False]


def test_a_delivery_wakes_a_waiting_worker(storage: Storage) -> None:
    inbox = storage.inbox()
    woken: list[float] = []

    def worker() -> None:
        started = time.monotonic()
        if inbox.wait_for_work(5.0):
            woken.append(time.monotonic() - started)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.05)
    inbox.accept(INSTANCE, "lead-1", {"ProspectID": "lead-1"})
    thread.join()
    assert woken and woken[0] < 1.0
    assert not inbox.wait_for_work(0.01)  # the signal was consumed; a duplicate rings nothing
    inbox.accept(INSTANCE, "lead-1", {"ProspectID": "lead-1"})
    assert not inbox.wait_for_work(0.01)


@pytest.mark.parametrize(
    ("key", "record"),
    [("lead-1", "lead-1"), ("lead-1@2024-05-01 10:00:00", "lead-1"),
     ("task-9@", "task-9"), ("sha256:ab12", "sha256:ab12")],
)
def test_record_of(key: str, record: str) -> None:
    assert record_of(key) == record


def test_events_of_one_record_are_claimed_in_order_never_two_at_once(storage: Storage) -> None:
    inbox = storage.inbox()
    for key in ("lead-1@t1", "lead-1@t2", "lead-2@t1", "lead-1@t3"):
        inbox.accept(INSTANCE, key, {"key": key})
    first = inbox.claim_next(INSTANCE)
    second = inbox.claim_next(INSTANCE)  # lead-1@t2 waits for lead-1@t1: lead-2 goes first
    assert (first.event_key, second.event_key) == ("lead-1@t1", "lead-2@t1")  # type: ignore[union-attr]
    assert inbox.claim_next(INSTANCE) is None  # only lead-1's events are left
    inbox.mark_done(first)  # type: ignore[arg-type]
    assert inbox.wait_for_work(0.01)  # a worker held back by lead-1 is woken
    third = inbox.claim_next(INSTANCE)
    assert third is not None and third.event_key == "lead-1@t2"
    inbox.mark_done(second)  # type: ignore[arg-type]
    inbox.mark_done(third)
    fourth = inbox.claim_next(INSTANCE)
    assert fourth is not None and fourth.event_key == "lead-1@t3"


@pytest.mark.parametrize("durable", [True, False])
def test_a_lone_write_commits_as_durable_as_it_asks(table: SQLiteDatabase, durable: bool) -> None:
    counting = CountingDatabase(table)
    assert GroupCommit(counting).run(insert("v"), durable=durable) == "v"  # type: ignore[arg-type]
    assert counting.transactions == [durable]


def test_history_writes_of_concurrent_runs_share_commits(storage: Storage) -> None:
    counting = CountingDatabase(storage.history.db, commit_delay=0.02)
    storage.history.db = counting  # type: ignore[assignment]
    storage.history.__dict__.pop("_writes", None)

    def one_run(number: int) -> None:
        run_id = storage.history.start_run(workflow="w", trigger_key="new_lead", origin="webhook",
                                           event={}, instance_id=INSTANCE, event_key=f"k{number}")
        assert run_id is not None
        step = {"step_id": "s", "action": "send_email", "status": "running"}
        storage.history.save_steps(run_id, [(0, step)], durable=True)
        storage.history.finish_run(run_id, status="succeeded", finished_at="t", duration_ms=1,
                                   steps=[(0, {**step, "status": "succeeded"})])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one_run, range(12)))
    assert storage.history.count() == 12
    assert len(counting.transactions) < 3 * 12
