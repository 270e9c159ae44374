"""Contract: lists (Lists.Get, CreateEmptyList, static add/remove/empty, members)."""

from __future__ import annotations

import pytest

from tests.seed_ids import ARJUN, KAVYA, NEHA, NEWSLETTER, PRIYA, ROHAN

HOT = "a7c4e1f0-3b2d-4e6a-8f91-000000000302"
MEMBERS = "LeadManagement.svc/Leads/Retrieve/BySearchParameter"


def member_ids(raw_api, list_id, **paging):
    body = {"SearchParameters": {"ListId": list_id, "RetrieveBehaviour": "0"},
            "Columns": {"Include_CSV": "ProspectID"}}
    if paging:
        body["Paging"] = paging
    result = raw_api.post(MEMBERS, body).json()
    return result["RecordCount"], [lead["LeadPropertyList"][0]["Value"] for lead in result["Leads"]]


def test_lists_get_returns_all_lists_with_string_types_and_counts(raw_api):
    response = raw_api.get("LeadManagement.svc/Lists.Get", PageIndex=1)
    assert response.status_code == 200
    assert response.json() == [
        {"ListId": NEWSLETTER, "ListName": "Newsletter",
         "ListDescription": "Leads who subscribed to the monthly newsletter",
         "ListType": "static", "MemberCount": 3},
        {"ListId": HOT, "ListName": "Hot Leads",
         "ListDescription": "Leads with a score of 50 or more",
         "ListType": "dynamic", "MemberCount": 2},
    ]


@pytest.mark.parametrize(("code", "names"), [("0", ["Newsletter"]), ("1", ["Hot Leads"]),
                                             ("2", []), ("9", [])])
def test_lists_get_filters_by_list_type_code(raw_api, code, names):
    rows = raw_api.get("LeadManagement.svc/Lists.Get", ListType=code).json()
    assert [r["ListName"] for r in rows] == names


def test_lists_get_search_text_matches_part_of_the_name(raw_api):
    rows = raw_api.get("LeadManagement.svc/Lists.Get", SearchText="news").json()
    assert [r["ListId"] for r in rows] == [NEWSLETTER]


def test_create_empty_list_and_duplicate_name(raw_api, sandbox):
    response = raw_api.post("LeadSegmentation.svc/CreateEmptyList",
                            {"Name": "Webinar 2026", "Description": "Signed up"})
    list_id = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": list_id}}
    rows = raw_api.get("LeadManagement.svc/Lists.Get", SearchText="Webinar").json()
    assert rows == [{"ListId": list_id, "ListName": "Webinar 2026", "ListDescription": "Signed up",
                     "ListType": "static", "MemberCount": 0}]
    again = raw_api.post("LeadSegmentation.svc/CreateEmptyList", {"Name": "webinar 2026"})
    assert again.status_code == 500
    assert again.json()["ExceptionType"] == "MXDuplicateEntryException"
    counts = sandbox.app.state.tenants["41872"].create_counts
    assert sum(v for k, v in counts.items() if k.startswith("LeadSegmentation.svc/")) == 1


def test_create_empty_list_needs_a_name(raw_api):
    response = raw_api.post("LeadSegmentation.svc/CreateEmptyList", {"Description": "x"})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_add_one_lead_with_empty_body(raw_api):
    url = f"{raw_api.base_url}/v2/LeadManagement.svc/AddLeadToStaticList"
    response = raw_api.session.post(url, params={"listId": NEWSLETTER, "leadId": NEHA}, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"Id": NEHA, "AffectedRows": 1}}
    again = raw_api.session.post(url, params={"listId": NEWSLETTER, "leadId": NEHA}, timeout=5)
    assert again.json()["Message"]["AffectedRows"] == 0
    assert member_ids(raw_api, NEWSLETTER) == (4, [ROHAN, PRIYA, ARJUN, NEHA])


