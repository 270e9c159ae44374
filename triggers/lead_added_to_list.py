"""Lead Added to List: leads that joined one list since the last poll.

LeadSquared has no membership event or timestamp (reference §9.2, UNKNOWN), so the engine
diffs snapshots of the members (runtime.engine.polling MembershipSource): every poll pages through
``LeadManagement.svc/Leads/Retrieve/BySearchParameter`` (``RetrieveBehaviour "0"``), the
first complete scan is a baseline, and a member not in the stored snapshot fires. A lead
removed and added again fires again. Static lists give an exact "added" meaning; a dynamic
list fires when a lead starts to match its rule.

The inbox key the engine gives an event is ``<ProspectID>@g<scan generation>`` (so a re-add
fires again); :func:`event_key` is the membership itself, ``<ProspectID>@<list_id>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.plugin.polling_contract import Page

from . import _polling

ID_FIELD = "ProspectID"


def fetch_members(client: Any, config: Mapping[str, Any], page: int) -> Page:
    """Page ``page`` of the list's current members (a list named by ``list_name`` is looked up
    with Lists.Get first, one more call)."""
    return _polling.member_page(client, config, page)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the lead, flat, with ``lead_id`` and ``list_id``."""
    list_id = item.get("list_id") or config.get("list_id")
    if not list_id:
        list_id, _ = _polling.list_id_of(client, config)
    return [_polling.member_event(item, str(list_id))]


def event_key(item: Mapping[str, Any]) -> str:
    """``<ProspectID>@<list_id>``."""
    return f"{item[ID_FIELD]}@{item.get('list_id', '')}"


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Current members of the list (newest leads first), as events."""
    return _polling.member_sample(client, config, limit)
