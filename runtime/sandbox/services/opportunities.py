"""OpportunityManagement.svc: opportunities, activities of a lead with a type code (reference §7).

``tenant.opportunity_types`` maps an event code (>= 12000) to ``{EventCode, DisplayName,
Description, AllowAttachments, CanDelete, DuplicateDetection: {Enabled, Fields}, Fields: [{
SchemaName, DisplayName, DataType, IsMandatory, OptionSet}]}``. ``tenant.opportunities`` holds
flat records by ``OpportunityId``: the type's field values as strings plus system columns.
Duplicate detection is off in the seed; ``POST /_sandbox/settings
{"opportunity_duplicate_detection": [12000]}`` turns it on for a type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runtime.sandbox.errors import LsqError, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Reply, Router
from runtime.sandbox.services.accounts import (
    as_text,
    count_create,
    fingerprint,
    format_date,
    page_window,
    parse_date,
    unknown_attributes,
    user_name,
)
from runtime.sandbox.services.leads import find_lead, insert_lead, parse_pairs
from runtime.sandbox.state import Tenant, new_id

router = Router()

FIELDS_ERROR = "MXInvalidActivityFieldsException"  # CONFIRMED for opportunity field errors
LEAD_KEYS = ("ProspectID", "EmailAddress", "Phone")  # matching order without SearchBy (§7.1)
# Capture answers (reference §7.1). UNKNOWN in the reference: the meaning of the integer
# PrimaryAction / SecondaryAction; chosen PrimaryAction = what happened to the lead
# (1 created, 2 existing lead used) and SecondaryAction = PostDeDupActionPerformed
# (1 created new, 3 duplicate detected, nothing created).
LEAD_CREATED, LEAD_EXISTING = 1, 2
CREATED_NEW, DUPLICATE_DETECTED = 1, 3
# UNKNOWN in the reference: the error when the type does not allow deletes (§7.5); chosen the
# permission exception LeadSquared's UI code names.
DELETE_REFUSED = "MXUnauthorizedRequestException"
SYSTEM_FIELDS = (  # GetOpportunityDetails rows besides the type's own fields
    ("RelatedProspectId", "Lead", "String"), ("OpportunityNote", "Notes", "String"),
    ("OpportunityDateTime", "Opportunity Date", "DateTime"), ("CreatedBy", "Created By", "String"),
    ("CreatedOn", "Created On", "DateTime"), ("ModifiedOn", "Modified On", "DateTime"),
)
LEAD_COLUMNS = ("FirstName", "LastName", "EmailAddress", "Phone")


def opportunity_type(tenant: Tenant, code: Any) -> dict[str, Any]:
    try:
        number = int(code)
    except (TypeError, ValueError):
        raise mandatory_missing("OpportunityEventCode is mandatory") from None
    found = tenant.opportunity_types.get(number)
    if found is None:
        # UNKNOWN in the reference: the exact exception for an unknown type code.
        raise invalid_entity(f"Opportunity type with event code '{number}' does not exist")
    return found


def find_opportunity(tenant: Tenant, key: Any) -> dict[str, Any]:
    """By OpportunityId, or by its AutoId (Update accepts either, reference §7.2)."""
    text = str(key or "")
    found = tenant.opportunities.get(text) or next(
        (o for o in tenant.opportunities.values() if str(o["AutoId"]) == text), None)
    if found is None:
        raise invalid_entity("Opportunity does not exist in the system")  # UNKNOWN: message
    return found


def options(spec: Mapping[str, Any]) -> list[str] | None:
    """The values of a field's OptionSet (a JSON string), or ``None`` for free fields."""
    raw = spec.get("OptionSet")
    return [str(entry["Value"]) for entry in json.loads(raw)] if raw else None


