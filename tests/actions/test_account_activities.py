"""Account activity actions against the sandbox: create, update, find and delete (reference §6).

Each test asserts the exact request LeadSquared receives (the sandbox request log), the
validated output (runtime.plugin.invoke.invoke_action), and the error paths: bad input named before
any request, the MX errors CompanyActivity.svc answers, and records that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from operations import _account_activities
from runtime.api.client import LeadSquaredClient
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    NotFoundError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.fakes import FakeLeadSquared, fake_connection, mx_error, ok
from tests.seed_ids import ACME, ADMIN, INITECH, MEERA, MISSING, RAVI

SEEDED = "5e2b8d41-7a9c-4f03-b6e2-000000000a01"
USERS = "UserManagement.svc/Users.Get"
CREATE = "CompanyActivity.svc/Create"
UPDATE = "CompanyActivity.svc/Update"
RETRIEVE = "CompanyActivity.svc/Retrieve"
BY_ID = "CompanyActivity.svc/RetrieveById"
DELETE = "CompanyActivity.svc/Delete"
KEYS = ("create_account_activity", "update_account_activity", "find_account_activity",
        "delete_account_activity")

SEEDED_RECORD = {
    "CompanyActivityId": SEEDED,
    "RelatedCompanyId": ACME,
    "ActivityEvent": 10001,
    "ActivityNote": "Quarterly review with the Acme procurement team",
    "ActivityDateTime": "2025-03-01 10:00:00",
    "ActivityType": 2,
    "ActivityDisplayName": "Meeting Note",
    "CreatedOn": "2025-03-01 10:30:00",
    "ModifiedOn": "2025-03-01 10:30:00",
    "CreatedBy": RAVI,
    "CreatedByName": "Ravi Sales",
    "ModifiedBy": RAVI,
    "ModifiedByName": "Ravi Sales",
    "ActivityFields": {
        "Status": "Completed",
        "Owner": RAVI,
        "mx_Custom_1": "Ravi Sales, Acme procurement",
        "CreatedOn": "2025-03-01 10:30:00",  # read back as "3/1/2025 10:30:00 AM"
    },
}


@pytest.fixture
def clock(sandbox: RunningSandbox) -> Callable[[str], None]:
    """``clock("2025-04-01T09:00:00Z")`` freezes the sandbox time there."""

    def freeze(moment: str) -> None:
        sandbox.app.state.clock.set(datetime.fromisoformat(moment), freeze=True)

    return freeze


def stored(sandbox: RunningSandbox, activity_id: str) -> dict[str, Any] | None:
    return sandbox.app.state.tenants["41872"].account_activities.get(activity_id)


# -- create ------------------------------------------------------------------------------

def test_create_stores_the_activity_and_returns_the_id(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, clock: Callable[[str], None]
) -> None:
    clock("2025-05-02T08:00:00Z")
    output = invoke("create_account_activity", {
        "account_id": ACME,
        "activity_event": 10001,
        "note": "Pricing call",
        "activity_date_time": "2025-05-01T15:30:00+05:30",
        "fields": {"Status": "Completed", "Owner": "Meera.Sales@example.com",
                   "mx_Custom_1": 3},
    })
    assert request_log.operations() == [USERS, CREATE]  # the exact body: tests/contract
    assert list(output) == ["activity_id"]
    record = stored(sandbox, output["activity_id"])
    assert record is not None
    assert record["ActivityDateTime"] == "2025-05-01 10:00:00"
    assert record["ActivityFields"]["Owner"] == MEERA


def test_create_with_only_the_required_input_sends_no_note_and_no_user_lookup(
    invoke: Invoke, request_log: Any
) -> None:
    invoke("create_account_activity", {"account_id": INITECH, "activity_event": 10001})
    assert request_log.operations() == [CREATE]
    assert request_log.last(CREATE)["body"] == {
        "RelatedCompanyId": INITECH, "ActivityEvent": 10001, "Fields": [],
    }


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"activity_event": 10001}, "account_id"),
        ({"account_id": ACME}, "activity_event"),
        ({"account_id": ACME, "activity_event": "10001"}, "$.activity_event"),
        ({"account_id": "Acme Corp", "activity_event": 10001}, "$.account_id"),
        ({"account_id": ACME, "activity_event": 10001, "fields": {"mx_Attendees": "x"}},
         "mx_Attendees"),
        ({"account_id": ACME, "activity_event": 10001, "fields": {"Status": ["a"]}},
         "$.fields.Status"),
        ({"account_id": ACME, "activity_event": 10001, "activity_date_time": "tomorrow"},
         "$.activity_date_time"),
        ({"account_id": ACME, "activity_event": 10001, "notes": "x"}, "notes"),
    ],
    ids=["no-account", "no-event", "event-as-text", "account-not-guid", "unknown-field-name",
         "field-value-list", "bad-date", "unknown-option"],
)
def test_create_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("create_account_activity", inputs))


def test_create_rejects_an_unknown_owner_before_creating(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("create_account_activity", {"account_id": ACME, "activity_event": 10001,
                                           "fields": {"Owner": "nobody@example.com"}})
    assert raised.value.problems == [
        "fields.Owner: 'nobody@example.com' is not a user of this account; active users: "
        "asha.admin@example.com, meera.sales@example.com, ravi.sales@example.com"
    ]
    assert request_log.operations() == [USERS]


@pytest.mark.parametrize(
    ("inputs", "exception_type", "message"),
    [
        ({"account_id": MISSING, "activity_event": 10001}, "MXInvalidEntityException",
         "Company does not exist in the system"),
        ({"account_id": ACME, "activity_event": 10099}, "MXInvalidEntityException",
         "Activity Event '10099' does not exist"),
        ({"account_id": ACME, "activity_event": 10002}, "MXInvalidActivityFieldsException",
         "Field name : 'mx_Custom_1' of datatype : 'String' is mandatory."),
        ({"account_id": ACME, "activity_event": 10001, "fields": {"mx_Custom_7": "x"}},
         "MXInvalidActivityFieldsException", "Field name : 'mx_Custom_7' does not exist."),
    ],
    ids=["unknown-account", "unknown-activity-type", "mandatory-field-missing",
         "field-not-on-type"],
)
def test_create_surfaces_leadsquared_errors_without_retrying(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox,
    inputs: dict[str, Any], exception_type: str, message: str,
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("create_account_activity", inputs)
    error = raised.value
    assert (error.operation, error.status, error.exception_type) == (CREATE, 500, exception_type)
    assert error.message == message
    assert error.hint
    assert request_log.operations() == [CREATE]
    assert len(sandbox.app.state.tenants["41872"].account_activities) == 1


def test_create_is_not_resent_after_an_ambiguous_failure(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.configure(type(sandbox.app.faults.plan).parse("500=1"))
    with pytest.raises(AmbiguousWriteError):
        invoke("create_account_activity", {"account_id": ACME, "activity_event": 10001})
    assert request_log.operations() == [CREATE]


# -- update ------------------------------------------------------------------------------

def test_update_sends_note_and_fields_and_keeps_the_other_fields(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("update_account_activity", {
        "activity_id": SEEDED, "note": "Pricing agreed",
        "fields": {"Status": "Closed", "Owner": "asha.admin@example.com"},
    })
    assert output == {"activity_id": SEEDED}
    assert request_log.operations() == [USERS, UPDATE]
    call = request_log.last(UPDATE)
    assert (call["method"], call["query"]) == ("POST", {})
    assert call["body"] == {
        "CompanyActivityId": SEEDED,
        "ActivityNote": "Pricing agreed",
        "Fields": [{"SchemaName": "Status", "Value": "Closed"},
                   {"SchemaName": "Owner", "Value": ADMIN}],
    }
    record = stored(sandbox, SEEDED)
    assert record is not None
    assert record["ActivityNote"] == "Pricing agreed"
    assert record["ActivityFields"]["Status"] == "Closed"
    assert record["ActivityFields"]["mx_Custom_1"] == "Ravi Sales, Acme procurement"


def test_update_without_a_note_leaves_the_note_out(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    invoke("update_account_activity", {"activity_id": SEEDED, "fields": {"mx_Custom_1": None}})
    assert request_log.last(UPDATE)["body"] == {
        "CompanyActivityId": SEEDED, "Fields": [{"SchemaName": "mx_Custom_1", "Value": None}],
    }
    record = stored(sandbox, SEEDED)
    assert record is not None
    assert record["ActivityNote"] == SEEDED_RECORD["ActivityNote"]
    assert record["ActivityFields"]["mx_Custom_1"] is None


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"activity_id": SEEDED}, "$"),
        ({"note": "x"}, "activity_id"),
        ({"activity_id": "a01", "note": "x"}, "$.activity_id"),
        ({"activity_id": SEEDED, "fields": {"ActivityNote": "x"}}, "ActivityNote"),
    ],
    ids=["nothing-to-change", "no-id", "id-not-guid", "note-as-field"],
)
def test_update_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("update_account_activity", inputs))


def test_update_of_a_missing_activity_is_an_error(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("update_account_activity", {"activity_id": MISSING, "note": "x"})
    error = raised.value
    assert (error.operation, error.exception_type) == (UPDATE, "MXInvalidEntityException")
    assert error.message == "Activity does not exist in the system"
    assert error.hint
    assert request_log.operations() == [UPDATE]


# -- find --------------------------------------------------------------------------------

def test_find_by_id_returns_the_record_with_utc_dates(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_account_activity", {"activity_id": SEEDED})
    assert output == {"found": True, "activity": SEEDED_RECORD}
    [call] = request_log.all()
    assert (call["method"], call["operation"], call["query"], call["body"]) == (
        "GET", BY_ID, {"activityId": SEEDED}, None)


def test_find_by_id_reports_a_missing_activity(invoke: Invoke, request_log: Any) -> None:
    assert invoke("find_account_activity", {"activity_id": MISSING}) == {
        "found": False, "activity": None}
    with pytest.raises(RecordNotFoundError) as raised:
        invoke("find_account_activity", {"activity_id": MISSING, "fail_if_not_found": True})
    assert MISSING in str(raised.value)
    assert request_log.operations() == [BY_ID, BY_ID]


def test_find_by_account_pages_through_the_date_range(
    invoke: Invoke, request_log: Any, clock: Callable[[str], None]
) -> None:
    for day, note in ((2, "first"), (3, "second"), (4, "third")):
        clock(f"2025-04-0{day}T09:00:00Z")
        invoke("create_account_activity",
               {"account_id": ACME, "activity_event": 10001, "note": note})
    request_log.clear()
    window = {"account_id": ACME, "from_date": "2025-04-01T00:00:00Z",
              "to_date": "2025-04-30 23:59:59", "page_size": 2}
    first = invoke("find_account_activity", window)
    second = invoke("find_account_activity", {**window, "page": 2})
    call = request_log.all()[0]
    assert (call["method"], call["operation"], call["query"]) == (
        "POST", RETRIEVE, {"companyId": ACME})
    assert call["body"] == {
        "Parameter": {"FromDate": "2025-04-01 00:00:00", "ToDate": "2025-04-30 23:59:59"},
        "Paging": {"PageIndex": "1", "PageSize": "2"},
    }
    assert request_log.all()[1]["body"]["Paging"] == {"PageIndex": "2", "PageSize": "2"}
    assert [a["ActivityNote"] for a in first["activities"]] == ["third", "second"]
    assert (first["found"], first["record_count"], first["has_more"]) == (True, 3, True)
    assert [a["ActivityNote"] for a in second["activities"]] == ["first"]
    assert (second["record_count"], second["has_more"]) == (3, False)
    assert second["activities"][0]["CreatedOn"] == "2025-04-02 09:00:00"
    assert second["activities"][0]["ActivityFields"]["CreatedOn"] == "2025-04-02 09:00:00"


def test_find_by_account_defaults_to_date_to_now(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_account_activity",
                    {"account_id": ACME, "from_date": "2025-01-01T05:30:00+05:30"})
    assert output == {"found": True, "activities": [SEEDED_RECORD], "record_count": 1,
                      "has_more": False}
    body = request_log.last(RETRIEVE)["body"]
    assert body["Parameter"]["FromDate"] == "2025-01-01 00:00:00"
    sent = datetime.strptime(body["Parameter"]["ToDate"], "%Y-%m-%d %H:%M:%S")
    assert abs((datetime.now(UTC).replace(tzinfo=None) - sent).total_seconds()) < 60
    assert body["Paging"] == {"PageIndex": "1", "PageSize": "100"}


def test_find_by_account_with_nothing_in_range(invoke: Invoke) -> None:
    window = {"account_id": ACME, "from_date": "2025-03-02 00:00:00",
              "to_date": "2025-03-31 00:00:00"}
    assert invoke("find_account_activity", window) == {
        "found": False, "activities": [], "record_count": 0, "has_more": False}
    with pytest.raises(RecordNotFoundError) as raised:
        invoke("find_account_activity", {**window, "fail_if_not_found": True})
    assert str(raised.value).startswith(
        f"no activity on account {ACME} between 2025-03-02 00:00:00 and 2025-03-31 00:00:00")


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"activity_id": SEEDED, "account_id": ACME, "from_date": "2025-01-01 00:00:00"},
        {"activity_id": SEEDED, "page": 2},
        {"account_id": ACME},
        {"account_id": ACME, "from_date": "2025-01-01 00:00:00", "page_size": 5000},
        {"account_id": ACME, "from_date": "2025-01-01 00:00:00", "page": 0},
    ],
    ids=["nothing", "id-and-account", "id-with-paging", "account-without-range",
         "page-too-large", "page-zero"],
)
def test_find_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any]
) -> None:
    refused("find_account_activity", inputs)


# -- delete ------------------------------------------------------------------------------

def test_delete_rejects_a_bad_id_before_any_request(refused: Refused) -> None:
    refused("delete_account_activity", {"activity_id": "5e2b8d41"})


def test_delete_on_an_account_without_the_endpoint_says_it_is_unconfirmed(
    manifest: Manifest,
) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", "CompanyActivity.svc/RetrieveById", ok({"CompanyActivityId": SEEDED}))
    fake.add("GET", DELETE, mx_error("MXAPINotFound", "API could not be found", status=404))
    fake.add("GET", "CompanyActivity.svc/RetrieveById", ok({"CompanyActivityId": SEEDED}))
    lsq = LeadSquaredClient(fake_connection(), session=fake.session())
    with fake, lsq, pytest.raises(NotFoundError) as raised:
        invoke_action(manifest, "delete_account_activity", {"activity_id": SEEDED}, lsq)
    assert raised.value.operation == DELETE
    assert "does not document deleting account activities" in (raised.value.hint or "")
    assert fake.calls[1].params == {"activityId": SEEDED}


def test_the_manifest_names_the_endpoints_the_handlers_call(manifest: Manifest) -> None:
    endpoints = {key: manifest.action(key).endpoint for key in KEYS}
    assert endpoints == {
        "create_account_activity": f"POST {_account_activities.CREATE}",
        "update_account_activity": f"POST {_account_activities.UPDATE}",
        "find_account_activity": f"POST {_account_activities.RETRIEVE}",
        "delete_account_activity": f"GET {_account_activities.DELETE}",
    }
    assert "UNCONFIRMED" in manifest.action("delete_account_activity").description
