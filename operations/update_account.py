"""update_account: set some fields of an account (CompanyManagement.svc/Company.Update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._accounts import UPDATE, company_properties

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Update only the given fields; the body is always the ``CompanyProperties`` wrapper."""
    account_id = inputs["account_id"]
    body = company_properties(client, inputs["fields"])
    client.post(UPDATE, body, params={"companyId": account_id})
    return {"account_id": account_id}
