"""Contract: LeadManagement.svc/LeadsMetaData.Get."""

from __future__ import annotations

import re

OP = "LeadManagement.svc/LeadsMetaData.Get"
STANDARD = ["ProspectID", "ProspectAutoId", "FirstName", "LastName", "EmailAddress", "Phone",
            "Mobile", "Company", "Source", "ProspectStage", "OwnerId", "Notes", "DoNotEmail",
            "DoNotCall", "Score", "LeadType", "RelatedCompanyId", "CreatedOn", "ModifiedOn"]


def by_name(fields):
    return {f["SchemaName"]: f for f in fields}


def test_metadata_lists_standard_and_custom_fields(raw_api):
    response = raw_api.get(OP)
    assert response.status_code == 200
    fields = by_name(response.json())
    assert set(STANDARD) <= set(fields)
    custom = {name: f["DataType"] for name, f in fields.items() if name.startswith("mx_")}
    assert custom == {"mx_City": "Text", "mx_Budget": "Number", "mx_Lead_Source_Detail": "Select",
                      "mx_Demo_Date": "Date", "mx_Whatsapp_Opt_In": "Boolean"}


def test_field_descriptor_shape(raw_api):
    phone = by_name(raw_api.get(OP).json())["Phone"]
    assert phone["DataType"] == "Phone" and phone["RenderType"] == 6
    assert phone["RenderTypeTextValue"] == "Phone" and phone["IsLeadIdentifier"] is True
    assert isinstance(phone["MaxLength"], str) and phone["IsMandatory"] is False
    assert re.fullmatch(r"/Date\(\d{13}\+0000\)/", phone["CreatedOn"])
    assert "Options" not in phone


def test_custom_field_created_on_is_a_wcf_date(raw_api):
    city = by_name(raw_api.get(OP).json())["mx_City"]
    assert city["CreatedOn"] == "/Date(1717408800000+0000)/"  # 2024-06-03 10:00:00 UTC


def test_select_fields_carry_options(raw_api):
    field = by_name(raw_api.get(OP).json())["mx_Lead_Source_Detail"]
    assert field["Options"] == [{"Value": "Google Ads"}, {"Value": "Facebook"},
                                {"Value": "Partner Referral"}, {"Value": "Walk In"}]
    assert field["RenderType"] == 13 and field["RenderTypeTextValue"] == "Dropdown"


def test_exclude_option_sets_drops_options(raw_api):
    fields = raw_api.get(OP, excludeOptionSets=1).json()
    assert all("Options" not in f for f in fields)


def test_schema_name_returns_one_field(raw_api):
    rows = raw_api.get(OP, schemaName="mx_Budget").json()
    assert [(f["SchemaName"], f["DataType"]) for f in rows] == [("mx_Budget", "Number")]
    assert raw_api.get(OP, schemaName="mx_Nope").json() == []


def test_second_tenant_has_its_own_custom_fields(sandbox):
    tenant = sandbox.app.state.tenants["52210"]
    assert [f["SchemaName"] for f in tenant.lead_fields if f["IsCustom"]] == ["mx_City"]
