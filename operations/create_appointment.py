"""create_appointment: create an appointment (a category 0 task type) with Task.svc/Create, on a
lead, an opportunity or unassociated (reference §8.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _tasks

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the appointment; returns its ``task_id``.

    Without ``end`` no EndDate is sent: LeadSquared applies the type's default duration.
    Task.svc/Create is not idempotent: never resent once it may have reached LeadSquared.
    """
    body = _tasks.create_body(client, inputs, _tasks.APPOINTMENT)
    answer = client.post(_tasks.CREATE, body, creates=True)
    return {"task_id": _tasks.created_id(answer)}
