"""delete_account: delete an account, optionally with its leads (Company.Delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._accounts import DELETE, account_by_id
from ._deletes import delete_record

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the account; its leads are deleted too only when ``delete_leads`` is true.

    Company.Delete answers an empty Message whether or not the account existed, so the account
    is looked up first under its Company Type (Company.Get, see operations._deletes).
    """
    account_id, delete_leads = inputs["account_id"], bool(inputs.get("delete_leads", False))
    deletion = delete_record(
        exists=lambda: account_by_id(client, inputs["company_type"], account_id) is not None,
        send=lambda: client.get(DELETE, {"companyId": account_id, "withLeadDelete": delete_leads}),
    )
    return {"account_id": account_id, **deletion.fields(),
            "leads_deleted": delete_leads and deletion.deleted}
