"""Lead activity actions against the sandbox: create, update and find (ProspectActivity.svc,
reference §4.8, §15).

Each test asserts what LeadSquared receives (the sandbox request log; the exact bodies are in
tests/contract), the validated output, the checks made before any write (type and field names,
with the closest names) and the errors passed through. Where the reference leaves a reading
open (Retrieve's Offset, its largest RowCount and order; what Update does with fields it is not
sent), the sandbox is switched to each reading and the actions give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.sandbox import FaultPlan, RunningSandbox
from tests.actions.conftest import Invoke
from tests.seed_ids import ARJUN, MEERA, MISSING, PRIYA, RAVI

DEMO = "8e3c1a57-2d4b-4f6e-9a10-000000000b01"  # Priya's Product Demo (201)
WEBINAR = "8e3c1a57-2d4b-4f6e-9a10-000000000b02"  # Priya's Webinar Attended (203)
TYPES = "ProspectActivity.svc/ActivityTypes.Get"
SETTING = "ProspectActivity.svc/CustomActivity/GetActivitySetting"
DETAILS = "ProspectActivity.svc/GetActivityDetails"
CREATE = "ProspectActivity.svc/Create"
UPDATE = "ProspectActivity.svc/CustomActivity/Update"
RETRIEVE = "ProspectActivity.svc/Retrieve"
USERS = "UserManagement.svc/Users.Get"
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"


def tenant(sandbox: RunningSandbox) -> Any:
    return sandbox.app.state.tenants["41872"]


def stored(sandbox: RunningSandbox, activity_id: str) -> dict[str, Any]:
    return tenant(sandbox).lead_activities[activity_id]


def at(sandbox: RunningSandbox, moment: str) -> None:
    sandbox.app.state.clock.set(datetime.fromisoformat(moment), freeze=True)


# -- create ------------------------------------------------------------------------------------


def test_create_resolves_the_type_by_name_and_the_owner_by_email(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_lead_activity", {
        "lead_id": PRIYA, "activity_type": "product demo", "note": "Second demo",
        "fields": {"Owner": "meera.sales@example.com", "mx_Custom_2": 5},
    })
    assert output["lead_id"] == PRIYA
    assert request_log.operations() == [TYPES, SETTING, USERS, CREATE]
    record = stored(sandbox, output["activity_id"])
    assert (record["ActivityEvent"], record["ActivityNote"]) == (201, "Second demo")
    assert (record["Fields"]["Owner"], record["Fields"]["mx_Custom_2"]) == (MEERA, "5")


def test_create_by_email_posts_on_the_lead_found(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_lead_activity", {"lead_email": "ARJUN.MEHTA@example.com",
                                             "activity_type": "Deal Won",
                                             "fields": {"mx_Custom_1": "Arjun renewal"}})
    assert output["lead_id"] == ARJUN
    assert stored(sandbox, output["activity_id"])["RelatedProspectId"] == ARJUN
    # Either name of a type works: its display name or its event name.
    assert invoke("create_lead_activity", {"lead_id": ARJUN, "activity_type": "deal_won",
                                           "fields": {"mx_Custom_1": "x"}})["lead_id"] == ARJUN


def test_an_unknown_lead_email_creates_nothing(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    leads = len(tenant(sandbox).leads)
    with pytest.raises(InputValidationError, match=r"no lead has EmailAddress 'new@example\.com'"):
        invoke("create_lead_activity", {"lead_email": "new@example.com", "activity_type": 201})
    assert CREATE not in request_log.operations()
    assert len(tenant(sandbox).leads) == leads  # Create by EmailAddress would have made one


@pytest.mark.parametrize(
    ("inputs", "problem", "sent"),
    [
        ({"activity_type": "Product Demos"},
         "activity_type: 'Product Demos' is not a lead activity type of this account; did you "
         "mean Product Demo (201)?", [TYPES]),
        ({"activity_type": 299},
         "activity_type: code 299 is not a lead activity type of this account; known types: "
         "Product Demo (201), Deal Won (202), Webinar Attended (203)", [TYPES, SETTING]),
        ({"activity_type": 201, "fields": {"mx_custom_1": "x"}},
         "fields.mx_custom_1: not a field of this lead activity type (Product Demo); did you "
         "mean mx_Custom_1?", [TYPES, SETTING]),
        ({"activity_type": 203, "fields": {"mx_Custom_2": "x"}},
         "fields.mx_Custom_2: not a field of this lead activity type (Webinar Attended); did "
         "you mean mx_Custom_1?", [TYPES, SETTING]),
    ],
    ids=["type-name", "type-code", "field-case", "field-of-another-type"],
)
def test_unknown_types_and_fields_fail_with_the_closest_names_before_any_write(
    invoke: Invoke, request_log: Any, inputs: dict[str, Any], problem: str, sent: list[str]
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("create_lead_activity", {"lead_id": PRIYA, **inputs})
    assert raised.value.problems == [problem]
    assert request_log.operations() == sent


CREATE_ACTION, UPDATE_ACTION = "create_lead_activity", "update_lead_activity"


@pytest.mark.parametrize(
    ("key", "inputs", "named"),
    [
        (CREATE_ACTION, {"activity_type": 201}, "lead_id"),
        (CREATE_ACTION, {"lead_id": PRIYA, "lead_email": "priya.sharma@example.com",
                         "activity_type": 201}, "lead_email"),
        (CREATE_ACTION, {"lead_id": PRIYA}, "activity_type"),
        (CREATE_ACTION, {"lead_id": PRIYA, "activity_type": True}, "$.activity_type"),
        (CREATE_ACTION, {"lead_id": PRIYA, "activity_type": " "}, "$.activity_type"),
        (CREATE_ACTION, {"lead_id": PRIYA, "activity_type": 201,
                         "fields": {"Demo Outcome": "x"}}, "Demo Outcome"),
        (CREATE_ACTION, {"lead_id": PRIYA, "activity_type": 201, "note": "x" * 10_001},
         "$.note"),
        (UPDATE_ACTION, {"activity_id": DEMO, "activity_type": 201}, "note"),
        (UPDATE_ACTION, {"activity_id": DEMO, "note": "x"}, "activity_type"),
        (UPDATE_ACTION, {"activity_id": "b01", "activity_type": 201, "note": "x"},
         "$.activity_id"),
        ("find_lead_activity", {"activity_id": DEMO, "lead_id": PRIYA}, "lead_id"),
        ("find_lead_activity", {"activity_id": DEMO, "page": 2}, "page"),
    ],
    ids=["no-lead", "two-leads", "no-type", "type-bool", "type-blank", "display-name-as-field",
         "note-too-long", "update-nothing", "update-no-type", "update-id-not-guid",
         "find-id-and-lead", "find-id-with-page"],
)
def test_bad_input_is_refused_before_any_request(
    refused: Callable[..., InputValidationError], key: str, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused(key, inputs))


def test_leadsquared_errors_pass_through_once(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("create_lead_activity", {"lead_id": PRIYA, "activity_type": "Deal Won"})
    assert (raised.value.operation, raised.value.exception_type) == (
        CREATE, "MXInvalidActivityFieldsException")
    assert "'mx_Custom_1' of datatype : 'String' is mandatory" in raised.value.message
    assert request_log.operations().count(CREATE) == 1


def test_create_is_never_resent_after_a_lost_answer(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, client: LeadSquaredClient
) -> None:
    before = set(tenant(sandbox).lead_activities)
    client.metadata.resolve_lead_activity_type(201)  # cached: only the create meets the fault
    sandbox.app.faults.configure(FaultPlan.parse("drop=1"))
    with pytest.raises(AmbiguousWriteError):
        invoke("create_lead_activity", {"lead_id": PRIYA, "activity_type": 201})
    assert request_log.operations().count(CREATE) == 1
    assert len(set(tenant(sandbox).lead_activities) - before) == 1  # it landed, once


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("clears_unsent", [False, True], ids=["keeps-unsent", "clears-unsent"])
def test_update_changes_only_what_is_given_whatever_update_does_with_the_rest(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, clears_unsent: bool
) -> None:
    tenant(sandbox).settings["lead_activity_update_clears_unsent"] = clears_unsent
    output = invoke("update_lead_activity", {"activity_id": DEMO, "activity_type": "Product Demo",
                                             "fields": {"mx_Custom_1": "Ready to buy"}})
    assert output == {"activity_id": DEMO, "updated_fields": ["mx_Custom_1"]}
    assert request_log.operations() == [TYPES, SETTING, DETAILS, UPDATE]
    record = stored(sandbox, DEMO)
    assert record["ActivityNote"] == "Demo of the pricing module"
    assert record["Fields"] == {"mx_Custom_1": "Ready to buy", "mx_Custom_2": "3",
                                "Status": "Completed", "Owner": RAVI}


def test_update_of_the_note_alone(invoke: Invoke, sandbox: RunningSandbox) -> None:
    tenant(sandbox).settings["lead_activity_update_clears_unsent"] = True
    output = invoke("update_lead_activity", {"activity_id": WEBINAR, "activity_type": 203,
                                             "note": "Stayed for the Q&A"})
    assert output["updated_fields"] == ["ActivityNote"]
    record = stored(sandbox, WEBINAR)
    assert (record["ActivityNote"], record["Fields"]["mx_Custom_1"]) == (
        "Stayed for the Q&A", "What's new in May")


def test_update_of_a_missing_activity_writes_nothing(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(RecordNotFoundError, match=f"no lead activity with ProspectActivityId "
                                                  f"{MISSING}"):
        invoke("update_lead_activity", {"activity_id": MISSING, "activity_type": 201,
                                        "note": "x"})
    assert request_log.operations() == [TYPES, DETAILS]


# -- find --------------------------------------------------------------------------------------


def test_find_by_id_flattens_the_details(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_lead_activity", {"activity_id": DEMO})
    assert output["found"] is True
    assert output["activity"] == {
        "ProspectActivityId": DEMO, "RelatedProspectId": None, "ActivityEvent": None,
        "ActivityEventName": "Product Demo", "ActivityNote": "Demo of the pricing module",
        "mx_Custom_1": "Interested", "mx_Custom_2": "3", "Status": "Completed", "Owner": RAVI,
    }
    assert request_log.operations() == [DETAILS]


def test_find_by_id_of_a_missing_activity(invoke: Invoke) -> None:
    assert invoke("find_lead_activity", {"activity_id": MISSING}) == {
        "found": False, "activity": None}
    with pytest.raises(RecordNotFoundError, match=f"no activity with ProspectActivityId {MISSING}"):
        invoke("find_lead_activity", {"activity_id": MISSING, "fail_if_not_found": True})


@pytest.fixture
def busy_lead(invoke: Invoke, sandbox: RunningSandbox) -> list[str]:
    """Six more Product Demos on Priya, a day apart: her 8 activities, newest first."""
    made = []
    for day in range(1, 7):
        at(sandbox, f"2025-06-{day:02d}T09:00:00+00:00")
        made.append(invoke("create_lead_activity", {"lead_id": PRIYA, "activity_type": 201,
                                                    "note": f"demo {day}"})["activity_id"])
    return [*reversed(made), WEBINAR, DEMO]


@pytest.mark.parametrize("offset", ["page", "row"])
@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_find_by_lead_pages_newest_first_whatever_offset_and_order_mean(
    invoke: Invoke, sandbox: RunningSandbox, busy_lead: list[str], offset: str, order: str
) -> None:
    tenant(sandbox).settings.update(lead_activity_offset=offset, lead_activity_order=order)
    pages = [invoke("find_lead_activity", {"lead_id": PRIYA, "page": page, "page_size": 3})
             for page in (1, 2, 3)]
    assert [[a["ProspectActivityId"] for a in p["activities"]] for p in pages] == [
        busy_lead[:3], busy_lead[3:6], busy_lead[6:]]
    assert [(p["record_count"], p["has_more"]) for p in pages] == [(8, True), (8, True),
                                                                    (8, False)]
    assert pages[2]["activities"][-1]["ActivityNote"] == "Demo of the pricing module"


def test_find_by_lead_filters_by_type_and_dates(
    invoke: Invoke, request_log: Any, busy_lead: list[str]
) -> None:
    output = invoke("find_lead_activity", {
        "lead_email": "priya.sharma@example.com", "activity_type": "Product Demo",
        "from_date": "2025-03-01T00:00:00Z", "to_date": "2025-06-03 12:00:00"})
    assert [a["ProspectActivityId"] for a in output["activities"]] == [
        busy_lead[3], busy_lead[4], busy_lead[5], DEMO]
    assert {a["ActivityEvent"] for a in output["activities"]} == {201}
    assert request_log.last(RETRIEVE)["body"]["Parameter"] == {"ActivityEvent": 201}
    nothing = invoke("find_lead_activity", {"lead_id": PRIYA, "from_date": "2030-01-01"
                                            " 00:00:00"})
    assert nothing == {"found": False, "activities": [], "record_count": 0, "has_more": False}
    with pytest.raises(RecordNotFoundError, match=f"no activity on lead {PRIYA} matches"):
        invoke("find_lead_activity", {"lead_id": PRIYA, "activity_type": 202,
                                      "fail_if_not_found": True})


def test_an_answer_cut_short_is_an_error_not_a_wrong_page(
    invoke: Invoke, sandbox: RunningSandbox, busy_lead: list[str]
) -> None:
    tenant(sandbox).settings["lead_activity_max_rows"] = 5  # a cap below the 1000 asked for
    with pytest.raises(PermanentApiError) as raised:
        invoke("find_lead_activity", {"lead_id": PRIYA})
    assert raised.value.operation == RETRIEVE
    assert raised.value.message.startswith("LeadSquared answered 5 of the lead's 8 activities")


def test_a_page_past_one_request_is_refused_before_any_request(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError, match="page: page 11 of 100 reaches past"):
        invoke("find_lead_activity", {"lead_id": PRIYA, "page": 11, "page_size": 100})
    assert request_log.all() == []


def test_a_lead_with_more_activities_than_one_request_reads_is_an_input_error(
    invoke: Invoke, sandbox: RunningSandbox
) -> None:
    activities = tenant(sandbox).lead_activities
    arjuns = activities["8e3c1a57-2d4b-4f6e-9a10-000000000b03"]
    for n in range(1000):  # copies in the store: a lead far busier than the seed's
        activities[f"copy-{n}"] = {**arjuns, "ProspectActivityId": f"copy-{n}"}
    with pytest.raises(InputValidationError) as raised:
        invoke("find_lead_activity", {"lead_id": ARJUN})
    assert raised.value.problems == [
        "activity_type: the lead has 1001 activities, more than the 1000 one request reads; "
        "give an activity_type to narrow them"]
    # The other type's activities of the lead are few: that read answers.
    assert invoke("find_lead_activity", {"lead_id": ARJUN, "activity_type": 203})["found"] is False
