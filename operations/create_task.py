"""create_task: create a to-do (a category 1 task type) with Task.svc/Create (reference §8.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _tasks

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the to-do; returns its ``task_id``.

    The type (a to-do type; an appointment type names create_appointment), owner and custom
    field names are checked first. Task.svc/Create is not idempotent: never resent once it
    may have reached LeadSquared.
    """
    body = _tasks.create_body(client, inputs, _tasks.TODO)
    answer = client.post(_tasks.CREATE, body, creates=True)
    return {"task_id": _tasks.created_id(answer)}
