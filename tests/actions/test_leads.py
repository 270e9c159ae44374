"""The Leads actions (create/upsert/update/find/delete_lead) against the sandbox.

Each test runs the runtime's full path (input schema, handler, output schema) and asserts the
exact request LeadSquared receives (from the sandbox's request log), the output and the
record afterwards. Failures: invalid input and unknown fields are named before anything is
written; every MX error these endpoints give is surfaced with its type and a fitting hint;
retries and lost answers follow the client's policy (faults drawn from a seeded stream, so
exactly the chosen call fails).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from operations import _leads
from runtime.api import retry
from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.errors import (
    AmbiguousWriteError,
    AuthError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    FaultPlan,
    RunningSandbox,
)
from tests.actions.conftest import Invoke, Refused
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.seed_ids import ARJUN, NEHA, PRIYA, ROHAN

NOBODY = "5b0a1e2c-7d3f-4c8e-a1b2-000000000299"
METADATA = "LeadManagement.svc/LeadsMetaData.Get"
CREATE, UPSERT, UPDATE, DELETE = _leads.CREATE, _leads.UPSERT, _leads.UPDATE, _leads.DELETE
NEW_LEAD = {"FirstName": "Ishaan", "LastName": "Rao", "EmailAddress": "ishaan.rao@example.com",
            "Phone": "9876501234", "mx_City": "Pune"}



def pairs(**fields: Any) -> list[dict[str, Any]]:
    return [{"Attribute": name, "Value": value} for name, value in fields.items()]


def lead(raw_api: Any, lead_id: str) -> dict[str, Any] | None:
    found = raw_api.get("LeadManagement.svc/Leads.GetById", id=lead_id).json()
    return found[0] if found else None


def leads_with_email(raw_api: Any, email: str) -> list[dict[str, Any]]:
    return raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress=email).json()


def fail_next_call(sandbox: RunningSandbox, kind: str) -> None:
    """Make exactly the next API call fail with ``kind`` (the calls after it succeed)."""
    rate = 0.5
    for seed in range(1000):
        rolls = random.Random(seed)
        if rolls.random() < rate and all(rolls.random() >= rate for _ in range(8)):
            sandbox.app.faults.configure(FaultPlan(rates={kind: rate}, seed=seed))
            return
    raise AssertionError("no seed gives one failure then successes")


@pytest.fixture
def fast_client(quick_client: LeadSquaredClient) -> LeadSquaredClient:
    """The default tenant's client with retries that do not sleep; lead fields pre-fetched."""
    quick_client.metadata.lead_fields()  # so a fault hits the action's own call
    return quick_client


@pytest.fixture
def invoke_fast(manifest: Manifest, fast_client: LeadSquaredClient) -> Invoke:
    return lambda key, inputs: invoke_action(manifest, key, inputs, fast_client)


# -- create_lead ---------------------------------------------------------------------------

def test_create_lead_sends_attribute_value_pairs(invoke: Invoke, request_log: Any,
                                                 raw_api: Any) -> None:
    fields = {**NEW_LEAD, "mx_Budget": 2500000, "DoNotEmail": True, "Notes": None}
    output = invoke("create_lead", {"fields": fields})
    assert request_log.operations() == [METADATA, CREATE]
    sent = request_log.last(CREATE)
    assert (sent["method"], sent["query"]) == ("POST", {})
    assert sent["body"] == pairs(**NEW_LEAD, mx_Budget="2500000", DoNotEmail="true", Notes=None)
    assert list(output) == ["lead_id"]
    created = lead(raw_api, output["lead_id"])
    assert created is not None
    assert (created["EmailAddress"], created["mx_Budget"], created["DoNotEmail"]) == (
        "ishaan.rao@example.com", "2500000", "1")


