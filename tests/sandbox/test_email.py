"""Contract: EmailMarketing.svc/SendEmailToLead and the outbox."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.seed_ids import ADMIN, PRIYA, RAVI

OP = "EmailMarketing.svc/SendEmailToLead"


def html_email(**overrides):
    body = {"SenderType": "UserId", "Sender": ADMIN, "RecipientType": "LeadEmailAddress",
            "Recipient": "priya.sharma@example.com", "EmailType": "Html",
            "Subject": "Your quote", "ContentHTML": "<p>Hello</p>", "EmailCategory": ""}
    body.update(overrides)
    return body


def outbox(raw_api):
    return raw_api.control("GET", "outbox")["emails"]


def test_html_email_is_accepted_and_recorded(raw_api, sandbox):
    sandbox.app.state.clock.set(datetime(2026, 5, 1, 9, 0, 0), freeze=True)
    response = raw_api.post(OP, html_email(CCEmailAddress="ravi.sales@example.com",
                                           EmailCategory="Acme Realty Service Notices",
                                           IncludeEmailFooter=False))
    assert response.status_code == 200
    body = response.json()
    assert body == {"ID": body["ID"], "MemberCount": 1, "TotalRecipient": 1}
    [sent] = outbox(raw_api)
    assert sent == {
        "Id": body["ID"], "Time": "2026-05-01 09:00:00.000", "LeadId": PRIYA,
        "To": "priya.sharma@example.com", "RecipientType": "LeadEmailAddress",
        "SenderType": "UserId", "SenderUserId": ADMIN,
        "SenderEmailAddress": "asha.admin@example.com",
        "CCEmailAddress": "ravi.sales@example.com", "EmailType": "Html", "Template": None,
        "Subject": "Your quote", "ContentHTML": "<p>Hello</p>", "ContentText": None,
        "EmailCategory": "Acme Realty Service Notices", "IncludeEmailFooter": False,
        "Schedule": None,
        "Status": "Sent",
    }


def test_template_email_merges_lead_fields(raw_api):
    body = html_email(EmailType="Template", EmailLibraryName="Welcome Email", Subject="",
                      ContentHTML="")
    assert raw_api.post(OP, body).status_code == 200
    [sent] = outbox(raw_api)
    assert sent["Subject"] == "Welcome to Acme Realty, Priya!"
    assert sent["ContentHTML"].startswith("<p>Hi Priya,</p>")
    assert sent["Template"] == "Welcome Email"


def test_lead_id_recipient_and_lead_owner_sender(raw_api):
    body = html_email(SenderType="LeadOwner", Sender="", RecipientType="LeadId", Recipient=PRIYA)
    assert raw_api.post(OP, body).status_code == 200
    [sent] = outbox(raw_api)
    assert (sent["LeadId"], sent["SenderUserId"]) == (PRIYA, RAVI)


@pytest.mark.parametrize(
    ("sender_type", "sender", "user"),
    [("UserEmailAddress", "RAVI.sales@example.com", RAVI), ("APICaller", "", ADMIN)],
)
def test_other_sender_types(raw_api, sender_type, sender, user):
    assert raw_api.post(OP, html_email(SenderType=sender_type, Sender=sender)).status_code == 200
    assert outbox(raw_api)[0]["SenderUserId"] == user


@pytest.mark.parametrize(
    "overrides",
    [{"Sender": "00000000-0000-0000-0000-000000000000"}, {"SenderType": "Robot"},
     {"SenderType": "UserEmailAddress", "Sender": "stranger@example.com"}],
    ids=["unknown-user", "unknown-type", "unknown-email"],
)
def test_invalid_sender(raw_api, overrides):
    response = raw_api.post(OP, html_email(**overrides))
    assert response.status_code == 500
    assert response.json() == {"Status": "Error",
                               "ExceptionType": "MXMandatoryAttributeMissingException",
                               "ExceptionMessage": "Invalid Sender details."}


def test_inactive_sender_is_invalid(raw_api, sandbox):
    sandbox.app.state.tenants["41872"].users[RAVI]["StatusCode"] = 1
    response = raw_api.post(OP, html_email(Sender=RAVI))
    assert response.json()["ExceptionMessage"] == "Invalid Sender details."


def test_no_lead_with_that_email(raw_api):
    response = raw_api.post(OP, html_email(Recipient="nobody@example.com"))
    assert response.status_code == 500
    assert response.json()["ExceptionMessage"].startswith(
        "No lead found with RecipientType: LeadEmailAddress")
    assert outbox(raw_api) == []


def test_unknown_category_is_500(raw_api):
    response = raw_api.post(OP, html_email(EmailCategory="Promotions"))
    assert response.status_code == 500
    assert response.json()["Status"] == "Error"


def test_unknown_template_and_missing_subject(raw_api):
    template = raw_api.post(OP, html_email(EmailType="Template", EmailLibraryName="Nope"))
    assert template.json()["ExceptionType"] == "MXInvalidEntityException"
    subject = raw_api.post(OP, html_email(Subject=""))
    assert subject.json()["ExceptionType"] == "MXMandatoryAttributeMissingException"


def test_future_schedule_is_recorded_as_scheduled(raw_api, sandbox):
    sandbox.app.state.clock.set(datetime(2026, 5, 1, 9, 0, 0), freeze=True)
    raw_api.post(OP, html_email(Schedule="2026-05-02 10:00:00"))
    [sent] = outbox(raw_api)
    assert (sent["Schedule"], sent["Status"]) == ("2026-05-02 10:00:00", "Scheduled")


def test_cc_must_be_a_user(raw_api):
    response = raw_api.post(OP, html_email(CCEmailAddress="friend@example.com"))
    assert response.json()["ExceptionType"] == "MXInvalidDataTypeException"
