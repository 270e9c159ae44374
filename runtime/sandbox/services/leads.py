"""The lead store: validation, create, update, lookups and the two read shapes.

Other services use this module's functions rather than touching ``tenant.leads``:

- :func:`find_lead` ``(tenant, attribute, value) -> record | None``
- :func:`insert_lead` ``(request, fields) -> flat lead`` (validates, assigns ids and dates,
  counts the create, emits ``lead_create``)
- :func:`update_lead` ``(request, record, fields, notify=...)``
- :func:`flat_lead` ``(record) -> dict`` (Leads.GetById shape) and :func:`property_list`
  (the ``LeadPropertyList`` shape of RecentlyModified and list members).

Records are stored with every field's schema name as a key; values are strings or ``None``
(reference §2.2). The HTTP handlers live in :mod:`.leads_write` and :mod:`.leads_read`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.sandbox.errors import LsqError, duplicate_entry, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.lead_metadata import SYSTEM_MANAGED, field_index
from runtime.sandbox.state import Tenant, new_id

router = Router()  # this module serves no operation itself; see leads_write / leads_read

LEAD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.000"  # lead reads: "2015-07-31 06:35:37.000" (UTC)
IDENTITY_FIELDS = ("FirstName", "LastName", "EmailAddress", "Phone")
DEFAULT_UNIQUE_FIELDS = ("EmailAddress", "Phone")  # tenant.settings["unique_lead_fields"]
DERIVED_FIELDS = ("OwnerIdName", "OwnerIdEmailAddress", "CreatedByName", "ModifiedByName")
# LIKELY: defaults a new lead gets (the webhook payload shows Score "0"; stage from the UI).
CREATE_DEFAULTS = {"ProspectStage": "Prospect", "Score": "0", "EngagementScore": "0",
                   "DoNotEmail": "0", "DoNotCall": "0"}
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE_INPUTS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes"}, {"0", "false", "no"}


# ---- small helpers ---------------------------------------------------------------------


def lead_time(moment: datetime) -> str:
    """A UTC datetime in the lead-read format ``yyyy-MM-dd HH:mm:ss.000``."""
    return moment.astimezone(UTC).strftime(LEAD_TIME_FORMAT)


def parse_time(text: str) -> datetime | None:
    """A naive-UTC ``datetime`` from any accepted request/response date text, else ``None``."""
    for pattern in DATE_INPUTS:
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


def body_fingerprint(body: Any) -> str:
    """A short stable hash of a request body (keys sorted), for create counting."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def bad_body(message: str) -> LsqError:
    """The 400 LeadSquared gives a body that is not as per the API specification (§1.4)."""
    return LsqError("MXInvalidInputException", message, 400)


def invalid_value(name: str, data_type: str, value: str) -> LsqError:
    # UNKNOWN in the reference: the exception for a value of the wrong type; chosen here.
    return LsqError(
        "MXInvalidDataTypeException",
        f"Invalid value '{value}' for attribute '{name}' of data type '{data_type}'",
    )


def user_name(tenant: Tenant, user_id: str | None) -> str | None:
    user = tenant.users.get(user_id or "")
    if user is None:
        return None
    return f"{user.get('FirstName') or ''} {user.get('LastName') or ''}".strip()


# ---- Attribute/Value bodies and field values ---------------------------------------------


def parse_pairs(body: Any) -> tuple[dict[str, Any], str | None]:
    """An Attribute/Value array as ``({attribute: value}, SearchBy)``; 400 on a wrong shape."""
    if not isinstance(body, list):
        raise bad_body("The request body must be a JSON array of {Attribute, Value} pairs")
    fields: dict[str, Any] = {}
    search_by: str | None = None
    for pair in body:
        if not isinstance(pair, dict) or not isinstance(pair.get("Attribute"), str):
            raise bad_body("Each item must be an object with a string 'Attribute'")
        value = pair.get("Value")
        if isinstance(value, dict | list):
            raise bad_body(f"The Value of '{pair['Attribute']}' must be a string")
        if pair["Attribute"] == "SearchBy":
            search_by = None if value is None else str(value)
        else:
            fields[pair["Attribute"]] = value
    return fields, search_by


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() else None  # LIKELY: "" clears a field (unset reads as null)


def _number(name: str, text: str, tenant: Tenant) -> str:
    try:
        number = float(text)
    except ValueError:
        raise invalid_value(name, "Number", text) from None
    if not math.isfinite(number):
        raise invalid_value(name, "Number", text)
    return str(int(number)) if number.is_integer() and "." not in text else text.strip()


def _date(name: str, text: str, tenant: Tenant) -> str:
    moment = parse_time(text)
    if moment is None:
        raise invalid_value(name, "Date", text)
    return moment.strftime(LEAD_TIME_FORMAT)


def _boolean(name: str, text: str, tenant: Tenant) -> str:
    word = text.strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return "1" if word in TRUE_WORDS else "0"
    raise invalid_value(name, "Boolean", text)


def _email(name: str, text: str, tenant: Tenant) -> str:
    if not EMAIL_PATTERN.match(text.strip()):
        raise invalid_value(name, "Email", text)
    return text.strip()


