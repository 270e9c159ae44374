"""find_lead: one lead by id, email, phone or any field (reference §4.5)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from runtime.errors import InputValidationError

from . import _leads
from ._common import find_result

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


class Lookup(NamedTuple):
    """One way to find a lead: the call, and how an error names what was looked for."""

    find: Callable[[LeadSquaredClient, Mapping[str, Any]], list[dict[str, Any]]]
    looked_for: str  # str.format template over the inputs


#: input key -> its lookup (the input schema allows exactly one per call).
LOOKUPS: dict[str, Lookup] = {
    "lead_id": Lookup(lambda c, i: _leads.by_id(c, i["lead_id"]), "ProspectID '{lead_id}'"),
    "email": Lookup(lambda c, i: _leads.by_email(c, i["email"]), "EmailAddress '{email}'"),
    "phone": Lookup(lambda c, i: _leads.by_phone(c, i["phone"]), "Phone or Mobile '{phone}'"),
    "field": Lookup(
        lambda c, i: _leads.by_field(c, i["field"], i["value"], i["operator"]),
        "{field} {operator} '{value}'",
    ),
}


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"found", "lead", "count"}``: the first match and how many leads matched.

    LeadSquared answers the phone lookup, and Leads.Get as sent here, most recently modified
    first; the email lookup in its own order.
    """
    for key in LOOKUPS:  # the first one given (a loop: next() of a generator costs 0.2 us more)
        if key in inputs:
            lookup = LOOKUPS[key]
            break
    else:  # the input schema requires one; a handler called without it is told so
        raise InputValidationError("nothing to look up", [f"give one of: {', '.join(LOOKUPS)}"])
    leads = lookup.find(client, inputs)
    result = find_result(
        "lead", leads, fail_if_not_found=inputs["fail_if_not_found"],
        looked_for=lookup.looked_for.format_map(inputs),
    )
    return {**result, "count": len(leads)}
