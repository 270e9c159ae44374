"""The two dedupe reads the polling window relies on, on SQLite and on PostgreSQL alike:
which keys are recorded, and each record id's newest recorded time (ids that share a prefix,
other cases and punctuation must not leak into each other under any collation); and the
window check on both backends."""

from __future__ import annotations

from datetime import timedelta

from runtime.engine.polling import PollingEngine
from runtime.store.state import instance_id
from runtime.store.storage import Storage
from tests.triggers_infra.helpers import T0, CountedRecords, FakeClock

POLLED = instance_id("account_updated", {"company_type": "Partners"},
                     account="org-1@api-in21.leadsquared.com")
OTHER = instance_id("account_updated", {"company_type": "Company"},
                    account="org-1@api-in21.leadsquared.com")
IDS = ["abc", "abc1", "ab", "ABC", "abc-d", "a b", "abc@x", "ab@c"]


def iso(second: int) -> str:
    return f"2024-05-01T09:00:{second:02d}.000000Z"


def test_recorded_keys_and_each_ids_newest_recorded_time(storage: Storage) -> None:
    state = storage.state
    with state.batch() as batch:
        for n, item_id in enumerate(IDS):
            batch.record_key(POLLED, f"{item_id}@{iso(n)}")
            batch.record_key(POLLED, f"{item_id}@{iso(n + 10)}")
        batch.record_key(OTHER, f"abc@{iso(59)}")
        batch.record_key(POLLED, "abc@g3")  # not a time: sorts after them, never a version

    wanted = [f"abc@{iso(0)}", f"abc@{iso(1)}", f"ab@{iso(2)}", "nobody@x"]
    assert state.recorded_keys(POLLED, wanted) == {f"abc@{iso(0)}", f"ab@{iso(2)}"}
    latest = state.latest_versions(POLLED, [*IDS, "nobody"])
    assert latest == {item_id: iso(n + 10) for n, item_id in enumerate(IDS)}


def test_the_window_check_on_each_backend(storage: Storage, clock: FakeClock) -> None:
    source = CountedRecords(page_size=20, newest_size=5)
    engine = PollingEngine(storage.state, clock=clock)
    assert engine.poll(POLLED, source, None, {}).baseline
    clock.advance(minutes=1)
    for n in range(100):
        source.put(f"acct{n:03d}", T0 + timedelta(seconds=1 + n % 10))
    while not engine.poll(POLLED, source, None, {}).complete:
        pass
    clock.advance(seconds=61)
    assert engine.poll(POLLED, source, None, {}).emitted == 0  # what changed lately, again
    clock.advance(seconds=61)
    source.put("acct005", T0 + timedelta(minutes=2))  # an update: its count moves
    assert engine.poll(POLLED, source, None, {}).keys == ("acct005@2024-05-01T09:02:00.000000Z",)
    clock.advance(seconds=61)
    before = len(source.calls)
    assert engine.poll(POLLED, source, None, {}).emitted == 0
    assert len(source.calls) == before + 1
