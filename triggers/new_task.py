"""New Task (Instant): LeadSquared's task-create webhook (WebhookEvent 7).

The task payload is UNKNOWN in the reference: a payload with the task's fields is used as
it is, otherwise the task is read with Task.svc/Retrieve.GetById (see ``_webhooks``). The
event is the flat task plus ``task_id``; the task's id is the event key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _webhooks as hooks


def webhook(client: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Webhook.svc/Create fields of this trigger's event."""
    return {"WebhookEvent": hooks.TASK_CREATE}


def event_key(item: Mapping[str, Any]) -> str:
    """The task's id."""
    return hooks.key_id(item, hooks.TASK_IDS)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event (none if the task was deleted before its webhook was processed)."""
    return hooks.task_events(client, item)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The most recently created tasks of the account's users, newest first."""
    return hooks.recent_tasks(client, "CreatedOn", limit)
