"""Lead reads: GetById, GetByEmailaddress, RetrieveLeadByPhoneNumber, GetByQuickSearch,
Leads.Get, Leads.RecentlyModified and Leads/Retrieve/ByIds (reference §4.5).

The first five and ByIds answer flat lead objects; RecentlyModified answers the
``LeadPropertyList`` shape.
"""

from __future__ import annotations

import re
from typing import Any

from runtime.sandbox.errors import LsqError
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.lead_metadata import field_index
from runtime.sandbox.services.leads import flat_lead, parse_time, property_list
from runtime.sandbox.services.leads_query import (
    check_operator,
    columns,
    include_csv,
    matches,
    page,
    require_object,
    require_text,
    sort_records,
)

router = Router()

QUICK_SEARCH_FIELDS = ("FirstName", "LastName", "EmailAddress", "Phone", "Mobile", "Company")
PHONE_FIELDS = ("Phone", "Mobile")  # RetrieveLeadByPhoneNumber matches these only (§4.5)
NATIONAL_DIGITS = 10  # LIKELY: "with or without country code" = the last 10 digits agree
# (default PageSize, max PageSize) per operation. Documented maxima: RecentlyModified 5000,
# ByIds 10000; the defaults and the Leads.Get maximum are UNKNOWN in the reference: chosen.
PAGING = {"Leads.Get": (100, 5000), "RecentlyModified": (100, 5000), "ByIds": (1000, 10000)}
DEFAULT_ORDER = ("ProspectAutoId", False)  # UNKNOWN: unsorted reads come in creation order


def _all(request: SandboxRequest) -> list[dict[str, Any]]:
    return [flat_lead(record) for record in request.tenant.leads.values()]


@router.route("LeadManagement.svc/Leads.GetById", "GET")
def get_by_id(request: SandboxRequest) -> list[dict[str, Any]]:
    """``[lead]`` or ``[]`` (LIKELY for a missing id, reference §14)."""
    record = request.tenant.leads.get(request.require_arg("id"))
    return [flat_lead(record)] if record else []


@router.route("LeadManagement.svc/Leads.GetByEmailaddress", "GET")
def get_by_email(request: SandboxRequest) -> list[dict[str, Any]]:
    """Case-insensitive email match; a wrongly named parameter just finds nothing (200 [])."""
    wanted = (request.arg("emailaddress") or "").strip().lower()
    return [
        lead for lead in _all(request)
        if wanted and (lead.get("EmailAddress") or "").lower() == wanted
    ]


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def _same_phone(stored: str | None, wanted: str) -> bool:
    digits = _digits(stored)
    if not digits or not wanted:
        return False
    if min(len(digits), len(wanted)) >= NATIONAL_DIGITS:
        return digits[-NATIONAL_DIGITS:] == wanted[-NATIONAL_DIGITS:]
    return digits == wanted


@router.route("LeadManagement.svc/RetrieveLeadByPhoneNumber", "GET")
def get_by_phone(request: SandboxRequest) -> list[dict[str, Any]]:
    """Phone or Mobile, digits only; of several matches, the most recently modified one."""
    wanted = _digits(request.arg("phone"))
    found = [
        lead for lead in _all(request)
        if any(_same_phone(lead.get(name), wanted) for name in PHONE_FIELDS)
    ]
    found = sort_records(found, {"ColumnName": "ModifiedOn", "Direction": "1"}, DEFAULT_ORDER)
    return found[:1]


@router.route("LeadManagement.svc/Leads.GetByQuickSearch", "GET")
def quick_search(request: SandboxRequest) -> list[dict[str, Any]]:
    """Leads whose name, email, phone or company contains ``key`` (LIKELY field list)."""
    key = (request.arg("key") or "").strip().casefold()
    if not key:
        return []
    key_digits = _digits(key) if re.fullmatch(r"[\d\s+\-()]+", key) else ""

    def hit(lead: dict[str, Any]) -> bool:
        full_name = f"{lead.get('FirstName') or ''} {lead.get('LastName') or ''}"
        texts = [str(lead.get(name) or "") for name in QUICK_SEARCH_FIELDS] + [full_name]
        if any(key in text.casefold() for text in texts):
            return True
        return bool(key_digits) and any(
            key_digits in _digits(lead.get(name)) for name in PHONE_FIELDS
        )

    return [lead for lead in _all(request) if hit(lead)]


