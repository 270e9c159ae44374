"""CompanyManagement.svc: accounts (companies) of a company type (reference §5).

``tenant.company_types`` lists the types (``{CompanyTypeId, CompanyTypeName}``; created in the
UI only), ``tenant.company_fields`` the writable fields (``{SchemaName, DisplayName, DataType,
IsMandatory}``) and ``tenant.companies`` the records by ``CompanyId``: field values as strings
plus ``CompanyType`` (the type name) and the system columns.

The small helpers at the top (dates, paging, create counting) are shared by the sandbox's
account, account-activity, opportunity and task services.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.sandbox.errors import LsqError, invalid_data, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.leads import delete_lead
from runtime.sandbox.state import Tenant, new_id

router = Router()

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # request dates and account/task reads (reference §2.1)
MISSING_DETAILS = "You're missing Company details."  # live text (reference §5.2)
SYSTEM_COLUMNS = ("CompanyId", "OwnerName", "CreatedBy", "CreatedOn", "ModifiedBy", "ModifiedOn")
DATE_FIELDS = ("CreatedOn", "ModifiedOn")
# UNKNOWN in the reference: defaults when Company.Get has no Sorting / Paging (the docs'
# example sorts by ModifiedOn descending and pages by 100).
DEFAULT_SORT = ("ModifiedOn", "1")
DEFAULT_PAGE_SIZE = 100


# -- shared helpers ---------------------------------------------------------------------------


def format_date(moment: datetime) -> str:
    """``2019-04-10 07:05:24``: UTC, no milliseconds (account, activity and task reads)."""
    return moment.astimezone(UTC).strftime(DATE_FORMAT)


def parse_date(value: Any, name: str) -> datetime:
    """A request datetime ``yyyy-MM-dd HH:mm:ss`` (UTC); a date alone means midnight."""
    text = str(value or "").strip()
    for pattern in (DATE_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise invalid_data(f"'{name}' is not a valid date: '{text}'. Use yyyy-MM-dd HH:mm:ss (UTC).")


def as_text(value: Any) -> str | None:
    """A field value as LeadSquared stores it: a string, or ``None`` when unset."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def page_window(paging: Any, default_size: int = DEFAULT_PAGE_SIZE) -> tuple[int, int]:
    """(offset, size) from ``{PageIndex, PageSize}`` (1-based; strings or ints)."""
    paging = paging if isinstance(paging, Mapping) else {}
    try:
        index = int(paging.get("PageIndex", 1))
        size = int(paging.get("PageSize", default_size))
    except (TypeError, ValueError):
        raise invalid_data("Paging values must be numbers") from None
    if index < 1 or size < 1:
        raise invalid_data("PageIndex and PageSize must be 1 or more")
    return (index - 1) * size, size


def fingerprint(body: Any) -> str:
    """A stable short hash of a request body (keys sorted)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def count_create(request: SandboxRequest) -> None:
    """Count one record create under ``operation:fingerprint`` (design: duplicate detection)."""
    request.tenant.create_counts[f"{request.operation}:{fingerprint(request.body)}"] += 1


def user_name(tenant: Tenant, user_id: str | None) -> str | None:
    """A user's display name ("First Last"), or ``None`` for an unknown id."""
    user = tenant.users.get(user_id or "")
    if user is None:
        return None
    return f"{user.get('FirstName') or ''} {user.get('LastName') or ''}".strip()


def unknown_attributes(names: Iterable[str]) -> LsqError:
    """The error LeadSquared gives for attribute names it does not know (reference §2.4)."""
    return LsqError(
        "MXUnknownAttributeException", f"Attribute(s) does not exist - {','.join(names)}"
    )


def matches(value: str | None, operator: str, wanted: str) -> bool:
    """SQL-style comparison of a stored string with a filter value (case-insensitive)."""
    test = OPERATORS.get(operator.strip().upper())
    if test is None:
        raise invalid_data(f"SqlOperator '{operator}' is not supported")
    return test(value, wanted)


def _ordered(value: str | None, wanted: str, compare: Callable[[Any, Any], bool]) -> bool:
    if value is None:
        return False
    try:
        return compare(float(value), float(wanted))
    except ValueError:
        return compare(value.lower(), wanted.lower())


def _like(value: str | None, pattern: str) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


OPERATORS: dict[str, Callable[[str | None, str], bool]] = {
    "=": lambda v, w: (v or "").lower() == w.lower(),
    "<>": lambda v, w: (v or "").lower() != w.lower(),
    "!=": lambda v, w: (v or "").lower() != w.lower(),
    "LIKE": _like,
    ">": lambda v, w: _ordered(v, w, lambda a, b: a > b),
    "<": lambda v, w: _ordered(v, w, lambda a, b: a < b),
    ">=": lambda v, w: _ordered(v, w, lambda a, b: a >= b),
    "<=": lambda v, w: _ordered(v, w, lambda a, b: a <= b),
}


