"""update_account_activity: change an account activity's note or fields
(CompanyActivity.svc/Update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._account_activities import UPDATE, note_and_fields
from ._common import message_value

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Update the activity; only the note (when given) and the given fields change."""
    body = {"CompanyActivityId": inputs["activity_id"], **note_and_fields(client, inputs)}
    answer = client.post(UPDATE, body)
    return {"activity_id": message_value(answer, "Id", UPDATE)}
