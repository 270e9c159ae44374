"""Contract: Webhook.svc registration and asynchronous delivery (reference §12).

Deliveries go to a small receiver served on 127.0.0.1; ``/_sandbox/webhooks/flush`` waits for
the delivery queue to drain, so every assertion runs after delivery (no sleeps).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SandboxApp, start_sandbox
from runtime.sandbox.server import QuietRequestHandler
from tests.conftest import RawApi
from tests.seed_ids import PRIYA

CREATE = "Webhook.svc/Create"
RETRIEVE = "Webhook.svc/Retrieve"
DELETE = "Webhook.svc/Delete"
SEEDED_TASK = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
SEEDED_OPPORTUNITY = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"
SECRET = "s3cr3t-header-value"
KEYS = {"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY}


class Receiver:
    """A webhook receiver: records requests, answers queued statuses (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.on_request: Any = None
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=QuietRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.received.append({
                "method": request.method, "path": request.path, "query": dict(request.args),
                "headers": dict(request.headers), "body": request.get_data(as_text=True),
            })
            status = self.statuses.pop(0) if self.statuses else 200
        if self.on_request is not None:
            self.on_request()
        return Response("ok", status=status)(environ, start_response)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.statuses.clear()
        self.on_request = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def hook_sandbox():
    app = SandboxApp(webhook_retry_delays=(0.01, 0.01, 0.01))
    with start_sandbox(app) as running:
        yield running
    app.close()


@pytest.fixture
def api(hook_sandbox, receiver) -> RawApi:
    hook_sandbox.app.reset()
    receiver.reset()
    return RawApi(hook_sandbox)


def register(api: RawApi, url: str, event: Any = "7", **extra: Any) -> str:
    body = {"Description": "test hook", "URL": url, "Method": "POST",
            "ContentType": "application/json", "WebhookEvent": event,
            "IsSpecificLandingPage": False, "NotifyOnFailure": True, "WebhookProperties": None,
            "CustomHeaders": [{"Key": "x-api-key", "Value": SECRET}], **extra}
    response = api.post(CREATE, body)
    assert response.status_code == 200, response.text
    return response.json()["Message"]["Id"]


def flush(api: RawApi) -> dict[str, Any]:
    result = api.control("POST", "webhooks/flush", {"timeout": 10})
    assert result == {"ok": True, "pending": 0}
    return api.control("GET", "webhook-deliveries")


def create_task(api: RawApi, name: str = "Call back") -> str:
    body = {"Name": name, "TaskType": {"Name": "Call"}, "RelatedEntity": 1,
            "RelatedEntityId": PRIYA, "DueDate": "2026-08-03 10:00:00"}
    return api.post("Task.svc/Create", body).json()["Message"]["Id"]


def hooks(api: RawApi, **parameter: Any) -> dict[str, Any]:
    return api.post(RETRIEVE, {"Parameter": {"Type": "Webhook", **parameter}}).json()


# -- registration -----------------------------------------------------------------------------


def test_create_returns_the_id_and_retrieve_lists_it(api, receiver):
    properties = json.dumps({"IsAsyncEnable": False})
    webhook_id = register(api, receiver.url, WebhookProperties=properties)
    listed = api.post(RETRIEVE, {"Parameter": {"Type": "Webhook"},
                                 "Paging": {"PageIndex": 1, "PageSize": 10}})
    assert listed.status_code == 200
    assert listed.json() == {"RecordCount": 1, "Response": [{
        "WebhookId": webhook_id, "EventCode": "Task_Post_Create", "URL": receiver.url,
        "Description": "test hook", "WebhookProperties": properties, "StatusCode": 0,
    }]}
    assert SECRET not in listed.text


def test_request_log_keeps_no_receiver_secrets(api, receiver):
    register(api, receiver.url + "?token=abc123")
    log = json.dumps(api.control("GET", "requests"))
    assert SECRET not in log and "abc123" not in log
    assert hooks(api)["Response"][0]["URL"] == receiver.url + "?token=abc123"


def test_webhook_properties_object_is_400(api, receiver):
    response = api.post(CREATE, {"URL": receiver.url, "WebhookEvent": "3",
                                 "WebhookProperties": {"IsAsyncEnable": False}})
    assert response.status_code == 400
    assert response.json()["Status"] == "Error"


@pytest.mark.parametrize(("extra", "exception", "message"), [
    ({"WebhookProperties": "{not json"}, "MXInvalidDataTypeException",
     "Webhook Properties is not a valid JSON"),
    ({"WebhookEvent": "5"}, "MXInvalidDataTypeException", "Webhook Properties is not a valid JSON"),
    ({"WebhookEvent": "2"}, "MXInvalidDataTypeException", "You have not passed ActivityEvent."),
    ({"WebhookEvent": "35"}, "MXInvalidEntityException", "WebhookEvent '35' not found"),
    ({"WebhookEvent": None}, "MXMandatoryAttributeMissingException", "WebhookEvent is mandatory"),
    ({"URL": "ftp://example.com/x"}, "MXInvalidDataTypeException",
     "URL 'ftp://example.com/x' is not a valid http or https URL"),
    ({"ContentType": "application/xml"}, "MXInvalidDataTypeException",
     "ContentType must be one of application/json, application/x-www-form-urlencoded, "
     "text/plain"),
    ({"CustomHeaders": [{"Key": f"h{i}", "Value": "v"} for i in range(11)]},
     "MXInvalidDataTypeException", "At most 10 custom headers are allowed"),
    ({"WebhookEvent": "29"}, "MXInvalidDataTypeException",
     "You have not passed OpportunityEvents."),
    ({"WebhookEvent": "29", "OpportunityEvents": ["99999"]}, "MXInvalidEntityException",
     "Opportunity type with event code '99999' does not exist"),
], ids=["properties-not-json", "stage-change", "activity-without-event", "unknown-event",
        "no-event", "url", "content-type", "eleven-headers", "opportunity-no-types",
        "opportunity-unknown-type"])
def test_create_rejections(api, receiver, extra, exception, message):
    body = {"URL": receiver.url, "WebhookEvent": "3", "ContentType": "application/json", **extra}
    response = api.post(CREATE, body)
    assert response.status_code == 500
    assert response.json() == {"Status": "Error", "ExceptionType": exception,
                               "ExceptionMessage": message}


def test_ten_custom_headers_are_allowed(api, receiver):
    headers = [{"Key": f"x-h{i}", "Value": str(i)} for i in range(10)]
    register(api, receiver.url, CustomHeaders=headers)


def test_retrieve_filters_by_event_name_and_status(api, receiver):
    register(api, receiver.url, "7")
    register(api, receiver.url, "17")
    register(api, receiver.url, "29", OpportunityEvents=["12000"])
    assert hooks(api, WebhookEvent="Task_Post_Update")["RecordCount"] == 1
    opportunity = hooks(api, WebhookEvent="Opportunity_Post_Create")["Response"]
    assert [h["EventCode"] for h in opportunity] == ["Opportunity_Post_Create"]
    assert hooks(api, StatusCode=0)["RecordCount"] == 3
    assert hooks(api, StatusCode=2)["RecordCount"] == 0


def test_delete_is_a_get(api, receiver):
    webhook_id = register(api, receiver.url)
    assert api.post(DELETE, {}, webhookId=webhook_id).status_code == 405
    response = api.get(DELETE, webhookId=webhook_id)
    assert response.status_code == 200
    assert response.json() == {"Status": "Success", "Message": {"IsSuccessful": True}}
    assert hooks(api)["RecordCount"] == 0
    assert api.get(DELETE, webhookId=webhook_id).json()["ExceptionType"] == (
        "MXInvalidEntityException")


# -- delivery ---------------------------------------------------------------------------------


def test_task_create_is_posted_as_json_with_custom_headers(api, receiver):
    webhook_id = register(api, receiver.url + "?token=abc")
    task_id = create_task(api)
    log = flush(api)
    assert len(receiver.received) == 1
    call = receiver.received[0]
    assert (call["method"], call["path"], call["query"]) == ("POST", "/hook", {"token": "abc"})
    assert call["headers"]["X-Api-Key"] == SECRET
    assert call["headers"]["Content-Type"] == "application/json"
    task = api.get("Task.svc/Retrieve.GetById", id=task_id).json()[0]
    assert json.loads(call["body"]) == task
    assert [(d["webhook_id"], d["event"], d["outcome"]) for d in log["deliveries"]] == [
        (webhook_id, "task_create", "delivered")]
    entry = log["deliveries"][0]
    assert entry["header_names"] == ["x-api-key"]
    assert entry["url"] == receiver.url and entry["attempts"][0]["status"] == 200
    assert SECRET not in json.dumps(log) and "abc" not in json.dumps(log)


def test_task_update_and_complete_fire_the_update_webhook(api, receiver):
    register(api, receiver.url, "17")
    api.post("Task.svc/Update", {"UserTaskId": SEEDED_TASK, "Name": "Renamed"})
    api.get("Task.svc/MarkComplete", id=SEEDED_TASK)
    create_task(api)  # a create does not go to an update webhook
    flush(api)
    bodies = [json.loads(call["body"]) for call in receiver.received]
    assert [(b["UserTaskId"], b["Name"], b["Status"]) for b in bodies] == [
        (SEEDED_TASK, "Renamed", "Pending"), (SEEDED_TASK, "Renamed", "Completed")]


def test_task_delete_webhook(api, receiver):
    register(api, receiver.url, "28")
    api.post("Task.svc/DeleteTasks", {"TaskIds": [SEEDED_TASK]})
    flush(api)
    assert [json.loads(c["body"])["UserTaskId"] for c in receiver.received] == [SEEDED_TASK]


def test_lead_create_is_posted_form_encoded(api, receiver):
    register(api, receiver.url, "3", ContentType="application/x-www-form-urlencoded")
    lead = [{"Attribute": "EmailAddress", "Value": "form.lead@example.com"},
            {"Attribute": "FirstName", "Value": "Farah"}]
    lead_id = api.post("LeadManagement.svc/Lead.Create", lead).json()["Message"]["Id"]
    flush(api)
    call = receiver.received[0]
    assert call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(call["body"], keep_blank_values=True)
    assert fields["ProspectID"] == [lead_id]
    assert fields["EmailAddress"] == ["form.lead@example.com"]
    assert fields["FirstName"] == ["Farah"]


def test_lead_payload_carries_only_fields_that_have_a_value(api, receiver):
    """Reference §12.3: the mandatory fields and every field that has a value."""
    register(api, receiver.url, "3")
    lead = [{"Attribute": "EmailAddress", "Value": "sparse.lead@example.com"}]
    lead_id = api.post("LeadManagement.svc/Lead.Create", lead).json()["Message"]["Id"]
    flush(api)
    body = json.loads(receiver.received[0]["body"])
    assert body["ProspectID"] == lead_id and body["EmailAddress"] == "sparse.lead@example.com"
    assert body["Score"] == "0" and body["ProspectStage"] == "Prospect"
    assert "Company" not in body and "FirstName" not in body
    assert None not in body.values()


def test_lead_update_fires_only_with_post_updated_lead(api, receiver):
    register(api, receiver.url, "6", ContentType="text/plain")
    change = [{"Attribute": "FirstName", "Value": "Priyanka"}]
    api.post("LeadManagement.svc/Lead.Update", change, leadId=PRIYA)
    flush(api)
    assert receiver.received == []
    api.post("LeadManagement.svc/Lead.Update", change, leadId=PRIYA, postUpdatedLead="true")
    flush(api)
    assert len(receiver.received) == 1
    assert receiver.received[0]["headers"]["Content-Type"] == "text/plain"
    body = json.loads(receiver.received[0]["body"])  # text/plain carries the JSON text
    assert (body["ProspectID"], body["FirstName"]) == (PRIYA, "Priyanka")


def test_opportunity_webhooks_filter_by_type_and_send_activity_shape(api, receiver):
    register(api, receiver.url, "29", OpportunityEvents=["12000"],
             WebhookProperties=json.dumps({"OpportunityEvents": ["12000"],
                                           "IsAsyncEnable": False}))
    lead = [{"Attribute": "ProspectID", "Value": PRIYA},
            {"Attribute": "SearchBy", "Value": "ProspectId"}]
    fields = [{"SchemaName": "mx_Custom_1", "Value": "Deal"}]
    for code in (12001, 12000):
        body = {"LeadDetails": lead, "Opportunity": {"OpportunityEventCode": code,
                                                     "Fields": fields}}
        created = api.post("OpportunityManagement.svc/Capture", body).json()
    flush(api)
    assert len(receiver.received) == 1
    payload = json.loads(receiver.received[0]["body"])
    assert payload == {
        "ProspectActivityId": created["CreatedOpportunityId"], "RelatedProspectId": PRIYA,
        "ActivityEvent": 12000, "CreatedOn": payload["CreatedOn"],
        "CreatedBy": "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e01", "Data": {},
    }


def test_opportunity_update_and_delete_webhooks(api, receiver):
    register(api, receiver.url, "30", OpportunityEvents=["12000"])
    register(api, receiver.url, "31", OpportunityEvents=["12000"])
    api.post("OpportunityManagement.svc/Update",
             {"ProspectOpportunityId": SEEDED_OPPORTUNITY, "OpportunityNote": "x"})
    api.get("OpportunityManagement.svc/Delete", Id=SEEDED_OPPORTUNITY)
    log = flush(api)
    assert [d["event_code"] for d in log["deliveries"]] == [
        "Opportunity_Post_Update", "Opportunity_Post_Delete"]
    assert all(json.loads(c["body"])["ProspectActivityId"] == SEEDED_OPPORTUNITY
               for c in receiver.received)


def test_failed_attempts_are_retried(api, receiver):
    register(api, receiver.url)
    receiver.statuses.extend([500, 404])
    create_task(api)
    log = flush(api)
    assert len(receiver.received) == 3
    [delivery] = log["deliveries"]
    assert delivery["outcome"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 404, 200]


def test_non_200_success_codes_count_as_failures(api, receiver):
    register(api, receiver.url)
    receiver.statuses.extend([204, 204, 204, 204])
    create_task(api)
    [delivery] = flush(api)["deliveries"]
    assert delivery["outcome"] == "failed"
    assert [a["status"] for a in delivery["attempts"]] == [204, 204, 204, 204]


def test_connection_errors_are_retried_three_times_then_fail(api):
    closed = make_server("127.0.0.1", 0, lambda e, s: [])
    port = closed.server_port
    closed.server_close()
    register(api, f"http://127.0.0.1:{port}/gone")
    create_task(api)
    [delivery] = flush(api)["deliveries"]
    assert delivery["outcome"] == "failed"
    assert len(delivery["attempts"]) == 4
    assert all(a["status"] is None and a["error"] for a in delivery["attempts"])


def test_ten_consecutive_failed_deliveries_disable_the_webhook(api, receiver):
    webhook_id = register(api, receiver.url)
    receiver.statuses.extend([500] * 1000)
    for number in range(11):
        create_task(api, f"Task {number}")
    log = flush(api)
    outcomes = [d["outcome"] for d in log["deliveries"]]
    assert outcomes.count("failed") == 10
    assert outcomes.count("dropped") == 1
    assert len(receiver.received) == 40  # 10 deliveries x (1 attempt + 3 retries)
    assert hooks(api)["Response"][0] == {**hooks(api)["Response"][0], "WebhookId": webhook_id,
                                         "StatusCode": 2}
    create_task(api, "After disable")
    flush(api)
    assert len(receiver.received) == 40


def test_a_success_resets_the_failure_count(api, receiver):
    register(api, receiver.url)
    receiver.statuses.extend([500] * 36)  # nine failed deliveries
    for number in range(9):
        create_task(api, f"Fail {number}")
    flush(api)
    create_task(api, "Succeeds")
    flush(api)
    receiver.statuses.extend([500] * 4)
    create_task(api, "Fails once more")
    flush(api)
    assert hooks(api)["Response"][0]["StatusCode"] == 0


def test_worker_holds_no_sandbox_lock_while_delivering(api, receiver):
    register(api, receiver.url)
    answers: list[int] = []

    def call_back() -> None:  # a receiver that reads from LeadSquared while handling
        answers.append(api.get("Task.svc/RetrieveTaskType").status_code)

    receiver.on_request = call_back
    create_task(api)
    flush(api)
    assert answers == [200]


def failing_once(receiver: Receiver, tasks: int) -> SandboxApp:
    """An app with a webhook to ``receiver`` (retried after 30 s), its first answer a 500,
    after creating ``tasks`` tasks."""
    app = SandboxApp(webhook_retry_delays=(30.0,))
    client = Client(app)
    body = {"URL": receiver.url, "WebhookEvent": "7", "ContentType": "application/json"}
    assert client.post("/v2/" + CREATE, json=body, headers=KEYS).status_code == 200
    receiver.statuses.append(500)
    task = {"Name": "x", "TaskType": {"Name": "To-do"}}
    for _ in range(tasks):
        assert client.post("/v2/Task.svc/Create", json=task, headers=KEYS).status_code == 200
    return app


def test_reset_drops_pending_deliveries_and_close_stops_the_worker(receiver):
    app = failing_once(receiver, 1)
    assert not app.webhook_delivery.flush(timeout=0.5)  # waiting 30 s for the retry
    assert app.webhook_delivery.pending == 1
    app.reset()
    # an attempt still in flight (a loaded machine) ends without being queued again
    assert app.webhook_delivery.flush(timeout=5) and app.webhook_delivery.pending == 0
    assert app.state.tenants["41872"].webhook_deliveries == []
    worker = app.webhook_delivery._thread
    app.close()
    assert worker is not None and not worker.is_alive()


def test_settle_waits_for_first_attempts_not_for_retries(receiver):
    receiver.reset()
    app = failing_once(receiver, 2)  # the second delivery waits behind the first one's retry
    started = time.monotonic()
    assert app.webhook_delivery.settle(timeout=5)
    assert time.monotonic() - started < 2
    assert len(receiver.received) == 1 and app.webhook_delivery.pending == 2
    app.close()


def test_each_app_has_its_own_worker(hook_sandbox):
    other = SandboxApp()
    assert other.webhook_delivery is not hook_sandbox.app.webhook_delivery
    other.close()


def test_deliveries_control_is_per_tenant(api):
    result = requests.get(f"{api.base_url}/_sandbox/webhook-deliveries",
                          params={"tenant": "52210"}, timeout=5).json()
    assert result == {"deliveries": [], "pending": 0}
