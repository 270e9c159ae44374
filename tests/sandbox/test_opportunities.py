"""Contract: OpportunityManagement.svc opportunities (reference §7)."""

from __future__ import annotations

import json

import pytest

from tests.seed_ids import PRIYA, RAVI

CAPTURE = "OpportunityManagement.svc/Capture"
UPDATE = "OpportunityManagement.svc/Update"
DETAILS = "OpportunityManagement.svc/GetOpportunityDetails"
OF_LEAD = "OpportunityManagement.svc/GetOpportunitiesOfLead"
DELETE = "OpportunityManagement.svc/Delete"
METADATA = "OpportunityManagement.svc/GetOpportunityTypeMetadata"
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"
SEEDED = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"


@pytest.fixture
def frozen(raw_api):
    raw_api.control("POST", "clock", {"set": "2026-07-31T05:33:50Z", "freeze": True})
    return raw_api


def capture(api, lead=None, code=12000, **opportunity):
    lead = lead or [{"Attribute": "EmailAddress", "Value": "priya.sharma@example.com"},
                    {"Attribute": "SearchBy", "Value": "EmailAddress"}]
    fields = opportunity.pop("Fields", [{"SchemaName": "mx_Custom_1", "Value": "Second plant"},
                                        {"SchemaName": "Status", "Value": "Open"}])
    body = {"LeadDetails": lead,
            "Opportunity": {"OpportunityEventCode": code, "OpportunityNote": "From the API",
                            "Fields": fields, **opportunity}}
    return api.post(CAPTURE, body)


def test_capture_on_existing_lead_returns_numeric_status(frozen):
    response = capture(frozen)
    assert response.status_code == 200
    body = response.json()
    new_id = body["CreatedOpportunityId"]
    # Documented keys only (reference §7.1): no source shows the lead's id in the answer.
    assert body == {
        "Status": 0, "CreatedOpportunityId": new_id, "IsUnique": True,
        "PrimaryAction": 2, "SecondaryAction": 1,
        "AdditionalDetails": [{"ActivityId": new_id, "PostDeDupActionPerformed": 1,
                               "ConflictedOpportunityId": None}],
    }
    details = frozen.get(DETAILS, OpportunityId=new_id).json()["Fields"]
    assert {f["SchemaName"]: f["Value"] for f in details}["RelatedProspectId"] == PRIYA


def test_capture_by_prospect_id_search(raw_api):
    lead = [{"Attribute": "ProspectID", "Value": PRIYA},
            {"Attribute": "SearchBy", "Value": "ProspectId"}]
    created = capture(raw_api, lead).json()["CreatedOpportunityId"]
    details = raw_api.get(DETAILS, OpportunityId=created).json()["Fields"]
    assert {f["SchemaName"]: f["Value"] for f in details}["RelatedProspectId"] == PRIYA


def test_capture_creates_the_lead_when_none_matches(raw_api):
    lead = [{"Attribute": "EmailAddress", "Value": "new.buyer@example.com"},
            {"Attribute": "FirstName", "Value": "Nina"},
            {"Attribute": "SearchBy", "Value": "EmailAddress"}]
    body = capture(raw_api, lead).json()
    assert body["Status"] == 0 and body["PrimaryAction"] == 1
    found = raw_api.get(BY_EMAIL, emailaddress="new.buyer@example.com").json()
    details = raw_api.get(DETAILS, OpportunityId=body["CreatedOpportunityId"]).json()["Fields"]
    lead_of = {f["SchemaName"]: f["Value"] for f in details}["RelatedProspectId"]
    assert [lead["ProspectID"] for lead in found] == [lead_of]
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert sorted(key.split(":")[0] for key in counts) == [CAPTURE, f"{CAPTURE}#lead"]


