"""Updated Lead (Instant): LeadSquared's lead-update webhook (WebhookEvent 6).

The payload is the updated lead, flat (reference §12.3, LIKELY the lead-create shape). Note
that Lead.Update through the API fires it only with ``postUpdatedLead=true`` (§12.4). The
event key is the lead's id and ModifiedOn, so each change is its own event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields of this trigger's event."""
    return {"WebhookEvent": hooks.LEAD_UPDATE}


def event_key(item: Mapping[str, Any]) -> str:
    """``<lead id>@<ModifiedOn>``."""
    return hooks.update_key(hooks.key_id(item, hooks.LEAD_IDS), item)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the delivered lead with ``lead_id``."""
    return [hooks.lead_event(item)]


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The most recently modified leads (Leads.Get sorted by ModifiedOn, newest first)."""
    return [hooks.lead_event(lead) for lead in hooks.recent_leads(client, "ModifiedOn", limit)]
