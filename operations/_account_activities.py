"""Shared request building and output shaping for the account activity actions (reference §6).

The CompanyActivity.svc operation names live here, once. Activity fields travel as
``[{"SchemaName", "Value"}]``; an ``Owner`` given as an email address is resolved to the
user's id first. Records are returned as LeadSquared reads them, with every date in UTC
``yyyy-MM-dd HH:mm:ss`` (``ActivityFields.CreatedOn`` comes back as ``7/31/2026 5:33:50 AM``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import format_datetime, to_schema_fields

from ._common import normalise_dates, read_or_none

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CREATE = "CompanyActivity.svc/Create"
UPDATE = "CompanyActivity.svc/Update"
RETRIEVE = "CompanyActivity.svc/Retrieve"
RETRIEVE_BY_ID = "CompanyActivity.svc/RetrieveById"
# UNKNOWN in the reference (§6): LeadSquared documents no way to delete an account activity.
# Chosen: GET CompanyActivity.svc/Delete?activityId=, shaped like the other GET deletes. It is
# unconfirmed; a real account may answer 404 (delete_account_activity says so).
DELETE = "CompanyActivity.svc/Delete"
#: The user-valued activity field; an email address is resolved to the user's id.
OWNER_FIELD = "Owner"
#: Record properties holding dates, at the top level and inside ActivityFields.
DATE_PROPERTIES = frozenset({"ActivityDateTime", "CreatedOn", "ModifiedOn"})
FIELD_DATE_PROPERTIES = frozenset({"CreatedOn"})


def note_and_fields(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ActivityNote`` (only when given) and ``Fields`` parts of a Create/Update body."""
    # UNKNOWN in the reference: whether an Update without ActivityNote keeps the note; chosen:
    # the note is sent only when given, as LeadSquared's other updates change only what is sent.
    part: dict[str, Any] = {}
    if "note" in inputs:
        part["ActivityNote"] = inputs["note"]
    fields = dict(inputs.get("fields") or {})
    if fields.get(OWNER_FIELD):
        fields[OWNER_FIELD] = client.metadata.resolve_user(
            fields[OWNER_FIELD], location=f"fields.{OWNER_FIELD}"
        )
    part["Fields"] = to_schema_fields(fields)
    return part


def retrieve_by_id(client: LeadSquaredClient, activity_id: str) -> list[dict[str, Any]]:
    """The activity with this id as a one-item list, or ``[]`` when LeadSquared has none."""
    # UNKNOWN in the reference: how RetrieveById answers an unknown id; an
    # MXInvalidEntityException (as for other records) and an empty answer both mean none.
    answer = read_or_none(client, RETRIEVE_BY_ID, {"activityId": activity_id})
    if isinstance(answer, Mapping) and answer.get("CompanyActivityId"):
        return [activity_record(answer)]
    return []


def date_range(from_date: str, to_date: str | None) -> dict[str, str]:
    """Retrieve's ``Parameter``: FromDate/ToDate in UTC; ToDate defaults to now."""
    # LIKELY (reference §6): both bounds are sent, as in the documented example body.
    return {"FromDate": format_datetime(from_date),
            "ToDate": format_datetime(to_date or datetime.now(UTC))}


def activity_record(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A Retrieve/RetrieveById item with every date as UTC ``yyyy-MM-dd HH:mm:ss``."""
    record = normalise_dates(raw, DATE_PROPERTIES)
    fields = raw.get("ActivityFields")
    if isinstance(fields, Mapping):
        record["ActivityFields"] = normalise_dates(fields, FIELD_DATE_PROPERTIES)
    return record
