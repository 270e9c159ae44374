"""update_lead_activity: change a lead activity's note or fields
(ProspectActivity.svc/CustomActivity/Update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lead_activity import UPDATE
from runtime.errors import RecordNotFoundError

from ._lead_activities import activity_type, details, field_values, note_of, schema_fields

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Update the activity: only the given note and fields change.

    UNKNOWN in the reference (the update is documented outside it): whether fields and a note
    the update does not send keep their values. The activity is read first (GetActivityDetails)
    and its set values are sent along with the changes, so nothing is lost under either reading;
    a missing activity fails before anything is written.
    """
    kind = activity_type(client, inputs)
    given = dict(inputs.get("fields") or {})
    changes = schema_fields(client, kind, given) if given else []
    current = details(client, inputs["activity_id"])
    if current is None:
        raise RecordNotFoundError(
            f"no lead activity with ProspectActivityId {inputs['activity_id']}")
    kept = [{"SchemaName": name, "Value": value}
            for name, value in field_values(current).items()
            if name not in given and value not in (None, "")]
    body: dict[str, Any] = {"ProspectActivityId": inputs["activity_id"],
                            "ActivityEvent": kind["ActivityEvent"]}
    note = inputs["note"] if "note" in inputs else note_of(current)
    if note is not None:
        body["ActivityNote"] = note
    body["Fields"] = [*kept, *changes]
    client.post(UPDATE, body)
    updated = [*given, *(["ActivityNote"] if "note" in inputs else [])]
    return {"activity_id": inputs["activity_id"], "updated_fields": updated}
