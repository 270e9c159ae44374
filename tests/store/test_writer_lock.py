"""The SQLite writer lock (``<file>-writer``): one writer at a time across processes, handed
over as soon as it is released, re-entrant in a thread, owner-only."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

from runtime.store.sqlite_backend import SQLiteDatabase

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def database(tmp_path: Path) -> SQLiteDatabase:
    db = SQLiteDatabase(tmp_path / "x.sqlite3", busy_timeout=30.0)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE t (v TEXT)")
    return db


def test_a_writer_waits_for_another_process_holding_the_lock_and_goes_on_at_its_release(
    tmp_path: Path,
) -> None:
    db = database(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "x.sqlite3-writer"),
                               "0.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    started = time.monotonic()
    with db.transaction() as tx:
        tx.execute("INSERT INTO t VALUES ('after')")
    waited = time.monotonic() - started
    holder.wait(10)
    assert 0.3 < waited < 5.0
    assert db.query("SELECT v FROM t") == [("after",)]


def test_threads_take_turns_and_a_nested_transaction_does_not_deadlock_on_it(
    tmp_path: Path,
) -> None:
    db = database(tmp_path)
    inside, overlaps = [0], []
    lock = threading.Lock()

    def write(n: int) -> None:
        for _ in range(20):
            with db.transaction() as tx:
                with lock:
                    inside[0] += 1
                    overlaps.append(inside[0])
                tx.execute("INSERT INTO t VALUES (?)", (str(n),))
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert max(overlaps) == 1
    assert db.query("SELECT COUNT(*) FROM t") == [(80,)]
    writer = db._writer  # re-entrant in one thread: the inner one fails on SQLite, not here
    with writer, writer:
        pass


def test_the_lock_file_is_owner_only(tmp_path: Path) -> None:
    database(tmp_path)
    mode = (tmp_path / "x.sqlite3-writer").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
