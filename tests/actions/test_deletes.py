"""Truthful deletes (operations/_deletes.py): every delete action says what happened.

One table, one row per delete action: the seeded record it deletes, the look-up it makes first
and the exact delete request (literal values). Each row runs three ways against the sandbox
(present, already absent, and a lost answer: the delete is processed, its connection dropped,
and the retry is told "not found") and once against a fake transport for the answers that say
nothing was deleted while the record stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke
from tests.fakes import FakeLeadSquared, fake_connection, mx_error, ok
from tests.seed_ids import ACME, MISSING, NEHA

OPPORTUNITY = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"
TASK = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
ACTIVITY = "5e2b8d41-7a9c-4f03-b6e2-000000000a01"


@dataclass(frozen=True)
class DeleteCase:
    """One delete action: its inputs for ``record``, the look-up and the delete it sends."""

    key: str
    id_name: str
    record: str
    lookup: tuple[str, str, dict[str, Any] | None]
    """(method, operation, query) of the look-up; a POST's body is checked by ``lookup_body``."""
    delete: tuple[str, str, dict[str, str], Any]
    """(method, operation, query, body) of the delete."""
    collection: str
    """The sandbox tenant attribute holding the record."""
    extra: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    """Output fields beside id, result and deleted, when deleted."""
    absent_output: dict[str, Any] = field(default_factory=dict)

    def inputs(self, record: str) -> dict[str, Any]:
        return {self.id_name: record, **self.extra}


CASES = [
    DeleteCase(
        "delete_lead", "lead_id", NEHA,
        ("GET", "LeadManagement.svc/Leads.GetById", {"id": NEHA}),
        ("GET", "LeadManagement.svc/Lead/Delete/ById", {"leadId": NEHA}, None),
        "leads", settings={"lead_delete_enabled": True},
    ),
    DeleteCase(
        "delete_account", "account_id", ACME,
        ("POST", "CompanyManagement.svc/Company.Get", {}),
        ("GET", "CompanyManagement.svc/Company.Delete",
         {"companyId": ACME, "withLeadDelete": "false"}, None),
        "companies", extra={"company_type": "Company"},
        output={"leads_deleted": False}, absent_output={"leads_deleted": False},
    ),
    DeleteCase(
        "delete_opportunity", "opportunity_id", OPPORTUNITY,
        ("GET", "OpportunityManagement.svc/GetOpportunityDetails",
         {"OpportunityId": OPPORTUNITY}),
        ("GET", "OpportunityManagement.svc/Delete", {"Id": OPPORTUNITY}, None),
        "opportunities", output={"failure_reason": None},
        absent_output={"failure_reason": "no opportunity with this id"},
    ),
    DeleteCase(
        "delete_task", "task_id", TASK,
        ("GET", "Task.svc/Retrieve.GetById", {"id": TASK}),
        ("POST", "Task.svc/DeleteTasks", {}, {"TaskIds": [TASK]}),
        "tasks", output={"tasks_count": 1, "deleted_tasks_count": 1, "failure_reason": None},
        absent_output={"tasks_count": 0, "deleted_tasks_count": 0,
                       "failure_reason": "no task with this id"},
    ),
    DeleteCase(
        "delete_account_activity", "activity_id", ACTIVITY,
        ("GET", "CompanyActivity.svc/RetrieveById", {"activityId": ACTIVITY}),
        ("GET", "CompanyActivity.svc/Delete", {"activityId": ACTIVITY}, None),
        "account_activities",
    ),
]
IDS = [case.key for case in CASES]


def stored(sandbox: RunningSandbox, case: DeleteCase) -> dict[str, Any]:
    return getattr(sandbox.app.state.tenants["41872"], case.collection)


