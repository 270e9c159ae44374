"""Contract: Task.svc tasks and appointments, RetrieveTaskByLeadId (reference §8)."""

from __future__ import annotations

import pytest

from tests.seed_ids import ADMIN, ARJUN, PRIYA, RAVI

CREATE = "Task.svc/Create"
UPDATE = "Task.svc/Update"
RETRIEVE = "Task.svc/Retrieve"
BY_ID = "Task.svc/Retrieve.GetById"
BY_LEAD = "LeadManagement.svc/RetrieveTaskByLeadId"
DELETE = "Task.svc/DeleteTasks"
TYPES = "Task.svc/RetrieveTaskType"
COMPLETE = "Task.svc/MarkComplete"
SEEDED = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
MEETING_TYPE = "8d3f6a10-4b2c-4e7d-9f01-00000000e001"


@pytest.fixture
def frozen(raw_api):
    raw_api.control("POST", "clock", {"set": "2026-07-31T05:33:50Z", "freeze": True})
    return raw_api


def create(api, **fields):
    body = {"Name": "Demo", "TaskType": {"Name": "Meeting"}, "RelatedEntity": 1,
            "RelatedEntityId": ARJUN, "DueDate": "2026-08-03 10:00:00", **fields}
    return api.post(CREATE, body)


def get(api, task_id):
    return api.get(BY_ID, id=task_id).json()[0]


def test_create_returns_the_task_id_and_get_by_id_returns_an_array(frozen):
    response = create(frozen, Description="Walk-through", Reminder=30, NotifyBy="1100",
                      Location="Zoom", CustomFields={"mx_Custom_1": "Pricing"})
    assert response.status_code == 200
    task_id = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": task_id}}
    found = frozen.get(BY_ID, id=task_id).json()
    assert isinstance(found, list) and len(found) == 1
    assert found[0] == {
        "UserTaskId": task_id, "AutoId": 2, "Name": "Demo", "Description": "Walk-through",
        "Category": 0, "TaskType": "Meeting", "TaskTypeId": MEETING_TYPE, "RelatedEntity": 1,
        "RelatedEntityId": ARJUN, "RelatedEntityIdName": "Arjun Mehta",
        "DueDate": "2026-08-03 10:00:00", "EndDate": "2026-08-03 10:30:00", "Reminder": 30,
        "ReminderBeforeDays": None, "ReminderTime": None, "NotifyBy": "1100", "OwnerId": ADMIN,
        "OwnerName": "Asha Admin", "OwnerEmailAddress": "asha.admin@example.com",
        "Location": "Zoom", "StatusCode": 0, "CompletedOn": None, "CreatedBy": ADMIN,
        "CreatedByName": "Asha Admin", "CreatedOn": "2026-07-31 05:33:50", "ModifiedBy": ADMIN,
        "ModifiedByName": "Asha Admin", "ModifiedOn": "2026-07-31 05:33:50",
        "mx_Custom_1": "Pricing", "Status": "Pending",
    }


def test_create_without_due_date_is_due_today(frozen):
    task_id = create(frozen, DueDate=None, TaskType={"Name": "To-do"}).json()["Message"]["Id"]
    task = get(frozen, task_id)
    assert task["DueDate"] == task["EndDate"] == "2026-07-31 05:33:50"


def test_appointment_with_end_date_keeps_it(frozen):
    task_id = create(frozen, EndDate="2026-08-03 12:00:00").json()["Message"]["Id"]
    assert get(frozen, task_id)["EndDate"] == "2026-08-03 12:00:00"


def test_create_by_owner_email_and_type_id(raw_api):
    response = create(raw_api, OwnerEmailAddress="RAVI.sales@example.com",
                      TaskType={"Id": MEETING_TYPE})
    task = get(raw_api, response.json()["Message"]["Id"])
    assert task["OwnerId"] == RAVI and task["TaskType"] == "Meeting"


