"""Requests and answers shared by the lead activity actions (ProspectActivity.svc, §4.8).

The operation names and the one record shape live in :mod:`runtime.api.lead_activity` (the
triggers read the same answers). Before anything is written, the type is resolved by code or
display name (ActivityTypes.Get) and every field name is checked against the type
(GetActivitySetting), both cached per client; an Owner given as an email address becomes the
user's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lead_activity import DETAILS, RETRIEVE, activity_record
from runtime.api.lsq_format import to_schema_fields

from ._common import read_or_none

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

#: The user-valued activity field; an email address is resolved to the user's id.
OWNER_FIELD = "Owner"
#: The note's schema name in GetActivityDetails' Fields (the docs' examples list it there).
NOTE_FIELD = "ActivityEvent_Note"
#: Retrieve?leadId= rows read in one request. UNKNOWN in the reference: the largest RowCount
#: (the docs' default is 25; a client asks 1000); and whether Offset counts rows or pages (the
#: docs' text says pages, their example starts at 0). Asking Offset 0 for every row wanted is
#: right under both readings; an answer with fewer rows than RecordCount promises is an error.
MAX_ROWS = 1000


def activity_type(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The input's ``activity_type`` (code or display name) as the account's type."""
    return client.metadata.resolve_lead_activity_type(inputs["activity_type"])


def schema_fields(
    client: LeadSquaredClient, kind: dict[str, Any], fields: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``[{SchemaName, Value}]`` for ``fields``, every name checked against the type first."""
    client.metadata.check_lead_activity_fields(kind, fields)
    values = dict(fields)
    if values.get(OWNER_FIELD):
        values[OWNER_FIELD] = client.metadata.resolve_user(
            values[OWNER_FIELD], location=f"fields.{OWNER_FIELD}"
        )
    return to_schema_fields(values)


def details(client: LeadSquaredClient, activity_id: str) -> dict[str, Any] | None:
    """GetActivityDetails?activityId= as the raw answer, or None when there is no such activity.

    UNKNOWN in the reference: how it answers an unknown id; MXInvalidEntityException (as other
    reads do) and an answer without ``ID`` both mean none.
    """
    answer = read_or_none(client, DETAILS, {"activityId": activity_id})
    return dict(answer) if isinstance(answer, Mapping) and answer.get("ID") else None


def field_values(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The activity's field values in a GetActivityDetails answer, by schema name (not the
    note)."""
    return {
        str(field["SchemaName"]): field.get("Value")
        for field in answer.get("Fields") or []
        if isinstance(field, Mapping) and field.get("SchemaName")
        and field["SchemaName"] != NOTE_FIELD
    }


def note_of(answer: Mapping[str, Any]) -> Any:
    """The note in a GetActivityDetails answer (its ActivityEvent_Note field), or None."""
    return next((field.get("Value") for field in answer.get("Fields") or []
                 if isinstance(field, Mapping) and field.get("SchemaName") == NOTE_FIELD), None)


def of_lead(
    client: LeadSquaredClient, lead_id: str, code: int | None
) -> tuple[list[dict[str, Any]], int]:
    """(every activity of the lead, of type ``code`` if given, as records; RecordCount)."""
    body: dict[str, Any] = {"Paging": {"Offset": "0", "RowCount": str(MAX_ROWS)}}
    if code is not None:
        body = {"Parameter": {"ActivityEvent": code}, **body}
    answer = client.post(RETRIEVE, body, params={"leadId": lead_id})
    answer = answer if isinstance(answer, Mapping) else {}
    rows = [activity_record(item, RelatedProspectId=lead_id)
            for item in answer.get("ProspectActivities") or [] if isinstance(item, Mapping)]
    try:
        total = int(answer.get("RecordCount"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        total = len(rows)
    return rows, total
