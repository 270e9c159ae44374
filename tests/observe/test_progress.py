"""Progress lines: one per run, per poll that found events, per failure with its classified
error, a summary; as text or JSON lines; never a secret. Driven through a real service (fake
connector) and through `lsq serve` itself."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime.engine.service import WorkflowService
from runtime.errors import TransientApiError
from runtime.observe.events import (
    BUS,
    ApiCall,
    Failure,
    PollFinished,
    Problem,
    RunFinished,
    WebhookAnswered,
)
from runtime.observe.metrics import Backlog
from runtime.observe.progress import Progress
from runtime.plugin.manifest import Manifest
from runtime.store.history import HistoryStore
from runtime.store.state import StateStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import Workflow
from tests.workflows.conftest import SECRET, FakeClient

NOW = "2026-12-05T10:00:00Z"
RUN = RunFinished("welcome", "new_lead", "new_lead-abc", "lead-7@2024-05-01 10:00:00#0",
                  "succeeded", 0.084, 12)
FAILED_RUN = RunFinished(
    "welcome", "new_lead", "new_lead-abc", "lead-8@2024-05-01 10:00:00#0", "failed", 12.5, 13,
    Problem("permanent", "EmailMarketing.svc/SendEmailToLead HTTP 500: no template", "mail"))
RETRY = RunFinished("welcome", "new_lead", "new_lead-abc", None, "succeeded", 0.05, 14,
                    retry_of=13)
MANUAL = RunFinished("welcome", "new_lead", None, None, "succeeded", 0.05, 15)
POLL = PollFinished("account_updated", "account_updated-def", 3, False, True, 0.0, 0.412)
BASELINE = PollFinished("account_updated", "account_updated-def", 0, True, True, 0.0, 0.002)
PARTIAL = PollFinished("account_updated", "account_updated-def", 1, False, False, 0.0, 1.0)
POLL_FAILED = Failure("poll", "account_updated", "account_updated-def",
                      Problem("transient", "Companies.Get HTTP 503: unavailable"))

LINES = [
    (RUN, "run 12 succeeded: welcome <- new_lead lead-7@2024-05-01 10:00:00#0 in 84 ms",
     {"type": "run", "run_id": 12, "workflow": "welcome", "trigger": "new_lead",
      "instance": "new_lead-abc", "record": "lead-7@2024-05-01 10:00:00#0",
      "outcome": "succeeded", "duration_ms": 84, "error": None}),
    (FAILED_RUN, "FAILED run 13 failed: welcome <- new_lead lead-8@2024-05-01 10:00:00#0 in "
     "12.5 s — step mail: permanent: EmailMarketing.svc/SendEmailToLead HTTP 500: no template",
     {"type": "run", "run_id": 13, "outcome": "failed", "duration_ms": 12500,
      "error": {"category": "permanent", "step": "mail",
                "message": "EmailMarketing.svc/SendEmailToLead HTTP 500: no template"}}),
    (POLL, "poll account_updated [account_updated-def]: 3 new events in 412 ms",
     {"type": "poll", "trigger": "account_updated", "instance": "account_updated-def",
      "events": 3, "baseline": False, "complete": True, "duration_ms": 412}),
    (BASELINE, "poll account_updated [account_updated-def]: baseline taken in 2 ms",
     {"type": "poll", "events": 0, "baseline": True}),
    (PARTIAL, "poll account_updated [account_updated-def]: 1 new event in 1000 ms; budget used "
     "up, continues next poll", {"type": "poll", "complete": False}),
    (POLL_FAILED, "FAILED poll account_updated [account_updated-def] (retry) — transient: "
     "Companies.Get HTTP 503: unavailable",
     {"type": "failure", "where": "poll", "outcome": "retry",
      "error": {"category": "transient", "message": "Companies.Get HTTP 503: unavailable",
                "step": None}}),
    (RETRY, "run 14 succeeded: welcome <- new_lead (retry of run 13) in 50 ms",
     {"type": "run", "run_id": 14, "record": None, "retry_of": 13}),
    (MANUAL, "run 15 succeeded: welcome <- new_lead (manual) in 50 ms",
     {"type": "run", "run_id": 15, "record": None, "retry_of": None}),
]


def progress(json_lines: bool = False, **options: Any) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    return Progress(out, json_lines=json_lines, now=lambda: NOW, **options), out


@pytest.mark.parametrize(("event", "text", "fields"), LINES,
                         ids=["run", "failed-run", "poll", "baseline", "partial", "poll-failed",
                              "retry", "manual"])
def test_one_line_per_event(event: Any, text: str, fields: dict[str, Any]) -> None:
    as_text, out = progress()
    as_text(event)
    assert out.getvalue() == f"{NOW} {text}\n"

    as_json, out = progress(json_lines=True)
    as_json(event)
    (line,) = out.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["time"] == NOW
    assert {name: parsed[name] for name in fields} == fields


@pytest.mark.parametrize("event", [
    PollFinished("account_updated", "account_updated-def", 0, False, True, 0.0, 0.1),
    ApiCall("LeadManagement.svc/Lead.Create", "200", 0.01),
], ids=["idle-poll", "api-call"])
def test_quiet_events_only_count(event: Any) -> None:
    listener, out = progress()
    listener(event)
    assert out.getvalue() == ""


def test_the_summary_covers_its_interval() -> None:
    listener, out = progress(summary_every=30, backlog=lambda: [Backlog("i", 4, 1, 2.0)])
    for event in (RUN, FAILED_RUN, POLL, POLL_FAILED, WebhookAnswered(200),
                  WebhookAnswered(200), WebhookAnswered(401),
                  ApiCall("Svc.svc/Op", "200", 0.1), ApiCall("Svc.svc/Op", "429", 0.1, True)):
        listener(event)
    out.seek(0)
    out.truncate()
    listener.write_summary()
    assert out.getvalue() == (
        f"{NOW} summary (last 30 s): 2 runs (1 succeeded, 1 failed), 1 poll found 3 events, "
        "2 webhook deliveries (1 refused), 2 API calls (1 rate-limited), 1 other failure, "
        "inbox 4 pending\n"
    )
    text, fields = listener.summary()  # a new interval: nothing happened in it
    assert text == ("summary (last 30 s): 0 runs, 0 polls found 0 events, 0 webhook "
                    "deliveries, 0 API calls (0 rate-limited), 0 other failures, inbox 4 pending")
    assert fields == {"type": "summary", "seconds": 30,
                      "runs": {"succeeded": 0, "failed": 0, "completed_with_errors": 0},
                      "polls": 0, "events": 0, "webhooks": 0, "webhooks_refused": 0,
                      "api_calls": 0, "limited": 0, "failures": 0, "pending": 4}


# ------------------------------------------------------------------- through a service

MARK = """
    name: mark accounts
    trigger: {key: account_updated}
    steps:
      - id: mark
        action: update_lead
        input: {lead_id: "{{ trigger.CompanyId }}", fields: {mx_Name: "{{ trigger.CompanyName }}"}}
