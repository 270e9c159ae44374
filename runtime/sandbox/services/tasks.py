"""Task.svc: tasks and appointments (reference §8), plus RetrieveTaskByLeadId.

``tenant.task_types`` lists the types (``{Id, Name, Category, Color, DefaultDuration (minutes),
ColumnConfiguration: [{SchemaName, DisplayName, DataType}]}``; Category 0 = appointment,
1 = to-do). ``tenant.tasks`` holds the records by ``UserTaskId`` in their flat read shape,
minus ``Status``, which follows the clock (Pending until EndDate, then Overdue).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from runtime.sandbox.errors import invalid_data, invalid_entity, mandatory_missing
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.services.accounts import (
    as_text,
    count_create,
    format_date,
    parse_date,
    unknown_attributes,
    user_name,
)
from runtime.sandbox.state import Tenant, new_id

router = Router()

RELATED_ENTITIES = {0: "none", 1: "lead", 5: "opportunity"}
TASK_KEYS = (
    "UserTaskId", "AutoId", "Name", "Description", "Category", "TaskType", "TaskTypeId",
    "RelatedEntity", "RelatedEntityId", "RelatedEntityIdName", "DueDate", "EndDate", "Reminder",
    "ReminderBeforeDays", "ReminderTime", "NotifyBy", "OwnerId", "OwnerName", "OwnerEmailAddress",
    "Location", "StatusCode", "CompletedOn", "CreatedBy", "CreatedByName", "CreatedOn",
    "ModifiedBy", "ModifiedByName", "ModifiedOn",
)
PUBLIC_TYPE_KEYS = ("Id", "Name", "Category", "Color", "ColumnConfiguration")
TYPE_COLUMNS = {"TaskTypeId": "Id", "TaskTypeName": "Name", "Category": "Category"}
OWNER_LOOKUPS = ("OwnerId", "OwnerEmailAddress")
MAX_DELETE = 5000
# UNKNOWN in the reference: Task.svc/Retrieve's default page (25 rows, the ProspectActivity
# default) and order (DueDate ascending) when the body sends none.
DEFAULT_ROWS = 25
# LIKELY: MarkComplete answers like Update without the AutoId (reference §8.4, code only).
COMPLETE_MESSAGE = {"AffectedRows": 1}
# Fields Task.svc/Update may change (reference §8.2), besides owner and CustomFields.
UPDATABLE = ("Name", "Description", "Reminder", "ReminderBeforeDays", "ReminderTime",
             "NotifyBy", "Location")


def task_status(task: Mapping[str, Any], now: datetime) -> str:
    """"Completed", or "Pending" until EndDate and "Overdue" after it (reference §8.1)."""
    if task["StatusCode"] == 1:
        return "Completed"
    return "Overdue" if task["EndDate"] < format_date(now) else "Pending"


def flat_task(task: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The task as Retrieve, Retrieve.GetById and the task webhooks show it.

    UNKNOWN in the reference: the task webhook payload; chosen this same flat object.
    """
    ordered = {key: task.get(key) for key in TASK_KEYS}
    custom = {key: value for key, value in task.items() if key not in ordered}
    return {**ordered, **custom, "Status": task_status(task, now)}


def find_task(tenant: Tenant, task_id: Any) -> dict[str, Any]:
    task = tenant.tasks.get(str(task_id or ""))
    if task is None:
        raise invalid_entity("Task does not exist in the system")  # UNKNOWN: message
    return task


def task_type(tenant: Tenant, spec: Any) -> dict[str, Any]:
    """The type named by ``{"Name": ...}`` or ``{"Id": ...}`` (a bare name is accepted too)."""
    if isinstance(spec, str):
        spec = {"Name": spec}
    if not isinstance(spec, Mapping) or not (spec.get("Name") or spec.get("Id")):
        raise mandatory_missing("TaskType is mandatory")
    for kind in tenant.task_types:
        if (spec.get("Id") and kind["Id"] == spec["Id"]) or (
            spec.get("Name") and str(kind["Name"]).lower() == str(spec["Name"]).lower()
        ):
            return kind
    wanted = spec.get("Name") or spec.get("Id")
    raise invalid_entity(f"Task Type '{wanted}' does not exist")  # UNKNOWN: chosen exception


