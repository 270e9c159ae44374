"""How the client reads LeadSquared's answers and failures: policy tables, not if-ladders.

The body is read before the status (reference §3.2): an ``MX...`` ExceptionType is an
application error on any status (200 and 500 included), deterministic, never retried. Only
401, 404 and the rate-limit answers keep their meaning whatever the body says (their bodies
carry MX types too). Then :data:`STATUS_POLICY` decides; transport exceptions go through
:data:`EXCEPTION_POLICY`.

``safe_for_creates`` marks failures where LeadSquared certainly did not process the request,
so a non-idempotent write (Lead.Create, Task.Create, Capture ...) may be sent again.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

RATE_LIMIT_TEXT = "exceeded the limit"
WINDOW_SECONDS = 5.0  # LeadSquared counts calls per 5 s and sends no Retry-After (§3.3)
_MAX_DETAIL = 300


class Outcome(StrEnum):
    """What the client does with a failed call."""

    PERMANENT = "permanent"        # raise PermanentApiError, never retry
    AUTH = "auth"                  # raise AuthError (after checking the regional host)
    NOT_FOUND = "not_found"        # raise NotFoundError
    RATE_LIMITED = "rate_limited"  # wait a full window, retry; then RateLimitedError
    TRANSIENT = "transient"        # back off, retry; then TransientApiError
    REDIRECT = "redirect"          # raise PermanentApiError: redirects are never followed

    @property
    def retriable(self) -> bool:
        return self in {Outcome.RATE_LIMITED, Outcome.TRANSIENT}


@dataclass(frozen=True)
class Rule:
    """One row of a policy table."""

    outcome: Outcome
    message: str
    safe_for_creates: bool = False


@dataclass(frozen=True)
class Verdict:
    """A classified failure: the rule plus what the answer said."""

    outcome: Outcome
    message: str
    safe_for_creates: bool = False
    status: int | None = None
    exception_type: str | None = None
    hint: str | None = None


STATUS_POLICY: dict[int, Rule] = {
    400: Rule(Outcome.PERMANENT, "LeadSquared rejected the request"),
    401: Rule(Outcome.AUTH, "invalid access key or secret key, or inactive user"),
    403: Rule(Outcome.PERMANENT, "forbidden: the API user lacks permission for this operation"),
    404: Rule(Outcome.NOT_FOUND, "API operation not found on this host"),
    405: Rule(Outcome.PERMANENT, "HTTP method not allowed for this operation"),
    413: Rule(Outcome.PERMANENT, "the request body is too large"),
    429: Rule(Outcome.RATE_LIMITED, "rate limit exceeded", safe_for_creates=True),
    500: Rule(Outcome.TRANSIENT, "server error without an MX exception type"),
    502: Rule(Outcome.TRANSIENT, "bad gateway"),
    503: Rule(Outcome.TRANSIENT, "service unavailable", safe_for_creates=True),
    504: Rule(Outcome.TRANSIENT, "gateway timeout"),
}
#: Statuses whose meaning does not depend on the body (checked before the MX type).
STATUS_FIRST = frozenset({401, 404, 429})
#: Fallbacks by status class (first digit) for codes not in STATUS_POLICY.
CLASS_POLICY: dict[int, Rule] = {
    3: Rule(Outcome.REDIRECT, "unexpected redirect, not followed; check api_host"),
    4: Rule(Outcome.PERMANENT, "LeadSquared refused the request"),
    5: Rule(Outcome.TRANSIENT, "server error"),
}
RATE_LIMIT_RULE = Rule(Outcome.RATE_LIMITED, "rate limit exceeded", safe_for_creates=True)
RATE_LIMIT_STATUSES = frozenset({403, 429})  # one tenant answered 403 for the limit (§3.3)

#: ExceptionType -> what the user should do (reference §3.2).
EXCEPTION_HINTS: dict[str, str] = {
    "MXDuplicateEntryException": "a lead with this email or phone already exists; use upsert_lead",
    "MXUnknownAttributeException": "a field name is not in this account's lead fields; use schema"
    " names (custom fields start with mx_) as listed by LeadsMetaData.Get",
    "MXInvalidEntityException": "the record does not exist in LeadSquared; check the id",
    "MXMandatoryAttributeMissingException": "a required field or parameter is missing",
    "MXInvalidActivityFieldsException": "a mandatory activity or opportunity field is missing or"
    " has the wrong type",
    "MXInvalidDataTypeException": "the request has the wrong shape or value type for this"
    " operation",
    "MXInvalidInputException": "the request body is not valid JSON for this operation (send"
    " UTF-8 JSON with Content-Type application/json)",
    "MXMailDeliveryException": "the email was accepted but cannot be delivered (email credits or"
    " sender domain)",
    "MXUnauthorizedRequestException": "the API user's role lacks permission; use an"
    " Administrator's keys",
    "MXUnAuthorizedAccessException": "the API user's role lacks permission; use an"
    " Administrator's keys",
    "MXAPIRateLimitExceededException": "the account's API rate limit was exceeded; lower"
    " rate_limit or spread the calls out",
}
#: Hints for an ExceptionType that means something else on some operations (EXCEPTION_HINTS
#: speaks of leads), keyed by operation ("LeadSegmentation.svc/CreateEmptyList") or service
#: ("CompanyManagement.svc"); looked up first, by :func:`operation_hint`.
LEAD_UNIQUE_CLASH = (
    "another lead already has this value of a unique field (EmailAddress and Phone by default);"
    " find_lead finds that lead"
)
OPERATION_HINTS: dict[str, dict[str, str]] = {
    "CompanyManagement.svc": {
        "MXUnknownAttributeException": "a field name is not an account field of this account;"
        " use the schema names of Settings > Accounts > Account Fields (custom ones start"
        " with mx_)",
    },
    "CompanyManagement.svc/Company.Create": {
        "MXInvalidEntityException": "the Company Type or the owner does not exist in this"
        " account; check company_type (Settings > Accounts) and OwnerId",
    },
    "CompanyManagement.svc/Company.Get": {
        "MXInvalidEntityException": "the Company Type does not exist in this account; check"
        " company_type (Settings > Accounts)",
    },
    # Lead.Update / Lead.CreateOrUpdate change an existing lead: "use upsert_lead" is no help.
    "LeadManagement.svc/Lead.Update": {
        "MXDuplicateEntryException": LEAD_UNIQUE_CLASH,
    },
    "LeadManagement.svc/Lead.CreateOrUpdate": {
        "MXDuplicateEntryException": LEAD_UNIQUE_CLASH,
    },
    "LeadSegmentation.svc/CreateEmptyList": {
        "MXDuplicateEntryException": "a list with this name already exists (names are compared"
        " without regard to case); use find_list to get its id",
    },
}
#: Hints found from the ExceptionMessage when the type has none (types not documented).
MESSAGE_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # UNKNOWN in the reference (§4.6): the error when lead delete is off; matched on its text.
    (
        re.compile(r"delet\w*.*(not enabled|disabled)|(not enabled|disabled).*delet", re.I),
        "lead delete is not enabled on this account; ask LeadSquared support to enable it",
    ),
    (re.compile(r"does not exist", re.I), "check the id or name; the record does not exist"),
)

#: Transport failures, most specific class first: (class, rule).
EXCEPTION_POLICY: tuple[tuple[type[BaseException], Rule], ...] = (
    (
        requests.exceptions.SSLError,
        Rule(Outcome.PERMANENT, "TLS verification of the API host failed; check api_host and any"
             " intercepting proxy"),
    ),
    (
        requests.exceptions.ConnectTimeout,
        Rule(Outcome.TRANSIENT, "connection timed out before the request was sent",
             safe_for_creates=True),
    ),
    (
        requests.exceptions.ReadTimeout,
        Rule(Outcome.TRANSIENT, "no answer within the read timeout"),
    ),
    (
        requests.exceptions.ChunkedEncodingError,
        Rule(Outcome.TRANSIENT, "the answer was cut off"),
    ),
    (
        requests.exceptions.ContentDecodingError,
        Rule(Outcome.TRANSIENT, "the answer could not be decoded"),
    ),
    (
        requests.exceptions.ConnectionError,
        Rule(Outcome.TRANSIENT, "the connection dropped after the request was sent"),
    ),
    (
        requests.exceptions.Timeout,
        Rule(Outcome.TRANSIENT, "the request timed out"),
    ),
)
#: A ConnectionError caused by one of these never sent the request (refused, DNS, connect).
NOT_SENT_CAUSES: tuple[type[BaseException], ...] = (NewConnectionError, ConnectTimeoutError)
NOT_SENT_RULE = Rule(
    Outcome.TRANSIENT, "could not connect (connection refused or DNS failure)",
    safe_for_creates=True,
)
INVALID_JSON_RULE = Rule(Outcome.TRANSIENT, "the answer was not JSON")
#: A refused connection to a loopback or private address: nothing listens there, and waiting
#: a minute will not start it (a sandbox or proxy that is not running, a wrong port).
LOCAL_REFUSED_HINT = "start it, e.g. lsq sandbox --port {port}, or correct api_host or LSQ_API_HOST"


def classify_response(status: int, body: Any, text: str = "") -> Verdict | None:
    """The verdict for an HTTP answer, or ``None`` when it is a success."""
    if 200 <= status < 300 and not isinstance(body, dict):
        # A success that is no object (an array, a number, empty) carries no error fields;
        # the whole-text error snippet is not built for it (measured: 1.5 us for a 0.7 KB answer)
        return None
    exception_type, detail = _error_fields(body, text)
    if status in RATE_LIMIT_STATUSES and RATE_LIMIT_TEXT in (detail or text).lower():
        return _verdict(RATE_LIMIT_RULE, status, exception_type, detail)
    if status in STATUS_FIRST:
        return _verdict(STATUS_POLICY[status], status, exception_type, detail)
    if exception_type and exception_type.startswith("MX"):
        rule = Rule(Outcome.PERMANENT, detail or exception_type)
        return _verdict(rule, status, exception_type, None, hint=hint_for(exception_type, detail))
    if 200 <= status < 300:
        if isinstance(body, dict) and body.get("Status") == "Error":
            rule = Rule(Outcome.PERMANENT, detail or "LeadSquared reported an error")
            return _verdict(rule, status, exception_type, None, hint=hint_for(None, detail))
        return None
    rule = STATUS_POLICY.get(status) or CLASS_POLICY.get(status // 100) or CLASS_POLICY[5]
    return _verdict(rule, status, exception_type, detail)


def classify_exception(error: BaseException, root: str | None = None) -> Verdict | None:
    """The verdict for a transport exception sent to ``root`` (``scheme://host[:port]``), or
    ``None`` if it is not one we know. A refused connection to a loopback or private address
    is permanent (:data:`LOCAL_REFUSED_HINT`); elsewhere it may be a restart, so retried."""
    for kind, rule in EXCEPTION_POLICY:
        if isinstance(error, kind):
            if kind is requests.exceptions.ConnectionError and _never_sent(error):
                local = _local_address(root) if _caused_by(error, ConnectionRefusedError) else None
                if local is not None:
                    return Verdict(Outcome.PERMANENT,
                                   f"connection refused by {local[0]}: nothing listens there",
                                   safe_for_creates=True,
                                   hint=LOCAL_REFUSED_HINT.format(port=local[1]))
                rule = NOT_SENT_RULE
            return _verdict(rule, None, None, None)
    return None


def _local_address(root: str | None) -> tuple[str, int] | None:
    """(``host:port``, port) of a loopback or private ``root``, else None."""
    if not root:
        return None
    parts = urlsplit(root)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host}:{port}", port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not (address.is_loopback or address.is_private):
        return None
    shown = f"[{host}]" if address.version == 6 else host
    return f"{shown}:{port}", port


def operation_hint(operation: str, exception_type: str | None) -> str | None:
    """The :data:`OPERATION_HINTS` hint for ``exception_type`` on ``operation`` or its service."""
    for key in (operation, operation.split("/", 1)[0]):
        hint = OPERATION_HINTS.get(key, {}).get(exception_type or "")
        if hint:
            return hint
    return None


def hint_for(exception_type: str | None, message: str | None) -> str | None:
    """The hint for an MX exception: by type, else by the message text."""
    if exception_type in EXCEPTION_HINTS:
        return EXCEPTION_HINTS[exception_type]
    for pattern, hint in MESSAGE_HINTS:
        if message and pattern.search(message):
            return hint
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings; all waits of one call together stay within ``max_total_wait``."""

    max_total_wait: float = 60.0
    base_delay: float = 1.0
    max_delay: float = 16.0
    rate_limit_wait: float = WINDOW_SECONDS

    def delay(self, outcome: Outcome, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based) after ``outcome``."""
        if outcome is Outcome.RATE_LIMITED:
            return self.rate_limit_wait
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return ceiling * rng.uniform(0.5, 1.0)  # "equal jitter": never bunches at zero


def _error_fields(body: Any, text: str) -> tuple[str | None, str | None]:
    """(ExceptionType, a short message) from a LeadSquared error body, if any."""
    if not isinstance(body, dict):
        snippet = " ".join(text.split())[:_MAX_DETAIL] if text else None
        return None, snippet or None
    exception_type = body.get("ExceptionType")
    message = body.get("ExceptionMessage") or body.get("Message")
    if isinstance(message, dict | list):
        message = None
    kind = exception_type if isinstance(exception_type, str) and exception_type else None
    return kind, str(message)[:_MAX_DETAIL] if message else None


def _verdict(
    rule: Rule, status: int | None, exception_type: str | None, detail: str | None,
    *, hint: str | None = None,
) -> Verdict:
    message = f"{rule.message}: {detail}" if detail and detail not in rule.message else rule.message
    return Verdict(rule.outcome, message, rule.safe_for_creates, status, exception_type, hint)


def _never_sent(error: BaseException) -> bool:
    """True when a ConnectionError's cause shows the request never left (refused, DNS)."""
    return _caused_by(error, NOT_SENT_CAUSES)


def _caused_by(error: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]
               ) -> bool:
    """True when ``error`` or an exception in its chain of causes is one of ``kinds``."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, kinds):
            return True
        nested = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = getattr(cause, "reason", None) or nested or cause.__cause__
    return False
