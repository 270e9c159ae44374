"""List actions against the sandbox: create, add a lead, remove a lead, find (reference §9).

Each test asserts the exact requests LeadSquared receives (the sandbox request log), the
validated output (runtime.plugin.invoke.invoke_action), and the error paths: bad input named before
any request, lists found by name (exact, without regard to case) or not found (naming close
names), dynamic lists refused before any write, and the MX errors the list endpoints answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from operations import _lists
from runtime.api.client import LeadSquaredClient
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.seed_ids import HOT_LEADS, KAVYA, MISSING, NEWSLETTER, PRIYA

LISTS_GET, CREATE, ADD, REMOVE = _lists.LISTS_GET, _lists.CREATE, _lists.ADD, _lists.REMOVE
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"
KEYS = ("create_list", "add_lead_to_list", "remove_lead_from_list", "find_list")
NOT_STATIC = (
    "'Hot Leads' is a dynamic list; leads can be added to or removed from static lists only "
    "(its members follow its rules)"
)


def tenant(sandbox: RunningSandbox) -> Any:
    return sandbox.app.state.tenants["41872"]


def members(sandbox: RunningSandbox, list_id: str = NEWSLETTER) -> list[str]:
    return tenant(sandbox).list_members[list_id]


def calls(request_log: Any) -> list[tuple[str, str, dict[str, str]]]:
    """(method, operation, query) of every logged call."""
    return [(e["method"], e["operation"], e["query"]) for e in request_log.all()]


def lists_get(page: int = 1, **query: str) -> tuple[str, str, dict[str, str]]:
    return ("GET", LISTS_GET, {"PageIndex": str(page), **query})


def add_lists(sandbox: RunningSandbox, names: list[str]) -> None:
    """Static lists straight into the sandbox's state (faster than 100 API calls)."""
    for number, name in enumerate(names):
        list_id = f"a7c4e1f0-3b2d-4e6a-8f91-{number + 1000:012d}"
        tenant(sandbox).lists[list_id] = {
            "ListId": list_id, "ListName": name, "ListDescription": None, "ListType": "static",
            "CreatedOn": "2025-04-01 00:00:00.000", "Rule": None,
        }
        tenant(sandbox).list_members[list_id] = []


# -- create ------------------------------------------------------------------------------

def test_create_sends_name_and_description_and_the_list_is_static_and_empty(
    invoke: Invoke, request_log: Any
) -> None:
    output = invoke("create_list", {"name": " Webinar May 2025 ", "description": "Registrants"})
    assert calls(request_log) == [("POST", CREATE, {})]
    assert request_log.last(CREATE)["body"] == {"Name": "Webinar May 2025",
                                                "Description": "Registrants"}
    found = invoke("find_list", {"name": "webinar may 2025"})
    assert found == {"found": True, "list": {
        "ListId": output["list_id"], "ListName": "Webinar May 2025",
        "ListDescription": "Registrants", "ListType": "static", "MemberCount": 0,
    }}


def test_create_without_a_description_sends_only_the_name(
    invoke: Invoke, request_log: Any
) -> None:
    invoke("create_list", {"name": "Trade Show"})
    assert request_log.last(CREATE)["body"] == {"Name": "Trade Show"}