def test_add_unknown_lead_is_invalid_entity(raw_api):
    response = raw_api.post("LeadManagement.svc/AddLeadToStaticList", None,
                            listId=NEWSLETTER, leadId="nope")
    assert response.json()["ExceptionMessage"] == "Lead does not exist in the system"


def test_add_leads_in_bulk_skips_duplicates(raw_api):
    response = raw_api.post("LeadSegmentation.svc/AddLeadsToStaticList",
                            {"listId": NEWSLETTER, "leadIds": [PRIYA, KAVYA, NEHA]})
    assert response.json() == {"Status": "Success",
                               "Message": {"Message": "Successfully added 2 lead(s) to list"}}
    assert member_ids(raw_api, NEWSLETTER)[1] == [ROHAN, PRIYA, ARJUN, KAVYA, NEHA]


def test_manual_changes_to_a_dynamic_list_are_refused(raw_api):
    response = raw_api.post("LeadSegmentation.svc/AddLeadsToStaticList",
                            {"listId": HOT, "leadIds": [NEHA]})
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"
    assert "static lists only" in response.json()["ExceptionMessage"]
    removed = raw_api.get("LeadSegmentation.svc/RemoveLeadFromStaticList", ListId=HOT, LeadID=PRIYA)
    assert removed.json()["ExceptionType"] == "MXInvalidEntityException"


def test_remove_lead_from_static_list_is_a_get(raw_api):
    response = raw_api.get("LeadSegmentation.svc/RemoveLeadFromStaticList",
                           ListId=NEWSLETTER, LeadID=PRIYA)
    assert response.json() == {"Status": "Success",
                               "Message": {"Message": "Successfully removed lead from list"}}
    assert member_ids(raw_api, NEWSLETTER)[1] == [ROHAN, ARJUN]
    assert raw_api.post("LeadSegmentation.svc/RemoveLeadFromStaticList", None,
                        ListId=NEWSLETTER, LeadID=PRIYA).status_code == 405


def test_empty_static_list(raw_api):
    response = raw_api.get("LeadSegmentation.svc/Lists/EmptyStaticList", ListId=NEWSLETTER)
    assert response.json() == {"Status": "Success", "Message": {"Id": NEWSLETTER}}
    assert member_ids(raw_api, NEWSLETTER) == (0, [])


def test_members_are_in_membership_order_with_stable_paging(raw_api):
    assert member_ids(raw_api, NEWSLETTER, PageIndex=1, PageSize=2) == (3, [ROHAN, PRIYA])
    assert member_ids(raw_api, NEWSLETTER, PageIndex=2, PageSize=2) == (3, [ARJUN])


def test_members_use_the_property_list_shape(raw_api):
    body = {"SearchParameters": {"ListId": NEWSLETTER, "RetrieveBehaviour": "0"},
            "Columns": {"Include_CSV": "ProspectID,FirstName"},
            "Paging": {"PageIndex": 1, "PageSize": 1}}
    assert raw_api.post(MEMBERS, body).json() == {
        "RecordCount": 3,
        "Leads": [{"LeadPropertyList": [
            {"Attribute": "ProspectID", "Value": ROHAN, "Fields": None},
            {"Attribute": "FirstName", "Value": "Rohan", "Fields": None},
            {"Attribute": "CanUpdate", "Value": "true", "Fields": None}]}],
    }


def test_dynamic_list_members_follow_the_rule(raw_api):
    assert member_ids(raw_api, HOT) == (2, [PRIYA, ROHAN])
    raw_api.post("LeadManagement.svc/Lead.Update", [{"Attribute": "Score", "Value": "90"}],
                 leadId=NEHA)
    assert member_ids(raw_api, HOT) == (3, [PRIYA, ROHAN, NEHA])


def test_members_of_unknown_list_is_invalid_entity(raw_api):
    response = raw_api.post(MEMBERS, {"SearchParameters": {"ListId": "nope"}})
    assert response.json() == {"Status": "Error", "ExceptionType": "MXInvalidEntityException",
                               "ExceptionMessage": "List does not exist"}
