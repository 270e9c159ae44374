"""Lead writes: Lead.Create, Lead.CreateOrUpdate, Lead.Capture, Lead.Update, Lead/Delete/ById.

Bodies are Attribute/Value arrays (reference §2.4); the store rules (types, uniqueness,
events, create counting) are in :mod:`.leads`.
"""

from __future__ import annotations

from typing import Any

from runtime.sandbox.errors import LsqError, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.lead_metadata import field_index
from runtime.sandbox.services.leads import delete_lead as remove_lead
from runtime.sandbox.services.leads import (
    find_lead,
    insert_lead,
    parse_pairs,
    resolve_fields,
    update_lead,
)

router = Router()

LEAD_MISSING = "Lead does not exist in the system"
UPSERT_DEFAULT_KEYS = ("EmailAddress", "Phone")  # CreateOrUpdate without SearchBy (§4.2)
CAPTURE_KEYS = ("ProspectID", "EmailAddress", "Phone")  # Lead.Capture matching order (§4.3)
CAPTURE_BEHAVIOURS = ("DoNotUpdate", "UpdateOnlyEmptyFields", "DoNotUpdateUniqueFields")
# UNKNOWN in the reference: the error when lead delete is not enabled; chosen here.
DELETE_DISABLED = (
    "MXUnauthorizedRequestException",
    "Lead delete through the API is not enabled for this account; contact LeadSquared support",
)


def _flag(request: SandboxRequest, name: str) -> bool:
    return (request.arg(name) or "").strip().lower() == "true"


def _value(fields: dict[str, Any], name: str) -> str | None:
    """The body's value for ``name`` (attribute names match case-insensitively)."""
    for key, value in fields.items():
        if key.lower() == name.lower() and value is not None and str(value).strip():
            return str(value)
    return None


def _success(message: dict[str, Any]) -> dict[str, Any]:
    return {"Status": "Success", "Message": message}


@router.route("LeadManagement.svc/Lead.Create", "POST")
def create(request: SandboxRequest) -> dict[str, Any]:
    """Create only; a unique clash is MXDuplicateEntryException (never an update)."""
    fields, _search_by = parse_pairs(request.body)
    lead = insert_lead(request, fields)
    return _success({"Id": lead["ProspectID"]})


@router.route("LeadManagement.svc/Lead.Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    """Update the fields sent; webhooks only with ``postUpdatedLead=true`` (§4.4)."""
    lead_id = request.require_arg("leadId", "'leadId' is mandatory for updating lead")
    fields, _search_by = parse_pairs(request.body)
    record = request.tenant.leads.get(lead_id)
    if record is None:
        raise invalid_entity(LEAD_MISSING)
    update_lead(request, record, fields, notify=_flag(request, "postUpdatedLead"))
    return _success({"AffectedRows": 1})


@router.route("LeadManagement.svc/Lead.CreateOrUpdate", "POST")
def create_or_update(request: SandboxRequest) -> dict[str, Any]:
    """Match on SearchBy (exact string) or EmailAddress then Phone; update or create."""
    fields, search_by = parse_pairs(request.body)
    resolve_fields(request.tenant, fields)  # an unknown attribute fails before any match
    record = None
    if search_by:
        field = field_index(request.tenant).get(search_by.lower())
        if field is None:
            raise LsqError("MXUnknownAttributeException",
                           f"Attribute(s) does not exist - {search_by}")
        value = _value(fields, search_by)
        if value is None:
            # UNKNOWN in the reference: the error when the SearchBy field has no value.
            raise mandatory_missing(f"Value of SearchBy attribute '{search_by}' is mandatory")
        record = find_lead(request.tenant, field["SchemaName"], value)
    else:
        record = _first_match(request, fields, UPSERT_DEFAULT_KEYS)
    if record is None:
        lead = insert_lead(request, fields)
    else:
        lead = update_lead(request, record, fields, notify=_flag(request, "postUpdatedLead"))
    # CONFIRMED (code/test): Id and AffectedRows; whether IsCreated/RelatedId exist is UNKNOWN.
    return _success({"Id": lead["ProspectID"], "AffectedRows": 1})


def _first_match(
    request: SandboxRequest, fields: dict[str, Any], keys: tuple[str, ...]
) -> dict[str, Any] | None:
    for key in keys:
        value = _value(fields, key)
        record = find_lead(request.tenant, key, value) if value else None
        if record is not None:
            return record
    return None


def _capture_match(request: SandboxRequest, fields: dict[str, Any], search_by: str | None):
    """Lead.Capture matching (apidocs "Capture Leads", How it Works)."""
    tenant = request.tenant
    given = [key for key in CAPTURE_KEYS if _value(fields, key)]
    if search_by and len(given) < len(CAPTURE_KEYS):  # SearchBy ignored when all three given
        # LIKELY: SearchBy is tried first, then the standard order.
        value = _value(fields, search_by)
        record = find_lead(tenant, search_by, value) if value else None
        if record is not None:
            return record
    by_id = find_lead(tenant, "ProspectID", _value(fields, "ProspectID") or "")
    email = _value(fields, "EmailAddress")
    if by_id is not None and (email is None or (by_id["EmailAddress"] or "").lower()
                              == email.strip().lower()):
        return by_id
    return _first_match(request, fields, ("EmailAddress", "Phone"))


@router.route("LeadManagement.svc/Lead.Capture", "POST")
def capture(request: SandboxRequest) -> dict[str, Any]:
    """Smart upsert with ``LeadUpdateBehavior``; the response keys are LIKELY (§4.3)."""
    fields, search_by = parse_pairs(request.body)
    behaviour = request.arg("LeadUpdateBehavior")
    if behaviour and behaviour not in CAPTURE_BEHAVIOURS:
        # UNKNOWN in the reference: the error for an unknown behaviour; chosen here.
        raise LsqError("MXInvalidDataTypeException", f"Invalid LeadUpdateBehavior '{behaviour}'")
    values = resolve_fields(request.tenant, fields)
    record = _capture_match(request, fields, search_by)
    if record is None:
        lead = insert_lead(request, values)
        return _success({"Id": lead["ProspectID"], "AffectedRows": 1})
    if behaviour == "DoNotUpdate":
        return _success({"Id": record["ProspectID"], "AffectedRows": 0})
    if behaviour == "UpdateOnlyEmptyFields":
        values = {k: v for k, v in values.items() if record.get(k) is None}
    elif behaviour == "DoNotUpdateUniqueFields":
        unique = request.tenant.settings.get("unique_lead_fields", ("EmailAddress", "Phone"))
        values = {k: v for k, v in values.items() if k not in unique}
    if record.get("Source"):  # a repeat capture does not change the lead source (apidocs)
        values.pop("Source", None)
    update_lead(request, record, values, notify=_flag(request, "postUpdatedLead"))
    return _success({"Id": record["ProspectID"], "AffectedRows": 1})


@router.route("LeadManagement.svc/Lead/Delete/ById", "GET")
def delete(request: SandboxRequest) -> dict[str, Any]:
    """Hard delete; off unless ``tenant.settings["lead_delete_enabled"]`` (§4.6)."""
    lead_id = request.require_arg("leadId", "'leadId' is mandatory for deleting lead")
    if not request.tenant.settings.get("lead_delete_enabled"):
        raise LsqError(*DELETE_DISABLED)
    if lead_id not in request.tenant.leads:
        raise invalid_entity(LEAD_MISSING)
    remove_lead(request.tenant, lead_id)
    return {"Status": "Success"}