def test_capture_with_unknown_prospect_id_fails(raw_api):
    lead = [{"Attribute": "ProspectID", "Value": "no-such-lead"},
            {"Attribute": "SearchBy", "Value": "ProspectId"}]
    response = capture(raw_api, lead)
    assert response.status_code == 500
    assert response.json()["Status"] == 1
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_capture_is_not_idempotent(raw_api):
    first = capture(raw_api).json()["CreatedOpportunityId"]
    second = capture(raw_api).json()
    assert second["CreatedOpportunityId"] != first and second["IsUnique"] is True
    listed = raw_api.post(OF_LEAD, None, leadId=PRIYA, opportunityType="12000").json()
    assert listed["RecordCount"] == 3
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert [n for key, n in counts.items() if key.startswith(CAPTURE + ":")] == [2]


def test_capture_with_duplicate_detection_on_reports_the_conflict(raw_api):
    raw_api.control("POST", "settings", {"opportunity_duplicate_detection": [12000]})
    first = capture(raw_api).json()["CreatedOpportunityId"]
    again = capture(raw_api).json()
    assert again == {
        "Status": 0, "CreatedOpportunityId": None, "IsUnique": False,
        "PrimaryAction": 2, "SecondaryAction": 3,
        "AdditionalDetails": [{"ActivityId": first, "PostDeDupActionPerformed": 3,
                               "ConflictedOpportunityId": first}],
    }


def test_capture_with_unknown_type_code_is_a_failure(raw_api):
    response = capture(raw_api, code=12999)
    assert response.status_code == 500
    assert response.json() == {
        "Status": 1, "CreatedOpportunityId": None, "IsUnique": False, "PrimaryAction": None,
        "SecondaryAction": None, "AdditionalDetails": [],
        "ExceptionType": "MXInvalidEntityException",
        "ExceptionMessage": "Opportunity type with event code '12999' does not exist",
    }


@pytest.mark.parametrize("fields", [
    [{"SchemaName": "Status", "Value": "Open"}],
    [{"SchemaName": "mx_Custom_1", "Value": "X"}, {"SchemaName": "Status", "Value": "Proposal"}],
    [{"SchemaName": "mx_Custom_1", "Value": "X"}, {"SchemaName": "mx_Custom_77", "Value": "1"}],
    [{"SchemaName": "mx_Custom_1", "Value": "X"}, {"SchemaName": "Owner", "Value": "nobody"}],
], ids=["missing-mandatory", "stage-in-status", "unknown-field", "unknown-owner"])
def test_capture_field_errors_are_invalid_activity_fields(raw_api, fields):
    response = capture(raw_api, Fields=fields)
    assert response.status_code == 500
    assert response.json()["Status"] == 1
    assert response.json()["ExceptionType"] == "MXInvalidActivityFieldsException"


def test_capture_emits_no_lead_for_a_failed_opportunity(raw_api):
    lead = [{"Attribute": "EmailAddress", "Value": "nobody.new@example.com"}]
    capture(raw_api, lead, code=99)
    assert raw_api.get(BY_EMAIL, emailaddress="nobody.new@example.com").json() == []


def test_get_opportunity_details(frozen):
    body = frozen.get(DETAILS, OpportunityId=SEEDED).json()
    assert (body["ID"], body["Name"], body["DisplayName"]) == (
        SEEDED, "Acme Pune expansion", "New Business")
    fields = {f["SchemaName"]: f for f in body["Fields"]}
    assert fields["Status"]["Value"] == "Open"
    assert json.loads(fields["Status"]["OptionSet"]) == [
        {"Value": "Open", "Text": "Open"}, {"Value": "Won", "Text": "Won"},
        {"Value": "Lost", "Text": "Lost"}]
    assert set(fields["Status"]) == {"SchemaName", "InternalName", "DisplayName", "Value",
                                     "DataType", "IsMandatory", "OptionSet"}
    assert fields["RelatedProspectId"]["Value"] == PRIYA
    assert fields["mx_Custom_3"]["Value"] == "250000"


