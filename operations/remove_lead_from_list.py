"""remove_lead_from_list: take one lead out of a static list
(LeadSegmentation.svc/RemoveLeadFromStaticList)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._leads import lead_id_of
from ._lists import REMOVE, static_list

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Remove the lead (a lead that is not a member is not an error)."""
    target = static_list(client, inputs)
    lead = lead_id_of(client, inputs)
    client.get(REMOVE, {"ListId": target["ListId"], "LeadID": lead})
    return {"list_id": target["ListId"], "lead_id": lead}
