"""Engine extensions used by New Account Activity: page tokens, FAN_OUT watermark cap, and a
baseline spread over several polls (runtime.engine.polling), with in-memory sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from runtime.engine.polling import Budget, PollingEngine
from runtime.plugin.polling_contract import Page
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from tests.triggers_infra.helpers import T0, FakeClock, lsq_time

INSTANCE = "new_account_activity-0123456789abcdef0123"


@dataclass
class FanOut:
    """Activities of several accounts; a query lists the accounts (one call), then reads each
    account's activities (one call per page of ``page_size``), with a page token."""

    page_size: int = 2
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pages: list[Any] = field(default_factory=list)

    ID_FIELD = "Id"
    TIME_FIELD = "CreatedOn"
    FAN_OUT = True

    def log(self, account: str, record_id: str, moment: datetime) -> None:
        self.accounts.setdefault(account, []).append(
            {"Id": record_id, "CreatedOn": lsq_time(moment), "Account": account}
        )

    def fetch_page(self, client: Any, config: Mapping[str, Any], since: datetime,
                   page: Any) -> Page:
        self.pages.append(page)
        if not isinstance(page, Mapping):
            names = sorted(self.accounts)
            token = {"accounts": names, "page": 1} if names else None
            return Page([], has_more=token is not None, next_page=token)
        names, number = list(page["accounts"]), int(page["page"])
        rows = sorted(
            (r for r in self.accounts[names[0]] if r["CreatedOn"] >= lsq_time(since)),
            key=lambda r: r["CreatedOn"], reverse=True,
        )
        chunk = rows[(number - 1) * self.page_size : number * self.page_size]
        if number * self.page_size < len(rows):
            token: dict[str, Any] | None = {"accounts": names, "page": number + 1}
        else:
            token = {"accounts": names[1:], "page": 1} if len(names) > 1 else None
        return Page(chunk, has_more=token is not None, next_page=token)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store(tmp_path, clock):
    with StateStore(tmp_path / "state.sqlite3", clock=clock) as opened:
        yield opened


def keys(store: StateStore) -> list[str]:
    return [item.event_key.split("@")[0] for item in Inbox(store).items(INSTANCE)]


def test_page_tokens_resume_across_polls_within_the_call_budget(store, clock) -> None:
    source = FanOut()
    for n in range(5):
        source.log("acme", f"a{n}", T0 + timedelta(seconds=n + 1))
    source.log("globex", "g0", T0 + timedelta(seconds=9))
    engine = PollingEngine(store, clock=clock, budget=Budget(max_pages=2, max_calls=2))
    results = [engine.poll(INSTANCE, source, None, {}, start=T0)]
    results += [engine.poll(INSTANCE, source, None, {}) for _ in range(2)]
    assert [(r.calls, r.complete) for r in results] == [(2, False), (2, False), (1, True)]
    assert source.pages == [1, {"accounts": ["acme", "globex"], "page": 1},
                            {"accounts": ["acme", "globex"], "page": 2},
                            {"accounts": ["acme", "globex"], "page": 3},
                            {"accounts": ["globex"], "page": 1}]
    assert sorted(keys(store)) == ["a0", "a1", "a2", "a3", "a4", "g0"]
    stored = store.get_cursor(INSTANCE)
    assert stored is not None and stored.value["resume"] is None


@pytest.mark.parametrize(("fan_out", "expected"), [
    (True, ["a-late", "a0", "g-new", "g0"]),
    (False, ["a0", "g-new", "g0"]),  # why FAN_OUT exists: a-late would be missed
], ids=["capped", "uncapped"])
def test_fan_out_watermark_is_capped_at_the_query_start(
    store, clock, fan_out: bool, expected: list[str]
) -> None:
    """An activity logged on an account already read, while the query runs on for longer
    than the overlap, is found by the next query."""
    source = FanOut(page_size=1)
    source.FAN_OUT = fan_out  # type: ignore[misc]
    source.log("acme", "a0", T0 + timedelta(seconds=10))
    source.log("globex", "g0", T0 + timedelta(seconds=10))
    engine = PollingEngine(store, clock=clock, overlap=timedelta(minutes=10),
                           budget=Budget(max_pages=2, max_calls=2))
    clock.advance(minutes=1)
    engine.poll(INSTANCE, source, None, {}, start=T0)  # query starts: list + acme
    clock.advance(minutes=1)
    source.log("acme", "a-late", clock())  # behind the query
    clock.advance(minutes=30)
    source.log("globex", "g-new", clock())
    finishing = engine.poll(INSTANCE, source, None, {})  # globex (2 pages)
    assert finishing.complete
    stored = store.get_cursor(INSTANCE)
    assert stored is not None
    assert stored.value["watermark"] == (
        "2024-05-01T09:01:00.000000Z" if fan_out else "2024-05-01T09:32:00.000000Z"
    )

    clock.advance(minutes=1)
    while not engine.poll(INSTANCE, source, None, {}).complete:
        pass
    assert sorted(keys(store)) == expected


def test_without_fan_out_the_watermark_is_the_newest_time_seen(store, clock) -> None:
    source = FanOut()
    source.FAN_OUT = False  # type: ignore[misc]
    source.log("acme", "a0", T0 + timedelta(minutes=5))
    engine = PollingEngine(store, clock=clock)
    engine.poll(INSTANCE, source, None, {}, start=T0)
    stored = store.get_cursor(INSTANCE)
    assert stored is not None and stored.value["watermark"] == "2024-05-01T09:05:00.000000Z"


def test_a_baseline_spread_over_polls_emits_records_stamped_after_it_started(
    store, clock
) -> None:
    source = FanOut(page_size=1)
    source.log("acme", "before", T0 - timedelta(minutes=2))
    source.log("globex", "old", T0 - timedelta(minutes=1))
    engine = PollingEngine(store, clock=clock, budget=Budget(max_pages=2, max_calls=2))
    first = engine.poll(INSTANCE, source, None, {})  # baseline: list + acme
    assert (first.baseline, first.complete, first.emitted) == (True, False, 0)
    clock.advance(minutes=1)
    source.log("globex", "during", T0 + timedelta(seconds=30))
    second = engine.poll(INSTANCE, source, None, {})  # globex, still the baseline query
    assert (second.baseline, second.complete) == (True, True)
    assert keys(store) == ["during"]
    clock.advance(minutes=1)
    assert engine.poll(INSTANCE, source, None, {}).emitted == 0