def owner(tenant: Tenant, body: Mapping[str, Any], default: str | None) -> str | None:
    """The owner's user id from ``OwnerId`` or ``OwnerEmailAddress``; active users only."""
    if body.get("OwnerId"):
        user = tenant.users.get(str(body["OwnerId"]))
    elif body.get("OwnerEmailAddress"):
        email = str(body["OwnerEmailAddress"]).lower()
        user = next((u for u in tenant.users.values()
                     if str(u.get("EmailAddress", "")).lower() == email), None)
    else:
        return default
    if user is None or str(user.get("StatusCode", 0)) != "0":
        wanted = body.get("OwnerId") or body.get("OwnerEmailAddress")
        raise invalid_entity(f"Owner '{wanted}' does not exist or is not active")
    return str(user["ID"])


def related(tenant: Tenant, entity: Any, entity_id: Any) -> tuple[int, str | None, str | None]:
    """(RelatedEntity, RelatedEntityId, its display name); the record must exist."""
    try:
        code = int(entity if entity not in (None, "") else 0)
    except (TypeError, ValueError):
        code = -1
    if code not in RELATED_ENTITIES:
        raise invalid_data(f"RelatedEntity '{entity}' is not valid; use 0, 1 or 5")
    if code == 0:
        return 0, None, None
    if not entity_id:
        raise mandatory_missing("RelatedEntityId is mandatory when RelatedEntity is set")
    if code == 1:
        lead = tenant.leads.get(str(entity_id))
        if lead is None:
            raise invalid_entity("Lead does not exist in the system")
        name = f"{lead.get('FirstName') or ''} {lead.get('LastName') or ''}".strip()
        return 1, str(entity_id), name or lead.get("EmailAddress")
    opportunity = tenant.opportunities.get(str(entity_id))
    if opportunity is None:
        raise invalid_entity("Opportunity does not exist in the system")
    return 5, str(entity_id), opportunity.get("mx_Custom_1")


def custom_fields(kind: Mapping[str, Any], values: Any) -> dict[str, str | None]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise invalid_data("CustomFields must be an object of {schema name: value}")
    allowed = {column["SchemaName"] for column in kind.get("ColumnConfiguration", [])}
    unknown = [name for name in values if name not in allowed]
    if unknown:
        raise unknown_attributes(unknown)
    return {name: as_text(value) for name, value in values.items()}


def schedule(kind: Mapping[str, Any], due: datetime, end: Any) -> str:
    """EndDate: the given one, else an appointment's default duration (a to-do's is DueDate)."""
    if end:
        finish = parse_date(end, "EndDate")
        if finish < due:
            raise invalid_data("EndDate must not be earlier than DueDate")  # UNKNOWN: message
        return format_date(finish)
    minutes = int(kind.get("DefaultDuration", 30)) if kind["Category"] == 0 else 0
    return format_date(due + timedelta(minutes=minutes))


