"""delete_task: delete one task or appointment with Task.svc/DeleteTasks (reference §8.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _tasks
from ._deletes import delete_record

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Look the task up (Retrieve.GetById), then DeleteTasks with the one id.

    UNKNOWN in the reference: a single-task delete endpoint (none found), so the bulk one is
    called with one id. Its counts say whether it deleted the task; after a retried request
    whose first attempt deleted it they say 0, so the task is looked up again
    (operations._deletes): gone means deleted.
    """
    task_id = inputs["task_id"]
    deletion = delete_record(
        exists=lambda: _tasks.by_id(client, task_id) is not None,
        send=lambda: client.post(_tasks.DELETE, {"TaskIds": [task_id]}),
        refusal=_refusal,
    )
    answer = deletion.answer if isinstance(deletion.answer, Mapping) else {}
    reason = {"already_absent": "no task with this id", "not_deleted": deletion.reason}.get(
        deletion.result)
    return {
        "task_id": task_id,
        **deletion.fields(),
        "tasks_count": _tasks.count(answer.get("TasksCount"), default=int(deletion.sent)),
        "deleted_tasks_count": _tasks.count(answer.get("DeletedTasksCount")),
        "failure_reason": reason,
    }


def _refusal(answer: Any) -> str | None:
    answer = answer if isinstance(answer, Mapping) else {}
    if _tasks.count(answer.get("DeletedTasksCount")) > 0:
        return None
    return str(answer.get("FailureReason") or "LeadSquared deleted no task with this id")
