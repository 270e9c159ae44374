"""The state store and the inbox: paths, ids, cursors, subscriptions, claims, concurrency."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta

import pytest

from runtime.errors import ConfigurationError
from runtime.store.inbox import Inbox
from runtime.store.state import (
    StateStore,
    Subscription,
    default_state_path,
    instance_id,
    trigger_key_of,
)

from .helpers import T0

ACCESS_KEY = "u$rVerySecretAccessKey123"
ACCOUNT = "3c8e5a1f-7d2b-4f60-b9e4-5a0c1d2e4187@api-in21.leadsquared.com"
INSTANCE = instance_id("new_account", {"company_type": "Company"}, account=ACCOUNT)
OTHER = instance_id("new_lead", {}, account=ACCOUNT)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "nested" / "state.sqlite3"


# -- location, file, ids ---------------------------------------------------------------------


def test_default_path_is_under_the_current_directory_and_env_overrides_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_state_path({}) == tmp_path / ".lsq" / "state.sqlite3"
    custom = tmp_path / "elsewhere.sqlite3"
    with StateStore(environ={"LSQ_STATE_DB": str(custom)}) as store:
        assert store.path == custom and custom.exists()
    with StateStore(environ={}) as store:
        assert store.path == tmp_path / ".lsq" / "state.sqlite3" and store.path.exists()


def test_the_file_is_private_and_in_wal_mode(store, db_path):
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert store.db.query("PRAGMA journal_mode")[0][0] == "wal"


def test_an_unwritable_location_is_a_configuration_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="cannot open the state file"):
        StateStore(blocker / "state.sqlite3")


def test_instance_ids_are_stable_shaped_and_keyed_by_the_account():
    again = instance_id("new_account", {"company_type": "Company"}, account=f" {ACCOUNT.upper()}")
    assert again == INSTANCE and INSTANCE.startswith("new_account-") and len(INSTANCE) == 32
    assert trigger_key_of(INSTANCE) == "new_account"
    other_org = ACCOUNT.replace("3c8e5a1f", "9a41d6c2")
    other_host = ACCOUNT.replace("api-in21", "api-us11")
    assert instance_id("new_account", {"company_type": "Company"}, account=other_org) != INSTANCE
    assert instance_id("new_account", {"company_type": "Company"}, account=other_host) != INSTANCE
    with pytest.raises(ConfigurationError):
        instance_id("New Account", {}, account=ACCOUNT)
    with pytest.raises(ConfigurationError):
        instance_id("new_account", {}, account=" ")
    with pytest.raises(ConfigurationError):
        trigger_key_of("../etc/passwd")


# -- cursors ---------------------------------------------------------------------------------


def test_cursor_compare_and_set_and_persistence(store, db_path, clock):
    assert store.get_cursor(INSTANCE) is None
    assert store.put_cursor(INSTANCE, {"n": 1}, expected_version=0) == 1
    assert store.put_cursor(INSTANCE, {"n": 2}, expected_version=0) is None
    assert store.put_cursor(INSTANCE, {"n": 2}, expected_version=1) == 2
    assert store.put_cursor(INSTANCE, {"n": 3}, expected_version=1) is None
    assert store.put_cursor(INSTANCE, {"n": 3}) == 3
    store.close()
    with StateStore(db_path, clock=clock) as reopened:
        record = reopened.get_cursor(INSTANCE)
        assert (record.value, record.version) == ({"n": 3}, 3)


def test_reset_forgets_cursor_dedupe_and_snapshot_but_keeps_inbox_and_subscription(store):
    store.put_cursor(INSTANCE, {"kind": "time"})
    Inbox(store).accept(INSTANCE, "k1", {"a": 1})
    with store.db.transaction() as tx:
        tx.execute("INSERT INTO snapshot VALUES (?, 'm1', 1)", (INSTANCE,))
    store.save_subscription(Subscription(INSTANCE, "wh1", "sekrit"))
    store.reset(INSTANCE)
    reset = store.get_cursor(INSTANCE)
    assert (reset.value, reset.version) == ({}, 2) and not store.seen(INSTANCE, "k1")
    [summary] = store.show()["instances"]
    assert summary["snapshot_members"] == 0 and summary["inbox"] == {"pending": 1}
    assert summary["subscription"]["webhook_id"] == "wh1"
    store.reset(INSTANCE, since=T0)
    assert store.get_cursor(INSTANCE).value == {"start": "2024-05-01T09:00:00.000000Z"}


# -- subscriptions and show ------------------------------------------------------------------


def test_subscriptions_round_trip_and_the_secret_is_never_shown(store):
    subscription = Subscription(INSTANCE, "wh-42", "TopSecretValue", "https://x/hooks/i", "3")
    store.save_subscription(subscription)
    stored = store.get_subscription(INSTANCE)
    assert stored.secret == "TopSecretValue" and stored.created_at == "2024-05-01T09:00:00.000000Z"
    assert "TopSecretValue" not in repr(stored)
    assert [s.webhook_id for s in store.list_subscriptions()] == ["wh-42"]
    store.put_cursor(INSTANCE, {"kind": "time", "seen": [["t", "a"], ["t", "b"]]})
    shown = store.show()
    assert "TopSecretValue" not in json.dumps(shown)
    [summary] = shown["instances"]
    assert summary["subscription"] == {
        "instance_id": INSTANCE, "webhook_id": "wh-42", "receiver_url": "https://x/hooks/i",
        "event_code": "3", "created_at": "2024-05-01T09:00:00.000000Z"}
    assert summary["cursor"]["seen_count"] == 2 and "seen" not in summary["cursor"]
    assert store.delete_subscription(INSTANCE) and store.get_subscription(INSTANCE) is None


def test_prune_drops_old_keys_and_finished_events_only(store, clock):
    inbox = Inbox(store)
    inbox.accept(INSTANCE, "old-done", {"n": 1}, raw_body=b'{"n":1}')
    inbox.accept(INSTANCE, "old-pending", {"n": 2})
    inbox.mark_done(inbox.claim_next())
    clock.advance(days=40)
    inbox.accept(INSTANCE, "recent", {"n": 3})
    assert store.prune(clock() - timedelta(days=30)) == {
        "dedupe_keys": 2, "inbox_events": 1, "deliveries": 1}
    assert [i.event_key for i in inbox.items()] == ["old-pending", "recent"]
    assert store.db.query("SELECT COUNT(*) FROM deliveries")[0][0] == 0


# -- inbox -----------------------------------------------------------------------------------


def test_accept_dedupes_per_instance(store):
    inbox = Inbox(store)
    assert inbox.accept(INSTANCE, "k", {"a": 1}) is True
    assert inbox.accept(INSTANCE, "k", {"a": 2}) is False
    assert inbox.accept(OTHER, "k", {"a": 3}) is True
    assert [i.payload for i in inbox.items()] == [{"a": 1}, {"a": 3}]


def test_claims_are_fifo_filtered_and_settled_with_their_token(store):
    inbox = Inbox(store)
    for n in range(3):
        inbox.accept(INSTANCE if n != 1 else OTHER, f"k{n}", {"n": n})
    first = inbox.claim_next(INSTANCE)
    second = inbox.claim_next(INSTANCE)
    assert (first.payload, second.payload, inbox.claim_next(INSTANCE)) == ({"n": 0}, {"n": 2}, None)
    assert inbox.mark_done(first) and not inbox.mark_done(first)
    assert inbox.mark_failed(second, "LeadSquared said no", retry=True) == "pending"
    again = inbox.claim_next(INSTANCE)
    assert (again.id, again.attempts) == (second.id, 2)
    assert inbox.mark_failed(again, "permanent", retry=False) == "failed"
    assert inbox.get(again.id).error == "permanent"
    assert inbox.counts(INSTANCE) == {"pending": 0, "processing": 0, "done": 1, "failed": 1}
    assert inbox.retry_failed(INSTANCE) == 1 and inbox.counts(INSTANCE)["pending"] == 1


def test_an_event_whose_claims_keep_expiring_is_failed_after_max_attempts(store, clock):
    inbox = Inbox(store, claim_ttl=timedelta(minutes=1), max_attempts=3)
    inbox.accept(INSTANCE, "poison", {"p": 1})
    for attempt in (1, 2, 3):
        item = inbox.claim_next()
        assert item.attempts == attempt  # the runner crashes every time
        assert inbox.claim_next() is None  # still claimed
        clock.advance(minutes=2)
    assert inbox.claim_next() is None
    [failed] = inbox.items(status="failed")
    assert failed.error == "gave up: the claim expired 3 times without a result"


def test_renewing_a_claim_keeps_it_past_the_original_expiry(store, clock):
    inbox = Inbox(store, claim_ttl=timedelta(minutes=5))
    inbox.accept(INSTANCE, "long-run", {"a": 1})
    claimed = inbox.claim_next()
    clock.advance(minutes=4)
    assert inbox.renew_claim(claimed)
    clock.advance(minutes=4)
    assert inbox.claim_next() is None
    clock.advance(minutes=2)
    reclaimed = inbox.claim_next()
    assert reclaimed.id == claimed.id and not inbox.renew_claim(claimed)


def test_release_claims_returns_processing_events_to_pending(store):
    inbox = Inbox(store)
    inbox.accept(INSTANCE, "k", {"a": 1})
    claimed = inbox.claim_next()
    assert inbox.release_claims() == 1
    assert inbox.claim_next().id == claimed.id
    assert inbox.mark_done(claimed) is False  # the released claim is void


def test_threads_accepting_overlapping_keys_store_each_once(store):
    inbox = Inbox(store)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [inbox.accept(INSTANCE, f"key-{n}", {"n": n}) for n in range(40)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 40 and inbox.counts(INSTANCE)["pending"] == 40


def test_processes_sharing_the_file_store_each_key_once(store, db_path):
    script = textwrap.dedent(
        f"""
        from runtime.store.state import StateStore
        from runtime.store.inbox import Inbox
        store = StateStore({str(db_path)!r})
        inbox = Inbox(store)
        print(sum(inbox.accept({INSTANCE!r}, f"key-{{n}}", {{"n": n}}) for n in range(60)))
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sum(int(out) for out in outputs) == 60
    assert Inbox(store).counts(INSTANCE)["pending"] == 60
