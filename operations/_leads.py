"""Lead requests and answers shared by the Leads actions (reference §4).

The LeadManagement.svc operation names live here, once. Field names are checked against the
account's lead fields (LeadsMetaData.Get, cached per client) before any write, so a typo
fails naming the closest field and nothing is sent. Lookups return flat lead records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import to_attributes, to_value
from runtime.errors import ApiError, InputValidationError, PermanentApiError

from ._common import message_value, read_or_none, records

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

CREATE = "LeadManagement.svc/Lead.Create"
UPSERT = "LeadManagement.svc/Lead.CreateOrUpdate"
UPDATE = "LeadManagement.svc/Lead.Update"
DELETE = "LeadManagement.svc/Lead/Delete/ById"
BY_ID = "LeadManagement.svc/Leads.GetById"
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"
BY_PHONE = "LeadManagement.svc/RetrieveLeadByPhoneNumber"
BY_FIELD = "LeadManagement.svc/Leads.Get"

#: The lead id's spellings LeadSquared accepts as a SearchBy value (reference §2.3, §2.4).
LEAD_ID_NAMES = frozenset({"ProspectID", "ProspectId"})
#: Leads.Get answers at most this many matches; find_lead reports how many it saw.
MAX_MATCHES = 100
#: Leads.Get order: the most recently modified match first, as RetrieveLeadByPhoneNumber does.
MATCH_ORDER = {"ColumnName": "ModifiedOn", "Direction": "1"}
#: Bit fields filter on "1"/"0"; "true" gave HTTP 500 live (reference §2.2).
FILTER_BOOLEANS = {True: "1", False: "0"}
# UNKNOWN in the reference (§4.6): LeadSquared's error when lead delete is not enabled; it is
# recognised by its text (the sandbox answers MXUnauthorizedRequestException "Lead delete
# through the API is not enabled for this account; ...").
DELETE_DISABLED = re.compile(r"delet\w*.*(not enabled|disabled)|(not enabled|disabled).*delet",
                             re.IGNORECASE)
DELETE_DISABLED_MESSAGE = (
    "lead delete is not enabled on this LeadSquared account; ask LeadSquared support to enable it"
)

log = logging.getLogger(__name__)


# -- writes ----------------------------------------------------------------------------------

def attributes(client: LeadSquaredClient, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Attribute/Value body for ``fields``, after checking every name with the account."""
    client.metadata.check_lead_fields(fields, location="fields")
    return to_attributes(fields)


def search_by(client: LeadSquaredClient, name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``{"Attribute": "SearchBy", "Value": name}`` pair; ``fields`` must hold its value."""
    if name not in LEAD_ID_NAMES:
        client.metadata.check_lead_fields([name], location="search_by")
    given = {key.lower(): value for key, value in fields.items()}
    if given.get(name.lower()) in (None, ""):
        raise InputValidationError(
            "nothing to search by",
            [f"fields: search_by is {name}, so fields must include a {name} value"],
            hint="add it to fields, or set search_by to a field that fields includes",
        )
    return {"Attribute": "SearchBy", "Value": name}


def upsert_output(answer: Any) -> dict[str, Any]:
    """``{"lead_id"}`` plus ``created`` when LeadSquared says whether it created the lead."""
    message = answer.get("Message") if isinstance(answer, Mapping) else None
    message = message if isinstance(message, Mapping) else {}
    # LIKELY (reference §4.2): some tenants answer Message.RelatedID instead of Message.Id.
    key = next((k for k in ("Id", "RelatedID", "RelatedId") if message.get(k)), "Id")
    output = {"lead_id": message_value(answer, key, UPSERT)}
    # LIKELY (§4.2): Message.IsCreated exists on some tenants only; never guessed otherwise.
    if isinstance(message.get("IsCreated"), bool):
        output["created"] = message["IsCreated"]
    return output


def recover_created(client: LeadSquaredClient, fields: Mapping[str, Any]) -> str | None:
    """After a Lead.Create whose answer was lost: the lead's id if it now exists, else None.

    Looks the lead up by its EmailAddress, else its Phone (the unique fields by default);
    a lookup failure counts as "not found", so the caller re-raises the ambiguous error.
    """
    email, phone = fields.get("EmailAddress"), fields.get("Phone")
    try:
        if email:
            matches = by_email(client, str(email))
        elif phone:
            wanted = phone_digits(str(phone))
            matches = [m for m in by_phone(client, str(phone))
                       if phone_digits(str(m.get("Phone") or "")) == wanted]
        else:
            return None
    except ApiError:
        return None
    if not matches:
        return None
    log.warning("%s: the answer was lost, but the lead exists now; returning it", CREATE)
    return str(matches[0]["ProspectID"])


def delete_error(error: PermanentApiError) -> PermanentApiError:
    """The error to raise for a failed Lead/Delete/ById: "not enabled" said plainly."""
    if not DELETE_DISABLED.search(error.message):
        return error
    return PermanentApiError(
        DELETE_DISABLED_MESSAGE, operation=error.operation, status=error.status,
        exception_type=error.exception_type,
    )


# -- lookups (each returns flat lead records, best match first) -------------------------------

def lead_id_of(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> str:
    """The lead given as ``lead_id``, or the id of the lead with ``lead_email`` (looked up:
    InputValidationError when no lead has it)."""
    if "lead_id" in inputs:
        return str(inputs["lead_id"])
    matches = by_email(client, inputs["lead_email"])
    if not matches:
        raise InputValidationError(
            "lead not found", [f"lead_email: no lead has EmailAddress '{inputs['lead_email']}'"]
        )
    return str(matches[0]["ProspectID"])


def by_id(client: LeadSquaredClient, lead_id: str) -> list[dict[str, Any]]:
    """Leads.GetById?id=: LIKELY ``[]`` for an unknown id (reference §14); read under either
    variant: an MXInvalidEntityException (as Lead.Update answers an unknown lead) is none too."""
    return records(read_or_none(client, BY_ID, {"id": lead_id}))


def by_email(client: LeadSquaredClient, email: str) -> list[dict[str, Any]]:
    """Leads.GetByEmailaddress?emailaddress= (the name matters: others answer ``[]``)."""
    return records(client.get(BY_EMAIL, {"emailaddress": email.strip()}))


def by_phone(client: LeadSquaredClient, phone: str) -> list[dict[str, Any]]:
    """RetrieveLeadByPhoneNumber?phone=: digits only; matches Phone and Mobile (§4.5)."""
    return records(client.get(BY_PHONE, {"phone": phone_digits(phone)}))


def by_field(
    client: LeadSquaredClient, field: str, value: Any, operator: str
) -> list[dict[str, Any]]:
    """Leads.Get with one Parameter (never a Query wrapper: LeadSquared ignores it, §4.5)."""
    client.metadata.check_lead_fields([field], location="field")  # LookupName is case-sensitive
    lookup = FILTER_BOOLEANS[value] if isinstance(value, bool) else to_value(value, field="value")
    body = {
        "Parameter": {"LookupName": field, "LookupValue": lookup, "SqlOperator": operator},
        "Sorting": MATCH_ORDER,
        "Paging": {"PageIndex": 1, "PageSize": MAX_MATCHES},
    }
    # LIKELY: without Columns, Leads.Get answers every field (the docs' Columns is optional).
    return records(client.post(BY_FIELD, body))


def phone_digits(phone: str) -> str:
    """The digits of a phone number ("+91-98765 43210" -> "919876543210")."""
    return re.sub(r"\D", "", phone)
