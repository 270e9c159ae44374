"""create_lead: create one lead with LeadManagement.svc/Lead.Create (reference §4.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import AmbiguousWriteError

from . import _leads
from ._common import message_value

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the lead; returns its ``lead_id``.

    Lead.Create is not idempotent, so it is never resent once it may have reached
    LeadSquared. If its answer is lost, the lead is looked up by EmailAddress (else Phone):
    found, it is returned with ``recovered: true``; not found, the ambiguous error stands.
    """
    fields = inputs["fields"]
    body = _leads.attributes(client, fields)
    try:
        answer = client.post(_leads.CREATE, body, creates=True)
    except AmbiguousWriteError:
        lead_id = _leads.recover_created(client, fields)
        if lead_id is None:
            raise
        return {"lead_id": lead_id, "recovered": True}
    return {"lead_id": message_value(answer, "Id", _leads.CREATE)}