def test_create_lead_with_a_taken_email_is_a_duplicate_pointing_to_upsert(
    invoke: Invoke, raw_api: Any
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("create_lead", {"fields": {"EmailAddress": "PRIYA.sharma@example.com"}})
    error = caught.value
    assert (error.operation, error.status, error.exception_type) == (
        CREATE, 500, "MXDuplicateEntryException")
    assert "Duplicate entry 'PRIYA.sharma@example.com'" in error.message
    assert error.hint is not None and "use upsert_lead" in error.hint
    assert len(leads_with_email(raw_api, "priya.sharma@example.com")) == 1


@pytest.mark.parametrize(
    ("fields", "exception_type", "message"),
    [
        ({"mx_City": "Pune"}, "MXMandatoryAttributeMissingException",
         "At least one of FirstName, LastName, EmailAddress or Phone is mandatory"),
        ({"FirstName": "Ishaan", "mx_Budget": "lots"}, "MXInvalidDataTypeException",
         "Invalid value 'lots' for attribute 'mx_Budget' of data type 'Number'"),
        ({"FirstName": "Ishaan", "OwnerId": "nobody@example.com"}, "MXInvalidEntityException",
         "Owner 'nobody@example.com' does not exist in the system"),
    ],
    ids=["no-identity-field", "wrong-type", "unknown-owner"],
)
def test_create_lead_surfaces_leadsquared_rejections(
    invoke: Invoke, request_log: Any, fields: dict[str, Any], exception_type: str, message: str
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("create_lead", {"fields": fields})
    assert caught.value.exception_type == exception_type
    assert message in caught.value.message
    assert request_log.operations() == [METADATA, CREATE]  # sent once: MX errors never retry


def test_unknown_fields_are_named_with_the_closest_and_nothing_is_written(
    invoke: Invoke, request_log: Any
) -> None:
    fields = {"FirstName": "Ishaan", "mx_Citty": "Pune", "Emailaddress": "i@example.com"}
    with pytest.raises(InputValidationError) as caught:
        invoke("create_lead", {"fields": fields})
    assert caught.value.problems == [
        "fields.mx_Citty: not a lead field of this account; did you mean mx_City?",
        "fields.Emailaddress: not a lead field of this account; did you mean EmailAddress?",
    ]
    assert request_log.operations() == [METADATA]  # the sandbox's MXUnknownAttribute never


@pytest.mark.parametrize(
    ("key", "inputs", "problem"),
    [
        ("create_lead", {"fields": {}}, "$.fields: {} should be non-empty"),
        ("create_lead", {"fields": {"First Name": "I"}}, "$.fields: 'First Name' does not match"),
        ("create_lead", {"fields": {"SearchBy": "Phone"}}, "$.fields: 'SearchBy' should not be"),
        ("create_lead", {"fields": {"FirstName": ["I"]}}, "$.fields.FirstName: ['I'] is not of"),
        ("upsert_lead", {"fields": {"FirstName": "I"}, "search_by": "e-mail"},
         "$.search_by: 'e-mail' does not match"),
        ("update_lead", {"lead_id": "17", "fields": {"FirstName": "I"}},
         "$.lead_id: '17' does not match"),
        ("update_lead", {"fields": {"FirstName": "I"}}, "$: 'lead_id' is a required property"),
        ("find_lead", {"email": "a@b.com", "phone": "9000011111"}, "$: {'email': 'a@b.com', "),
        ("find_lead", {"field": "mx_City"}, "$: 'value' is a dependency of 'field'"),
        ("find_lead", {"email": "a@b.com", "operator": "="}, "$: 'field' is a dependency of"),
        ("find_lead", {"field": "mx_City", "value": "Pune", "operator": "=="},
         "$.operator: '==' is not one of"),
        ("delete_lead", {"lead_id": PRIYA, "confirm": True}, "$: Additional properties"),
    ],
    ids=["no-fields", "display-name", "searchby-field", "list-value", "search-by",
         "lead-id", "no-lead-id", "two-ways", "field-without-value", "operator-alone",
         "operator", "extra-option"],
)
def test_invalid_input_is_named_before_any_request(
    refused: Refused, key: str, inputs: dict[str, Any], problem: str
) -> None:
    problems = refused(key, inputs).problems
    assert any(p.startswith(problem) for p in problems), problems


def test_lost_create_answer_is_recovered_by_email(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any, raw_api: Any
) -> None:
    fail_next_call(sandbox, "drop")  # processed, then the connection drops
    output = invoke_fast("create_lead", {"fields": NEW_LEAD})
    assert output == {"lead_id": output["lead_id"], "recovered": True}
    assert request_log.operations() == [METADATA, CREATE, _leads.BY_EMAIL]  # never resent
    assert request_log.last(_leads.BY_EMAIL)["query"] == {"emailaddress": "ishaan.rao@example.com"}
    [created] = leads_with_email(raw_api, "ishaan.rao@example.com")
    assert created["ProspectID"] == output["lead_id"]


def test_lost_create_answer_is_recovered_by_phone_without_email(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any
) -> None:
    fail_next_call(sandbox, "drop")
    fields = {"FirstName": "Dev", "Phone": "+91-90000-22222"}
    output = invoke_fast("create_lead", {"fields": fields})
    assert output["recovered"] is True
    assert request_log.last(_leads.BY_PHONE)["query"] == {"phone": "919000022222"}


def test_lost_create_answer_without_email_or_phone_stays_ambiguous(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any
) -> None:
    fail_next_call(sandbox, "drop")
    with pytest.raises(AmbiguousWriteError) as caught:
        invoke_fast("create_lead", {"fields": {"FirstName": "Dev"}})
    assert "may already exist" in str(caught.value)
    assert request_log.operations() == [METADATA, CREATE]


def test_create_failing_with_500_is_not_resent_and_not_invented(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any, raw_api: Any
) -> None:
    fail_next_call(sandbox, "500")  # not processed, but the client cannot know that
    with pytest.raises(AmbiguousWriteError):
        invoke_fast("create_lead", {"fields": NEW_LEAD})
    assert request_log.operations() == [METADATA, CREATE, _leads.BY_EMAIL]
    assert leads_with_email(raw_api, "ishaan.rao@example.com") == []


@pytest.mark.parametrize("kind", ["429", "503"])
def test_create_refused_unprocessed_is_retried_once_and_succeeds(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any, raw_api: Any, kind: str
) -> None:
    fail_next_call(sandbox, kind)
    output = invoke_fast("create_lead", {"fields": NEW_LEAD})
    assert list(output) == ["lead_id"]
    assert request_log.operations() == [METADATA, CREATE, CREATE]
    assert len(leads_with_email(raw_api, "ishaan.rao@example.com")) == 1


def test_create_answer_without_an_id_is_a_clear_error(manifest: Manifest) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", METADATA, ok([{"SchemaName": "FirstName"}]))
    fake.add("POST", CREATE, ok({"Status": "Success", "Message": {}}))
    with (fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq,
          pytest.raises(PermanentApiError) as caught):
        invoke_action(manifest, "create_lead", {"fields": {"FirstName": "I"}}, lsq)
    assert str(caught.value) == (
        f"{CREATE}: LeadSquared answered without Message.Id (the call may have succeeded; "
        "check the record in LeadSquared)")


# -- upsert_lead ---------------------------------------------------------------------------

def test_upsert_updates_the_lead_with_that_email(
    invoke: Invoke, request_log: Any, raw_api: Any
) -> None:
    fields = {"EmailAddress": "priya.sharma@example.com", "mx_City": "Mumbai"}
    assert invoke("upsert_lead", {"fields": fields}) == {"lead_id": PRIYA}
    sent = request_log.last(UPSERT)
    assert sent["query"] == {"postUpdatedLead": "true"}
    assert sent["body"] == [*pairs(**fields), {"Attribute": "SearchBy", "Value": "EmailAddress"}]
    assert lead(raw_api, PRIYA)["mx_City"] == "Mumbai"


def test_upsert_creates_when_nothing_matches(invoke: Invoke, raw_api: Any) -> None:
    output = invoke("upsert_lead", {"fields": NEW_LEAD, "post_updated_lead": False})
    assert output["lead_id"] not in {PRIYA, ARJUN, ROHAN, NEHA}
    assert lead(raw_api, output["lead_id"])["FirstName"] == "Ishaan"


@pytest.mark.parametrize(
    ("search_by", "fields", "expected"),
    [
        ("Phone", {"Phone": "9123456780", "LastName": "Mehta-Shah"}, ARJUN),
        ("ProspectId", {"ProspectID": NEHA, "LastName": "Kapoor-Rao"}, NEHA),
        ("mx_City", {"mx_City": "Delhi", "LastName": "Gupta-Rao"}, ROHAN),
    ],
    ids=["phone", "prospect-id", "custom-field"],
)
def test_upsert_searches_by_the_chosen_field(
    invoke: Invoke, request_log: Any, raw_api: Any, search_by: str, fields: dict[str, Any],
    expected: str,
) -> None:
    output = invoke("upsert_lead", {"fields": fields, "search_by": search_by,
                                    "post_updated_lead": False})
    assert output == {"lead_id": expected}
    sent = request_log.last(UPSERT)
    assert sent["query"] == {"postUpdatedLead": "false"}
    assert sent["body"][-1] == {"Attribute": "SearchBy", "Value": search_by}
    assert lead(raw_api, expected)["LastName"] == fields["LastName"]


def test_upsert_by_phone_matches_the_exact_text_only(invoke: Invoke, raw_api: Any) -> None:
    fields = {"Phone": "+91 9123456780", "FirstName": "Arjun"}  # Arjun's is "9123456780"
    output = invoke("upsert_lead", {"fields": fields, "search_by": "Phone"})
    assert output["lead_id"] != ARJUN  # a new lead, as the search_by description warns
    assert lead(raw_api, ARJUN)["Phone"] == "9123456780"


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"fields": {"Phone": "9000099999"}},
         "fields: search_by is EmailAddress, so fields must include a EmailAddress value"),
        ({"fields": {"EmailAddress": "a@example.com"}, "search_by": "mx_Cty"},
         "search_by.mx_Cty: not a lead field of this account; did you mean mx_City?"),
    ],
    ids=["value-missing", "unknown-field"],
)
def test_upsert_search_by_is_checked_before_writing(
    invoke: Invoke, request_log: Any, inputs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("upsert_lead", inputs)
    assert caught.value.problems == [problem]
    assert request_log.operations() == [METADATA]


def test_upsert_taking_another_leads_phone_is_a_duplicate(invoke: Invoke) -> None:
    fields = {"EmailAddress": "priya.sharma@example.com", "Phone": "9123456780"}  # Arjun's
    with pytest.raises(PermanentApiError) as caught:
        invoke("upsert_lead", {"fields": fields})
    assert caught.value.exception_type == "MXDuplicateEntryException"
    assert caught.value.hint == retry.LEAD_UNIQUE_CLASH


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"Id": PRIYA, "AffectedRows": 1}, {"lead_id": PRIYA}),
        ({"Id": PRIYA, "AffectedRows": 1, "IsCreated": True}, {"lead_id": PRIYA, "created": True}),
        ({"Id": PRIYA, "IsCreated": False}, {"lead_id": PRIYA, "created": False}),
        ({"RelatedID": PRIYA, "AffectedRows": 1}, {"lead_id": PRIYA}),
    ],
    ids=["documented", "is-created", "is-updated", "related-id"],
)
def test_upsert_reports_created_only_when_leadsquared_says(
    manifest: Manifest, message: dict[str, Any], expected: dict[str, Any]
) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", METADATA, ok([{"SchemaName": "EmailAddress"}]))
    fake.add("POST", UPSERT, ok({"Status": "Success", "Message": message}))
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as lsq:
        output = invoke_action(manifest, "upsert_lead", {"fields": {"EmailAddress": "a@b.co"}}, lsq)
    assert output == expected


