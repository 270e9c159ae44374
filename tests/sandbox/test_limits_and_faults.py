"""Contract: rate limits, injected faults, request errors (405/400/413), error bodies without
tracebacks, the request log and the test controls."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SandboxApp, start_sandbox
from runtime.sandbox.ratelimit import RateLimiter
from runtime.sandbox.routing import Route, route_key
from runtime.sandbox.services import email, lead_metadata, leads_read, leads_write, lists, users
from tests.seed_ids import PRIYA

HEADERS = {"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY}
USERS = "UserManagement.svc/Users.Get"
CREATE = "LeadManagement.svc/Lead.Create"


def limit_body(limit: int) -> dict[str, str]:
    return {"Status": "Error", "ExceptionType": "MXAPIRateLimitExceededException",
            "ExceptionMessage": f"API calls exceeded the limit of {limit} in 5 second(s)"}


@pytest.fixture
def small_limits() -> Iterator[tuple[str, SandboxApp]]:
    """A dedicated sandbox: 3 calls per 5 s, 1 bulk call per 5 s, plus a test-only bulk route."""
    app = SandboxApp(rate_limit=3, bulk_rate_limit=1)
    handler = app.routes[route_key(USERS)].handler
    app.routes[route_key("LeadManagement.svc/Test.Bulk")] = Route(
        "LeadManagement.svc/Test.Bulk", "GET", handler, bulk=True)
    with start_sandbox(app) as running:
        yield running.base_url, app


def test_rate_limit_refuses_the_call_over_the_window_with_exact_message(small_limits):
    base, _app = small_limits
    statuses = [requests.get(f"{base}/v2/{USERS}", headers=HEADERS, timeout=5) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json() == limit_body(3)


def test_bulk_routes_have_their_own_budget_of_one(small_limits):
    base, _app = small_limits
    bulk = [requests.get(f"{base}/v2/LeadManagement.svc/Test.Bulk", headers=HEADERS, timeout=5)
            for _ in range(2)]
    assert [r.status_code for r in bulk] == [200, 429]
    assert bulk[1].json() == limit_body(1)
    assert requests.get(f"{base}/v2/{USERS}", headers=HEADERS, timeout=5).status_code == 200


def test_rate_limit_can_answer_403(sandbox):
    app = SandboxApp(rate_limit=1, rate_limit_status=403)
    with start_sandbox(app) as running:
        url = f"{running.base_url}/v2/{USERS}"
        first, second = (requests.get(url, headers=HEADERS, timeout=5) for _ in range(2))
    assert (first.status_code, second.status_code) == (200, 403)
    assert second.json() == limit_body(1)


def test_rate_window_slides_after_five_seconds():
    now = [100.0]
    limiter = RateLimiter(2, 1, clock=lambda: now[0])
    limiter.check("t")
    limiter.check("t")
    with pytest.raises(Exception, match="limit of 2 in 5 second"):
        limiter.check("t")
    now[0] += 5.0
    limiter.check("t")  # the first two calls left the window


def test_rate_limits_are_per_tenant():
    limiter = RateLimiter(1, 1, clock=lambda: 0.0)
    limiter.check("41872")
    limiter.check("52210")


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [("500", 500, {"Message": "An error has occurred."}),
     ("503", 503, {"Message": "Service Unavailable"}),
     ("429", 429, limit_body(25))],
)
def test_refusing_faults_answer_and_do_not_process(raw_api, sandbox, kind, status, body):
    raw_api.control("POST", "faults", {"spec": f"{kind}=1,seed=1"})
    response = raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "F"}])
    assert (response.status_code, response.json()) == (status, body)
    assert len(sandbox.app.state.tenants["41872"].leads) == 5


def test_drop_fault_processes_the_write_then_drops_the_connection(raw_api, sandbox):
    raw_api.control("POST", "faults", {"spec": "drop=1,seed=1"})
    with pytest.raises(requests.ConnectionError):
        raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "Dropped"}])
    names = [lead["FirstName"] for lead in sandbox.app.state.tenants["41872"].leads.values()]
    assert "Dropped" in names


def test_slow_fault_delays_then_serves(raw_api):
    raw_api.control("POST", "faults", {"spec": "slow=1,slow_seconds=0.2,seed=1"})
    response = raw_api.get(USERS)
    assert response.status_code == 200 and response.elapsed.total_seconds() >= 0.2


def test_faults_are_reproducible_with_a_seed(raw_api):
    def run() -> list[int]:
        raw_api.control("POST", "faults", {"spec": "500=0.4,503=0.2,seed=7"})
        return [raw_api.get(USERS).status_code for _ in range(10)]

    first = run()
    assert first == run()
    assert {500, 503, 200} <= set(first)
    drawn = raw_api.control("GET", "faults")["drawn"]
    assert drawn["500"] == first.count(500) and drawn["503"] == first.count(503)


def test_bad_fault_spec_is_400(raw_api):
    response = raw_api.session.post(f"{raw_api.base_url}/_sandbox/faults",
                                    json={"spec": "boom=1"}, timeout=5)
    assert response.status_code == 400 and "unknown fault" in response.json()["error"]


def test_wrong_method_is_405(raw_api):
    assert raw_api.post(USERS, []).status_code == 405
    assert raw_api.get(CREATE).status_code == 405


def test_malformed_json_is_400(raw_api):
    response = raw_api.session.post(f"{raw_api.base_url}/v2/{CREATE}", data=b"[{\"Attribute\":",
                                    headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["ExceptionMessage"].startswith(
        "Unexpected character encountered while parsing value")


def test_wrong_content_type_is_400(raw_api):
    response = raw_api.session.post(f"{raw_api.base_url}/v2/{CREATE}",
                                    data=json.dumps([{"Attribute": "FirstName", "Value": "A"}]),
                                    headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 400 and response.json()["Status"] == "Error"


def test_huge_body_is_413(raw_api):
    huge = b"[" + b" " * (4 * 1024 * 1024 + 10) + b"]"
    response = raw_api.session.post(f"{raw_api.base_url}/v2/{CREATE}", data=huge,
                                    headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 413
    assert response.json()["ExceptionType"] == "MXRequestTooLargeException"


MY_MODULES = (users, lead_metadata, leads_write, leads_read, lists, email)
ODD_BODIES = [None, [], {}, "text", 5, [None], [{"Attribute": None}], {"Parameter": "x"},
              {"SearchParameters": {"ListId": 5, "LeadIds": "x"}, "Paging": {"PageIndex": "a"}}]


@pytest.mark.parametrize(
    "operation",
    sorted(route.operation for module in MY_MODULES for route in module.router.routes.values()),
)
def test_odd_inputs_never_leak_a_traceback_or_crash(raw_api, operation):
    route = next(m.router.routes[route_key(operation)] for m in MY_MODULES
                 if route_key(operation) in m.router.routes)
    if route.method == "GET":
        answers = [raw_api.get(operation), raw_api.get(operation, id="x", leadId="x", ListId="x",
                                                        LeadID="x", phone="x", key="%")]
    else:
        answers = [raw_api.post(operation, body, leadId="x", listId="x") for body in ODD_BODIES]
    for answer in answers:
        assert answer.status_code in {200, 400, 500}, answer.text
        assert "Traceback" not in answer.text and 'File "' not in answer.text
        body = answer.json()
        if isinstance(body, dict) and body.get("Status") == "Error":
            assert body["ExceptionType"] != "MXUnhandledException", (operation, body)


def test_request_log_records_calls_without_secrets(raw_api):
    raw_api.post("LeadManagement.svc/Lead.Update", [{"Attribute": "Notes", "Value": "hi"}],
                 leadId=PRIYA, postUpdatedLead="true")
    log = raw_api.control("GET", "requests")
    [entry] = log["requests"]
    assert entry["operation"] == "LeadManagement.svc/Lead.Update"
    assert entry["query"] == {"leadId": PRIYA, "postUpdatedLead": "true"}
    assert entry["body"] == [{"Attribute": "Notes", "Value": "hi"}]
    assert (entry["status"], entry["tenant"], entry["auth"]) == (200, "41872", "header")
    text = json.dumps(log)
    assert DEFAULT_ACCESS_KEY not in text and DEFAULT_SECRET_KEY not in text


def test_request_log_since_and_clear(raw_api):
    for _ in range(3):
        raw_api.get(USERS)
    assert len(raw_api.control("GET", "requests", since=2)["requests"]) == 1
    raw_api.control("POST", "requests/clear")
    assert raw_api.control("GET", "requests")["count"] == 0


def test_reset_restores_the_seed(raw_api, sandbox):
    raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "Temp"}])
    raw_api.control("POST", "settings", {"lead_delete_enabled": True})
    raw_api.control("POST", "reset")
    tenant = sandbox.app.state.tenants["41872"]
    assert len(tenant.leads) == 5 and tenant.settings["lead_delete_enabled"] is False
    assert not tenant.create_counts


def test_clock_controls_drive_record_dates(raw_api, sandbox):
    raw_api.control("POST", "clock", {"set": "2026-02-03T04:05:06Z", "freeze": True})
    assert raw_api.control("GET", "clock")["now"] == "2026-02-03T04:05:06+00:00"
    raw_api.control("POST", "clock", {"advance": 60})
    lead_id = raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "C"}]).json()
    record = sandbox.app.state.tenants["41872"].leads[lead_id["Message"]["Id"]]
    assert record["CreatedOn"] == "2026-02-03 04:06:06.000"


def test_outbox_and_create_counts_controls(raw_api):
    raw_api.post("EmailMarketing.svc/SendEmailToLead", {
        "SenderType": "APICaller", "RecipientType": "LeadId", "Recipient": PRIYA,
        "EmailType": "Html", "Subject": "S", "ContentHTML": "<p>B</p>"})
    raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "Once"}])
    raw_api.post(CREATE, [{"Attribute": "FirstName", "Value": "Once"}])
    assert [e["LeadId"] for e in raw_api.control("GET", "outbox")["emails"]] == [PRIYA]
    counts = raw_api.control("GET", "create-counts")["counts"]
    assert list(counts.values()) == [2]  # same body twice: one fingerprint, counted twice
    assert raw_api.control("GET", "outbox", tenant="52210")["emails"] == []


def test_settings_control_changes_one_tenant(raw_api, sandbox):
    raw_api.control("POST", "settings", {"tenant": "52210", "lead_delete_enabled": False})
    assert sandbox.app.state.tenants["52210"].settings["lead_delete_enabled"] is False
    assert sandbox.app.state.tenants["41872"].settings["lead_delete_enabled"] is False
