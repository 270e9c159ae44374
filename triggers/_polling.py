"""Shared pieces of the four polling triggers: the LeadSquared reads and the event shapes.

Each polling module is a source for :mod:`runtime.engine.polling` (which owns cursors, ordering,
dedupe, budgets and the inbox) plus ``events``/``event_key`` (design.md, trigger module
contract). The reads here are one API call per page, so the engine's per-poll call budget is
exact. Time-based keys are ``<id>@<time as runtime.clock.to_iso>``, the engine's own
event key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.api.lsq_format import format_datetime, from_property_list, parse_datetime
from runtime.clock import to_iso
from runtime.errors import InputValidationError
from runtime.plugin.polling_contract import Page

COMPANY_GET = "CompanyManagement.svc/Company.Get"
ACTIVITY_RETRIEVE = "CompanyActivity.svc/Retrieve"
LISTS_GET = "LeadManagement.svc/Lists.Get"
LIST_MEMBERS = "LeadManagement.svc/Leads/Retrieve/BySearchParameter"

COMPANY_PAGE_SIZE = 1000  # LIKELY: live code pages Company.Get by 1000 (reference §3.4)
ACTIVITY_PAGE_SIZE = 100  # the docs' example PageSize for CompanyActivity.svc/Retrieve (§6)
MEMBER_PAGE_SIZE = 1000  # UNKNOWN in the reference: BySearchParameter's maximum; chosen 1000
MAX_LIST_SEARCH_PAGES = 5  # Lists.Get pages read to find a list by name
ASCENDING = "0"  # Sorting.Direction: "0" ascending, "1" descending (reference §3.4)
DESCENDING = "1"
# The page size of the engine's newest-first check (the docs' example PageSize, §5.3): an idle
# poll reads one such page; a poll with more changes than fit reads them oldest first.
NEWEST_PAGE_SIZE = 100
FAR_FUTURE = "2099-12-31 23:59:59"  # an open upper bound for date ranges (see activities_page)


def request_time(moment: datetime) -> str:
    """A request datetime: UTC ``yyyy-MM-dd HH:mm:ss``."""
    return format_datetime(moment)


def until_now() -> str:
    """The upper bound of a date range: this host's current UTC time.

    LIKELY: the date-range reads want both bounds (reference §5.3, §6). A record stamped after
    it (a server clock ahead of ours) is read by the next poll, whose range starts at the
    watermark minus the overlap.
    """
    return request_time(datetime.now(UTC))


def more_pages(answer: Mapping[str, Any], page: int, size: int, count: int) -> bool:
    """Whether pages follow page ``page``: by ``RecordCount`` when given, else a full page."""
    total = answer.get("RecordCount")
    try:
        return page * size < int(total)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return count >= size


def time_key(item: Mapping[str, Any], id_field: str, time_field: str) -> str:
    """``<id>@<time>``, the key the polling engine gives the event (stable across re-reads)."""
    return f"{item[id_field]}@{to_iso(parse_datetime(str(item[time_field])))}"


# -- accounts (Company.Get) ---------------------------------------------------------------------


def company_query(company_type: str, **extra: Any) -> dict[str, Any]:
    """Company.Get's ``Query`` (the CompanyType is mandatory; the wrapper is honoured, §5.3)."""
    return {"CompanyType": {"CompanyTypeName": company_type}, **extra}


def account_page(
    client: Any,
    config: Mapping[str, Any],
    date_field: str,
    since: datetime,
    page: int,
    *,
    newest_first: bool = False,
) -> Page:
    """Accounts of ``config["company_type"]`` with ``date_field >= since``, oldest first (or
    newest first, in pages of ``NEWEST_PAGE_SIZE``: the engine's check of its window), with
    the answer's ``RecordCount`` as the page's ``total``."""
    date_range = {"DateField": date_field, "FromDate": request_time(since), "ToDate": until_now()}
    size = NEWEST_PAGE_SIZE if newest_first else COMPANY_PAGE_SIZE
    body = {
        "Query": company_query(config["company_type"], DateRange=date_range),
        "Sorting": {"ColumnName": date_field, "Direction": DESCENDING if newest_first
                    else ASCENDING},
        "Paging": {"PageIndex": page, "PageSize": size},
    }
    answer = client.post(COMPANY_GET, body)
    rows = answer.get("Companies") or []
    items = [flat_account(row, config["company_type"]) for row in rows]
    return Page(items, has_more=more_pages(answer, page, size, len(rows)),
                total=record_count(answer))


