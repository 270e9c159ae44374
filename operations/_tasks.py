"""Task and appointment requests and answers shared by the Tasks actions (reference §8).

The Task.svc operation names live here, once. A task's type decides what it is: category 1
(to-do) for create_task, 0 (appointment) for create_appointment; both use Task.svc/Create.
Options become Task.svc fields through :data:`OPTIONS` (one table for create and update), with
owners resolved to user ids and custom field names checked against the type before anything
is written. Records are returned flat with dates in UTC ``yyyy-MM-dd HH:mm:ss``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import format_datetime
from runtime.api.metadata import TASK_CATEGORIES
from runtime.errors import InputValidationError, PermanentApiError

from ._common import normalise_dates, read_or_none

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CREATE = "Task.svc/Create"
UPDATE = "Task.svc/Update"
BY_ID = "Task.svc/Retrieve.GetById"
BY_LEAD = "LeadManagement.svc/RetrieveTaskByLeadId"
DELETE = "Task.svc/DeleteTasks"
APPOINTMENT, TODO = 0, 1
#: Where a task of the other category is created (added to a wrong-category error).
OTHER_ACTION = {
    TODO: "appointment types are created with create_appointment",
    APPOINTMENT: "to-do types are created with create_task",
}
NOTIFY_BY = {"email": "1100", "none": "1000"}  # reference §8.1
#: Related record option -> RelatedEntity code (reference §8.1); neither given = 0 (none).
RELATED = {"lead_id": 1, "opportunity_id": 5}
NO_RELATED = {"RelatedEntity": 0}
#: RetrieveTaskByLeadId spells these differently from the other task reads (reference §8.3).
BY_LEAD_NAMES = {"TaskID": "UserTaskId", "OwnerID": "OwnerId"}
DATE_PROPERTIES = frozenset({"DueDate", "EndDate", "CreatedOn", "ModifiedOn", "CompletedOn"})

Option = Callable[["LeadSquaredClient", Any], dict[str, Any]]


def _owner(client: LeadSquaredClient, value: Any) -> dict[str, Any]:
    # OwnerId rather than OwnerEmailAddress: the user is checked (active) either way.
    return {"OwnerId": client.metadata.resolve_user(value, location="owner")}


def _clock(value: str) -> str:
    return value if value.count(":") == 2 else f"{value}:00"


#: Input option -> the Task.svc fields it sets (create and update share it).
OPTIONS: dict[str, Option] = {
    "name": lambda c, v: {"Name": v},
    "description": lambda c, v: {"Description": v},
    "owner": _owner,
    "lead_id": lambda c, v: {"RelatedEntity": RELATED["lead_id"], "RelatedEntityId": v},
    "opportunity_id": lambda c, v: {"RelatedEntity": RELATED["opportunity_id"],
                                    "RelatedEntityId": v},
    "due_date": lambda c, v: {"DueDate": format_datetime(v)},
    "start": lambda c, v: {"DueDate": format_datetime(v)},
    "end": lambda c, v: {"EndDate": format_datetime(v)},
    "end_date": lambda c, v: {"EndDate": format_datetime(v)},
    "reminder_minutes": lambda c, v: {"Reminder": v},
    "reminder_before_days": lambda c, v: {"ReminderBeforeDays": str(v)},
    "reminder_time": lambda c, v: {"ReminderTime": _clock(v)},
    "location": lambda c, v: {"Location": v},
    "notify_by": lambda c, v: {"NotifyBy": NOTIFY_BY[v]},
}


def task_type(client: LeadSquaredClient, name: str, category: int) -> dict[str, Any]:
    """The task type ``name`` of ``category``; a wrong category names the other action."""
    try:
        return client.metadata.resolve_task_type(name, category, location="task_type")
    except InputValidationError as error:
        raise InputValidationError(
            f"not {TASK_CATEGORIES[category]} type", error.problems, hint=OTHER_ACTION[category]
        ) from None


def task_fields(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The Task.svc fields of every option given (``fields`` aside); end never before start."""
    check_schedule(inputs)
    body: dict[str, Any] = {}
    for option, convert in OPTIONS.items():
        if option in inputs:
            body.update(convert(client, inputs[option]))
    return body


