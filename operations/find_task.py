"""find_task: one task by id (Task.svc/Retrieve.GetById) or a lead's tasks
(LeadManagement.svc/RetrieveTaskByLeadId), reference §8.3."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _tasks
from ._common import find_result

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{found, task, tasks, record_count}``; a lead's earliest due task comes first."""
    if "task_id" in inputs:
        task = _tasks.by_id(client, inputs["task_id"])
        rows = [task] if task else []
        looked_for = f"UserTaskId {inputs['task_id']}"
    else:
        rows = _tasks.of_lead(client, inputs["lead_id"])
        looked_for = f"lead {inputs['lead_id']}"
    result = find_result("task", rows, looked_for=looked_for,
                         fail_if_not_found=inputs["fail_if_not_found"])
    return {**result, "tasks": rows, "record_count": len(rows)}
