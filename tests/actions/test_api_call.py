"""api_call: any v2 operation through the connection's client, and what a caller-given path may
never do: reach another host (crafted paths, then any text), resend a write after an ambiguous
failure (GET or POST), or show the keys (in its output, errors or logs)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from operations import api_call
from runtime.api.client import LeadSquaredClient
from runtime.errors import (
    AmbiguousWriteError,
    ConnectorError,
    InputValidationError,
    NotFoundError,
    PermanentApiError,
)
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, FaultPlan, RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.fakes import (
    ACCESS_KEY,
    API_HOST,
    SECRET_KEY,
    FakeClock,
    FakeLeadSquared,
    fake_connection,
    mx_error,
    ok,
)
from tests.seed_ids import PRIYA

#: Paths that try to leave https://{host}/v2/: schemes, hosts, userinfo, ports, dot segments,
#: encodings, backslashes, queries, fragments, whitespace and control characters.
CRAFTED = [
    "https://evil.example.com/v2/LeadManagement.svc/Leads.Get",
    "http://127.0.0.1:8080/LeadManagement.svc/Leads.Get",
    "//evil.example.com/LeadManagement.svc/Leads.Get",
    "evil.example.com/LeadManagement.svc/Leads.Get",
    "@evil.example.com/LeadManagement.svc/Leads.Get",
    "LeadManagement.svc@evil.example.com/Leads.Get",
    "LeadManagement.svc:443/Leads.Get",
    "LeadManagement.svc/../../evil",
    "LeadManagement.svc/Leads.Get/../../../x",
    "LeadManagement.svc/./Leads.Get",
    "LeadManagement.svc/..",
    "LeadManagement.svc/a..b",
    "LeadManagement.svc/.hidden",
    "LeadManagement.svc/Leads.Get.",
    "LeadManagement.svc%2FLeads.Get",
    "LeadManagement.svc/..%2F..%2Fevil",
    "LeadManagement.svc/%2e%2e/evil",
    "LeadManagement.svc\\..\\evil",
    "LeadManagement.svc/Leads.Get?accessKey=x",
    "LeadManagement.svc/Leads.Get#x",
    "LeadManagement.svc/Leads.Get;x=1",
    " LeadManagement.svc/Leads.Get",
    "LeadManagement.svc/Leads.Get\n",
    "LeadManagement.svc/Leads.Get\r\nHost: evil.example.com",
    "LeadManagement.svc/Leads.Get\x00",
    "/LeadManagement.svc/Leads.Get",
    "v2/LeadManagement.svc/Leads.Get",
    "LeadManagement.svc/",
    "LeadManagement.svc",
    "LeadManagement.svc//Leads.Get",
    "LeadManagement.svc/Leads Get",
    "\uff2ceadManagement.svc/Leads.Get",  # a fullwidth L
    "LeadManagement.svc/Leads.Gét",
    "leadmanagement.svc/../evil",
    "",
]


def test_the_schema_and_the_handler_check_one_rule(manifest: Manifest) -> None:
    path = manifest.action("api_call").input_schema["properties"]["path"]
    assert path["pattern"] == api_call.API_PATH.pattern


@pytest.mark.parametrize("path", CRAFTED)
def test_a_crafted_path_is_refused_before_any_request(path: str, refused: Refused) -> None:
    assert "$.path" in str(refused("api_call", {"path": path}))
    # The handler refuses it too, whoever calls it (no schema in front).
    fake = FakeLeadSquared()
    with fake, LeadSquaredClient(fake_connection(), session=fake.session()) as client, \
            pytest.raises(InputValidationError, match="path: "):
        api_call.run(client, {"path": path, "method": "GET"})
    assert fake.calls == []


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_path_either_is_refused_or_stays_on_the_connection_host(path: str) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", path, ok([]), repeat=True)
    with LeadSquaredClient(fake_connection(), session=fake.session()) as client:
        try:
            output = api_call.run(client, {"path": path, "method": "GET"})
        except InputValidationError:
            assert fake.calls == []
            return
        except ConnectorError:
            return  # e.g. the fake has no route for what the path became: nothing else reached
    [call] = fake.calls
    url = urlsplit(call.url)
    assert (url.scheme, url.netloc, url.path) == ("https", API_HOST, f"/v2/{path}")
    assert output["operation"] == path


@pytest.mark.parametrize("name", ["accessKey", "SECRETKEY", "secretkey"])
def test_keys_in_the_query_are_refused(name: str, refused: Refused) -> None:
    error = refused("api_call", {"path": "LeadManagement.svc/Leads.GetById",
                                 "query": {"id": PRIYA, name: "x"}})
    assert error.problems == [f"query.{name}: the connection's keys are sent in headers; "
                              "remove it"]


def test_a_read_returns_the_answer_as_json(invoke: Invoke, request_log: Any) -> None:
    output = invoke("api_call", {"path": "LeadManagement.svc/Leads.GetByEmailaddress",
                                 "query": {"emailaddress": "priya.sharma@example.com"}})
    assert (output["operation"], output["method"], output["read"]) == (
        "LeadManagement.svc/Leads.GetByEmailaddress", "GET", True)
    assert [lead["ProspectID"] for lead in output["response"]] == [PRIYA]
    [entry] = request_log.all()
    assert entry["query"] == {"emailaddress": "priya.sharma@example.com"}


def test_a_post_write_lands_once_and_is_not_resent_after_a_lost_answer(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    body = {"RelatedProspectId": PRIYA, "ActivityEvent": 203, "ActivityNote": "via api_call"}
    before = set(sandbox.app.state.tenants["41872"].lead_activities)
    sandbox.app.faults.configure(FaultPlan.parse("drop=1"))  # processed, then no answer
    with pytest.raises(AmbiguousWriteError) as raised:
        invoke("api_call", {"path": "ProspectActivity.svc/Create", "method": "POST",
                            "body": body})
    assert "may already exist" in str(raised.value)
    assert request_log.operations() == ["ProspectActivity.svc/Create"]
    landed = set(sandbox.app.state.tenants["41872"].lead_activities) - before
    assert len(landed) == 1


@contextmanager
def fake_client(fake: FakeLeadSquared) -> Iterator[tuple[LeadSquaredClient, FakeClock]]:
    clock = FakeClock()
    with LeadSquaredClient(fake_connection(), session=fake.session(), sleep=clock.sleep,
                           clock=clock) as client:
        yield client, clock


@pytest.mark.parametrize(
    ("method", "path", "read"),
    [
        ("GET", "LeadManagement.svc/Leads.GetById", True),
        ("POST", "LeadManagement.svc/Leads.Get", True),
        ("GET", "LeadManagement.svc/leads.getbyid", True),  # LeadSquared matches any case
        ("GET", "LeadManagement.svc/Lead/Delete/ById", False),  # deletes are GETs
        ("GET", "Task.svc/MarkComplete", False),
        ("POST", "LeadManagement.svc/Lead.Create", False),
        ("POST", "LeadManagement.svc/Leads.GetById", False),  # a read only by its method
    ],
)
def test_only_documented_reads_are_sent_again_after_a_lost_answer(
    manifest: Manifest, method: str, path: str, read: bool
) -> None:
    fake = FakeLeadSquared()
    lost = requests.exceptions.ReadTimeout("no answer")
    fake.add(method, path, lost, *([ok({"Status": "Success"})] if read else []))
    with fake, fake_client(fake) as (client, _):
        inputs = {"path": path, "method": method, **({"body": {}} if method == "POST" else {})}
        if read:
            output = invoke_action(manifest, "api_call", inputs, client)
        else:
            with pytest.raises(AmbiguousWriteError):
                invoke_action(manifest, "api_call", inputs, client)
            output = None
    assert len(fake.calls) == (2 if read else 1)
    if output is not None:
        assert (output["read"], output["response"]) == (True, {"Status": "Success"})


def test_a_write_refused_before_processing_is_sent_again(manifest: Manifest) -> None:
    # 429 and 503 mean LeadSquared did not process the call: the client may send it again.
    fake = FakeLeadSquared()
    fake.add("POST", "LeadManagement.svc/Lead.Create",
             mx_error("MXAPIRateLimitExceededException",
                      "API calls exceeded the limit of 25 in 5 second(s)", 429),
             ok({"Status": "Success", "Message": {"Id": PRIYA}}))
    with fake, fake_client(fake) as (client, clock):
        output = invoke_action(manifest, "api_call", {
            "path": "LeadManagement.svc/Lead.Create", "method": "POST",
            "body": [{"Attribute": "FirstName", "Value": "Ada"}]}, client)
    assert output["response"]["Message"]["Id"] == PRIYA
    assert (len(fake.calls), clock.sleeps) == (2, [5.0])


def test_the_keys_never_show_in_the_output_errors_or_logs(
    manifest: Manifest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = {"Echo": ACCESS_KEY, "Nested": [f"key={quote(SECRET_KEY, safe='')}"],
              ACCESS_KEY: SECRET_KEY}
    fake = FakeLeadSquared()
    fake.add("GET", "Authentication.svc/UserByAccessKey.Get", ok(echoed))
    fake.add("GET", "Webhook.svc/Delete", mx_error("MXInvalidEntityException",
                                                   f"no webhook for key {SECRET_KEY}"))
    with fake, fake_client(fake) as (client, _):
        output = invoke_action(manifest, "api_call",
                               {"path": "Authentication.svc/UserByAccessKey.Get"}, client)
        with pytest.raises(PermanentApiError) as raised:
            invoke_action(manifest, "api_call", {"path": "Webhook.svc/Delete",
                                                 "query": {"webhookId": "w1"}}, client)
    shown = json.dumps(output) + str(raised.value) + json.dumps(raised.value.to_dict())
    shown += caplog.text
    for secret in (ACCESS_KEY, SECRET_KEY, quote(SECRET_KEY, safe=""), quote(ACCESS_KEY)):
        assert secret not in shown
    assert output["response"] == {"Echo": "***", "Nested": ["key=***"], "***": "***"}
    for call in fake.calls:  # the keys went in headers, never in the URL
        assert call.headers["x-LSQ-AccessKey"] == ACCESS_KEY
        assert ACCESS_KEY not in call.url and quote(ACCESS_KEY, safe="") not in call.url


@pytest.mark.parametrize("inputs", [
    {"path": f"LeadManagement.svc/Leads.Get?accessKey={DEFAULT_ACCESS_KEY}"},
    {"path": "LeadManagement.svc/Leads.GetById", "query": {"id": DEFAULT_SECRET_KEY * 60}},
], ids=["key-in-the-path", "key-in-a-too-long-value"])
def test_a_key_pasted_into_the_input_is_masked_in_the_error(
    refused: Refused, inputs: dict[str, Any]
) -> None:
    error = refused("api_call", inputs)
    shown = str(error) + json.dumps(error.to_dict())
    assert "***" in shown
    for secret in (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, quote(DEFAULT_ACCESS_KEY, safe="")):
        assert secret not in shown


def test_errors_are_the_clients_and_name_the_operation(invoke: Invoke) -> None:
    with pytest.raises(NotFoundError) as missing:
        invoke("api_call", {"path": "LeadManagement.svc/Leads.GetNothing"})
    assert missing.value.operation == "LeadManagement.svc/Leads.GetNothing"
    with pytest.raises(PermanentApiError) as refused:
        invoke("api_call", {"path": "ProspectActivity.svc/Create", "method": "POST",
                            "body": {"RelatedProspectId": PRIYA, "ActivityEvent": 299}})
    assert refused.value.exception_type == "MXInvalidEntityException"


def test_calls_share_the_accounts_rate_budget_and_bulk_paths_use_the_bulk_one(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeLeadSquared()
    fake.add("GET", "UserManagement.svc/Users.Get", ok([]))
    fake.add("POST", "LeadManagement.svc/Lead/Bulk/CreateOrUpdate", ok([]))
    slots: list[bool] = []
    with fake, fake_client(fake) as (client, _):
        original = client.governor.slot

        def slot(*, bulk: bool = False) -> Any:
            slots.append(bulk)
            return original(bulk=bulk)

        monkeypatch.setattr(client.governor, "slot", slot)
        invoke_action(manifest, "api_call", {"path": "UserManagement.svc/Users.Get"}, client)
        invoke_action(manifest, "api_call", {"path": "LeadManagement.svc/Lead/Bulk/CreateOrUpdate",
                                             "method": "POST", "body": [[]]}, client)
    assert slots == [False, True]


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"path": "LeadManagement.svc/Leads.GetById", "body": {"id": 1}}, "body: remove it"),
        ({"path": "LeadManagement.svc/Leads.Get", "method": "POST", "body": "x" * (1 << 20)},
         "body: 1048578 bytes of JSON"),
        ({"path": "LeadManagement.svc/Leads.GetById", "method": "PUT"}, "$.method"),
        ({"path": "LeadManagement.svc/Leads.GetById", "query": {"id": {"a": 1}}}, "$.query.id"),
        ({"path": "LeadManagement.svc/Leads.GetById", "query": {"a b": 1}}, "$.query"),
    ],
    ids=["get-with-body", "body-too-large", "other-method", "nested-query", "bad-query-name"],
)
def test_bad_calls_are_refused_before_any_request(
    refused: Refused, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("api_call", inputs))
