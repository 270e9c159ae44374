"""The runtime above the store does not know its backend: the polling engine, the receiver and a
dry-run list poll keep their guarantees on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.test import Client

from runtime.engine.polling import PollingEngine
from runtime.engine.receiver import SECRET_HEADER, WebhookReceiver, hook_path
from runtime.store.state import StateBatch, Subscription, instance_id
from runtime.store.storage import Storage, scratch_state
from tests.store.test_contract import in_threads
from tests.triggers_infra.helpers import T0, FakeClock, FakeList, FakeRecords

POLLED = instance_id("account_updated", {"company_type": "Partners"},
                     account="org-1@api-in21.leadsquared.com")
LISTED = instance_id("lead_added_to_list", {"list_id": "l1"},
                     account="org-1@api-in21.leadsquared.com")
HOOKED = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
CONFIG = {"company_type": "Partners"}


def keys(storage: Storage, instance: str) -> list[str]:
    return [item.event_key.split("@")[0] for item in storage.inbox().items(instance)]


def test_time_based_polls_commit_events_and_cursor_once(
    storage: Storage, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, engine = FakeRecords(), PollingEngine(storage.state, clock=clock)
    assert engine.poll(POLLED, source, None, CONFIG).baseline
    source.put("a", T0 + timedelta(seconds=1))

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk vanished")

    monkeypatch.setattr(StateBatch, "write_cursor", crash)
    with pytest.raises(OSError):
        engine.poll(POLLED, source, None, CONFIG)
    monkeypatch.undo()
    assert keys(storage, POLLED) == []  # the crash inside the commit kept nothing

    first = engine.fetch(POLLED, source, None, CONFIG)
    second = engine.fetch(POLLED, source, None, CONFIG)
    assert first.commit().emitted == 1
    late = second.commit()
    assert (late.emitted, late.conflict) == (0, True)
    source.put("b", T0 + timedelta(seconds=2))
    assert engine.poll(POLLED, source, None, CONFIG).emitted == 1
    assert keys(storage, POLLED) == ["a", "b"]


def test_concurrent_pollers_hand_each_event_on_once(storage: Storage, clock: FakeClock) -> None:
    source = FakeRecords(page_size=50)
    PollingEngine(storage.state, clock=clock).poll(POLLED, source, None, CONFIG)
    for n in range(40):
        source.put(f"r{n:02d}", T0 + timedelta(seconds=n + 1))
    results = in_threads(4, lambda _: PollingEngine(storage.state, clock=clock).poll(
        POLLED, source, None, CONFIG))
    assert sum(result.emitted for result in results) == 40
    assert sorted(keys(storage, POLLED)) == [f"r{n:02d}" for n in range(40)]


def test_list_snapshots_and_a_dry_run_on_a_scratch_copy(
    storage: Storage, clock: FakeClock, tmp_path: Path
) -> None:
    source = FakeList(members=["m1", "m2", "m3", "m4"])
    engine = PollingEngine(storage.state, clock=clock)
    assert engine.poll_members(LISTED, source, None, {}).baseline
    source.members.append("m5")
    source.members.remove("m1")
    with scratch_state(tmp_path / "dry", clock=clock) as copy:
        storage.state.copy_instance(LISTED, copy)
        seen: list = []
        PollingEngine(copy, clock=clock).poll_members(LISTED, source, None, {}, emit=seen.extend)
        assert [event.item_id for event in seen] == ["m5"]
    assert keys(storage, LISTED) == []  # the dry run changed nothing
    assert engine.poll_members(LISTED, source, None, {}).emitted == 1
    engine.poll_members(LISTED, source, None, {})
    source.members.append("m1")  # removed for two complete scans, then re-added: new again
    assert engine.poll_members(LISTED, source, None, {}).keys == ("m1@g4",)
    assert keys(storage, LISTED) == ["m5", "m1"]


def test_the_receiver_stores_verified_deliveries_once(storage: Storage) -> None:
    storage.state.save_subscription(Subscription(HOOKED, "wh", "the-secret"))
    client = Client(WebhookReceiver(storage.state, inbox=storage.inbox()))

    def post(body: object, secret: str = "the-secret") -> int:
        return client.post(hook_path(HOOKED), data=json.dumps(body),
                           content_type="application/json",
                           headers={SECRET_HEADER: secret}).status_code

    lead = {"ProspectID": "p1", "FirstName": "Asha"}
    assert (post(lead), post(lead), post(lead, secret="wrong")) == (200, 200, 401)
    assert post([lead, {"ProspectID": "p2"}]) == 200
    [first, second] = storage.inbox().items(HOOKED)
    assert first.payload == lead and second.payload == {"ProspectID": "p2"}
    assert storage.inbox().raw_body(first) == json.dumps(lead).encode()
