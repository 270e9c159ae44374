"""The workflow service: webhooks and polls into the inbox, runs once per event, clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.service import Binding, WorkflowService
from runtime.plugin.manifest import Manifest
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import Workflow

from .conftest import FakeClient

HOOK_SECRET = "hook-secret-value-123"

INSTANT = """
    name: tag new leads
    trigger: {key: new_lead}
    steps:
      - id: tag
        action: update_lead
        input: {lead_id: "{{ trigger.ProspectID }}", fields: {mx_Source: "{{ trigger.FirstName }}"}}
"""
POLLING = """
    name: mark accounts
    trigger: {key: account_updated}
    poll_interval: 1
    steps:
      - id: mark
        action: update_lead
        input: {lead_id: "{{ trigger.CompanyId }}", fields: {mx_Name: "{{ trigger.CompanyName }}"}}
"""


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.sqlite3") as state:
        yield state


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as runs:
        yield runs


@pytest.fixture
def urls() -> list[str]:
    return []


@pytest.fixture
def make_service(
    fake_manifest: Manifest, fake_client: FakeClient, store: StateStore, history: HistoryStore,
    urls: list[str],
) -> Callable[..., WorkflowService]:
    def subscriber(binding: Binding, url: str, state: StateStore) -> None:
        state.save_subscription(Subscription(binding.instance, "wh-1", HOOK_SECRET, url, "3"))
        urls.append(url)

    def make(*workflows: Workflow) -> WorkflowService:
        runner = WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client), history)
        return WorkflowService(
            list(workflows), runner, store, port=0, subscriber=subscriber, idle_wait=0.02
        )

    return make


def deliver(url: str, lead: dict[str, str]) -> requests.Response:
    return requests.post(url, json=lead, headers={SECRET_HEADER: HOOK_SECRET}, timeout=5)


LEAD = {"ProspectID": "lead-7", "FirstName": "Ada", "ModifiedOn": "2024-05-01 10:00:00"}


def test_a_webhook_delivery_runs_the_workflow_once(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    fake_client: FakeClient, history: HistoryStore, store: StateStore, urls: list[str],
) -> None:
    service = make_service(make_workflow(INSTANT))
    with service:
        assert urls == [f"{service.url}/hooks/{next(iter(service.bindings))}"]
        assert deliver(urls[0], LEAD).json() == {"Status": "Success"}
        wait_until(lambda: service.runs)
        assert deliver(urls[0], LEAD).status_code == 200  # LeadSquared retrying: a duplicate
        wait_until(lambda: Inbox(store).counts()["done"] == 1)
        time.sleep(0.1)

    assert [r.status for r in service.runs] == ["succeeded"]
    assert [c for c in fake_client.calls if c[0] == "update_lead"] == [
        ("update_lead", {"lead_id": "lead-7", "fields": {"mx_Source": "Ada"}})
    ]
    (run,) = history.list_runs()
    assert run["origin"] == "webhook"
    assert run["event_key"] == "lead-7@2024-05-01 10:00:00#0"
    assert run["instance_id"] == next(iter(service.bindings))


def test_polls_run_new_changes_after_the_baseline(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    fake_client: FakeClient, history: HistoryStore,
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    fake_client.accounts.append({"CompanyId": "old", "CompanyName": "Old", "ModifiedOn": stamp})
    service = make_service(make_workflow(POLLING))
    with service:
        assert not service.receiving  # no instant trigger: no receiver
        time.sleep(0.2)
        assert service.runs == []  # the first poll is a baseline
        fake_client.accounts.append(
            {"CompanyId": "new", "CompanyName": "Initech",
             "ModifiedOn": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")}
        )
        wait_until(lambda: service.runs)

    assert [r.event["CompanyId"] for r in service.runs] == ["new"]
    assert history.list_runs()[0]["origin"] == "poll"


def test_a_reclaimed_item_never_runs_twice(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    fake_client: FakeClient, store: StateStore,
) -> None:
    service = make_service(make_workflow(INSTANT))
    (binding,) = service.bindings.values()
    inbox = Inbox(store)
    inbox.accept(binding.instance, "lead-7@t", LEAD)
    item = inbox.claim_next(binding.instance)
    service.process(binding, item)
    inbox.release_claims()  # as if mark_done had been lost: the item is handed out again
    with store.db.transaction() as tx:
        tx.execute("UPDATE inbox SET status = 'pending' WHERE id = ?", (item.id,))
    service.process(binding, inbox.claim_next(binding.instance))

    assert len(service.runs) == 1
    assert len([c for c in fake_client.calls if c[0] == "update_lead"]) == 1
    assert inbox.counts(binding.instance)["done"] == 1


def test_stop_finishes_the_run_in_flight_and_stops_accepting(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    fake_client: FakeClient, store: StateStore, urls: list[str],
) -> None:
    fake_client.gate = threading.Event()
    service = make_service(make_workflow(INSTANT))
    service.start()
    deliver(urls[0], LEAD)
    wait_until(lambda: any(c[0] == "update_lead" for c in fake_client.calls))
    stopper = threading.Thread(target=service.stop)
    stopper.start()
    wait_until(lambda: _refused(urls[0]))  # the receiver stopped accepting at once
    assert stopper.is_alive()  # ... while the run is still in flight
    fake_client.gate.set()
    stopper.join(10)

    assert not stopper.is_alive()
    assert [r.status for r in service.runs] == ["succeeded"]
    assert Inbox(store).counts() == {"pending": 0, "processing": 0, "done": 1, "failed": 0}


def test_events_accepted_while_stopped_run_after_a_restart(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    store: StateStore,
) -> None:
    flow = make_workflow(INSTANT)
    first = make_service(flow)
    (instance,) = first.bindings
    Inbox(store).accept(instance, "lead-7@t", LEAD)  # e.g. stored by a separate receiver
    second = make_service(flow)
    with second:
        wait_until(lambda: second.runs)
    assert Inbox(store).counts()["done"] == 1


def test_events_failure_puts_retriable_items_back(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
    store: StateStore,
) -> None:
    from runtime.errors import TransientApiError

    service = make_service(make_workflow(INSTANT))
    (binding,) = service.bindings.values()

    def failing_events(client: object, config: object, item: object) -> list[dict[str, str]]:
        raise TransientApiError("try later", operation="LeadManagement.svc/Leads.Get", status=503)

    binding.module = type("M", (), {"events": staticmethod(failing_events)})
    inbox = Inbox(store)
    inbox.accept(binding.instance, "k", LEAD)
    service.process(binding, inbox.claim_next(binding.instance))

    assert inbox.counts()["pending"] == 1
    assert service.runs == []


def test_workflow_names_must_be_unique(
    make_service: Callable[..., WorkflowService], make_workflow: Callable[[str], Workflow],
) -> None:
    from runtime.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="two workflows are named 'tag new leads'"):
        make_service(make_workflow(INSTANT, "a.yaml"), make_workflow(INSTANT, "b.yaml"))


def _refused(url: str) -> bool:
    try:
        requests.post(url, json={}, timeout=1)
    except requests.ConnectionError:
        return True
    return False


def test_public_url_must_be_a_base_url(
    fake_manifest: Manifest, fake_client: FakeClient, store: StateStore,
    make_workflow: Callable[[str], Workflow],
) -> None:
    from runtime.errors import ConfigurationError

    runner = WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client))
    with pytest.raises(ConfigurationError, match="not a receiver base URL"):
        WorkflowService([make_workflow(INSTANT)], runner, store,
                        public_url="https://hooks.example.com/x?token=1")
