"""Lead Activity Posted (Instant): LeadSquared's activity webhook for one lead activity type.

The webhook is WebhookEvent 2 (documented; verified by the event name Webhook.svc/Retrieve reports,
``LeadActivity_Post_Create``, or set with ``webhook_event_code``) with the type as its
ActivityEvent. LeadSquared batches about a minute of activities into one JSON array (§12.3); the
receiver stores each item as one event. An activity is posted once, so its id is the event key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _lead_activities
from . import _webhooks as hooks

WEBHOOK_EVENT_NAME = _lead_activities.WEBHOOK_EVENT_NAME
ACTIVITY_IDS = ("ProspectActivityId", "Id", "ID")


def event_codes(config: Mapping[str, Any]) -> tuple[str, ...]:
    """WebhookEvent codes to try (the read-back name decides)."""
    return hooks.candidate_codes(config, _lead_activities.WEBHOOK_CODES)


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields; the type is resolved (an unknown one fails) first."""
    return _lead_activities.webhook_fields(client, config, event_codes(config)[0])


def event_key(item: Mapping[str, Any]) -> str:
    """The activity's id."""
    return hooks.key_id(item, ACTIVITY_IDS)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The delivered activity, if it is of the configured type; else no event."""
    return _lead_activities.delivered_events(client, config, item)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The type's most recently posted activities, as events."""
    return _lead_activities.sample(client, config, limit)
