"""Shared pieces of the six instant (webhook) triggers: payload -> event, keys, API reads.

A webhook payload item becomes an event in the trigger's output shape:

- leads: the payload is a flat lead (reference §12.3); the event is the lead plus ``lead_id``;
- tasks: the payload shape is UNKNOWN in the reference; a payload with every field of
  :data:`TASK_FIELDS` is used as it is, otherwise the task is read with
  ``Task.svc/Retrieve.GetById``; the event is the flat task plus ``task_id``;
- opportunities: the payload is the activity item ``{ProspectActivityId, RelatedProspectId,
  ActivityEvent (type code), Data: {}}`` (§12.3, LIKELY), so the opportunity is always read
  with ``OpportunityManagement.svc/GetOpportunityDetails``; the event is its fields, flat, plus
  ``opportunity_id`` and ``lead_id``. Only the configured opportunity type fires.

Event keys: a create fires once per record (key = its id); an update is keyed by id and
modification time. When an update payload carries no modification time (LeadSquared's
opportunity payloads never do), a retried delivery and a second real update look identical;
chosen: never drop an update, so each such delivery gets its own key (see
:func:`update_key`), and the event's ``ModifiedOn`` (read from the API) identifies it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.errors import InputValidationError, PermanentApiError

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

log = logging.getLogger(__name__)

# Webhook.svc/Create event codes documented for WebhookEvent (reference §12.1).
LEAD_CREATE, LEAD_UPDATE, TASK_CREATE, TASK_UPDATE = "3", "6", "7", "17"
# Opportunity codes differ between the docs (31 create, 32 update) and a live tenant (29, 30);
# live-tested behaviour wins, so the live codes are tried first and each is verified by the
# event name Webhook.svc/Retrieve reports (runtime.engine.subscriptions).
OPPORTUNITY_CREATE_CODES = ("29", "31")
OPPORTUNITY_UPDATE_CODES = ("30", "32")
OPPORTUNITY_CREATE_NAME = "Opportunity_Post_Create"
OPPORTUNITY_UPDATE_NAME = "Opportunity_Post_Update"

GET_LEADS = "LeadManagement.svc/Leads.Get"
GET_TASK = "Task.svc/Retrieve.GetById"
RETRIEVE_TASKS = "Task.svc/Retrieve"
OPPORTUNITY_DETAILS = "OpportunityManagement.svc/GetOpportunityDetails"
OPPORTUNITIES_OF_LEAD = "OpportunityManagement.svc/GetOpportunitiesOfLead"
OPPORTUNITY_TYPE = "OpportunityManagement.svc/GetOpportunityTypeMetadata"

#: Where each kind of payload keeps its record id (first present wins).
LEAD_IDS = ("ProspectID", "ProspectId", "Id")
TASK_IDS = ("UserTaskId", "TaskID", "TaskId", "Id")
OPPORTUNITY_IDS = ("ProspectActivityId", "OpportunityId", "ProspectOpportunityId", "Id")
#: Nullable fields of the lead event (schemas/common/lead.json) that a payload may omit.
OPTIONAL_LEAD_FIELDS = ("ProspectAutoId", "FirstName", "LastName", "EmailAddress", "Phone",
                        "Mobile", "Company", "Source", "ProspectStage", "OwnerId")
#: A task payload holding all of these is complete; otherwise the task is read by id.
TASK_FIELDS = ("UserTaskId", "Name", "TaskType", "OwnerId", "DueDate", "StatusCode", "ModifiedOn")
#: Other spellings of task fields (RetrieveTaskByLeadId's fixed shape, reference §8.3).
TASK_ALIASES = {"TaskID": "UserTaskId", "OwnerID": "OwnerId"}
#: Task fields that are small integer codes (a form-encoded payload sends them as text).
TASK_CODES = ("Category", "RelatedEntity", "StatusCode")
#: LIKELY: the MX type of "the record does not exist" reads (the sandbox's choice too); such a
#: record was deleted after its webhook fired, so it yields no event.
GONE = frozenset({"MXInvalidEntityException"})
MAX_SAMPLE_LEADS = 25  # leads scanned for opportunities by sample()
MAX_SAMPLE_USERS = 10  # users whose tasks sample() reads
OLDEST = "1900-01-01 00:00:00"
FAR_FUTURE = "2099-12-31 23:59:59"


# -- payload helpers ----------------------------------------------------------------------------


def first_id(item: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """The first non-empty value among ``names``, as text."""
    for name in names:
        value = item.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def record_id(item: Mapping[str, Any], names: Sequence[str], what: str) -> str:
    """The record's id; InputValidationError when the payload has none (events())."""
    value = first_id(item, names)
    if value is None:
        raise InputValidationError(
            f"the webhook payload is not {what}", [f"$: has none of {', '.join(names)}"]
        )
    return value


def key_id(item: Mapping[str, Any], names: Sequence[str]) -> str:
    """The record's id for an event key; KeyError when missing (the receiver then falls
    back to a hash of the payload)."""
    value = first_id(item, names)
    if value is None:
        raise KeyError(names[0])
    return value


