"""One rate budget per account across processes, kept in PostgreSQL (runtime/store/rate_budget).

The budget itself (threads of one process, on a short window), then separate processes on the
sandbox's real 25 calls per 5 s: 4 processes use at least 95% of the budget and draw no 429
(11 s; with ``LSQ_DISTRIBUTED_FULL=1``, as CI runs it: the issue's 60 s), and a 429 that one
of them draws pauses all four.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from runtime.api.client import WHOAMI
from runtime.api.governor import GOVERNORS, account_id, headroom, with_headroom
from runtime.errors import ConfigurationError
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from runtime.store.rate_budget import SharedRateBudget, shared_budgets
from runtime.store.storage import open_database
from tests.distributed.conftest import full

REPO = Path(__file__).resolve().parents[2]
WORKERS = 4


@pytest.fixture
def db(pg_url):
    database = open_database(pg_url)
    yield database
    database.close()


def budget(db, limit=3, bulk=1, window=0.5):
    return SharedRateBudget(db, "acct#1", limit, bulk, window=window, margin=0.01)


def test_calls_over_the_budget_wait_for_the_window(db):
    shared = budget(db, limit=3, window=0.5)
    started = time.monotonic()
    finished = []
    for _ in range(7):
        with shared.slot():
            finished.append(time.monotonic() - started)
    assert finished[2] < 0.3 and 0.5 <= finished[3] < 0.8 and 1.0 <= finished[6] < 1.6


def test_two_budget_objects_of_one_account_share_the_slots(db):
    first, second = budget(db, limit=2), budget(db, limit=2)
    started = time.monotonic()
    with first.slot(), second.slot():
        pass
    with first.slot():
        pass
    assert time.monotonic() - started >= 0.5


def test_concurrent_takers_never_exceed_the_limit(db):
    shared = budget(db, limit=4, window=0.4)
    starts: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        for _ in range(3):
            with shared.slot():
                with lock:
                    starts.append(time.monotonic())
                time.sleep(0.01)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 18
    assert all(later - earlier >= 0.4 for earlier, later in zip(starts, starts[4:], strict=False))


def test_a_pause_holds_every_caller_of_the_account_and_no_other(db):
    shared, other = budget(db), SharedRateBudget(db, "acct#2", 3, 1)
    shared.pause(0.6)
    started = time.monotonic()
    with other.slot():
        assert time.monotonic() - started < 0.3
    with shared.slot(bulk=True):
        assert time.monotonic() - started >= 0.55


def test_bulk_calls_take_a_bulk_slot_and_a_call_slot(db):
    shared = budget(db, limit=3, bulk=1)
    started = time.monotonic()
    with shared.slot(bulk=True):
        pass
    with shared.slot():
        pass
    assert time.monotonic() - started < 0.3
    with shared.slot(bulk=True):
        pass
    assert time.monotonic() - started >= 0.5


def test_a_slot_of_a_dead_holder_frees_after_the_hold(db):
    shared = SharedRateBudget(db, "acct#3", 1, 1, window=0.2, margin=0.0, hold=0.3)
    shared.acquire()  # never released: its process "died"
    started = time.monotonic()
    with shared.slot():
        pass
    assert 0.25 <= time.monotonic() - started < 1.0


@pytest.mark.parametrize(("env", "limits"), [
    ({}, (25, 1)), ({"LSQ_RATE_HEADROOM": "5"}, (20, 1)), ({"LSQ_RATE_HEADROOM": "40"}, (1, 1)),
])
def test_headroom_leaves_calls_to_other_integrations(monkeypatch, env, limits):
    monkeypatch.delenv("LSQ_RATE_HEADROOM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert with_headroom(25, 1) == limits


def test_bad_headroom_is_one_line_naming_the_variable():
    with pytest.raises(ConfigurationError, match="LSQ_RATE_HEADROOM='some' is not a whole"):
        headroom({"LSQ_RATE_HEADROOM": "some"})


def test_registry_makes_shared_budgets_once_installed(db):
    GOVERNORS.use(shared_budgets(db))
    try:
        made = GOVERNORS.get("http://x", "key", 25, 1)
        assert isinstance(made, SharedRateBudget) and made.account == account_id("http://x", "key")
        assert "key" not in made.account
    finally:
        GOVERNORS.clear()


# -- separate processes on the sandbox ------------------------------------------------------


def start_callers(pg_url: str, sandbox_url: str, seconds: float, threads: int = 3):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("LSQ_RATE_HEADROOM", None)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tests.distributed.budget_caller", pg_url, sandbox_url,
             f"w{n}", str(seconds), str(threads)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(WORKERS)
    ]


def results(processes) -> list[dict[str, int]]:
    found = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        found.append(json.loads(out.strip().splitlines()[-1]))
    return found


def worker_calls(app) -> list[dict]:
    with app.state.lock:
        log = list(app.state.request_log)
    return sorted((e for e in log if "worker" in e["query"]), key=lambda e: e["time"])


@pytest.mark.timeout(300 if full() else 120)
def test_four_processes_use_the_budget_without_a_429(pg_url, own_sandbox):
    seconds = 60.0 if full() else 11.0
    processes = start_callers(pg_url, own_sandbox.base_url, seconds)
    counts = results(processes)
    calls = worker_calls(own_sandbox.app)
    assert [c["limited"] for c in counts] == [0] * WORKERS
    assert [e for e in calls if e["status"] != 200] == []
    assert {e["query"]["worker"] for e in calls} == {f"w{n}" for n in range(WORKERS)}
    first = calls[0]["time"]
    windows = int((calls[-1]["time"] - first) // 5.0)
    used = sum(1 for e in calls if e["time"] < first + 5.0 * windows)
    share = used / (25 * windows)
    print(f"\n{WORKERS} processes, {seconds:g} s: {used} calls in {windows} windows of 5 s "
          f"= {share:.1%} of 25 per 5 s")
    assert share >= 0.95


def test_a_429_drawn_by_one_process_pauses_all_four(pg_url, own_sandbox):
    app = own_sandbox.app
    processes = start_callers(pg_url, own_sandbox.base_url, 20.0, threads=2)
    tags = {f"w{n}" for n in range(WORKERS)}
    deadline = time.monotonic() + 30
    while {e["query"]["worker"] for e in worker_calls(app)} != tags:  # all four at work
        assert time.monotonic() < deadline, "the callers did not all start"
        time.sleep(0.1)
    time.sleep(1.0)
    rogue = requests.Session()  # another integration of the same account: no shared budget
    headers = {"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY}
    deadline = time.monotonic() + 6.0
    while time.monotonic() < deadline and not any(
        e["status"] == 429 for e in worker_calls(app)
    ):
        rogue.get(f"{own_sandbox.base_url}/v2/{WHOAMI}", headers=headers, timeout=5)
        time.sleep(0.02)
    counts = results(processes)
    calls = worker_calls(app)
    limited = [e for e in calls if e["status"] == 429]
    assert limited, "the rogue calls never made a worker draw a 429"
    hit = limited[0]["time"]
    assert all(e["time"] < hit + 0.5 for e in limited), "429s after the pause"
    during = [e for e in calls if hit + 0.5 <= e["time"] < hit + 4.9]
    assert during == [], f"{len(during)} calls during the pause"
    assert {e["query"]["worker"] for e in calls if e["time"] < hit} == tags
    assert {e["query"]["worker"] for e in calls if e["time"] >= hit + 4.9} == tags
    assert sum(c["limited"] for c in counts) == 0  # the retry after the pause succeeded


def test_a_limit_beyond_any_plan_is_counted_as_max_slots(db):
    from runtime.store.rate_budget import MAX_SLOTS

    assert SharedRateBudget(db, "acct#big", 10**6, 10**6).limits == (MAX_SLOTS, MAX_SLOTS)