# -- companies --------------------------------------------------------------------------------


def company_type(tenant: Tenant, wrapper: Any) -> str:
    """The type name from ``{"CompanyTypeName": ...}``; MX errors when missing or unknown."""
    name = wrapper.get("CompanyTypeName") if isinstance(wrapper, Mapping) else None
    if not name:
        raise mandatory_missing("CompanyType is mandatory")
    for entry in tenant.company_types:
        if str(entry["CompanyTypeName"]).lower() == str(name).lower():
            return str(entry["CompanyTypeName"])
    # UNKNOWN in the reference: the exception for a type that does not exist; chosen here.
    raise invalid_entity(f"Company Type '{name}' does not exist")


def company_properties(tenant: Tenant, body: Any) -> dict[str, str | None]:
    """``CompanyProperties`` as {schema name: value}; the wrapper object is required."""
    if not isinstance(body, Mapping) or not isinstance(body.get("CompanyProperties"), list):
        raise invalid_data(MISSING_DETAILS)
    known = {field["SchemaName"] for field in tenant.company_fields}
    values: dict[str, str | None] = {}
    for pair in body["CompanyProperties"]:
        if not isinstance(pair, Mapping) or not pair.get("Attribute"):
            raise invalid_data(MISSING_DETAILS)
        values[str(pair["Attribute"])] = as_text(pair.get("Value"))
    unknown = [name for name in values if name not in known]
    if unknown:
        raise unknown_attributes(unknown)
    owner = values.get("OwnerId")
    if owner and owner not in tenant.users:
        raise invalid_entity(f"Owner '{owner}' does not exist")  # UNKNOWN: chosen exception
    return values


def find_company(tenant: Tenant, company_id: str) -> dict[str, Any]:
    company = tenant.companies.get(company_id)
    if company is None:
        # UNKNOWN in the reference: the exact message; the type matches leads (§4.4).
        raise invalid_entity("Company does not exist in the system")
    return company


def property_list(tenant: Tenant, company: dict[str, Any], columns: list[str] | None) -> list:
    """The ``companyPropertyList`` of one company: every field, then the system columns."""
    names = ["CompanyId", *(f["SchemaName"] for f in tenant.company_fields), *SYSTEM_COLUMNS[1:]]
    row = {**company, "OwnerName": user_name(tenant, company.get("OwnerId"))}
    wanted = names if columns is None else [name for name in names if name in columns]
    return [{"Attribute": name, "Value": row.get(name)} for name in wanted]


def unlink_or_delete_leads(tenant: Tenant, company_id: str, delete: bool) -> None:
    """Delete the account's leads (and their tasks and opportunities) or unlink them."""
    linked = [i for i, lead in tenant.leads.items() if lead.get("RelatedCompanyId") == company_id]
    for lead_id in linked:
        if not delete:
            tenant.leads[lead_id]["RelatedCompanyId"] = None
            continue
        delete_lead(tenant, lead_id)  # the lead and its list memberships
        for collection, key in ((tenant.tasks, "RelatedEntityId"),
                                (tenant.opportunities, "RelatedProspectId")):
            for record_id in [i for i, r in collection.items() if r.get(key) == lead_id]:
                del collection[record_id]


@router.route("CompanyManagement.svc/Company.Create", "POST")
def create(request: SandboxRequest) -> dict[str, Any]:
    tenant, body = request.tenant, request.body
    if not isinstance(body, Mapping):
        raise invalid_data(MISSING_DETAILS)
    type_name = company_type(tenant, body.get("CompanyType"))
    values = company_properties(tenant, body)
    if not values.get("CompanyName"):
        raise mandatory_missing("CompanyName is mandatory")  # UNKNOWN: exact message
    now = format_date(request.now())
    company_id = new_id()
    record = {field["SchemaName"]: None for field in tenant.company_fields}
    record.update(values)
    record.update(
        CompanyId=company_id, CompanyType=type_name, CreatedBy=request.user_id, CreatedOn=now,
        ModifiedBy=request.user_id, ModifiedOn=now,
    )
    record["OwnerId"] = record.get("OwnerId") or request.user_id  # LIKELY: caller owns by default
    tenant.companies[company_id] = record
    count_create(request)
    return {"Status": "Success", "Message": {"Id": company_id}}


