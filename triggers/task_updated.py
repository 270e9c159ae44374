"""Updated Task (Instant): LeadSquared's task-update webhook (WebhookEvent 17).

Also fires when a task is marked complete. The payload is handled as for New Task; the event
key is the task's id and ModifiedOn, so each change is its own event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields of this trigger's event."""
    return {"WebhookEvent": hooks.TASK_UPDATE}


def event_key(item: Mapping[str, Any]) -> str:
    """``<task id>@<ModifiedOn>``."""
    return hooks.update_key(hooks.key_id(item, hooks.TASK_IDS), item)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event (none if the task was deleted before its webhook was processed)."""
    return hooks.task_events(client, item)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The most recently modified tasks of the account's users, newest first."""
    return hooks.recent_tasks(client, "ModifiedOn", limit)
