"""Contract: ProspectActivity.svc lead activities (reference §4.8, §12, §15), and the settings
that switch the sandbox between the readings the reference leaves open."""

from __future__ import annotations

import pytest

from tests.seed_ids import ARJUN, MEERA, MISSING, PRIYA, RAVI

TYPES = "ProspectActivity.svc/ActivityTypes.Get"
SETTING = "ProspectActivity.svc/CustomActivity/GetActivitySetting"
CREATE = "ProspectActivity.svc/Create"
UPDATE = "ProspectActivity.svc/CustomActivity/Update"
RETRIEVE = "ProspectActivity.svc/Retrieve"
DETAILS = "ProspectActivity.svc/GetActivityDetails"
BY_EVENT = "ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent"
DEMO = "8e3c1a57-2d4b-4f6e-9a10-000000000b01"
RANGE = {"FromDate": "2025-01-01 00:00:00", "ToDate": "2099-12-31 23:59:59"}


def settings(raw_api, **values):
    raw_api.control("POST", "settings", values)


def error_of(response):
    body = response.json()
    return response.status_code, body["ExceptionType"], body["ExceptionMessage"]


def test_types_answer_the_documented_keys_and_a_setting_its_custom_fields(raw_api):
    types = raw_api.get(TYPES).json()
    assert types[1] == {"ActivityEvent": 202, "ActivityEventName": "Deal_Won",
                        "DisplayName": "Deal Won", "Score": 25, "EventType": 2}
    setting = raw_api.get(SETTING, code="202").json()
    assert [f["SchemaName"] for f in setting["Fields"]] == ["mx_Custom_1", "mx_Custom_2"]
    assert error_of(raw_api.get(SETTING, code="299"))[1] == "MXInvalidEntityException"


def test_create_reads_back_in_every_shape(raw_api):
    raw_api.control("POST", "clock", {"set": "2025-06-01T08:00:00Z", "freeze": True})
    body = {"RelatedProspectId": ARJUN, "ActivityEvent": 201, "ActivityNote": "Demo",
            "ActivityDateTime": "2025-05-30 10:00:00",
            "Fields": [{"SchemaName": "Owner", "Value": MEERA},
                       {"SchemaName": "mx_Custom_2", "Value": "4"}]}
    response = raw_api.post(CREATE, body)
    new = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": new}}
    listed = raw_api.post(RETRIEVE, {"Parameter": {"ActivityEvent": 201}}, leadId=ARJUN).json()
    assert listed["RecordCount"] == 2
    item = listed["ProspectActivities"][0]  # newest first
    assert (item["Id"], item["EventCode"], item["EventName"], item["CreatedOn"]) == (
        new, 201, "Product Demo", "2025-06-01 08:00:00")
    assert {"Key": "Owner", "Value": MEERA} in item["Data"]
    assert {"Key": "ActivityEvent_Note", "Value": "Demo"} in item["Data"]
    details = raw_api.get(DETAILS, activityId=new).json()
    assert (details["ID"], details["DisplayName"], details["Fields"][0]) == (
        new, "Product Demo", {"SchemaName": "ActivityEvent_Note", "DisplayName": "Notes",
                              "DataType": "String", "IsMandatory": False, "Value": "Demo"})
    by_event = raw_api.post(BY_EVENT, {"Parameter": {"ActivityEvent": 201, **RANGE}}).json()
    [flat] = [row for row in by_event["List"] if row["ProspectActivityId"] == new]
    assert (flat["RelatedProspectId"], flat["ActivityEvent"], flat["mx_Custom_2"]) == (
        ARJUN, "201", "4")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"RelatedProspectId": MISSING, "ActivityEvent": 201},
         ("MXInvalidEntityException", "Lead does not exist in the system")),
        ({"RelatedProspectId": PRIYA, "ActivityEvent": 299},
         ("MXInvalidEntityException", "Activity Event '299' does not exist")),
        ({"RelatedProspectId": PRIYA, "ActivityEvent": 201,
          "Fields": [{"SchemaName": "mx_Custom_9", "Value": "x"}]},
         ("MXInvalidActivityFieldsException", "Field name : 'mx_Custom_9' does not exist.")),
        ({"RelatedProspectId": PRIYA, "ActivityEvent": 202},
         ("MXInvalidActivityFieldsException",
          "Field name : 'mx_Custom_1' of datatype : 'String' is mandatory.")),
        ({"RelatedProspectId": PRIYA, "ActivityEvent": 201,
          "Fields": [{"SchemaName": "Owner", "Value": "ravi.sales@example.com"}]},
         ("MXInvalidActivityFieldsException",
          "Field name : 'Owner' has an invalid user id 'ravi.sales@example.com'.")),
    ],
    ids=["unknown-lead", "unknown-type", "unknown-field", "mandatory-field", "owner-by-email"],
)
def test_create_errors(raw_api, body, expected):
    assert error_of(raw_api.post(CREATE, body)) == (500, *expected)


def test_create_by_email_makes_the_lead_when_none_has_it(raw_api, sandbox):
    body = {"EmailAddress": "walk.in@example.com", "FirstName": "Walk", "ActivityEvent": 203}
    new = raw_api.post(CREATE, body).json()["Message"]["Id"]
    lead = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress",
                       emailaddress="walk.in@example.com").json()[0]
    assert lead["FirstName"] == "Walk"
    assert sandbox.app.state.tenants["41872"].lead_activities[new]["RelatedProspectId"] == (
        lead["ProspectID"])


