"""ProspectActivity.svc: activities posted on leads (reference §4.8, §12.3, §15).

``tenant.lead_activity_types`` maps an event code (custom types from 201) to ``{ActivityEvent,
ActivityEventName, DisplayName, Score, EventType, Fields: [{SchemaName, DisplayName, DataType,
IsMandatory}]}``; ``Fields`` are the type's custom fields (``mx_Custom_n``), and every type also
has the standard fields Status and Owner. ``tenant.lead_activities`` holds each activity as
``{ProspectActivityId, RelatedProspectId, ActivityEvent, ActivityNote, ActivityDateTime,
CreatedOn, CreatedBy, ModifiedOn, ModifiedBy, Fields: {SchemaName: value}}``; each read builds
its own documented shape from it.

Tenant settings switch the readings the reference leaves open (each UNKNOWN):
``lead_activity_offset`` (``page``: Retrieve's Offset is a 0-based page number, as the docs say
"Specifies the page number"; ``row``: a row offset), ``lead_activity_max_rows`` (Retrieve's
largest RowCount, default 1000; more is cut silently), ``lead_activity_order`` (``newest`` or
``oldest`` first), ``lead_activity_range_field`` (``CreatedOn`` or ``ModifiedOn``: the date
RetrieveByActivityEvent's range bounds) and ``lead_activity_update_clears_unsent`` (Update
clears the fields and note it is not sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.sandbox.errors import invalid_data, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.account_activities import activity_of, field_values, kind_of
from runtime.sandbox.services.accounts import (
    as_text,
    count_create,
    format_date,
    page_window,
    parse_date,
    user_name,
)
from runtime.sandbox.services.leads import find_lead, insert_lead
from runtime.sandbox.state import Tenant, new_id

router = Router()

STANDARD_FIELDS = ("Status", "Owner")  # every type's; the docs' Update example sends both
NOTE_FIELD = "ActivityEvent_Note"  # the note's schema name in Fields lists (docs' examples)
CUSTOM_TYPE = 2  # EventType of a custom activity type (reference §4.8)
DEFAULT_ROWS = 25  # documented: Retrieve answers 25 activities without Paging
MAX_ROWS = 1000  # UNKNOWN in the reference: Retrieve's largest RowCount; chosen
RANGE_FIELDS = ("CreatedOn", "ModifiedOn")
LEAD_DETAILS = ("EmailAddress", "FirstName", "LastName", "Phone")  # Create by email (§4.8)


# -- stored record -> the documented read shapes -------------------------------------------------


def _type(tenant: Tenant, code: Any) -> dict[str, Any]:
    return kind_of(tenant.lead_activity_types, code)


def _values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's field values that are set (Retrieve's Data holds non-empty values only)."""
    return {name: value for name, value in record["Fields"].items() if value not in (None, "")}


def retrieve_item(tenant: Tenant, record: Mapping[str, Any]) -> dict[str, Any]:
    """An item of Retrieve?leadId= (docs' sample keys; Data as [{Key, Value}], live code)."""
    kind = tenant.lead_activity_types[record["ActivityEvent"]]
    data = {NOTE_FIELD: record["ActivityNote"], "ActivityDateTime": record["ActivityDateTime"],
            "CreatedBy": record["CreatedBy"],
            "CreatedByName": user_name(tenant, record["CreatedBy"]),
            "ModifiedOn": record["ModifiedOn"], **_values(record)}
    return {
        "Id": record["ProspectActivityId"], "EventCode": record["ActivityEvent"],
        "EventName": kind["DisplayName"], "ActivityScore": kind.get("Score", 0),
        "CreatedOn": record["CreatedOn"], "ActivityType": kind.get("EventType", CUSTOM_TYPE),
        "IsEmailType": False, "Type": "Inbound", "SessionId": record["ProspectActivityId"],
        "Data": [{"Key": key, "Value": value} for key, value in data.items()
                 if value not in (None, "")],
    }


