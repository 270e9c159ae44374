"""Webhook.svc: registering webhooks through the API (reference §12).

``tenant.webhooks`` holds ``{WebhookId, EventCode (name), WebhookEvent (code), Event (the
sandbox record event), URL, Description, Method, ContentType, WebhookProperties (string),
CustomHeaders, NotifyOnFailure, OpportunityEvents, StatusCode, ConsecutiveFailures}`` by id.
Delivery lives in :mod:`runtime.sandbox.webhook_delivery`, which asks
:func:`matching_webhooks` which webhooks an event goes to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from runtime.sandbox.errors import LsqError, invalid_data, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.accounts import format_date, page_window
from runtime.sandbox.state import Tenant, new_id

router = Router()

# WebhookEvent code -> (event name that Retrieve shows, sandbox record event). The codes follow
# the LIVE mapping (reference §12.1: 28 task delete, 29-31 opportunity create/update/delete),
# not the docs' list; 2 (lead activity create) is in both. Names: Lead_Post_Update,
# LeadActivity_Post_Create and Opportunity_Post_* are CONFIRMED from Retrieve; UNKNOWN in the
# reference: the lead-create and task names, chosen alike.
EVENTS: dict[int, tuple[str, str]] = {
    2: ("LeadActivity_Post_Create", "lead_activity_create"),
    3: ("Lead_Post_Create", "lead_create"),
    6: ("Lead_Post_Update", "lead_update"),
    7: ("Task_Post_Create", "task_create"),
    17: ("Task_Post_Update", "task_update"),
    28: ("Task_Post_Delete", "task_delete"),
    29: ("Opportunity_Post_Create", "opportunity_create"),
    30: ("Opportunity_Post_Update", "opportunity_update"),
    31: ("Opportunity_Post_Delete", "opportunity_delete"),
}
OPPORTUNITY_CODES = {29, 30, 31}
LEAD_ACTIVITY_CODE, STAGE_CHANGE_CODE = 2, 5
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")
MAX_HEADERS = 10
MASK = "********"
NOT_JSON = "Webhook Properties is not a valid JSON"  # live text (reference §12.2)
RETRIEVE_FIELDS = ("WebhookId", "EventCode", "URL", "Description", "WebhookProperties",
                   "StatusCode")


def matching_webhooks(tenant: Tenant, event: str, payload: Any) -> list[dict[str, Any]]:
    """The tenant's enabled webhooks that ``event`` goes to (opportunities and lead activities:
    by type code; an activity payload is an array of items of one type)."""
    hooks = []
    for hook in tenant.webhooks.values():
        if hook["StatusCode"] != 0 or hook["Event"] != event:
            continue
        item = payload[0] if isinstance(payload, list) and payload else payload
        code = str(item.get("ActivityEvent")) if isinstance(item, Mapping) else None
        if hook["WebhookEvent"] in OPPORTUNITY_CODES and code not in hook["OpportunityEvents"]:
            continue
        if hook["WebhookEvent"] == LEAD_ACTIVITY_CODE and code != hook["ActivityEvent"]:
            continue
        hooks.append(hook)
    return hooks


def _event_code(body: Mapping[str, Any]) -> int:
    raw = body.get("WebhookEvent")
    if raw in (None, ""):
        raise mandatory_missing("WebhookEvent is mandatory")
    try:
        code = int(raw)
    except (TypeError, ValueError):
        raise invalid_data(f"WebhookEvent '{raw}' is not valid") from None
    if code == STAGE_CHANGE_CODE:
        raise invalid_data(NOT_JSON)  # live: stage-change webhooks can only be made in the UI
    if code == LEAD_ACTIVITY_CODE and not body.get("ActivityEvent"):
        raise invalid_data("You have not passed ActivityEvent.")
    if code not in EVENTS:
        # The sandbox serves the events it can deliver; live, 35 and 36 were "not found".
        raise invalid_entity(f"WebhookEvent '{code}' not found")
    return code


def _properties(body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    raw = body.get("WebhookProperties")
    if raw is not None and not isinstance(raw, str):
        # Live: an object (not a JSON-encoded string) fails deserialization with HTTP 400.
        raise LsqError("MXInvalidInputException",
                       "WebhookProperties must be a JSON-encoded string", 400)
    if not raw:
        return raw, {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise invalid_data(NOT_JSON) from None
    if not isinstance(parsed, dict):
        raise invalid_data(NOT_JSON)
    return raw, parsed


def _headers(raw: Any) -> list[dict[str, str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise invalid_data("CustomHeaders must be a list of {Key, Value}")
    if len(raw) > MAX_HEADERS:
        raise invalid_data(f"At most {MAX_HEADERS} custom headers are allowed")
    headers = []
    for item in raw:
        if not isinstance(item, Mapping) or not str(item.get("Key") or "").strip():
            raise invalid_data("Each custom header needs a Key and a Value")
        headers.append({"Key": str(item["Key"]).strip(), "Value": str(item.get("Value") or "")})
    return headers


def _opportunity_events(tenant: Tenant, body: Mapping[str, Any],
                        properties: Mapping[str, Any]) -> list[str]:
    codes = body.get("OpportunityEvents") or properties.get("OpportunityEvents")
    if not isinstance(codes, list) or not codes:
        # UNKNOWN in the reference: the error without OpportunityEvents; chosen like the
        # live "You have not passed ActivityEvent." of activity webhooks.
        raise invalid_data("You have not passed OpportunityEvents.")
    for code in codes:
        if not str(code).isdigit() or int(code) not in tenant.opportunity_types:
            raise invalid_entity(f"Opportunity type with event code '{code}' does not exist")
    return [str(code) for code in codes]


def _activity_event(tenant: Tenant, body: Mapping[str, Any]) -> str:
    """The lead activity type of an activity webhook (its top-level ActivityEvent, §12.2).
    UNKNOWN in the reference: the error for a type the account lacks; chosen like opportunities'."""
    code = str(body.get("ActivityEvent")).strip()
    if not code.isdigit() or int(code) not in tenant.lead_activity_types:
        raise invalid_entity(f"Activity type with event code '{code}' does not exist")
    return code


