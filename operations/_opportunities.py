"""Opportunity requests and answers shared by the Opportunities actions (reference §7).

The OpportunityManagement.svc operation names live here, once. An opportunity is an activity on
a lead with a type (event code >= 12000); types are resolved through
``client.metadata.resolve_opportunity_type`` (code or display name) and their fields checked
before anything is written. Records are returned flat, ``{SchemaName: Value}``, with dates in
UTC ``yyyy-MM-dd HH:mm:ss``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import format_datetime, to_schema_fields
from runtime.api.retry import hint_for
from runtime.errors import ApiError, InputValidationError, PermanentApiError

from . import _leads
from ._common import normalise_dates, read_or_none

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

log = logging.getLogger(__name__)

CAPTURE = "OpportunityManagement.svc/Capture"
UPDATE = "OpportunityManagement.svc/Update"
DETAILS = "OpportunityManagement.svc/GetOpportunityDetails"
OF_LEAD = "OpportunityManagement.svc/GetOpportunitiesOfLead"
DELETE = "OpportunityManagement.svc/Delete"
#: Capture's AdditionalDetails[].PostDeDupActionPerformed: 3 = duplicate detected, nothing
#: created (reference §7.1).
DUPLICATE_DETECTED = 3
#: create_opportunity's lead option -> (LeadDetails attribute, SearchBy value) (reference §7.1).
LEAD_KEYS: dict[str, tuple[str, str]] = {
    "lead_id": ("ProspectID", "ProspectId"),
    "lead_email": ("EmailAddress", "EmailAddress"),
    "lead_phone": ("Phone", "Phone"),
}
#: Options that set a field of the type, and how their value is sent.
FIELD_OPTIONS = {"status": "Status", "owner": "Owner"}
#: GetOpportunitiesOfLead reads at most this many, newest first (LIKELY: CreatedOn sorts).
MAX_OF_LEAD = 100
OF_LEAD_BODY = {
    "Paging": {"PageIndex": 1, "PageSize": MAX_OF_LEAD},
    "Sorting": {"ColumnName": "CreatedOn", "Direction": "1"},
}
#: Properties details() adds to the Fields[] values (from the answer's ID and Name).
ADDED_PROPERTIES = ("OpportunityId", "OpportunityName")
DATE_PROPERTIES = frozenset({
    "OpportunityDateTime", "CreatedOn", "ModifiedOn", "PACreatedOn", "PAModifiedOn",
})
# UNKNOWN in the reference (§7.5): LeadSquared's error when the type does not allow deletes;
# a refusal of these types (the permission exceptions, as the sandbox answers) is explained.
DELETE_REFUSALS = frozenset({"MXUnauthorizedRequestException", "MXUnAuthorizedAccessException"})
DELETE_REFUSED_HINT = (
    "the opportunity's type may not allow deletes: enable Allow Delete for the type in "
    "Settings > Opportunities > Opportunity Types (otherwise the API user lacks permission)"
)


# -- writes ----------------------------------------------------------------------------------

def lead_details(inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Capture's LeadDetails: the one lead option given, plus its SearchBy pair."""
    option = next(key for key in LEAD_KEYS if key in inputs)
    attribute, search_by = LEAD_KEYS[option]
    return [
        {"Attribute": attribute, "Value": inputs[option]},
        {"Attribute": "SearchBy", "Value": search_by},
    ]


