"""Shared pieces of the two lead activity triggers: the type they watch, the reads and the event.

New Lead Activity polls ``ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent`` (one
type's activities of every lead in a date range; LIKELY: several clients call it, the reference
lists it only among its sources, §15/S44). Lead Activity Posted (Instant) is LeadSquared's
activity webhook, WebhookEvent 2 with the type as a top-level ActivityEvent (§12.1, §12.2). Both
events are the activity as one flat record (:func:`runtime.api.lead_activity.activity_record`)
plus ``activity_id`` and ``lead_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.api.lead_activity import BY_EVENT, activity_record
from runtime.api.lsq_format import parse_datetime
from runtime.plugin.polling_contract import Page

from . import _polling

# UNKNOWN in the reference: RetrieveByActivityEvent's largest PageSize (clients ask 50 to 1000).
PAGE_SIZE = 100
# The documented WebhookEvent of "lead activity create" (§12.1); the live tenant that moved the
# opportunity codes named this event LeadActivity_Post_Create in Webhook.svc/Retrieve.
WEBHOOK_CODES = ("2",)
WEBHOOK_EVENT_NAME = "LeadActivity_Post_Create"


def watched_type(client: Any, config: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The configured activity type and the API calls its look-up took (1 the first time a
    client resolves it, else 0: the account's types are cached per client)."""
    looked_up: list[int] = []

    def lookup() -> dict[str, Any]:
        looked_up.append(1)
        return client.metadata.resolve_lead_activity_type(config["activity_type"])

    key = f"lead_activity_type:{config['activity_type']}"
    return client.metadata.remember(key, lookup), len(looked_up)


def activities_page(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """One page of the type's activities (every lead) with CreatedOn at or after ``since``,
    oldest first."""
    kind, calls = watched_type(client, config)
    body = {
        # UNKNOWN which date FromDate/ToDate bound (CreatedOn; one client says ModifiedOn). The
        # range opens at ``since`` and stays open (FAR_FUTURE); the engine keeps CreatedOn >=
        # since. ModifiedOn is never before CreatedOn, so a new activity is in the range under
        # either reading.
        "Parameter": {"FromDate": _polling.request_time(since), "ToDate": _polling.FAR_FUTURE,
                      "ActivityEvent": kind["ActivityEvent"]},
        "Sorting": {"ColumnName": "CreatedOn", "Direction": _polling.ASCENDING},
        "Paging": {"PageIndex": page, "PageSize": PAGE_SIZE},
    }
    answer = client.post(BY_EVENT, body) or {}
    rows = [row for row in answer.get("List") or [] if isinstance(row, Mapping)]
    items = [activity_record(row, ActivityEventName=kind["DisplayName"]) for row in rows]
    more = _polling.more_pages(answer, page, PAGE_SIZE, len(rows))
    return Page(items, has_more=more, calls=calls + 1)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The type's ``limit`` most recently posted activities, as events (one call)."""
    kind, _ = watched_type(client, config)
    body = {
        "Parameter": {"FromDate": _polling.request_time(_polling.OLDEST),
                      "ToDate": _polling.FAR_FUTURE, "ActivityEvent": kind["ActivityEvent"]},
        "Sorting": {"ColumnName": "CreatedOn", "Direction": "1"},
        "Paging": {"PageIndex": 1, "PageSize": max(1, limit)},
    }
    rows = [row for row in (client.post(BY_EVENT, body) or {}).get("List") or []
            if isinstance(row, Mapping)]
    items = [activity_record(row, ActivityEventName=kind["DisplayName"]) for row in rows]
    items.sort(key=lambda item: parse_datetime(str(item["CreatedOn"])), reverse=True)
    return [event(item) for item in items[:limit]]


def event(item: Mapping[str, Any]) -> dict[str, Any]:
    """The event: the activity plus ``activity_id`` and ``lead_id``."""
    return {**item, "activity_id": item["ProspectActivityId"], "lead_id": item["RelatedProspectId"]}


def webhook_fields(client: Any, config: Mapping[str, Any], code: str) -> dict[str, Any]:
    """Webhook.svc/Create fields of an activity webhook for the configured type (§12.2, live
    code): the type as a top-level ActivityEvent and inside WebhookProperties, a JSON string."""
    kind, _ = watched_type(client, config)
    activity = str(kind["ActivityEvent"])
    properties = {"ActivityEvent": activity, "ActivityData": "[]", "WebPageNames": "[]"}
    return {"WebhookEvent": code, "ActivityEvent": activity,
            "WebhookProperties": json.dumps(properties)}


def delivered_events(
    client: Any, config: Mapping[str, Any], item: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The event for one delivered activity of the configured type; ``[]`` for another type
    (the webhook is made for one type; a payload naming none is trusted)."""
    kind, _ = watched_type(client, config)
    record = activity_record(item, ActivityEventName=kind["DisplayName"])
    if record["ActivityEvent"] is not None and record["ActivityEvent"] != kind["ActivityEvent"]:
        return []
    if record["ActivityEvent"] is None:
        record["ActivityEvent"] = kind["ActivityEvent"]
    return [event(record)]