def _owner(name: str, text: str, tenant: Tenant) -> str:
    # LIKELY: OwnerId takes a user id or a user's email address; an unknown user is an error.
    for user in tenant.users.values():
        if text.strip().lower() in {str(user["ID"]).lower(), str(user.get("EmailAddress")).lower()}:
            return str(user["ID"])
    raise LsqError("MXInvalidEntityException", f"Owner '{text}' does not exist in the system")


Converter = Callable[[str, str, Tenant], str]
# Number/Date/Boolean/Email checks: UNKNOWN in the reference how strict LeadSquared is;
# chosen here (one table). Select values are stored verbatim, as LeadSquared does (§2.4).
TYPE_CONVERTERS: dict[str, Converter] = {
    "Number": _number, "Date": _date, "Boolean": _boolean, "Email": _email,
}
FIELD_CONVERTERS: dict[str, Converter] = {"OwnerId": _owner}


def resolve_fields(
    tenant: Tenant, raw: Mapping[str, Any], *, system: bool = False
) -> dict[str, str | None]:
    """Schema-named, type-checked string values; unknown names fail the whole payload.

    LIKELY: attribute names match case-insensitively (``ProspectId`` = ``ProspectID``).
    UNKNOWN in the reference: system-managed fields (ids, CreatedOn, ...) are ignored on write
    (``system=True``, for seeds, keeps them).
    """
    index = field_index(tenant)
    unknown = [name for name in raw if name.lower() not in index]
    if unknown:
        message = f"Attribute(s) does not exist - {','.join(unknown)}"
        raise LsqError("MXUnknownAttributeException", message)
    values: dict[str, str | None] = {}
    for name, value in raw.items():
        field = index[name.lower()]
        schema = field["SchemaName"]
        if field["LockAfterCreate"] == SYSTEM_MANAGED and not system:
            continue
        text = _text(value)
        convert = FIELD_CONVERTERS.get(schema) or TYPE_CONVERTERS.get(field["DataType"])
        values[schema] = convert(schema, text, tenant) if text is not None and convert else text
    return values


# ---- lookups -----------------------------------------------------------------------------


def _same(field: str, stored: str | None, wanted: str) -> bool:
    if stored is None:
        return False
    if field in {"EmailAddress", "ProspectID"}:  # MySQL collation: case-insensitive
        return stored.lower() == wanted.strip().lower()
    return stored == wanted  # Phone and others: exact string (reference §4.2)


def find_lead(tenant: Tenant, attribute: str, value: str) -> dict[str, Any] | None:
    """The stored lead whose ``attribute`` equals ``value`` (oldest first), else ``None``.

    Email and id compare case-insensitively, everything else exactly. Treat the result as
    read-only; change it with :func:`update_lead`.
    """
    field = field_index(tenant).get(attribute.lower())
    if field is None or value is None or not str(value).strip():
        return None
    name = field["SchemaName"]
    if name == "ProspectID":
        return tenant.leads.get(str(value)) or next(
            (r for r in tenant.leads.values() if _same(name, r["ProspectID"], str(value))), None
        )
    return next((r for r in tenant.leads.values() if _same(name, r.get(name), str(value))), None)


def flat_lead(record: Mapping[str, Any]) -> dict[str, Any]:
    """The flat read shape (Leads.GetById, Leads.Get, webhook payloads): a copy."""
    return dict(record)