# -- update_lead ---------------------------------------------------------------------------

def test_update_sends_only_the_given_fields(invoke: Invoke, request_log: Any,
                                            raw_api: Any) -> None:
    before = lead(raw_api, ARJUN)
    inputs = {"lead_id": ARJUN, "fields": {"ProspectStage": "Opportunity", "mx_Budget": 300000,
                                           "Company": None}}
    assert invoke("update_lead", inputs) == {"lead_id": ARJUN}
    sent = request_log.last(UPDATE)
    assert sent["query"] == {"leadId": ARJUN, "postUpdatedLead": "true"}
    assert sent["body"] == pairs(ProspectStage="Opportunity", mx_Budget="300000", Company=None)
    after = lead(raw_api, ARJUN)
    assert (after["ProspectStage"], after["mx_Budget"], after["Company"]) == (
        "Opportunity", "300000", None)
    assert after["Mobile"] == before["Mobile"] and after["mx_City"] == before["mx_City"]


def test_update_can_leave_automations_off(invoke: Invoke, request_log: Any) -> None:
    invoke("update_lead", {"lead_id": ARJUN, "fields": {"Score": 30}, "post_updated_lead": False})
    assert request_log.last(UPDATE)["query"] == {"leadId": ARJUN, "postUpdatedLead": "false"}