def test_create_with_a_name_in_use_is_a_duplicate_list_error(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("create_list", {"name": "newsletter"})
    error = raised.value
    assert (error.operation, error.status, error.exception_type, error.message) == (
        CREATE, 500, "MXDuplicateEntryException", "List with name 'newsletter' already exists")
    assert error.hint == ("a list with this name already exists (names are compared without "
                          "regard to case); use find_list to get its id")
    assert calls(request_log) == [("POST", CREATE, {})]  # never retried
    assert len(tenant(sandbox).lists) == 2


def test_create_is_not_resent_after_a_dropped_answer(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.configure(type(sandbox.app.faults.plan).parse("drop=1"))
    with pytest.raises(AmbiguousWriteError):
        invoke("create_list", {"name": "Once"})
    assert request_log.operations() == [CREATE]


@pytest.mark.parametrize(
    ("inputs", "named"),
    [({}, "name"), ({"name": "  "}, "$.name"),
     ({"name": "A", "description": 5}, "$.description"), ({"name": "A", "type": "static"}, "type")],
    ids=["no-name", "blank-name", "description-not-text", "unknown-option"],
)
def test_create_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("create_list", inputs))


# -- add ---------------------------------------------------------------------------------

def test_add_by_list_name_and_lead_email(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("add_lead_to_list", {"list_name": "NEWSLETTER",
                                         "lead_email": "Kavya.Iyer@example.com"})
    assert output == {"list_id": NEWSLETTER, "lead_id": KAVYA, "added": True}
    assert calls(request_log) == [
        lists_get(SearchText="NEWSLETTER"),
        ("GET", BY_EMAIL, {"emailaddress": "Kavya.Iyer@example.com"}),
        ("POST", ADD, {"listId": NEWSLETTER, "leadId": KAVYA}),
    ]
    assert request_log.last(ADD)["body"] is None  # the documented empty body
    assert members(sandbox)[-1] == KAVYA


def test_add_by_ids_checks_the_list_and_reports_a_member_as_not_added(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("add_lead_to_list", {"list_id": NEWSLETTER, "lead_id": PRIYA})
    assert output == {"list_id": NEWSLETTER, "lead_id": PRIYA, "added": False}
    assert calls(request_log) == [
        lists_get(), ("POST", ADD, {"listId": NEWSLETTER, "leadId": PRIYA}),
    ]
    assert members(sandbox).count(PRIYA) == 1


@pytest.mark.parametrize("key", ["add_lead_to_list", "remove_lead_from_list"])
@pytest.mark.parametrize(
    ("given", "location", "expected_calls"),
    [({"list_name": "hot leads"}, "list_name", [lists_get(SearchText="hot leads")]),
     ({"list_id": HOT_LEADS}, "list_id", [lists_get()])],
    ids=["by-name", "by-id"],
)
def test_a_dynamic_list_is_refused_before_any_write(
    invoke: Invoke, request_log: Any, key: str, given: dict[str, str], location: str,
    expected_calls: list[Any],
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke(key, {**given, "lead_id": PRIYA})
    assert raised.value.problems == [f"{location}: {NOT_STATIC}"]
    assert raised.value.hint == "use a static list, or create one with create_list"
    assert calls(request_log) == expected_calls


def test_a_list_name_that_matches_no_list_names_the_close_ones(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("add_lead_to_list", {"list_name": "Newsleter", "lead_id": KAVYA})
    assert raised.value.problems == [
        "list_name: no list named 'Newsleter'; close names: Newsletter"
    ]
    # the search finds nothing; then every list is read for the suggestion (to an empty page)
    assert calls(request_log) == [lists_get(SearchText="Newsleter"), lists_get(1), lists_get(2)]


def test_a_list_name_only_contained_in_a_list_name_is_not_that_list(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("remove_lead_from_list", {"list_name": "News", "lead_id": PRIYA})
    assert raised.value.problems == ["list_name: no list named 'News'; close names: Newsletter"]
    assert REMOVE not in request_log.operations()


def test_a_list_name_with_nothing_close_lists_the_account_lists(invoke: Invoke) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("add_lead_to_list", {"list_name": "Quarterly Board", "lead_id": KAVYA})
    assert raised.value.problems == [
        "list_name: no list named 'Quarterly Board'; lists: Hot Leads, Newsletter"
    ]


def test_a_list_id_of_no_list_is_an_error_before_any_write(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("add_lead_to_list", {"list_id": MISSING, "lead_id": KAVYA})
    assert raised.value.problems == [f"list_id: no list with ListId '{MISSING}' in this account"]
    assert request_log.operations() == [LISTS_GET, LISTS_GET]


def test_a_lead_email_of_no_lead_is_an_error_before_any_write(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("add_lead_to_list", {"list_id": NEWSLETTER, "lead_email": "nobody@example.com"})
    assert raised.value.problems == [
        "lead_email: no lead has EmailAddress 'nobody@example.com'"
    ]
    assert request_log.operations() == [LISTS_GET, BY_EMAIL]


def test_add_of_a_lead_id_of_no_lead_is_a_leadsquared_error(
    invoke: Invoke, request_log: Any
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("add_lead_to_list", {"list_id": NEWSLETTER, "lead_id": MISSING})
    error = raised.value
    assert (error.operation, error.exception_type, error.message) == (
        ADD, "MXInvalidEntityException", "Lead does not exist in the system")
    assert error.hint
    assert request_log.operations() == [LISTS_GET, ADD]


@pytest.mark.parametrize("key", ["add_lead_to_list", "remove_lead_from_list"])
@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"lead_id": PRIYA}, "expected exactly one of list_id or list_name"),
        ({"list_id": NEWSLETTER, "list_name": "Newsletter", "lead_id": PRIYA},
         "expected exactly one of list_id or list_name"),
        ({"list_name": "Newsletter"}, "expected exactly one of lead_id or lead_email"),
        ({"list_name": "Newsletter", "lead_id": PRIYA, "lead_email": "a@example.com"},
         "expected exactly one of lead_id or lead_email"),
        ({"list_id": "301", "lead_id": PRIYA}, "$.list_id"),
        ({"list_name": "Newsletter", "lead_email": "not-an-email"}, "$.lead_email"),
        ({"list_name": "Newsletter", "lead_id": PRIYA, "list": "x"}, "list"),
    ],
    ids=["no-list", "both-lists", "no-lead", "both-leads", "list-id-not-guid", "bad-email",
         "unknown-option"],
)
def test_membership_changes_reject_bad_input_before_any_request(
    refused: Refused, key: str, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused(key, inputs))


# -- remove ------------------------------------------------------------------------------

def test_remove_by_list_name_sends_the_documented_get(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("remove_lead_from_list", {"list_name": "Newsletter", "lead_id": PRIYA})
    assert output == {"list_id": NEWSLETTER, "lead_id": PRIYA}
    assert calls(request_log) == [
        lists_get(SearchText="Newsletter"),
        ("GET", REMOVE, {"ListId": NEWSLETTER, "LeadID": PRIYA}),
    ]
    assert PRIYA not in members(sandbox)


def test_remove_of_a_non_member_by_email_succeeds(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    before = list(members(sandbox))
    output = invoke("remove_lead_from_list", {"list_id": NEWSLETTER,
                                              "lead_email": "kavya.iyer@example.com"})
    assert output == {"list_id": NEWSLETTER, "lead_id": KAVYA}
    assert request_log.operations() == [LISTS_GET, BY_EMAIL, REMOVE]
    assert members(sandbox) == before


# -- find --------------------------------------------------------------------------------

def test_find_by_name_returns_the_list(
    invoke: Invoke, request_log: Any, manifest: Manifest
) -> None:
    output = invoke("find_list", {"name": "Hot Leads"})
    assert output == manifest.action("find_list").sample_output
    assert calls(request_log) == [lists_get(SearchText="Hot Leads")]


@pytest.mark.parametrize(
    ("list_type", "code", "found"),
    [("static", "0", True), ("dynamic", "1", False), ("refreshable", "2", False)],
)
def test_find_of_one_type_sends_its_list_type_code(
    invoke: Invoke, request_log: Any, list_type: str, code: str, found: bool
) -> None:
    output = invoke("find_list", {"name": "newsletter", "list_type": list_type})
    assert output["found"] is found
    if found:
        assert (output["list"]["ListId"], output["list"]["MemberCount"]) == (NEWSLETTER, 3)
    assert calls(request_log) == [lists_get(ListType=code, SearchText="newsletter")]


def test_find_matches_the_whole_name_only(invoke: Invoke) -> None:
    assert invoke("find_list", {"name": "Leads"}) == {"found": False, "list": None}


def test_find_pages_until_the_exact_name(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    add_lists(sandbox, [f"Promo {n:03d}" for n in range(150)] + ["Promo"])
    output = invoke("find_list", {"name": "Promo"})
    assert output["list"]["ListName"] == "Promo"
    assert calls(request_log) == [lists_get(1, SearchText="Promo"),
                                  lists_get(2, SearchText="Promo")]


def test_find_stops_at_the_last_page_when_nothing_matches(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    add_lists(sandbox, [f"Promo {n:03d}" for n in range(150)])
    assert invoke("find_list", {"name": "Promo"})["found"] is False
    assert [q["PageIndex"] for _, _, q in calls(request_log)] == ["1", "2", "3"]


def test_find_fails_when_asked_naming_close_names(invoke: Invoke) -> None:
    with pytest.raises(RecordNotFoundError) as raised:
        invoke("find_list", {"name": "Hot Lead", "list_type": "dynamic",
                             "fail_if_not_found": True})
    assert str(raised.value).startswith(
        "no list with name 'Hot Lead' of type dynamic (close names: Hot Leads)")


@pytest.mark.parametrize(
    ("inputs", "named"),
    [({}, "name"), ({"name": ""}, "$.name"), ({"name": "A", "list_type": "Static"},
                                              "$.list_type"),
     ({"name": "A", "fail_if_not_found": 1}, "$.fail_if_not_found")],
    ids=["no-name", "blank-name", "unknown-type", "flag-not-boolean"],
)
def test_find_rejects_bad_input_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("find_list", inputs))


def test_find_reads_a_message_wrapper_and_stops_when_pages_repeat(manifest: Manifest) -> None:
    """UNKNOWN in the reference: a {Message: [...]} answer; and PageIndex being ignored."""
    row = {"ListId": NEWSLETTER, "ListName": "Newsletter", "ListDescription": None,
           "ListType": "Static", "MemberCount": "3"}
    fake = FakeLeadSquared()
    fake.add("GET", LISTS_GET, ok({"Message": [row]}), repeat=True)
    lsq = LeadSquaredClient(fake_connection(), session=fake.session())
    with fake, lsq:
        assert invoke_action(manifest, "find_list", {"name": "Other"}, lsq)["found"] is False
        found = invoke_action(manifest, "find_list", {"name": "Newsletter"}, lsq)
    assert [call.params["PageIndex"] for call in fake.calls] == ["1", "2", "1"]
    assert found["list"] == {**row, "ListType": "static", "MemberCount": 3}


def test_the_manifest_names_the_endpoints_the_handlers_call(manifest: Manifest) -> None:
    assert {key: manifest.action(key).endpoint for key in KEYS} == {
        "create_list": f"POST {CREATE}",
        "add_lead_to_list": f"POST {ADD}",
        "remove_lead_from_list": f"GET {REMOVE}",
        "find_list": f"GET {LISTS_GET}",
    }
