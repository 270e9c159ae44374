"""Contract: lead reads (flat arrays, Leads.Get filters, RecentlyModified, ByIds)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.seed_ids import ARJUN, KAVYA, NEHA, PRIYA, ROHAN

LEADS_GET = "LeadManagement.svc/Leads.Get"
RECENT = "LeadManagement.svc/Leads.RecentlyModified"
BY_IDS = "LeadManagement.svc/Leads/Retrieve/ByIds"


def ids(rows):
    return [row["ProspectID"] for row in rows]


def test_get_by_id_returns_flat_lead_with_strings_and_nulls(raw_api):
    response = raw_api.get("LeadManagement.svc/Leads.GetById", id=KAVYA)
    assert response.status_code == 200
    [lead] = response.json()
    assert lead["ProspectID"] == KAVYA and lead["ProspectAutoId"] == "3"
    assert lead["Score"] == "45" and lead["DoNotEmail"] == "1" and lead["Phone"] is None
    assert lead["CreatedOn"] == "2025-04-05 14:20:00.000"
    assert lead["mx_Demo_Date"] == "2025-06-15 00:00:00.000"
    assert lead["OwnerIdName"] == "Ravi Sales"


def test_get_by_id_of_missing_lead_is_empty_array(raw_api):
    assert raw_api.get("LeadManagement.svc/Leads.GetById", id="nope").json() == []


def test_get_by_email_is_case_insensitive(raw_api):
    rows = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress",
                       emailaddress="Priya.Sharma@EXAMPLE.com").json()
    assert ids(rows) == [PRIYA]


def test_get_by_email_with_wrong_parameter_name_is_200_empty(raw_api):
    response = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress",
                           email="priya.sharma@example.com")
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize(
    ("phone", "expected"),
    [("9876543210", [PRIYA]), ("+91 98765-43210", [PRIYA]), ("919876543210", [PRIYA]),
     ("9845012345", [ARJUN]), ("9988776655", [KAVYA]), ("1111111111", [])],
    ids=["plain", "formatted", "country-code", "mobile", "mobile-only-lead", "none"],
)
def test_get_by_phone_normalises_digits_over_phone_and_mobile(raw_api, phone, expected):
    rows = raw_api.get("LeadManagement.svc/RetrieveLeadByPhoneNumber", phone=phone).json()
    assert ids(rows) == expected


def test_quick_search_matches_name_email_phone_company(raw_api):
    def search(key):
        return ids(raw_api.get("LeadManagement.svc/Leads.GetByQuickSearch", key=key).json())

    assert search("priya sharma") == [PRIYA]
    assert search("GUPTA") == [ROHAN]
    assert search("@example.com") == [PRIYA, ARJUN, KAVYA, ROHAN, NEHA]
    assert search("98450") == [ARJUN]
    assert search("zzz") == []


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [("=", "Pune", [PRIYA]), ("=", "pune", [PRIYA]), ("LIKE", "%ai", [ARJUN, KAVYA]),
     ("like", "B%", [NEHA]), ("<>", "Pune", [ARJUN, KAVYA, ROHAN, NEHA]),
     ("IN", "Pune,Delhi", [PRIYA, ROHAN])],
)
def test_leads_get_text_operators(raw_api, operator, value, expected):
    body = {"Parameter": {"LookupName": "mx_City", "LookupValue": value, "SqlOperator": operator}}
    assert ids(raw_api.post(LEADS_GET, body).json()) == expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [(">", "45", [PRIYA, ROHAN]), (">=", "45", [PRIYA, KAVYA, ROHAN]),
     ("<", "20", [NEHA]), ("<=", "20", [ARJUN, NEHA])],
)
def test_leads_get_compares_numbers_as_numbers(raw_api, operator, value, expected):
    body = {"Parameter": {"LookupName": "Score", "LookupValue": value, "SqlOperator": operator}}
    assert ids(raw_api.post(LEADS_GET, body).json()) == expected


def test_leads_get_compares_dates_as_dates(raw_api):
    body = {"Parameter": {"LookupName": "CreatedOn", "LookupValue": "2025-04-05 14:20:00",
                          "SqlOperator": ">"},
            "Sorting": {"ColumnName": "CreatedOn", "Direction": "0"}}
    assert ids(raw_api.post(LEADS_GET, body).json()) == [ROHAN, NEHA]


def test_leads_get_lookup_name_is_case_sensitive(raw_api):
    body = {"Parameter": {"LookupName": "mx_city", "LookupValue": "Pune", "SqlOperator": "="}}
    assert raw_api.post(LEADS_GET, body).json() == []


def test_leads_get_ignores_a_query_wrapper(raw_api):
    body = {"Query": {"LookupName": "mx_City", "LookupValue": "Pune", "SqlOperator": "="}}
    assert ids(raw_api.post(LEADS_GET, body).json()) == [PRIYA, ARJUN, KAVYA, ROHAN, NEHA]


def test_leads_get_columns_sorting_and_paging(raw_api):
    body = {"Columns": {"Include_CSV": "ProspectID,FirstName,Score"},
            "Sorting": {"ColumnName": "Score", "Direction": "1"},
            "Paging": {"PageIndex": 2, "PageSize": 2}}
    assert raw_api.post(LEADS_GET, body).json() == [
        {"ProspectID": KAVYA, "FirstName": "Kavya", "Score": "45"},
        {"ProspectID": ARJUN, "FirstName": "Arjun", "Score": "20"},
    ]


def test_leads_get_boolean_filter_needs_1_or_0(raw_api):
    good = {"Parameter": {"LookupName": "DoNotEmail", "LookupValue": "1", "SqlOperator": "="}}
    assert ids(raw_api.post(LEADS_GET, good).json()) == [KAVYA]
    bad = {"Parameter": {"LookupName": "DoNotEmail", "LookupValue": "true", "SqlOperator": "="}}
    response = raw_api.post(LEADS_GET, bad)
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidDataTypeException"


def test_leads_get_unknown_operator_is_an_error(raw_api):
    body = {"Parameter": {"LookupName": "Score", "LookupValue": "1", "SqlOperator": "~"}}
    assert raw_api.post(LEADS_GET, body).json()["ExceptionType"] == "MXInvalidDataTypeException"


def test_leads_get_with_array_body_is_400(raw_api):
    assert raw_api.post(LEADS_GET, []).status_code == 400


def test_new_lead_is_found_by_created_on_watermark(raw_api, sandbox):
    sandbox.app.state.clock.set(datetime(2026, 1, 1, 12, 0, 0), freeze=True)
    raw_api.post("LeadManagement.svc/Lead.Create",
                 [{"Attribute": "FirstName", "Value": "Fresh"}])
    body = {"Parameter": {"LookupName": "CreatedOn", "LookupValue": "2026-01-01 11:59:59",
                          "SqlOperator": ">"}}
    [row] = raw_api.post(LEADS_GET, body).json()
    assert row["FirstName"] == "Fresh" and row["CreatedOn"] == "2026-01-01 12:00:00.000"


def test_recently_modified_returns_property_lists_in_the_window(raw_api):
    body = {"Parameter": {"FromDate": "2025-05-01 00:00:00", "ToDate": "2025-06-30 23:59:59"},
            "Columns": {"Include_CSV": "ProspectID,ModifiedOn"},
            "Paging": {"PageIndex": 1, "PageSize": 10}}
    response = raw_api.post(RECENT, body)
    assert response.status_code == 200
    assert response.json() == {
        "RecordCount": 2,
        "Leads": [
            {"LeadPropertyList": [
                {"Attribute": "ProspectID", "Value": PRIYA, "Fields": None},
                {"Attribute": "ModifiedOn", "Value": "2025-05-10 12:00:00.000", "Fields": None},
                {"Attribute": "CanUpdate", "Value": "true", "Fields": None}]},
            {"LeadPropertyList": [
                {"Attribute": "ProspectID", "Value": KAVYA, "Fields": None},
                {"Attribute": "ModifiedOn", "Value": "2025-06-01 10:30:00.000", "Fields": None},
                {"Attribute": "CanUpdate", "Value": "true", "Fields": None}]},
        ],
    }


def test_recently_modified_record_count_is_the_total_not_the_page(raw_api):
    body = {"Parameter": {"FromDate": "2025-01-01 00:00:00", "ToDate": "2025-12-31 00:00:00"},
            "Paging": {"PageIndex": 1, "PageSize": 2},
            "Sorting": {"ColumnName": "ProspectAutoId", "Direction": "1"}}
    result = raw_api.post(RECENT, body).json()
    assert result["RecordCount"] == 5 and len(result["Leads"]) == 2
    assert result["Leads"][0]["LeadPropertyList"][0] == {
        "Attribute": "ProspectID", "Value": NEHA, "Fields": None}


def test_recently_modified_needs_from_date(raw_api):
    response = raw_api.post(RECENT, {"Parameter": {"ToDate": "2025-12-31 00:00:00"}})
    assert response.status_code == 500
    assert response.json() == {"Status": "Error",
                               "ExceptionType": "MXMandatoryAttributeMissingException",
                               "ExceptionMessage": "'FromDate' is mandatory"}


def test_recently_modified_page_size_over_5000_is_refused(raw_api):
    body = {"Parameter": {"FromDate": "2025-01-01 00:00:00", "ToDate": "2025-12-31 00:00:00"},
            "Paging": {"PageIndex": 1, "PageSize": 5001}}
    assert raw_api.post(RECENT, body).status_code == 500


def test_by_ids_keeps_request_order_and_skips_unknown(raw_api):
    body = {"SearchParameters": {"LeadIds": [ROHAN, "missing", PRIYA]},
            "Columns": {"Include_CSV": "ProspectID,LastName"}}
    assert raw_api.post(BY_IDS, body).json() == {
        "RecordCount": 2,
        "Leads": [{"ProspectID": ROHAN, "LastName": "Gupta"},
                  {"ProspectID": PRIYA, "LastName": "Sharma"}],
    }


def test_by_ids_without_ids_is_mandatory_error(raw_api):
    response = raw_api.post(BY_IDS, {"SearchParameters": {}})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_tenants_are_isolated(raw_api):
    rows = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress",
                       emailaddress="gina.torres@example.com").json()
    assert rows == []
