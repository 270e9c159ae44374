"""Storage faults under `lsq serve`'s service: disk full, read-only and locked databases.

While a fault lasts the receiver answers 503 (LeadSquared retries) and never anything but 200
or 503, the worker backs off (alive, no item lost or failed); when the fault clears, the
service resumes by itself: every delivery, re-sent as LeadSquared would, runs exactly once.

The faults, each real to SQLite:

- ``disk-full-tmpfs``: state and history on a 32 MiB tmpfs (room for SQLite's 4 MiB WAL)
  filled up with a file, then the file deleted (needs root to mount; skipped otherwise);
- ``disk-full-pages``: SQLite's own limit, ``PRAGMA max_page_count``, set to the file's size on
  every connection of the state file: the engine answers SQLITE_FULL exactly as on a full disk
  (runs everywhere);
- ``read-only``: ``PRAGMA query_only`` on every connection of the state file: the engine
  answers SQLITE_READONLY (a read-only remount cannot be made while the file is open);
- ``locked``: another connection holds the state file's write lock (``BEGIN IMMEDIATE``) past
  the store's busy timeout (0.2 s here), then lets go.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.engine.receiver import SECRET_HEADER
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.sqlite_backend import SQLiteDatabase

from ._service import HOOK_SECRET, served, wait_until
from .test_crashes import create_leads

PADDING = "x" * 3000  # every delivery needs new pages
MOST_WHILE_FAULTY = 400


class Fault:
    """Where the state lives, and how the fault begins and ends."""

    name = ""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path, self.monkeypatch = tmp_path, monkeypatch
        self.folder = tmp_path

    def prepare(self) -> None: ...

    def begin(self) -> None: ...

    def end(self) -> None: ...

    def cleanup(self) -> None: ...


class TmpfsFault(Fault):
    def prepare(self) -> None:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        self.folder = self.tmp_path / "small"
        self.folder.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs",
                                  str(self.folder)], capture_output=True, check=False)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")

    def cleanup(self) -> None:
        subprocess.run(["umount", "-l", str(self.folder)], check=False)


class DiskFullTmpfs(TmpfsFault):
    name = "disk-full-tmpfs"

    def begin(self) -> None:
        with contextlib.suppress(OSError), open(self.folder / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()

    def end(self) -> None:
        (self.folder / "filler").unlink()


class PragmaFault(Fault):
    """A per-connection SQLite setting on every connection the state file lends out."""

    faulty = ""
    healthy = ""

    def prepare(self) -> None:
        self.on = False
        state = self.tmp_path / "state.sqlite3"
        real_take = SQLiteDatabase._take

        def take(db: SQLiteDatabase) -> sqlite3.Connection:
            conn = real_take(db)
            if db.path == state:
                conn.execute(self.faulty if self.on else self.healthy)
            return conn

        self.monkeypatch.setattr(SQLiteDatabase, "_take", take)

    def begin(self) -> None:
        self.on = True

    def end(self) -> None:
        self.on = False


class DiskFullPages(PragmaFault):
    name = "disk-full-pages"
    faulty = "PRAGMA max_page_count = 1"  # SQLite keeps the current size as the limit
    healthy = "PRAGMA max_page_count = 1073741823"


class ReadOnly(PragmaFault):
    name = "read-only"
    faulty = "PRAGMA query_only = 1"  # writes answer SQLITE_READONLY
    healthy = "PRAGMA query_only = 0"


class Locked(Fault):
    name = "locked"

    def begin(self) -> None:
        self.holder = sqlite3.connect(self.tmp_path / "state.sqlite3", isolation_level=None)
        self.holder.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        self.holder.execute("ROLLBACK")
        self.holder.close()


FAULTS = [DiskFullTmpfs, DiskFullPages, ReadOnly, Locked]


@pytest.mark.parametrize("kind", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_storage_fault_gives_503s_and_the_service_resumes_by_itself(
    tmp_path: Path, service_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
    kind: type[Fault],
) -> None:
    fault = kind(tmp_path, monkeypatch)
    fault.prepare()
    leads = [{**lead, "Notes": PADDING} for lead in create_leads(service_sandbox, 40)]
    try:
        with served(tmp_path, service_sandbox, folder=fault.folder, busy_timeout=0.2) as target:
            service = target.service
            service.start()
            hook = f"{service.url}/hooks/{target.binding.instance}"
            inbox = Inbox(target.store)
            acked: set[str] = set()
            answers: list[int] = []

            def deliver(lead: dict[str, Any]) -> int:
                status = requests.post(hook, json=lead, headers={SECRET_HEADER: HOOK_SECRET},
                                       timeout=10).status_code
                if status == 200:
                    acked.add(lead["ProspectID"])
                return status

            for lead in leads[:5]:
                assert deliver(lead) == 200
            wait_until(lambda: inbox.counts()["done"] == 5)

            fault.begin()
            try:
                for lead in leads[5:]:
                    answers.append(deliver(lead))
                    if answers.count(503) >= 5:
                        break
                during = requests.get(f"{service.url}/healthz", timeout=5)
            finally:
                fault.end()

            assert set(answers) <= {200, 503}, answers
            assert 503 in answers
            assert not service.supervisor.dead()
            assert during.status_code == 503  # the receiver's fault (and the worker's)
            assert during.json()["storage"].startswith("unavailable: ")
            # LeadSquared retries every delivery that was not answered 200
            for lead in leads:
                if lead["ProspectID"] not in acked:
                    wait_until(lambda lead=lead: deliver(lead) == 200, timeout=10)
            wait_until(lambda: inbox.counts()["done"] == len(leads))
            wait_until(lambda: service.storage_fault is None)
            assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
            runs = target.history.list_runs(limit=1000)
            counts = inbox.counts()
    finally:
        fault.cleanup()

    assert counts == {"pending": 0, "processing": 0, "done": len(leads), "failed": 0}
    keys = sorted(run["event_key"] for run in runs)
    assert keys == sorted(f"{lead['ProspectID']}#0" for lead in leads)  # each exactly once
    assert {run["status"] for run in runs} == {"succeeded"}

