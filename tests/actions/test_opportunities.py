"""Opportunity actions against the sandbox: create, update, find and delete (reference §7).

Each test asserts the exact request LeadSquared receives (the sandbox request log), the
validated output (runtime.plugin.invoke.invoke_action) and the error paths: bad input named before
any request, the MX errors OpportunityManagement.svc answers, and records that do not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from operations import _opportunities
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
from tests.actions.conftest import Invoke
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.seed_ids import ADMIN, ARJUN, MEERA, MISSING, PRIYA, RAVI

SEEDED = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"
TYPES = "OpportunityManagement.svc/GetOpportunityTypeMetadata"
USERS = "UserManagement.svc/Users.Get"
CAPTURE = "OpportunityManagement.svc/Capture"
UPDATE = "OpportunityManagement.svc/Update"
DETAILS = "OpportunityManagement.svc/GetOpportunityDetails"
OF_LEAD = "OpportunityManagement.svc/GetOpportunitiesOfLead"
DELETE = "OpportunityManagement.svc/Delete"
KEYS = ("create_opportunity", "update_opportunity", "find_opportunity", "delete_opportunity")
NAME = {"mx_Custom_1": "Acme Mumbai rollout"}

SEEDED_DETAILS = {
    "OpportunityId": SEEDED,
    "OpportunityName": "Acme Pune expansion",
    "mx_Custom_1": "Acme Pune expansion",
    "Status": "Open",
    "mx_Custom_2": "Proposal",
    "Owner": RAVI,
    "mx_Custom_3": "250000",
    "mx_Custom_4": "2025-06-30",
    "mx_Custom_19": None,
    "RelatedProspectId": PRIYA,
    "OpportunityNote": "Expansion to the Pune plant",
    "OpportunityDateTime": "2025-03-02 10:00:00",
    "CreatedBy": ADMIN,
    "CreatedOn": "2025-03-02 10:05:00",
    "ModifiedOn": "2025-03-02 10:05:00",
}


def opportunities(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    return sandbox.app.state.tenants["41872"].opportunities


def problems_of(caught: pytest.ExceptionInfo[InputValidationError]) -> list[str]:
    return caught.value.problems


# -- create_opportunity ------------------------------------------------------------------

def test_create_by_lead_id_and_type_name_stores_the_opportunity(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    # The exact Capture request is in tests/contract/test_requests.py.
    output = invoke("create_opportunity", {
        "lead_id": PRIYA,
        "opportunity_type": "new business",
        "status": "Won",
        "owner": "Meera.Sales@example.com",
        "note": "Mumbai plant",
        "opportunity_date": "2025-05-01T15:30:00+05:30",
        "fields": {**NAME, "mx_Custom_3": 120000, "mx_Custom_2": "Negotiation"},
    })
    # The name is looked up by reading codes 12000 upward until the first missing one.
    assert request_log.operations() == [TYPES, TYPES, TYPES, USERS, CAPTURE]
    assert [e["query"] for e in request_log.all()[:3]] == [
        {"code": "12000"}, {"code": "12001"}, {"code": "12002"}]
    new_id = output["opportunity_id"]
    assert output == {"opportunity_id": new_id, "duplicate": False,
                      "conflicting_opportunity_id": None, "lead_id": PRIYA}
    stored = opportunities(sandbox)[new_id]
    assert (stored["RelatedProspectId"], stored["OpportunityEvent"], stored["Status"],
            stored["Owner"], stored["OpportunityDateTime"], stored["mx_Custom_3"]) == (
        PRIYA, 12000, "Won", MEERA, "2025-05-01 10:00:00", "120000")


@pytest.mark.parametrize("code", [12001, "12001"], ids=["int", "digits"])
def test_create_by_type_code_reads_only_that_type(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, code: int | str
) -> None:
    output = invoke("create_opportunity",
                    {"lead_id": ARJUN, "opportunity_type": code, "fields": NAME})
    assert request_log.operations() == [TYPES, CAPTURE]
    assert request_log.last(TYPES)["query"] == {"code": "12001"}
    assert request_log.last(CAPTURE)["body"]["Opportunity"] == {
        "OpportunityEventCode": 12001,
        "Fields": [{"SchemaName": "mx_Custom_1", "Value": "Acme Mumbai rollout"}],
    }
    stored = opportunities(sandbox)[output["opportunity_id"]]
    assert (stored["Status"], stored["OpportunityEvent"]) == ("Open", 12001)


@pytest.mark.parametrize(
    ("lead", "pair"),
    [({"lead_email": "arjun.mehta@example.com"}, ("EmailAddress", "arjun.mehta@example.com")),
     ({"lead_phone": "9123456780"}, ("Phone", "9123456780"))],
    ids=["email", "phone"],
)
def test_create_by_a_unique_lead_field_searches_by_it(
    invoke: Invoke, request_log: Any, lead: dict[str, str], pair: tuple[str, str]
) -> None:
    output = invoke("create_opportunity", {**lead, "opportunity_type": 12000, "fields": NAME})
    assert request_log.last(CAPTURE)["body"]["LeadDetails"] == [
        {"Attribute": pair[0], "Value": pair[1]},
        {"Attribute": "SearchBy", "Value": pair[0]},
    ]
    assert output["lead_id"] == ARJUN


def test_create_for_an_unknown_email_lets_leadsquared_create_the_lead(
    invoke: Invoke, sandbox: RunningSandbox
) -> None:
    output = invoke("create_opportunity", {"lead_email": "new.buyer@example.com",
                                           "opportunity_type": 12000, "fields": NAME})
    lead = sandbox.app.state.tenants["41872"].leads[output["lead_id"]]
    assert lead["EmailAddress"] == "new.buyer@example.com"
    assert opportunities(sandbox)[output["opportunity_id"]]["RelatedProspectId"] == lead[
        "ProspectID"]


def test_a_duplicate_detected_by_leadsquared_is_reported_not_created(
    invoke: Invoke, raw_api: Any, sandbox: RunningSandbox
) -> None:
    raw_api.control("POST", "settings", {"opportunity_duplicate_detection": [12000]})
    before = set(opportunities(sandbox))
    output = invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": 12000,
                                           "fields": {"mx_Custom_1": "Acme Pune expansion"}})
    assert output == {"opportunity_id": None, "duplicate": True,
                      "conflicting_opportunity_id": SEEDED, "lead_id": PRIYA}
    assert set(opportunities(sandbox)) == before


def test_capture_is_never_resent_after_a_dropped_connection(
    manifest: Manifest, quick_client: LeadSquaredClient, raw_api: Any, request_log: Any,
    sandbox: RunningSandbox,
) -> None:
    quick_client.metadata.resolve_opportunity_type(12000)  # so the fault hits Capture itself
    raw_api.control("POST", "faults", {"spec": "drop=1.0"})
    with pytest.raises(AmbiguousWriteError) as caught:
        invoke_action(manifest, "create_opportunity",
                      {"lead_id": PRIYA, "opportunity_type": 12000, "fields": NAME},
                      quick_client)
    raw_api.control("POST", "faults", {"spec": ""})
    assert "may already exist" in str(caught.value)
    assert caught.value.operation == CAPTURE
    assert request_log.operations() == [TYPES, CAPTURE]  # sent once, never again
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert sum(n for key, n in counts.items() if key.startswith(CAPTURE + ":")) == 1
    assert len(opportunities(sandbox)) == 2  # the seeded one and the one the drop hid


def test_unknown_type_name_lists_the_known_types_and_sends_no_capture(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": "Upsell"})
    assert problems_of(caught) == [
        "opportunity_type: 'Upsell' is not an opportunity type of this account; known types: "
        "New Business (12000), Renewal (12001)"]
    assert "event code (>= 12000)" in str(caught.value)
    assert CAPTURE not in request_log.operations()


def test_unknown_type_code_is_named(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": 12007})
    assert problems_of(caught) == [
        "opportunity_type: event code 12007 is not an opportunity type of this account; "
        "known types: New Business (12000), Renewal (12001)"]
    assert CAPTURE not in request_log.operations()


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"fields": {"mx_custom_2": "Proposal"}},
         "fields.mx_custom_2: not a field of this opportunity type (New Business); did you mean "
         "mx_Custom_2?"),
        ({"status": "Won", "fields": {"Status": "Won"}},
         "fields.Status: also given as status; give it once"),
        ({"owner": "nobody@example.com"},
         "owner: 'nobody@example.com' is not a user of this account; active users: "
         "asha.admin@example.com, meera.sales@example.com, ravi.sales@example.com"),
    ],
    ids=["unknown-field", "status-twice", "unknown-owner"],
)
def test_account_checks_fail_before_capture(
    invoke: Invoke, request_log: Any, extra: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": 12000, **extra})
    assert problems_of(caught) == [problem]
    assert CAPTURE not in request_log.operations()


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"opportunity_type": 12000}, "$: {'opportunity_type': 12000} is not valid under any"),
        ({"lead_id": PRIYA, "lead_email": "a@example.com", "opportunity_type": 12000},
         "$: {'lead_id'"),
        ({"lead_id": PRIYA}, "$: 'opportunity_type' is a required property"),
        ({"lead_id": PRIYA, "opportunity_type": 11999}, "$.opportunity_type: 11999 is not valid"),
        ({"lead_id": PRIYA, "opportunity_type": 12000, "status": "Pending"},
         "$.status: 'Pending' is not one of ['Open', 'Won', 'Lost']"),
        ({"lead_id": "priya", "opportunity_type": 12000}, "$.lead_id: 'priya' does not match"),
        ({"lead_id": PRIYA, "opportunity_type": 12000, "opportunity_date": "tomorrow"},
         "$.opportunity_date: 'tomorrow' is not valid"),
    ],
    ids=["no-lead", "two-leads", "no-type", "type-below-12000", "bad-status", "bad-lead-id",
         "bad-date"],
)
def test_invalid_create_input_is_named_before_any_request(
    invoke: Invoke, request_log: Any, inputs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("create_opportunity", inputs)
    assert any(p.startswith(problem) for p in problems_of(caught)), problems_of(caught)
    assert request_log.all() == []


@pytest.mark.parametrize(
    ("inputs", "exception_type", "message"),
    [
        ({"lead_id": PRIYA, "opportunity_type": 12000},
         "MXInvalidActivityFieldsException",
         "Field name : 'mx_Custom_1' of datatype : 'String' is mandatory."),
        ({"lead_id": PRIYA, "opportunity_type": 12000,
          "fields": {**NAME, "mx_Custom_2": "Won big"}},
         "MXInvalidActivityFieldsException", "Invalid value 'Won big' for field 'mx_Custom_2'."),
        ({"lead_id": MISSING, "opportunity_type": 12000, "fields": NAME},
         "MXInvalidEntityException", "Lead does not exist in the system"),
    ],
    ids=["mandatory-field", "bad-option", "no-such-lead"],
)
def test_capture_failures_surface_the_mx_error_with_a_hint(
    invoke: Invoke, sandbox: RunningSandbox, inputs: dict[str, Any], exception_type: str,
    message: str,
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("create_opportunity", inputs)
    error = caught.value
    assert (error.operation, error.exception_type, error.message) == (
        CAPTURE, exception_type, message)
    assert error.hint
    assert list(opportunities(sandbox)) == [SEEDED]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"Status": 1, "CreatedOpportunityId": None},
         f"{CAPTURE}: Capture answered Status 1"),
        ({"Status": "1", "ExceptionMessage": "Opportunity could not be captured"},
         f"{CAPTURE}: Opportunity could not be captured"),
        ({"Status": 0, "CreatedOpportunityId": None, "AdditionalDetails": []},
         f"{CAPTURE}: LeadSquared answered without CreatedOpportunityId (the opportunity may "
         "have been created; check the lead's opportunities)"),
    ],
    ids=["status-1", "status-1-with-message", "no-id"],
)
def test_capture_answers_that_are_not_a_success_are_errors(
    manifest: Manifest, answer: dict[str, Any], expected: str
) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", TYPES, ok({"EventCode": 12000, "DisplayName": "New Business",
                               "Fields": [{"SchemaName": "mx_Custom_1"}]}))
    fake.add("POST", CAPTURE, ok(answer))
    inputs = {"lead_id": PRIYA, "opportunity_type": 12000, "fields": NAME}
    with (fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq,
          pytest.raises(PermanentApiError) as caught):
        invoke_action(manifest, "create_opportunity", inputs, lsq)
    assert str(caught.value) == expected


def test_duplicate_read_from_additional_details_only(manifest: Manifest) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", TYPES, ok({"EventCode": "12000", "DisplayName": "New Business",
                               "Fields": [{"SchemaName": "mx_Custom_1"}]}))
    fake.add("POST", CAPTURE, ok({
        "Status": 0, "CreatedOpportunityId": None, "IsUnique": False,
        "AdditionalDetails": [{"ActivityId": SEEDED, "PostDeDupActionPerformed": "3",
                               "ConflictedOpportunityId": SEEDED}],
    }))
    fake.add("GET", "LeadManagement.svc/Leads.GetByEmailaddress",
             ok([{"ProspectID": PRIYA, "EmailAddress": "priya.sharma@example.com"}]))
    inputs = {"lead_email": "priya.sharma@example.com", "opportunity_type": 12000,
              "fields": NAME}
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq:
        output = invoke_action(manifest, "create_opportunity", inputs, lsq)
    assert output == {"opportunity_id": None, "duplicate": True,
                      "conflicting_opportunity_id": SEEDED, "lead_id": PRIYA}


# -- update_opportunity ------------------------------------------------------------------

def test_update_sends_only_the_given_parts(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("update_opportunity", {
        "opportunity_id": SEEDED, "status": "Won", "owner": "meera.sales@example.com",
        "note": "Signed", "fields": {"mx_Custom_2": "Closed", "mx_Custom_3": 260000},
    })
    assert request_log.operations() == [DETAILS, USERS, UPDATE]
    assert request_log.last(DETAILS)["query"] == {"OpportunityId": SEEDED}
    # The exact Update request is in tests/contract/test_requests.py.
    assert output == {"opportunity_id": SEEDED, "updated_fields": [
        "mx_Custom_2", "mx_Custom_3", "Status", "Owner", "OpportunityNote"]}
    stored = opportunities(sandbox)[SEEDED]
    assert (stored["Status"], stored["Owner"], stored["mx_Custom_2"], stored["mx_Custom_1"],
            stored["OpportunityNote"]) == ("Won", MEERA, "Closed", "Acme Pune expansion", "Signed")


def test_update_of_the_status_alone_leaves_the_note(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    invoke("update_opportunity", {"opportunity_id": SEEDED, "status": "Lost"})
    assert request_log.last(UPDATE)["body"] == {
        "ProspectOpportunityId": SEEDED, "Fields": [{"SchemaName": "Status", "Value": "Lost"}]}
    assert opportunities(sandbox)[SEEDED]["OpportunityNote"] == "Expansion to the Pune plant"


def test_update_with_nothing_to_change_sends_nothing(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("update_opportunity", {"opportunity_id": SEEDED, "fields": {}})
    assert problems_of(caught) == ["inputs: give at least one of status, owner, note, fields"]
    assert request_log.all() == []


def test_update_unknown_field_is_named_and_nothing_is_written(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("update_opportunity", {"opportunity_id": SEEDED, "fields": {"mx_Stage": "X"}})
    assert problems_of(caught)[0].startswith("fields.mx_Stage: not a field of this opportunity;")
    assert request_log.operations() == [DETAILS]


def test_update_of_a_missing_opportunity_says_so_before_writing(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("update_opportunity", {"opportunity_id": MISSING, "status": "Won"})
    assert (caught.value.operation, caught.value.exception_type) == (
        DETAILS, "MXInvalidEntityException")
    assert f"no opportunity with id {MISSING}" in str(caught.value)
    assert request_log.operations() == [DETAILS]


def test_update_rejected_by_leadsquared_surfaces_the_mx_error(invoke: Invoke) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("update_opportunity", {"opportunity_id": SEEDED,
                                      "fields": {"mx_Custom_2": "Somewhere"}})
    assert (caught.value.operation, caught.value.exception_type, caught.value.message) == (
        UPDATE, "MXInvalidActivityFieldsException",
        "Invalid value 'Somewhere' for field 'mx_Custom_2'.")
    assert caught.value.hint


# -- find_opportunity --------------------------------------------------------------------

def test_find_by_id_flattens_the_fields_into_one_record(
    invoke: Invoke, request_log: Any
) -> None:
    output = invoke("find_opportunity", {"opportunity_id": SEEDED})
    assert request_log.operations() == [DETAILS]
    assert (request_log.last(DETAILS)["method"], request_log.last(DETAILS)["query"]) == (
        "GET", {"OpportunityId": SEEDED})
    assert output == {"found": True, "opportunity": SEEDED_DETAILS,
                      "opportunities": [SEEDED_DETAILS], "record_count": 1}


def test_find_by_lead_and_type_reads_the_leads_opportunities(
    invoke: Invoke, request_log: Any, manifest: Manifest
) -> None:
    output = invoke("find_opportunity", {"lead_id": PRIYA, "opportunity_type": 12000})
    assert request_log.operations() == [TYPES, OF_LEAD]
    call = request_log.last(OF_LEAD)
    assert (call["method"], call["query"]) == (
        "POST", {"leadId": PRIYA, "opportunityType": "12000"})
    assert call["body"] == {"Paging": {"PageIndex": 1, "PageSize": 100},
                            "Sorting": {"ColumnName": "CreatedOn", "Direction": "1"}}
    assert output == manifest.action("find_opportunity").sample_output


def test_find_by_lead_returns_the_newest_first(invoke: Invoke) -> None:
    created = invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": "New Business",
                                            "fields": NAME})["opportunity_id"]
    output = invoke("find_opportunity", {"lead_id": PRIYA, "opportunity_type": "new business"})
    assert [o["OpportunityId"] for o in output["opportunities"]] == [created, SEEDED]
    assert output["opportunity"]["OpportunityId"] == created
    assert output["record_count"] == 2


@pytest.mark.parametrize(
    "inputs",
    [{"opportunity_id": MISSING}, {"lead_id": ARJUN, "opportunity_type": 12000},
     {"lead_id": PRIYA, "opportunity_type": "Renewal"}],
    ids=["unknown-id", "lead-without-any", "lead-without-that-type"],
)
def test_find_that_finds_nothing_is_not_an_error(invoke: Invoke, inputs: dict[str, Any]) -> None:
    assert invoke("find_opportunity", inputs) == {
        "found": False, "opportunity": None, "opportunities": [], "record_count": 0}


def test_find_can_fail_when_nothing_matches(invoke: Invoke) -> None:
    with pytest.raises(RecordNotFoundError, match=f"no opportunity with id {MISSING}"):
        invoke("find_opportunity", {"opportunity_id": MISSING, "fail_if_not_found": True})
    with pytest.raises(RecordNotFoundError,
                       match=f"no opportunity with type Renewal \\(12001\\) on lead {PRIYA}"):
        invoke("find_opportunity", {"lead_id": PRIYA, "opportunity_type": 12001,
                                    "fail_if_not_found": True})


@pytest.mark.parametrize(
    "inputs",
    [{}, {"lead_id": PRIYA}, {"opportunity_id": SEEDED, "lead_id": PRIYA,
                              "opportunity_type": 12000}],
    ids=["nothing", "lead-without-type", "both"],
)
def test_find_input_needs_one_way_to_look(
    invoke: Invoke, request_log: Any, inputs: dict[str, Any]
) -> None:
    with pytest.raises(InputValidationError, match=r"is not valid under any|is valid under each"):
        invoke("find_opportunity", inputs)
    assert request_log.all() == []


# -- delete_opportunity ------------------------------------------------------------------

def test_delete_refused_by_the_type_says_to_allow_deletes(
    invoke: Invoke, sandbox: RunningSandbox
) -> None:
    renewal = invoke("create_opportunity", {"lead_id": PRIYA, "opportunity_type": 12001,
                                            "fields": NAME})["opportunity_id"]
    with pytest.raises(PermanentApiError) as caught:
        invoke("delete_opportunity", {"opportunity_id": renewal})
    assert (caught.value.operation, caught.value.exception_type) == (
        DELETE, "MXUnauthorizedRequestException")
    assert caught.value.message == "Deleting opportunities of type 'Renewal' is not allowed"
    assert caught.value.hint == _opportunities.DELETE_REFUSED_HINT
    assert renewal in opportunities(sandbox)


def test_delete_input_is_checked_before_any_request(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(InputValidationError, match="opportunity_id"):
        invoke("delete_opportunity", {})
    assert request_log.all() == []
