"""Contract: CompanyManagement.svc accounts (reference §5)."""

from __future__ import annotations

import pytest

from tests.seed_ids import ACME, ADMIN

CREATE = "CompanyManagement.svc/Company.Create"
UPDATE = "CompanyManagement.svc/Company.Update"
GET = "CompanyManagement.svc/Company.Get"
DELETE = "CompanyManagement.svc/Company.Delete"


def props(**values):
    return [{"Attribute": name, "Value": value} for name, value in values.items()]


def query(type_name="Company", **extra):
    return {"Query": {"CompanyType": {"CompanyTypeName": type_name}, **extra}}


def as_dict(company):
    return {pair["Attribute"]: pair["Value"] for pair in company["companyPropertyList"]}


def find(raw_api, company_id, type_name="Company"):
    body = query(type_name, FilterBy={"LookupName": "CompanyId", "LookupValue": company_id,
                                      "SqlOperator": "="})
    found = raw_api.post(GET, body).json()["Companies"]
    return as_dict(found[0]) if found else None


@pytest.fixture
def frozen(raw_api):
    raw_api.control("POST", "clock", {"set": "2026-07-31T05:33:50Z", "freeze": True})
    return raw_api


def test_create_returns_the_new_company_id_and_stores_utc_dates(frozen):
    body = {"CompanyType": {"CompanyTypeName": "Partners"},
            "CompanyProperties": props(CompanyName="Umbrella LLP", City="Delhi", mx_Employees=40)}
    response = frozen.post(CREATE, body)
    assert response.status_code == 200
    company_id = response.json()["Message"]["Id"]
    assert response.json() == {"Status": "Success", "Message": {"Id": company_id}}
    stored = find(frozen, company_id, "Partners")
    assert stored["CompanyName"] == "Umbrella LLP"
    assert stored["mx_Employees"] == "40"  # values come back as strings
    assert stored["CreatedOn"] == stored["ModifiedOn"] == "2026-07-31 05:33:50"
    assert stored["OwnerId"] == ADMIN and stored["OwnerName"] == "Asha Admin"


def test_create_counts_each_create_by_fingerprint(raw_api):
    body = {"CompanyType": {"CompanyTypeName": "Company"},
            "CompanyProperties": props(CompanyName="Twice Ltd")}
    raw_api.post(CREATE, body)
    raw_api.post(CREATE, body)
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert [n for key, n in counts.items() if key.startswith(CREATE + ":")] == [2]


def test_create_without_company_name_is_mandatory_error(raw_api):
    body = {"CompanyType": {"CompanyTypeName": "Company"}, "CompanyProperties": props(City="X")}
    response = raw_api.post(CREATE, body)
    assert response.status_code == 500
    assert response.json() == {"Status": "Error",
                               "ExceptionType": "MXMandatoryAttributeMissingException",
                               "ExceptionMessage": "CompanyName is mandatory"}


def test_create_with_unknown_company_type_is_mx_error(raw_api):
    body = {"CompanyType": {"CompanyTypeName": "Vendors"},
            "CompanyProperties": props(CompanyName="V")}
    response = raw_api.post(CREATE, body)
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"
    assert "Vendors" in response.json()["ExceptionMessage"]


def test_create_with_unknown_attribute_fails_whole_payload(raw_api):
    body = {"CompanyType": {"CompanyTypeName": "Company"},
            "CompanyProperties": props(CompanyName="X", mx_Nope="1", Fax="2")}
    response = raw_api.post(CREATE, body)
    assert response.status_code == 500
    assert response.json() == {"Status": "Error", "ExceptionType": "MXUnknownAttributeException",
                               "ExceptionMessage": "Attribute(s) does not exist - mx_Nope,Fax"}
    assert raw_api.post(GET, query(SearchText="X")).json()["RecordCount"] == 0


def test_create_with_unknown_owner_is_mx_error(raw_api):
    body = {"CompanyType": {"CompanyTypeName": "Company"},
            "CompanyProperties": props(CompanyName="X", OwnerId="nobody")}
    assert raw_api.post(CREATE, body).json()["ExceptionType"] == "MXInvalidEntityException"


def test_update_changes_only_sent_fields_and_modified_on(frozen):
    response = frozen.post(UPDATE, {"CompanyProperties": props(City="Nagpur", OwnerId=ADMIN)},
                           companyId=ACME)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1}}
    stored = find(frozen, ACME)
    assert stored["City"] == "Nagpur" and stored["CompanyName"] == "Acme Corp"
    assert stored["OwnerId"] == ADMIN and stored["OwnerName"] == "Asha Admin"
    assert stored["ModifiedOn"] == "2026-07-31 05:33:50"
    assert stored["CreatedOn"] == "2025-01-10 09:30:00"


def test_update_with_bare_array_says_missing_company_details(raw_api):
    response = raw_api.post(UPDATE, props(City="Nagpur"), companyId=ACME)
    assert response.status_code == 500
    assert response.json() == {"Status": "Error", "ExceptionType": "MXInvalidDataTypeException",
                               "ExceptionMessage": "You're missing Company details."}


