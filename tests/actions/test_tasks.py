"""Task and appointment actions against the sandbox: create_task, create_appointment,
update_task, find_task, delete_task (reference §8).

Each test asserts the exact request LeadSquared receives (the sandbox request log), the
validated output (runtime.plugin.invoke.invoke_action) and the error paths: bad input named before
any request, the MX errors Task.svc answers, and tasks that do not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.seed_ids import ADMIN, ARJUN, MEERA, MISSING, PRIYA, RAVI

OPPORTUNITY = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"
SEEDED = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
MEETING = "8d3f6a10-4b2c-4e7d-9f01-00000000e001"
CALL = "8d3f6a10-4b2c-4e7d-9f01-00000000e003"
TYPES = "Task.svc/RetrieveTaskType"
USERS = "UserManagement.svc/Users.Get"
CREATE = "Task.svc/Create"
UPDATE = "Task.svc/Update"
BY_ID = "Task.svc/Retrieve.GetById"
BY_LEAD = "LeadManagement.svc/RetrieveTaskByLeadId"
DELETE = "Task.svc/DeleteTasks"
KEYS = ("create_task", "update_task", "find_task", "delete_task", "create_appointment")

SEEDED_TASK = {
    "UserTaskId": SEEDED, "AutoId": 1, "Name": "Follow-up call with Priya",
    "Description": "Discuss the renewal quote", "Category": 1, "TaskType": "Call",
    "TaskTypeId": CALL, "RelatedEntity": 1, "RelatedEntityId": PRIYA,
    "RelatedEntityIdName": "Priya Sharma", "DueDate": "2030-01-15 09:00:00",
    "EndDate": "2030-01-15 09:00:00", "Reminder": None, "ReminderBeforeDays": "1",
    "ReminderTime": "09:00:00", "NotifyBy": "1100", "OwnerId": RAVI, "OwnerName": "Ravi Sales",
    "OwnerEmailAddress": "ravi.sales@example.com", "Location": None, "StatusCode": 0,
    "CompletedOn": None, "CreatedBy": ADMIN, "CreatedByName": "Asha Admin",
    "CreatedOn": "2025-03-03 08:00:00", "ModifiedBy": ADMIN, "ModifiedByName": "Asha Admin",
    "ModifiedOn": "2025-03-03 08:00:00", "Status": "Pending",
}
NO_TASK = {"found": False, "task": None, "tasks": [], "record_count": 0}


def tasks(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    return sandbox.app.state.tenants["41872"].tasks


# -- create_task -------------------------------------------------------------------------

def test_create_task_sends_the_documented_body(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_task", {
        "name": "Call Priya", "task_type": "call", "lead_id": PRIYA,
        "owner": "Meera.Sales@example.com", "description": "About the quote",
        "due_date": "2030-02-01T14:30:00+05:30", "reminder_before_days": 1,
        "reminder_time": "09:30", "notify_by": "email",
        "fields": {"mx_Custom_1": "Left a voicemail"},
    })
    assert request_log.operations() == [TYPES, USERS, CREATE]
    call = request_log.last(CREATE)
    assert (call["method"], call["query"]) == ("POST", {})
    assert call["body"] == {
        "RelatedEntity": 1, "RelatedEntityId": PRIYA,
        "Name": "Call Priya", "Description": "About the quote", "OwnerId": MEERA,
        "DueDate": "2030-02-01 09:00:00", "ReminderBeforeDays": "1", "ReminderTime": "09:30:00",
        "NotifyBy": "1100", "TaskType": {"Name": "Call"},
        "CustomFields": {"mx_Custom_1": "Left a voicemail"},
    }
    assert list(output) == ["task_id"]
    stored = tasks(sandbox)[output["task_id"]]
    assert (stored["Category"], stored["TaskType"], stored["OwnerId"], stored["DueDate"],
            stored["mx_Custom_1"]) == (1, "Call", MEERA, "2030-02-01 09:00:00", "Left a voicemail")


@pytest.mark.parametrize(
    ("related", "expected"),
    [({}, {"RelatedEntity": 0}),
     ({"opportunity_id": OPPORTUNITY}, {"RelatedEntity": 5, "RelatedEntityId": OPPORTUNITY})],
    ids=["unassociated", "opportunity"],
)
def test_create_task_related_to_nothing_or_an_opportunity(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, related: dict[str, str],
    expected: dict[str, Any],
) -> None:
    output = invoke("create_task", {"name": "Prepare the quote", "task_type": "To-do", **related})
    assert request_log.operations() == [TYPES, CREATE]
    assert request_log.last(CREATE)["body"] == {
        **expected, "Name": "Prepare the quote", "TaskType": {"Name": "To-do"}}
    stored = tasks(sandbox)[output["task_id"]]
    assert (stored["RelatedEntity"], stored["OwnerId"]) == (expected["RelatedEntity"], ADMIN)


def test_create_task_with_an_appointment_type_names_create_appointment(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_task", {"name": "Demo", "task_type": "Meeting"})
    assert caught.value.problems == [
        "task_type: 'Meeting' is an appointment type, not a to-do type; valid: Call, To-do"]
    assert "created with create_appointment" in str(caught.value)
    assert request_log.operations() == [TYPES]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"task_type": "Email"},
         "task_type: 'Email' is not a to-do task type of this account; valid: Call, To-do"),
        ({"fields": {"mx_custom_1": "x"}},
         "fields.mx_custom_1: not a field of this task type (Call); did you mean mx_Custom_1?"),
        ({"owner": "old.user@example.com"},
         "owner: 'old.user@example.com' is not a user of this account; active users: "
         "asha.admin@example.com, meera.sales@example.com, ravi.sales@example.com"),
    ],
    ids=["unknown-type", "unknown-field", "unknown-owner"],
)
def test_account_checks_fail_before_the_create(
    invoke: Invoke, request_log: Any, extra: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_task", {"name": "Call Priya", "task_type": "Call", **extra})
    assert caught.value.problems == [problem]
    assert CREATE not in request_log.operations()


@pytest.mark.parametrize(
    ("key", "inputs", "problem"),
    [
        ("create_task", {"task_type": "Call"}, "$: 'name' is a required property"),
        ("create_task", {"name": " ", "task_type": "Call"}, "$.name: ' ' does not match"),
        ("create_task", {"name": "A", "task_type": "Call", "lead_id": PRIYA,
                         "opportunity_id": OPPORTUNITY}, "$: {'name': 'A'"),
        ("create_task", {"name": "A", "task_type": "Call", "reminder_time": "25:00"},
         "$.reminder_time: '25:00' does not match"),
        ("create_task", {"name": "A", "task_type": "Call", "notify_by": "sms"},
         "$.notify_by: 'sms' is not one of ['email', 'none']"),
        ("create_task", {"name": "A", "task_type": "Call", "fields": {"Agenda": "x"}},
         "$.fields: 'Agenda' does not match"),
        ("create_appointment", {"name": "A", "task_type": "Meeting"},
         "$: 'start' is a required property"),
        ("create_appointment", {"name": "A", "task_type": "Meeting", "reminder_minutes": -5},
         "$.reminder_minutes: -5 is less than the minimum of 0"),
        ("create_appointment", {"name": "A", "task_type": "Meeting",
                                "start": "2030-02-03T10:00:00Z", "end": "2030-02-03T09:00:00Z"},
         "end: 2030-02-03 09:00:00 (UTC) is before the start 2030-02-03 10:00:00 (UTC)"),
        ("update_task", {"task_id": SEEDED}, "inputs: give at least one field to change"),
        ("update_task", {"task_id": SEEDED, "due_date": "2030-01-16 10:00:00",
                         "end_date": "2030-01-16 09:00:00"},
         "end_date: 2030-01-16 09:00:00 (UTC) is before the start"),
        ("find_task", {}, "$: {} is not valid under any of the given schemas"),
        ("delete_task", {"task_id": "f01"}, "$.task_id: 'f01' does not match"),
    ],
    ids=["no-name", "blank-name", "two-related", "bad-reminder-time", "bad-notify",
         "custom-field-not-mx", "no-start", "negative-reminder", "end-before-start",
         "nothing-to-update", "update-end-before-start", "find-nothing", "bad-task-id"],
)
def test_invalid_input_is_named_before_any_request(
    refused: Refused, key: str, inputs: dict[str, Any], problem: str
) -> None:
    problems = refused(key, inputs).problems
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize(
    ("related", "message"),
    [({"lead_id": MISSING}, "Lead does not exist in the system"),
     ({"opportunity_id": MISSING}, "Opportunity does not exist in the system")],
    ids=["lead", "opportunity"],
)
def test_create_on_a_missing_record_surfaces_the_mx_error(
    invoke: Invoke, sandbox: RunningSandbox, related: dict[str, str], message: str
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("create_task", {"name": "Call", "task_type": "Call", **related})
    assert (caught.value.operation, caught.value.exception_type, caught.value.message) == (
        CREATE, "MXInvalidEntityException", message)
    assert caught.value.hint
    assert list(tasks(sandbox)) == [SEEDED]


def test_create_is_never_resent_after_a_dropped_connection(
    manifest: Manifest, quick_client: LeadSquaredClient, raw_api: Any, request_log: Any,
    sandbox: RunningSandbox,
) -> None:
    quick_client.metadata.task_types()  # so the fault hits Task.svc/Create itself
    raw_api.control("POST", "faults", {"spec": "drop=1.0"})
    with pytest.raises(AmbiguousWriteError, match="may already exist"):
        invoke_action(manifest, "create_task", {"name": "Call", "task_type": "Call"},
                      quick_client)
    raw_api.control("POST", "faults", {"spec": ""})
    assert request_log.operations() == [TYPES, CREATE]
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert sum(n for key, n in counts.items() if key.startswith(CREATE + ":")) == 1
    assert len(tasks(sandbox)) == 2


# -- create_appointment ------------------------------------------------------------------

def test_create_appointment_sends_start_end_location_and_reminder(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_appointment", {
        "name": "Demo", "task_type": "meeting", "opportunity_id": OPPORTUNITY,
        "start": "2030-02-03T15:30:00+05:30", "end": "2030-02-03 10:45:00",
        "location": "Pune office", "reminder_minutes": 30, "owner": RAVI, "notify_by": "none",
        "fields": {"mx_Custom_1": "Pricing"},
    })
    assert request_log.operations() == [TYPES, USERS, CREATE]
    assert request_log.last(CREATE)["body"] == {
        "RelatedEntity": 5, "RelatedEntityId": OPPORTUNITY, "Name": "Demo", "OwnerId": RAVI,
        "DueDate": "2030-02-03 10:00:00", "EndDate": "2030-02-03 10:45:00", "Reminder": 30,
        "Location": "Pune office", "NotifyBy": "1000", "TaskType": {"Name": "Meeting"},
        "CustomFields": {"mx_Custom_1": "Pricing"},
    }
    stored = tasks(sandbox)[output["task_id"]]
    assert (stored["Category"], stored["RelatedEntityIdName"], stored["EndDate"],
            stored["Reminder"]) == (0, "Acme Pune expansion", "2030-02-03 10:45:00", 30)


def test_appointment_without_end_leaves_the_duration_to_leadsquared(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_appointment", {"name": "Site visit", "task_type": MEETING,
                                           "start": "2030-02-03T10:00:00Z"})
    assert request_log.last(CREATE)["body"] == {
        "RelatedEntity": 0, "Name": "Site visit", "DueDate": "2030-02-03 10:00:00",
        "TaskType": {"Name": "Meeting"}}
    assert tasks(sandbox)[output["task_id"]]["EndDate"] == "2030-02-03 10:30:00"  # 30 min type


def test_create_appointment_with_a_to_do_type_names_create_task(invoke: Invoke) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_appointment", {"name": "Demo", "task_type": "Call",
                                      "start": "2030-02-03T10:00:00Z"})
    assert caught.value.problems == [
        "task_type: 'Call' is a to-do type, not an appointment type; valid: Meeting"]
    assert "to-do types are created with create_task" in str(caught.value)


# -- update_task -------------------------------------------------------------------------

def test_update_sends_only_the_given_fields(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("update_task", {
        "task_id": SEEDED, "name": "Call Priya again", "owner": "meera.sales@example.com",
        "due_date": "2030-01-16T09:00:00Z", "notify_by": "none", "lead_id": ARJUN,
    })
    assert request_log.operations() == [USERS, UPDATE]
    assert request_log.last(UPDATE)["body"] == {
        "UserTaskId": SEEDED, "Name": "Call Priya again", "OwnerId": MEERA,
        "RelatedEntity": 1, "RelatedEntityId": ARJUN, "DueDate": "2030-01-16 09:00:00",
        "NotifyBy": "1000",
    }
    assert output == {"task_id": SEEDED, "updated_fields": [
        "Name", "OwnerId", "RelatedEntity", "RelatedEntityId", "DueDate", "NotifyBy"]}
    stored = tasks(sandbox)[SEEDED]
    assert (stored["OwnerId"], stored["RelatedEntityId"], stored["DueDate"],
            stored["Description"]) == (MEERA, ARJUN, "2030-01-16 09:00:00",
                                       "Discuss the renewal quote")


def test_update_custom_fields_checks_them_against_the_tasks_type(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("update_task", {"task_id": SEEDED, "fields": {"mx_Custom_1": "Reached"}})
    assert request_log.operations() == [BY_ID, TYPES, UPDATE]
    assert request_log.last(BY_ID)["query"] == {"id": SEEDED}
    assert request_log.last(UPDATE)["body"] == {
        "UserTaskId": SEEDED, "CustomFields": {"mx_Custom_1": "Reached"}}
    assert output == {"task_id": SEEDED, "updated_fields": ["mx_Custom_1"]}
    assert tasks(sandbox)[SEEDED]["mx_Custom_1"] == "Reached"


def test_update_unknown_custom_field_sends_nothing(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("update_task", {"task_id": SEEDED, "fields": {"mx_Zzz": "x"}})
    assert caught.value.problems == [
        "fields.mx_Zzz: not a field of this task type (Call); valid fields are listed by "
        "RetrieveTaskType"]
    assert UPDATE not in request_log.operations()


def test_update_of_a_missing_task_surfaces_leadsquareds_error(invoke: Invoke) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("update_task", {"task_id": MISSING, "name": "X"})
    assert (caught.value.operation, caught.value.exception_type, caught.value.message) == (
        UPDATE, "MXInvalidEntityException", "Task does not exist in the system")


def test_update_of_a_missing_task_with_fields_fails_before_writing(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(PermanentApiError, match=f"no task with UserTaskId {MISSING}"):
        invoke("update_task", {"task_id": MISSING, "fields": {"mx_Custom_1": "x"}})
    assert request_log.operations() == [BY_ID]


def test_update_custom_fields_of_a_task_read_without_its_type_are_sent_unchecked(
    manifest: Manifest,
) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", BY_ID, ok([{"UserTaskId": SEEDED, "Name": "Call"}]))
    fake.add("POST", UPDATE, ok({"Status": "Success", "Message": {"AffectedRows": 1}}))
    inputs = {"task_id": SEEDED, "fields": {"mx_Custom_1": "Reached"}}
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq:
        output = invoke_action(manifest, "update_task", inputs, lsq)
    assert fake.calls_to(UPDATE)[0].json == {
        "UserTaskId": SEEDED, "CustomFields": {"mx_Custom_1": "Reached"}}
    assert output == {"task_id": SEEDED, "updated_fields": ["mx_Custom_1"]}


# -- find_task ---------------------------------------------------------------------------

def test_find_by_id_returns_the_task(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_task", {"task_id": SEEDED})
    call = request_log.last(BY_ID)
    assert (call["method"], call["query"], request_log.operations()) == (
        "GET", {"id": SEEDED}, [BY_ID])
    assert output == {"found": True, "task": SEEDED_TASK, "tasks": [SEEDED_TASK],
                      "record_count": 1}


def test_find_by_lead_lists_its_tasks_earliest_due_first(
    invoke: Invoke, request_log: Any, manifest: Manifest
) -> None:
    assert invoke("find_task", {"lead_id": PRIYA}) == manifest.action("find_task").sample_output
    assert request_log.last(BY_LEAD)["query"] == {"leadId": PRIYA}
    earlier = invoke("create_task", {"name": "Earlier", "task_type": "Call", "lead_id": PRIYA,
                                     "due_date": "2030-01-10 09:00:00"})["task_id"]
    output = invoke("find_task", {"lead_id": PRIYA})
    assert [t["UserTaskId"] for t in output["tasks"]] == [earlier, SEEDED]
    assert (output["task"]["UserTaskId"], output["record_count"]) == (earlier, 2)


@pytest.mark.parametrize("inputs", [{"task_id": MISSING}, {"lead_id": ARJUN}],
                         ids=["unknown-id", "lead-without-tasks"])
def test_find_that_finds_nothing_is_not_an_error(invoke: Invoke, inputs: dict[str, Any]) -> None:
    assert invoke("find_task", inputs) == NO_TASK


def test_find_can_fail_when_nothing_matches(invoke: Invoke) -> None:
    with pytest.raises(RecordNotFoundError, match=f"no task with UserTaskId {MISSING}"):
        invoke("find_task", {"task_id": MISSING, "fail_if_not_found": True})
    with pytest.raises(RecordNotFoundError, match=f"no task with lead {ARJUN}"):
        invoke("find_task", {"lead_id": ARJUN, "fail_if_not_found": True})
