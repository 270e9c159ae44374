"""upsert_lead: update the lead matching search_by, else create it (Lead.CreateOrUpdate, §4.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _leads

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Upsert; returns ``lead_id`` (and ``created`` only if LeadSquared's answer says so).

    Safe to resend: a retry after a lost answer finds the lead the first attempt created by
    its ``search_by`` value and updates it.
    """
    fields = inputs["fields"]
    search_by = _leads.search_by(client, inputs["search_by"], fields)
    body = [*_leads.attributes(client, fields), search_by]
    params = {"postUpdatedLead": inputs["post_updated_lead"]}
    answer = client.post(_leads.UPSERT, body, params=params)
    return _leads.upsert_output(answer)