def test_update_of_a_missing_lead_says_it_does_not_exist(invoke: Invoke) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("update_lead", {"lead_id": NOBODY, "fields": {"FirstName": "Ghost"}})
    assert str(caught.value) == (
        f"{UPDATE} HTTP 500 MXInvalidEntityException: Lead does not exist in the system "
        "(the record does not exist in LeadSquared; check the id)")


def test_update_to_another_leads_email_is_a_duplicate_with_a_fitting_hint(
    invoke: Invoke
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("update_lead", {"lead_id": ARJUN,
                               "fields": {"EmailAddress": "priya.sharma@example.com"}})
    assert caught.value.exception_type == "MXDuplicateEntryException"
    assert caught.value.hint == retry.LEAD_UNIQUE_CLASH


def test_update_unknown_field_sends_nothing(invoke: Invoke, request_log: Any) -> None:
    with pytest.raises(InputValidationError, match=r"fields\.mx_budget: .* did you mean mx_Budget"):
        invoke("update_lead", {"lead_id": ARJUN, "fields": {"mx_budget": 1}})
    assert request_log.operations() == [METADATA]


@pytest.mark.parametrize("kind", ["500", "503", "429"])
def test_update_is_retried_after_a_transient_failure(
    sandbox: RunningSandbox, invoke_fast: Invoke, request_log: Any, raw_api: Any, kind: str
) -> None:
    fail_next_call(sandbox, kind)
    assert invoke_fast("update_lead", {"lead_id": ARJUN, "fields": {"Score": 33}}) == {
        "lead_id": ARJUN}
    assert request_log.operations() == [METADATA, UPDATE, UPDATE]
    assert lead(raw_api, ARJUN)["Score"] == "33"


# -- find_lead -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("inputs", "operation", "query", "expected"),
    [
        ({"lead_id": PRIYA}, _leads.BY_ID, {"id": PRIYA}, PRIYA),
        ({"email": "Priya.Sharma@Example.com"}, _leads.BY_EMAIL,
         {"emailaddress": "Priya.Sharma@Example.com"}, PRIYA),
        ({"phone": "+91 98450-12345"}, _leads.BY_PHONE, {"phone": "919845012345"}, ARJUN),
    ],
    ids=["lead-id", "email", "phone-matches-mobile"],
)
def test_find_lead_by_id_email_and_phone(
    invoke: Invoke, request_log: Any, raw_api: Any, inputs: dict[str, Any], operation: str,
    query: dict[str, str], expected: str,
) -> None:
    output = invoke("find_lead", inputs)
    [sent] = request_log.all()
    assert (sent["operation"], sent["method"], sent["query"]) == (operation, "GET", query)
    assert output == {"found": True, "lead": lead(raw_api, expected), "count": 1}


