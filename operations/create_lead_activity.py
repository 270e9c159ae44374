"""create_lead_activity: post an activity on a lead (ProspectActivity.svc/Create)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lead_activity import CREATE
from runtime.api.lsq_format import format_datetime

from ._common import message_value
from ._lead_activities import activity_type, schema_fields
from ._leads import lead_id_of

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Check the type and fields, find the lead, post the activity; never resent once it may
    have reached LeadSquared (Create is not idempotent).

    A lead given by email is looked up first and posted by RelatedProspectId: Create would
    otherwise make a new lead for an unknown email (§4.8), a typo included.
    """
    kind = activity_type(client, inputs)
    fields = schema_fields(client, kind, inputs["fields"]) if inputs.get("fields") else None
    lead = lead_id_of(client, inputs)
    body: dict[str, Any] = {"RelatedProspectId": lead, "ActivityEvent": kind["ActivityEvent"]}
    if "note" in inputs:
        body["ActivityNote"] = inputs["note"]
    if "activity_date_time" in inputs:
        body["ActivityDateTime"] = format_datetime(inputs["activity_date_time"])
    if fields is not None:
        body["Fields"] = fields
    answer = client.post(CREATE, body, creates=True)
    return {"activity_id": message_value(answer, "Id", CREATE), "lead_id": lead}