@router.route("LeadManagement.svc/Leads.Get", "POST")
def leads_get(request: SandboxRequest) -> list[dict[str, Any]]:
    """Search by one field. A ``Query`` wrapper is ignored (unfiltered rows, §4.5 gotcha)."""
    body = require_object(request.body, "Leads.Get")
    rows = _all(request)
    parameter = body.get("Parameter")
    if isinstance(parameter, dict) and parameter.get("LookupName"):
        name = str(parameter["LookupName"])
        sql_operator = str(parameter.get("SqlOperator") or "=")
        value = "" if parameter.get("LookupValue") is None else str(parameter["LookupValue"])
        check_operator(sql_operator)
        _check_boolean_filter(request, name, value)
        rows = [lead for lead in rows if matches(lead, name, sql_operator, value)]
    rows = sort_records(rows, body.get("Sorting"), DEFAULT_ORDER)
    default_size, max_size = PAGING["Leads.Get"]
    rows = page(rows, body.get("Paging"), default_size=default_size, max_size=max_size)
    return [columns(lead, include_csv(body)) for lead in rows]


def _check_boolean_filter(request: SandboxRequest, name: str, value: str) -> None:
    """Bit fields filter on "1"/"0"; "true" gave HTTP 500 live (reference §2.2)."""
    field = field_index(request.tenant).get(name.lower())
    is_bit = bool(field) and field["SchemaName"] == name and field["DataType"] == "Boolean"
    if is_bit and value.strip() not in {"0", "1"}:
        raise LsqError(
            "MXInvalidDataTypeException", f"Invalid value '{value}' for '{name}'; use 1 or 0"
        )


@router.route("LeadManagement.svc/Leads.RecentlyModified", "POST")
def recently_modified(request: SandboxRequest) -> dict[str, Any]:
    """Leads with FromDate <= ModifiedOn <= ToDate, as ``LeadPropertyList`` items."""
    body = require_object(request.body, "Leads.RecentlyModified")
    parameter = body.get("Parameter")
    bounds = []
    for name in ("FromDate", "ToDate"):
        moment = parse_time(require_text(parameter, name))
        if moment is None:
            raise LsqError("MXInvalidDataTypeException",
                           f"'{name}' must be a UTC date 'yyyy-MM-dd HH:mm:ss'")
        bounds.append(moment)
    start, end = bounds
    rows = [
        lead for lead in _all(request)
        if start <= (parse_time(lead["ModifiedOn"]) or start) <= end
    ]
    rows = sort_records(rows, body.get("Sorting"), ("ModifiedOn", False))
    default_size, max_size = PAGING["RecentlyModified"]
    selected = page(rows, body.get("Paging"), default_size=default_size, max_size=max_size)
    return {
        "RecordCount": len(rows),
        "Leads": [property_list(columns(lead, include_csv(body))) for lead in selected],
    }


@router.route("LeadManagement.svc/Leads/Retrieve/ByIds", "POST")
def by_ids(request: SandboxRequest) -> dict[str, Any]:
    """The leads among ``SearchParameters.LeadIds``, in the order asked; unknown ids skipped."""
    body = require_object(request.body, "Leads/Retrieve/ByIds")
    search = body.get("SearchParameters")
    ids = search.get("LeadIds") if isinstance(search, dict) else None
    if not isinstance(ids, list) or not ids:
        raise LsqError("MXMandatoryAttributeMissingException", "'LeadIds' is mandatory")
    default_size, max_size = PAGING["ByIds"]
    if len(ids) > max_size:
        raise LsqError("MXInvalidDataTypeException", f"At most {max_size} LeadIds are allowed")
    leads = request.tenant.leads
    found = [flat_lead(leads[str(i)]) for i in dict.fromkeys(map(str, ids)) if str(i) in leads]
    selected = page(found, body.get("Paging"), default_size=default_size, max_size=max_size)
    return {
        "RecordCount": len(found),
        "Leads": [columns(lead, include_csv(body)) for lead in selected],
    }
