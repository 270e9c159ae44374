"""delete_lead: delete one lead for good (GET LeadManagement.svc/Lead/Delete/ById, §4.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import PermanentApiError

from . import _leads
from ._deletes import delete_record

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the lead (LeadSquared cascades to its opportunities, activities and tasks).

    The answer (``{"Status": "Success"}``) does not say whether the lead existed, so it is
    looked up first (Leads.GetById, see operations._deletes). Lead delete is off on
    LeadSquared accounts until support enables it; that error says so.
    """
    lead_id = inputs["lead_id"]
    try:
        deletion = delete_record(
            exists=lambda: bool(_leads.by_id(client, lead_id)),
            send=lambda: client.get(_leads.DELETE, {"leadId": lead_id}),
        )
    except PermanentApiError as error:
        raise _leads.delete_error(error) from None
    return {"lead_id": lead_id, **deletion.fields()}
