"""create_account_activity: post an activity on an account (CompanyActivity.svc/Create)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import format_datetime

from ._account_activities import CREATE, note_and_fields
from ._common import message_value

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the activity; returns its ``activity_id``. Not retried once it may have landed."""
    body: dict[str, Any] = {
        "RelatedCompanyId": inputs["account_id"],
        "ActivityEvent": inputs["activity_event"],
    }
    if "activity_date_time" in inputs:
        body["ActivityDateTime"] = format_datetime(inputs["activity_date_time"])
    body.update(note_and_fields(client, inputs))
    answer = client.post(CREATE, body, creates=True)
    return {"activity_id": message_value(answer, "Id", CREATE)}
