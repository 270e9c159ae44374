"""delete_opportunity: delete one opportunity (GET OpportunityManagement.svc/Delete?Id=, §7.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import PermanentApiError

from . import _opportunities

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``deleted: true``; an unknown id is ``deleted: false`` with the reason; a type without
    Allow Delete raises LeadSquared's error with that cause as the hint."""
    opportunity_id = inputs["opportunity_id"]
    try:
        answer = client.get(_opportunities.DELETE, {"Id": opportunity_id})
    except PermanentApiError as error:
        if error.exception_type == _opportunities.NOT_FOUND_EXCEPTION:
            return {"opportunity_id": opportunity_id, "deleted": False,
                    "failure_reason": error.message}
        raise _opportunities.delete_error(error) from error
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    if isinstance(message, Mapping) and message.get("IsSuccessful") is False:
        return {"opportunity_id": opportunity_id, "deleted": False,
                "failure_reason": "LeadSquared answered IsSuccessful false"}
    return {"opportunity_id": opportunity_id, "deleted": True, "failure_reason": None}
