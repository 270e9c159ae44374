"""Shared list lookups for the Lists actions (reference §9).

The list operation names live here, once. Lists are found by name with Lists.Get's
SearchText (a name search: exact matches, without regard to case, are picked client-side),
page by page. Adding and removing members works on static lists only, so
:func:`static_list` checks the list's type before anything is written, and a name that
matches no list fails naming the account's closest list names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import InputValidationError

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

LISTS_GET = "LeadManagement.svc/Lists.Get"
CREATE = "LeadSegmentation.svc/CreateEmptyList"
ADD = "LeadManagement.svc/AddLeadToStaticList"
REMOVE = "LeadSegmentation.svc/RemoveLeadFromStaticList"
#: Lists.Get's ListType query codes (reference §9.1); answers spell the type in words.
LIST_TYPE_CODES = {"static": "0", "dynamic": "1", "refreshable": "2"}
STATIC = "static"
# UNKNOWN in the reference: Lists.Get's page size. Paging stops at the first page that adds no
# new list (empty, or the same lists again if PageIndex were ignored), at most this many pages.
MAX_PAGES = 50
#: How many names an error lists when nothing is close to the name given.
MAX_NAMES_SHOWN = 10


def list_pages(
    client: LeadSquaredClient, *, search: str | None = None, list_type: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Lists.Get pages (of one type and matching ``search`` when given), lazily."""
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        params = {"PageIndex": page, "ListType": LIST_TYPE_CODES.get(list_type or ""),
                  "SearchText": search}
        fresh = [row for row in _rows(client.get(LISTS_GET, params))
                 if str(row.get("ListId")) not in seen]
        if not fresh:
            return
        seen.update(str(row.get("ListId")) for row in fresh)
        yield fresh


def list_by_name(
    client: LeadSquaredClient, name: str, list_type: str | None = None
) -> dict[str, Any] | None:
    """The list named ``name`` (any case, outer spaces ignored), of ``list_type`` if given."""
    wanted = _folded(name)
    for rows in list_pages(client, search=name.strip(), list_type=list_type):
        match = next((row for row in rows if _folded(row.get("ListName")) == wanted), None)
        if match is not None:
            return list_record(match)
    return None


def list_by_id(client: LeadSquaredClient, list_id: str) -> dict[str, Any] | None:
    """The list with this ListId (Lists.Get has no id filter, so pages are scanned)."""
    for rows in list_pages(client):
        match = next((r for r in rows if str(r.get("ListId")).lower() == list_id.lower()), None)
        if match is not None:
            return list_record(match)
    return None


def close_names(client: LeadSquaredClient, name: str, list_type: str | None = None) -> str:
    """'close names: A, B' (or the first list names) for a name that matched no list."""
    names = [str(row.get("ListName")) for rows in list_pages(client, list_type=list_type)
             for row in rows]
    by_fold = {_folded(n): n for n in names}
    close = difflib.get_close_matches(_folded(name), list(by_fold), n=3, cutoff=0.6)
    close += [f for f in by_fold if _folded(name) in f and f not in close]
    if close:
        return "close names: " + ", ".join(by_fold[f] for f in close[:5])
    shown = ", ".join(sorted(names)[:MAX_NAMES_SHOWN]) or "none"
    return f"lists{' of type ' + list_type if list_type else ''}: {shown}"


def static_list(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The static list given as ``list_id`` or ``list_name``; InputValidationError otherwise."""
    if "list_name" in inputs:
        location, found = "list_name", list_by_name(client, inputs["list_name"])
        if found is None:
            missing = f"no list named '{inputs['list_name']}'"
            raise InputValidationError("list not found", [
                f"list_name: {missing}; {close_names(client, inputs['list_name'])}"
            ], hint="list names are compared without regard to case; find_list finds a list")
    else:
        location, found = "list_id", list_by_id(client, inputs["list_id"])
        if found is None:
            raise InputValidationError("list not found", [
                f"list_id: no list with ListId '{inputs['list_id']}' in this account"
            ])
    if found["ListType"] != STATIC:
        raise InputValidationError("not a static list", [
            f"{location}: '{found['ListName']}' is a {found['ListType']} list; leads can be "
            "added to or removed from static lists only (its members follow its rules)"
        ], hint="use a static list, or create one with create_list")
    return found


def list_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Lists.Get item with ListType in lower case and MemberCount as an integer."""
    record = dict(row)
    record["ListType"] = str(row.get("ListType") or "").strip().lower()
    count = row.get("MemberCount")
    if isinstance(count, str) and count.strip().isdigit():
        record["MemberCount"] = int(count)
    return record


def _rows(answer: Any) -> list[dict[str, Any]]:
    """A Lists.Get answer's items: a bare array, or (UNKNOWN if any tenant sends it, reference
    §9.2) the same array under ``Message``."""
    if isinstance(answer, Mapping):
        answer = answer.get("Message")
    if not isinstance(answer, list):
        return []
    return [row for row in answer if isinstance(row, Mapping) and row.get("ListId")]


def _folded(name: Any) -> str:
    return str(name or "").strip().casefold()
