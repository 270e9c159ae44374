"""The polling engine: baseline, ordering, ties, bursts, overlap, budgets, crashes, snapshots."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest

from runtime.engine.polling import Budget, PollingEngine
from runtime.errors import ConfigurationError
from runtime.store.inbox import Inbox
from runtime.store.state import StateBatch, StateStore, instance_id

from .helpers import T0, CountingList, FakeList, FakeRecords

INSTANCE = instance_id(
    "account_updated", {"company_type": "Partners"}, account="org-1@api-in21.leadsquared.com",
)
CONFIG = {"company_type": "Partners"}


def engine_for(store, clock, **options):
    return PollingEngine(store, clock=clock, **options)


def ids_of(events):
    return [e.item_id for e in events]


class Collector:
    """An emit callback that records every event, optionally failing once."""

    def __init__(self, fail_times: int = 0) -> None:
        self.events = []
        self.fail_times = fail_times

    def __call__(self, events):
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("workflow runner died")
        self.events.extend(events)


def inbox_keys(store):
    return [item.event_key for item in Inbox(store).items(INSTANCE)]


# -- baseline and persistence ----------------------------------------------------------------


def test_first_poll_is_a_baseline_that_emits_nothing_then_new_records_are_emitted(store, clock):
    source = FakeRecords()
    source.put("old", T0 - timedelta(days=2))
    source.put("recent", T0 - timedelta(minutes=3))  # inside the overlap window before "now"
    engine = engine_for(store, clock)

    first = engine.poll(INSTANCE, source, None, CONFIG)
    assert (first.baseline, first.emitted, first.complete) == (True, 0, True)
    assert source.calls == [(T0 - timedelta(minutes=10), 1)]

    clock.advance(minutes=1)
    source.put("new", T0 + timedelta(seconds=30))
    second = engine.poll(INSTANCE, source, None, CONFIG)
    assert (second.baseline, second.keys) == (False, ("new@2024-05-01T09:00:30.000000Z",))
    assert Inbox(store).items(INSTANCE)[0].payload["Id"] == "new"


def test_cursor_survives_closing_and_reopening_the_store(db_path, clock):
    source = FakeRecords()
    with StateStore(db_path, clock=clock) as store:
        engine_for(store, clock).poll(INSTANCE, source, None, CONFIG)
        source.put("a", T0 + timedelta(seconds=1))
        assert engine_for(store, clock).poll(INSTANCE, source, None, CONFIG).emitted == 1

    source.put("b", T0 + timedelta(seconds=2))
    with StateStore(db_path, clock=clock) as reopened:
        result = engine_for(reopened, clock).poll(INSTANCE, source, None, CONFIG)
        assert (result.baseline, [k.split("@")[0] for k in result.keys]) == (False, ["b"])
        assert [k.split("@")[0] for k in inbox_keys(reopened)] == ["a", "b"]


def test_reenabling_the_same_instance_keeps_its_cursor_and_a_new_config_starts_fresh(
    db_path, clock
):
    same = instance_id("account_updated", {"company_type": "Partners"},
                       account="ORG-1@api-in21.leadsquared.com")
    assert same == INSTANCE
    changed = instance_id("account_updated", {"company_type": "Company"},
                          account="org-1@api-in21.leadsquared.com")
    other_account = instance_id("account_updated", CONFIG, account="org-2@api-in21.leadsquared.com")
    assert len({INSTANCE, changed, other_account}) == 3

    source = FakeRecords()
    with StateStore(db_path, clock=clock) as store:
        engine_for(store, clock).poll(INSTANCE, source, None, CONFIG)  # enable: baseline
    source.put("while-disabled", T0 + timedelta(minutes=1))
    clock.advance(hours=1)
    with StateStore(db_path, clock=clock) as store:  # re-enabled after a redeploy
        again = engine_for(store, clock).poll(same, source, None, CONFIG)
        assert (again.baseline, again.emitted) == (False, 1)
        fresh = engine_for(store, clock).poll(changed, source, None, CONFIG)
        assert (fresh.baseline, fresh.emitted) == (True, 0)


def test_a_start_time_emits_from_that_time_on_and_reset_replays(store, clock):
    source = FakeRecords()
    source.put("before", T0 - timedelta(hours=2))
    source.put("after1", T0 - timedelta(hours=1))
    source.put("after2", T0 - timedelta(minutes=30))
    engine = engine_for(store, clock)

    first = engine.poll(INSTANCE, source, None, CONFIG, start=T0 - timedelta(hours=1, minutes=5))
    assert [k.split("@")[0] for k in first.keys] == ["after1", "after2"]
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 0

    store.reset(INSTANCE, since=T0 - timedelta(hours=3))
    replay = engine.poll(INSTANCE, source, None, CONFIG)
    assert [k.split("@")[0] for k in replay.keys] == ["before", "after1", "after2"]

    store.reset(INSTANCE)
    assert engine.poll(INSTANCE, source, None, CONFIG).baseline is True


def test_a_poll_that_read_the_cursor_before_a_reset_cannot_commit_over_it(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("a", T0 + timedelta(seconds=1))
    in_flight = engine.fetch(INSTANCE, source, None, CONFIG)
    store.reset(INSTANCE, since=T0 - timedelta(days=1))
    assert in_flight.commit().conflict is True
    assert store.get_cursor(INSTANCE).value == {"start": "2024-04-30T09:00:00.000000Z"}
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 0  # "a" is in the inbox
    assert [k.split("@")[0] for k in inbox_keys(store)] == ["a"]


def test_a_budget_must_allow_one_page():
    with pytest.raises(ConfigurationError):
        Budget(max_pages=0)


# -- ordering, ties, bursts, overlap ---------------------------------------------------------


def test_burst_larger_than_a_page_is_emitted_oldest_first_with_ties_broken_by_id(store, clock):
    source = FakeRecords(page_size=10)
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    for n in range(25):
        # 5 distinct seconds, 5 records each, inserted in reverse id order
        source.put(f"r{24 - n:02d}", T0 + timedelta(seconds=1 + (24 - n) // 5))
    collector = Collector()
    result = engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    assert result.pages == 3 and result.complete
    assert ids_of(collector.events) == [f"r{n:02d}" for n in range(25)]
    times = [e.time for e in collector.events]
    assert times == sorted(times)


def test_equal_timestamps_across_a_page_boundary_are_neither_missed_nor_repeated(store, clock):
    source = FakeRecords(page_size=4)
    engine = engine_for(store, clock, budget=Budget(max_pages=1, max_calls=10))
    engine.poll(INSTANCE, source, None, CONFIG)  # baseline (one page, nothing there)
    same_second = T0 + timedelta(seconds=5)
    for name in ["e", "a", "d", "c", "b", "g", "f"]:
        source.put(name, same_second)
    collector = Collector()
    first = engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    assert (first.complete, ids_of(collector.events)) == (False, ["a", "b", "c", "d"])
    source.put("h", same_second)  # arrives later with the same timestamp
    second = engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    third = engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    assert second.complete or third.complete
    assert ids_of(collector.events) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert engine.poll(INSTANCE, source, None, CONFIG, emit=collector).emitted == 0


def test_more_equal_timestamps_than_the_whole_budget_still_make_progress(store, clock):
    source = FakeRecords(page_size=5)
    engine = engine_for(store, clock, budget=Budget(max_pages=2, max_calls=10))
    engine.poll(INSTANCE, source, None, CONFIG)
    for n in range(50):
        source.put(f"bulk{n:03d}", T0 + timedelta(seconds=1))
    collector = Collector()
    results = [engine.poll(INSTANCE, source, None, CONFIG, emit=collector) for _ in range(5)]
    assert [r.complete for r in results] == [False] * 4 + [True]
    assert ids_of(collector.events) == [f"bulk{n:03d}" for n in range(50)]
    # The next query re-reads the overlap window (10 pages, 5 polls): nothing is repeated.
    later = [engine.poll(INSTANCE, source, None, CONFIG, emit=collector) for _ in range(6)]
    assert sum(r.emitted for r in later) == 0 and len(collector.events) == 50
    assert all(r.pages <= 2 for r in results + later)


def test_page_and_call_budgets_bound_each_poll_and_resume_without_loss(store, clock):
    source = FakeRecords(page_size=3, calls_per_page=2)
    engine = engine_for(store, clock, budget=Budget(max_pages=10, max_calls=5))
    engine.poll(INSTANCE, source, None, CONFIG)
    for n in range(20):
        source.put(f"x{n:02d}", T0 + timedelta(seconds=n + 1))
    collector = Collector()
    calls_per_poll = []
    for _ in range(10):
        before = len(source.calls)
        result = engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
        calls_per_poll.append(len(source.calls) - before)
        assert result.calls <= 6 and result.pages <= 3  # stops once 5 calls are used
        if result.complete:
            break
    assert ids_of(collector.events) == [f"x{n:02d}" for n in range(20)]
    assert calls_per_poll == [3, 3, 1]  # 7 pages of 3 items (the last one empty-ended)


def test_late_record_inside_the_overlap_is_caught_and_one_outside_is_not(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock, overlap=timedelta(minutes=10))
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("newest", T0 + timedelta(minutes=30))
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 1
    source.put("late", T0 + timedelta(minutes=22))  # committed late, 8 min older than newest
    source.put("too-late", T0 + timedelta(minutes=15))  # 15 min older: outside the overlap
    result = engine.poll(INSTANCE, source, None, CONFIG)
    assert [k.split("@")[0] for k in result.keys] == ["late"]


def test_an_updated_record_is_a_new_event_and_the_window_is_pruned_to_the_overlap(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("acct", T0 + timedelta(minutes=1), Stage="Prospect")
    source.put("other", T0 + timedelta(minutes=2))
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 2
    source.put("acct", T0 + timedelta(hours=2), Stage="Customer")
    result = engine.poll(INSTANCE, source, None, CONFIG)
    assert result.keys == ("acct@2024-05-01T11:00:00.000000Z",)
    cursor = store.get_cursor(INSTANCE).value
    assert (cursor["window"], cursor["adjust"]) == ({"2024-05-01T11:00:00.000000Z": 1}, 0)
    assert cursor["watermark"] == "2024-05-01T11:00:00.000000Z"


def test_items_without_an_id_or_a_readable_time_are_skipped(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("good", T0 + timedelta(seconds=1))
    source.records["no-time"] = {"Id": "no-time", "ModifiedOn": None}
    source.records["bad-time"] = {"Id": "bad-time", "ModifiedOn": "tomorrow"}
    result = engine.poll(INSTANCE, source, None, CONFIG)
    assert (result.emitted, result.skipped) == (1, 2)


# -- crashes: no loss, no repeat -------------------------------------------------------------


def test_emit_failing_commits_nothing_and_the_next_poll_emits_the_same_events_once(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("a", T0 + timedelta(seconds=1))
    source.put("b", T0 + timedelta(seconds=2))
    collector = Collector(fail_times=1)
    with pytest.raises(RuntimeError):
        engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    assert collector.events == [] and not store.seen(INSTANCE, "a@2024-05-01T09:00:01.000000Z")
    engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    engine.poll(INSTANCE, source, None, CONFIG, emit=collector)
    assert ids_of(collector.events) == ["a", "b"]


def test_process_dying_between_fetch_and_commit_loses_and_repeats_nothing(db_path, clock):
    source = FakeRecords()
    with StateStore(db_path, clock=clock) as store:
        engine_for(store, clock).poll(INSTANCE, source, None, CONFIG)
        source.put("a", T0 + timedelta(seconds=1))
        pending = engine_for(store, clock).fetch(INSTANCE, source, None, CONFIG)
        assert ids_of(pending.events) == ["a"]
        # ... the process dies here: `pending` is never committed.
    source.put("b", T0 + timedelta(seconds=2))
    with StateStore(db_path, clock=clock) as store:
        engine = engine_for(store, clock)
        assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 2
        assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 0
        assert [k.split("@")[0] for k in inbox_keys(store)] == ["a", "b"]


def test_a_crash_inside_the_commit_rolls_back_inbox_keys_and_cursor(store, clock, monkeypatch):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    version = store.get_cursor(INSTANCE).version
    source.put("a", T0 + timedelta(seconds=1))

    def crash(*args, **kwargs):
        raise OSError("disk vanished")

    monkeypatch.setattr(StateBatch, "write_cursor", crash)
    with pytest.raises(OSError):
        engine.poll(INSTANCE, source, None, CONFIG)
    monkeypatch.undo()
    assert inbox_keys(store) == [] and store.get_cursor(INSTANCE).version == version
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 1
    assert engine.poll(INSTANCE, source, None, CONFIG).emitted == 0
    assert len(inbox_keys(store)) == 1


def test_two_pollers_racing_hand_each_event_on_once(store, clock):
    source = FakeRecords()
    engine = engine_for(store, clock)
    engine.poll(INSTANCE, source, None, CONFIG)
    source.put("a", T0 + timedelta(seconds=1))
    first = engine.fetch(INSTANCE, source, None, CONFIG)
    second = engine.fetch(INSTANCE, source, None, CONFIG)
    assert first.commit().emitted == 1
    late = second.commit()
    assert (late.emitted, late.conflict) == (0, True)
    assert len(inbox_keys(store)) == 1
    with pytest.raises(Exception, match="already committed"):
        first.commit()


# -- snapshot diff ---------------------------------------------------------------------------


def test_snapshot_baseline_then_adds_then_removals(store, clock):
    members = FakeList(page_size=3, members=[f"L{n}" for n in range(7)])
    engine = engine_for(store, clock)
    baseline = engine.poll_members(INSTANCE, members, None, CONFIG)
    assert (baseline.baseline, baseline.emitted, baseline.complete) == (True, 0, True)
    assert members.calls == [1, 2, 3]  # exactly one call per page

    members.members += ["L7", "L8"]
    members.members.remove("L2")
    added = engine.poll_members(INSTANCE, members, None, CONFIG)
    assert (added.baseline, added.keys) == (False, ("L7@g2", "L8@g2"))
    assert [i.payload["ProspectID"] for i in Inbox(store).items(INSTANCE)] == ["L7", "L8"]

    # L2 was missed by one scan only: coming back is not an "add" (pagination glitch guard).
    members.members.append("L2")
    assert engine.poll_members(INSTANCE, members, None, CONFIG).emitted == 0

    members.members.remove("L2")
    engine.poll_members(INSTANCE, members, None, CONFIG)
    engine.poll_members(INSTANCE, members, None, CONFIG)  # missed twice: removed
    assert store.show()["instances"][0]["snapshot_members"] == 8
    members.members.append("L2")
    readded = engine.poll_members(INSTANCE, members, None, CONFIG)
    assert readded.keys == ("L2@g6",)


def test_snapshot_scan_cut_by_the_budget_resumes_at_the_next_page(store, clock):
    members = FakeList(page_size=2, members=[f"L{n}" for n in range(5)])
    engine = engine_for(store, clock, members_budget=Budget(max_pages=2, max_calls=10))
    first = engine.poll_members(INSTANCE, members, None, CONFIG)
    second = engine.poll_members(INSTANCE, members, None, CONFIG)
    assert (first.complete, second.complete, members.calls) == (False, True, [1, 2, 3])
    members.members.insert(0, "NEW")
    collector = Collector()
    engine.poll_members(INSTANCE, members, None, CONFIG, emit=collector)
    engine.poll_members(INSTANCE, members, None, CONFIG, emit=collector)
    assert ids_of(collector.events) == ["NEW"]


def test_snapshot_emit_failure_is_retried_without_repeats(store, clock):
    members = FakeList(page_size=10, members=["A"])
    engine = engine_for(store, clock)
    engine.poll_members(INSTANCE, members, None, CONFIG)
    members.members.append("B")
    collector = Collector(fail_times=1)
    with pytest.raises(RuntimeError):
        engine.poll_members(INSTANCE, members, None, CONFIG, emit=collector)
    engine.poll_members(INSTANCE, members, None, CONFIG, emit=collector)
    engine.poll_members(INSTANCE, members, None, CONFIG, emit=collector)
    assert ids_of(collector.events) == ["B"]


def test_snapshot_of_100k_members_streams_with_bounded_memory_and_one_call_per_page(store, clock):
    source = CountingList(size=100_000, page_size=1000)
    engine = engine_for(store, clock, members_budget=Budget(max_pages=1000, max_calls=1000))
    tracemalloc.start()
    try:
        result = engine.poll_members(INSTANCE, source, None, CONFIG)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.complete, result.pages, source.calls) == (True, 100, 100)
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert store.show()["instances"][0]["snapshot_members"] == 100_000
    assert len(store.get_cursor(INSTANCE).value) == 3  # kind, generation, scan: no id blob
