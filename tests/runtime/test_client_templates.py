"""The client prepares each request from a per-endpoint template: every call is sent exactly as
requests itself would prepare it, and no call's query or body leaks into another."""

from __future__ import annotations

import random

import pytest
import requests

from runtime.api import client as client_module
from runtime.api.client import LeadSquaredClient
from runtime.api.governor import RateGovernor
from tests.fakes import FakeClock, FakeLeadSquared, fake_connection, ok

UPDATE = "LeadManagement.svc/Lead.Update"
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"
ROOT = "https://api-in21.leadsquared.com/v2/"


def make_client(fake: FakeLeadSquared) -> LeadSquaredClient:
    clock = FakeClock()
    return LeadSquaredClient(
        fake_connection(), session=fake.session(),
        governor=RateGovernor(1000, 1000, clock=clock, sleep=clock.sleep),
        sleep=clock.sleep, clock=clock, rng=random.Random(7),
    )


# (method, operation, params, body, the URL sent, the body sent)
CALLS = [
    ("GET", BY_EMAIL, {"emailaddress": "a+b@example.com"}, None,
     f"{ROOT}{BY_EMAIL}?emailaddress=a%2Bb%40example.com", None),
    ("GET", BY_EMAIL, {"emailaddress": "zoë@example.com"}, None,
     f"{ROOT}{BY_EMAIL}?emailaddress=zo%C3%AB%40example.com", None),
    ("GET", BY_EMAIL, None, None, f"{ROOT}{BY_EMAIL}", None),
    ("POST", UPDATE, {"leadId": "p-1"}, [{"Attribute": "FirstName", "Value": "Zoë"}],
     f"{ROOT}{UPDATE}?leadId=p-1", '[{"Attribute":"FirstName","Value":"Zoë"}]'.encode()),
    ("POST", UPDATE, {"leadId": "p-2"}, None, f"{ROOT}{UPDATE}?leadId=p-2", None),
    ("POST", UPDATE, {"leadId": "p-3"}, [], f"{ROOT}{UPDATE}?leadId=p-3", b"[]"),
]


def test_each_call_is_sent_as_requests_prepares_it() -> None:
    fake = FakeLeadSquared()
    for method, operation, *_ in CALLS:
        fake.add(method, operation, ok({"Status": "Success"}))
    with fake:
        client = make_client(fake)
        for method, operation, params, body, _, _ in CALLS:
            if method == "GET":
                client.get(operation, params)
            else:
                client.post(operation, body, params=params)
    assert len(fake.calls) == len(CALLS)
    for call, (method, _, _, _, url, payload) in zip(fake.calls, CALLS, strict=True):
        expected = requests.Request(
            method, url, data=payload,
            headers={**requests.Session().headers, **{
                k: v for k, v in call.headers.items() if k.startswith("x-LSQ")
                or k in ("Accept", "Content-Type", "User-Agent")}},
        ).prepare()
        assert call.url == url
        assert call.request.body == expected.body
        assert dict(call.headers) == dict(expected.headers)
        if method == "POST":
            assert call.headers["Content-Length"] == str(len(payload or b""))
        else:
            assert "Content-Length" not in call.headers


def test_templates_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_TEMPLATES", 3)
    fake = FakeLeadSquared()
    operations = [f"LeadManagement.svc/Op{number}" for number in range(7)]
    for operation in operations:
        fake.add("GET", operation, ok([]))
    with fake:
        client = make_client(fake)
        for operation in operations:
            client.get(operation)
            assert len(client._templates) <= 3
    assert [call.operation for call in fake.calls] == operations
