"""find_opportunity: one opportunity by id (GetOpportunityDetails), or a lead's opportunities of
one type (GetOpportunitiesOfLead), reference §7.3-7.4."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _opportunities
from ._common import find_result

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{found, opportunity, opportunities, record_count}``; found false when none matches."""
    if "opportunity_id" in inputs:
        record = _opportunities.details(client, inputs["opportunity_id"])
        rows, total = ([record], 1) if record else ([], 0)
        looked_for = f"id {inputs['opportunity_id']}"
    else:
        kind = client.metadata.resolve_opportunity_type(inputs["opportunity_type"])
        rows, total = _opportunities.of_lead(client, inputs["lead_id"], kind["EventCode"])
        looked_for = f"type {kind['DisplayName']} ({kind['EventCode']}) on lead {inputs['lead_id']}"
    result = find_result("opportunity", rows, looked_for=looked_for,
                         fail_if_not_found=inputs["fail_if_not_found"])
    return {**result, "opportunities": rows, "record_count": total}