@pytest.mark.parametrize(("offset", "rows"), [("page", ["2", "3"]), ("row", ["1", "2"])])
def test_retrieve_offset_is_read_as_the_setting_says(raw_api, offset, rows):
    for n in range(5):
        raw_api.control("POST", "clock", {"set": f"2025-07-0{n + 1}T08:00:00Z", "freeze": True})
        raw_api.post(CREATE, {"RelatedProspectId": ARJUN, "ActivityEvent": 203,
                              "ActivityNote": str(n)})
    settings(raw_api, lead_activity_offset=offset, lead_activity_order="oldest")
    page = raw_api.post(RETRIEVE, {"Parameter": {"ActivityEvent": 203},
                                   "Paging": {"Offset": "1", "RowCount": "2"}},
                        leadId=ARJUN).json()
    notes = [dict((p["Key"], p["Value"]) for p in item["Data"])["ActivityEvent_Note"]
             for item in page["ProspectActivities"]]
    assert (page["RecordCount"], notes) == (5, rows)


def test_retrieve_answers_25_by_default_and_cuts_at_the_cap(raw_api, sandbox):
    activities = sandbox.app.state.tenants["41872"].lead_activities
    arjuns = activities["8e3c1a57-2d4b-4f6e-9a10-000000000b03"]
    for n in range(30):  # copies in the store: 30 API creates would meet the rate limit
        activities[f"copy-{n}"] = {**arjuns, "ProspectActivityId": f"copy-{n}"}
    assert len(raw_api.post(RETRIEVE, {}, leadId=ARJUN).json()["ProspectActivities"]) == 25
    settings(raw_api, lead_activity_max_rows=10)
    answer = raw_api.post(RETRIEVE, {"Paging": {"Offset": "0", "RowCount": "1000"}},
                          leadId=ARJUN).json()
    assert (answer["RecordCount"], len(answer["ProspectActivities"])) == (31, 10)
    assert raw_api.post(RETRIEVE, {}, leadId=MISSING).json() == {
        "RecordCount": 0, "ProspectActivities": []}


@pytest.mark.parametrize("clears", [False, True])
def test_update_keeps_or_clears_what_it_is_not_sent(raw_api, clears):
    settings(raw_api, lead_activity_update_clears_unsent=clears)
    body = {"ProspectActivityId": DEMO, "ActivityEvent": 201,
            "Fields": [{"SchemaName": "mx_Custom_1", "Value": "Ready"}]}
    assert raw_api.post(UPDATE, body).json() == {
        "Status": "Success", "Message": {"Id": DEMO, "IsSuccessful": True}}
    fields = {f["SchemaName"]: f["Value"] for f in raw_api.get(DETAILS, activityId=DEMO).json()[
        "Fields"]}
    assert fields["mx_Custom_1"] == "Ready"
    kept = {"ActivityEvent_Note": "Demo of the pricing module", "mx_Custom_2": "3",
            "Status": "Completed", "Owner": RAVI}
    assert {k: fields[k] for k in kept} == (dict.fromkeys(kept) if clears else kept)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ActivityEvent": 201}, ("MXMandatoryAttributeMissingException",
                                  "ProspectActivityId is mandatory")),
        ({"ProspectActivityId": DEMO}, ("MXMandatoryAttributeMissingException",
                                        "ActivityEvent is mandatory")),
        ({"ProspectActivityId": DEMO, "ActivityEvent": 203},
         ("MXInvalidDataTypeException", f"Activity '{DEMO}' is not of ActivityEvent 203")),
        ({"ProspectActivityId": MISSING, "ActivityEvent": 201},
         ("MXInvalidEntityException", "Activity does not exist in the system")),
    ],
    ids=["no-id", "no-type", "other-type", "unknown-activity"],
)
def test_update_errors(raw_api, body, expected):
    assert error_of(raw_api.post(UPDATE, body)) == (500, *expected)


@pytest.mark.parametrize("field", ["CreatedOn", "ModifiedOn"])
def test_retrieve_by_event_bounds_the_date_the_setting_names(raw_api, field):
    settings(raw_api, lead_activity_range_field=field)
    raw_api.control("POST", "clock", {"set": "2025-08-01T08:00:00Z", "freeze": True})
    raw_api.post(UPDATE, {"ProspectActivityId": DEMO, "ActivityEvent": 201, "ActivityNote": "x"})
    since = {"FromDate": "2025-07-01 00:00:00", "ToDate": "2099-12-31 23:59:59"}
    answer = raw_api.post(BY_EVENT, {"Parameter": {"ActivityEvent": 201, **since}}).json()
    found = [row["ProspectActivityId"] for row in answer["List"]]
    assert found == ([DEMO] if field == "ModifiedOn" else [])
    missing = raw_api.post(BY_EVENT, {"Parameter": {"ActivityEvent": 201}})
    assert error_of(missing)[1:] == ("MXMandatoryAttributeMissingException",
                                     "FromDate is mandatory")


def test_an_activity_webhook_needs_a_type_of_the_account(raw_api):
    base = {"URL": "https://hooks.example.com/x", "WebhookEvent": "2"}
    assert error_of(raw_api.post("Webhook.svc/Create", base))[1:] == (
        "MXInvalidDataTypeException", "You have not passed ActivityEvent.")
    assert error_of(raw_api.post("Webhook.svc/Create", {**base, "ActivityEvent": "299"}))[1:] == (
        "MXInvalidEntityException", "Activity type with event code '299' does not exist")


def test_deleting_a_lead_deletes_its_activities(raw_api, sandbox):
    settings(raw_api, lead_delete_enabled=True)
    raw_api.get("LeadManagement.svc/Lead/Delete/ById", leadId=PRIYA)
    activities = sandbox.app.state.tenants["41872"].lead_activities.values()
    assert {a["RelatedProspectId"] for a in activities} == {ARJUN}
