"""delete_account: delete an account, optionally with its leads (Company.Delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._accounts import DELETE

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the account; its leads are deleted too only when ``delete_leads`` is true."""
    account_id, delete_leads = inputs["account_id"], bool(inputs.get("delete_leads", False))
    client.get(DELETE, {"companyId": account_id, "withLeadDelete": delete_leads})
    return {"account_id": account_id, "leads_deleted": delete_leads}
