"""New Opportunity (Instant): LeadSquared's opportunity-create webhook for one type.

The webhook's event code is not hard-coded: the candidates (live 29, docs 31, or the
configured ``webhook_event_code``) are verified by the event name Webhook.svc/Retrieve reports
(``Opportunity_Post_Create``) when subscribing (runtime.engine.subscriptions). The webhook
is limited to the configured type with OpportunityEvents; the payload carries no fields, so
each event is read with GetOpportunityDetails. Other types never fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks

WEBHOOK_EVENT_NAME = hooks.OPPORTUNITY_CREATE_NAME


def event_codes(config: Mapping[str, Any]) -> tuple[str, ...]:
    """WebhookEvent codes to try in order (the read-back name decides)."""
    return hooks.candidate_codes(config, hooks.OPPORTUNITY_CREATE_CODES)


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields, with the first candidate code; checks the type exists."""
    hooks.check_opportunity_type(client, int(config["opportunity_type"]))
    return hooks.opportunity_webhook(event_codes(config)[0], int(config["opportunity_type"]))


def event_key(item: Mapping[str, Any]) -> str:
    """The opportunity's id."""
    return hooks.key_id(item, hooks.OPPORTUNITY_IDS)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The opportunity, read by id, if it is of the configured type; else no event."""
    return hooks.opportunity_events(client, config, item)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Recent opportunities of the configured type (newest CreatedOn first)."""
    return hooks.recent_opportunities(client, int(config["opportunity_type"]), "CreatedOn", limit)
