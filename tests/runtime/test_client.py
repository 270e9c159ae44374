"""LeadSquaredClient against the fake transport: requests sent, errors raised, retries made."""

from __future__ import annotations

import json
import logging
import random

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from runtime.api.client import WHOAMI, LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.governor import RateGovernor
from runtime.api.retry import RetryPolicy
from runtime.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    ConfigurationError,
    InputValidationError,
    NotFoundError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
)
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, FaultPlan
from tests.fakes import (
    ACCESS_KEY,
    SECRET_KEY,
    FakeClock,
    FakeLeadSquared,
    Reply,
    fake_connection,
    mx_error,
    ok,
    reply,
)

CREATE = "LeadManagement.svc/Lead.Create"
BY_EMAIL = "LeadManagement.svc/Leads.GetByEmailaddress"
SUCCESS = {"Status": "Success", "Message": {"Id": "p-1"}}
LIMIT_BODY = {
    "Status": "Error",
    "ExceptionType": "MXAPIRateLimitExceededException",
    "ExceptionMessage": "API calls exceeded the limit of 25 in 5 second(s)",
}
SECRETS = (ACCESS_KEY, SECRET_KEY, "u%24rFAKEaccess0123456789abcdef")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake():
    fake = FakeLeadSquared()
    yield fake
    fake.verify()


def make_client(fake, clock, max_total_wait=60.0, **connection):
    return LeadSquaredClient(
        fake_connection(**connection),
        session=fake.session(),
        governor=RateGovernor(1000, 1000, clock=clock, sleep=clock.sleep),
        retry_policy=RetryPolicy(max_total_wait=max_total_wait),
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(7),
    )


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens (or DNS fails): the request was never sent."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    return requests.ConnectionError(MaxRetryError(None, "/v2/x", cause))


