"""add_lead_to_list: add one lead to a static list (LeadManagement.svc/AddLeadToStaticList)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._leads import lead_id_of
from ._lists import ADD, static_list

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Add the lead; ``added`` is false when it was already a member (AffectedRows 0)."""
    target = static_list(client, inputs)
    lead = lead_id_of(client, inputs)
    answer = client.post(ADD, None, params={"listId": target["ListId"], "leadId": lead})
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    # LIKELY: AffectedRows is 0 when the lead was already in the list; absent means added.
    rows = message.get("AffectedRows", 1) if isinstance(message, Mapping) else 1
    return {"list_id": target["ListId"], "lead_id": lead, "added": str(rows) != "0"}
