"""Lists (segments): Lists.Get, CreateEmptyList, static-list add/remove/empty and members
(reference §9).

``tenant.lists[id]`` holds ``{ListId, ListName, ListDescription, ListType, CreatedOn, Rule}``;
``tenant.list_members[id]`` the lead ids of a static list in the order they were added.
A dynamic list's members are computed from its ``Rule`` (``{LookupName, SqlOperator,
LookupValue}``, the same filter as Leads.Get) each time they are read.
"""

from __future__ import annotations

from typing import Any

from runtime.sandbox.errors import duplicate_entry, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.leads import body_fingerprint, flat_lead, lead_time, property_list
from runtime.sandbox.services.leads_query import (
    columns,
    include_csv,
    matches,
    page,
    require_object,
    sort_records,
)
from runtime.sandbox.state import Tenant, new_id

router = Router()

LIST_TYPES = {"0": "static", "1": "dynamic", "2": "refreshable"}  # query code -> response
LISTS_PAGE_SIZE = 100  # UNKNOWN in the reference: Lists.Get page size; chosen here
MEMBERS_PAGING = (100, 5000)  # UNKNOWN: BySearchParameter default and maximum PageSize
LIST_MISSING = "List does not exist"
LEAD_MISSING = "Lead does not exist in the system"


def members(tenant: Tenant, list_id: str) -> list[str]:
    """The member lead ids of a list: stored for static lists, computed for the others."""
    item = tenant.lists[list_id]
    rule = item.get("Rule")
    if item["ListType"] == "static" or not isinstance(rule, dict):
        return [i for i in tenant.list_members.get(list_id, []) if i in tenant.leads]
    ordered = sorted(tenant.leads.values(), key=lambda r: int(r["ProspectAutoId"]))
    return [
        r["ProspectID"] for r in ordered
        if matches(r, str(rule["LookupName"]), str(rule.get("SqlOperator", "=")),
                   str(rule["LookupValue"]))
    ]


def _static_list(tenant: Tenant, list_id: str | None) -> dict[str, Any]:
    if not list_id or list_id not in tenant.lists:
        raise invalid_entity(LIST_MISSING)
    item = tenant.lists[list_id]
    if item["ListType"] != "static":
        # UNKNOWN in the reference: the error for a manual change to a non-static list.
        raise invalid_entity(
            f"List '{item['ListName']}' is a {item['ListType']} list; "
            "leads can be added to or removed from static lists only"
        )
    return item


def _message(text: str) -> dict[str, Any]:
    return {"Status": "Success", "Message": {"Message": text}}


@router.route("LeadManagement.svc/Lists.Get", "GET")
def lists_get(request: SandboxRequest) -> list[dict[str, Any]]:
    """Lists, optionally of one ``ListType`` (0/1/2) and whose name contains ``SearchText``."""
    tenant = request.tenant
    wanted_type = request.arg("ListType")
    search = (request.arg("SearchText") or "").strip().casefold()
    rows = [
        {
            "ListId": item["ListId"], "ListName": item["ListName"],
            "ListDescription": item.get("ListDescription"), "ListType": item["ListType"],
            "MemberCount": len(members(tenant, item["ListId"])),
        }
        for item in tenant.lists.values()
        # UNKNOWN in the reference: an unknown ListType code matches no list (200 []).
        if (not wanted_type or LIST_TYPES.get(wanted_type.strip()) == item["ListType"])
        and search in item["ListName"].casefold()
    ]
    paging = {"PageIndex": request.arg("PageIndex") or 1, "PageSize": LISTS_PAGE_SIZE}
    return page(rows, paging, default_size=LISTS_PAGE_SIZE, max_size=LISTS_PAGE_SIZE)


@router.route("LeadSegmentation.svc/CreateEmptyList", "POST")
def create_empty_list(request: SandboxRequest) -> dict[str, Any]:
    """A new static list; a name already used (any case) is MXDuplicateEntryException."""
    body = require_object(request.body, "CreateEmptyList")
    name = str(body.get("Name") or "").strip()
    if not name:
        raise mandatory_missing("'Name' is mandatory")
    tenant = request.tenant
    if any(item["ListName"].casefold() == name.casefold() for item in tenant.lists.values()):
        # UNKNOWN in the reference: the message text; the exception type is the duplicate one.
        raise duplicate_entry(f"List with name '{name}' already exists")
    list_id = new_id()
    tenant.lists[list_id] = {
        "ListId": list_id, "ListName": name, "ListDescription": body.get("Description"),
        "ListType": "static", "CreatedOn": lead_time(request.now()), "Rule": None,
    }
    tenant.list_members[list_id] = []
    tenant.create_counts[f"{request.operation}:{body_fingerprint(request.body)}"] += 1
    return {"Status": "Success", "Message": {"Id": list_id}}


