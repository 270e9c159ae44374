"""The seven instant triggers end to end: the sandbox delivers to a real receiver, the inbox
keeps each delivery once, and ``events()`` gives the trigger's output shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.api.client import LeadSquaredClient
from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.subscriptions import Subscriptions
from runtime.errors import InputValidationError
from runtime.plugin import manifest_checks as checks
from runtime.plugin.manifest import Manifest, read_manifest
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from tests.manifest.builder import NEW_LEAD_HANDLER, TmpConnector

from .webhook_fixtures import (
    OWNER,
    SEED_LEAD,
    SEED_OPPORTUNITY,
    SEED_TASK,
    calls,
    deliveries,
    flush,
)

pytest_plugins = ["tests.triggers.webhook_fixtures"]

INSTANT = ("new_lead", "lead_updated", "new_task", "task_updated", "new_opportunity",
           "opportunity_updated", "lead_activity_posted")
OPPORTUNITY = {"opportunity_type": 12000}


def create_lead(client: LeadSquaredClient, email: str, **fields: str) -> str:
    pairs = [{"Attribute": "EmailAddress", "Value": email},
             *({"Attribute": k, "Value": v} for k, v in fields.items())]
    return client.post("LeadManagement.svc/Lead.Create", pairs, creates=True)["Message"]["Id"]


def capture(client: LeadSquaredClient, lead_id: str, type_code: int, name: str) -> str:
    answer = client.post("OpportunityManagement.svc/Capture", {
        "LeadDetails": [{"Attribute": "ProspectID", "Value": lead_id},
                        {"Attribute": "SearchBy", "Value": "ProspectId"}],
        "Opportunity": {"OpportunityEventCode": type_code,
                        "Fields": [{"SchemaName": "mx_Custom_1", "Value": name}]},
    }, creates=True)
    return answer["CreatedOpportunityId"]


def run_events(manifest: Manifest, client: LeadSquaredClient, inbox: Inbox, key: str,
               config: dict[str, Any]) -> list[dict[str, Any]]:
    """Claim every pending item, turn it into events (checked against the output schema)."""
    module = manifest.trigger(key).handler_module()
    produced = []
    while (item := inbox.claim_next()) is not None:
        for event in module.events(client, config, item.payload):
            assert manifest.trigger(key).output_problems(event) == []
            produced.append(event)
        inbox.mark_done(item)
    return produced


# -- leads ----------------------------------------------------------------------------------------


def test_new_lead_end_to_end(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("new_lead", {}, receiver)
    lead_id = create_lead(client, "asha.e2e@example.com", FirstName="Asha")
    flush(sandbox)

    [delivery] = deliveries(sandbox)
    assert delivery["outcome"] == "delivered"
    assert delivery["header_names"] == [SECRET_HEADER]
    [item] = inbox.items()
    assert item.event_key == lead_id
    [event] = run_events(manifest, client, inbox, "new_lead", {})
    assert event["lead_id"] == event["ProspectID"] == lead_id
    assert event["FirstName"] == "Asha"
    assert event["EmailAddress"] == "asha.e2e@example.com"


def test_lead_update_fires_only_with_post_updated_lead(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("lead_updated", {}, receiver)
    change = [{"Attribute": "mx_City", "Value": "Nagpur"}]
    client.post("LeadManagement.svc/Lead.Update", change, params={"leadId": SEED_LEAD})
    flush(sandbox)
    assert deliveries(sandbox) == [] and inbox.items() == []

    sandbox.app.state.clock.advance(seconds=5)
    client.post("LeadManagement.svc/Lead.Update", change,
                params={"leadId": SEED_LEAD, "postUpdatedLead": "true"})
    flush(sandbox)
    [item] = inbox.items()
    [event] = run_events(manifest, client, inbox, "lead_updated", {})
    assert event["lead_id"] == SEED_LEAD and event["mx_City"] == "Nagpur"
    assert item.event_key == f"{SEED_LEAD}@{event['ModifiedOn']}"


def test_a_delivery_sent_twice_is_stored_once(
    client: LeadSquaredClient, subs: Subscriptions, receiver: str, store: StateStore,
    inbox: Inbox,
) -> None:
    result = subs.subscribe("new_lead", {}, receiver)
    secret = store.get_subscription(result.instance_id).secret
    body = {"ProspectID": SEED_LEAD, "FirstName": "Priya", "ModifiedOn": "2025-03-01 09:00:00.000"}
    for _ in range(2):  # a LeadSquared retry
        reply = requests.post(result.receiver_url, json=body, headers={SECRET_HEADER: secret},
                              timeout=5)
        assert (reply.status_code, reply.json()) == (200, {"Status": "Success"})
    assert [item.event_key for item in inbox.items()] == [SEED_LEAD]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "not-the-secret"}],
                         ids=["missing-secret", "wrong-secret"])
def test_a_forged_delivery_is_rejected_and_stored_nowhere(
    subs: Subscriptions, receiver: str, store: StateStore, headers: dict[str, str],
) -> None:
    result = subs.subscribe("new_lead", {}, receiver)
    reply = requests.post(result.receiver_url, json={"ProspectID": SEED_LEAD}, headers=headers,
                          timeout=5)
    assert reply.status_code == 401
    assert reply.json() == {"Status": "Error", "StatusReason": "Unauthorized"}
    for table in ("inbox", "dedupe", "deliveries"):
        assert store.db.query(f"SELECT COUNT(*) FROM {table}")[0][0] == 0, table


def test_a_delivery_acknowledged_before_a_crash_runs_after_restart(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    store: StateStore, db_path: Any, manifest: Manifest,
) -> None:
    subs.subscribe("new_lead", {}, receiver)
    lead_id = create_lead(client, "crash.test@example.com", FirstName="Kiran")
    flush(sandbox)
    assert deliveries(sandbox)[0]["attempts"][-1]["status"] == 200  # acknowledged
    claimed = Inbox(store).claim_next()  # the runner claims it, then the process dies
    assert claimed is not None
    store.close()

    with StateStore(db_path) as restarted:
        inbox = Inbox(restarted)
        assert inbox.claim_next() is None  # still claimed by the dead process
        assert inbox.release_claims() == 1  # the only runner after a restart
        item = inbox.claim_next()
        assert item is not None and item.event_key == lead_id
        [event] = manifest.trigger("new_lead").handler_module().events(client, {}, item.payload)
        assert event["lead_id"] == lead_id and event["FirstName"] == "Kiran"
        assert inbox.mark_done(item)


def test_lead_events_normalise_form_payloads_and_reject_non_leads() -> None:
    from triggers import lead_updated, new_lead

    [event] = new_lead.events(None, {}, {"ProspectId": SEED_LEAD, "Tags": ["a", "b"]})
    absent = {name: None for name in (  # a payload holds only fields with a value (§12.3)
        "ProspectAutoId", "FirstName", "LastName", "EmailAddress", "Phone", "Mobile", "Company",
        "Source", "ProspectStage", "OwnerId")}
    assert event == {"lead_id": SEED_LEAD, "ProspectId": SEED_LEAD, "ProspectID": SEED_LEAD,
                     "Tags": '["a", "b"]', **absent}
    with pytest.raises(InputValidationError, match="not a lead"):
        new_lead.events(None, {}, {"FirstName": "Nobody"})
    with pytest.raises(KeyError):  # the receiver then keys the event by its body hash
        lead_updated.event_key({"FirstName": "Nobody"})


# -- tasks ----------------------------------------------------------------------------------------


def test_new_task_end_to_end_uses_a_complete_payload(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("new_task", {}, receiver)
    task_id = client.post("Task.svc/Create", {
        "Name": "Call Priya back", "TaskType": {"Name": "Call"}, "RelatedEntity": 1,
        "RelatedEntityId": SEED_LEAD, "OwnerId": OWNER, "DueDate": "2025-04-01 10:00:00",
    }, creates=True)["Message"]["Id"]
    flush(sandbox)
    before = len(calls(sandbox, "Task.svc/Retrieve.GetById"))
    [event] = run_events(manifest, client, inbox, "new_task", {})
    assert event["task_id"] == event["UserTaskId"] == task_id
    assert (event["Name"], event["TaskType"], event["Category"]) == ("Call Priya back", "Call", 1)
    assert len(calls(sandbox, "Task.svc/Retrieve.GetById")) == before  # nothing to fetch


def test_task_updated_end_to_end_keys_each_change(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("task_updated", {}, receiver)
    client.post("Task.svc/Update", {"UserTaskId": SEED_TASK, "Name": "First change"})
    sandbox.app.state.clock.advance(seconds=61)
    client.get("Task.svc/MarkComplete", {"id": SEED_TASK})
    flush(sandbox)
    keys = [item.event_key for item in inbox.items()]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(key.startswith(f"{SEED_TASK}@") for key in keys)
    first, second = run_events(manifest, client, inbox, "task_updated", {})
    assert (first["Name"], first["StatusCode"]) == ("First change", 0)
    assert (second["StatusCode"], second["task_id"]) == (1, SEED_TASK)


def test_a_task_payload_without_fields_is_read_by_id(
    sandbox: RunningSandbox, client: LeadSquaredClient, manifest: Manifest,
) -> None:
    module = manifest.trigger("new_task").handler_module()
    [event] = module.events(client, {}, {"TaskID": SEED_TASK, "StatusCode": "0"})
    assert calls(sandbox)[-1]["query"] == {"id": SEED_TASK}
    assert calls(sandbox)[-1]["operation"] == "Task.svc/Retrieve.GetById"
    assert event["task_id"] == SEED_TASK and event["Name"] and event["OwnerId"] == OWNER
    assert manifest.trigger("new_task").output_problems(event) == []
    # A task deleted before its webhook is processed yields no event.
    gone = "00000000-0000-4000-8000-00000000dead"
    assert module.events(client, {}, {"UserTaskId": gone}) == []


def test_form_encoded_task_codes_become_integers() -> None:
    from triggers import _webhooks

    flat = {name: "x" for name in _webhooks.TASK_FIELDS}
    flat.update(UserTaskId=SEED_TASK, StatusCode="1", Category="0", RelatedEntity="")
    [event] = _webhooks.task_events(None, flat)  # type: ignore[arg-type]
    assert (event["StatusCode"], event["Category"], event["RelatedEntity"]) == (1, 0, None)


# -- opportunities --------------------------------------------------------------------------------


def test_new_opportunity_fires_only_for_its_type(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("new_opportunity", OPPORTUNITY, receiver)
    renewal = capture(client, SEED_LEAD, 12001, "Renewal 2026")
    wanted = capture(client, SEED_LEAD, 12000, "Pune phase 2")
    flush(sandbox)
    assert [item.event_key for item in inbox.items()] == [wanted]  # the webhook is per type
    [event] = run_events(manifest, client, inbox, "new_opportunity", OPPORTUNITY)
    assert event["opportunity_id"] == event["OpportunityId"] == wanted
    assert event["lead_id"] == event["RelatedProspectId"] == SEED_LEAD
    assert (event["OpportunityEventCode"], event["OpportunityName"]) == (12000, "Pune phase 2")
    assert event["Status"] == "Open"
    # A payload of another type (e.g. a second webhook's) is ignored without an API call.
    module = manifest.trigger("new_opportunity").handler_module()
    before = len(calls(sandbox))
    other = {"ProspectActivityId": renewal, "RelatedProspectId": SEED_LEAD,
             "ActivityEvent": 12001, "Data": {}}
    assert module.events(client, OPPORTUNITY, other) == []
    assert len(calls(sandbox)) == before


def test_opportunity_updated_fires_for_every_update(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    subs.subscribe("opportunity_updated", OPPORTUNITY, receiver)
    for stage in ("Negotiation", "Closed"):
        sandbox.app.state.clock.advance(seconds=30)
        client.post("OpportunityManagement.svc/Update", {
            "ProspectOpportunityId": SEED_OPPORTUNITY,
            "Fields": [{"SchemaName": "mx_Custom_2", "Value": stage}],
        })
    flush(sandbox)
    # LeadSquared's payloads of two updates are identical: both must still fire.
    assert len(deliveries(sandbox)) == 2 and len(inbox.items()) == 2
    events = run_events(manifest, client, inbox, "opportunity_updated", OPPORTUNITY)
    assert [e["opportunity_id"] for e in events] == [SEED_OPPORTUNITY] * 2
    assert events[-1]["mx_Custom_2"] == "Closed" and events[-1]["ModifiedOn"]


def test_opportunity_event_keys() -> None:
    from triggers import new_opportunity, opportunity_updated

    payload = {"ProspectActivityId": SEED_OPPORTUNITY, "ActivityEvent": 12000, "Data": {}}
    assert new_opportunity.event_key(payload) == SEED_OPPORTUNITY
    with_time = {**payload, "ModifiedOn": "2025-03-02 10:05:00"}
    assert opportunity_updated.event_key(with_time) == f"{SEED_OPPORTUNITY}@2025-03-02 10:05:00"
    assert opportunity_updated.event_key(payload) != opportunity_updated.event_key(payload)


def test_a_deleted_opportunity_yields_no_event(
    client: LeadSquaredClient, manifest: Manifest,
) -> None:
    module = manifest.trigger("new_opportunity").handler_module()
    gone = {"ProspectActivityId": "00000000-0000-4000-8000-00000000dead", "ActivityEvent": 12000}
    assert module.events(client, OPPORTUNITY, gone) == []


# -- lead activities ------------------------------------------------------------------------------

DEMOS = {"activity_type": "Product Demo"}


def post_activity(client: LeadSquaredClient, code: int, note: str) -> str:
    body = {"RelatedProspectId": SEED_LEAD, "ActivityEvent": code, "ActivityNote": note,
            "Fields": [{"SchemaName": "Status", "Value": "Completed"}]}
    return client.post("ProspectActivity.svc/Create", body, creates=True)["Message"]["Id"]


def test_lead_activity_posted_fires_for_its_type_only(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, receiver: str,
    inbox: Inbox, manifest: Manifest,
) -> None:
    result = subs.subscribe("lead_activity_posted", DEMOS, receiver)
    assert result.event_code == "2"
    [hook] = sandbox.app.state.tenants["41872"].webhooks.values()
    assert (hook["EventCode"], hook["ActivityEvent"]) == ("LeadActivity_Post_Create", "201")
    post_activity(client, 203, "a webinar: another type")
    wanted = post_activity(client, 201, "Demo on site")
    flush(sandbox)
    [delivery] = deliveries(sandbox)  # the webhook is made for one type
    assert isinstance(delivery["payload"], list)  # activity payloads are arrays (§12.3)
    assert [item.event_key for item in inbox.items()] == [wanted]
    [event] = run_events(manifest, client, inbox, "lead_activity_posted", DEMOS)
    assert (event["activity_id"], event["lead_id"]) == (wanted, SEED_LEAD)
    assert (event["ActivityEvent"], event["ActivityEventName"]) == (201, "Product Demo")
    assert (event["ActivityNote"], event["Status"]) == ("Demo on site", "Completed")
    # An item of another type (a batch, or another webhook's) gives no event.
    module = manifest.trigger("lead_activity_posted").handler_module()
    other = {"ProspectActivityId": wanted, "RelatedProspectId": SEED_LEAD, "ActivityEvent": 203}
    assert module.events(client, DEMOS, other) == []


def test_a_batch_of_activities_is_one_event_each(
    client: LeadSquaredClient, subs: Subscriptions, receiver: str, store: StateStore,
    inbox: Inbox, manifest: Manifest,
) -> None:
    result = subs.subscribe("lead_activity_posted", DEMOS, receiver)
    secret = store.get_subscription(result.instance_id).secret
    batch = [{"ProspectActivityId": f"8e3c1a57-2d4b-4f6e-9a10-00000000ba0{n}",
              "RelatedProspectId": SEED_LEAD, "ActivityEvent": "201",
              "ActivityEventName": "Product Demo", "CreatedOn": f"2025-06-01 10:0{n}:00",
              "CreatedBy": OWNER, "Data": {"Note": f"demo {n}", "mx_Custom_1": "Interested"}}
             for n in range(3)]
    for _ in range(2):  # LeadSquared sends the batch again: stored once
        reply = requests.post(result.receiver_url, json=batch, headers={SECRET_HEADER: secret},
                              timeout=5)
        assert reply.status_code == 200
    assert [item.event_key for item in inbox.items()] == [a["ProspectActivityId"] for a in batch]
    events = run_events(manifest, client, inbox, "lead_activity_posted", DEMOS)
    assert [(e["ActivityNote"], e["mx_Custom_1"]) for e in events] == [
        (f"demo {n}", "Interested") for n in range(3)]


def test_lead_activity_webhook_fields(client: LeadSquaredClient, manifest: Manifest) -> None:
    module = manifest.trigger("lead_activity_posted").handler_module()
    fields = module.webhook(client, {"activity_type": "deal won"})
    assert fields == {"WebhookEvent": "2", "ActivityEvent": "202", "WebhookProperties": json.dumps(
        {"ActivityEvent": "202", "ActivityData": "[]", "WebPageNames": "[]"})}
    assert module.event_codes({"activity_type": 202, "webhook_event_code": 9}) == ("9",)
    with pytest.raises(InputValidationError, match="'Demo' is not a lead activity type"):
        module.webhook(client, {"activity_type": "Demo"})


# -- samples and webhook fields -------------------------------------------------------------------


@pytest.mark.parametrize("key", INSTANT)
def test_sample_gives_recent_real_records_in_the_output_shape(
    client: LeadSquaredClient, manifest: Manifest, key: str,
) -> None:
    trigger = manifest.trigger(key)
    events = trigger.handler_module().sample(client, dict(trigger.sample_input), 3)
    assert 1 <= len(events) <= 3
    for event in events:
        assert trigger.output_problems(event) == []


def test_lead_samples_are_newest_first(client: LeadSquaredClient, manifest: Manifest) -> None:
    created = create_lead(client, "newest@example.com", FirstName="Newest")
    module = manifest.trigger("new_lead").handler_module()
    events = module.sample(client, {}, 5)
    assert events[0]["lead_id"] == created
    assert [e["CreatedOn"] for e in events] == sorted((e["CreatedOn"] for e in events),
                                                      reverse=True)


def test_opportunity_samples_have_the_configured_type_only(
    client: LeadSquaredClient, manifest: Manifest,
) -> None:
    capture(client, SEED_LEAD, 12001, "Renewal only")
    module = manifest.trigger("new_opportunity").handler_module()
    renewals = module.sample(client, {"opportunity_type": 12001}, 5)
    assert [e["OpportunityName"] for e in renewals] == ["Renewal only"]
    assert {e["OpportunityEventCode"] for e in renewals} == {12001}


@pytest.mark.parametrize(("key", "code"), [("new_lead", "3"), ("lead_updated", "6"),
                                           ("new_task", "7"), ("task_updated", "17")])
def test_documented_event_codes(client: LeadSquaredClient, manifest: Manifest, key: str,
                                code: str) -> None:
    assert manifest.trigger(key).handler_module().webhook(client, {}) == {"WebhookEvent": code}


def test_opportunity_webhook_fields(client: LeadSquaredClient, manifest: Manifest) -> None:
    module = manifest.trigger("opportunity_updated").handler_module()
    fields = module.webhook(client, {"opportunity_type": 12001})
    assert fields["OpportunityEvents"] == ["12001"]
    assert json.loads(fields["WebhookProperties"]) == {"OpportunityEvents": ["12001"],
                                                       "IsAsyncEnable": False}
    assert module.event_codes({"opportunity_type": 12001}) == ("30", "32")
    assert module.event_codes({"opportunity_type": 12001, "webhook_event_code": 44}) == ("44",)
    with pytest.raises(InputValidationError, match="12077 is not an opportunity type"):
        module.webhook(client, {"opportunity_type": 12077})


# -- manifest rules for instant modules -----------------------------------------------------------

INSTANT_ENTRY = {
    "key": "new_lead", "display_name": "New Lead (Instant)", "group": "Leads", "kind": "instant",
    "handler": "triggers.new_lead", "dedupe_key": "ProspectID",
    "description": "Fires on LeadSquared's lead-create webhook (Webhook.svc/Create). "
    "Docs: https://apidocs.leadsquared.com/create-webhook/",
    "endpoint": "POST Webhook.svc/Create", "sample_input": {},
    "sample_output": {"ProspectID": SEED_LEAD},
}
WHERE = "triggers.new_lead.handler: triggers.new_lead"


@pytest.mark.parametrize(("source", "expected"), [
    (NEW_LEAD_HANDLER, []),
    (NEW_LEAD_HANDLER.replace("def sample(client, config, limit)", "def sample(client, limit)"),
     [f"{WHERE}.sample(client, limit) must be sample(client, config, limit)"]),
    (NEW_LEAD_HANDLER.replace("def webhook(", "def _webhook("),
     [f"{WHERE} must define webhook(client, config)"]),
    (NEW_LEAD_HANDLER + "\ndef event_codes(config):\n    return ('29', '31')\n",
     [f"{WHERE} defines event_codes(config) but no WEBHOOK_EVENT_NAME (the Webhook.svc/Retrieve "
      "EventCode name that verifies a code)"]),
    (NEW_LEAD_HANDLER + "\nWEBHOOK_EVENT_NAME = 'Opportunity_Post_Create'\n",
     [f"{WHERE} defines WEBHOOK_EVENT_NAME but not event_codes(config)"]),
    (NEW_LEAD_HANDLER + "\nWEBHOOK_EVENT_NAME = 'X'\n"
     "def event_codes(config, extra):\n    return ()\n",
     [f"{WHERE}.event_codes(config, extra) must be event_codes(config)"]),
], ids=["complete", "sample-signature", "no-webhook", "codes-without-name", "name-without-codes",
        "codes-signature"])
def test_instant_module_rules(tmp_path: Path, source: str, expected: list[str]) -> None:
    connector = TmpConnector(tmp_path).add_trigger(
        dict(INSTANT_ENTRY), config_schema={"type": "object"},
        output_schema={"$ref": "../common/lead.json"}, handler=source,
    )
    assert checks.handlers_importable(read_manifest(connector.root)) == expected


def test_the_real_instant_modules_pass_the_rules(manifest: Manifest) -> None:
    assert [p for p in checks.handlers_importable(manifest) if "instant" in p] == []
    assert {op.key for op in manifest.triggers if op.kind == "instant"} == set(INSTANT)
