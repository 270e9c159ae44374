"""Updated Opportunity (Instant): LeadSquared's opportunity-update webhook for one type.

Subscribed like New Opportunity (candidates live 30, docs 32, verified by the read-back name
``Opportunity_Post_Update``). LeadSquared's payload has no modification time, so each
delivery is its own inbox event (``_webhooks.update_key``); the event itself carries the
opportunity's ModifiedOn as read from GetOpportunityDetails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks

WEBHOOK_EVENT_NAME = hooks.OPPORTUNITY_UPDATE_NAME


def event_codes(config: Mapping[str, Any]) -> tuple[str, ...]:
    """WebhookEvent codes to try in order (the read-back name decides)."""
    return hooks.candidate_codes(config, hooks.OPPORTUNITY_UPDATE_CODES)


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields, with the first candidate code; checks the type exists."""
    hooks.check_opportunity_type(client, int(config["opportunity_type"]))
    return hooks.opportunity_webhook(event_codes(config)[0], int(config["opportunity_type"]))


def event_key(item: Mapping[str, Any]) -> str:
    """``<opportunity id>@<ModifiedOn>`` (a per-delivery key when the payload has none)."""
    return hooks.update_key(hooks.key_id(item, hooks.OPPORTUNITY_IDS), item)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The opportunity, read by id, if it is of the configured type; else no event."""
    return hooks.opportunity_events(client, config, item)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Recently modified opportunities of the configured type (newest first)."""
    return hooks.recent_opportunities(client, int(config["opportunity_type"]), "ModifiedOn", limit)
