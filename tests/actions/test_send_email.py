"""send_email against the sandbox: EmailMarketing.svc/SendEmailToLead (reference §10.1).

Each test asserts the exact request body, the validated output and the message the sandbox
recorded in its outbox (GET /_sandbox/outbox); error paths check that bad input and unknown
users fail before any send, that LeadSquared's errors are surfaced with a fitting hint, and
that a send is never repeated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from operations import _emails
from runtime.cli import main
from runtime.embedded import embedded_sandbox
from runtime.errors import (
    AmbiguousWriteError,
    InputValidationError,
    PermanentApiError,
    RecordNotFoundError,
)
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke, Refused
from tests.seed_ids import ADMIN, ARJUN, MEERA, MISSING, PRIYA, RAVI

SEND = "EmailMarketing.svc/SendEmailToLead"
USERS = "UserManagement.svc/Users.Get"
BY_ID = "LeadManagement.svc/Leads.GetById"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WELCOME = {"lead_email": "priya.sharma@example.com", "template": "Welcome Email"}
HTML = {"lead_id": ARJUN, "subject": "Your receipt, @{Lead:FirstName,there}",
        "html": "<p>Thanks, @{Lead:FirstName,there}.</p>"}
ACTIVE_USERS = "asha.admin@example.com, meera.sales@example.com, ravi.sales@example.com"


def outbox(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    answer = requests.get(f"{sandbox.base_url}/_sandbox/outbox", params={"tenant": "41872"},
                          timeout=5)
    return answer.json()["emails"]


# -- what is sent ----------------------------------------------------------------------

def test_template_from_the_lead_owner_as_marketing_by_default(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    output = invoke("send_email", {**WELCOME, "sender": "lead_owner"})
    assert request_log.operations() == [SEND]  # the exact body: tests/contract
    [sent] = outbox(sandbox)
    assert output == {"email_id": sent["Id"], "recipients": 1}
    assert {k: sent[k] for k in ("LeadId", "To", "SenderUserId", "Template", "Subject",
                                 "EmailCategory", "IncludeEmailFooter", "Status")} == {
        "LeadId": PRIYA,
        "To": "priya.sharma@example.com",
        "SenderUserId": RAVI,
        "Template": "Welcome Email",
        "Subject": "Welcome to Acme Realty, Priya!",
        "EmailCategory": None,
        "IncludeEmailFooter": True,
        "Status": "Sent",
    }


def test_html_by_lead_id_from_a_user_email_transactional_with_cc_and_schedule(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    sandbox.app.state.clock.set(datetime.fromisoformat("2025-05-31T00:00:00+00:00"),
                                freeze=True)
    output = invoke("send_email", {
        **HTML, "text": "Thanks.", "sender": "Ravi.Sales@example.com",
        "cc": "asha.admin@example.com", "kind": "transactional",
        "schedule": "2025-06-01T14:30:00+05:30",
    })
    # One cached users lookup for sender and cc; the lead's email by its id: RecipientType
    # LeadEmailAddress is documented, "LeadId" only LIKELY (reference §10.1).
    assert request_log.operations() == [USERS, BY_ID, SEND]
    assert request_log.last(BY_ID)["query"] == {"id": ARJUN}
    assert request_log.last(SEND)["body"] == {
        "SenderType": "UserEmailAddress",
        "Sender": "Ravi.Sales@example.com",
        "RecipientType": "LeadEmailAddress",
        "Recipient": "arjun.mehta@example.com",
        "CCEmailAddress": "asha.admin@example.com",
        "EmailType": "Html",
        "ContentHTML": "<p>Thanks, @{Lead:FirstName,there}.</p>",
        "ContentText": "Thanks.",
        "Subject": "Your receipt, @{Lead:FirstName,there}",
        "IncludeEmailFooter": False,
        "Schedule": "2025-06-01 09:00:00",
    }
    [sent] = outbox(sandbox)
    assert output == {"email_id": sent["Id"], "recipients": 1}
    assert (sent["To"], sent["SenderUserId"], sent["CCEmailAddress"]) == (
        "arjun.mehta@example.com", RAVI, "asha.admin@example.com")
    assert (sent["Subject"], sent["ContentHTML"]) == (
        "Your receipt, Arjun", "<p>Thanks, Arjun.</p>")
    assert (sent["IncludeEmailFooter"], sent["EmailCategory"]) == (False, None)
    assert (sent["Schedule"], sent["Status"]) == ("2025-06-01 09:00:00", "Scheduled")


@pytest.mark.parametrize(
    ("sender", "sender_type", "sender_value", "sent_by"),
    [
        (None, "APICaller", "", ADMIN),
        ("api_caller", "APICaller", "", ADMIN),
        (MEERA, "UserId", MEERA, MEERA),
        ("meera.sales@example.com", "UserEmailAddress", "meera.sales@example.com", MEERA),
    ],
    ids=["default", "api-caller", "user-id", "user-email"],
)
def test_sender_types(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox,
    sender: str | None, sender_type: str, sender_value: str, sent_by: str,
) -> None:
    inputs = {**WELCOME} if sender is None else {**WELCOME, "sender": sender}
    invoke("send_email", inputs)
    body = request_log.last(SEND)["body"]
    assert (body["SenderType"], body["Sender"]) == (sender_type, sender_value)
    assert outbox(sandbox)[0]["SenderUserId"] == sent_by


def test_a_category_is_sent_as_given_and_subject_overrides_the_template(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    invoke("send_email", {**WELCOME, "category": "Acme Realty Digest", "subject": "Hello"})
    body = request_log.last(SEND)["body"]
    assert (body["EmailCategory"], body["IncludeEmailFooter"], body["Subject"]) == (
        "Acme Realty Digest", True, "Hello")
    assert (outbox(sandbox)[0]["Subject"], outbox(sandbox)[0]["EmailCategory"]) == (
        "Hello", "Acme Realty Digest")


@pytest.mark.parametrize("kind", ["marketing", "transactional"])
def test_no_category_is_sent_unless_given(
    invoke: Invoke, request_log: Any, kind: str
) -> None:
    # Categories are the account's own names; an unknown one is HTTP 500 (reference §10.1).
    invoke("send_email", {**WELCOME, "kind": kind})
    assert "EmailCategory" not in request_log.last(SEND)["body"]


def test_a_lead_given_by_id_must_exist_and_have_an_email(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    with pytest.raises(RecordNotFoundError, match=f"no lead with id {MISSING}"):
        invoke("send_email", {**HTML, "lead_id": MISSING})
    sandbox.app.state.tenants["41872"].leads[ARJUN]["EmailAddress"] = None
    with pytest.raises(RecordNotFoundError, match=f"lead {ARJUN} has no email address"):
        invoke("send_email", HTML)
    assert request_log.operations() == [BY_ID, BY_ID]
    assert outbox(sandbox) == []


# -- bad input, before any request -----------------------------------------------------

@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"template": "Welcome Email"}, "lead_email"),
        ({**WELCOME, "lead_id": PRIYA}, "$"),
        ({"lead_email": "priya.sharma@example.com"}, "html"),
        ({"lead_email": "priya.sharma@example.com", "html": "<p>Hi</p>"}, "subject"),
        ({**WELCOME, "html": "<p>Hi</p>", "subject": "Hi"}, "$"),
        ({**WELCOME, "lead_email": "priya.sharma"}, "$.lead_email"),
        ({**WELCOME, "sender": "owner"}, "$.sender"),
        ({**WELCOME, "cc": "asha"}, "$.cc"),
        ({**WELCOME, "kind": "promotional"}, "$.kind"),
        ({**WELCOME, "schedule": "next monday"}, "$.schedule"),
        ({**WELCOME, "template": " "}, "$.template"),
        ({**WELCOME, "footer": False}, "footer"),
    ],
    ids=["no-recipient", "two-recipients", "no-content", "html-without-subject",
         "html-and-template", "bad-email", "unknown-sender-keyword", "bad-cc", "unknown-kind",
         "bad-schedule", "blank-template", "unknown-option"],
)
def test_bad_input_is_rejected_before_any_request(
    refused: Refused, sandbox: RunningSandbox, inputs: dict[str, Any], named: str
) -> None:
    assert named in str(refused("send_email", inputs))
    assert outbox(sandbox) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("sender", "nobody@example.com"), ("sender", "00000000-0000-4000-8000-000000000000"),
     ("cc", "partner@example.org")],
    ids=["sender-email", "sender-id", "cc"],
)
def test_unknown_users_are_rejected_before_sending(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, option: str, value: str
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("send_email", {**WELCOME, option: value})
    assert raised.value.problems == [
        f"{option}: '{value}' is not a user of this account; active users: {ACTIVE_USERS}"]
    assert request_log.operations() == [USERS]
    assert outbox(sandbox) == []


# -- LeadSquared's errors --------------------------------------------------------------

@pytest.mark.parametrize(
    ("inputs", "exception_type", "message", "hint"),
    [
        ({**WELCOME, "lead_email": "nobody@example.com"}, "MXInvalidEntityException",
         "No lead found with RecipientType: LeadEmailAddress and Recipient: nobody@example.com",
         "emails go only to existing leads"),
        ({**WELCOME, "template": "Welcome"}, "MXInvalidEntityException",
         "Email template 'Welcome' does not exist", "Email Library template"),
        ({**WELCOME, "category": "Promotions"}, "MXInvalidEntityException",
         "Email category 'Promotions' does not exist", "email categories"),
    ],
    ids=["no-lead-with-email", "unknown-template", "unknown-category"],
)
def test_leadsquared_errors_are_surfaced_with_a_hint_and_not_retried(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox,
    inputs: dict[str, Any], exception_type: str, message: str, hint: str,
) -> None:
    inputs = {name: value for name, value in inputs.items() if value is not None}
    with pytest.raises(PermanentApiError) as raised:
        invoke("send_email", inputs)
    error = raised.value
    assert (error.operation, error.status, error.exception_type, error.message) == (
        SEND, 500, exception_type, message)
    assert hint in (error.hint or "")
    assert request_log.operations() == [SEND]
    assert outbox(sandbox) == []


@pytest.fixture
def inactive_owner(sandbox: RunningSandbox) -> Iterator[str]:
    """A lead owned by an inactive user (the seed is restored afterwards)."""
    original = sandbox.app.seed
    seed = copy.deepcopy(original)
    tenant = seed["tenants"]["41872"]
    left = {"ID": "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e09", "FirstName": "Lena",
            "LastName": "Left", "EmailAddress": "lena.left@example.com",
            "Role": "Sales_User", "StatusCode": 1}
    tenant["users"].append(left)
    tenant["leads"].append({**tenant["leads"][0], "ProspectID": "5b0a1e2c-7d3f-4c8e-a1b2-"
                            "000000000299", "ProspectAutoId": 99, "Phone": None,
                            "EmailAddress": "orphan@example.com", "OwnerId": left["ID"]})
    sandbox.app.reset(seed)
    try:
        yield "orphan@example.com"
    finally:
        sandbox.app.reset(original)


def test_invalid_sender_details_when_the_lead_owner_is_inactive(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, inactive_owner: str
) -> None:
    with pytest.raises(PermanentApiError) as raised:
        invoke("send_email", {"lead_email": inactive_owner, "template": "Welcome Email",
                              "sender": "lead_owner"})
    error = raised.value
    assert (error.exception_type, error.message) == (
        "MXMandatoryAttributeMissingException", "Invalid Sender details.")
    assert "lead's owner must be an active user" in (error.hint or "")
    assert request_log.operations() == [SEND]
    assert outbox(sandbox) == []


def test_inactive_users_are_not_accepted_as_senders(
    invoke: Invoke, request_log: Any, inactive_owner: str
) -> None:
    with pytest.raises(InputValidationError) as raised:
        invoke("send_email", {**WELCOME, "sender": "lena.left@example.com"})
    assert "is an inactive user" in str(raised.value)
    assert request_log.operations() == [USERS]


def test_a_send_is_never_repeated_after_an_ambiguous_failure(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox
) -> None:
    sandbox.app.faults.configure(type(sandbox.app.faults.plan).parse("500=1"))
    with pytest.raises(AmbiguousWriteError):
        invoke("send_email", WELCOME)
    assert request_log.operations() == [SEND]


def test_the_manifest_names_the_endpoint_the_handler_calls(manifest: Manifest) -> None:
    assert manifest.action("send_email").endpoint == f"POST {_emails.SEND}"


# -- lsq invoke action send_email -i <sample_input> ------------------------------------

def test_cli_invokes_the_sample_input_on_the_embedded_sandbox(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    running = embedded_sandbox()
    running.app.reset()
    action = manifest.action("send_email")
    argv = ["invoke", "action", "send_email", "-i", json.dumps(action.sample_input), "--json"]
    assert main(argv) == 0
    output = json.loads(capsys.readouterr().out)
    assert action.output_problems(output) == []
    [sent] = running.app.state.tenants["41872"].outbox
    assert output == {"email_id": sent["Id"], "recipients": 1}
    assert sent["Subject"] == "Welcome to Acme Realty, Priya!"
