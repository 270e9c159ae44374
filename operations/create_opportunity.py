"""create_opportunity: one opportunity on a lead with OpportunityManagement.svc/Capture (§7.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _opportunities

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Capture the opportunity; returns its id, or ``duplicate: true`` and the existing one's,
    and the lead's id (looked up after the capture when the lead was given by email or phone).

    The type, owner and field names are checked first (cached lookups). Capture is not
    idempotent, so it is never resent once it may have reached LeadSquared: a lost answer
    raises AmbiguousWriteError ("may already exist").
    """
    kind = client.metadata.resolve_opportunity_type(inputs["opportunity_type"])
    body = _opportunities.capture_body(client, kind, inputs)
    answer = client.post(_opportunities.CAPTURE, body, creates=True)
    output = _opportunities.capture_output(answer)
    return {**output, "lead_id": _opportunities.captured_lead_id(client, inputs)}