def new_task(request: SandboxRequest, body: Mapping[str, Any]) -> dict[str, Any]:
    tenant, now = request.tenant, request.now()
    if not body.get("Name"):
        raise mandatory_missing("Name is mandatory")  # UNKNOWN: exact message
    kind = task_type(tenant, body.get("TaskType"))
    owner_id = owner(tenant, body, request.user_id)  # LIKELY: the API caller by default
    entity, entity_id, entity_name = related(tenant, body.get("RelatedEntity"),
                                             body.get("RelatedEntityId"))
    due = parse_date(body["DueDate"], "DueDate") if body.get("DueDate") else now  # due today
    extra = custom_fields(kind, body.get("CustomFields"))
    stamp = format_date(now)
    task = {
        "UserTaskId": new_id(),
        "AutoId": 1 + max((t["AutoId"] for t in tenant.tasks.values()), default=0),
        "Name": as_text(body["Name"]),
        "Description": as_text(body.get("Description")),
        "Category": kind["Category"],
        "TaskType": kind["Name"],
        "TaskTypeId": kind["Id"],
        "RelatedEntity": entity,
        "RelatedEntityId": entity_id,
        "RelatedEntityIdName": entity_name,
        "DueDate": format_date(due),
        "EndDate": schedule(kind, due, body.get("EndDate")),
        "Reminder": _int(body.get("Reminder"), "Reminder"),
        "ReminderBeforeDays": as_text(body.get("ReminderBeforeDays")),
        "ReminderTime": as_text(body.get("ReminderTime")),
        "NotifyBy": as_text(body.get("NotifyBy")) or "1000",  # 1000 = no notification
        "OwnerId": owner_id,
        "Location": as_text(body.get("Location")),
        "StatusCode": 0,
        "CompletedOn": None,
        "CreatedBy": request.user_id,
        "CreatedOn": stamp,
        "ModifiedBy": request.user_id,
        "ModifiedOn": stamp,
        **extra,
    }
    _refresh_names(tenant, task)
    return task


def _int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_data(f"'{name}' must be a number") from None


def _refresh_names(tenant: Tenant, task: dict[str, Any]) -> None:
    user = tenant.users.get(task["OwnerId"] or "", {})
    task["OwnerName"] = user_name(tenant, task["OwnerId"])
    task["OwnerEmailAddress"] = user.get("EmailAddress")
    task["CreatedByName"] = user_name(tenant, task["CreatedBy"])
    task["ModifiedByName"] = user_name(tenant, task["ModifiedBy"])


@router.route("Task.svc/Create", "POST")
def create(request: SandboxRequest) -> dict[str, Any]:
    body = request.object_body
    task = new_task(request, body)
    request.tenant.tasks[task["UserTaskId"]] = task
    count_create(request)
    request.emit("task_create", flat_task(task, request.now()))
    # The id's place is from Panora's code (reference §8.1).
    return {"Status": "Success", "Message": {"Id": task["UserTaskId"]}}


@router.route("Task.svc/Update", "POST")
def update(request: SandboxRequest) -> dict[str, Any]:
    tenant = request.tenant
    body = request.object_body
    request.require_field("UserTaskId")
    task = find_task(tenant, body["UserTaskId"])
    kind = task_type(tenant, {"Id": task["TaskTypeId"]})
    changes: dict[str, Any] = {name: as_text(body[name]) for name in UPDATABLE if name in body}
    if "Reminder" in body:
        changes["Reminder"] = _int(body["Reminder"], "Reminder")
    if "Name" in changes and not changes["Name"]:
        raise mandatory_missing("Name is mandatory")
    changes["OwnerId"] = owner(tenant, body, task["OwnerId"])
    if "RelatedEntity" in body or "RelatedEntityId" in body:
        entity, entity_id, name = related(
            tenant, body.get("RelatedEntity", task["RelatedEntity"]),
            body.get("RelatedEntityId", task["RelatedEntityId"]),
        )
        changes.update(RelatedEntity=entity, RelatedEntityId=entity_id, RelatedEntityIdName=name)
    if body.get("DueDate") or body.get("EndDate"):
        due = parse_date(body.get("DueDate") or task["DueDate"], "DueDate")
        end = body.get("EndDate")
        if not end:  # only DueDate moves: keep the task's length
            length = parse_date(task["EndDate"], "EndDate") - parse_date(task["DueDate"], "DueDate")
            end = format_date(due + length)
        changes.update(DueDate=format_date(due), EndDate=schedule(kind, due, end))
    changes.update(custom_fields(kind, body.get("CustomFields")))
    task.update(changes, ModifiedBy=request.user_id, ModifiedOn=format_date(request.now()))
    _refresh_names(tenant, task)
    request.emit("task_update", flat_task(task, request.now()))
    return {"Status": "Success", "Message": {"AffectedRows": 1, "AutoId": task["AutoId"]}}


