"""CompanyActivity.svc: activities posted on accounts (reference §6).

``tenant.account_activity_types`` maps an event code (e.g. 10001) to
``{ActivityEvent, DisplayName, Fields: [{SchemaName, DisplayName, DataType, IsMandatory}]}``;
``tenant.account_activities`` holds the records by ``CompanyActivityId`` in their read shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.sandbox.errors import LsqError, invalid_data, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.accounts import (
    as_text,
    count_create,
    format_date,
    page_window,
    parse_date,
    user_name,
)
from runtime.sandbox.state import Tenant, new_id

router = Router()

# INVENTED / unconfirmed: LeadSquared documents no way to delete an account activity (reference
# §6, UNKNOWN). The sandbox serves this GET, shaped like the other GET deletes, so the connector
# can be exercised; a real tenant may answer 404.
DELETE_OPERATION = "CompanyActivity.svc/Delete"
# UNKNOWN in the reference: the value of ActivityType; chosen 2, LeadSquared's "custom" event
# type on lead activity types (§4.8), since account activity types are all custom.
ACTIVITY_TYPE = 2
FIELDS_ERROR = "MXInvalidActivityFieldsException"  # CONFIRMED type for activity field errors
RANGE_FIELDS = ("CreatedOn", "ModifiedOn", "ActivityDateTime")  # Retrieve's date readings


def us_datetime(moment: datetime) -> str:
    """``7/31/2026 5:33:50 AM``: the style of ``ActivityFields.CreatedOn`` (reference §2.1)."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


def activity_type(tenant: Tenant, code: Any) -> dict[str, Any]:
    return kind_of(tenant.account_activity_types, code)