@pytest.fixture
def prepared(raw_api: Any) -> Callable[[DeleteCase], None]:
    def prepare(case: DeleteCase) -> None:
        if case.settings:
            raw_api.control("POST", "settings", case.settings)

    return prepare


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_present_record_is_looked_up_then_deleted(
    case: DeleteCase, invoke: Invoke, request_log: Any, sandbox: RunningSandbox,
    prepared: Callable[[DeleteCase], None],
) -> None:
    prepared(case)
    output = invoke(case.key, case.inputs(case.record))
    assert output == {case.id_name: case.record, "result": "deleted", "deleted": True,
                      **case.output}
    lookup, delete = request_log.all()
    method, operation, query = case.lookup
    assert (lookup["method"], lookup["operation"]) == (method, operation)
    assert method == "POST" or lookup["query"] == query
    assert (delete["method"], delete["operation"], delete["query"], delete["body"]) == (
        case.delete)
    assert case.record not in stored(sandbox, case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_absent_record_is_reported_and_nothing_is_sent(
    case: DeleteCase, invoke: Invoke, request_log: Any, prepared: Callable[[DeleteCase], None],
) -> None:
    prepared(case)
    output = invoke(case.key, case.inputs(MISSING))
    assert output == {case.id_name: MISSING, "result": "already_absent", "deleted": False,
                      **case.absent_output}
    assert [entry["operation"] for entry in request_log.all()] == [case.lookup[1]]


@pytest.fixture
def lose_first_answer(sandbox: RunningSandbox) -> Iterator[Callable[[str], list[str]]]:
    """``lose(operation)``: its next call is processed, then the connection is dropped without
    an answer (the sandbox's "drop" fault, aimed); later calls are answered normally."""
    app = sandbox.app
    serve = app._serve_api

    def lose(operation: str) -> list[str]:
        lost: list[str] = []

        def serve_once(request: Any) -> Any:
            status, body, entry, drop = serve(request)
            if entry is not None and entry["operation"] == operation and not lost:
                lost.append(operation)
                return status, body, entry, True
            return status, body, entry, drop

        app._serve_api = serve_once  # type: ignore[method-assign]
        return lost

    yield lose
    app._serve_api = serve  # type: ignore[method-assign]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_retry_after_a_lost_answer_still_reports_deleted(
    case: DeleteCase, manifest: Manifest, sandbox: RunningSandbox, request_log: Any,
    prepared: Callable[[DeleteCase], None], lose_first_answer: Callable[[str], list[str]],
    quick_client: LeadSquaredClient,
) -> None:
    prepared(case)
    lost = lose_first_answer(case.delete[1])
    output = invoke_action(manifest, case.key, case.inputs(case.record), quick_client)
    assert lost == [case.delete[1]]
    assert (output["result"], output["deleted"]) == ("deleted", True)
    operations = [entry["operation"] for entry in request_log.all()]
    assert operations.count(case.delete[1]) == 2  # sent, answer lost, sent again
    assert case.record not in stored(sandbox, case)


@pytest.mark.parametrize(
    ("key", "inputs", "routes", "expected"),
    [
        ("delete_task", {"task_id": TASK},
         [("GET", "Task.svc/Retrieve.GetById", [{"UserTaskId": TASK}]),
          ("POST", "Task.svc/DeleteTasks", {"Status": "Success", "TasksCount": 1,
                                            "DeletedTasksCount": 0,
                                            "FailureReason": "task is locked"}),
          ("GET", "Task.svc/Retrieve.GetById", [{"UserTaskId": TASK}])],
         {"task_id": TASK, "result": "not_deleted", "deleted": False, "tasks_count": 1,
          "deleted_tasks_count": 0, "failure_reason": "task is locked"}),
        ("delete_opportunity", {"opportunity_id": OPPORTUNITY},
         [("GET", "OpportunityManagement.svc/GetOpportunityDetails",
           {"ID": OPPORTUNITY, "Fields": []}),
          ("GET", "OpportunityManagement.svc/Delete",
           {"Status": "Success", "Message": {"IsSuccessful": False}}),
          ("GET", "OpportunityManagement.svc/GetOpportunityDetails",
           {"ID": OPPORTUNITY, "Fields": []})],
         {"opportunity_id": OPPORTUNITY, "result": "not_deleted", "deleted": False,
          "failure_reason": "LeadSquared answered IsSuccessful false"}),
    ],
    ids=["task-counts-zero", "opportunity-not-successful"],
)
def test_an_answer_that_deleted_nothing_is_not_deleted_when_the_record_stays(
    manifest: Manifest, key: str, inputs: dict[str, Any],
    routes: list[tuple[str, str, Any]], expected: dict[str, Any],
) -> None:
    fake = FakeLeadSquared()
    for method, operation, answer in routes:
        fake.add(method, operation, ok(answer))
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq:
        assert invoke_action(manifest, key, inputs, lsq) == expected
    assert [call.operation for call in fake.calls] == [op for _, op, _ in routes]


@pytest.mark.parametrize(
    ("key", "inputs", "routes", "expected"),
    [
        ("delete_lead", {"lead_id": NEHA},
         [("GET", "LeadManagement.svc/Leads.GetById",
           mx_error("MXInvalidEntityException", "Lead does not exist in the system"))],
         {"lead_id": NEHA, "result": "already_absent", "deleted": False}),
        ("delete_task", {"task_id": TASK},
         [("GET", "Task.svc/Retrieve.GetById", ok({"UserTaskId": TASK, "Name": "Call"})),
          ("POST", "Task.svc/DeleteTasks", ok({"Status": "Success", "TasksCount": 1,
                                               "DeletedTasksCount": 1}))],
         {"task_id": TASK, "result": "deleted", "deleted": True, "tasks_count": 1,
          "deleted_tasks_count": 1, "failure_reason": None}),
    ],
    ids=["lead-lookup-answers-an-error", "task-lookup-answers-an-object"],
)
def test_look_ups_read_every_variant_of_the_answer(
    manifest: Manifest, key: str, inputs: dict[str, Any], routes: list[tuple[str, str, Any]],
    expected: dict[str, Any],
) -> None:
    # LIKELY only (reference §14, §8.3): an unknown lead id answers [] rather than an MX error,
    # and Retrieve.GetById answers an array rather than the task itself.
    fake = FakeLeadSquared()
    for method, operation, answer in routes:
        fake.add(method, operation, answer)
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq:
        assert invoke_action(manifest, key, inputs, lsq) == expected
