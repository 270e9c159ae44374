"""update_lead: change some fields of one lead (LeadManagement.svc/Lead.Update, §4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _leads

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Send only the given fields; returns ``lead_id``. A missing lead is an
    MXInvalidEntityException error ("Lead does not exist in the system")."""
    lead_id = inputs["lead_id"]
    body = _leads.attributes(client, inputs["fields"])
    params = {"leadId": lead_id, "postUpdatedLead": inputs["post_updated_lead"]}
    client.post(_leads.UPDATE, body, params=params)
    return {"lead_id": lead_id}