def by_event_item(tenant: Tenant, record: Mapping[str, Any]) -> dict[str, Any]:
    """An item of RetrieveByActivityEvent: flat, fields at the top level (LIKELY, code only).
    UNKNOWN: ActivityEvent's JSON type; chosen text ("206" in a client's recorded answer)."""
    return {
        "ProspectActivityId": record["ProspectActivityId"],
        "RelatedProspectId": record["RelatedProspectId"],
        "ActivityEvent": str(record["ActivityEvent"]),
        NOTE_FIELD: record["ActivityNote"],
        "ActivityDateTime": record["ActivityDateTime"],
        **record["Fields"],
        "CreatedOn": record["CreatedOn"], "CreatedBy": record["CreatedBy"],
        "CreatedByName": user_name(tenant, record["CreatedBy"]),
        "ModifiedOn": record["ModifiedOn"], "ModifiedBy": record["ModifiedBy"],
    }


def webhook_item(tenant: Tenant, record: Mapping[str, Any]) -> dict[str, Any]:
    """What the activity webhook sends per activity (§12.3, LIKELY: live, one tenant)."""
    kind = tenant.lead_activity_types[record["ActivityEvent"]]
    return {
        "ProspectActivityId": record["ProspectActivityId"],
        "RelatedProspectId": record["RelatedProspectId"],
        "ActivityEvent": record["ActivityEvent"], "ActivityEventName": kind["DisplayName"],
        "CreatedOn": record["CreatedOn"], "CreatedBy": record["CreatedBy"],
        "Data": {"Note": record["ActivityNote"], **record["Fields"]},
    }


def _field_specs(kind: Mapping[str, Any]) -> list[dict[str, Any]]:
    standard = [{"SchemaName": name, "DisplayName": name,
                 "DataType": "ActiveUsers" if name == "Owner" else "String", "IsMandatory": False}
                for name in STANDARD_FIELDS]
    return [*kind.get("Fields", []), *standard]


# -- checks -------------------------------------------------------------------------------------


