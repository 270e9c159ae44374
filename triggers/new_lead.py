"""New Lead (Instant): LeadSquared's lead-create webhook (Webhook.svc/Create, WebhookEvent 3).

The payload is the new lead, flat (reference §12.3); the event is that lead plus ``lead_id``.
A lead is created once, so its id is the event key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields of this trigger's event."""
    return {"WebhookEvent": hooks.LEAD_CREATE}


def event_key(item: Mapping[str, Any]) -> str:
    """The lead's id."""
    return hooks.key_id(item, hooks.LEAD_IDS)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the delivered lead with ``lead_id``."""
    return [hooks.lead_event(item)]


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The most recently created leads (Leads.Get sorted by CreatedOn, newest first)."""
    return [hooks.lead_event(lead) for lead in hooks.recent_leads(client, "CreatedOn", limit)]
