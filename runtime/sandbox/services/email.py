"""EmailMarketing.svc/SendEmailToLead: one email to an existing lead (reference §10.1).

Nothing is delivered: every accepted email is appended to ``tenant.outbox`` (read by tests
through ``GET /_sandbox/outbox``). Templates (``EmailType: Template``) and email categories
come from the seed (``email_templates``, ``email_categories``); template text may use
LeadSquared's mail-merge fields, ``@{Lead:FirstName,Default}``.
"""

from __future__ import annotations

import re
from typing import Any

from runtime.sandbox.errors import LsqError, invalid_data, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.leads import find_lead, lead_time, parse_time
from runtime.sandbox.services.leads_query import require_object
from runtime.sandbox.state import Tenant, new_id

router = Router()

INVALID_SENDER = "Invalid Sender details."  # CONFIRMED text (live code, reference §10.1)
SENDER_TYPES = ("UserId", "UserEmailAddress", "APICaller", "LeadOwner")
# RecipientType -> lead attribute. "LeadEmailAddress" is documented; "LeadId" is LIKELY
# (the docs list more values, cut off in the stored excerpt). A tenant's settings may narrow
# them (``email_recipient_types: [LeadEmailAddress]``) to emulate an account without "LeadId".
RECIPIENT_TYPES = {"LeadEmailAddress": "EmailAddress", "LeadId": "ProspectID"}
EMAIL_TYPES = ("Html", "Template")
MERGE_FIELD = re.compile(r"@\{Lead:(?P<name>[A-Za-z0-9_]+),(?P<default>[^}]*)\}")


def _active_user(tenant: Tenant, *, user_id: str | None = None, email: str | None = None):
    for user in tenant.users.values():
        if int(user.get("StatusCode", 0) or 0) != 0:
            continue
        if user_id and str(user["ID"]).lower() == user_id.strip().lower():
            return user
        if email and str(user.get("EmailAddress", "")).lower() == email.strip().lower():
            return user
    return None


def _sender(request: SandboxRequest, body: dict[str, Any], lead: dict[str, Any]):
    kind, sender = body.get("SenderType"), str(body.get("Sender") or "")
    tenant = request.tenant
    user = {
        "UserId": lambda: _active_user(tenant, user_id=sender) if sender else None,
        "UserEmailAddress": lambda: _active_user(tenant, email=sender) if sender else None,
        "APICaller": lambda: _active_user(tenant, user_id=request.user_id),
        "LeadOwner": lambda: _active_user(tenant, user_id=lead.get("OwnerId") or ""),
    }.get(str(kind), lambda: None)()
    if user is None:
        raise mandatory_missing(INVALID_SENDER)
    return user


def _recipient(request: SandboxRequest, body: dict[str, Any]) -> dict[str, Any]:
    kind = str(body.get("RecipientType") or "")
    recipient = str(body.get("Recipient") or "")
    accepted = request.tenant.settings.get("email_recipient_types") or list(RECIPIENT_TYPES)
    if kind not in RECIPIENT_TYPES or kind not in accepted:
        # UNKNOWN in the reference: the error for an unsupported RecipientType; chosen here.
        raise invalid_data(f"Invalid RecipientType: {kind or 'none'}")
    lead = find_lead(request.tenant, RECIPIENT_TYPES[kind], recipient) if recipient else None
    if lead is None:
        # The message start is CONFIRMED; the exception type is UNKNOWN (chosen here).
        raise LsqError(
            "MXInvalidEntityException",
            f"No lead found with RecipientType: {kind} and Recipient: {recipient}",
        )
    return lead


def _merge(text: str | None, lead: dict[str, Any]) -> str | None:
    if text is None:
        return None
    return MERGE_FIELD.sub(lambda m: str(lead.get(m["name"]) or m["default"]), text)


Content = tuple[str | None, str, str | None, str | None]


