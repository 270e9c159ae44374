"""Contract: lead writes (Create, CreateOrUpdate, Capture, Update, Delete) and their events."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.seed_ids import ADMIN, PRIYA, ROHAN

CREATE = "LeadManagement.svc/Lead.Create"
UPDATE = "LeadManagement.svc/Lead.Update"
UPSERT = "LeadManagement.svc/Lead.CreateOrUpdate"
CAPTURE = "LeadManagement.svc/Lead.Capture"
DELETE = "LeadManagement.svc/Lead/Delete/ById"


def pairs(**fields):
    return [{"Attribute": name, "Value": value} for name, value in fields.items()]


@pytest.fixture
def events(sandbox):
    seen: list[tuple[str, dict]] = []
    listeners = sandbox.app.state._listeners
    listener = lambda tenant, event, payload: seen.append((event, payload))  # noqa: E731
    listeners.append(listener)
    yield seen
    listeners.remove(listener)


@pytest.fixture
def store(sandbox):
    return sandbox.app.state.tenants["41872"]


def test_create_returns_id_and_stores_strings(raw_api, store, sandbox):
    sandbox.app.state.clock.set(datetime(2026, 3, 1, 10, 0, 0), freeze=True)
    response = raw_api.post(CREATE, pairs(EmailAddress="new@example.com", FirstName="New",
                                          mx_Budget=1200, DoNotCall=True))
    assert response.status_code == 200
    body = response.json()
    assert body == {"Status": "Success", "Message": {"Id": body["Message"]["Id"]}}
    record = store.leads[body["Message"]["Id"]]
    assert record["mx_Budget"] == "1200" and record["DoNotCall"] == "1"
    assert record["Score"] == "0" and record["DoNotEmail"] == "0" and record["Phone"] is None
    assert record["ProspectAutoId"] == "6"
    assert record["CreatedOn"] == record["ModifiedOn"] == "2026-03-01 10:00:00.000"
    assert record["OwnerId"] == ADMIN


def test_create_emits_lead_create_and_counts(raw_api, store, events):
    body = pairs(EmailAddress="count@example.com")
    lead_id = raw_api.post(CREATE, body).json()["Message"]["Id"]
    assert [(e, p["ProspectID"]) for e, p in events] == [("lead_create", lead_id)]
    assert list(store.create_counts.values()) == [1]
    assert next(iter(store.create_counts)).startswith(f"{CREATE}:")


@pytest.mark.parametrize(
    ("operation", "body", "query", "exception_type", "message"),
    [
        (CREATE, pairs(EmailAddress="PRIYA.SHARMA@example.com"), {},
         "MXDuplicateEntryException",
         "Duplicate entry 'PRIYA.SHARMA@example.com' for key 'UQ_Prospect_Base_EmailAddress'"),
        (CREATE, pairs(FirstName="A", mx_Nope="1", Colour="red"), {},
         "MXUnknownAttributeException", "Attribute(s) does not exist - mx_Nope,Colour"),
        (UPDATE, pairs(Notes="x"), {"leadId": "00000000-0000-0000-0000-000000000000"},
         "MXInvalidEntityException", "Lead does not exist in the system"),
        (UPDATE, pairs(Notes="x"), {}, "MXMandatoryAttributeMissingException",
         "'leadId' is mandatory for updating lead"),
    ],
    ids=["create-duplicate-email", "create-unknown-attributes", "update-missing-lead",
         "update-without-lead-id"],
)
def test_refused_writes_are_500_with_the_mx_exception_and_change_nothing(
    raw_api, store, operation, body, query, exception_type, message
):
    before = {lead_id: dict(lead) for lead_id, lead in store.leads.items()}
    response = raw_api.post(operation, body, **query)
    assert response.status_code == 500
    assert response.json() == {
        "Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message,
    }
    assert store.leads == before  # an unknown attribute fails the whole payload


def test_create_duplicate_phone_names_the_phone_key(raw_api):
    response = raw_api.post(CREATE, pairs(Phone="9000011111"))
    assert response.status_code == 500
    assert "UQ_Prospect_Base_Phone" in response.json()["ExceptionMessage"]


def test_create_without_identity_field_is_mandatory_error(raw_api):
    response = raw_api.post(CREATE, pairs(mx_City="Pune"))
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


@pytest.mark.parametrize(
    "body",
    [{"Attribute": "FirstName", "Value": "A"}, [{"Attribute": 5, "Value": "A"}], ["FirstName"],
     [{"Attribute": "FirstName", "Value": {"x": 1}}]],
    ids=["object", "non-string-attribute", "string-item", "object-value"],
)
def test_wrong_body_shape_is_400_without_traceback(raw_api, body):
    response = raw_api.post(CREATE, body)
    assert response.status_code == 400
    assert response.json()["Status"] == "Error"
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("mx_Budget", "lots"), ("mx_Demo_Date", "next tuesday"), ("DoNotEmail", "maybe"),
     ("EmailAddress", "not-an-email")],
)
def test_values_of_the_wrong_type_are_rejected(raw_api, field, value):
    response = raw_api.post(CREATE, pairs(FirstName="T", **{field: value}))
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidDataTypeException"
    assert field in response.json()["ExceptionMessage"]


def test_date_values_are_stored_in_lead_read_format(raw_api, store):
    lead_id = raw_api.post(CREATE, pairs(FirstName="D", mx_Demo_Date="2026-01-05"))
    assert store.leads[lead_id.json()["Message"]["Id"]]["mx_Demo_Date"] == "2026-01-05 00:00:00.000"


def test_update_changes_only_sent_fields_and_is_silent_by_default(raw_api, store, events):
    response = raw_api.post(UPDATE, pairs(mx_City="Nagpur"), leadId=PRIYA)
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1}}
    assert store.leads[PRIYA]["mx_City"] == "Nagpur"
    assert store.leads[PRIYA]["FirstName"] == "Priya"
    assert events == []


def test_update_with_post_updated_lead_emits_lead_update(raw_api, events):
    raw_api.post(UPDATE, pairs(mx_City="Nagpur"), leadId=PRIYA, postUpdatedLead="true")
    assert [(e, p["ProspectID"], p["mx_City"]) for e, p in events] == [
        ("lead_update", PRIYA, "Nagpur")
    ]


def test_update_moves_modified_on_to_now(raw_api, store, sandbox):
    sandbox.app.state.clock.set(datetime(2026, 2, 2, 8, 30, 15), freeze=True)
    raw_api.post(UPDATE, pairs(Notes="x"), leadId=PRIYA)
    assert store.leads[PRIYA]["ModifiedOn"] == "2026-02-02 08:30:15.000"
    assert store.leads[PRIYA]["CreatedOn"] == "2025-04-01 09:15:00.000"


def test_update_to_another_leads_email_is_duplicate(raw_api):
    response = raw_api.post(UPDATE, pairs(EmailAddress="rohan.gupta@example.com"), leadId=PRIYA)
    assert response.json()["ExceptionType"] == "MXDuplicateEntryException"


def test_create_or_update_matches_email_then_phone(raw_api, store):
    by_email = raw_api.post(UPSERT, pairs(EmailAddress="priya.sharma@example.com", mx_City="Goa"))
    assert by_email.json() == {"Status": "Success", "Message": {"Id": PRIYA, "AffectedRows": 1}}
    by_phone = raw_api.post(UPSERT, pairs(Phone="9000011111", mx_City="Goa"))
    assert by_phone.json()["Message"]["Id"] == ROHAN
    assert store.leads[PRIYA]["mx_City"] == store.leads[ROHAN]["mx_City"] == "Goa"


def test_create_or_update_creates_when_nothing_matches(raw_api, store, events):
    response = raw_api.post(UPSERT, pairs(EmailAddress="fresh@example.com"))
    new_id = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": new_id, "AffectedRows": 1}}
    assert new_id in store.leads and [e for e, _ in events] == ["lead_create"]


def test_create_or_update_search_by_phone_is_an_exact_string_match(raw_api, store):
    body = pairs(Phone="9876543210", FirstName="Other") + pairs(SearchBy="Phone")
    new_id = raw_api.post(UPSERT, body).json()["Message"]["Id"]
    assert new_id != PRIYA  # Priya's phone is "+91-9876543210"
    assert store.leads[PRIYA]["FirstName"] == "Priya"


def test_create_or_update_update_emits_only_with_post_updated_lead(raw_api, events):
    raw_api.post(UPSERT, pairs(EmailAddress="priya.sharma@example.com", Notes="a"))
    assert events == []
    raw_api.post(UPSERT, pairs(EmailAddress="priya.sharma@example.com", Notes="b"),
                 postUpdatedLead="true")
    assert [e for e, _ in events] == ["lead_update"]


def test_capture_matches_prospect_id_first(raw_api, store):
    body = pairs(ProspectID=PRIYA, mx_City="Surat")
    response = raw_api.post(CAPTURE, body)
    assert response.json() == {"Status": "Success", "Message": {"Id": PRIYA, "AffectedRows": 1}}
    assert store.leads[PRIYA]["mx_City"] == "Surat"


def test_capture_with_id_of_one_lead_and_email_of_another_updates_the_email_match(raw_api):
    body = pairs(ProspectID=PRIYA, EmailAddress="rohan.gupta@example.com", Notes="n")
    assert raw_api.post(CAPTURE, body).json()["Message"]["Id"] == ROHAN


@pytest.mark.parametrize(
    ("behaviour", "city", "phone"),
    [("DoNotUpdate", "Delhi", "9000011111"),
     ("UpdateOnlyEmptyFields", "Delhi", "9000011111"),
     ("DoNotUpdateUniqueFields", "Jaipur", "9000011111"),
     (None, "Jaipur", "9000099999")],
)
def test_capture_lead_update_behaviour(raw_api, store, behaviour, city, phone):
    body = pairs(EmailAddress="rohan.gupta@example.com", Phone="9000099999", mx_City="Jaipur",
                 Mobile="9111111111")
    params = {"LeadUpdateBehavior": behaviour} if behaviour else {}
    raw_api.post(CAPTURE, body, **params)
    record = store.leads[ROHAN]
    assert (record["mx_City"], record["Phone"]) == (city, phone)
    assert record["Mobile"] == (None if behaviour == "DoNotUpdate" else "9111111111")


def test_capture_keeps_an_existing_source(raw_api, store):
    raw_api.post(CAPTURE, pairs(EmailAddress="rohan.gupta@example.com", Source="Website"))
    assert store.leads[ROHAN]["Source"] == "Trade Show"


def test_capture_creates_when_nothing_matches(raw_api, store, events):
    response = raw_api.post(CAPTURE, pairs(FirstName="Walk", LastName="In"))
    assert response.json()["Message"]["Id"] in store.leads
    assert [e for e, _ in events] == ["lead_create"]


def test_delete_is_disabled_by_default(raw_api, store):
    response = raw_api.get(DELETE, leadId=PRIYA)
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXUnauthorizedRequestException"
    assert PRIYA in store.leads


def test_delete_when_enabled_cascades_to_lists_opportunities_and_tasks(raw_api, store):
    assert any(o.get("RelatedProspectId") == PRIYA for o in store.opportunities.values())
    assert any(t.get("RelatedEntityId") == PRIYA for t in store.tasks.values())
    raw_api.control("POST", "settings", {"lead_delete_enabled": True})
    assert raw_api.get(DELETE, leadId=PRIYA).json() == {"Status": "Success"}
    assert PRIYA not in store.leads
    assert all(PRIYA not in members for members in store.list_members.values())
    assert all(o.get("RelatedProspectId") != PRIYA for o in store.opportunities.values())
    assert all(t.get("RelatedEntityId") != PRIYA for t in store.tasks.values())
    missing = raw_api.get(DELETE, leadId=PRIYA)
    assert missing.json()["ExceptionMessage"] == "Lead does not exist in the system"


def test_delete_is_a_get(raw_api):
    assert raw_api.post(DELETE, None, leadId=PRIYA).status_code == 405