def update_key(identifier: str, item: Mapping[str, Any]) -> str:
    """``<id>@<ModifiedOn>``; a payload without a modification time gets a per-delivery key."""
    data = item.get("Data") if isinstance(item.get("Data"), Mapping) else {}
    modified = item.get("ModifiedOn") or data.get("ModifiedOn")
    if modified:
        return f"{identifier}@{modified}"
    received = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{identifier}@received:{received}:{uuid.uuid4().hex[:8]}"


def _scalar(value: Any) -> Any:
    """Event values are scalars: a nested value (form payloads) becomes JSON text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# -- leads --------------------------------------------------------------------------------------


def lead_id_of(item: Mapping[str, Any]) -> str:
    return record_id(item, LEAD_IDS, "a lead")


def lead_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """A flat lead (webhook payload or Leads.Get row) -> ``{"lead_id", **lead}``.

    A webhook payload holds only the fields that have a value (reference §12.3), so the
    nullable fields of the event schema it lacks are filled with None: a workflow reads
    ``trigger.EmailAddress`` or ``trigger.Company`` of any lead (as of a Leads.Get row).
    """
    lead = dict.fromkeys(OPTIONAL_LEAD_FIELDS)
    lead.update({name: _scalar(value) for name, value in item.items()})
    lead_id = lead_id_of(item)
    lead.setdefault("ProspectID", lead_id)
    return {"lead_id": lead_id, **lead}


def recent_leads(client: LeadSquaredClient, column: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` leads with the latest ``column`` (CreatedOn / ModifiedOn), newest first.

    Leads.Get needs a filter, so it asks ``column > 1900-01-01`` (the docs' own recipe uses a
    ``CreatedOn >`` lookup, reference §4.5).
    """
    rows = client.post(GET_LEADS, {
        "Parameter": {"LookupName": column, "LookupValue": OLDEST, "SqlOperator": ">"},
        "Sorting": {"ColumnName": column, "Direction": "1"},
        "Paging": {"PageIndex": 1, "PageSize": max(1, limit)},
    })
    return [row for row in rows or [] if isinstance(row, Mapping)][:limit]


# -- tasks --------------------------------------------------------------------------------------


def task_id_of(item: Mapping[str, Any]) -> str:
    return record_id(item, TASK_IDS, "a task")


def task_event(task: Mapping[str, Any]) -> dict[str, Any]:
    """A flat task -> ``{"task_id", **task}`` with integer codes and the usual field names."""
    flat = {TASK_ALIASES.get(name, name): _scalar(value) for name, value in task.items()}
    for name in TASK_CODES:
        value = flat.get(name)
        if isinstance(value, str):
            flat[name] = int(value) if value.strip().isdigit() else None
    task_id = task_id_of(flat)
    flat["UserTaskId"] = task_id
    return {"task_id": task_id, **flat}


def fetch_task(client: LeadSquaredClient, task_id: str) -> dict[str, Any] | None:
    """The task by id (Retrieve.GetById answers an array, reference §8.3); None if gone."""
    answer = client.get(GET_TASK, {"id": task_id})
    rows = answer if isinstance(answer, list) else [answer] if isinstance(answer, dict) else []
    return dict(rows[0]) if rows and isinstance(rows[0], Mapping) else None