def test_unassociated_task(raw_api):
    task_id = create(raw_api, RelatedEntity=0, RelatedEntityId=None).json()["Message"]["Id"]
    task = get(raw_api, task_id)
    assert task["RelatedEntity"] == 0 and task["RelatedEntityId"] is None


@pytest.mark.parametrize(("fields", "exception"), [
    ({"OwnerId": "nobody"}, "MXInvalidEntityException"),
    ({"OwnerEmailAddress": "ghost@example.com"}, "MXInvalidEntityException"),
    ({"TaskType": {"Name": "Lunch"}}, "MXInvalidEntityException"),
    ({"TaskType": None}, "MXMandatoryAttributeMissingException"),
    ({"RelatedEntityId": "no-such-lead"}, "MXInvalidEntityException"),
    ({"RelatedEntity": 5, "RelatedEntityId": "no-such-opportunity"}, "MXInvalidEntityException"),
    ({"RelatedEntity": 3}, "MXInvalidDataTypeException"),
    ({"Name": ""}, "MXMandatoryAttributeMissingException"),
    ({"DueDate": "31/07/2026"}, "MXInvalidDataTypeException"),
    ({"CustomFields": {"mx_Custom_7": "x"}}, "MXUnknownAttributeException"),
], ids=["owner-id", "owner-email", "type", "no-type", "lead", "opportunity", "entity", "name",
        "date", "custom-field"])
def test_create_rejects_bad_references_with_mx_errors(raw_api, fields, exception):
    response = create(raw_api, **fields)
    assert response.status_code == 500
    assert response.json()["Status"] == "Error"
    assert response.json()["ExceptionType"] == exception
    assert raw_api.control("GET", "create-counts")["counts"] == {}


def test_create_counts_each_create(raw_api):
    create(raw_api)
    create(raw_api)
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert [n for key, n in counts.items() if key.startswith(CREATE)] == [2]


def test_update_returns_affected_rows_and_auto_id(frozen):
    response = frozen.post(UPDATE, {"UserTaskId": SEEDED, "Name": "Call Priya again",
                                    "OwnerId": ADMIN, "DueDate": "2030-01-16 09:00:00"})
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1, "AutoId": 1}}
    task = get(frozen, SEEDED)
    assert task["Name"] == "Call Priya again" and task["OwnerName"] == "Asha Admin"
    assert task["DueDate"] == task["EndDate"] == "2030-01-16 09:00:00"
    assert task["Description"] == "Discuss the renewal quote"
    assert task["ModifiedOn"] == "2026-07-31 05:33:50"


def test_update_of_unknown_task_is_invalid_entity(raw_api):
    response = raw_api.post(UPDATE, {"UserTaskId": "nope", "Name": "x"})
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_retrieve_by_owner_with_offset_paging(raw_api):
    body = {"Parameter": {"LookupName": "OwnerEmailAddress",
                          "LookupValue": "ravi.sales@example.com", "StatusCode": 0,
                          "FromDate": "2025-01-01 00:00:00", "ToDate": "2099-12-31 23:59:59"},
            "Paging": {"Offset": 0, "RowCount": 10}}
    response = raw_api.post(RETRIEVE, body)
    assert response.status_code == 200
    result = response.json()
    assert set(result) == {"RecordCount", "List"} and result["RecordCount"] == 1
    assert result["List"][0]["UserTaskId"] == SEEDED
    assert result["List"][0]["Status"] == "Pending"


def test_retrieve_accepts_page_index_paging_dates_and_exclude_columns(raw_api):
    for day in ("01", "02", "03"):
        create(raw_api, DueDate=f"2026-09-{day} 10:00:00")
    body = {"Parameter": {"LookupName": "OwnerId", "LookupValue": ADMIN,
                          "FromDate": "2026-09-02 00:00:00", "ToDate": "2026-09-30 00:00:00"},
            "Columns": {"Exclude_CSV": "Description,Location"},
            "Paging": {"PageIndex": 2, "PageSize": 1}}
    result = raw_api.post(RETRIEVE, body).json()
    assert result["RecordCount"] == 2
    assert [t["DueDate"] for t in result["List"]] == ["2026-09-03 10:00:00"]
    assert "Description" not in result["List"][0] and "Location" not in result["List"][0]