def record_count(answer: Mapping[str, Any]) -> int | None:
    """The answer's ``RecordCount`` as a number, or None when it has none."""
    try:
        return int(answer["RecordCount"])
    except (KeyError, TypeError, ValueError):
        return None


def flat_account(row: Mapping[str, Any], company_type: str) -> dict[str, Any]:
    """A ``companyPropertyList`` row, flat, with its CompanyType (Company.Get omits it)."""
    account = from_property_list(row)
    if not account.get("CompanyType"):
        account["CompanyType"] = company_type
    return account


def account_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """The event of an account trigger: the flat account plus ``account_id``."""
    return {**item, "account_id": item["CompanyId"]}


# -- lists (Lists.Get, BySearchParameter) ---------------------------------------------------------


def list_id_of(client: Any, config: Mapping[str, Any]) -> tuple[str, int]:
    """The configured list's id and the API calls it took (0 when given as ``list_id``).

    A ``list_name`` is looked up with Lists.Get's name search and matched exactly (ignoring
    case) client-side, as the reference advises (§9.2).
    """
    if config.get("list_id"):
        return str(config["list_id"]), 0
    name = str(config["list_name"]).strip()
    for page in range(1, MAX_LIST_SEARCH_PAGES + 1):
        answer = client.get(LISTS_GET, {"SearchText": name, "PageIndex": page})
        # UNKNOWN in the reference: whether any tenant wraps the lists in {"Message": [...]}.
        rows = answer.get("Message") if isinstance(answer, Mapping) else answer
        rows = rows if isinstance(rows, list) else []
        found = [row for row in rows if str(row.get("ListName", "")).casefold() == name.casefold()]
        if found:
            return str(found[0]["ListId"]), page
        if not rows:
            break
    raise InputValidationError(
        "the list to watch does not exist",
        [f"list_name: no list is named {name!r}"],
        hint="check the name (lsq invoke action find_list) or give list_id",
    )


def member_page(client: Any, config: Mapping[str, Any], page: int) -> Page:
    """One page of the list's members, flat, each with ``lead_id`` and ``list_id``.

    A list named by ``list_name`` is looked up on page 1 of each scan; later pages of the scan
    reuse that id (one Lists.Get per poll, not one per page).
    """
    looked_up: list[int] = []

    def lookup() -> str:
        list_id, calls = list_id_of(client, config)
        looked_up.append(calls)
        return list_id

    key = f"list_id_of:{config.get('list_id') or config.get('list_name')}"
    list_id = client.metadata.remember(key, lookup, refresh=page == 1)
    calls = sum(looked_up)
    body = {
        "SearchParameters": {"ListId": list_id, "RetrieveBehaviour": "0"},  # 0: no recount
        "Sorting": {"ColumnName": "ProspectAutoId", "Direction": ASCENDING},
        "Paging": {"PageIndex": page, "PageSize": MEMBER_PAGE_SIZE},
    }
    answer = client.post(LIST_MEMBERS, body)
    rows = answer.get("Leads") or []
    items = [member_event(from_property_list(row), list_id) for row in rows]
    has_more = more_pages(answer, page, MEMBER_PAGE_SIZE, len(rows))
    return Page(items, has_more=has_more, calls=calls + 1)


def member_event(lead: Mapping[str, Any], list_id: str) -> dict[str, Any]:
    """The event of Lead Added to List: the flat lead plus ``lead_id`` and ``list_id``."""
    return {**lead, "lead_id": lead["ProspectID"], "list_id": list_id}