def dropped() -> requests.ConnectionError:
    """What requests raises when the peer closes the connection after the request was sent."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


# -- what goes on the wire ---------------------------------------------------------------


def test_get_sends_keys_only_as_headers(fake, clock):
    fake.add("GET", BY_EMAIL, ok([]))
    assert make_client(fake, clock).get(BY_EMAIL, {"emailaddress": "a+b@example.com"}) == []
    call = fake.calls[0]
    assert call.url == (
        "https://api-in21.leadsquared.com/v2/LeadManagement.svc/Leads.GetByEmailaddress"
        "?emailaddress=a%2Bb%40example.com"
    )
    assert call.headers["x-LSQ-AccessKey"] == ACCESS_KEY
    assert call.headers["x-LSQ-SecretKey"] == SECRET_KEY
    assert call.headers["Accept"] == "application/json"
    assert "Host" not in call.headers and "Content-Type" not in call.headers
    assert all(secret not in call.url for secret in SECRETS)


def test_post_sends_utf8_json(fake, clock):
    fake.add("POST", "LeadManagement.svc/Lead.Update", ok({"Status": "Success"}))
    body = [{"Attribute": "FirstName", "Value": "Zoë"}, {"Attribute": "mx_City", "Value": "पुणे"}]
    make_client(fake, clock).post(
        "LeadManagement.svc/Lead.Update", body, params={"leadId": "p-1", "postUpdatedLead": True}
    )
    call = fake.calls[0]
    assert call.headers["Content-Type"] == "application/json; charset=utf-8"
    assert call.body_bytes == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert "Zoë".encode() in call.body_bytes
    assert call.json == body
    assert call.params == {"leadId": "p-1", "postUpdatedLead": "true"}


def test_post_without_body_sends_nothing(fake, clock):
    fake.add("POST", "LeadManagement.svc/AddLeadToStaticList", ok({"Status": "Success"}))
    make_client(fake, clock).post("LeadManagement.svc/AddLeadToStaticList", params={"x": None})
    assert fake.calls[0].body_bytes == b"" and fake.calls[0].params == {}


def test_sandbox_base_url_sends_the_regional_host_header(fake, clock):
    fake.add("GET", WHOAMI, ok({}))
    make_client(fake, clock, base_url="http://127.0.0.1:9999").get(WHOAMI)
    call = fake.calls[0]
    assert call.url == "http://127.0.0.1:9999/v2/Authentication.svc/UserByAccessKey.Get"
    assert call.headers["Host"] == "api-in21.leadsquared.com"


def test_redirects_are_not_followed(fake, clock):
    location = "https://evil.example/v2/x?accessKey=" + ACCESS_KEY
    fake.add("GET", BY_EMAIL, reply(302, None, Location=location))
    with pytest.raises(PermanentApiError) as caught:
        make_client(fake, clock).get(BY_EMAIL, {"emailaddress": "a@b.c"})
    assert len(fake.calls) == 1
    assert str(caught.value) == (
        f"{BY_EMAIL} HTTP 302: unexpected redirect, not followed; check api_host"
    )


def test_empty_success_body_is_none(fake, clock):
    fake.add("GET", "LeadManagement.svc/Lead/Delete/ById", Reply(200, None))
    assert make_client(fake, clock).get("LeadManagement.svc/Lead/Delete/ById") is None


@pytest.mark.parametrize(
    "operation",
    ["LeadManagement.svc/Lead.Create?accessKey=x", "https://api.leadsquared.com/v2/X.svc/Y",
     "/v2/LeadManagement.svc/Lead.Create", "Lead.Create", ""],
    ids=["query", "url", "path", "no-service", "empty"],
)
def test_operation_must_be_a_bare_operation_name(fake, clock, operation):
    with pytest.raises(ConfigurationError, match="not a LeadSquared operation name"):
        make_client(fake, clock).get(operation)
    assert fake.calls == []


def test_unserialisable_body_is_an_input_error(fake, clock):
    with pytest.raises(InputValidationError, match="cannot be sent as JSON"):
        make_client(fake, clock).post(CREATE, [{"Attribute": "x", "Value": object()}])
    assert fake.calls == []


# -- error translation (body first, then status) ------------------------------------------

ERROR_CASES = [
    (mx_error("MXInvalidInputException", "Unexpected character", 400), PermanentApiError,
     "HTTP 400 MXInvalidInputException: Unexpected character"),
    (reply(400, {"Message": "The request is invalid."}), PermanentApiError,
     "HTTP 400: LeadSquared rejected the request: The request is invalid."),
    (Reply(400, raw=b"<html>Bad Request</html>"), PermanentApiError,
     "HTTP 400: LeadSquared rejected the request: <html>Bad Request</html>"),
    (mx_error("MXUnAuthorizedAccessException", "No permission", 403), PermanentApiError,
     "No permission (the API user's role lacks permission; use an Administrator's keys)"),
    (mx_error("MXAPINotFoundException", "API could not be found", 404), NotFoundError,
     "HTTP 404 MXAPINotFoundException: API operation not found on this host"),
    (reply(405, {"Message": "no"}), PermanentApiError, "HTTP method not allowed"),
    (mx_error("MXDuplicateEntryException", "Duplicate entry 'a@b.c'"), PermanentApiError,
     "Duplicate entry 'a@b.c' (a lead with this email or phone already exists; use upsert_lead)"),
    (mx_error("MXUnknownAttributeException", "Attribute(s) does not exist - mx_Foo"),
     PermanentApiError, "mx_Foo (a field name is not in this account's lead fields"),
    (mx_error("MXInvalidEntityException", "Lead does not exist in the system", 200),
     PermanentApiError, "HTTP 200 MXInvalidEntityException: Lead does not exist in the system"),
    (mx_error("MXSomethingElseException", "Lead delete is not enabled for this account"),
     PermanentApiError, "(lead delete is not enabled on this account; ask LeadSquared support"),
    (mx_error("MXServiceBusyException", "busy", 503), PermanentApiError, "busy"),
    (reply(200, {"Status": "Error", "ExceptionMessage": "odd"}), PermanentApiError, "odd"),
    (reply(418, {"Message": "teapot"}), PermanentApiError, "LeadSquared refused the request"),
]


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    ERROR_CASES,
    ids=["400-mx", "400-message", "400-html", "403-permission", "404", "405", "500-duplicate",
         "500-unknown-attribute", "200-mx", "delete-disabled", "503-with-mx", "200-status-error",
         "418"],
)
def test_deterministic_errors_are_raised_once(fake, clock, answer, error, text):
    fake.add("POST", CREATE, answer)
    with pytest.raises(error) as caught:
        make_client(fake, clock).post(CREATE, [], creates=True)
    assert type(caught.value) is error
    assert text in str(caught.value)
    assert str(caught.value).startswith(CREATE)
    assert len(fake.calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (reply(429, LIMIT_BODY), RateLimitedError,
         "HTTP 429 MXAPIRateLimitExceededException: rate limit exceeded: API calls exceeded"),
        (reply(403, {"Message": "API calls exceeded the limit of 10 in 5 second(s)"}),
         RateLimitedError, "HTTP 403: rate limit exceeded"),
        (reply(503, {"Message": "Service Unavailable"}), TransientApiError,
         "HTTP 503: service unavailable"),
        (reply(500, {"Message": "An error has occurred."}), TransientApiError,
         "HTTP 500: server error without an MX exception type"),
        (reply(502), TransientApiError, "HTTP 502: bad gateway"),
        (reply(504), TransientApiError, "HTTP 504: gateway timeout"),
        (Reply(200, raw=b"<html>proxy</html>"), TransientApiError, "the answer was not JSON"),
        (requests.ConnectTimeout("host:443"), TransientApiError, "connection timed out before"),
        (refused(), TransientApiError, "could not connect (connection refused or DNS failure)"),
        (dropped(), TransientApiError, "the connection dropped after the request was sent"),
        (requests.ReadTimeout("read timed out"), TransientApiError, "no answer within the read"),
        (requests.exceptions.ChunkedEncodingError("cut"), TransientApiError, "cut off"),
    ],
    ids=["429", "403-limit", "503", "500-no-mx", "502", "504", "200-not-json", "connect-timeout",
         "refused", "dropped", "read-timeout", "chunked"],
)
def test_retriable_failures_give_up_within_the_total_wait(fake, clock, answer, error, text):
    fake.add("GET", BY_EMAIL, answer, repeat=True)
    with pytest.raises(error) as caught:
        make_client(fake, clock, max_total_wait=60).get(BY_EMAIL)
    message = str(caught.value)
    assert type(caught.value) is error and text in message
    assert f"gave up after {len(fake.calls)} attempts" in message
    assert len(fake.calls) >= 4
    assert 30 <= clock.slept <= 60
    assert all(secret not in message for secret in SECRETS)


def test_rate_limit_waits_a_full_window_each_time(fake, clock):
    fake.add("GET", BY_EMAIL, reply(429, LIMIT_BODY), repeat=True)
    with pytest.raises(RateLimitedError):
        make_client(fake, clock, max_total_wait=20).get(BY_EMAIL)
    assert clock.sleeps == [5.0, 5.0, 5.0, 5.0]
    assert len(fake.calls) == 5


def test_backoff_is_jittered_exponential_and_capped(fake, clock):
    fake.add("GET", BY_EMAIL, reply(503), repeat=True)
    with pytest.raises(TransientApiError):
        make_client(fake, clock, max_total_wait=600).get(BY_EMAIL)
    for attempt, delay in enumerate(clock.sleeps):
        ceiling = min(16.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert clock.slept <= 600 and len(set(clock.sleeps)) == len(clock.sleeps)


@pytest.mark.parametrize(
    ("failure", "sleep_range"),
    [
        (reply(429, LIMIT_BODY), (5.0, 5.0)),
        (reply(403, {"Message": "API calls exceeded the limit of 10 in 5 second(s)"}), (5.0, 5.0)),
        (reply(503), (0.5, 1.0)),
        (reply(500, {"Message": "An error has occurred."}), (0.5, 1.0)),
        (reply(502), (0.5, 1.0)),
        (reply(504), (0.5, 1.0)),
        (dropped(), (0.5, 1.0)),
        (requests.ReadTimeout(), (0.5, 1.0)),
    ],
    ids=["429", "403-limit", "503", "500-no-mx", "502", "504", "dropped", "read-timeout"],
)
def test_reads_retry_then_succeed(fake, clock, failure, sleep_range):
    fake.add("GET", BY_EMAIL, failure, ok([{"ProspectID": "p-1"}]))
    assert make_client(fake, clock).get(BY_EMAIL) == [{"ProspectID": "p-1"}]
    assert len(fake.calls) == 2 and len(clock.sleeps) == 1
    assert sleep_range[0] <= clock.sleeps[0] <= sleep_range[1]


# -- non-idempotent writes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        reply(429, LIMIT_BODY),
        reply(403, {"Message": "API calls exceeded the limit of 10 in 5 second(s)"}),
        reply(503),
        requests.ConnectTimeout(),
        refused(),
    ],
    ids=["429", "403-limit", "503", "connect-timeout", "refused"],
)
def test_creates_retry_when_the_request_certainly_did_not_arrive(fake, clock, failure):
    fake.add("POST", CREATE, failure, ok(SUCCESS))
    assert make_client(fake, clock).post(CREATE, [], creates=True) == SUCCESS
    assert len(fake.calls) == 2


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (requests.ReadTimeout(), "no answer within the read timeout"),
        (dropped(), "the connection dropped after the request was sent"),
        (requests.exceptions.ChunkedEncodingError(), "the answer was cut off"),
        (reply(500, {"Message": "An error has occurred."}), "server error without an MX"),
        (reply(502), "bad gateway"),
        (reply(504), "gateway timeout"),
    ],
    ids=["read-timeout", "dropped", "chunked", "500-no-mx", "502", "504"],
)
def test_creates_are_not_retried_after_an_ambiguous_failure(fake, clock, failure, text):
    fake.add("POST", CREATE, failure)
    with pytest.raises(AmbiguousWriteError) as caught:
        make_client(fake, clock).post(CREATE, [{"Attribute": "EmailAddress", "Value": "a@b.c"}],
                                      creates=True)
    assert len(fake.calls) == 1 and clock.sleeps == []
    assert text in str(caught.value)
    assert str(caught.value).endswith(
        "the record may already exist in LeadSquared; check before retrying"
    )


def test_the_same_failure_is_retried_when_not_a_create(fake, clock):
    fake.add("POST", "LeadManagement.svc/Lead.Update", requests.ReadTimeout(), ok({"ok": 1}))
    assert make_client(fake, clock).post("LeadManagement.svc/Lead.Update", []) == {"ok": 1}


# -- authentication and regions ------------------------------------------------------------

UNAUTHORIZED = mx_error("MXUnAuthorizedAccessException", "Invalid access key or secret key", 401)


def test_401_on_the_wrong_host_names_the_right_one(fake, clock):
    fake.add("POST", CREATE, UNAUTHORIZED)
    fake.add("GET", WHOAMI, ok({"LSQCommonServiceURLs": {"api": "api-us11.leadsquared.com"}}))
    with pytest.raises(AuthError) as caught:
        make_client(fake, clock).post(CREATE, [], creates=True)
    assert caught.value.message == (
        "wrong API host: this account's host is api-us11.leadsquared.com; set api_host to it"
    )
    assert [c.operation for c in fake.calls] == [CREATE, WHOAMI]
    assert fake.calls[1].url.startswith("https://api-in21.leadsquared.com/")


@pytest.mark.parametrize(
    "whoami",
    [UNAUTHORIZED, ok({"LSQCommonServiceURLs": {"api": "api-in21.leadsquared.com"}}), reply(503)],
    ids=["keys-rejected-everywhere", "same-host", "check-failed"],
)
def test_401_with_bad_keys(fake, clock, whoami):
    fake.add("GET", BY_EMAIL, UNAUTHORIZED)
    fake.add("GET", WHOAMI, whoami)
    with pytest.raises(AuthError) as caught:
        make_client(fake, clock).get(BY_EMAIL)
    assert caught.value.message == "invalid access key or secret key, or inactive user"
    assert "My Account > Settings > API and Webhooks" in str(caught.value)
    assert len(fake.calls) == 2


def test_401_on_the_credential_check_itself_does_not_recurse(fake, clock):
    fake.add("GET", WHOAMI, UNAUTHORIZED)
    with pytest.raises(AuthError, match="invalid access key"):
        make_client(fake, clock).get(WHOAMI)
    assert len(fake.calls) == 1


def test_host_is_discovered_when_not_configured(fake, clock):
    user = {"LSQCommonServiceURLs": {"api": "api-ca12.leadsquared.com"}}
    fake.add("GET", WHOAMI, ok(user))
    fake.add("GET", BY_EMAIL, ok([]), ok([]))
    client = make_client(fake, clock, api_host=None)
    assert client.api_host is None
    client.get(BY_EMAIL)
    client.get(BY_EMAIL)
    assert client.api_host == "api-ca12.leadsquared.com"
    assert [c.url.split("/v2/")[0] for c in fake.calls] == [
        "https://api.leadsquared.com",
        "https://api-ca12.leadsquared.com",
        "https://api-ca12.leadsquared.com",
    ]


def test_discovery_rejects_a_host_outside_the_allowlist(fake, clock):
    fake.add("GET", WHOAMI, ok({"LSQCommonServiceURLs": {"api": "api.evil.io"}}))
    with pytest.raises(ConfigurationError, match="not a LeadSquared API host"):
        make_client(fake, clock, api_host=None).get(BY_EMAIL)


# -- secrets -------------------------------------------------------------------------------


def test_no_secret_in_any_exception_or_log_record(fake, clock, caplog):
    echo = f"key {ACCESS_KEY} secret {SECRET_KEY} encoded u%24rFAKEaccess0123456789abcdef"
    fake.add("POST", CREATE, mx_error("MXDuplicateEntryException", echo))
    fake.add("GET", BY_EMAIL, reply(503, {"Message": echo}), reply(400, {"Message": echo}))
    fake.add("GET", "X.svc/Y", reply(500, {"Message": echo}), repeat=True)
    fake.add("GET", "X.svc/Z", Reply(404, raw=echo.encode()))
    fake.add("GET", WHOAMI, UNAUTHORIZED)
    fake.add("GET", "X.svc/Redirect", reply(301, None, Location=f"https://x/?k={ACCESS_KEY}"))
    fake.add("GET", "X.svc/Timeout", requests.ReadTimeout(f"url?accessKey={ACCESS_KEY}"),
             repeat=True)
    client = make_client(fake, clock, max_total_wait=10)
    errors = []
    with caplog.at_level(logging.DEBUG):
        for call in (
            lambda: client.post(CREATE, [], creates=True),
            lambda: client.get(BY_EMAIL),
            lambda: client.get("X.svc/Y"),
            lambda: client.get("X.svc/Z"),
            lambda: client.get(WHOAMI),
            lambda: client.get("X.svc/Redirect"),
            lambda: client.get("X.svc/Timeout"),
        ):
            with pytest.raises(ApiError) as caught:
                call()
            errors.append(caught.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [json.dumps(e.to_dict()) for e in errors] + [str(e.__cause__) for e in errors]
    texts += [caplog.text] + [r.getMessage() for r in caplog.records]
    texts += [repr(client), str(client.connection), repr(client.redactor)]
    everything = "\n".join(texts)
    assert "***" in everything
    assert "retrying" in caplog.text and "DEBUG" in caplog.text
    for secret in SECRETS:
        assert secret not in everything


# -- the fake itself -----------------------------------------------------------------------


def test_fake_fails_loudly_on_an_unconfigured_request(clock):
    fake = FakeLeadSquared()
    fake.add("GET", WHOAMI, ok({}))
    with pytest.raises(AssertionError, match=r"no route matches for GET X\.svc/Y\. Configured: "
                                             r"GET Authentication\.svc/UserByAccessKey\.Get"):
        make_client(fake, clock).get("X.svc/Y")
    with pytest.raises(AssertionError, match="no route matches"):
        fake.verify()


def test_fake_fails_when_a_configured_answer_is_never_used():
    fake = FakeLeadSquared()
    fake.add("GET", WHOAMI, ok({}), ok({}))
    fake.add("GET", BY_EMAIL, ok([]), repeat=True)
    with pytest.raises(AssertionError) as caught, fake:
        pass
    assert "GET Authentication.svc/UserByAccessKey.Get: 2 configured answer(s) never requested" in (
        str(caught.value)
    )
    assert "GET LeadManagement.svc/Leads.GetByEmailaddress was never requested" in str(caught.value)


# -- against the real sandbox over HTTP ----------------------------------------------------


def sandbox_client(sandbox, clock, **overrides):
    settings = {"api_host": "api-in21.leadsquared.com", "base_url": sandbox.base_url, **overrides}
    return LeadSquaredClient(
        Connection(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, **settings),
        governor=RateGovernor(25, 1),
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(3),
    )


def test_sandbox_wrong_region_names_the_right_host(sandbox, clock):
    client = sandbox_client(sandbox, clock, api_host="api-us11.leadsquared.com")
    with pytest.raises(AuthError) as caught:
        client.get("LeadManagement.svc/LeadsMetaData.Get")
    assert str(caught.value) == (
        "LeadManagement.svc/LeadsMetaData.Get HTTP 401 MXUnAuthorizedAccessException: wrong API "
        "host: this account's host is api-in21.leadsquared.com; set api_host to it"
    )
    hosts = [entry["host"] for entry in sandbox.app.state.request_log]
    assert hosts == ["api-us11.leadsquared.com", "api-us11.leadsquared.com"]


def test_sandbox_right_region_works_and_keys_travel_in_headers(sandbox, clock):
    user = sandbox_client(sandbox, clock).get(WHOAMI)
    assert user["LSQCommonServiceURLs"]["api"] == "api-in21.leadsquared.com"
    assert [entry["auth"] for entry in sandbox.app.state.request_log] == ["header"]


def test_sandbox_unknown_operation_is_not_found(sandbox, clock):
    with pytest.raises(NotFoundError, match="API operation not found on this host"):
        sandbox_client(sandbox, clock).get("LeadManagement.svc/Lead.DoesNotExist")


def test_sandbox_dropped_create_is_ambiguous_and_not_repeated(sandbox, clock):
    sandbox.app.faults.configure(FaultPlan.parse("drop=1"))
    body = [{"Attribute": "EmailAddress", "Value": "drop.test@example.com"}]
    with pytest.raises(AmbiguousWriteError, match="may already exist in LeadSquared"):
        sandbox_client(sandbox, clock).post(CREATE, body, creates=True)
    counts = sandbox.app.state.tenants["41872"].create_counts
    assert sum(n for key, n in counts.items() if key.startswith(CREATE)) == 1
    assert clock.sleeps == []


def test_sandbox_503_then_success_creates_once(sandbox, clock):
    sandbox.app.faults.configure(FaultPlan.parse("503=0.5,seed=4"))
    client = sandbox_client(sandbox, clock)
    for n in range(6):
        email = f"retry{n}@example.com"
        answer = client.post(CREATE, [{"Attribute": "EmailAddress", "Value": email}], creates=True)
        assert answer["Status"] == "Success"
    assert sandbox.app.faults.counts["503"] >= 1
    counts = sandbox.app.state.tenants["41872"].create_counts
    assert sorted(counts[key] for key in counts if key.startswith(CREATE)) == [1] * 6
