"""api_call: one call of any LeadSquared v2 operation, through the connection's client.

The client adds what every call gets: the keys (in headers only), the connection's host (on the
allowlist, HTTPS with verification), the account's rate budget, retries and error translation,
and masking of the keys in its errors and logs. A caller-given path needs more, and this module
adds it:

- The path is an operation path after ``/v2/`` and nothing else (:data:`API_PATH`: a service
  ``Name.svc``, then parts of letters, digits and ``_`` joined by single dots): no scheme, host,
  port, query, fragment, ``..``, ``%``, ``\\`` or whitespace, so the URL is always
  ``https://{connection host}/v2/<path>``. Query parameters go in ``query``.
- The keys travel in headers: ``accessKey``/``secretKey`` in ``query`` are refused.
- Reads and writes: only the documented reads (:data:`KNOWN_READS`, by method and path, any
  case) are retried after a lost answer. Every other call is a write, GET included
  (LeadSquared's deletes are GETs, reference §1.4): it is sent with ``creates=True``, so it is
  never resent once it may have reached LeadSquared (AmbiguousWriteError instead).
- A path with a ``Bulk`` part uses the bulk rate budget (1 call per 5 s, §3.3).
- The answer is returned as JSON, the keys masked wherever they appear in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import InputValidationError

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

#: An operation path after /v2/ (the input schema's ``path`` pattern is this one).
API_PATH = re.compile(r"^[A-Z][A-Za-z]*\.svc(/[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)+$")
#: Query names that would put a key in the URL (the client sends the keys as headers).
KEY_PARAMETERS = frozenset({"accesskey", "secretkey"})
MAX_BODY_BYTES = 1024 * 1024
#: The documented reads (reference §0, §4.8, §9.2, §11, §12.2): safe to send again after a
#: lost answer. Lower case: LeadSquared matches operation names in any case (§15, LIKELY).
KNOWN_READS: frozenset[tuple[str, str]] = frozenset(
    [("GET", path.lower()) for path in (
        "Authentication.svc/UserByAccessKey.Get",
        "LeadManagement.svc/Leads.GetById",
        "LeadManagement.svc/Leads.GetByEmailaddress",
        "LeadManagement.svc/RetrieveLeadByPhoneNumber",
        "LeadManagement.svc/Leads.GetByQuickSearch",
        "LeadManagement.svc/LeadsMetaData.Get",
        "LeadManagement.svc/RetrieveTaskByLeadId",
        "LeadManagement.svc/Lists.Get",
        "LeadManagement.svc/List/Retrieve/MemberCount",
        "LeadManagement.svc/List.CheckLead",
        "LeadSegmentation.svc/Lists.GetByLeadId",
        "CompanyActivity.svc/RetrieveById",
        "OpportunityManagement.svc/GetOpportunityDetails",
        "OpportunityManagement.svc/GetOpportunityTypeMetadata",
        "OpportunityManagement.svc/IsOpportunityEnabled",
        "Task.svc/Retrieve.GetById",
        "Task.svc/RetrieveTaskType",
        "UserManagement.svc/Users.Get",
        "UserManagement.svc/User/Retrieve/ByUserId",
        "UserManagement.svc/User/Retrieve/ByEmailAddress",
        "ProspectActivity.svc/ActivityTypes.Get",
        "ProspectActivity.svc/GetActivityDetails",
        "ProspectActivity.svc/CustomActivity/GetActivitySetting",
    )] + [("POST", path.lower()) for path in (
        "LeadManagement.svc/Leads.Get",
        "LeadManagement.svc/Leads.RecentlyModified",
        "LeadManagement.svc/Leads/Retrieve/ByIds",
        "LeadManagement.svc/Leads/Retrieve/BySearchParameter",
        "CompanyManagement.svc/Company.Get",
        "CompanyActivity.svc/Retrieve",
        "OpportunityManagement.svc/GetOpportunitiesOfLead",
        "OpportunityManagement.svc/GetOpportunitiesByUniqueLeadField",
        "OpportunityManagement.svc/GetOpportunitiesById",
        "Task.svc/Retrieve",
        "Task.svc/RetrieveToDos/ByUserEmailAddress",
        "Task.svc/RetrieveToDos/ByUserId",
        "Webhook.svc/Retrieve",
        "ProspectActivity.svc/Retrieve",
        "ProspectActivity.svc/GetLeadReferences",
        "ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent",
    )]
)


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{operation, method, read, response}``: the call as made and its JSON answer."""
    path, method = operation_path(inputs["path"]), inputs["method"]
    query = dict(inputs.get("query") or {})
    refused = sorted(name for name in query if name.lower() in KEY_PARAMETERS)
    if refused:
        raise InputValidationError("keys in the query", [
            f"query.{name}: the connection's keys are sent in headers; remove it"
            for name in refused])
    read = is_read(method, path)
    bulk = any(part.lower() == "bulk" for part in path.split("/"))
    if method == "GET":
        if "body" in inputs:
            raise InputValidationError("a GET has no body",
                                       ["body: remove it, or use method POST"])
        answer = client.get(path, query, bulk=bulk, creates=not read)
    else:
        _check_size(inputs.get("body"))
        answer = client.post(path, inputs.get("body"), params=query, bulk=bulk, creates=not read)
    return {"operation": path, "method": method, "read": read,
            "response": client.redactor.data(answer)}


def operation_path(path: str) -> str:
    """``path`` when it is an operation path after /v2/; InputValidationError otherwise."""
    if not API_PATH.fullmatch(path):  # fullmatch: "$" alone lets a final newline through
        raise InputValidationError("not a LeadSquared operation path", [
            f"path: '{path}' must be Service.svc/Operation after /v2/, e.g. "
            "LeadManagement.svc/Leads.GetByEmailaddress (no scheme, host, query or ..)"])
    return path


def is_read(method: str, path: str) -> bool:
    """Whether the call is a documented read (safe to send again after a lost answer)."""
    return (method, path.lower()) in KNOWN_READS


def _check_size(body: Any) -> None:
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise InputValidationError("body too large", [
            f"body: {size} bytes of JSON, more than {MAX_BODY_BYTES}"])