def check_schedule(inputs: Mapping[str, Any]) -> None:
    """InputValidationError (before any request) when the end is before the start."""
    start = next((inputs[k] for k in ("start", "due_date") if k in inputs), None)
    end_key = next((k for k in ("end", "end_date") if k in inputs), None)
    if start is None or end_key is None:
        return
    begins, ends = format_datetime(start), format_datetime(inputs[end_key])
    if ends < begins:
        raise InputValidationError(
            "the end is before the start",
            [f"{end_key}: {ends} (UTC) is before the start {begins} (UTC)"],
        )


def custom_fields(
    client: LeadSquaredClient, kind: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """``{"CustomFields": fields}`` after checking the names against the type's columns."""
    if not fields:
        return {}
    columns = kind.get("ColumnConfiguration") or []
    valid = {str(c.get("SchemaName")) for c in columns if isinstance(c, Mapping)}
    client.metadata.check_record_fields(
        fields, valid, record=f"task type ({kind['Name']})", listed_by="RetrieveTaskType"
    )
    return {"CustomFields": dict(fields)}


def custom_fields_of(
    client: LeadSquaredClient, task: Mapping[str, Any], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """``{"CustomFields": fields}`` for an existing task, checked against its type."""
    type_ref = task.get("TaskTypeId") or task.get("TaskType")
    if not type_ref:
        # LIKELY (reference §8.3: Retrieve.GetById is known from code only): the read names the
        # type; if it does not, the names cannot be checked here and LeadSquared checks them.
        return {"CustomFields": dict(fields)}
    kind = client.metadata.resolve_task_type(str(type_ref), location="task.TaskTypeId")
    return custom_fields(client, kind, fields)


def create_body(
    client: LeadSquaredClient, inputs: Mapping[str, Any], category: int
) -> dict[str, Any]:
    """The Task.svc/Create body of a to-do (category 1) or an appointment (0)."""
    check_schedule(inputs)
    kind = task_type(client, inputs["task_type"], category)
    return {
        **NO_RELATED,
        **task_fields(client, inputs),
        "TaskType": {"Name": kind["Name"]},
        **custom_fields(client, kind, inputs.get("fields") or {}),
    }


def created_id(answer: Any) -> str:
    """``Message.Id`` of a Create answer (reference §8.1)."""
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    task_id = message.get("Id") if isinstance(message, Mapping) else None
    if not isinstance(task_id, str) or not task_id:
        raise PermanentApiError(
            "LeadSquared answered without the task's Id", operation=CREATE,
            hint="the task may have been created; check the owner's tasks",
        )
    return task_id


# -- reads -----------------------------------------------------------------------------------

def by_id(client: LeadSquaredClient, task_id: str) -> dict[str, Any] | None:
    """Retrieve.GetById: LIKELY (§8.3, code only) an array whose first element is the task,
    ``[]`` for none. Read under every variant: a bare task object is taken too, and an
    MXInvalidEntityException (as other reads answer an unknown id) means none."""
    answer = read_or_none(client, BY_ID, {"id": task_id})
    rows = answer if isinstance(answer, list) else [answer]
    items = [item for item in rows if isinstance(item, Mapping) and item]
    return task_record(items[0]) if items else None


def of_lead(client: LeadSquaredClient, lead_id: str) -> list[dict[str, Any]]:
    """The lead's tasks (RetrieveTaskByLeadId), earliest due first."""
    answer = client.get(BY_LEAD, {"leadId": lead_id})
    items = answer.get("TaskList") if isinstance(answer, Mapping) else None
    rows = [task_record(item) for item in items or [] if isinstance(item, Mapping)]
    return sorted(rows, key=lambda task: str(task.get("DueDate") or ""))


def task_record(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A task read: the by-lead names as elsewhere, dates as UTC ``yyyy-MM-dd HH:mm:ss``."""
    record = {BY_LEAD_NAMES.get(name, name): value for name, value in raw.items()}
    return normalise_dates(record, DATE_PROPERTIES)


def count(value: Any, default: int = 0) -> int:
    """A DeleteTasks count (an int, or a string of digits); ``default`` when absent."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default