@router.route("CompanyManagement.svc/Company.Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    company = find_company(request.tenant, request.require_arg("companyId"))
    values = company_properties(request.tenant, request.body)
    if "CompanyName" in values and not values["CompanyName"]:
        raise mandatory_missing("CompanyName is mandatory")
    company.update(values)
    company.update(ModifiedBy=request.user_id, ModifiedOn=format_date(request.now()))
    return {"Status": "Success", "Message": {"AffectedRows": 1}}


@router.route("CompanyManagement.svc/Company.Get", "POST")
def get(request: SandboxRequest) -> dict[str, Any]:
    tenant, body = request.tenant, request.body
    query = body.get("Query") if isinstance(body, Mapping) else None
    if not isinstance(query, Mapping):
        raise mandatory_missing("CompanyType is mandatory")
    type_name = company_type(tenant, query.get("CompanyType"))
    rows = [c for c in tenant.companies.values() if c.get("CompanyType") == type_name]
    rows = _search(rows, query.get("SearchText"))
    rows = _date_range(rows, query.get("DateRange"))
    rows = _filter(tenant, rows, query.get("FilterBy"))
    rows = _sort(tenant, rows, body.get("Sorting"))
    start, size = page_window(body.get("Paging"))
    columns = _columns(tenant, body.get("Columns"))
    return {
        "RecordCount": len(rows),
        "Companies": [
            {"companyPropertyList": property_list(tenant, row, columns)}
            for row in rows[start : start + size]
        ],
    }


@router.route("CompanyManagement.svc/Company.Delete", "GET")
def delete(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    company_id = request.require_arg("companyId")
    find_company(tenant, company_id)
    # One doc version spells it WithLeadDelete: request.arg is case-insensitive. UNKNOWN in the
    # reference: a missing value means false (unlink only).
    flag = (request.arg("withLeadDelete") or "false").strip().lower()
    if flag not in {"true", "false"}:
        raise invalid_data("withLeadDelete must be true or false")
    unlink_or_delete_leads(tenant, company_id, flag == "true")
    for activity_id in [
        i for i, a in tenant.account_activities.items() if a["RelatedCompanyId"] == company_id
    ]:
        del tenant.account_activities[activity_id]
    del tenant.companies[company_id]
    return {"Status": "Success", "Message": {}}


def _all_columns(tenant: Tenant) -> set[str]:
    return {*SYSTEM_COLUMNS, *(f["SchemaName"] for f in tenant.company_fields)}


def _search(rows: list[dict[str, Any]], text: Any) -> list[dict[str, Any]]:
    # LIKELY: SearchText is a name search (the docs call it a "name fragment").
    if not text:
        return rows
    needle = str(text).lower()
    return [row for row in rows if needle in (row.get("CompanyName") or "").lower()]


def _date_range(rows: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, Mapping):
        return rows
    field = spec.get("DateField") or "ModifiedOn"
    if field not in DATE_FIELDS:
        raise invalid_data(f"DateField '{field}' is not a date field; use CreatedOn or ModifiedOn")
    low = format_date(parse_date(spec["FromDate"], "FromDate")) if spec.get("FromDate") else None
    high = format_date(parse_date(spec["ToDate"], "ToDate")) if spec.get("ToDate") else None
    return [
        row for row in rows
        if (low is None or row[field] >= low) and (high is None or row[field] <= high)
    ]


def _filter(tenant: Tenant, rows: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, Mapping) or not spec.get("LookupName"):
        return rows
    name = str(spec["LookupName"])
    if name not in _all_columns(tenant):
        raise unknown_attributes([name])
    wanted, operator = str(spec.get("LookupValue") or ""), str(spec.get("SqlOperator") or "=")
    with_owner = ({**row, "OwnerName": user_name(tenant, row.get("OwnerId"))} for row in rows)
    kept = {row["CompanyId"] for row in with_owner if matches(row.get(name), operator, wanted)}
    return [row for row in rows if row["CompanyId"] in kept]


def _sort(tenant: Tenant, rows: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    spec = spec if isinstance(spec, Mapping) else {}
    column = str(spec.get("ColumnName") or DEFAULT_SORT[0])
    if column not in _all_columns(tenant):
        raise unknown_attributes([column])
    descending = str(spec.get("Direction", DEFAULT_SORT[1])) == "1"
    return sorted(rows, key=lambda row: row.get(column) or "", reverse=descending)


def _columns(tenant: Tenant, spec: Any) -> list[str] | None:
    csv = spec.get("Include_CSV") if isinstance(spec, Mapping) else None
    if not csv:
        return None
    names = [name.strip() for name in str(csv).split(",") if name.strip()]
    # LIKELY: "Include_CSV is picky about names" (reference §5.3): unknown names are an error.
    unknown = [name for name in names if name not in _all_columns(tenant)]
    if unknown:
        raise unknown_attributes(unknown)
    return names


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Company types, company fields and accounts from the tenant's seed."""
    tenant.company_types = [dict(entry) for entry in data.get("company_types", [])]
    tenant.company_fields = [dict(entry) for entry in data.get("company_fields", [])]
    tenant.companies = {}
    for entry in data.get("companies", []):
        record: dict[str, Any] = {f["SchemaName"]: None for f in tenant.company_fields}
        record.update({key: as_text(value) for key, value in entry.items()})
        record.setdefault("ModifiedOn", record.get("CreatedOn"))
        record.setdefault("ModifiedBy", record.get("CreatedBy"))
        tenant.companies[record["CompanyId"]] = record