"""
MAIL = """
    name: mail accounts
    trigger: {key: account_updated}
    steps:
      - id: mail
        action: send_email
        input: {lead_id: "{{ trigger.CompanyId }}", subject: bug}
"""
MAIL_THEN_MARK = """
    name: mail then mark
    trigger: {key: account_updated}
    steps:
      - id: mail
        action: send_email
        on_error: continue
        input: {lead_id: "{{ trigger.CompanyId }}", subject: bug}
      - id: mark
        action: update_lead
        input: {lead_id: "{{ trigger.CompanyId }}", fields: {mx_Name: "{{ trigger.CompanyName }}"}}
"""
LEADS = """
    name: greet leads
    trigger: {key: new_lead}
    steps:
      - id: mail
        action: send_email
        input: {lead_id: "{{ trigger.ProspectID }}", subject: hello}
"""


class Unreachable:
    """Accounts that cannot be read: the fake poll raises a classified error naming the key."""

    def __iter__(self) -> Iterator[Any]:
        raise TransientApiError(f"connection reset (sent key {SECRET})",
                                operation="CompanyManagement.svc/Companies.Get")


@pytest.fixture
def service(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[..., Workflow],
    tmp_path: Path,
) -> Iterator[WorkflowService]:
    workflows = [make_workflow(MARK, "mark.yaml"), make_workflow(MAIL, "mail.yaml"),
                 make_workflow(LEADS, "leads.yaml")]
    with StateStore(tmp_path / "state.sqlite3") as store, \
            HistoryStore(tmp_path / "history.sqlite3") as history:
        runner = WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client), history)
        yield WorkflowService(workflows, runner, store, port=0)  # driven by hand, not started


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_a_service_reports_polls_runs_and_failures(
    service: WorkflowService, fake_client: FakeClient, json_lines: bool
) -> None:
    polled, instant = (next(b for b in service.bindings.values() if b.polling == kind)
                       for kind in (True, False))
    listener, out = progress(json_lines=json_lines)
    with BUS.listening(listener):
        fake_client.accounts = Unreachable()  # type: ignore[assignment]
        service._poll(polled)
        fake_client.accounts = []
        service._poll(polled)  # the baseline
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        fake_client.accounts.append({"CompanyId": "c-9", "CompanyName": "Initech",
                                     "ModifiedOn": stamp})
        service._poll(polled)
        item = service.inbox.claim_next(polled.instance)
        assert item is not None
        service.process(polled, item)
        service.inbox.accept(instant.instance, "broken", {"no id": SECRET})
        item = service.inbox.claim_next(instant.instance)
        assert item is not None
        service.process(instant, item)

    lines = out.getvalue().splitlines()
    assert SECRET not in out.getvalue()
    if json_lines:
        assert [(line["type"], line.get("outcome")) for line in map(json.loads, lines)] == [
            ("failure", "retry"), ("poll", None), ("poll", None),
            ("run", "succeeded"), ("run", "failed"), ("failure", "retry"),
        ]
        return
    p, i = polled.instance, instant.instance
    expected = [
        rf"FAILED poll account_updated \[{p}\] \(retry\) — transient: "
        r"CompanyManagement.svc/Companies.Get: connection reset \(sent key \*\*\*\)",
        rf"poll account_updated \[{p}\]: baseline taken in \d+ ms",
        rf"poll account_updated \[{p}\]: 1 new event in \d+ ms",
        r"run 1 succeeded: mark accounts <- account_updated c-9@\S+#0 in \d+ ms",
        r"FAILED run 2 failed: mail accounts <- account_updated c-9@\S+#0 in \d+ ms — "
        r"step mail: internal: handler bug with \*\*\*",
        # an unexpected error is retried (supervised work) before the item is dead-lettered
        rf"FAILED inbox item new_lead \[{i}\] \(retry\) — internal: KeyError: 'ProspectID'",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(rf"{NOW} {pattern}", line), line


def test_lines_held_back_come_out_on_start() -> None:
    listener, out = progress(summary_every=3600)
    listener.hold()
    listener(BASELINE)
    assert out.getvalue() == ""
    out.write("banner\n")
    listener.start()
    listener(POLL)
    listener.stop()
    assert [line.split(" ", 1)[1] for line in out.getvalue().splitlines()[1:]] == [
        LINES[3][1], LINES[2][1],
    ]


class GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_left_ends_the_lines_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = Progress(GoneReader(), now=lambda: NOW)
    for event in (RUN, FAILED_RUN, POLL):
        listener(event)  # never raises into the emitter (the service)
    listener.write_summary()
    assert [r.getMessage() for r in caplog.records] == [
        "progress lines stopped: their output is gone (BrokenPipeError)"
    ]


def test_a_run_completed_with_errors_names_its_first_failed_step(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[..., Workflow],
) -> None:
    workflow = make_workflow(MAIL_THEN_MARK)
    runner = WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client))
    seen: list[Any] = []
    with BUS.listening(seen.append):
        runner.run(workflow, {"CompanyId": "c-1", "CompanyName": "Initech"}, event_key="c-1@t#0")
    (finished,) = [event for event in seen if isinstance(event, RunFinished)]
    assert (finished.outcome, finished.error) == (
        "completed_with_errors", Problem("internal", "handler bug with ***", "mail"))
    listener, out = progress()
    listener(finished)
    assert out.getvalue().endswith(" — step mail: internal: handler bug with ***\n")


def test_a_dead_lettered_item_reports_its_failed_runs(service: WorkflowService) -> None:
    instant = next(b for b in service.bindings.values() if not b.polling)
    service.inbox.accept(instant.instance, "broken", {"no id": SECRET})
    seen: list[Any] = []
    with BUS.listening(seen.append):
        while (item := service.inbox.claim_next(instant.instance)) is not None:
            service.process(instant, item)
    failures = [event for event in seen if isinstance(event, Failure)]
    assert [(f.where, f.outcome) for f in failures] == [("item", "retry")] * 4 + [
        ("item", "failed")]
    (run,) = [event for event in seen if isinstance(event, RunFinished)]
    assert (run.workflow, run.outcome, run.error and run.error.category) == (
        "greet leads", "failed", "internal")
    assert run.record is not None and run.record.startswith("broken#dead-letter@")
    assert run.run_id == service.runner.history.list_runs()[0]["id"]
    assert SECRET not in repr(seen)
