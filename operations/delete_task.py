"""delete_task: delete one task or appointment with Task.svc/DeleteTasks (reference §8.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _tasks

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """DeleteTasks with the one id; its counts say whether the task was deleted.

    UNKNOWN in the reference: a single-task delete endpoint (none found), so the bulk one is
    called with one id. A task that does not exist is ``deleted: false`` with LeadSquared's
    FailureReason, not an error (deleting is done either way).
    """
    answer = client.post(_tasks.DELETE, {"TaskIds": [inputs["task_id"]]})
    answer = answer if isinstance(answer, Mapping) else {}
    deleted = _tasks.count(answer.get("DeletedTasksCount"))
    return {
        "task_id": inputs["task_id"],
        "deleted": deleted > 0,
        "tasks_count": _tasks.count(answer.get("TasksCount"), default=1),
        "deleted_tasks_count": deleted,
        "failure_reason": answer.get("FailureReason") or (
            None if deleted else "LeadSquared deleted no task with this id"),
    }