def test_get_opportunity_details_of_unknown_id_is_invalid_entity(raw_api):
    response = raw_api.get(DETAILS, OpportunityId="nope")
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_update_changes_sent_fields_by_id_or_auto_id(frozen):
    response = frozen.post(UPDATE, {"ProspectOpportunityId": SEEDED, "OpportunityNote": "Won!",
                                    "Fields": [{"SchemaName": "Status", "Value": "Won"}]})
    assert response.status_code == 200
    assert response.json() == {"Status": "Success",
                               "Message": {"Id": SEEDED, "IsSuccessful": True}}
    by_auto_id = frozen.post(UPDATE, {"ProspectOpportunityId": "1",
                                      "Fields": [{"SchemaName": "mx_Custom_3", "Value": 300000}]})
    assert by_auto_id.json()["Message"]["Id"] == SEEDED
    item = frozen.post(OF_LEAD, None, leadId=PRIYA, opportunityType=12000).json()["List"][0]
    assert (item["Status"], item["OpportunityNote"], item["mx_Custom_3"]) == (
        "Won", "Won!", "300000")
    assert item["mx_Custom_1"] == "Acme Pune expansion"
    assert item["ModifiedOn"] == "2026-07-31 05:33:50"


def test_update_of_unknown_opportunity_is_invalid_entity(raw_api):
    response = raw_api.post(UPDATE, {"ProspectOpportunityId": "nope", "Fields": []})
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_opportunities_of_lead_are_flat_items(raw_api):
    response = raw_api.post(OF_LEAD, {"Paging": {"PageIndex": 1, "PageSize": 10}},
                            leadId=PRIYA, opportunityType="12000")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"RecordCount", "List"} and body["RecordCount"] == 1
    item = body["List"][0]
    assert "Fields" not in item
    assert item["OpportunityId"] == SEEDED and item["RelatedProspectId"] == PRIYA
    assert item["OpportunityEvent"] == "12000"
    assert (item["Status"], item["Owner"], item["OwnerName"]) == ("Open", RAVI, "Ravi Sales")
    assert (item["FirstName"], item["PACreatedOn"]) == ("Priya", "2025-03-02 10:05:00")


def test_opportunities_of_lead_require_the_type(raw_api):
    response = raw_api.post(OF_LEAD, None, leadId=PRIYA)
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
    other = raw_api.post(OF_LEAD, None, leadId=PRIYA, opportunityType="12001").json()
    assert other == {"RecordCount": 0, "List": []}


def test_opportunities_of_lead_columns(raw_api):
    body = {"Columns": {"Include_CSV": "OpportunityId,Status"}}
    result = raw_api.post(OF_LEAD, body, leadId=PRIYA, opportunityType="12000").json()
    assert result["List"] == [{"OpportunityId": SEEDED, "Status": "Open"}]


def test_delete_when_the_type_allows_it(raw_api):
    response = raw_api.get(DELETE, Id=SEEDED)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"IsSuccessful": True}}
    assert raw_api.get(DETAILS, OpportunityId=SEEDED).json()["Status"] == "Error"


def test_delete_refused_when_the_type_disallows_it(raw_api):
    created = capture(raw_api, code=12001).json()["CreatedOpportunityId"]
    response = raw_api.get(DELETE, Id=created)
    assert response.status_code == 500
    assert response.json() == {
        "Status": "Error", "ExceptionType": "MXUnauthorizedRequestException",
        "ExceptionMessage": "Deleting opportunities of type 'Renewal' is not allowed"}
    assert raw_api.get(DETAILS, OpportunityId=created).status_code == 200


def test_type_metadata(raw_api):
    response = raw_api.get(METADATA, code="12001")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("AllowAttachments", "CanDelete", "Description", "DisplayName",
                                 "EventCode")} == {
        "AllowAttachments": False, "CanDelete": False,
        "Description": "Renewal of an existing contract", "DisplayName": "Renewal",
        "EventCode": 12001}
    status = next(f for f in body["Fields"] if f["SchemaName"] == "Status")
    assert isinstance(status["OptionSet"], str)
    assert [o["Value"] for o in json.loads(status["OptionSet"])] == ["Open", "Won", "Lost"]
    assert raw_api.get(METADATA, code="1").json()["ExceptionType"] == "MXInvalidEntityException"
