"""Request building for send_email: EmailMarketing.svc/SendEmailToLead (reference §10.1).

Tables, not if-ladders: how the recipient, the sender and the content map to LeadSquared's
RecipientType / SenderType / EmailType, and what "transactional" and "marketing" mean. Nothing
that depends on the account's own set-up (email categories) is sent unless the input gives it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import format_datetime
from runtime.errors import PermanentApiError, RecordNotFoundError

from . import _leads

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

SEND = "EmailMarketing.svc/SendEmailToLead"
#: The RecipientType sent: LeadEmailAddress is documented (reference §10.1). A lead given by
#: id is looked up to its email address first (Leads.GetById) rather than sent as
#: RecipientType "LeadId", which is only LIKELY: this works whether or not an account accepts it.
RECIPIENT_TYPE = "LeadEmailAddress"
#: sender keywords -> SenderType (Sender is sent empty for them, as documented).
SENDER_KEYWORDS = {"api_caller": "APICaller", "lead_owner": "LeadOwner"}
#: Email kind -> IncludeEmailFooter (the unsubscribe footer). The public API has one call for
#: both kinds; EmailCategory and IncludeEmailFooter are the switches (reference §10.1).
#: EmailCategory is sent only when the input names one: categories are an account's own
#: names, and an unknown one is refused with HTTP 500 (§10.1, §15), so none is guessed.
FOOTER = {"transactional": False, "marketing": True}

#: Better hints for SendEmailToLead's errors, by message (their MX types are generic).
ERROR_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Invalid Sender details", re.I),
     "the sender must be an active user of this account; with sender lead_owner, the lead's "
     "owner must be an active user"),
    (re.compile(r"No lead found with RecipientType", re.I),
     "emails go only to existing leads; check lead_email / lead_id or create the lead first"),
    (re.compile(r"category", re.I),
     "set category to one of this account's email categories (Settings > Email Categories)"),
    (re.compile(r"template", re.I),
     "set template to the exact name of an Email Library template of this account"),
    (re.compile(r"CCEmailAddress", re.I), "cc must be the email address of a LeadSquared user"),
)


def send_body(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The SendEmailToLead body; the sender and CC are checked against the users first."""
    sender = str(inputs["sender"])
    if sender in SENDER_KEYWORDS:
        sender_type, sender_value = SENDER_KEYWORDS[sender], ""
    else:
        client.metadata.resolve_user(sender, location="sender")
        sender_type = "UserEmailAddress" if "@" in sender else "UserId"
        sender_value = sender
    body: dict[str, Any] = {
        "SenderType": sender_type,
        "Sender": sender_value,
        "RecipientType": RECIPIENT_TYPE,
        "Recipient": recipient_email(client, inputs),
    }
    if "cc" in inputs:
        client.metadata.resolve_user(inputs["cc"], location="cc")
        body["CCEmailAddress"] = inputs["cc"]
    body.update(_content(inputs))
    body["IncludeEmailFooter"] = FOOTER[inputs["kind"]]
    if inputs.get("category"):
        body["EmailCategory"] = inputs["category"]
    if "schedule" in inputs:
        body["Schedule"] = format_datetime(inputs["schedule"])
    return body


def recipient_email(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> str:
    """The lead's email address: ``lead_email``, or the email of the lead ``lead_id`` names."""
    if "lead_email" in inputs:
        return str(inputs["lead_email"])
    lead_id = str(inputs["lead_id"])
    leads = _leads.by_id(client, lead_id)
    if not leads:
        raise RecordNotFoundError(f"no lead with id {lead_id}",
                                  hint="emails go only to existing leads; check lead_id")
    email = str(leads[0].get("EmailAddress") or "").strip()
    if not email:
        raise RecordNotFoundError(f"lead {lead_id} has no email address",
                                  hint="emails go only to leads with an email address")
    return email


def _content(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """EmailType with the template name, or the HTML (and text) content; the subject."""
    if "template" in inputs:
        content = {"EmailType": "Template", "EmailLibraryName": inputs["template"]}
    else:
        content = {"EmailType": "Html", "ContentHTML": inputs["html"]}
        if "text" in inputs:
            content["ContentText"] = inputs["text"]
    if "subject" in inputs:
        content["Subject"] = inputs["subject"]
    return content


def sent_output(answer: Any) -> dict[str, Any]:
    """``{email_id, recipients}`` from the answer, tolerant of its shape.

    LIKELY (reference §10.1): SendCampaignToList's ``{"ID", "MemberCount", "TotalRecipient"}``.
    The email is already accepted here, so a missing value is ``null`` rather than an error that
    would invite a resend.
    """
    answer = answer if isinstance(answer, Mapping) else {}
    message = answer.get("Message") if isinstance(answer.get("Message"), Mapping) else {}
    email_id = answer.get("ID") or answer.get("Id") or message.get("Id")
    recipients = answer.get("TotalRecipient")
    return {
        "email_id": str(email_id) if email_id else None,
        "recipients": int(recipients) if str(recipients).isdigit() else None,
    }


def explained(error: PermanentApiError) -> PermanentApiError:
    """The same error with a hint that fits SendEmailToLead, when one is known."""
    hint = next((h for p, h in ERROR_HINTS if p.search(error.message)), None)
    if hint is None:
        return error
    return type(error)(
        error.message, operation=error.operation, status=error.status,
        exception_type=error.exception_type, hint=hint,
    )
