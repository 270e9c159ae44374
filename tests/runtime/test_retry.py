"""The policy tables: body first, then status; which failures are safe to repeat for creates."""

from __future__ import annotations

import random

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from runtime.api.retry import (
    EXCEPTION_HINTS,
    STATUS_POLICY,
    Outcome,
    RetryPolicy,
    classify_exception,
    classify_response,
    hint_for,
)

MX = {"Status": "Error", "ExceptionType": "MXDuplicateEntryException", "ExceptionMessage": "dup"}


@pytest.mark.parametrize(
    ("status", "body", "outcome", "safe"),
    [
        (200, {"Status": "Success"}, None, None),
        (200, [], None, None),
        (200, MX, Outcome.PERMANENT, False),
        (500, MX, Outcome.PERMANENT, False),
        (503, MX, Outcome.PERMANENT, False),
        (500, {"Message": "An error has occurred."}, Outcome.TRANSIENT, False),
        (500, {"Status": "Error", "ExceptionMessage": "no type"}, Outcome.TRANSIENT, False),
        (502, None, Outcome.TRANSIENT, False),
        (503, None, Outcome.TRANSIENT, True),
        (504, None, Outcome.TRANSIENT, False),
        (599, None, Outcome.TRANSIENT, False),
        (401, {**MX, "ExceptionType": "MXUnAuthorizedAccessException"}, Outcome.AUTH, False),
        (404, {**MX, "ExceptionType": "MXAPINotFoundException"}, Outcome.NOT_FOUND, False),
        (429, {**MX, "ExceptionType": "MXAPIRateLimitExceededException"},
         Outcome.RATE_LIMITED, True),
        (429, None, Outcome.RATE_LIMITED, True),
        (403, {"ExceptionMessage": "API calls exceeded the limit of 5 in 5 second(s)"},
         Outcome.RATE_LIMITED, True),
        (403, {"Message": "forbidden"}, Outcome.PERMANENT, False),
        (400, {"Message": "bad"}, Outcome.PERMANENT, False),
        (301, None, Outcome.REDIRECT, False),
        (307, None, Outcome.REDIRECT, False),
    ],
    ids=["200-ok", "200-array", "200-mx", "500-mx", "503-mx", "500-no-mx", "500-error-no-type",
         "502", "503", "504", "599", "401-mx", "404-mx", "429-mx", "429-bare", "403-limit",
         "403-other", "400", "301", "307"],
)
def test_classify_response(status, body, outcome, safe):
    verdict = classify_response(status, body)
    if outcome is None:
        assert verdict is None
    else:
        assert verdict.outcome is outcome
        assert (verdict.safe_for_creates, verdict.status) == (safe, status)


def test_mx_verdict_carries_type_message_and_hint():
    verdict = classify_response(500, MX)
    assert (verdict.exception_type, verdict.message) == ("MXDuplicateEntryException", "dup")
    assert verdict.hint == "a lead with this email or phone already exists; use upsert_lead"


def test_text_bodies_are_read_for_the_rate_limit_message():
    text = "API calls exceeded the limit of 25 in 5 second(s)"
    assert classify_response(403, None, text).outcome is Outcome.RATE_LIMITED


@pytest.mark.parametrize(
    ("error", "safe", "message"),
    [
        (requests.ConnectTimeout(MaxRetryError(None, "/", ConnectTimeoutError())), True,
         "connection timed out before the request was sent"),
        (requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused"))),
         True, "could not connect"),
        (requests.ConnectionError("Connection aborted."), False, "connection dropped"),
        (requests.ReadTimeout(), False, "no answer within the read timeout"),
        (requests.exceptions.ChunkedEncodingError(), False, "cut off"),
    ],
    ids=["connect-timeout", "refused", "aborted", "read-timeout", "chunked"],
)
def test_classify_exception(error, safe, message):
    verdict = classify_exception(error)
    assert verdict.outcome is Outcome.TRANSIENT
    assert verdict.safe_for_creates is safe and message in verdict.message


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: ConnectionRefusedError under urllib3's."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    cause.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/", cause))


LOCAL_FIX = "start it, e.g. lsq sandbox --port {}, or correct api_host or LSQ_API_HOST"


@pytest.mark.parametrize(
    ("root", "outcome", "message", "hint"),
    [
        ("http://127.0.0.1:9", Outcome.PERMANENT,
         "connection refused by 127.0.0.1:9: nothing listens there", LOCAL_FIX.format(9)),
        ("http://localhost:8765", Outcome.PERMANENT,
         "connection refused by localhost:8765: nothing listens there", LOCAL_FIX.format(8765)),
        ("http://[::1]:8765", Outcome.PERMANENT,
         "connection refused by [::1]:8765: nothing listens there", LOCAL_FIX.format(8765)),
        ("https://10.1.2.3", Outcome.PERMANENT,
         "connection refused by 10.1.2.3:443: nothing listens there", LOCAL_FIX.format(443)),
        ("http://192.168.0.5:80", Outcome.PERMANENT,
         "connection refused by 192.168.0.5:80: nothing listens there", LOCAL_FIX.format(80)),
        ("https://api-in21.leadsquared.com", Outcome.TRANSIENT,
         "could not connect (connection refused or DNS failure)", None),
        ("https://8.8.8.8", Outcome.TRANSIENT,
         "could not connect (connection refused or DNS failure)", None),
        (None, Outcome.TRANSIENT, "could not connect (connection refused or DNS failure)", None),
    ],
    ids=["loopback", "localhost", "ipv6-loopback", "private-10", "private-192", "public-name",
         "public-ip", "no-root"],
)
def test_a_refused_local_connection_is_not_retried(root, outcome, message, hint):
    verdict = classify_exception(refused(), root)
    assert (verdict.outcome, verdict.message, verdict.hint) == (outcome, message, hint)


def test_a_local_dns_failure_or_timeout_is_still_retried():
    unresolved = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "dns")))
    assert classify_exception(unresolved, "http://127.0.0.1:9").outcome is Outcome.TRANSIENT
    timeout = requests.ConnectTimeout(MaxRetryError(None, "/", ConnectTimeoutError()))
    assert classify_exception(timeout, "http://10.0.0.1").outcome is Outcome.TRANSIENT


def test_tls_failures_are_not_retried():
    verdict = classify_exception(requests.exceptions.SSLError("bad cert"))
    assert verdict.outcome is Outcome.PERMANENT and "TLS" in verdict.message


def test_unknown_exceptions_are_not_classified():
    assert classify_exception(ValueError("x")) is None


def test_tables_cover_the_documented_codes_and_exceptions():
    assert {400, 401, 404, 429, 500, 502, 503, 504} <= set(STATUS_POLICY)
    assert {
        "MXDuplicateEntryException", "MXUnknownAttributeException", "MXInvalidEntityException",
        "MXMandatoryAttributeMissingException", "MXInvalidActivityFieldsException",
        "MXInvalidDataTypeException", "MXMailDeliveryException",
    } <= set(EXCEPTION_HINTS)
    assert hint_for("MXWhateverException", "Lead delete is disabled for this org").startswith(
        "lead delete is not enabled"
    )
    assert hint_for("MXWhateverException", "all good") is None


def test_backoff_delays():
    policy, rng = RetryPolicy(base_delay=1.0, max_delay=8.0), random.Random(0)
    assert policy.delay(Outcome.RATE_LIMITED, 3, rng) == 5.0
    delays = [policy.delay(Outcome.TRANSIENT, attempt, rng) for attempt in range(6)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
