"""update_opportunity: change given fields of one opportunity (OpportunityManagement.svc/Update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import InputValidationError, PermanentApiError

from . import _opportunities
from ._common import NOT_FOUND_EXCEPTION

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CHANGES = ("status", "owner", "note", "fields")


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Send only the given parts; field names are checked against the opportunity's fields
    (read with GetOpportunityDetails, which also tells a missing opportunity) first."""
    if not any(inputs.get(name) not in (None, {}) for name in CHANGES):
        raise InputValidationError(
            "nothing to update", [f"inputs: give at least one of {', '.join(CHANGES)}"]
        )
    opportunity_id = inputs["opportunity_id"]
    current = _opportunities.details(client, opportunity_id)
    if current is None:
        raise PermanentApiError(
            f"no opportunity with id {opportunity_id}", operation=_opportunities.DETAILS,
            exception_type=NOT_FOUND_EXCEPTION, hint="check the opportunity id",
        )
    valid = set(current) - set(_opportunities.ADDED_PROPERTIES)
    fields = _opportunities.schema_fields(client, valid, "opportunity", inputs)
    body: dict[str, Any] = {"ProspectOpportunityId": opportunity_id}
    if "note" in inputs:
        body["OpportunityNote"] = inputs["note"]
    body["Fields"] = fields
    client.post(_opportunities.UPDATE, body)
    sent = [f["SchemaName"] for f in fields] + (["OpportunityNote"] if "note" in inputs else [])
    return {"opportunity_id": opportunity_id, "updated_fields": sent}
