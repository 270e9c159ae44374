"""delete_lead: delete one lead for good (GET LeadManagement.svc/Lead/Delete/ById, §4.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import PermanentApiError

from . import _leads

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the lead (LeadSquared cascades to its opportunities, activities and tasks).

    Lead delete is off on LeadSquared accounts until support enables it; that error says so.
    """
    lead_id = inputs["lead_id"]
    try:
        client.get(_leads.DELETE, {"leadId": lead_id})
    except PermanentApiError as error:
        raise _leads.delete_error(error) from None
    return {"lead_id": lead_id, "deleted": True}
