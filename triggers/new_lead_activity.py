"""New Lead Activity: activities of one lead activity type, posted on any lead since the last
poll.

Polls ``ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent`` with the type's code and a
date range from the engine's cursor, CreatedOn ascending (runtime.engine.polling: overlap, ties,
budget, dedupe). An activity is posted once, so it fires once: the key is
``<ProspectActivityId>@<CreatedOn>``. The type (code or display name) is resolved once per client.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.plugin.polling_contract import Page

from . import _lead_activities, _polling

ID_FIELD = "ProspectActivityId"
TIME_FIELD = "CreatedOn"


def fetch_page(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """Page ``page`` of the type's activities posted at or after ``since``."""
    return _lead_activities.activities_page(client, config, since, page)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the activity, flat, with ``activity_id`` and ``lead_id``."""
    return [_lead_activities.event(item)]


def event_key(item: Mapping[str, Any]) -> str:
    """``<ProspectActivityId>@<CreatedOn>``."""
    return _polling.time_key(item, ID_FIELD, TIME_FIELD)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The type's most recently posted activities, as events."""
    return _lead_activities.sample(client, config, limit)