def test_update_of_unknown_company_is_invalid_entity(raw_api):
    response = raw_api.post(UPDATE, {"CompanyProperties": props(City="X")}, companyId="nope")
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_update_without_company_id_is_mandatory_error(raw_api):
    response = raw_api.post(UPDATE, {"CompanyProperties": props(City="X")})
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_get_requires_query_company_type(raw_api):
    response = raw_api.post(GET, {"Paging": {"PageIndex": 1, "PageSize": 10}})
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"
    bare = raw_api.post(GET, {"CompanyType": {"CompanyTypeName": "Company"}})
    assert bare.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_get_returns_companies_of_the_type_as_lower_case_property_lists(raw_api):
    response = raw_api.post(GET, query("Partners"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"RecordCount", "Companies"}
    assert body["RecordCount"] == 3  # Northwind, Contoso and the Acme Corp mirror
    first = body["Companies"][0]
    assert set(first) == {"companyPropertyList"}
    assert first["companyPropertyList"][0] == {
        "Attribute": "CompanyId", "Value": "9c1d7e2a-5b3f-4e8a-9d10-000000000104"
    }  # default order: ModifiedOn, newest first
    assert {as_dict(c)["CompanyName"] for c in body["Companies"]} == {
        "Northwind Realty Partners", "Contoso Channel Partners", "Acme Corp"}


def test_get_search_text_matches_name_fragment(raw_api):
    body = raw_api.post(GET, query(SearchText="acme")).json()
    assert [as_dict(c)["CompanyName"] for c in body["Companies"]] == ["Acme Corp"]


def test_get_date_range_on_created_on(raw_api):
    window = {"DateField": "CreatedOn", "FromDate": "2025-02-01 00:00:00",
              "ToDate": "2025-02-28 23:59:59"}
    body = raw_api.post(GET, query(DateRange=window)).json()
    assert [as_dict(c)["CompanyName"] for c in body["Companies"]] == ["Initech Solutions"]


def test_get_date_range_rejects_unknown_date_field(raw_api):
    window = {"DateField": "Birthday", "FromDate": "2025-01-01 00:00:00"}
    assert raw_api.post(GET, query(DateRange=window)).json()["Status"] == "Error"


@pytest.mark.parametrize(("operator", "value", "names"), [
    ("=", "customer", ["Acme Corp"]),
    ("<>", "Customer", ["Initech Solutions"]),
    ("LIKE", "Pros%", ["Initech Solutions"]),
], ids=["equals-case-insensitive", "not-equals", "like"])
def test_get_filter_by_lookup(raw_api, operator, value, names):
    spec = {"LookupName": "Stage", "LookupValue": value, "SqlOperator": operator}
    body = raw_api.post(GET, query(FilterBy=spec)).json()
    assert [as_dict(c)["CompanyName"] for c in body["Companies"]] == names


def test_get_filter_by_unknown_lookup_name_is_unknown_attribute(raw_api):
    spec = {"LookupName": "stage", "LookupValue": "x", "SqlOperator": "="}
    response = raw_api.post(GET, query(FilterBy=spec))
    assert response.json()["ExceptionType"] == "MXUnknownAttributeException"


def test_get_columns_sorting_and_paging(raw_api):
    body = query(**{})
    body.update(Columns={"Include_CSV": "CompanyId,CompanyName"},
                Sorting={"ColumnName": "CompanyName", "Direction": "0"},
                Paging={"PageIndex": 2, "PageSize": 1})
    result = raw_api.post(GET, body).json()
    assert result == {"RecordCount": 2, "Companies": [{"companyPropertyList": [
        {"Attribute": "CompanyId", "Value": "9c1d7e2a-5b3f-4e8a-9d10-000000000102"},
        {"Attribute": "CompanyName", "Value": "Initech Solutions"}]}]}


def test_get_paging_accepts_strings(raw_api):
    body = {**query(), "Paging": {"PageIndex": "1", "PageSize": "1"}}
    assert len(raw_api.post(GET, body).json()["Companies"]) == 1


def test_delete_with_lead_delete_false_unlinks_leads(sandbox, raw_api):
    tenant = sandbox.app.state.tenants["41872"]
    tenant.leads["lead-x"] = {"ProspectID": "lead-x", "RelatedCompanyId": ACME}
    response = raw_api.get(DELETE, companyId=ACME, withLeadDelete="false")
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {}}
    assert find(raw_api, ACME) is None
    assert tenant.leads["lead-x"]["RelatedCompanyId"] is None


def test_delete_with_lead_delete_true_deletes_leads_param_case_insensitive(sandbox, raw_api):
    tenant = sandbox.app.state.tenants["41872"]
    tenant.leads["lead-x"] = {"ProspectID": "lead-x", "RelatedCompanyId": ACME}
    tenant.leads["lead-y"] = {"ProspectID": "lead-y", "RelatedCompanyId": None}
    response = raw_api.get(DELETE, companyId=ACME, WithLeadDelete="True")
    assert response.json() == {"Status": "Success", "Message": {}}
    assert "lead-x" not in tenant.leads and "lead-y" in tenant.leads


def test_delete_is_a_get_and_unknown_company_is_an_error(raw_api):
    assert raw_api.post(DELETE, {}, companyId=ACME).status_code == 405
    response = raw_api.get(DELETE, companyId="nope", withLeadDelete="false")
    assert response.status_code == 500
    assert response.json()["ExceptionType"] == "MXInvalidEntityException"


def test_second_tenant_has_its_own_accounts(sandbox):
    tenant = sandbox.app.state.tenants["52210"]
    assert [c["CompanyName"] for c in tenant.companies.values()] == ["Globex Holdings"]
