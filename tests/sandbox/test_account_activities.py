"""Contract: CompanyActivity.svc account activities (reference §6)."""

from __future__ import annotations

import pytest

from runtime.sandbox.services.account_activities import DELETE_OPERATION
from tests.seed_ids import ACME, ADMIN, INITECH, RAVI

CREATE = "CompanyActivity.svc/Create"
UPDATE = "CompanyActivity.svc/Update"
RETRIEVE = "CompanyActivity.svc/Retrieve"
BY_ID = "CompanyActivity.svc/RetrieveById"
SEEDED = "5e2b8d41-7a9c-4f03-b6e2-000000000a01"


@pytest.fixture
def frozen(raw_api):
    raw_api.control("POST", "clock", {"set": "2026-07-31T17:33:50Z", "freeze": True})
    return raw_api


def post_note(api, **extra):
    body = {"RelatedCompanyId": INITECH, "ActivityEvent": 10001, "ActivityNote": "Kick-off",
            "Fields": [{"SchemaName": "Status", "Value": "Planned"},
                       {"SchemaName": "Owner", "Value": RAVI}], **extra}
    return api.post(CREATE, body)


def test_create_returns_id_and_the_record_reads_back_with_both_date_styles(frozen):
    response = post_note(frozen)
    assert response.status_code == 200
    activity_id = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": activity_id}}
    record = frozen.get(BY_ID, activityId=activity_id).json()
    assert record == {
        "CompanyActivityId": activity_id,
        "RelatedCompanyId": INITECH,
        "ActivityEvent": 10001,
        "ActivityNote": "Kick-off",
        "ActivityDateTime": "2026-07-31 17:33:50",
        "ActivityType": 2,
        "ActivityDisplayName": "Meeting Note",
        "CreatedOn": "2026-07-31 17:33:50",
        "ModifiedOn": "2026-07-31 17:33:50",
        "CreatedBy": ADMIN,
        "CreatedByName": "Asha Admin",
        "ModifiedBy": ADMIN,
        "ModifiedByName": "Asha Admin",
        "ActivityFields": {"Status": "Planned", "Owner": RAVI, "mx_Custom_1": None,
                           "CreatedOn": "7/31/2026 5:33:50 PM"},
    }


def test_create_takes_activity_date_time(raw_api):
    activity_id = post_note(raw_api, ActivityDateTime="2026-01-02 03:04:05").json()["Message"]["Id"]
    assert raw_api.get(BY_ID, activityId=activity_id).json()["ActivityDateTime"] == (
        "2026-01-02 03:04:05")


def test_create_with_unknown_activity_code_is_mx_error(raw_api):
    response = post_note(raw_api, ActivityEvent=19999)
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"
    assert "19999" in response.json()["ExceptionMessage"]


def test_create_on_unknown_company_is_invalid_entity(raw_api):
    assert post_note(raw_api, RelatedCompanyId="nope").json()["ExceptionType"] == (
        "MXInvalidEntityException")


def test_create_missing_mandatory_field_is_invalid_activity_fields(raw_api):
    response = post_note(raw_api, ActivityEvent=10002)
    assert response.status_code == 500
    assert response.json() == {
        "Status": "Error", "ExceptionType": "MXInvalidActivityFieldsException",
        "ExceptionMessage": "Field name : 'mx_Custom_1' of datatype : 'String' is mandatory."}


def test_create_with_unknown_field_is_invalid_activity_fields(raw_api):
    response = post_note(raw_api, Fields=[{"SchemaName": "mx_Custom_9", "Value": "x"}])
    assert response.json()["ExceptionType"] == "MXInvalidActivityFieldsException"


def test_update_changes_note_and_sent_fields(frozen):
    response = frozen.post(UPDATE, {"CompanyActivityId": SEEDED, "ActivityNote": "Edited",
                                    "Fields": [{"SchemaName": "Status", "Value": "Reviewed"}]})
    assert response.status_code == 200
    assert response.json() == {"Status": "Success",
                               "Message": {"Id": SEEDED, "IsSuccessful": True}}
    record = frozen.get(BY_ID, activityId=SEEDED).json()
    assert record["ActivityNote"] == "Edited"
    assert record["ActivityFields"]["Status"] == "Reviewed"
    assert record["ActivityFields"]["mx_Custom_1"] == "Ravi Sales, Acme procurement"
    assert record["ModifiedOn"] == "2026-07-31 17:33:50"
    assert record["CreatedOn"] == "2025-03-01 10:30:00"


def test_update_of_unknown_activity_is_invalid_entity(raw_api):
    response = raw_api.post(UPDATE, {"CompanyActivityId": "nope", "ActivityNote": "x"})
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_retrieve_lists_activities_of_the_account(raw_api):
    response = raw_api.post(RETRIEVE, {"Paging": {"PageIndex": "1", "PageSize": "100"}},
                            companyId=ACME)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"RecordCount", "CompanyActivities"}
    assert body["RecordCount"] == 1
    assert body["CompanyActivities"][0]["CompanyActivityId"] == SEEDED
    assert body["CompanyActivities"][0]["ActivityFields"]["CreatedOn"] == "3/1/2025 10:30:00 AM"


def test_retrieve_filters_by_date_and_pages_with_ints(frozen):
    post_note(frozen)
    frozen.control("POST", "clock", {"advance": 3600})
    post_note(frozen, ActivityNote="Second")
    window = {"FromDate": "2026-07-31 18:00:00", "ToDate": "2026-08-01 00:00:00"}
    body = frozen.post(RETRIEVE, {"Parameter": window,
                                  "Paging": {"PageIndex": 1, "PageSize": 10}},
                       companyId=INITECH).json()
    assert body["RecordCount"] == 1
    assert body["CompanyActivities"][0]["ActivityNote"] == "Second"
    paged = frozen.post(RETRIEVE, {"Paging": {"PageIndex": 2, "PageSize": 1}},
                        companyId=INITECH).json()
    assert paged["RecordCount"] == 2
    assert [a["ActivityNote"] for a in paged["CompanyActivities"]] == ["Kick-off"]


def test_retrieve_requires_company_id(raw_api):
    response = raw_api.post(RETRIEVE, {})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_retrieve_by_id_of_unknown_activity_is_invalid_entity(raw_api):
    response = raw_api.get(BY_ID, activityId="nope")
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_invented_delete_removes_the_activity(raw_api):
    assert DELETE_OPERATION == "CompanyActivity.svc/Delete"
    response = raw_api.get(DELETE_OPERATION, activityId=SEEDED)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"IsSuccessful": True}}
    assert raw_api.get(BY_ID, activityId=SEEDED).json()["Status"] == "Error"
    assert raw_api.post(DELETE_OPERATION, {}, activityId=SEEDED).status_code == 405


def test_deleting_an_account_removes_its_activities(raw_api):
    raw_api.get("CompanyManagement.svc/Company.Delete", companyId=ACME, withLeadDelete="false")
    assert raw_api.get(BY_ID, activityId=SEEDED).json()["Status"] == "Error"