def schema_fields(
    client: LeadSquaredClient, valid: set[str], record: str, inputs: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``fields`` plus ``status``/``owner`` as ``[{SchemaName, Value}]``, names checked first."""
    fields = dict(inputs.get("fields") or {})
    client.metadata.check_record_fields(
        fields, valid, record=record, listed_by="GetOpportunityTypeMetadata", location="fields"
    )
    clashes = [f"fields.{FIELD_OPTIONS[o]}: also given as {o}; give it once"
               for o in FIELD_OPTIONS if o in inputs and FIELD_OPTIONS[o] in fields]
    if clashes:
        raise InputValidationError("a field is given twice", clashes)
    if "status" in inputs:
        fields["Status"] = inputs["status"]
    if "owner" in inputs:
        fields["Owner"] = client.metadata.resolve_user(inputs["owner"], location="owner")
    return to_schema_fields(fields)


def capture_body(
    client: LeadSquaredClient, kind: Mapping[str, Any], inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """The Capture body for one opportunity of type ``kind`` on the lead the inputs name."""
    valid = {str(f.get("SchemaName")) for f in kind["Fields"]}
    opportunity: dict[str, Any] = {"OpportunityEventCode": kind["EventCode"]}
    if "note" in inputs:
        opportunity["OpportunityNote"] = inputs["note"]
    if "opportunity_date" in inputs:
        opportunity["OpportunityDateTime"] = format_datetime(inputs["opportunity_date"])
    record = f"opportunity type ({kind['DisplayName']})"
    opportunity["Fields"] = schema_fields(client, valid, record, inputs)
    return {"LeadDetails": lead_details(inputs), "Opportunity": opportunity}


def capture_output(answer: Any) -> dict[str, Any]:
    """Capture's numeric-Status answer as create_opportunity's output, without ``lead_id``.

    Read from the documented keys only (reference §7.1): ``Status``, ``CreatedOpportunityId``
    and ``AdditionalDetails``; no source shows the lead's id in the answer (§15).
    """
    answer = answer if isinstance(answer, Mapping) else {}
    if _int(answer.get("Status")) != 0:
        status = answer.get("Status")
        message = answer.get("ExceptionMessage") or f"Capture answered Status {status}"
        kind = answer.get("ExceptionType") or None
        raise PermanentApiError(str(message), operation=CAPTURE, exception_type=kind,
                                hint=hint_for(kind, str(message)))
    details = [d for d in answer.get("AdditionalDetails") or [] if isinstance(d, Mapping)]
    created = answer.get("CreatedOpportunityId") or None
    conflict = next(
        (d["ConflictedOpportunityId"] for d in details if d.get("ConflictedOpportunityId")), None)
    duplicate = any(_int(d.get("PostDeDupActionPerformed")) == DUPLICATE_DETECTED
                    for d in details) or (created is None and conflict is not None)
    if created is None and not duplicate:
        raise PermanentApiError(
            "LeadSquared answered without CreatedOpportunityId", operation=CAPTURE,
            hint="the opportunity may have been created; check the lead's opportunities",
        )
    return {
        "opportunity_id": None if duplicate else created,
        "duplicate": duplicate,
        "conflicting_opportunity_id": conflict if duplicate else None,
    }


def captured_lead_id(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> str | None:
    """The id of the lead a Capture used: ``lead_id`` as given, else the lead with the given
    email (Leads.GetByEmailaddress) or phone (RetrieveLeadByPhoneNumber, the same digits).

    Capture found or created that lead, so it exists now. The opportunity exists too, so a
    failed lookup gives ``None`` (logged) rather than an error that would invite a resend.
    """
    if inputs.get("lead_id"):
        return str(inputs["lead_id"])
    try:
        if inputs.get("lead_email"):
            matches = _leads.by_email(client, str(inputs["lead_email"]))
        else:
            wanted = _leads.phone_digits(str(inputs["lead_phone"]))
            matches = [m for m in _leads.by_phone(client, str(inputs["lead_phone"]))
                       if _leads.phone_digits(str(m.get("Phone") or "")) == wanted]
    except ApiError as error:
        log.warning("%s: the opportunity was captured, but its lead was not found: %s",
                    CAPTURE, error)
        return None
    return str(matches[0]["ProspectID"]) if matches else None


def delete_error(error: PermanentApiError) -> PermanentApiError:
    """Delete's refusal with the likely cause (the type's Allow Delete) as the hint."""
    if error.exception_type not in DELETE_REFUSALS:
        return error
    return PermanentApiError(
        error.message, operation=error.operation, status=error.status,
        exception_type=error.exception_type, hint=DELETE_REFUSED_HINT,
    )


# -- reads -----------------------------------------------------------------------------------

def details(client: LeadSquaredClient, opportunity_id: str) -> dict[str, Any] | None:
    """GetOpportunityDetails flattened to ``{OpportunityId, SchemaName: Value ...}``, or None.

    LIKELY (reference §7.3 shows no not-found answer): an unknown id answers
    MXInvalidEntityException, as other records do; an answer without ``ID`` also means none.
    """
    answer = read_or_none(client, DETAILS, {"OpportunityId": opportunity_id})
    if not isinstance(answer, Mapping) or not answer.get("ID"):
        return None
    record: dict[str, Any] = {"OpportunityId": answer["ID"]}
    if answer.get("Name") is not None:
        record["OpportunityName"] = answer["Name"]
    for field in answer.get("Fields") or []:
        if isinstance(field, Mapping) and field.get("SchemaName"):
            record[str(field["SchemaName"])] = field.get("Value")
    return flat_record(record)


def of_lead(client: LeadSquaredClient, lead_id: str, code: int) -> tuple[list[dict], int]:
    """(the lead's opportunities of type ``code``, newest first; LeadSquared's RecordCount)."""
    params = {"leadId": lead_id, "opportunityType": code}
    answer = client.post(OF_LEAD, OF_LEAD_BODY, params=params)
    answer = answer if isinstance(answer, Mapping) else {}
    rows = [flat_record({**item, "OpportunityEventCode": code})
            for item in answer.get("List") or [] if isinstance(item, Mapping)]
    return rows, _int(answer.get("RecordCount")) or len(rows)


def flat_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its date properties as UTC ``yyyy-MM-dd HH:mm:ss``."""
    return normalise_dates(record, DATE_PROPERTIES)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