def property_list(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"LeadPropertyList": [{Attribute, Value, Fields: null}, ..., CanUpdate]}``."""
    items = [{"Attribute": k, "Value": v, "Fields": None} for k, v in flat.items()]
    items.append({"Attribute": "CanUpdate", "Value": "true", "Fields": None})
    return {"LeadPropertyList": items}


# ---- writes ------------------------------------------------------------------------------


def _check_unique(tenant: Tenant, values: Mapping[str, str | None], own_id: str | None) -> None:
    for name in tenant.settings.get("unique_lead_fields", DEFAULT_UNIQUE_FIELDS):
        value = values.get(name)
        if value is None:
            continue
        clash = find_lead(tenant, name, value)
        if clash is not None and clash["ProspectID"] != own_id:
            raise duplicate_entry(f"Duplicate entry '{value}' for key 'UQ_Prospect_Base_{name}'")


def _refresh_derived(tenant: Tenant, record: dict[str, Any]) -> None:
    owner = tenant.users.get(record.get("OwnerId") or "", {})
    record["OwnerIdName"] = user_name(tenant, record.get("OwnerId"))
    record["OwnerIdEmailAddress"] = owner.get("EmailAddress")
    record["CreatedByName"] = user_name(tenant, record.get("CreatedBy"))
    record["ModifiedByName"] = user_name(tenant, record.get("ModifiedBy"))


def build_record(
    tenant: Tenant, values: Mapping[str, str | None], *, lead_id: str, auto_id: int,
    created_on: str, created_by: str, modified_on: str | None = None,
) -> dict[str, Any]:
    """A complete stored record: every field key, defaults, system fields, derived names."""
    record: dict[str, Any] = {field["SchemaName"]: None for field in tenant.lead_fields}
    record.update(CREATE_DEFAULTS)
    record["OwnerId"] = created_by  # LIKELY: the creating user owns the lead unless told
    record.update({k: v for k, v in values.items() if v is not None})
    record.update({
        "ProspectID": lead_id, "ProspectAutoId": str(auto_id),
        "CreatedBy": created_by, "CreatedOn": created_on,
        "ModifiedBy": created_by, "ModifiedOn": modified_on or created_on,
    })
    _refresh_derived(tenant, record)
    return record


def insert_lead(
    request: SandboxRequest, fields: Mapping[str, Any], *, count_key: str | None = None
) -> dict[str, Any]:
    """Create a lead from ``{schema name: value}``; returns the stored flat lead.

    Raises the LeadSquared errors for unknown attributes, wrong value types, no identity
    field and unique clashes. Counts ``create_counts[count_key]`` (default
    ``"<operation>:<body fingerprint>"``) and emits ``lead_create``.
    """
    tenant = request.tenant
    values = resolve_fields(tenant, fields)
    if all(values.get(name) is None for name in IDENTITY_FIELDS):
        # UNKNOWN in the reference: the exact message; the rule is documented (§4.1).
        raise mandatory_missing("At least one of FirstName, LastName, EmailAddress or Phone "
                                "is mandatory to create a lead")
    missing = [f["SchemaName"] for f in tenant.lead_fields
               if f["IsMandatory"] and values.get(f["SchemaName"]) is None]
    if missing:
        raise mandatory_missing(f"Mandatory attribute(s) missing - {','.join(missing)}")
    _check_unique(tenant, values, None)
    record = build_record(
        tenant, values, lead_id=new_id(), auto_id=tenant.next_auto_id(),
        created_on=lead_time(request.now()), created_by=request.user_id,
    )
    tenant.leads[record["ProspectID"]] = record
    tenant.create_counts[count_key or f"{request.operation}:{body_fingerprint(request.body)}"] += 1
    request.emit("lead_create", webhook_lead(record))
    return flat_lead(record)


def webhook_lead(record: Mapping[str, Any]) -> dict[str, Any]:
    """A lead webhook's payload: the flat lead with only the fields that have a value
    (reference §12.3: "the mandatory fields and every field that has a value")."""
    return {name: value for name, value in flat_lead(record).items() if value is not None}


def update_lead(
    request: SandboxRequest, record: dict[str, Any], fields: Mapping[str, Any], *, notify: bool
) -> dict[str, Any]:
    """Apply ``fields`` to a stored lead; emits ``lead_update`` only when ``notify``."""
    tenant = request.tenant
    values = resolve_fields(tenant, fields)
    _check_unique(tenant, values, record["ProspectID"])
    record.update(values)
    record["ModifiedOn"] = lead_time(request.now())
    record["ModifiedBy"] = request.user_id
    _refresh_derived(tenant, record)
    if notify:  # Lead.Update fires update webhooks only with postUpdatedLead=true (§4.4)
        request.emit("lead_update", webhook_lead(record))
    return flat_lead(record)


def delete_lead(tenant: Tenant, lead_id: str) -> None:
    """Hard delete (§4.6): the lead, its list memberships, its activities, its opportunities and
    the tasks of the lead or of those opportunities."""
    tenant.leads.pop(lead_id, None)
    for activity_id in [i for i, a in tenant.lead_activities.items()
                        if a["RelatedProspectId"] == lead_id]:
        del tenant.lead_activities[activity_id]
    for members in tenant.list_members.values():
        if lead_id in members:
            members.remove(lead_id)
    owned = {lead_id} | {
        i for i, opp in tenant.opportunities.items() if opp.get("RelatedProspectId") == lead_id
    }
    for opportunity_id in owned - {lead_id}:
        del tenant.opportunities[opportunity_id]
    for task_id in [i for i, t in tenant.tasks.items() if t.get("RelatedEntityId") in owned]:
        del tenant.tasks[task_id]


# ---- seed --------------------------------------------------------------------------------


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Seed ``leads``: fixed ProspectID/ProspectAutoId, plain UTC CreatedOn/ModifiedOn."""
    tenant.leads = {}
    highest = 0
    for item in data.get("leads", []) or []:
        item = dict(item)
        lead_id, auto_id = str(item.pop("ProspectID")), int(item.pop("ProspectAutoId"))
        created = parse_time(str(item.pop("CreatedOn")))
        modified = parse_time(str(item.pop("ModifiedOn", ""))) or created
        if created is None:
            raise ValueError(f"seed lead {lead_id}: CreatedOn must be 'yyyy-MM-dd HH:mm:ss'")
        values = resolve_fields(tenant, item, system=True)
        owner = values.get("OwnerId") or next(iter(tenant.users))
        tenant.leads[lead_id] = build_record(
            tenant, values, lead_id=lead_id, auto_id=auto_id,
            created_on=created.strftime(LEAD_TIME_FORMAT), created_by=owner,
            modified_on=(modified or created).strftime(LEAD_TIME_FORMAT),
        )
        highest = max(highest, auto_id)
    while highest and tenant.next_auto_id() < highest:  # new leads continue after the seed
        pass
