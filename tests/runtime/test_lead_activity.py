"""runtime.api.lead_activity: every shape LeadSquared answers a lead activity in becomes the same
flat record (reference §4.8, §12.3, §15; the docs' and live clients' samples)."""

from __future__ import annotations

import pytest

from runtime.api.lead_activity import activity_record, type_code
from runtime.errors import InputValidationError

ACTIVITY = "c310391d-6784-418b-b61c-bca2d0a7a645"
LEAD = "5b0a1e2c-7d3f-4c8e-a1b2-000000000201"
OWNER = "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e02"
#: What each shape gives, the properties every shape carries.
COMMON = {"ProspectActivityId": ACTIVITY, "ActivityNote": "Called back", "Status": "Completed",
          "mx_Custom_1": "Interested"}

SHAPES = {
    # Retrieve?leadId=: Data as [{Key, Value}] (live code, §4.8); the lead only in the query.
    "lead-retrieve-data-list": {
        "Id": ACTIVITY, "EventCode": 201, "EventName": "Product Demo", "ActivityScore": 10,
        "CreatedOn": "2018-12-12 10:36:00", "ActivityType": 2, "Type": "Inbound",
        "Data": [{"Key": "ActivityEvent_Note", "Value": "Called back"},
                 {"Key": "Status", "Value": "Completed"},
                 {"Key": "mx_Custom_1", "Value": "Interested"}]},
    # the same with Data as an object (the docs' wording: "a key-value pair")
    "lead-retrieve-data-object": {
        "Id": ACTIVITY, "EventCode": "201", "EventName": "Product Demo",
        "CreatedOn": "2018-12-12 10:36:00.000",
        "Data": {"ActivityEvent_Note": "Called back", "Status": "Completed",
                 "mx_Custom_1": "Interested"}},
    # RetrieveByActivityEvent: flat items, the code as text (a client's recorded answer)
    "by-event": {
        "ProspectActivityId": ACTIVITY, "RelatedProspectId": LEAD, "ActivityEvent": "201",
        "ActivityEvent_Note": "Called back", "Status": "Completed", "mx_Custom_1": "Interested",
        "CreatedOn": "2018-12-12 10:36:00"},
    # the activity webhook (§12.3): Data an object with Note
    "webhook": {
        "ProspectActivityId": ACTIVITY, "RelatedProspectId": LEAD, "ActivityEvent": 201,
        "ActivityEventName": "Product Demo", "CreatedOn": "12/12/2018 10:36:00 AM",
        "CreatedBy": OWNER, "Data": {"Note": "Called back", "Status": "Completed",
                                     "mx_Custom_1": "Interested"}},
    # GetActivityDetails: Fields with SchemaName/Value, the note as ActivityEvent_Note
    "details": {
        "ID": ACTIVITY, "Name": "Product Demo", "DisplayName": "Product Demo",
        "Fields": [{"SchemaName": "ActivityEvent_Note", "Value": "Called back"},
                   {"SchemaName": "mx_Custom_1", "DisplayName": "Outcome", "Value": "Interested"},
                   {"SchemaName": "Status", "Value": "Completed"}]},
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_every_shape_gives_the_same_record(shape: str) -> None:
    record = activity_record(SHAPES[shape], RelatedProspectId=LEAD)
    assert record | COMMON == record
    assert record["RelatedProspectId"] == LEAD
    assert "Data" not in record and "Fields" not in record
    if shape != "details":  # GetActivityDetails names neither the code nor the dates
        assert (record["ActivityEvent"], record["CreatedOn"]) == (201, "2018-12-12 10:36:00")
    if shape not in {"by-event"}:
        assert record["ActivityEventName"] == "Product Demo"


def test_the_answers_own_values_win_over_what_the_caller_knows() -> None:
    record = activity_record(SHAPES["by-event"], RelatedProspectId="someone-else",
                             ActivityEventName="Product Demo")
    assert (record["RelatedProspectId"], record["ActivityEventName"]) == (LEAD, "Product Demo")


def test_values_are_scalars_and_data_may_be_json_text() -> None:
    raw = {"Id": ACTIVITY, "EventCode": 201, "Latitude": None,
           "Data": '[{"Key": "mx_Custom_2", "Value": {"a": 1}}]'}
    record = activity_record(raw)
    assert record["mx_Custom_2"] == '{"a": 1}' and record["Latitude"] is None


@pytest.mark.parametrize(("given", "code"), [(201, 201), ("201", 201), (" 202 ", 202),
                                             ("Product Demo", None)])
def test_a_type_is_a_code_or_a_name(given: object, code: int | None) -> None:
    assert type_code(given) == code


def test_a_boolean_is_not_a_type() -> None:
    with pytest.raises(InputValidationError, match="activity_type: true/false"):
        type_code(True)