def _field_values(
    tenant: Tenant, kind: Mapping[str, Any], fields: Any, current: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """``Fields: [{SchemaName, Value}]`` checked against the type's fields and Status and Owner
    (as account activity fields are); mandatory ones after merging with ``current``."""
    return field_values(tenant, {**kind, "Fields": _field_specs(kind)}, fields, current)


def _lead_of(request: SandboxRequest, body: Mapping[str, Any]) -> str:
    """RelatedProspectId, or the lead with EmailAddress (created when none has it, §4.8)."""
    tenant = request.tenant
    lead_id = body.get("RelatedProspectId")
    if lead_id:
        if str(lead_id) not in tenant.leads:
            raise invalid_entity("Lead does not exist in the system")  # UNKNOWN: message
        return str(lead_id)
    email = body.get("EmailAddress")
    if not email:
        raise mandatory_missing("RelatedProspectId or EmailAddress is mandatory")
    existing = find_lead(tenant, "EmailAddress", str(email))
    if existing is not None:
        return str(existing["ProspectID"])
    details = {name: body[name] for name in LEAD_DETAILS if body.get(name)}
    created = insert_lead(request, details, count_key=f"{request.operation}#lead:{email}")
    return str(created["ProspectID"])


def find_activity(tenant: Tenant, activity_id: str) -> dict[str, Any]:
    return activity_of(tenant.lead_activities, activity_id)


def _new_record(
    tenant: Tenant, kind: Mapping[str, Any], lead_id: str, note: Any, when: datetime,
    created: datetime, user_id: str, values: Mapping[str, str | None],
) -> dict[str, Any]:
    stamp = format_date(created)
    fields: dict[str, Any] = {spec["SchemaName"]: None for spec in _field_specs(kind)}
    fields.update(values)
    return {
        "ProspectActivityId": new_id(), "RelatedProspectId": lead_id,
        "ActivityEvent": kind["ActivityEvent"], "ActivityNote": as_text(note),
        "ActivityDateTime": format_date(when), "CreatedOn": stamp, "CreatedBy": user_id,
        "ModifiedOn": stamp, "ModifiedBy": user_id, "Fields": fields,
    }


def _body(request: SandboxRequest) -> Mapping[str, Any]:
    return request.object_body


# -- routes -------------------------------------------------------------------------------------


@router.route("ProspectActivity.svc/ActivityTypes.Get", "GET")
def activity_types(request: SandboxRequest) -> list[dict[str, Any]]:
    """Every type with the documented keys (§4.8); the fields come from GetActivitySetting."""
    keys = ("ActivityEvent", "ActivityEventName", "DisplayName", "Score", "EventType")
    return [{key: kind.get(key) for key in keys}
            for kind in request.tenant.lead_activity_types.values()]


@router.route("ProspectActivity.svc/CustomActivity/GetActivitySetting", "GET")
def activity_setting(request: SandboxRequest) -> dict[str, Any]:
    """One type with its custom Fields. UNKNOWN in the reference: the shape (LIKELY from a
    client's live-checked code) and whether Status and Owner are listed; chosen: only the
    custom fields, the reading the connector does not rely on."""
    kind = _type(request.tenant, request.require_arg("code"))
    return {**kind, "Fields": [dict(spec) for spec in kind.get("Fields", [])]}


@router.route("ProspectActivity.svc/Create", "POST")
def create(request: SandboxRequest) -> dict[str, Any]:
    tenant, body = request.tenant, _body(request)
    kind = _type(tenant, body.get("ActivityEvent"))
    values = _field_values(tenant, kind, body.get("Fields"), None)
    lead_id = _lead_of(request, body)
    now = request.now()
    when = parse_date(body["ActivityDateTime"], "ActivityDateTime") if body.get(
        "ActivityDateTime") else now
    record = _new_record(tenant, kind, lead_id, body.get("ActivityNote"), when, now,
                         request.user_id, values)
    tenant.lead_activities[record["ProspectActivityId"]] = record
    count_create(request)
    # LIKELY (§12.3): the webhook body is an array (LeadSquared batches about a minute of
    # activities); UNKNOWN how many per batch: one here.
    request.emit("lead_activity_create", [webhook_item(tenant, record)])
    return {"Status": "Success", "Message": {"Id": record["ProspectActivityId"]}}


@router.route("ProspectActivity.svc/CustomActivity/Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    """LIKELY (LeadSquared's "Update an Activity" page, not the reference). UNKNOWN: whether
    ActivityEvent is required and must match (chosen: both), what happens to fields and a note
    not sent (chosen: kept; setting ``lead_activity_update_clears_unsent`` clears them) and the
    answer (chosen: CompanyActivity.svc/Update's)."""
    tenant, body = request.tenant, _body(request)
    request.require_field("ProspectActivityId")
    record = find_activity(tenant, str(body["ProspectActivityId"]))
    kind = _type(tenant, body.get("ActivityEvent"))
    if kind["ActivityEvent"] != record["ActivityEvent"]:
        raise invalid_data(f"Activity '{record['ProspectActivityId']}' is not of "
                           f"ActivityEvent {kind['ActivityEvent']}")
    clears = bool(tenant.settings.get("lead_activity_update_clears_unsent"))
    current = {} if clears else record["Fields"]
    values = _field_values(tenant, kind, body.get("Fields"), current)
    record["Fields"] = {**dict.fromkeys(record["Fields"]), **current, **values}
    if "ActivityNote" in body or clears:
        record["ActivityNote"] = as_text(body.get("ActivityNote"))
    record.update(ModifiedOn=format_date(request.now()), ModifiedBy=request.user_id)
    request.emit("lead_activity_update", [webhook_item(tenant, record)])
    return {"Status": "Success",
            "Message": {"Id": record["ProspectActivityId"], "IsSuccessful": True}}


@router.route("ProspectActivity.svc/Retrieve", "POST", body_required=False)
def retrieve(request: SandboxRequest) -> dict[str, Any]:
    """The activities of a lead (documented); an unknown lead has none (UNKNOWN: chosen)."""
    tenant, body = request.tenant, _body(request)
    lead_id = request.require_arg("leadId")
    parameter = body.get("Parameter") if isinstance(body.get("Parameter"), Mapping) else {}
    code = parameter.get("ActivityEvent")
    rows = [r for r in tenant.lead_activities.values() if r["RelatedProspectId"] == lead_id
            and (code in (None, "") or str(r["ActivityEvent"]) == str(code))]
    newest = tenant.settings.get("lead_activity_order", "newest") == "newest"
    rows.sort(key=lambda r: (r["CreatedOn"], r["ProspectActivityId"]), reverse=newest)
    start, size = _offset_window(tenant, body.get("Paging"))
    return {"RecordCount": len(rows),
            "ProspectActivities": [retrieve_item(tenant, r) for r in rows[start:start + size]]}


def _offset_window(tenant: Tenant, paging: Any) -> tuple[int, int]:
    """(first row, rows) from ``{Offset, RowCount}`` under the tenant's reading of Offset."""
    paging = paging if isinstance(paging, Mapping) else {}
    try:
        offset = int(paging.get("Offset", 0))
        rows = int(paging.get("RowCount", DEFAULT_ROWS))
    except (TypeError, ValueError):
        raise invalid_data("Paging values must be numbers") from None
    if offset < 0 or rows < 1:
        raise invalid_data("Offset must be 0 or more and RowCount 1 or more")
    rows = min(rows, int(tenant.settings.get("lead_activity_max_rows", MAX_ROWS)))
    by_page = tenant.settings.get("lead_activity_offset", "page") == "page"
    return (offset * rows if by_page else offset), rows


@router.route("ProspectActivity.svc/GetActivityDetails", "GET")
def details(request: SandboxRequest) -> dict[str, Any]:
    """The docs' shape: {ID, Name, DisplayName, Fields: [{SchemaName, Value, ...}]}, the note
    first as ActivityEvent_Note (LIKELY: as the docs' lead-reference example lists it)."""
    tenant = request.tenant
    record = find_activity(tenant, request.require_arg("activityId"))
    kind = tenant.lead_activity_types[record["ActivityEvent"]]
    note = {"SchemaName": NOTE_FIELD, "DisplayName": "Notes", "DataType": "String",
            "IsMandatory": False, "Value": record["ActivityNote"]}
    fields = [{**spec, "Value": record["Fields"].get(spec["SchemaName"])}
              for spec in _field_specs(kind)]
    return {"ID": record["ProspectActivityId"], "Name": kind.get("ActivityEventName"),
            "DisplayName": kind["DisplayName"], "Fields": [note, *fields]}


@router.route("ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent", "POST")
def by_event(request: SandboxRequest) -> dict[str, Any]:
    """One type's activities of every lead in a date range (LIKELY, code only). UNKNOWN: whether
    FromDate/ToDate are required (chosen: both, the strict reading), which date they bound
    (setting ``lead_activity_range_field``), the default order (newest first)."""
    tenant, body = request.tenant, _body(request)
    parameter = body.get("Parameter") if isinstance(body.get("Parameter"), Mapping) else {}
    kind = _type(tenant, parameter.get("ActivityEvent"))
    for name in ("FromDate", "ToDate"):
        if not parameter.get(name):
            raise mandatory_missing(f"{name} is mandatory")
    low = format_date(parse_date(parameter["FromDate"], "FromDate"))
    high = format_date(parse_date(parameter["ToDate"], "ToDate"))
    field = str(tenant.settings.get("lead_activity_range_field") or "CreatedOn")
    if field not in RANGE_FIELDS:
        raise invalid_data(f"lead_activity_range_field must be one of {', '.join(RANGE_FIELDS)}")
    rows = [r for r in tenant.lead_activities.values()
            if r["ActivityEvent"] == kind["ActivityEvent"] and low <= r[field] <= high]
    sorting = body.get("Sorting") if isinstance(body.get("Sorting"), Mapping) else {}
    column = sorting.get("ColumnName") if sorting.get("ColumnName") in RANGE_FIELDS else field
    descending = str(sorting.get("Direction", "1")) == "1"
    rows.sort(key=lambda r: (r[column], r["ProspectActivityId"]), reverse=descending)
    start, size = page_window(body.get("Paging"))
    return {"RecordCount": len(rows),
            "List": [by_event_item(tenant, r) for r in rows[start:start + size]]}


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Lead activity types and activities from the tenant's seed."""
    tenant.lead_activity_types = {
        int(entry["ActivityEvent"]): {"EventType": CUSTOM_TYPE, "Score": 0, **entry,
                                      "ActivityEvent": int(entry["ActivityEvent"])}
        for entry in data.get("lead_activity_types", [])
    }
    tenant.lead_activities = {}
    for entry in data.get("lead_activities", []):
        kind = tenant.lead_activity_types[int(entry["ActivityEvent"])]
        created = parse_date(entry["CreatedOn"], "CreatedOn")
        when = parse_date(entry.get("ActivityDateTime") or entry["CreatedOn"], "ActivityDateTime")
        values = {key: as_text(value) for key, value in (entry.get("Fields") or {}).items()}
        record = _new_record(tenant, kind, entry["RelatedProspectId"], entry.get("ActivityNote"),
                             when, created, entry["CreatedBy"], values)
        record["ProspectActivityId"] = entry["ProspectActivityId"]
        tenant.lead_activities[record["ProspectActivityId"]] = record
