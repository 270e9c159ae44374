"""The rate governor: callers wait for a slot instead of drawing 429s."""

from __future__ import annotations

import threading
import time

import pytest

from runtime.api.client import WHOAMI, LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.governor import GOVERNORS, GovernorRegistry, RateGovernor
from runtime.errors import ConfigurationError
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SandboxApp, start_sandbox
from tests.fakes import FakeClock


def governor(clock, rate_limit=3, bulk_rate_limit=1, margin=0.05):
    return RateGovernor(rate_limit, bulk_rate_limit, margin=margin, clock=clock, sleep=clock.sleep)


def test_calls_within_the_limit_do_not_wait():
    clock = FakeClock()
    gov = governor(clock)
    for _ in range(3):
        with gov.slot():
            clock.advance(0.1)
    assert clock.sleeps == []


def test_the_next_call_waits_until_the_oldest_finish_leaves_the_window():
    clock = FakeClock(start=0.0)
    gov = governor(clock)
    for _ in range(3):
        with gov.slot():
            clock.advance(0.5)  # each call takes 0.5 s: they finish at 0.5, 1.0, 1.5
    with gov.slot():
        pass
    assert clock.sleeps == [pytest.approx(0.5 + 5.05 - 1.5)]
    assert gov.waited == pytest.approx(4.05)


def test_bulk_calls_have_their_own_budget_and_also_count_as_calls():
    clock = FakeClock(start=0.0)
    gov = governor(clock, rate_limit=3, bulk_rate_limit=1)
    with gov.slot(bulk=True):
        pass
    with gov.slot():  # room in the normal budget: 1 of 3 used
        pass
    assert clock.sleeps == []
    with gov.slot(bulk=True):  # the bulk budget is spent until 5.05
        pass
    assert clock.sleeps == [pytest.approx(5.05)]


def test_slot_is_released_when_the_call_raises():
    clock = FakeClock()
    gov = governor(clock, rate_limit=1)
    with pytest.raises(RuntimeError), gov.slot():
        raise RuntimeError("boom")
    clock.advance(6)
    with gov.slot():
        pass
    assert clock.sleeps == []


def test_nested_slots_of_one_kind_each_hold_and_release_their_own():
    """One slot context per kind is shared by every call: nesting it holds two slots."""
    clock = FakeClock()
    gov = governor(clock, rate_limit=3)
    assert gov.slot() is gov.slot() and gov.slot(bulk=True) is not gov.slot()
    with gov.slot(), gov.slot():
        assert gov._calls.in_flight == 2
        with gov.slot(bulk=True):
            assert (gov._calls.in_flight, gov._bulk.in_flight) == (3, 1)
    assert (gov._calls.in_flight, gov._bulk.in_flight) == (0, 0)
    assert (len(gov._calls.finished), len(gov._bulk.finished)) == (3, 1)
    assert clock.sleeps == []


def test_a_caller_waits_for_an_in_flight_call_to_finish():
    gov = RateGovernor(1, 1, window=0.2, margin=0.0)
    ticket = gov.acquire()
    acquired_at: list[float] = []

    def second():
        with gov.slot():
            acquired_at.append(time.monotonic())

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.1)
    released_at = time.monotonic()
    gov.release(ticket)
    thread.join(timeout=5)
    assert acquired_at and acquired_at[0] >= released_at + 0.2 - 0.01


def test_threads_never_exceed_the_limit_in_any_window():
    window, limit = 0.3, 4
    gov = RateGovernor(limit, 1, window=window, margin=0.0)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker():
        for _ in range(6):
            ticket = gov.acquire()
            start = time.monotonic()
            time.sleep(0.005)
            gov.release(ticket)
            with lock:
                spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(spans) == 24
    starts = sorted(start for start, _ in spans)
    for start in starts:  # calls started within `window` of each other never exceed the limit
        assert sum(start <= other < start + window for other in starts) <= limit


@pytest.mark.parametrize(
    "bad", [0, -1, True, 2.5, "25"], ids=["zero", "negative", "bool", "float", "str"]
)
def test_limits_are_validated(bad):
    with pytest.raises(ConfigurationError, match="rate_limit must be a whole number"):
        RateGovernor(bad)


def test_registry_shares_one_governor_per_account():
    registry = GovernorRegistry()
    first = registry.get("https://api-in21.leadsquared.com", "key-a", 25, 1)
    assert registry.get("HTTPS://API-IN21.leadsquared.com", "key-a", 25, 1) is first
    assert registry.get("https://api-in21.leadsquared.com", "key-b", 25, 1) is not first
    assert registry.get("https://api-us11.leadsquared.com", "key-a", 25, 1) is not first
    registry.get("https://api-in21.leadsquared.com", "key-a", 10, 2)
    assert first.limits == (10, 1)  # the lower limits win
    registry.clear()
    assert registry.get("https://api-in21.leadsquared.com", "key-a", 25, 1) is not first


def test_clients_of_one_account_share_the_process_governor():
    connection = Connection("u$rshared-key-1234", "secret-5678", "api-in21.leadsquared.com")
    try:
        one, two = LeadSquaredClient(connection), LeadSquaredClient(connection)
        assert one.governor is two.governor
    finally:
        GOVERNORS.clear()


def test_four_threads_reach_the_limit_without_a_single_429():
    """Against the sandbox's own limiter: >= 95% of 20 calls / 5 s, zero 429s (~10 s)."""
    limit, total = 20, 60
    with start_sandbox(SandboxApp(rate_limit=limit)) as running:
        connection = Connection(
            DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, "api-in21.leadsquared.com",
            base_url=running.base_url, rate_limit=limit,
        )
        shared = RateGovernor(limit, 1)
        clients = [LeadSquaredClient(connection, governor=shared) for _ in range(4)]
        remaining = iter(range(total))
        lock = threading.Lock()

        def worker(client):
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                client.get(WHOAMI)

        threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        log = running.app.state.request_log
    assert [entry["status"] for entry in log].count(429) == 0
    assert len(log) == total
    times = sorted(entry["time"] for entry in log)
    # A perfect sliding window serves calls 41-60 exactly 10 s after calls 1-20.
    ideal = (total - limit) / limit * 5.0
    efficiency = ideal / (times[-1] - times[0])
    assert efficiency >= 0.95, f"{efficiency:.1%} of the limit"