def test_find_lead_by_field_sends_one_parameter(invoke: Invoke, request_log: Any,
                                                raw_api: Any) -> None:
    output = invoke("find_lead", {"field": "mx_City", "value": "Pune"})
    assert request_log.operations() == [METADATA, _leads.BY_FIELD]
    assert output == {"found": True, "lead": lead(raw_api, PRIYA), "count": 1}
    assert request_log.last(_leads.BY_FIELD)["body"] == {
        "Parameter": {"LookupName": "mx_City", "LookupValue": "Pune", "SqlOperator": "="},
        "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
        "Paging": {"PageIndex": 1, "PageSize": 100},
    }


def test_find_lead_by_field_returns_the_most_recently_modified_match(invoke: Invoke) -> None:
    output = invoke("find_lead", {"field": "Score", "value": 50, "operator": ">"})
    assert (output["lead"]["ProspectID"], output["count"]) == (ROHAN, 2)  # and Priya


def test_find_lead_by_bit_field_sends_1_for_true(invoke: Invoke, request_log: Any) -> None:
    output = invoke("find_lead", {"field": "mx_Whatsapp_Opt_In", "value": True})
    assert output["lead"]["ProspectID"] == ARJUN
    assert request_log.last(_leads.BY_FIELD)["body"]["Parameter"]["LookupValue"] == "1"


