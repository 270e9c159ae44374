"""update_task: change given fields of a task or appointment with Task.svc/Update (§8.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import InputValidationError, PermanentApiError

from . import _tasks

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Send only the given fields. With custom ``fields`` the task is read first
    (Retrieve.GetById) to check the names against its type."""
    task_id = inputs["task_id"]
    changes = _tasks.task_fields(client, inputs)
    fields = inputs.get("fields") or {}
    if not changes and not fields:
        raise InputValidationError(
            "nothing to update", ["inputs: give at least one field to change besides task_id"]
        )
    if fields:
        task = _tasks.by_id(client, task_id)
        if task is None:
            raise PermanentApiError(
                f"no task with UserTaskId {task_id}", operation=_tasks.BY_ID,
                hint="check the task id",
            )
        changes.update(_tasks.custom_fields_of(client, task, fields))
    client.post(_tasks.UPDATE, {"UserTaskId": task_id, **changes})
    sent = [name for name in changes if name != "CustomFields"] + list(fields)
    return {"task_id": task_id, "updated_fields": sent}
