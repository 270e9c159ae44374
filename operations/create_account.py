"""create_account: create an account of a Company Type (CompanyManagement.svc/Company.Create)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._accounts import CREATE, company_properties, company_type
from ._common import message_value

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the account; returns its ``account_id``. Not retried once it may have landed."""
    body = {
        "CompanyType": company_type(inputs["company_type"]),
        **company_properties(client, inputs["fields"]),
    }
    answer = client.post(CREATE, body, creates=True)
    return {"account_id": message_value(answer, "Id", CREATE)}