def test_find_lead_field_name_is_checked_case_sensitively(invoke: Invoke,
                                                          request_log: Any) -> None:
    with pytest.raises(InputValidationError) as caught:
        invoke("find_lead", {"field": "mx_city", "value": "Pune"})
    assert caught.value.problems == [
        "field.mx_city: not a lead field of this account; did you mean mx_City?"]
    assert request_log.operations() == [METADATA]


@pytest.mark.parametrize(
    "inputs",
    [{"lead_id": NOBODY}, {"email": "nobody@example.com"}, {"phone": "1111111111"},
     {"field": "mx_City", "value": "Atlantis"}],
    ids=["lead-id", "email", "phone", "field"],
)
def test_find_lead_that_finds_nothing_is_not_an_error(invoke: Invoke,
                                                      inputs: dict[str, Any]) -> None:
    assert invoke("find_lead", inputs) == {"found": False, "lead": None, "count": 0}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"lead_id": NOBODY}, f"no lead with ProspectID '{NOBODY}'"),
        ({"email": "nobody@example.com"}, "no lead with EmailAddress 'nobody@example.com'"),
        ({"field": "Score", "value": 99, "operator": ">="}, "no lead with Score >= '99'"),
    ],
    ids=["lead-id", "email", "field"],
)
def test_find_lead_can_fail_when_nothing_matches(invoke: Invoke, inputs: dict[str, Any],
                                                 message: str) -> None:
    with pytest.raises(RecordNotFoundError) as caught:
        invoke("find_lead", {**inputs, "fail_if_not_found": True})
    assert caught.value.message == message
    assert caught.value.to_dict()["category"] == "record_not_found"


# -- delete_lead ---------------------------------------------------------------------------

def test_delete_on_an_account_without_lead_delete_says_so(
    invoke: Invoke, request_log: Any, raw_api: Any
) -> None:
    with pytest.raises(PermanentApiError) as caught:
        invoke("delete_lead", {"lead_id": NEHA})
    assert str(caught.value) == (
        f"{DELETE} HTTP 500 MXUnauthorizedRequestException: lead delete is not enabled on this "
        "LeadSquared account; ask LeadSquared support to enable it")
    sent = request_log.last(DELETE)
    assert (sent["method"], sent["query"], sent["body"]) == ("GET", {"leadId": NEHA}, None)
    # Looked up, refused, looked up again (still there): the refusal is the answer.
    by_id = "LeadManagement.svc/Leads.GetById"
    assert request_log.operations() == [by_id, DELETE, by_id]
    assert lead(raw_api, NEHA) is not None


# -- credentials and region ----------------------------------------------------------------

def test_wrong_keys_are_an_auth_error(manifest: Manifest, sandbox: RunningSandbox,
                                      request_log: Any) -> None:
    connection = Connection(access_key=DEFAULT_ACCESS_KEY, secret_key="not-the-secret-key",
                            api_host=DEFAULT_API_HOST, base_url=sandbox.base_url)
    with LeadSquaredClient(connection) as lsq, pytest.raises(AuthError) as caught:
        invoke_action(manifest, "find_lead", {"email": "priya.sharma@example.com"}, lsq)
    assert caught.value.status == 401
    assert caught.value.hint is not None and "check access_key and secret_key" in caught.value.hint


def test_wrong_region_names_the_accounts_host(manifest: Manifest,
                                              sandbox: RunningSandbox) -> None:
    connection = Connection(access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                            api_host="api-us11.leadsquared.com", base_url=sandbox.base_url)
    with LeadSquaredClient(connection) as lsq, pytest.raises(AuthError) as caught:
        invoke_action(manifest, "update_lead", {"lead_id": ARJUN, "fields": {"Score": 1}}, lsq)
    assert caught.value.message == (
        "wrong API host: this account's host is api-in21.leadsquared.com; set api_host to it")
