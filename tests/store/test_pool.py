"""Connections never leak: any number of short-lived threads (a thread-per-request server)
doing store operations leave the process's open descriptors flat, on both backends."""

from __future__ import annotations

import os
import threading

from runtime.store.state import Subscription
from runtime.store.storage import Storage

INSTANCE = "new_lead-" + "b" * 20
WAVES, PER_WAVE = 12, 25  # 300 threads, 25 at a time (more than any pool holds)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def request_like(storage: Storage, n: int) -> None:
    """What one receiver request and one worker step do: read, write, read history."""
    storage.state.get_subscription(INSTANCE)
    storage.inbox().accept(INSTANCE, f"k{n}", {"n": n})
    storage.history.list_runs(limit=1)


def wave(storage: Storage, first: int) -> None:
    threads = [threading.Thread(target=request_like, args=(storage, first + n))
               for n in range(PER_WAVE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_short_lived_threads_leave_descriptors_flat(storage: Storage) -> None:
    storage.state.save_subscription(Subscription(INSTANCE, "wh", "secret"))
    databases = list({id(db): db for db in (storage.state.db, storage.history.db)}.values())

    def connections() -> int:
        return sum(db.open_connections for db in databases)

    wave(storage, 0)  # opens pooled connections
    warmed_fds, warmed_connections = open_fds(), connections()
    for number in range(1, WAVES):
        wave(storage, number * PER_WAVE)
    # Descriptors grow only while a pool grows to its bound (a SQLite connection holds at
    # most the file and its WAL; a PostgreSQL one a socket), never with the threads.
    assert open_fds() - warmed_fds <= 2 * (connections() - warmed_connections)
    assert all(db.open_connections <= db.pool_size for db in databases)
    assert storage.inbox().counts()["pending"] == WAVES * PER_WAVE