@router.route("Webhook.svc/Create", "POST", log_masker=lambda body: _mask_secrets(body))
def create(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    body = request.object_body
    raw_properties, properties = _properties(body)
    code = _event_code(body)
    url = str(body.get("URL") or "").strip()
    if not url:
        raise mandatory_missing("URL is mandatory")
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
        raise invalid_data(f"URL '{url}' is not a valid http or https URL")
    method = str(body.get("Method") or "POST").upper()
    if method != "POST":
        raise invalid_data("Webhooks are always sent with POST")
    # UNKNOWN in the reference: a missing ContentType; chosen application/json.
    content_type = str(body.get("ContentType") or CONTENT_TYPES[0]).strip().lower()
    if content_type not in CONTENT_TYPES:
        raise invalid_data(f"ContentType must be one of {', '.join(CONTENT_TYPES)}")
    headers = _headers(body.get("CustomHeaders"))
    opportunity_events = (
        _opportunity_events(tenant, body, properties) if code in OPPORTUNITY_CODES else []
    )
    activity_event = _activity_event(tenant, body) if code == LEAD_ACTIVITY_CODE else None
    webhook_id = new_id()
    name, event = EVENTS[code]
    tenant.webhooks[webhook_id] = {
        "WebhookId": webhook_id, "EventCode": name, "WebhookEvent": code, "Event": event,
        "URL": url, "Description": body.get("Description"), "Method": method,
        "ContentType": content_type, "WebhookProperties": raw_properties,
        "CustomHeaders": headers, "NotifyOnFailure": bool(body.get("NotifyOnFailure")),
        "OpportunityEvents": opportunity_events, "ActivityEvent": activity_event,
        "StatusCode": 0, "ConsecutiveFailures": 0,
        "CreatedOn": format_date(request.now()),
    }
    return {"Status": "Success", "Message": {"Id": webhook_id}}


def _mask_secrets(body: Any) -> None:
    """Mask header values and the URL's query in the request log's copy of the body
    (``/_sandbox/requests``): receivers' secrets never reach a log."""
    if not isinstance(body, dict):
        return
    for header in body.get("CustomHeaders") or []:
        if isinstance(header, dict) and "Value" in header:
            header["Value"] = MASK
    parts = urlsplit(str(body.get("URL") or ""))
    if parts.query:
        body["URL"] = urlunsplit((parts.scheme, parts.netloc, parts.path, MASK, ""))


@router.route("Webhook.svc/Retrieve", "POST", body_required=False)
def retrieve(request: SandboxRequest) -> dict[str, Any]:
    """LIKELY (live code): the list; custom headers are left out (their values are secrets and
    the live field list has none)."""
    body = request.object_body
    parameter = body.get("Parameter") if isinstance(body.get("Parameter"), Mapping) else {}
    rows = list(request.tenant.webhooks.values())
    wanted = parameter.get("WebhookEvent")
    if wanted not in (None, ""):
        rows = [h for h in rows
                if str(wanted).lower() in {h["EventCode"].lower(), str(h["WebhookEvent"])}]
    if parameter.get("StatusCode") not in (None, ""):
        rows = [h for h in rows if str(h["StatusCode"]) == str(parameter["StatusCode"])]
    start, size = page_window(body.get("Paging"))
    return {
        "RecordCount": len(rows),
        "Response": [{key: hook[key] for key in RETRIEVE_FIELDS}
                     for hook in rows[start : start + size]],
    }


@router.route("Webhook.svc/Delete", "GET")
def delete(request: SandboxRequest) -> dict[str, Any]:
    """LIKELY (live code): a GET; POST answers 405 (the route's method)."""
    webhook_id = request.require_arg("webhookId")
    if request.tenant.webhooks.pop(webhook_id, None) is None:
        raise invalid_entity("Webhook does not exist")
    # UNKNOWN in the reference: the Delete answer; chosen the GET-delete shape of opportunities.
    return {"Status": "Success", "Message": {"IsSuccessful": True}}
