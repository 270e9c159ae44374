"""Shared request building and output shaping for the account (company) actions (reference §5).

The CompanyManagement.svc operation names live here, once. Account fields travel as
``{"CompanyProperties": [{"Attribute", "Value"}]}`` (the wrapper is required: a bare list is
MXInvalidDataTypeException "You're missing Company details."); an ``OwnerId`` given as an
email address is resolved to the user's id first. Company.Get answers each account as a
``companyPropertyList`` (lower-case ``c``), returned here as one flat record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import to_attributes

from ._common import records

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CREATE = "CompanyManagement.svc/Company.Create"
UPDATE = "CompanyManagement.svc/Company.Update"
GET = "CompanyManagement.svc/Company.Get"
DELETE = "CompanyManagement.svc/Company.Delete"
#: The user-valued account field; an email address is resolved to the user's id.
OWNER_FIELD = "OwnerId"
#: Company.Get page size when searching by name (live code uses up to 1000, reference §5.3).
PAGE_SIZE = 100
#: Newest change first, so the first exact name match is the most recently modified account.
NEWEST_FIRST = {"ColumnName": "ModifiedOn", "Direction": "1"}


def company_properties(
    client: LeadSquaredClient, fields: Mapping[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """``{"CompanyName": "A", "OwnerId": "a@b.com"}`` -> ``{"CompanyProperties": [...]}``."""
    values = dict(fields)
    if values.get(OWNER_FIELD):
        values[OWNER_FIELD] = client.metadata.resolve_user(
            values[OWNER_FIELD], location=f"fields.{OWNER_FIELD}"
        )
    return {"CompanyProperties": to_attributes(values)}


def company_type(name: str) -> dict[str, str]:
    """The ``CompanyType`` wrapper of Create and of Company.Get's ``Query``."""
    return {"CompanyTypeName": name}


def get_accounts(
    client: LeadSquaredClient, type_name: str, query: Mapping[str, Any], page: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """One Company.Get page of ``type_name``: (flat accounts, RecordCount)."""
    body = {
        "Query": {"CompanyType": company_type(type_name), **query},
        "Sorting": NEWEST_FIRST,
        "Paging": {"PageIndex": page, "PageSize": PAGE_SIZE},
    }
    answer = client.post(GET, body)
    # Company.Get does not list the type among the properties; it is the type that was queried.
    accounts = [{**row, "CompanyType": type_name} for row in records(answer, "Companies")]
    total = answer.get("RecordCount") if isinstance(answer, Mapping) else None
    return accounts, int(total) if isinstance(total, int | str) and str(total).isdigit() else 0


def account_by_id(
    client: LeadSquaredClient, type_name: str, account_id: str
) -> dict[str, Any] | None:
    """The account with this CompanyId among ``type_name``'s accounts, or ``None``."""
    # LIKELY (reference §5.3): no get-by-id endpoint; a CompanyId "=" filter under the type.
    query = {"FilterBy": {"LookupName": "CompanyId", "LookupValue": account_id, "SqlOperator": "="}}
    accounts, _ = get_accounts(client, type_name, query)
    return next((a for a in accounts if str(a.get("CompanyId")).lower() == account_id.lower()),
                None)


def account_by_name(client: LeadSquaredClient, type_name: str, name: str) -> dict[str, Any] | None:
    """The most recently modified account named exactly ``name`` (any case), or ``None``.

    SearchText is a name-fragment search (LIKELY, reference §5.3), so exact matches are picked
    client-side, page by page until one is found or the RecordCount is exhausted.
    """
    wanted, page, seen = _folded(name), 1, 0
    while True:
        accounts, total = get_accounts(client, type_name, {"SearchText": name.strip()}, page)
        match = next((a for a in accounts if _folded(a.get("CompanyName")) == wanted), None)
        seen += len(accounts)
        if match is not None or not accounts or seen >= total:
            return match
        page += 1


def _folded(name: Any) -> str:
    return str(name or "").strip().casefold()