def kind_of(types: Mapping[int, dict[str, Any]], code: Any) -> dict[str, Any]:
    """The activity type (account or lead) with this ActivityEvent code."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        raise mandatory_missing("ActivityEvent is mandatory") from None
    found = types.get(number)
    if found is None:
        # UNKNOWN in the reference: the exception for an unknown activity code; chosen here.
        raise invalid_entity(f"Activity Event '{number}' does not exist")
    return found


def field_values(
    tenant: Tenant, kind: dict[str, Any], fields: Any, current: Mapping[str, Any] | None = None
) -> dict[str, str | None]:
    """``Fields:[{SchemaName, Value}]`` checked against the type; mandatory ones when creating."""
    if fields is None:
        fields = []
    if not isinstance(fields, list):
        raise LsqError(FIELDS_ERROR, "Fields must be a list of {SchemaName, Value}")
    known = {spec["SchemaName"]: spec for spec in kind.get("Fields", [])}
    values: dict[str, str | None] = {}
    for pair in fields:
        name = pair.get("SchemaName") if isinstance(pair, Mapping) else None
        if name not in known:
            # UNKNOWN in the reference: wording for a field the type does not have.
            raise LsqError(FIELDS_ERROR, f"Field name : '{name}' does not exist.")
        values[name] = as_text(pair.get("Value"))
    owner = values.get("Owner")
    if owner and owner not in tenant.users:
        # LIKELY: Owner takes a user id (the docs' examples send a GUID; lead activities too).
        raise LsqError(FIELDS_ERROR, f"Field name : 'Owner' has an invalid user id '{owner}'.")
    merged = {**(current or {}), **values}
    for name, spec in known.items():
        if spec.get("IsMandatory") and not merged.get(name):
            raise LsqError(
                FIELDS_ERROR,
                f"Field name : '{name}' of datatype : '{spec.get('DataType', 'String')}' "
                "is mandatory.",
            )
    return values


def new_activity(
    tenant: Tenant, kind: dict[str, Any], company_id: str, note: Any, when: datetime,
    created: datetime, user_id: str, values: dict[str, str | None],
) -> dict[str, Any]:
    """One activity record in the read shape of Retrieve / RetrieveById."""
    stamp = format_date(created)
    fields = {spec["SchemaName"]: None for spec in kind.get("Fields", [])}
    fields.update(values)
    fields["CreatedOn"] = us_datetime(created)
    return {
        "CompanyActivityId": new_id(),
        "RelatedCompanyId": company_id,
        "ActivityEvent": kind["ActivityEvent"],
        "ActivityNote": as_text(note),
        "ActivityDateTime": format_date(when),
        "ActivityType": ACTIVITY_TYPE,
        "ActivityDisplayName": kind["DisplayName"],
        "CreatedOn": stamp,
        "ModifiedOn": stamp,
        "CreatedBy": user_id,
        "CreatedByName": user_name(tenant, user_id),
        "ModifiedBy": user_id,
        "ModifiedByName": user_name(tenant, user_id),
        "ActivityFields": fields,
    }


def find_activity(tenant: Tenant, activity_id: str) -> dict[str, Any]:
    return activity_of(tenant.account_activities, activity_id)


def activity_of(activities: Mapping[str, dict[str, Any]], activity_id: str) -> dict[str, Any]:
    """The activity (account or lead) with this id."""
    found = activities.get(activity_id)
    if found is None:
        raise invalid_entity("Activity does not exist in the system")  # UNKNOWN: message
    return found


@router.route("CompanyActivity.svc/Create", "POST")
def create(request: SandboxRequest) -> dict[str, Any]:
    tenant, body = request.tenant, request.body
    body = body if isinstance(body, Mapping) else {}
    company_id = body.get("RelatedCompanyId")
    if not company_id:
        raise mandatory_missing("RelatedCompanyId is mandatory")
    if company_id not in tenant.companies:
        raise invalid_entity("Company does not exist in the system")
    kind = activity_type(tenant, body.get("ActivityEvent"))
    values = field_values(tenant, kind, body.get("Fields"))
    now = request.now()
    when = parse_date(body["ActivityDateTime"], "ActivityDateTime") if body.get(
        "ActivityDateTime") else now
    record = new_activity(
        tenant, kind, company_id, body.get("ActivityNote"), when, now, request.user_id, values
    )
    tenant.account_activities[record["CompanyActivityId"]] = record
    count_create(request)
    return {"Status": "Success", "Message": {"Id": record["CompanyActivityId"]}}


@router.route("CompanyActivity.svc/Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    body = request.object_body
    request.require_field("CompanyActivityId")
    record = find_activity(tenant, str(body["CompanyActivityId"]))
    kind = tenant.account_activity_types[record["ActivityEvent"]]
    values = field_values(tenant, kind, body.get("Fields"), record["ActivityFields"])
    record["ActivityFields"].update(values)
    if "ActivityNote" in body:
        record["ActivityNote"] = as_text(body["ActivityNote"])
    record.update(
        ModifiedOn=format_date(request.now()), ModifiedBy=request.user_id,
        ModifiedByName=user_name(tenant, request.user_id),
    )
    message = {"Id": record["CompanyActivityId"], "IsSuccessful": True}
    return {"Status": "Success", "Message": message}


@router.route("CompanyActivity.svc/Retrieve", "POST", body_required=False)
def retrieve(request: SandboxRequest) -> dict[str, Any]:
    company_id = request.require_arg("companyId")
    body = request.object_body
    parameter = body.get("Parameter") if isinstance(body.get("Parameter"), Mapping) else {}
    low = format_date(parse_date(parameter["FromDate"], "FromDate")) if parameter.get(
        "FromDate") else None
    high = format_date(parse_date(parameter["ToDate"], "ToDate")) if parameter.get(
        "ToDate") else None
    # UNKNOWN in the reference: which date FromDate/ToDate bound. Chosen CreatedOn, newest
    # first; a tenant setting ``activity_range_field`` (CreatedOn, ModifiedOn or
    # ActivityDateTime) emulates the other readings. An unknown company has no activities.
    field = str(request.tenant.settings.get("activity_range_field") or "CreatedOn")
    if field not in RANGE_FIELDS:
        raise invalid_data(f"activity_range_field must be one of {', '.join(RANGE_FIELDS)}")
    rows = [
        record for record in request.tenant.account_activities.values()
        if record["RelatedCompanyId"] == company_id
        and (low is None or record[field] >= low)
        and (high is None or record[field] <= high)
    ]
    rows.sort(key=lambda record: record[field], reverse=True)
    start, size = page_window(body.get("Paging"))
    return {"RecordCount": len(rows), "CompanyActivities": rows[start : start + size]}


@router.route("CompanyActivity.svc/RetrieveById", "GET")
def retrieve_by_id(request: SandboxRequest) -> dict[str, Any]:
    return find_activity(request.tenant, request.require_arg("activityId"))


@router.route(DELETE_OPERATION, "GET")
def delete(request: SandboxRequest) -> dict[str, Any]:
    """INVENTED (see :data:`DELETE_OPERATION`): answers like Opportunity Delete."""
    activity_id = request.require_arg("activityId")
    find_activity(request.tenant, activity_id)
    del request.tenant.account_activities[activity_id]
    return {"Status": "Success", "Message": {"IsSuccessful": True}}


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Account activity types and activities from the tenant's seed."""
    tenant.account_activity_types = {
        int(entry["ActivityEvent"]): {**entry, "ActivityEvent": int(entry["ActivityEvent"])}
        for entry in data.get("account_activity_types", [])
    }
    tenant.account_activities = {}
    for entry in data.get("account_activities", []):
        kind = tenant.account_activity_types[int(entry["ActivityEvent"])]
        created = parse_date(entry["CreatedOn"], "CreatedOn")
        when = parse_date(entry.get("ActivityDateTime") or entry["CreatedOn"], "ActivityDateTime")
        values = {key: as_text(value) for key, value in (entry.get("Fields") or {}).items()}
        record = new_activity(
            tenant, kind, entry["RelatedCompanyId"], entry.get("ActivityNote"), when, created,
            entry["CreatedBy"], values,
        )
        record["CompanyActivityId"] = entry["CompanyActivityId"]
        tenant.account_activities[record["CompanyActivityId"]] = record