def _content(tenant: Tenant, body: dict[str, Any]) -> Content:
    """(template name, subject, HTML, text) of the email."""
    kind = body.get("EmailType")
    if kind not in EMAIL_TYPES:
        raise invalid_data(f"Invalid EmailType: {kind}; use Html or Template")
    if kind == "Template":
        name = str(body.get("EmailLibraryName") or "").strip()
        if not name:
            raise mandatory_missing("'EmailLibraryName' is mandatory when EmailType is Template")
        template = tenant.email_templates.get(name)
        if template is None:
            # UNKNOWN in the reference: the error for an unknown template; chosen here.
            raise LsqError("MXInvalidEntityException", f"Email template '{name}' does not exist")
        subject = body.get("Subject") or template["Subject"]
        return name, str(subject), template.get("ContentHTML"), template.get("ContentText")
    if not body.get("Subject"):
        raise mandatory_missing("'Subject' is mandatory")
    if not body.get("ContentHTML") and not body.get("ContentText"):
        raise mandatory_missing("'ContentHTML' is mandatory when EmailType is Html")
    return None, str(body["Subject"]), body.get("ContentHTML"), body.get("ContentText")


def _category(tenant: Tenant, body: dict[str, Any]) -> str | None:
    category = str(body.get("EmailCategory") or "").strip()
    if category and category not in tenant.email_categories:
        # CONFIRMED: an unknown category is HTTP 500; the body is UNKNOWN (an MX error here).
        raise LsqError("MXInvalidEntityException", f"Email category '{category}' does not exist")
    return category or None


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in {"true", "1"}


@router.route("EmailMarketing.svc/SendEmailToLead", "POST")
def send_email_to_lead(request: SandboxRequest) -> dict[str, Any]:
    """Validate sender, recipient, content, category and schedule; record in the outbox."""
    body = require_object(request.body, "SendEmailToLead")
    tenant = request.tenant
    if body.get("SenderType") not in SENDER_TYPES:
        raise mandatory_missing(INVALID_SENDER)
    lead = _recipient(request, body)
    sender = _sender(request, body, lead)
    template, subject, html, text = _content(tenant, body)
    category = _category(tenant, body)
    cc = str(body.get("CCEmailAddress") or "").strip() or None
    if cc and _active_user(tenant, email=cc) is None:
        # LIKELY: CC must be a LeadSquared user's email (the docs describe it so).
        raise invalid_data(f"Invalid CCEmailAddress: {cc}; it must be a LeadSquared user")
    schedule = str(body.get("Schedule") or "").strip() or None
    when = parse_time(schedule) if schedule else None
    if schedule and when is None:
        raise invalid_data("'Schedule' must be a UTC date 'yyyy-MM-dd HH:mm:ss'")
    now = request.now()
    email_id = new_id()
    tenant.outbox.append({
        "Id": email_id,
        "Time": lead_time(now),
        "LeadId": lead["ProspectID"],
        "To": lead["EmailAddress"],
        "RecipientType": body["RecipientType"],
        "SenderType": body["SenderType"],
        "SenderUserId": sender["ID"],
        "SenderEmailAddress": sender.get("EmailAddress"),
        "CCEmailAddress": cc,
        "EmailType": body["EmailType"],
        "Template": template,
        "Subject": _merge(subject, lead),
        "ContentHTML": _merge(html, lead),
        "ContentText": _merge(text, lead),
        "EmailCategory": category,
        # UNKNOWN in the reference: the footer default when omitted; chosen: included.
        "IncludeEmailFooter": _flag(body.get("IncludeEmailFooter"), True),
        "Schedule": schedule,
        "Status": "Scheduled" if when and when > now.replace(tzinfo=None) else "Sent",
    })
    # LIKELY: the SendCampaignToList shape, as production code types it (reference §10.1).
    return {"ID": email_id, "MemberCount": 1, "TotalRecipient": 1}


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Seed ``email_templates`` (``{Name, Subject, ContentHTML, ContentText}``) and
    ``email_categories`` (names)."""
    tenant.outbox = []
    tenant.email_templates = {
        str(t["Name"]): dict(t) for t in data.get("email_templates", []) or []
    }
    tenant.email_categories = [str(c) for c in data.get("email_categories", []) or []]