def test_retrieve_needs_an_owner_lookup_and_the_documented_range(raw_api):
    response = raw_api.post(RETRIEVE, {"Parameter": {"LookupName": "Name", "LookupValue": "x"}})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
    # UNKNOWN whether the range is required: the sandbox takes the strict reading.
    no_range = {"Parameter": {"LookupName": "OwnerId", "LookupValue": ADMIN}}
    assert raw_api.post(RETRIEVE, no_range).json() == {
        "Status": "Error", "ExceptionType": "MXMandatoryAttributeMissingException",
        "ExceptionMessage": "FromDate and ToDate are mandatory"}


def test_get_by_id_of_unknown_task_is_empty_array(raw_api):
    response = raw_api.get(BY_ID, id="nope")
    assert response.status_code == 200 and response.json() == []


def test_retrieve_task_by_lead_id_has_the_fixed_field_set(raw_api):
    response = raw_api.get(BY_LEAD, leadId=PRIYA)
    assert response.status_code == 200
    assert response.json() == {"RecordCount": 1, "TaskList": [{
        "TaskID": SEEDED, "Name": "Follow-up call with Priya",
        "Description": "Discuss the renewal quote", "DueDate": "2030-01-15 09:00:00",
        "CreatedOn": "2025-03-03 08:00:00", "OwnerID": RAVI, "OwnerName": "Ravi Sales",
        "CreatedBy": ADMIN, "CreatedByName": "Asha Admin", "Status": "Pending", "Reminder": None,
    }]}
    assert raw_api.get(BY_LEAD, leadId=ARJUN).json() == {"RecordCount": 0, "TaskList": []}


def test_task_becomes_overdue_after_its_end_date(raw_api):
    raw_api.control("POST", "clock", {"set": "2030-01-15T09:00:01Z", "freeze": True})
    assert raw_api.get(BY_LEAD, leadId=PRIYA).json()["TaskList"][0]["Status"] == "Overdue"


def test_delete_tasks_bulk_shape(raw_api):
    other = create(raw_api).json()["Message"]["Id"]
    response = raw_api.post(DELETE, {"TaskIds": [SEEDED, other]})
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Operation": "Bulk Delete Tasks",
                               "TasksCount": 2, "DeletedTasksCount": 2, "FailureReason": None}
    assert raw_api.get(BY_ID, id=SEEDED).json() == []


def test_delete_tasks_reports_ids_not_found(raw_api):
    result = raw_api.post(DELETE, {"TaskIds": [SEEDED, "nope"]}).json()
    assert (result["TasksCount"], result["DeletedTasksCount"]) == (2, 1)
    assert result["FailureReason"] == "1 task(s) not found"


def test_delete_tasks_needs_ids(raw_api):
    response = raw_api.post(DELETE, {"TaskIds": []})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_retrieve_task_types_and_filter(raw_api):
    types = raw_api.get(TYPES).json()
    assert [(t["Name"], t["Category"]) for t in types] == [
        ("Meeting", 0), ("To-do", 1), ("Call", 1)]
    assert set(types[0]) == {"Id", "Name", "Category", "Color", "ColumnConfiguration"}
    todos = raw_api.get(TYPES, ColumnName="Category", ColumnValue="1").json()
    assert [t["Name"] for t in todos] == ["To-do", "Call"]
    by_name = raw_api.get(TYPES, ColumnName="TaskTypeName", ColumnValue="meeting").json()
    assert [t["Id"] for t in by_name] == [MEETING_TYPE]


def test_mark_complete(frozen):
    response = frozen.get(COMPLETE, id=SEEDED)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1}}
    task = get(frozen, SEEDED)
    assert (task["StatusCode"], task["Status"]) == (1, "Completed")
    assert task["CompletedOn"] == "2026-07-31 05:33:50"
    assert frozen.get(COMPLETE, id="nope").json()["ExceptionType"] == "MXInvalidEntityException"
