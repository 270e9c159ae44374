"""Lead activities (ProspectActivity.svc, reference §4.8, §12.3, §15): the operation names and
one flat record for every shape LeadSquared answers an activity in.

The shapes, each read by :func:`activity_record`:

- ``Retrieve?leadId=`` (the activities of a lead): ``{Id, EventCode, EventName, CreatedOn,
  ActivityType, Type, ..., Data}`` where ``Data`` is ``[{Key, Value}]`` (live code, §4.8) or an
  object (the docs call it "a key-value pair of all properties");
- ``CustomActivity/RetrieveByActivityEvent`` (the activities of one type, every lead): flat
  items ``{ProspectActivityId, RelatedProspectId, ActivityEvent, ActivityEvent_Note, Status,
  mx_Custom_n, CreatedOn, ...}`` (LIKELY: seen in several clients' code, not in the reference's
  index);
- the activity webhook (WebhookEvent 2): ``{ProspectActivityId, RelatedProspectId,
  ActivityEvent, ActivityEventName, CreatedOn, CreatedBy, Data: {Note, Status, Owner,
  mx_Custom_n}}`` (§12.3, LIKELY);
- ``GetActivityDetails?activityId=``: ``{ID, Name, DisplayName, Fields: [{SchemaName, Value,
  ...}]}`` (the docs' page; no lead id, type code or dates in it).

The record has ``ProspectActivityId``, ``RelatedProspectId``, ``ActivityEvent`` (an integer),
``ActivityEventName``, ``ActivityNote``, the dates as UTC ``yyyy-MM-dd HH:mm:ss`` and the
activity's fields (``Status``, ``Owner``, ``mx_Custom_n``) at the top level, each value a scalar.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from runtime.api.lsq_format import utc_text
from runtime.errors import InputValidationError

CREATE = "ProspectActivity.svc/Create"
# LIKELY: not in the reference's index; LeadSquared's "Update an Activity" page and two clients'
# code post {ProspectActivityId, ActivityEvent, ActivityNote, Fields} here.
UPDATE = "ProspectActivity.svc/CustomActivity/Update"
RETRIEVE = "ProspectActivity.svc/Retrieve"
DETAILS = "ProspectActivity.svc/GetActivityDetails"
# LIKELY (code only: the reference's source S44 and other clients): one type's activities of every
# lead in a date range, paged with PageIndex/PageSize, answered as {RecordCount, List}.
BY_EVENT = "ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent"
TYPES = "ProspectActivity.svc/ActivityTypes.Get"
TYPE_SETTING = "ProspectActivity.svc/CustomActivity/GetActivitySetting"

#: Where each shape keeps a property (first present wins), by the record's name for it.
ALIASES: dict[str, tuple[str, ...]] = {
    "ProspectActivityId": ("ProspectActivityId", "Id", "ID", "ActivityId"),
    "RelatedProspectId": ("RelatedProspectId", "ProspectId", "ProspectID", "LeadId"),
    "ActivityEvent": ("ActivityEvent", "EventCode", "ActivityEventCode"),
    "ActivityEventName": ("ActivityEventName", "EventName", "DisplayName", "Name"),
    "ActivityNote": ("ActivityNote", "ActivityEvent_Note", "Note"),
}
#: Date properties, written as UTC ``yyyy-MM-dd HH:mm:ss`` whatever format they came in.
DATE_PROPERTIES = frozenset({"ActivityDateTime", "CreatedOn", "ModifiedOn"})
#: Where an answer nests the activity's own properties: Data (reads, webhooks), Fields (details).
NESTED = ("Data", "Fields")


def activity_record(raw: Mapping[str, Any], **known: Any) -> dict[str, Any]:
    """One activity, flat (see the module doc); ``known`` fills properties the shape lacks
    (e.g. ``RelatedProspectId`` of a lead's Retrieve, which names the lead only in its query)."""
    flat: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in NESTED:
            flat[name] = value
    for name in NESTED:
        for key, value in _pairs(raw.get(name)):
            flat.setdefault(key, value)
    record: dict[str, Any] = {}
    for name, spellings in ALIASES.items():
        value = next((flat[s] for s in spellings if flat.get(s) not in (None, "")), None)
        record[name] = value if value is not None else known.get(name)
    taken = {spelling for spellings in ALIASES.values() for spelling in spellings}
    for name, value in flat.items():
        if name not in taken and name not in record:
            record[name] = value
    for name, value in known.items():
        record.setdefault(name, value)
    record["ActivityEvent"] = _code(record["ActivityEvent"])
    return {name: utc_text(value) if name in DATE_PROPERTIES else _scalar(value)
            for name, value in record.items()}


def type_code(value: Any, location: str = "activity_type") -> int | None:
    """An activity type given as its code (201, "201"), or None when it is a name."""
    if isinstance(value, bool):
        raise InputValidationError("invalid activity type",
                                   [f"{location}: true/false is not an activity type"])
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _pairs(value: Any) -> Iterable[tuple[str, Any]]:
    """``Data``/``Fields`` as (name, value) pairs: an object, ``[{Key, Value}]``,
    ``[{SchemaName, Value}]``, or either as JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        pairs = []
        for item in value:
            if not isinstance(item, Mapping):
                continue
            name = item.get("SchemaName") or item.get("Key") or item.get("Attribute")
            if name:
                pairs.append((str(name), item.get("Value")))
        return pairs
    return []


def _code(value: Any) -> int | None:
    """ActivityEvent as an integer (some answers send codes as text, reference §2.2)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scalar(value: Any) -> Any:
    """A scalar as it is; a nested value as JSON text (records hold scalars only)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