# -- account activities (CompanyActivity.svc/Retrieve) ------------------------------------------


def activities_page(
    client: Any, account_id: str, since: datetime, page: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of an account's activities created at or after ``since`` (newest first)."""
    body = {
        # UNKNOWN in the reference: which date FromDate/ToDate bound (CreatedOn, ModifiedOn
        # or ActivityDateTime). The range opens at ``since`` and stays open to FAR_FUTURE, and
        # the engine keeps only items with CreatedOn >= since: a new activity is found under
        # every reading, including a future-dated ActivityDateTime. Not covered: an activity
        # back-dated (ActivityDateTime before since) on an account that bounds that field.
        "Parameter": {"FromDate": request_time(since), "ToDate": FAR_FUTURE},
        # The docs' example sends the paging values as strings.
        "Paging": {"PageIndex": str(page), "PageSize": str(ACTIVITY_PAGE_SIZE)},
    }
    answer = client.post(ACTIVITY_RETRIEVE, body, params={"companyId": account_id})
    rows = [dict(row) for row in answer.get("CompanyActivities") or []]
    return rows, more_pages(answer, page, ACTIVITY_PAGE_SIZE, len(rows))


def account_ids_page(client: Any, company_type: str, page: int) -> tuple[list[str], bool]:
    """One page of the ids of the accounts of ``company_type``, oldest first."""
    body = {
        "Query": company_query(company_type),
        "Columns": {"Include_CSV": "CompanyId"},
        "Sorting": {"ColumnName": "CreatedOn", "Direction": ASCENDING},
        "Paging": {"PageIndex": page, "PageSize": COMPANY_PAGE_SIZE},
    }
    answer = client.post(COMPANY_GET, body)
    rows = answer.get("Companies") or []
    ids = [str(from_property_list(row)["CompanyId"]) for row in rows]
    return ids, more_pages(answer, page, COMPANY_PAGE_SIZE, len(rows))


def activity_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """The event of New Account Activity: the activity plus ``activity_id`` and ``account_id``."""
    return {
        **item,
        "activity_id": item["CompanyActivityId"],
        "account_id": item["RelatedCompanyId"],
    }


# -- samples: recent real records in the event shape, most recent first ------------------------

OLDEST = datetime(1900, 1, 1, tzinfo=UTC)
MAX_SAMPLE_ACCOUNTS = 10  # accounts of a type whose activities a sample reads


def account_sample(
    client: Any, config: Mapping[str, Any], date_field: str, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` accounts of the type most recently created/modified (one call)."""
    body = {
        "Query": company_query(config["company_type"]),
        "Sorting": {"ColumnName": date_field, "Direction": "1"},
        "Paging": {"PageIndex": 1, "PageSize": limit},
    }
    rows = client.post(COMPANY_GET, body).get("Companies") or []
    return [account_event(flat_account(row, config["company_type"])) for row in rows[:limit]]


def member_sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` current members, newest leads first (no membership time exists)."""
    list_id, _ = list_id_of(client, config)
    body = {
        "SearchParameters": {"ListId": list_id, "RetrieveBehaviour": "0"},
        "Sorting": {"ColumnName": "ProspectAutoId", "Direction": "1"},
        "Paging": {"PageIndex": 1, "PageSize": limit},
    }
    rows = client.post(LIST_MEMBERS, body).get("Leads") or []
    return [member_event(from_property_list(row), list_id) for row in rows[:limit]]


def activity_sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest activities of the account, or of the type's first accounts."""
    if config.get("account_id"):
        accounts = [str(config["account_id"])]
    else:
        accounts, _ = account_ids_page(client, str(config["company_type"]), 1)
    rows = [row for account in accounts[:MAX_SAMPLE_ACCOUNTS]
            for row in activities_page(client, account, OLDEST, 1)[0]]
    rows.sort(key=lambda row: parse_datetime(str(row["CreatedOn"])), reverse=True)
    return [activity_event(row) for row in rows[:limit]]