def _add(tenant: Tenant, list_id: str, lead_id: str) -> bool:
    current = tenant.list_members.setdefault(list_id, [])
    if lead_id in current:
        return False
    current.append(lead_id)
    return True


@router.route("LeadManagement.svc/AddLeadToStaticList", "POST", body_required=False)
def add_lead(request: SandboxRequest) -> dict[str, Any]:
    """Add one lead (query ``listId``, ``leadId``, empty body); AffectedRows 0 if already in."""
    tenant = request.tenant
    item = _static_list(tenant, request.require_arg("listId"))
    lead_id = request.require_arg("leadId")
    if lead_id not in tenant.leads:
        raise invalid_entity(LEAD_MISSING)
    added = _add(tenant, item["ListId"], lead_id)
    # UNKNOWN in the reference: which id Message.Id carries; chosen: the lead's id.
    return {"Status": "Success", "Message": {"Id": lead_id, "AffectedRows": int(added)}}


@router.route("LeadSegmentation.svc/AddLeadsToStaticList", "POST")
def add_leads(request: SandboxRequest) -> dict[str, Any]:
    """Add ``leadIds`` to ``listId``; members already in the list are skipped."""
    body = require_object(request.body, "AddLeadsToStaticList")
    tenant = request.tenant
    item = _static_list(tenant, body.get("listId"))
    lead_ids = body.get("leadIds")
    if not isinstance(lead_ids, list) or not lead_ids:
        raise mandatory_missing("'leadIds' is mandatory")
    # UNKNOWN in the reference: ids of no lead are skipped (not counted), not an error.
    added = sum(
        _add(tenant, item["ListId"], str(i)) for i in lead_ids if str(i) in tenant.leads
    )
    return _message(f"Successfully added {added} lead(s) to list")


@router.route("LeadSegmentation.svc/RemoveLeadFromStaticList", "GET")
def remove_lead(request: SandboxRequest) -> dict[str, Any]:
    """Remove one lead; removing a non-member also succeeds (UNKNOWN: chosen idempotent)."""
    tenant = request.tenant
    item = _static_list(tenant, request.require_arg("ListId"))
    lead_id = request.require_arg("LeadID")
    current = tenant.list_members.setdefault(item["ListId"], [])
    if lead_id in current:
        current.remove(lead_id)
    return _message("Successfully removed lead from list")


@router.route("LeadSegmentation.svc/Lists/EmptyStaticList", "GET")
def empty_list(request: SandboxRequest) -> dict[str, Any]:
    """Remove every member of a static list."""
    item = _static_list(request.tenant, request.require_arg("ListId"))
    request.tenant.list_members[item["ListId"]] = []
    return {"Status": "Success", "Message": {"Id": item["ListId"]}}


@router.route("LeadManagement.svc/Leads/Retrieve/BySearchParameter", "POST")
def list_members(request: SandboxRequest) -> dict[str, Any]:
    """Leads of ``SearchParameters.ListId`` in membership order (or ``Sorting``), paged."""
    body = require_object(request.body, "Leads/Retrieve/BySearchParameter")
    search = body.get("SearchParameters")
    list_id = search.get("ListId") if isinstance(search, dict) else None
    tenant = request.tenant
    if not list_id:
        raise mandatory_missing("'ListId' is mandatory")
    if list_id not in tenant.lists:
        raise invalid_entity(LIST_MISSING)
    # Sorted and paged over the stored records; only the page is copied (a 100k list).
    rows = [tenant.leads[i] for i in members(tenant, list_id)]
    if isinstance(body.get("Sorting"), dict) and body["Sorting"].get("ColumnName"):
        rows = sort_records(rows, body["Sorting"], ("ProspectAutoId", False))
    default_size, max_size = MEMBERS_PAGING
    selected = page(rows, body.get("Paging"), default_size=default_size, max_size=max_size)
    return {
        "RecordCount": len(rows),
        "Leads": [property_list(columns(flat_lead(lead), include_csv(body)))
                  for lead in selected],
    }


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Seed ``lists``: ``{ListId, ListName, ListDescription, ListType, CreatedOn}`` plus
    ``Members`` (static) or ``Rule`` (dynamic)."""
    tenant.lists, tenant.list_members = {}, {}
    for spec in data.get("lists", []) or []:
        list_id = str(spec["ListId"])
        list_type = str(spec.get("ListType", "static"))
        if list_type not in LIST_TYPES.values():
            raise ValueError(f"seed list {list_id}: ListType must be one of {LIST_TYPES}")
        tenant.lists[list_id] = {
            "ListId": list_id, "ListName": str(spec["ListName"]),
            "ListDescription": spec.get("ListDescription"), "ListType": list_type,
            "CreatedOn": f"{spec.get('CreatedOn', '2025-01-01 00:00:00')}.000",
            "Rule": spec.get("Rule"),
        }
        tenant.list_members[list_id] = [str(i) for i in spec.get("Members", []) or []]
