"""delete_opportunity: delete one opportunity (GET OpportunityManagement.svc/Delete?Id=, §7.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import PermanentApiError

from . import _opportunities
from ._deletes import delete_record

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Look the opportunity up (GetOpportunityDetails), then delete it (operations._deletes).

    The answer's ``Message.IsSuccessful`` false is ``not_deleted`` with the reason; a type
    without Allow Delete raises LeadSquared's error with that cause as the hint.
    """
    opportunity_id = inputs["opportunity_id"]
    try:
        deletion = delete_record(
            exists=lambda: _opportunities.details(client, opportunity_id) is not None,
            send=lambda: client.get(_opportunities.DELETE, {"Id": opportunity_id}),
            refusal=_refusal,
        )
    except PermanentApiError as error:
        raise _opportunities.delete_error(error) from error
    reason = deletion.reason or (
        "no opportunity with this id" if deletion.result == "already_absent" else None)
    return {"opportunity_id": opportunity_id, **deletion.fields(), "failure_reason": reason}


def _refusal(answer: Any) -> str | None:
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    if isinstance(message, Mapping) and message.get("IsSuccessful") is False:
        return "LeadSquared answered IsSuccessful false"
    return None