def field_values(
    tenant: Tenant, kind: Mapping[str, Any], fields: Any, current: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """``Fields:[{SchemaName, Value}]`` checked against the type (names, options, owner)."""
    fields = fields or []
    if not isinstance(fields, list):
        raise LsqError(FIELDS_ERROR, "Fields must be a list of {SchemaName, Value}")
    specs = {spec["SchemaName"]: spec for spec in kind["Fields"]}
    values: dict[str, str | None] = {}
    for pair in fields:
        name = pair.get("SchemaName") if isinstance(pair, Mapping) else None
        if name not in specs:
            raise LsqError(FIELDS_ERROR, f"Field name : '{name}' does not exist.")
        values[name] = as_text(pair.get("Value"))
        allowed = options(specs[name])
        if values[name] is not None and allowed is not None and values[name] not in allowed:
            raise LsqError(FIELDS_ERROR, f"Invalid value '{values[name]}' for field '{name}'.")
    if values.get("Owner") and values["Owner"] not in tenant.users:
        message = f"Field name : 'Owner' has an invalid user id '{values['Owner']}'."
        raise LsqError(FIELDS_ERROR, message)
    merged = {**(current or {}), **values}
    for name, spec in specs.items():
        if spec.get("IsMandatory") and not merged.get(name):
            raise LsqError(
                FIELDS_ERROR,
                f"Field name : '{name}' of datatype : '{spec['DataType']}' is mandatory.",
            )
    return values


def webhook_payload(record: Mapping[str, Any]) -> dict[str, Any]:
    """What an opportunity webhook sends (reference §12.3, LIKELY, live on one tenant).

    The lead-activity item's keys, ``ActivityEvent`` = the type code, no ActivityEventName
    and an empty ``Data``. UNKNOWN in the reference: whether it comes wrapped in an array;
    chosen a single object.
    """
    return {
        "ProspectActivityId": record["OpportunityId"],
        "RelatedProspectId": record["RelatedProspectId"],
        "ActivityEvent": record["OpportunityEvent"],
        "CreatedOn": record["CreatedOn"],
        "CreatedBy": record["CreatedBy"],
        "Data": {},
    }


def flat_item(tenant: Tenant, record: Mapping[str, Any]) -> dict[str, Any]:
    """A GetOpportunitiesOfLead item: flat, not Fields[] (reference §7.4).

    LIKELY (Panora's typed client): the PA* date names and the lead's basic columns; the
    event code comes back as a string (reference §2.2).
    """
    kind = tenant.opportunity_types[record["OpportunityEvent"]]
    lead = tenant.leads.get(record["RelatedProspectId"], {})
    custom = {spec["SchemaName"]: record.get(spec["SchemaName"]) for spec in kind["Fields"]}
    return {
        "OpportunityId": record["OpportunityId"],
        "RelatedProspectId": record["RelatedProspectId"],
        "OpportunityEvent": str(record["OpportunityEvent"]),
        "OpportunityEventType": kind["DisplayName"],
        "OpportunityNote": record["OpportunityNote"],
        **custom,
        "OwnerName": user_name(tenant, record.get("Owner")),
        **{name: lead.get(name) for name in LEAD_COLUMNS},
        "CreatedOn": record["CreatedOn"],
        "ModifiedOn": record["ModifiedOn"],
        "PACreatedOn": record["CreatedOn"],
        "PAModifiedOn": record["ModifiedOn"],
        "PACreatedByName": user_name(tenant, record["CreatedBy"]),
    }


def match_lead(request: SandboxRequest, details: Any) -> tuple[dict[str, Any], int]:
    """The lead of a Capture: found by SearchBy or unique fields, else created."""
    fields, search_by = parse_pairs(details)
    fields = {("ProspectID" if k.lower() == "prospectid" else k): v for k, v in fields.items()}
    keys = (search_by,) if search_by else LEAD_KEYS
    if not any(fields.get(k) for k in (*LEAD_KEYS, *keys)):
        raise mandatory_missing("LeadDetails need at least one unique field (EmailAddress, Phone "
                                "or ProspectID)")
    for key in keys:
        value = fields.get("ProspectID" if key.lower() == "prospectid" else key)
        lead = find_lead(request.tenant, key, str(value)) if value else None
        if lead is not None:
            return lead, LEAD_EXISTING
    if fields.get("ProspectID"):
        raise invalid_entity("Lead does not exist in the system")  # an id cannot be created
    # The lead is counted apart from the opportunity: "<operation>#lead:<fingerprint>".
    count_key = f"{request.operation}#lead:{fingerprint(request.body)}"
    return insert_lead(request, fields, count_key=count_key), LEAD_CREATED


def duplicate_of(tenant: Tenant, kind: Mapping[str, Any], lead_id: str,
                 values: Mapping[str, Any]) -> dict[str, Any] | None:
    """With detection on for the type: an opportunity of the lead with equal key fields.

    UNKNOWN in the reference: the rule (tenants configure it); chosen equal values of the
    type's DuplicateDetection.Fields on the same lead and type.
    """
    config = kind.get("DuplicateDetection") or {}
    enabled = kind["EventCode"] in tenant.settings.get("opportunity_duplicate_detection", [])
    if not (enabled or config.get("Enabled")):
        return None
    keys = config.get("Fields") or ["mx_Custom_1"]
    return next((o for o in tenant.opportunities.values()
                 if o["RelatedProspectId"] == lead_id and o["OpportunityEvent"] == kind["EventCode"]
                 and all(o.get(k) == values.get(k) for k in keys)), None)


def capture_failure(error: LsqError) -> Reply:
    """A failed Capture: numeric Status 1 with the MX type and message (reference §7.1)."""
    return Reply(error.status, {
        "Status": 1, "CreatedOpportunityId": None, "IsUnique": False, "PrimaryAction": None,
        "SecondaryAction": None, "AdditionalDetails": [],
        "ExceptionType": error.exception_type, "ExceptionMessage": error.message,
    })


@router.route("OpportunityManagement.svc/Capture", "POST")
def capture(request: SandboxRequest) -> Any:
    try:
        return _capture(request)
    except LsqError as error:
        return capture_failure(error)


def _capture(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    body = request.object_body
    opportunity = body.get("Opportunity")
    if not isinstance(opportunity, Mapping):
        raise mandatory_missing("Opportunity is mandatory")
    kind = opportunity_type(tenant, opportunity.get("OpportunityEventCode"))
    values = field_values(tenant, kind, opportunity.get("Fields"), {"Status": "Open"})
    now = request.now()
    when = parse_date(opportunity["OpportunityDateTime"], "OpportunityDateTime") if (
        opportunity.get("OpportunityDateTime")) else now
    lead, lead_action = match_lead(request, body.get("LeadDetails"))
    record = {spec["SchemaName"]: None for spec in kind["Fields"]}
    # UNKNOWN in the reference: the default owner; chosen the lead's owner, else the caller.
    record.update({"Status": "Open", "Owner": lead.get("OwnerId") or request.user_id}, **values)
    conflict = duplicate_of(tenant, kind, lead["ProspectID"], record)
    if conflict is not None:
        return _capture_answer(lead_action, None, conflict["OpportunityId"])
    stamp = format_date(now)
    record.update(
        OpportunityId=new_id(),
        AutoId=1 + max((o["AutoId"] for o in tenant.opportunities.values()), default=0),
        RelatedProspectId=lead["ProspectID"], OpportunityEvent=kind["EventCode"],
        OpportunityNote=as_text(opportunity.get("OpportunityNote")),
        OpportunityDateTime=format_date(when), CreatedBy=request.user_id, CreatedOn=stamp,
        ModifiedBy=request.user_id, ModifiedOn=stamp,
    )
    tenant.opportunities[record["OpportunityId"]] = record
    count_create(request)
    request.emit("opportunity_create", webhook_payload(record))
    return _capture_answer(lead_action, record["OpportunityId"], None)


def _capture_answer(lead_action: int, created: str | None,
                    conflict: str | None) -> dict[str, Any]:
    """The documented keys only (reference §7.1): no source shows the lead's id in the answer
    (§15), so none is given; the conflicting id is inside AdditionalDetails."""
    # Not idempotent: without detection a repeat creates another one and IsUnique stays true.
    action = DUPLICATE_DETECTED if conflict else CREATED_NEW
    return {
        "Status": 0,
        "CreatedOpportunityId": created,
        "IsUnique": conflict is None,
        "PrimaryAction": lead_action,
        "SecondaryAction": action,
        "AdditionalDetails": [{"ActivityId": created or conflict,
                               "PostDeDupActionPerformed": action,
                               "ConflictedOpportunityId": conflict}],
    }


@router.route("OpportunityManagement.svc/Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    body = request.object_body
    request.require_field("ProspectOpportunityId")
    record = find_opportunity(tenant, body["ProspectOpportunityId"])
    kind = tenant.opportunity_types[record["OpportunityEvent"]]
    record.update(field_values(tenant, kind, body.get("Fields"), record))
    if "OpportunityNote" in body:
        record["OpportunityNote"] = as_text(body["OpportunityNote"])
    record.update(ModifiedBy=request.user_id, ModifiedOn=format_date(request.now()))
    request.emit("opportunity_update", webhook_payload(record))
    # LIKELY (reference §7.2 shows no response): shaped like CompanyActivity.Update, since an
    # opportunity is an activity.
    return {"Status": "Success", "Message": {"Id": record["OpportunityId"], "IsSuccessful": True}}


@router.route("OpportunityManagement.svc/GetOpportunityDetails", "GET")
def details(request: SandboxRequest) -> dict[str, Any]:
    """UNKNOWN in the reference: ID = the opportunity id, Name = its name (mx_Custom_1),
    DisplayName = the type's display name; InternalName repeats SchemaName."""
    tenant = request.tenant
    record = find_opportunity(tenant, request.require_arg("OpportunityId"))
    kind = tenant.opportunity_types[record["OpportunityEvent"]]
    rows = [_detail(spec, record.get(spec["SchemaName"])) for spec in kind["Fields"]]
    rows += [
        _detail({"SchemaName": name, "DisplayName": label, "DataType": data_type},
                record.get(name))
        for name, label, data_type in SYSTEM_FIELDS
    ]
    return {"ID": record["OpportunityId"], "Name": record.get("mx_Custom_1"),
            "DisplayName": kind["DisplayName"], "Fields": rows}


def _detail(spec: Mapping[str, Any], value: Any) -> dict[str, Any]:
    return {
        "SchemaName": spec["SchemaName"], "InternalName": spec["SchemaName"],
        "DisplayName": spec["DisplayName"], "Value": value, "DataType": spec["DataType"],
        "IsMandatory": bool(spec.get("IsMandatory")), "OptionSet": spec.get("OptionSet"),
    }


@router.route("OpportunityManagement.svc/GetOpportunitiesOfLead", "POST", body_required=False)
def of_lead(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    lead_id = request.require_arg("leadId")
    # The docs call opportunityType optional; live testing found it required (§7.4).
    kind = opportunity_type(tenant, request.require_arg("opportunityType"))
    body = request.object_body
    rows = [o for o in tenant.opportunities.values()
            if o["RelatedProspectId"].lower() == lead_id.lower()
            and o["OpportunityEvent"] == kind["EventCode"]]
    sorting = body.get("Sorting") if isinstance(body.get("Sorting"), Mapping) else {}
    column = sorting.get("ColumnName") or "CreatedOn"  # UNKNOWN: default newest first
    rows.sort(key=lambda o: str(o.get(column) or ""), reverse=str(sorting.get("Direction", "1"))
              == "1")
    start, size = page_window(body.get("Paging"))
    items = [flat_item(tenant, o) for o in rows[start : start + size]]
    csv = body.get("Columns", {}).get("Include_CSV") if isinstance(body.get("Columns"),
                                                                   Mapping) else None
    if csv:
        wanted = [name.strip() for name in str(csv).split(",") if name.strip()]
        known = set(flat_item(tenant, rows[0])) if rows else set(wanted)
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise unknown_attributes(unknown)
        items = [{name: item[name] for name in wanted} for item in items]
    return {"RecordCount": len(rows), "List": items}


@router.route("OpportunityManagement.svc/Delete", "GET")
def delete(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    record = find_opportunity(tenant, request.require_arg("Id"))
    kind = tenant.opportunity_types[record["OpportunityEvent"]]
    if not kind.get("CanDelete"):
        raise LsqError(DELETE_REFUSED,
                       f"Deleting opportunities of type '{kind['DisplayName']}' is not allowed")
    del tenant.opportunities[record["OpportunityId"]]
    for task_id in [i for i, t in tenant.tasks.items()
                    if t["RelatedEntity"] == 5 and t["RelatedEntityId"] == record["OpportunityId"]]:
        del tenant.tasks[task_id]
    request.emit("opportunity_delete", webhook_payload(record))
    return {"Status": "Success", "Message": {"IsSuccessful": True}}


@router.route("OpportunityManagement.svc/GetOpportunityTypeMetadata", "GET")
def type_metadata(request: SandboxRequest) -> dict[str, Any]:
    kind = opportunity_type(request.tenant, request.require_arg("code"))
    return {
        "AllowAttachments": bool(kind.get("AllowAttachments")),
        "CanDelete": bool(kind.get("CanDelete")),
        "Description": kind.get("Description"),
        "DisplayName": kind["DisplayName"],
        "EventCode": kind["EventCode"],
        "Fields": [
            {"SchemaName": s["SchemaName"], "DisplayName": s["DisplayName"],
             "DataType": s["DataType"], "IsMandatory": bool(s.get("IsMandatory")),
             "OptionSet": s.get("OptionSet")}
            for s in kind["Fields"]
        ],
    }


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Opportunity types (OptionSets become JSON strings) and opportunities."""
    tenant.opportunity_types = {}
    for entry in data.get("opportunity_types", []):
        kind = {**entry, "EventCode": int(entry["EventCode"])}
        kind["Fields"] = [
            {**spec, "OptionSet": json.dumps([{"Value": v, "Text": v} for v in spec["Options"]])
             if spec.get("Options") else None}
            for spec in entry.get("Fields", [])
        ]
        for spec in kind["Fields"]:
            spec.pop("Options", None)
        tenant.opportunity_types[kind["EventCode"]] = kind
    tenant.opportunities = {}
    for entry in data.get("opportunities", []):
        kind = tenant.opportunity_types[int(entry["OpportunityEvent"])]
        record: dict[str, Any] = {spec["SchemaName"]: None for spec in kind["Fields"]}
        record.update({k: as_text(v) for k, v in (entry.get("Fields") or {}).items()})
        record.update({k: v for k, v in entry.items() if k != "Fields"},
                      OpportunityEvent=kind["EventCode"])
        record.setdefault("ModifiedOn", record["CreatedOn"])
        record.setdefault("ModifiedBy", record["CreatedBy"])
        tenant.opportunities[record["OpportunityId"]] = record
