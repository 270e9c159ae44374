"""The store's contract, on SQLite and on PostgreSQL: cursors, dedupe, the inbox and its claims,
run history, leases, snapshots, retention. The same assertions hold on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import ConfigurationError
from runtime.store.retention import Retention
from runtime.store.state import Subscription, instance_id
from runtime.store.storage import Storage, scratch_state
from tests.triggers_infra.helpers import FakeClock

INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
OTHER = instance_id("new_task", {}, account="org-1@api-in21.leadsquared.com")


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(n)`` in ``count`` threads started together; their results in order."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = work(n)
        except BaseException as problem:  # reported by the assertion below
            errors.append(problem)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


# -- cursors and batches ---------------------------------------------------------------------


#: (value written, expected_version given, version returned: None = refused as stale)
CURSOR_WRITES = [
    ({"n": 1}, 0, 1), ({"n": 2}, 0, None), ({"n": 2}, 1, 2), ({"n": 3}, 1, None),
    ({"n": 3}, None, 3), ({"n": 4}, 3, 4), ({"n": 5}, 9, None),
]


def test_cursor_compare_and_set(storage: Storage) -> None:
    assert storage.state.get_cursor(INSTANCE) is None
    for value, expected, returned in CURSOR_WRITES:
        assert storage.state.put_cursor(INSTANCE, value, expected_version=expected) == returned
    record = storage.state.get_cursor(INSTANCE)
    assert (record.value, record.version) == ({"n": 4}, 4)


def test_concurrent_compare_and_set_has_exactly_one_winner(storage: Storage) -> None:
    storage.state.put_cursor(INSTANCE, {"n": 0})
    won = in_threads(6, lambda n: storage.state.put_cursor(
        INSTANCE, {"n": n}, expected_version=1))
    assert [v for v in won if v is not None] == [2]
    assert storage.state.get_cursor(INSTANCE).version == 2


def test_a_batch_commits_keys_events_and_cursor_together_or_not_at_all(storage: Storage) -> None:
    state, inbox = storage.state, storage.inbox()
    with pytest.raises(RuntimeError), state.batch() as batch:
        assert batch.queue_event(INSTANCE, "k1", {"a": 1})
        assert batch.write_cursor(INSTANCE, {"at": 1}, 0) == 1
        raise RuntimeError("crash before the commit")
    assert inbox.items() == [] and state.get_cursor(INSTANCE) is None
    assert not state.seen(INSTANCE, "k1")
    with state.batch() as batch:
        assert batch.queue_event(INSTANCE, "k1", {"a": 1})
        assert not batch.queue_event(INSTANCE, "k1", {"a": 2})  # a duplicate in the same batch
        assert batch.record_key(INSTANCE, "k2") and not batch.record_key(INSTANCE, "k2")
        assert batch.write_cursor(INSTANCE, {"at": 1}, 0) == 1
        assert batch.write_cursor(OTHER, {"at": 1}, 5) is None  # a conflict is not an error
    assert [i.payload for i in inbox.items()] == [{"a": 1}]
    assert state.seen(INSTANCE, "k2") and state.get_cursor(INSTANCE).value == {"at": 1}


def test_snapshot_members_and_reset(storage: Storage) -> None:
    state = storage.state
    with state.batch() as batch:
        batch.save_members(INSTANCE, ["m1", "m2", "m3"], 1)
        batch.save_members(INSTANCE, [], 1)
    with state.batch() as batch:
        batch.save_members(INSTANCE, ["m2"], 2)
        batch.drop_members(INSTANCE, 1)
    assert state.known_members(INSTANCE, ["m1", "m2", "m3", "m4"]) == {"m2"}
    ids = [f"id-{n}" for n in range(1200)]  # more than one IN (...) chunk
    with state.batch() as batch:
        batch.save_members(OTHER, ids, 1)
        assert batch.known_members(OTHER, ids) == set(ids)
    state.put_cursor(INSTANCE, {"kind": "snapshot"})
    state.reset(INSTANCE)
    assert state.known_members(INSTANCE, ["m2"]) == set()
    assert (state.get_cursor(INSTANCE).value, state.get_cursor(INSTANCE).version) == ({}, 2)


def test_copy_instance_gives_a_scratch_store_the_same_view(storage: Storage,
                                                          tmp_path: Path) -> None:
    state = storage.state
    state.put_cursor(INSTANCE, {"kind": "snapshot", "generation": 1})
    with state.batch() as batch:
        batch.save_members(INSTANCE, ["m1"], 1)
        batch.record_key(INSTANCE, "m1@g1")
        batch.save_members(OTHER, ["x"], 1)
    with scratch_state(tmp_path / "dry", clock=state.clock) as copy:
        state.copy_instance(INSTANCE, copy)
        assert copy.get_cursor(INSTANCE) == state.get_cursor(INSTANCE)
        assert copy.known_members(INSTANCE, ["m1"]) == {"m1"} and copy.seen(INSTANCE, "m1@g1")
        assert copy.known_members(OTHER, ["x"]) == set()


# -- subscriptions, trigger configs, show ---------------------------------------------------


def test_subscriptions_and_trigger_configs(storage: Storage) -> None:
    state = storage.state
    state.save_subscription(Subscription(INSTANCE, "wh-1", "TopSecret", "https://x/h", "3"))
    state.save_subscription(Subscription(INSTANCE, "wh-2", "TopSecret2", "https://x/h", "3"))
    assert state.get_subscription(INSTANCE).webhook_id == "wh-2"
    assert state.get_subscription(INSTANCE).created_at == "2024-05-01T09:00:00.000000Z"
    state.remember_trigger(INSTANCE, "new_lead", {"b": 1, "a": [1]}, "host|fp")
    state.remember_trigger(INSTANCE, "new_lead", {"b": 2}, "host|fp")
    assert state.trigger_configs() == {
        INSTANCE: {"trigger_key": "new_lead", "config": {"b": 2}, "account": "host|fp"}}
    shown = state.show()
    assert "TopSecret" not in repr(shown) and shown["instances"][0]["subscription"]["webhook_id"]
    state.forget_trigger(INSTANCE)
    assert state.trigger_configs() == {}
    assert state.delete_subscription(INSTANCE) and not state.delete_subscription(INSTANCE)


# -- the inbox ------------------------------------------------------------------------------


def test_accept_claim_and_settle(storage: Storage, clock: FakeClock) -> None:
    inbox = storage.inbox(claim_ttl=timedelta(minutes=1), max_attempts=2)
    raw = b'[{"a":1},{"a":2}]\xff'
    assert inbox.accept_delivery(INSTANCE, [("k1", {"a": 1}), ("k2", {"a": 2})],
                                 content_type="application/json", raw_body=raw) == [True, True]
    assert inbox.accept_delivery(INSTANCE, [("k1", {"a": 1})], raw_body=raw) == [False]
    assert inbox.record_rejected(OTHER, "bad", "Body is not JSON", content_type="text/plain",
                                 raw_body=b"nope")
    first = inbox.claim_next(INSTANCE)
    assert inbox.raw_body(first) == raw and first.content_type == "application/json"
    second = inbox.claim_next(INSTANCE)
    assert (first.event_key, second.event_key, inbox.claim_next(INSTANCE)) == ("k1", "k2", None)
    assert inbox.mark_done(first) and not inbox.mark_done(first)
    assert inbox.mark_failed(second, "try again") == "pending"
    clock.advance(minutes=2)
    again = inbox.claim_next()
    assert (again.id, again.attempts) == (second.id, 2)
    assert inbox.renew_claim(again)
    clock.advance(minutes=2)  # expired: after max_attempts it is failed, not handed out
    assert inbox.claim_next() is None
    assert inbox.counts(INSTANCE) == {"pending": 0, "processing": 0, "done": 1, "failed": 1}
    assert inbox.counts(OTHER)["failed"] == 1
    assert [i.event_key for i in inbox.items(status="failed")] == ["k2", "bad"]
    assert inbox.retry_failed(INSTANCE) == 1 and inbox.retry_failed(OTHER) == 0
    assert inbox.release_claims() == 0 and inbox.release_orphaned_claims() == 0
    claimed = inbox.claim_next()
    assert inbox.release_claims(INSTANCE) == 1 and not inbox.mark_done(claimed)


def test_release_oldest_unsettled_and_failed_events_shown(
    storage: Storage, clock: FakeClock,
) -> None:
    inbox = storage.inbox(max_attempts=2)
    assert inbox.oldest_unsettled() is None
    inbox.accept(INSTANCE, "k1", {"a": 1})
    clock.advance(seconds=5)
    inbox.accept(OTHER, "k2", {"a": 2})
    assert inbox.oldest_unsettled() == "2024-05-01T09:00:00.000000Z"
    assert inbox.oldest_unsettled([OTHER]) == "2024-05-01T09:00:05.000000Z"
    claimed = inbox.claim_next(INSTANCE)
    assert inbox.oldest_unsettled([INSTANCE]) == "2024-05-01T09:00:00.000000Z"  # processing
    assert inbox.release(claimed) and not inbox.release(claimed)  # only its claim can
    again = inbox.claim_next(INSTANCE)
    assert (again.id, again.attempts) == (claimed.id, 1)  # the released attempt did not count
    assert inbox.mark_failed(again, "internal: RuntimeError: boom", retry=False) == "failed"
    assert inbox.oldest_unsettled([INSTANCE]) is None
    shown = {entry["instance_id"]: entry for entry in storage.state.show()["instances"]}
    assert shown[INSTANCE]["failed_events"] == [{
        "id": again.id, "event_key": "k1", "attempts": 1,
        "error": "internal: RuntimeError: boom", "updated_at": "2024-05-01T09:00:05.000000Z",
    }]
    assert "failed_events" not in shown[OTHER]


def test_concurrent_claimers_take_each_event_exactly_once(storage: Storage) -> None:
    inbox = storage.inbox()
    assert all(inbox.accept_delivery(INSTANCE, [(f"k{n}", {"n": n}) for n in range(60)]))

    def drain(_: int) -> list[int]:
        mine = []
        while (item := inbox.claim_next(INSTANCE)) is not None:
            assert inbox.mark_done(item)
            mine.append(item.payload["n"])
        return mine

    taken = [n for mine in in_threads(4, drain) for n in mine]
    assert sorted(taken) == list(range(60))
    assert inbox.counts()["done"] == 60


def test_threads_accepting_overlapping_keys_store_each_once(storage: Storage) -> None:
    inbox = storage.inbox()
    results = in_threads(5, lambda _: [inbox.accept(INSTANCE, f"key-{n}", {"n": n})
                                       for n in range(30)])
    assert sum(sum(r) for r in results) == 30 and inbox.counts()["pending"] == 30


# -- run history ----------------------------------------------------------------------------


def test_history_runs_once_per_event_key(storage: Storage) -> None:
    history = storage.history
    start = dict(workflow="w", trigger_key="new_lead", origin="webhook", event={"a": "é"},
                 instance_id=INSTANCE, event_key="k#0")
    run = history.start_run(**start)
    assert history.start_run(**start) == run  # crashed before any step: resumed
    history.save_steps(run, [(0, {"step_id": "a", "action": "x", "status": "skipped"}),
                             (1, {"step_id": "b", "action": "y", "status": "running"})],
                       durable=True)
    assert history.start_run(**start) is None  # a step started: interrupted, never rerun
    assert history.get_run(run)["status"] == "interrupted"
    manual = history.start_run(workflow="w", trigger_key="new_lead", origin="manual", event={})
    history.save_step(manual, 0, {"step_id": "a", "action": "x", "status": "running",
                                  "input": {"k": [1]}})
    history.finish_run(manual, status="succeeded", finished_at="2024-05-01T09:00:01.000000Z",
                       duration_ms=5, steps=[(0, {"step_id": "a", "action": "x",
                                                  "status": "succeeded", "output": {"id": 7}})])
    shown = history.get_run(manual)
    assert shown["event"] == {} and shown["steps"][0]["output"] == {"id": 7}
    assert shown["steps"][0]["input"] is None  # the final write replaced the row
    assert history.has_run("w", INSTANCE, "k#0") and not history.has_run("w", None, "k#0")
    assert [r["id"] for r in history.list_runs(status="succeeded")] == [manual]
    assert history.list_runs(workflow="w")[1]["steps"] == {"running": 1, "skipped": 1}
    assert history.count() == 2 and history.get_run(10**9) is None
    with pytest.raises(ConfigurationError):
        history.finish_run(manual, status="great", finished_at="t", duration_ms=1)


def test_concurrent_starts_of_one_event_make_one_run(storage: Storage) -> None:
    ids = in_threads(5, lambda _: storage.history.start_run(
        workflow="w", trigger_key="new_lead", origin="webhook", event={},
        instance_id=INSTANCE, event_key="same#0"))
    assert len(set(ids)) == 1 and storage.history.count() == 1


def test_finished_runs_are_recorded_once_per_event_key(storage: Storage) -> None:
    """record_run (a read-only run, one commit at its end): the event key still runs once,
    concurrent records of one event make one run, a crashed run of it is taken over or, when
    a step had started, interrupted; a run started with its first step is one commit."""
    history = storage.history
    finished = dict(workflow="w", trigger_key="new_lead", origin="webhook", event={"a": "é"},
                    started_at="2024-05-01T09:00:00.000000Z", status="succeeded",
                    finished_at="2024-05-01T09:00:01.000000Z", duration_ms=5,
                    steps=[(0, {"step_id": "a", "action": "find_lead", "status": "succeeded",
                                "output": {"id": 7}})])
    ids = in_threads(5, lambda _: history.record_run(**finished, instance_id=INSTANCE,
                                                     event_key="same#0"))
    (run,) = [i for i in ids if i is not None]
    shown = history.get_run(run)
    assert shown["status"] == "succeeded" and shown["steps"][0]["output"] == {"id": 7}
    assert history.run_status("w", INSTANCE, "same#0") == "succeeded"
    assert history.run_status("w", INSTANCE, "other#0") is None
    crashed = history.start_run(workflow="w", trigger_key="new_lead", origin="webhook",
                                event={}, instance_id=INSTANCE, event_key="crash#0")
    assert history.record_run(**finished, instance_id=INSTANCE, event_key="crash#0") == crashed
    assert history.get_run(crashed)["status"] == "succeeded"
    marked = history.start_run(
        workflow="w", trigger_key="new_lead", origin="webhook", event={}, instance_id=INSTANCE,
        event_key="write#0", steps=[(0, {"step_id": "m", "action": "send_email",
                                         "status": "running"})], durable=True)
    assert history.get_run(marked)["steps"][0]["status"] == "running"
    assert history.record_run(**finished, instance_id=INSTANCE, event_key="write#0") is None
    assert history.get_run(marked)["status"] == "interrupted"
    assert history.count() == 3


def test_concurrent_retries_of_one_run_start_one(storage: Storage) -> None:
    history = storage.history
    failed = history.start_run(workflow="w", trigger_key="new_lead", origin="webhook",
                               event={"a": 1}, instance_id=INSTANCE, event_key="k#0")
    history.finish_run(failed, status="failed", finished_at="t", duration_ms=1)
    started = in_threads(5, lambda _: history.start_retry(failed, retry_from="b"))
    ids = [start.run_id for start in started if start.run_id is not None]
    assert len(ids) == 1
    assert {(s.blocked_by, s.blocked_status) for s in started if s.run_id is None} == {
        (ids[0], "running")}
    retry = history.get_run(ids[0])
    assert {key: retry[key] for key in ("workflow", "trigger_key", "origin", "instance_id",
                                        "event_key", "event", "retry_of", "retry_from")} == {
        "workflow": "w", "trigger_key": "new_lead", "origin": "retry", "instance_id": INSTANCE,
        "event_key": None, "event": {"a": 1}, "retry_of": failed, "retry_from": "b"}
    assert history.start_retry(failed, after_unfinished=True).run_id == ids[0] + 1
    history.finish_run(ids[0], status="succeeded", finished_at="t", duration_ms=1)
    refused = history.start_retry(failed, after_unfinished=True)
    assert (refused.run_id, refused.blocked_by, refused.blocked_status) == (
        None, ids[0], "succeeded")
    assert history.start_retry(10**9).run_id is None
    history.save_steps(ids[0], [(0, {"step_id": "a", "action": "x", "status": "succeeded",
                                     "reused_from": failed}),
                                (1, {"step_id": "b", "action": "x", "status": "succeeded"})],
                       durable=False)
    assert history.list_runs(limit=3)[1]["steps"] == {"reused": 1, "succeeded": 1}


def test_history_filters_by_workflow_status_time_and_page(storage: Storage) -> None:
    history = storage.history
    runs = [history.start_run(workflow=name, trigger_key="t", origin="manual", event={},
                              started_at=f"2024-05-0{day}T09:00:00.000000Z")
            for day, name in enumerate(["a", "b", "a", "b"], start=1)]
    history.finish_run(runs[2], status="failed", finished_at="t", duration_ms=1)

    def ids(**filters: Any) -> list[int]:
        return [run["id"] for run in history.list_runs(limit=10, **filters)]

    assert ids() == runs[::-1]
    assert ids(workflow="a") == [runs[2], runs[0]]
    assert ids(status="failed") == [runs[2]]
    assert ids(since="2024-05-02T00:00:00.000000Z") == [runs[3], runs[2], runs[1]]
    assert ids(until="2024-05-02T09:00:00.000000Z") == [runs[0]]
    assert ids(before=runs[2]) == [runs[1], runs[0]]
    assert ids(workflow="b", since="2024-05-03T00:00:00.000000Z", before=runs[3]) == []
    assert history.workflows() == ["a", "b"]


def test_newest_inbox_items_by_status(storage: Storage) -> None:
    inbox = storage.inbox()
    for key in ("k1", "k2", "k3"):
        inbox.accept(INSTANCE, key, {"key": key})
    for _ in range(2):
        inbox.mark_failed(inbox.claim_next(), "boom", retry=False)
    assert [item.event_key for item in inbox.newest("failed", limit=5)] == ["k2", "k1"]
    assert [item.event_key for item in inbox.newest("failed", limit=1)] == ["k2"]
    assert [item.event_key for item in inbox.newest("pending", limit=5)] == ["k3"]


# -- leases ---------------------------------------------------------------------------------


def test_leases_have_one_owner_and_expire(storage: Storage, clock: FakeClock) -> None:
    leases, ttl = storage.leases, timedelta(seconds=30)
    first = leases.acquire("hooks:x", "host/1", ttl)
    assert first is not None and first.token == 1 and first.owner == "host/1"
    assert leases.acquire("hooks:x", "host/2", ttl) is None
    assert leases.acquire("hooks:x", "host/1", ttl).token == 1  # re-acquire extends
    clock.advance(seconds=20)
    assert leases.renew("hooks:x", "host/1", ttl).expires_at == "2024-05-01T09:00:50.000000Z"
    assert leases.renew("hooks:x", "host/2", ttl) is None
    clock.advance(seconds=31)
    assert leases.holder("hooks:x") is None  # expired
    taken = leases.acquire("hooks:x", "host/2", ttl)
    assert (taken.owner, taken.token) == ("host/2", 2)
    assert leases.renew("hooks:x", "host/1", ttl) is None  # lost it
    assert not leases.release("hooks:x", "host/1") and leases.release("hooks:x", "host/2")
    assert leases.holder("hooks:x") is None and leases.renew("hooks:x", "host/2", ttl) is None
    assert leases.acquire("hooks:x", "host/2", ttl).token == 3  # a new tenure
    assert leases.holder("hooks:x").owner == "host/2"
    with pytest.raises(ConfigurationError):
        leases.acquire("hooks:x", "host/2", timedelta(0))


def test_a_dead_holders_lease_is_taken_over_at_once(storage: Storage) -> None:
    leases, ttl = storage.leases, timedelta(seconds=30)
    held = leases.acquire("serve:x", "host/1#a", ttl)
    taken = leases.take_over("serve:x", "host/1#a", "host/2#b", ttl)  # not expired yet
    assert (taken.owner, taken.token) == ("host/2#b", held.token + 1)
    assert leases.take_over("serve:x", "host/1#a", "host/3#c", ttl) is None  # not its holder
    assert leases.renew("serve:x", "host/1#a", ttl) is None
    assert leases.holder("serve:x").owner == "host/2#b"


def test_concurrent_acquires_have_exactly_one_winner(storage: Storage) -> None:
    got = in_threads(6, lambda n: storage.leases.acquire("poll:y", f"host/{n}",
                                                         timedelta(seconds=30)))
    winners = [lease for lease in got if lease is not None]
    assert len(winners) == 1 and storage.leases.holder("poll:y") == winners[0]


# -- retention ------------------------------------------------------------------------------


def test_prune_bounds_rows_and_keeps_what_is_still_needed(storage: Storage,
                                                         clock: FakeClock) -> None:
    state, history, inbox = storage.state, storage.history, storage.inbox()
    state.put_cursor(INSTANCE, {"kind": "time"})
    state.save_subscription(Subscription(INSTANCE, "wh", "s"))
    storage.leases.acquire("hooks:x", "me", timedelta(days=400))
    for n in range(30):  # old: settled events and finished runs
        inbox.accept(INSTANCE, f"old-{n}", {"n": n}, raw_body=b"{}")
    for _ in range(10):
        inbox.mark_done(inbox.claim_next())
    inbox.mark_failed(inbox.claim_next(), "no", retry=False)
    processing = inbox.claim_next()
    old_runs = [history.start_run(workflow="w", trigger_key="t", origin="poll", event={},
                                  started_at="2024-05-01T09:00:00.000000Z") for _ in range(5)]
    for run in old_runs[1:]:
        history.finish_run(run, status="succeeded", finished_at="x", duration_ms=1)
    clock.advance(days=40)
    recent = [history.start_run(workflow="w", trigger_key="t", origin="poll", event={},
                                started_at="2024-06-10T09:00:00.000000Z") for _ in range(8)]
    for run in recent:
        history.finish_run(run, status="succeeded", finished_at="x", duration_ms=1)

    deleted = storage.prune(Retention(days=30, max_runs=5), now=clock())

    assert deleted == {"runs": 4 + 3, "dedupe_keys": 30, "inbox_events": 11, "deliveries": 11}
    assert history.get_run(old_runs[0])["status"] == "running"  # a running run stays
    assert [r["id"] for r in history.list_runs(limit=100)] == [*recent[::-1][:5], old_runs[0]]
    counts = state.counts()
    assert counts["inbox"] == 19 and counts["deliveries"] == 19  # pending + processing kept
    assert inbox.counts()["processing"] == 1 and inbox.mark_done(processing)
    assert counts["cursors"] == 1 and counts["subscriptions"] == 1 and counts["leases"] == 1
    assert storage.prune(Retention(days=30, max_runs=5), now=clock()) == {
        "runs": 0, "dedupe_keys": 0, "inbox_events": 0, "deliveries": 0}


def test_prune_works_in_batches(storage: Storage, clock: FakeClock) -> None:
    with storage.state.batch() as batch:
        for n in range(23):
            batch.record_key(INSTANCE, f"k{n}")
    clock.advance(days=2)
    assert storage.state.prune(clock() - timedelta(days=1), batch_size=5)["dedupe_keys"] == 23
    assert storage.state.counts()["dedupe"] == 0


def test_retention_settings_come_from_the_environment_or_the_arguments() -> None:
    assert Retention.from_env({}) == Retention(30, 100_000)
    env = {"LSQ_RETENTION_DAYS": "7", "LSQ_RETENTION_MAX_RUNS": "500"}
    assert Retention.from_env(env) == Retention(7, 500)
    assert Retention.from_env(env, days=3) == Retention(3, 500)
    for bad in ({"LSQ_RETENTION_DAYS": "0"}, {"LSQ_RETENTION_MAX_RUNS": "lots"}):
        with pytest.raises(ConfigurationError, match="LSQ_RETENTION"):
            Retention.from_env(bad)