@router.route("Task.svc/Retrieve", "POST")
def retrieve(request: SandboxRequest) -> dict[str, Any]:
    tenant, now = request.tenant, request.now()
    body = request.object_body
    parameter = body.get("Parameter") if isinstance(body.get("Parameter"), Mapping) else {}
    lookup = parameter.get("LookupName")
    if lookup not in OWNER_LOOKUPS:
        raise mandatory_missing("LookupName (OwnerId or OwnerEmailAddress) is mandatory")
    wanted = str(parameter.get("LookupValue") or "").lower()
    rows = [t for t in tenant.tasks.values() if str(t.get(lookup) or "").lower() == wanted]
    # UNKNOWN in the reference: whether the documented FromDate/ToDate range is required, and
    # which date it bounds. Chosen the strict reading: both are required, on DueDate.
    if not parameter.get("FromDate") or not parameter.get("ToDate"):
        raise mandatory_missing("FromDate and ToDate are mandatory")
    low = format_date(parse_date(parameter["FromDate"], "FromDate"))
    high = format_date(parse_date(parameter["ToDate"], "ToDate"))
    rows = [t for t in rows if low <= t["DueDate"] <= high]
    if parameter.get("StatusCode") not in (None, ""):
        rows = [t for t in rows if t["StatusCode"] == _int(parameter["StatusCode"], "StatusCode")]
    if parameter.get("TypeName"):
        rows = [t for t in rows if t["TaskTypeId"] == parameter["TypeName"]]
    sorting = body.get("Sorting") if isinstance(body.get("Sorting"), Mapping) else {}
    column = sorting.get("ColumnName") or "DueDate"
    rows.sort(key=lambda t: str(t.get(column) or ""), reverse=str(sorting.get("Direction")) == "1")
    start, size = _window(body.get("Paging"))
    excluded = _csv(body.get("Columns"), "Exclude_CSV")
    items = [
        {k: v for k, v in flat_task(t, now).items() if k not in excluded}
        for t in rows[start : start + size]
    ]
    return {"RecordCount": len(rows), "List": items}


@router.route("Task.svc/Retrieve.GetById", "GET")
def retrieve_by_id(request: SandboxRequest) -> list[dict[str, Any]]:
    # LIKELY (Panora code only): an array whose first element is the task; [] when unknown.
    task = request.tenant.tasks.get(request.require_arg("id"))
    return [] if task is None else [flat_task(task, request.now())]


@router.route("LeadManagement.svc/RetrieveTaskByLeadId", "GET")
def retrieve_by_lead(request: SandboxRequest) -> dict[str, Any]:
    """The fixed field set of the docs (reference §8.3); an unknown lead has no tasks."""
    lead_id = request.require_arg("leadId")
    now = request.now()
    rows = [t for t in request.tenant.tasks.values()
            if t["RelatedEntity"] == 1 and t["RelatedEntityId"] == lead_id]
    rows.sort(key=lambda t: t["DueDate"])
    return {
        "RecordCount": len(rows),
        "TaskList": [
            {
                "TaskID": t["UserTaskId"], "Name": t["Name"], "Description": t["Description"],
                "DueDate": t["DueDate"], "CreatedOn": t["CreatedOn"], "OwnerID": t["OwnerId"],
                "OwnerName": t["OwnerName"], "CreatedBy": t["CreatedBy"],
                "CreatedByName": t["CreatedByName"], "Status": task_status(t, now),
                "Reminder": t["Reminder"],
            }
            for t in rows
        ],
    }


