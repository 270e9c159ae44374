"""GET /metrics after a known sequence of calls, counted exactly (sandbox over HTTP); rate-limit
answers and governor waits; webhook answers; label rules; a listener's failure never reaches
the caller."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.governor import RateGovernor
from runtime.api.retry import RetryPolicy
from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.service import WorkflowService
from runtime.errors import RateLimitedError
from runtime.observe.events import BUS, ApiCall, Bus
from runtime.observe.metrics import MAX_OPERATIONS, Metrics
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    start_sandbox,
)
from runtime.store.history import HistoryStore
from runtime.store.state import StateStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.seed_ids import RAVI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WELCOME = "Welcome email for every new lead"
MISSING = "Find a lead that is not there"
FAILING = f"""
name: {MISSING}
trigger: {{key: new_lead}}
steps:
  - id: look
    action: find_lead
    input: {{email: "nobody@example.com", fail_if_not_found: true}}
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def named(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> dict:
    """The samples of one metric, by their labels as a dict's sorted items."""
    return {labels: value for (sample, labels), value in found.items() if sample == name}


def new_client(base_url: str, **options: Any) -> LeadSquaredClient:
    connection = Connection(
        access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
        api_host=DEFAULT_API_HOST, base_url=base_url,
    )
    return LeadSquaredClient(connection, **options)


@pytest.fixture
def service(
    manifest: Manifest, client: LeadSquaredClient, tmp_path: Path
) -> Iterator[tuple[WorkflowService, Metrics]]:
    """welcome_email plus a workflow that always fails, with /metrics mounted (not started)."""
    (tmp_path / "failing.yaml").write_text(FAILING, encoding="utf-8")
    schemas = ManifestSchemas(manifest)
    workflows = [load_workflow(EXAMPLES / "welcome_email.yaml", schemas),
                 load_workflow(tmp_path / "failing.yaml", schemas)]
    metrics = Metrics()
    with StateStore(tmp_path / "state.sqlite3") as store, \
            HistoryStore(tmp_path / "history.sqlite3") as history:
        runner = WorkflowRunner(manifest, ClientPool(lambda path: client), history)
        served = WorkflowService(workflows, runner, store, port=0, idle_wait=0.02,
                                 mounts={"/metrics": metrics.wsgi_app()})
        metrics.backlog = served.backlog
        try:
            yield served, metrics
        finally:
            served.stop()


def test_a_scrape_counts_a_known_sequence_exactly(
    service: tuple[WorkflowService, Metrics], manifest: Manifest, client: LeadSquaredClient,
    sandbox: RunningSandbox,
) -> None:
    served, metrics = service
    requests.post(f"{sandbox.base_url}/_sandbox/requests/clear", timeout=5).raise_for_status()
    with BUS.listening(metrics):
        served.start()  # subscribes new_lead: Webhook.svc/Retrieve, then Webhook.svc/Create
        invoke_action(manifest, "create_lead", {"fields": {
            "FirstName": "Meera", "LastName": "Nair", "EmailAddress": "meera.nair@example.com",
            "OwnerId": RAVI,
        }}, client)
        deadline = time.monotonic() + 20
        while len(served.runs) < 2:
            assert time.monotonic() < deadline, "the two runs did not happen"
            time.sleep(0.02)
        refused = requests.post(f"{served.url}/hooks/{next(iter(served.bindings))}",
                                json={"ProspectID": "x"}, headers={SECRET_HEADER: "wrong"},
                                timeout=5)
        assert refused.status_code == 401
        limited = new_client(sandbox.base_url, retry_policy=RetryPolicy(max_total_wait=0))
        sandbox.app.faults.configure(type(sandbox.app.faults.plan)(rates={"429": 1.0}))
        with pytest.raises(RateLimitedError):
            invoke_action(manifest, "find_lead", {"email": "priya.sharma@example.com"}, limited)
        sandbox.app.faults.configure(type(sandbox.app.faults.plan)())
        text = requests.get(f"{served.url}/metrics", timeout=5).text

    found = samples(text)
    instance = next(iter(served.bindings))
    assert named(found, "lsq_api_calls_total") == {
        (("operation", "Webhook.svc/Retrieve"), ("status", "200")): 1,
        (("operation", "Webhook.svc/Create"), ("status", "200")): 1,
        (("operation", "LeadManagement.svc/LeadsMetaData.Get"), ("status", "200")): 1,
        (("operation", "LeadManagement.svc/Lead.Create"), ("status", "200")): 1,
        (("operation", "EmailMarketing.svc/SendEmailToLead"), ("status", "200")): 1,
        (("operation", "LeadManagement.svc/Leads.GetByEmailaddress"), ("status", "200")): 1,
        (("operation", "LeadManagement.svc/Leads.GetByEmailaddress"), ("status", "429")): 1,
    }
    logged = [e["operation"] for e in requests.get(
        f"{sandbox.base_url}/_sandbox/requests", timeout=5).json()["requests"]]
    assert sum(named(found, "lsq_api_calls_total").values()) == len(logged) == 7
    assert named(found, "lsq_api_limit_answers_total") == {
        (("operation", "LeadManagement.svc/Leads.GetByEmailaddress"), ("status", "429")): 1,
    }
    assert sum(named(found, "lsq_api_call_duration_seconds_count").values()) == 7
    assert named(found, "lsq_runs_total") == {
        (("outcome", "succeeded"), ("workflow", WELCOME)): 1,
        (("outcome", "failed"), ("workflow", MISSING)): 1,
    }
    assert named(found, "lsq_run_duration_seconds_count") == named(found, "lsq_runs_total")
    assert named(found, "lsq_inbox_pending") == {(("instance", instance),): 0}
    assert named(found, "lsq_inbox_failed") == {(("instance", instance),): 0}
    assert named(found, "lsq_inbox_oldest_pending_age_seconds") == {(("instance", instance),): 0}
    assert named(found, "lsq_inbox_readable") == {(): 1}
    assert named(found, "process_open_fds")[()] > 0  # the standard process metrics too
    assert named(found, "lsq_governor_wait_seconds_count") == {}
    assert named(found, "lsq_webhook_deliveries_total") == {
        (("status", "200"),): 1, (("status", "401"),): 1,
    }
    for secret in (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, "meera.nair@example.com", "Meera"):
        assert secret not in text


def test_inbox_depth_and_age_are_read_when_scraped(
    service: tuple[WorkflowService, Metrics],
) -> None:
    served, metrics = service  # not started: nothing claims what arrives
    instance = next(iter(served.bindings))
    served.inbox.accept(instance, "lead-1@t", {"ProspectID": "lead-1"})
    served.inbox.accept(instance, "lead-2@t", {"ProspectID": "lead-2"})
    found = samples(metrics.render().decode())
    assert named(found, "lsq_inbox_pending") == {(("instance", instance),): 2}
    (age,) = named(found, "lsq_inbox_oldest_pending_age_seconds").values()
    assert 0 <= age < 60

    item = served.inbox.claim_next(instance)
    assert item is not None
    served.inbox.mark_failed(item, "boom", retry=False)
    found = samples(metrics.render().decode())
    assert named(found, "lsq_inbox_pending") == {(("instance", instance),): 1}
    assert named(found, "lsq_inbox_failed") == {(("instance", instance),): 1}


def test_an_unreadable_inbox_is_a_visible_zero_not_a_failed_scrape() -> None:
    def broken() -> list[Any]:
        raise OSError("database is locked")

    found = samples(Metrics(backlog=broken).render().decode())
    assert named(found, "lsq_inbox_readable") == {(): 0}
    assert named(found, "lsq_inbox_pending") == {}


@pytest.mark.parametrize("status", [429, 403], ids=["429", "403-exceeded-the-limit"])
def test_rate_limit_answers_are_counted_by_status(status: int, manifest: Manifest) -> None:
    metrics = Metrics()
    with start_sandbox(SandboxApp(rate_limit=1, rate_limit_status=status)) as sandbox, \
            new_client(sandbox.base_url, retry_policy=RetryPolicy(max_total_wait=0),
                       governor=RateGovernor(100)) as client, BUS.listening(metrics):
        invoke_action(manifest, "find_lead", {"email": "priya.sharma@example.com"}, client)
        with pytest.raises(RateLimitedError):
            invoke_action(manifest, "find_lead", {"email": "priya.sharma@example.com"}, client)
    found = samples(metrics.render().decode())
    operation = ("operation", "LeadManagement.svc/Leads.GetByEmailaddress")
    assert named(found, "lsq_api_limit_answers_total") == {(operation, ("status", str(status))): 1}
    assert named(found, "lsq_api_calls_total") == {
        (operation, ("status", "200")): 1, (operation, ("status", str(status))): 1,
    }


def test_governor_waits_are_timed_by_budget(
    manifest: Manifest, sandbox: RunningSandbox
) -> None:
    metrics = Metrics()
    governor = RateGovernor(1, window=0.05, margin=0.0)
    with new_client(sandbox.base_url, governor=governor) as client, BUS.listening(metrics):
        for _ in range(2):
            invoke_action(manifest, "find_lead", {"email": "priya.sharma@example.com"}, client)
    found = samples(metrics.render().decode())
    assert named(found, "lsq_governor_wait_seconds_count") == {(("budget", "calls"),): 1}
    (waited,) = named(found, "lsq_governor_wait_seconds_sum").values()
    assert 0 < waited < 5


@pytest.mark.parametrize(("operation", "label"), [
    ("LeadManagement.svc/Lead.Create", "LeadManagement.svc/Lead.Create"),
    ("LeadManagement.svc/Leads/Retrieve/ByIds", "LeadManagement.svc/Leads/Retrieve/ByIds"),
    ("LeadManagement.svc/Lead/1234", "LeadManagement.svc/Lead/{id}"),
    ("LeadManagement.svc/Lead/abc_def/Get", "LeadManagement.svc/Lead/{id}/Get"),
    ("Task.svc/RetrieveToDos/ByUserId", "Task.svc/RetrieveToDos/ByUserId"),
], ids=["plain", "nested", "number", "underscore", "task"])
def test_operation_labels_never_carry_ids(operation: str, label: str) -> None:
    assert Metrics().operation_label(operation) == label


def test_operation_labels_are_bounded() -> None:
    metrics = Metrics()
    labels = {metrics.operation_label(f"Svc.svc/Op{chr(65 + n // 26)}{chr(65 + n % 26)}")
              for n in range(MAX_OPERATIONS + 5)}
    assert len(labels) == MAX_OPERATIONS + 1 and "other" in labels


def test_a_failing_listener_never_reaches_the_emitter(caplog: pytest.LogCaptureFixture) -> None:
    bus, seen = Bus(), []

    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(seen.append)
    with caplog.at_level(logging.ERROR):
        bus.emit(ApiCall("Svc.svc/Op", "200", 0.01))
    assert seen == [ApiCall("Svc.svc/Op", "200", 0.01)]
    assert "observer" in caplog.text and "ApiCall" in caplog.text
    unsubscribe()
    bus.emit(ApiCall("Svc.svc/Op", "200", 0.01))
    assert len(seen) == 1


def test_registries_are_per_service() -> None:
    first, second = Metrics(), Metrics()
    with BUS.listening(first):
        BUS.emit(ApiCall("Svc.svc/Op", "200", 0.01))
    with BUS.listening(second):
        BUS.emit(ApiCall("Svc.svc/Op", "200", 0.01))
        BUS.emit(ApiCall("Svc.svc/Op", "200", 0.01))
    count = (("operation", "Svc.svc/Op"), ("status", "200"))
    assert named(samples(first.render().decode()), "lsq_api_calls_total") == {count: 1}
    assert named(samples(second.render().decode()), "lsq_api_calls_total") == {count: 2}
