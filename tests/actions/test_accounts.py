"""Account (company) actions against the sandbox: create, update, find and delete (reference §5).

Each test asserts the exact request LeadSquared receives (the sandbox request log), the
validated output (runtime.plugin.invoke.invoke_action), and the error paths: bad input named before
any request, the MX errors CompanyManagement.svc answers (with a hint that fits accounts), and
accounts that do not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from operations import _accounts
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.seed_ids import ACME, INITECH, MISSING, NORTHWIND, PRIYA, RAVI

USERS = "UserManagement.svc/Users.Get"
CREATE, UPDATE, GET, DELETE = _accounts.CREATE, _accounts.UPDATE, _accounts.GET, _accounts.DELETE
KEYS = ("create_account", "update_account", "find_account", "delete_account")
NEWEST_FIRST = {"ColumnName": "ModifiedOn", "Direction": "1"}


def tenant(sandbox: RunningSandbox) -> Any:
    return sandbox.app.state.tenants["41872"]


def get_body(type_name: str, query: dict[str, Any], page: int = 1) -> dict[str, Any]:
    """The Company.Get body find_account sends."""
    return {
        "Query": {"CompanyType": {"CompanyTypeName": type_name}, **query},
        "Sorting": NEWEST_FIRST,
        "Paging": {"PageIndex": page, "PageSize": 100},
    }


def by_id(type_name: str, account_id: str) -> dict[str, Any]:
    return get_body(type_name, {"FilterBy": {"LookupName": "CompanyId", "LookupValue": account_id,
                                             "SqlOperator": "="}})


# -- create ------------------------------------------------------------------------------

def test_create_sends_type_and_properties_and_resolves_the_owner_email(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("create_account", {
        "company_type": "Partners",
        "fields": {"CompanyName": "Globex India", "City": "Pune",
                   "OwnerId": "ravi.sales@example.com", "mx_Employees": 40, "Website": None},
    })
    assert request_log.operations() == [USERS, CREATE]
    sent = request_log.last(CREATE)
    assert (sent["method"], sent["query"]) == ("POST", {})
    assert sent["body"] == {
        "CompanyType": {"CompanyTypeName": "Partners"},
        "CompanyProperties": [
            {"Attribute": "CompanyName", "Value": "Globex India"},
            {"Attribute": "City", "Value": "Pune"},
            {"Attribute": "OwnerId", "Value": RAVI},
            {"Attribute": "mx_Employees", "Value": "40"},
            {"Attribute": "Website", "Value": None},
        ],
    }
    assert list(output) == ["account_id"]
    stored = tenant(sandbox).companies[output["account_id"]]
    assert (stored["CompanyType"], stored["CompanyName"], stored["OwnerId"]) == (
        "Partners", "Globex India", RAVI)


def test_create_without_an_owner_makes_no_user_lookup(
    invoke: Invoke, request_log: Any
) -> None:
    invoke("create_account", {"company_type": "Company", "fields": {"CompanyName": "Solo Ltd"}})
    assert request_log.operations() == [CREATE]
    assert request_log.last(CREATE)["body"] == {
        "CompanyType": {"CompanyTypeName": "Company"},
        "CompanyProperties": [{"Attribute": "CompanyName", "Value": "Solo Ltd"}],
    }


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"fields": {"CompanyName": "A"}}, "company_type"),
        ({"company_type": "Company"}, "fields"),
        ({"company_type": "Company", "fields": {"City": "Pune"}}, "CompanyName"),
        ({"company_type": "Company", "fields": {"CompanyName": "  "}}, "$.fields.CompanyName"),
        ({"company_type": " ", "fields": {"CompanyName": "A"}}, "$.company_type"),
        ({"company_type": "Company", "fields": {"CompanyName": "A", "CompanyId": ACME}},
         "CompanyId"),
        ({"company_type": "Company", "fields": {"CompanyName": "A", "city": "Pune"}}, "city"),
        ({"company_type": "Company", "fields": {"CompanyName": "A", "Tags": ["x"]}},
         "$.fields.Tags"),
        ({"company_type": "Company", "fields": {"CompanyName": "A"}, "owner": RAVI}, "owner"),
    ],
    ids=["no-type", "no-fields", "no-name", "blank-name", "blank-type", "id-as-field",
         "lower-case-name", "list-value", "unknown-option"],
)
def test_create_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("create_account", inputs))


def test_create_rejects_an_unknown_owner_before_creating(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("create_account", {"company_type": "Company",
                                  "fields": {"CompanyName": "A", "OwnerId": "nobody@example.com"}})
    assert raised.value.problems == [
        "fields.OwnerId: 'nobody@example.com' is not a user of this account; active users: "
        "asha.admin@example.com, meera.sales@example.com, ravi.sales@example.com"
    ]
    assert request_log.operations() == [USERS]


@pytest.mark.parametrize(
    ("inputs", "exception_type", "message", "hint"),
    [
        ({"company_type": "Vendors", "fields": {"CompanyName": "A"}}, "MXInvalidEntityException",
         "Company Type 'Vendors' does not exist", "Company Type or the owner does not exist"),
        ({"company_type": "Company", "fields": {"CompanyName": "A", "mx_Revenue": "9"}},
         "MXUnknownAttributeException", "Attribute(s) does not exist - mx_Revenue",
         "not an account field of this account"),
    ],
    ids=["unknown-company-type", "unknown-field"],
)
def test_create_surfaces_leadsquared_errors_with_an_account_hint(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox,
    inputs: dict[str, Any], exception_type: str, message: str, hint: str,
) -> None:
    before = len(tenant(sandbox).companies)
    with pytest.raises(PermanentApiError) as raised:
        invoke("create_account", inputs)
    error = raised.value
    assert (error.operation, error.status, error.exception_type) == (CREATE, 500, exception_type)
    assert error.message == message
    assert hint in (error.hint or "")
    assert request_log.operations() == [CREATE]  # never retried
    assert len(tenant(sandbox).companies) == before  # nothing created


def test_create_is_not_resent_after_a_dropped_answer(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.configure(type(sandbox.app.faults.plan).parse("drop=1"))
    with pytest.raises(AmbiguousWriteError) as raised:
        invoke("create_account", {"company_type": "Company", "fields": {"CompanyName": "Once"}})
    assert "may already exist" in str(raised.value)
    assert request_log.operations() == [CREATE]
    names = [c["CompanyName"] for c in tenant(sandbox).companies.values()]
    assert names.count("Once") == 1  # LeadSquared did create it: the caller must check


# -- update ------------------------------------------------------------------------------

def test_update_always_sends_the_company_properties_wrapper_with_only_the_given_fields(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("update_account", {
        "account_id": INITECH,
        "fields": {"Stage": "Customer", "OwnerId": "RAVI.SALES@example.com", "Website": None},
    })
    assert output == {"account_id": INITECH}
    assert request_log.operations() == [USERS, UPDATE]
    sent = request_log.last(UPDATE)
    assert (sent["method"], sent["query"]) == ("POST", {"companyId": INITECH})
    assert sent["body"] == {"CompanyProperties": [
        {"Attribute": "Stage", "Value": "Customer"},
        {"Attribute": "OwnerId", "Value": RAVI},
        {"Attribute": "Website", "Value": None},
    ]}
    stored = tenant(sandbox).companies[INITECH]
    assert (stored["Stage"], stored["OwnerId"], stored["Website"]) == ("Customer", RAVI, None)
    assert (stored["CompanyName"], stored["City"]) == ("Initech Solutions", "Bengaluru")


def test_update_of_one_field_still_sends_the_wrapper(invoke: Invoke, request_log: Any) -> None:
    invoke("update_account", {"account_id": ACME, "fields": {"mx_Employees": 1250}})
    assert request_log.operations() == [UPDATE]
    assert request_log.last(UPDATE)["body"] == {
        "CompanyProperties": [{"Attribute": "mx_Employees", "Value": "1250"}]
    }


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"fields": {"City": "Pune"}}, "account_id"),
        ({"account_id": ACME}, "fields"),
        ({"account_id": ACME, "fields": {}}, "$.fields"),
        ({"account_id": "acme", "fields": {"City": "Pune"}}, "$.account_id"),
        ({"account_id": ACME, "fields": {"CompanyName": ""}}, "$.fields.CompanyName"),
        ({"account_id": ACME, "fields": {"CompanyType": "Partners"}}, "CompanyType"),
    ],
    ids=["no-id", "no-fields", "empty-fields", "id-not-guid", "blank-name", "type-as-field"],
)
def test_update_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("update_account", inputs))


@pytest.mark.parametrize(
    ("inputs", "exception_type", "message", "hint"),
    [
        ({"account_id": MISSING, "fields": {"City": "Pune"}}, "MXInvalidEntityException",
         "Company does not exist in the system", "does not exist in LeadSquared; check the id"),
        ({"account_id": ACME, "fields": {"mx_Nope": "x"}}, "MXUnknownAttributeException",
         "Attribute(s) does not exist - mx_Nope", "not an account field of this account"),
    ],
    ids=["missing-account", "unknown-field"],
)
def test_update_surfaces_leadsquared_errors(
    invoke: Invoke, request_log: Any, inputs: dict[str, Any], exception_type: str,
    message: str, hint: str,
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("update_account", inputs)
    error = raised.value
    assert (error.operation, error.exception_type, error.message) == (
        UPDATE, exception_type, message)
    assert hint in (error.hint or "")
    assert request_log.operations() == [UPDATE]


# -- find --------------------------------------------------------------------------------

def test_find_by_id_filters_under_the_type_and_flattens_the_property_list(
    invoke: Invoke, request_log: Any, manifest: Manifest
) -> None:
    output = invoke("find_account", {"company_type": "Company", "account_id": ACME})
    assert request_log.operations() == [GET]
    assert request_log.last(GET)["body"] == by_id("Company", ACME)
    assert output == manifest.action("find_account").sample_output
    assert "companyPropertyList" not in output["account"]


def test_find_by_id_under_another_type_finds_nothing(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_account", {"company_type": "Partners", "account_id": ACME})
    assert output == {"found": False, "account": None}
    assert request_log.last(GET)["body"] == by_id("Partners", ACME)


def test_find_by_name_matches_the_exact_name_without_regard_to_case(
    invoke: Invoke, request_log: Any
) -> None:
    output = invoke("find_account", {"company_type": "Partners",
                                     "name": " northwind REALTY partners "})
    assert request_log.last(GET)["body"] == get_body(
        "Partners", {"SearchText": "northwind REALTY partners"})
    assert output["found"] is True
    assert output["account"]["CompanyId"] == NORTHWIND
    assert output["account"]["CompanyType"] == "Partners"


def test_find_by_name_ignores_accounts_whose_name_only_contains_it(invoke: Invoke) -> None:
    assert invoke("find_account", {"company_type": "Company", "name": "Acme"}) == {
        "found": False, "account": None}


def test_find_by_name_pages_until_the_exact_match(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    companies = tenant(sandbox).companies
    template = dict(companies[ACME])
    for number in range(120):  # newer than the target, whose name they contain
        account_id = f"9c1d7e2a-5b3f-4e8a-9d10-{number:012d}"
        companies[account_id] = {**template, "CompanyId": account_id,
                                 "CompanyName": f"Zeta Labs {number:03d}",
                                 "ModifiedOn": "2025-06-01 00:00:00"}
    target = f"9c1d7e2a-5b3f-4e8a-9d10-{999:012d}"
    companies[target] = {**template, "CompanyId": target, "CompanyName": "Zeta Labs",
                         "ModifiedOn": "2025-01-01 00:00:00"}
    output = invoke("find_account", {"company_type": "Company", "name": "Zeta Labs"})
    assert output["account"]["CompanyId"] == target
    assert [entry["body"] for entry in request_log.all()] == [
        get_body("Company", {"SearchText": "Zeta Labs"}, page=1),
        get_body("Company", {"SearchText": "Zeta Labs"}, page=2),
    ]


def test_find_by_name_returns_the_most_recently_modified_of_same_named_accounts(
    invoke: Invoke, sandbox: RunningSandbox
) -> None:
    companies = tenant(sandbox).companies
    twin = "9c1d7e2a-5b3f-4e8a-9d10-000000000199"
    companies[twin] = {**companies[ACME], "CompanyId": twin, "ModifiedOn": "2025-06-01 00:00:00"}
    output = invoke("find_account", {"company_type": "Company", "name": "Acme Corp"})
    assert output["account"]["CompanyId"] == twin


def test_find_fails_when_asked_and_nothing_matches(invoke: Invoke) -> None:
    with pytest.raises(RecordNotFoundError) as raised:
        invoke("find_account", {"company_type": "Company", "account_id": MISSING,
                                "fail_if_not_found": True})
    assert str(raised.value).startswith(
        f"no account with CompanyId '{MISSING}' of Company Type 'Company'")


def test_find_under_an_unknown_company_type_is_an_error(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("find_account", {"company_type": "Vendors", "name": "Acme Corp"})
    error = raised.value
    assert (error.operation, error.exception_type, error.message) == (
        GET, "MXInvalidEntityException", "Company Type 'Vendors' does not exist")
    assert "the Company Type does not exist in this account" in (error.hint or "")
    assert request_log.operations() == [GET]


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"account_id": ACME}, "company_type"),
        ({"company_type": "Company"}, "expected exactly one of account_id or name"),
        ({"company_type": "Company", "account_id": ACME, "name": "Acme Corp"},
         "expected exactly one of account_id or name"),
        ({"company_type": "Company", "account_id": "101"}, "$.account_id"),
        ({"company_type": "Company", "name": ""}, "$.name"),
        ({"company_type": "Company", "name": "A", "fail_if_not_found": "yes"},
         "$.fail_if_not_found"),
    ],
    ids=["no-type", "neither", "both", "id-not-guid", "blank-name", "flag-not-boolean"],
)
def test_find_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("find_account", inputs))


# -- delete ------------------------------------------------------------------------------

def test_delete_unlinks_the_leads_by_default(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("delete_account", {"account_id": ACME, "company_type": "Company"})
    assert output == {"account_id": ACME, "result": "deleted", "deleted": True,
                      "leads_deleted": False}
    sent = request_log.last(DELETE)
    assert (sent["method"], sent["query"], sent["body"]) == (
        "GET", {"companyId": ACME, "withLeadDelete": "false"}, None)
    assert ACME not in tenant(sandbox).companies
    assert tenant(sandbox).leads[PRIYA]["RelatedCompanyId"] is None
    assert invoke("find_account", {"company_type": "Company", "account_id": ACME})["found"] is False


def test_delete_with_delete_leads_deletes_the_leads_too(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("delete_account", {"account_id": ACME, "company_type": "Company",
                                       "delete_leads": True})
    assert output == {"account_id": ACME, "result": "deleted", "deleted": True,
                      "leads_deleted": True}
    assert request_log.last(DELETE)["query"] == {"companyId": ACME, "withLeadDelete": "true"}
    assert PRIYA not in tenant(sandbox).leads


@pytest.mark.parametrize(
    ("inputs", "named"),
    [({"company_type": "Company"}, "account_id"),
     ({"account_id": "x", "company_type": "Company"}, "$.account_id"),
     ({"account_id": ACME}, "company_type"),
     ({"account_id": ACME, "company_type": "Company", "delete_leads": "true"},
      "$.delete_leads")],
    ids=["no-id", "id-not-guid", "no-type", "flag-as-text"],
)
def test_delete_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("delete_account", inputs))


def test_the_manifest_names_the_endpoints_the_handlers_call(manifest: Manifest) -> None:
    assert {key: manifest.action(key).endpoint for key in KEYS} == {
        "create_account": f"POST {CREATE}",
        "update_account": f"POST {UPDATE}",
        "find_account": f"POST {GET}",
        "delete_account": f"GET {DELETE}",
    }