def task_events(client: LeadSquaredClient, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One task event for a webhook item, reading the task when the payload lacks fields."""
    flat = {TASK_ALIASES.get(name, name): value for name, value in item.items()}
    if all(name in flat for name in TASK_FIELDS):
        return [task_event(flat)]
    task_id = task_id_of(flat)
    task = fetch_task(client, task_id)
    if task is None:
        log.info("task %s no longer exists; its webhook yields no event", task_id)
        return []
    return [task_event(task)]


def recent_tasks(client: LeadSquaredClient, column: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` tasks with the latest ``column``, newest first, over the account's users.

    Task.svc/Retrieve reads one owner's tasks, so this asks the caller first and then the
    other active users (at most :data:`MAX_SAMPLE_USERS`). The documented example sends a
    FromDate/ToDate range (reference §8.3, §15); UNKNOWN whether it is required and which date
    it bounds (due date LIKELY), so a range from :data:`OLDEST` to :data:`FAR_FUTURE` is sent:
    it is there if required and excludes no task under any reading.
    """
    caller = client.account().user_id or ""
    users = [str(u["ID"]) for u in client.metadata.users()
             if u.get("ID") and str(u.get("StatusCode", 0)) == "0"]
    owners = list(dict.fromkeys([caller, *users]))[:MAX_SAMPLE_USERS]
    tasks: dict[str, dict[str, Any]] = {}
    for owner in (o for o in owners if o):
        answer = client.post(RETRIEVE_TASKS, {
            "Parameter": {"LookupName": "OwnerId", "LookupValue": owner,
                          "FromDate": OLDEST, "ToDate": FAR_FUTURE},
            "Sorting": {"ColumnName": column, "Direction": "1"},
            "Paging": {"Offset": 0, "RowCount": max(1, limit)},
        })
        for row in (answer or {}).get("List") or []:
            event = task_event(row)
            tasks[event["task_id"]] = event
    newest = sorted(tasks.values(), key=lambda t: str(t.get(column) or ""), reverse=True)
    return newest[:limit]


# -- opportunities ------------------------------------------------------------------------------


def opportunity_id_of(item: Mapping[str, Any]) -> str:
    return record_id(item, OPPORTUNITY_IDS, "an opportunity")


def payload_type(item: Mapping[str, Any]) -> int | None:
    """The opportunity type code a payload names (``ActivityEvent``), if it names one."""
    for name in ("ActivityEvent", "OpportunityEvent", "OpportunityEventCode"):
        value = str(item.get(name) or "").strip()
        if value.isdigit():
            return int(value)
    return None


def fetch_opportunity(
    client: LeadSquaredClient, opportunity_id: str, type_code: int
) -> dict[str, Any] | None:
    """The opportunity as an event (GetOpportunityDetails, Fields[] flattened); None if gone."""
    try:
        details = client.get(OPPORTUNITY_DETAILS,
                             {"OpportunityId": opportunity_id, "getFileURL": "false"})
    except PermanentApiError as problem:
        if problem.exception_type in GONE:
            log.info("opportunity %s no longer exists; its webhook yields no event",
                     opportunity_id)
            return None
        raise
    fields = {
        str(row["SchemaName"]): _scalar(row.get("Value"))
        for row in details.get("Fields") or []
        if isinstance(row, Mapping) and row.get("SchemaName")
    }
    identifier = str(details.get("ID") or opportunity_id)
    lead_id = fields.get("RelatedProspectId")
    return {
        "opportunity_id": identifier,
        "lead_id": lead_id,
        "OpportunityId": identifier,
        "OpportunityEventCode": type_code,
        "OpportunityName": details.get("Name"),
        **fields,
    }


def opportunity_events(
    client: LeadSquaredClient, config: Mapping[str, Any], item: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The event for a webhook item of the configured type; ``[]`` for other types.

    A payload without a type code is trusted: the webhook itself was created for the
    configured type only (OpportunityEvents).
    """
    wanted = int(config["opportunity_type"])
    named = payload_type(item)
    if named is not None and named != wanted:
        return []
    event = fetch_opportunity(client, opportunity_id_of(item), wanted)
    if event is None:
        return []
    if not event.get("lead_id") and item.get("RelatedProspectId"):
        event["lead_id"] = event["RelatedProspectId"] = str(item["RelatedProspectId"])
    return [event]


def recent_opportunities(
    client: LeadSquaredClient, type_code: int, column: str, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` opportunities of a type with the latest ``column``, newest first.

    There is no list-all read (reference §7.4), so this asks GetOpportunitiesOfLead for the
    most recently modified leads (at most :data:`MAX_SAMPLE_LEADS`), then reads each chosen
    opportunity with GetOpportunityDetails so samples have exactly the events' shape.
    """
    found: dict[str, str] = {}
    for lead in recent_leads(client, "ModifiedOn", MAX_SAMPLE_LEADS):
        answer = client.post(
            OPPORTUNITIES_OF_LEAD,
            {"Sorting": {"ColumnName": column, "Direction": "1"},
             "Paging": {"PageIndex": 1, "PageSize": max(1, limit)}},
            params={"leadId": lead_id_of(lead), "opportunityType": type_code},
        )
        for row in (answer or {}).get("List") or []:
            found[opportunity_id_of(row)] = str(row.get(column) or "")
    newest = sorted(found, key=lambda key: found[key], reverse=True)[:limit]
    events = (fetch_opportunity(client, key, type_code) for key in newest)
    return [event for event in events if event is not None]


def check_opportunity_type(client: LeadSquaredClient, type_code: int) -> None:
    """InputValidationError unless ``type_code`` is an opportunity type of the account."""
    try:
        client.get(OPPORTUNITY_TYPE, {"code": type_code})
    except PermanentApiError as problem:
        raise InputValidationError(
            "unknown opportunity type",
            [f"opportunity_type: {type_code} is not an opportunity type of this account "
             f"({problem.message}); see Settings > Opportunities > Opportunity Types"],
        ) from None


def opportunity_webhook(event_code: str, type_code: int) -> dict[str, Any]:
    """Webhook.svc/Create fields of an opportunity webhook (reference §12.2)."""
    codes = [str(type_code)]
    return {
        "WebhookEvent": event_code,
        "OpportunityEvents": codes,
        "WebhookProperties": json.dumps({"OpportunityEvents": codes, "IsAsyncEnable": False}),
    }


def candidate_codes(config: Mapping[str, Any], defaults: Iterable[str]) -> tuple[str, ...]:
    """The configured ``webhook_event_code`` alone, else the default candidates in order."""
    configured = config.get("webhook_event_code")
    return (str(configured),) if configured not in (None, "") else tuple(defaults)