@router.route("Task.svc/DeleteTasks", "POST")
def delete_tasks(request: SandboxRequest) -> dict[str, Any]:
    """Bulk delete; LeadSquared queues it, the sandbox deletes at once (same answer)."""
    body = request.object_body
    ids = body.get("TaskIds")
    if not isinstance(ids, list) or not ids:
        raise mandatory_missing("TaskIds is mandatory")
    if len(ids) > MAX_DELETE:
        raise invalid_data(f"At most {MAX_DELETE} TaskIds are allowed per call")
    tenant, now = request.tenant, request.now()
    deleted = 0
    for task_id in dict.fromkeys(str(i) for i in ids):
        task = tenant.tasks.pop(task_id, None)
        if task is not None:
            deleted += 1
            request.emit("task_delete", flat_task(task, now))
    missing = len(ids) - deleted
    return {
        "Status": "Success",
        "Operation": "Bulk Delete Tasks",
        "TasksCount": len(ids),
        "DeletedTasksCount": deleted,
        # UNKNOWN in the reference: the text when some ids were not deleted; chosen here.
        "FailureReason": None if missing == 0 else f"{missing} task(s) not found",
    }


@router.route("Task.svc/RetrieveTaskType", "GET")
def retrieve_task_types(request: SandboxRequest) -> list[dict[str, Any]]:
    kinds = request.tenant.task_types
    column, value = request.arg("ColumnName"), request.arg("ColumnValue")
    if column:
        key = TYPE_COLUMNS.get(column)
        if key is None:
            # UNKNOWN in the reference: an unsupported ColumnName; chosen an MX error.
            raise invalid_data(f"ColumnName '{column}' is not valid; use {', '.join(TYPE_COLUMNS)}")
        kinds = [k for k in kinds if str(k[key]).lower() == str(value or "").lower()]
    return [{key: kind.get(key) for key in PUBLIC_TYPE_KEYS} for kind in kinds]


@router.route("Task.svc/MarkComplete", "GET")
def mark_complete(request: SandboxRequest) -> dict[str, Any]:
    task = find_task(request.tenant, request.require_arg("id"))
    stamp = format_date(request.now())
    task.update(StatusCode=1, CompletedOn=stamp, ModifiedBy=request.user_id, ModifiedOn=stamp)
    _refresh_names(request.tenant, task)
    request.emit("task_update", flat_task(task, request.now()))
    return {"Status": "Success", "Message": dict(COMPLETE_MESSAGE)}


def _window(paging: Any) -> tuple[int, int]:
    """(offset, rows) from ``{Offset, RowCount}`` (docs) or ``{PageIndex, PageSize}`` (live)."""
    paging = paging if isinstance(paging, Mapping) else {}
    try:
        if "PageIndex" in paging or "PageSize" in paging:
            size = int(paging.get("PageSize", DEFAULT_ROWS))
            return (int(paging.get("PageIndex", 1)) - 1) * size, size
        return int(paging.get("Offset", 0)), int(paging.get("RowCount", DEFAULT_ROWS))
    except (TypeError, ValueError):
        raise invalid_data("Paging values must be numbers") from None


def _csv(spec: Any, key: str) -> set[str]:
    text = spec.get(key) if isinstance(spec, Mapping) else None
    return {name.strip() for name in str(text or "").split(",") if name.strip()}


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Task types and tasks from the tenant's seed (dates as ``yyyy-MM-dd HH:mm:ss``)."""
    tenant.task_types = [dict(kind) for kind in data.get("task_types", [])]
    tenant.tasks = {}
    for entry in data.get("tasks", []):
        task: dict[str, Any] = {
            "Description": None, "RelatedEntity": 0, "RelatedEntityId": None,
            "RelatedEntityIdName": None, "Reminder": None, "ReminderBeforeDays": None,
            "ReminderTime": None, "NotifyBy": "1000", "Location": None, "StatusCode": 0,
            "CompletedOn": None, **entry,
        }
        kind = next(k for k in tenant.task_types if k["Name"] == task["TaskType"])
        task.update(Category=kind["Category"], TaskTypeId=kind["Id"])
        task.setdefault("ModifiedOn", task["CreatedOn"])
        task.setdefault("ModifiedBy", task["CreatedBy"])
        _refresh_names(tenant, task)
        tenant.tasks[task["UserTaskId"]] = task
