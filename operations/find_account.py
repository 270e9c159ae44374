"""find_account: an account of a Company Type by id or exact name (Company.Get)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._accounts import account_by_id, account_by_name
from ._common import find_result

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"found": true, "account": {...}}``, or found false (an error if asked to fail)."""
    type_name = inputs["company_type"]
    if "account_id" in inputs:
        account = account_by_id(client, type_name, inputs["account_id"])
        looked_for = f"CompanyId '{inputs['account_id']}'"
    else:
        account = account_by_name(client, type_name, inputs["name"])
        looked_for = f"CompanyName '{inputs['name']}'"
    return find_result(
        "account", [account] if account else [],
        fail_if_not_found=inputs["fail_if_not_found"],
        looked_for=f"{looked_for} of Company Type '{type_name}'",
    )
