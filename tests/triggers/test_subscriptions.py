"""Webhook subscriptions through Webhook.svc on the sandbox: idempotent subscribe,
unsubscribe, opportunity event codes verified by read-back, list, reconcile."""

from __future__ import annotations

import json

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.engine.receiver import SECRET_HEADER, hook_path
from runtime.engine.subscriptions import (
    MARKER,
    Subscriptions,
    check_base_url,
    ensure_subscription,
)
from runtime.engine.trigger_instance import legacy_instance_id
from runtime.errors import ConfigurationError, InputValidationError
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_API_HOST, RunningSandbox
from runtime.store.state import StateStore, Subscription
from triggers import _webhooks

from .webhook_fixtures import calls, set_webhook_status, tenant_webhooks

pytest_plugins = ["tests.triggers.webhook_fixtures"]

BASE = "https://hooks.example.com"
OTHER_BASE = "https://other-deployment.example.com"
OPPORTUNITY = {"opportunity_type": 12000}


def create_calls(sandbox: RunningSandbox) -> list[dict]:
    return calls(sandbox, "Webhook.svc/Create")


def make_foreign_hook(client: LeadSquaredClient, url: str, description: str) -> str:
    """A webhook created by someone else (or by a crashed subscribe)."""
    answer = client.post("Webhook.svc/Create", {
        "Description": description, "URL": url, "WebhookEvent": "3",
        "ContentType": "application/json",
    }, creates=True)
    return answer["Message"]["Id"]


# -- subscribe ------------------------------------------------------------------------------------


def test_subscribe_creates_one_webhook_with_our_url_marker_and_secret(
    sandbox: RunningSandbox, subs: Subscriptions, store: StateStore,
) -> None:
    result = subs.subscribe("new_lead", {}, BASE + "/")
    assert result.action == "created" and result.event_code == "3"
    assert result.receiver_url == BASE + hook_path(result.instance_id)
    [hook] = tenant_webhooks(sandbox).values()
    stored = store.get_subscription(result.instance_id)
    assert stored is not None and stored.webhook_id == hook["WebhookId"] == result.webhook_id
    assert hook["URL"] == result.receiver_url
    assert hook["Description"].startswith(f"{MARKER}:{result.instance_id} ")
    assert hook["CustomHeaders"] == [{"Key": SECRET_HEADER, "Value": stored.secret}]
    assert (hook["WebhookEvent"], hook["ContentType"], hook["Method"]) == (
        3, "application/json", "POST")
    assert len(stored.secret) >= 32
    # The request log masks the secret; nothing we return or print holds it.
    [logged] = create_calls(sandbox)
    assert stored.secret not in json.dumps(logged)
    assert stored.secret not in json.dumps(result.to_dict()) + repr(stored)


def test_subscribing_twice_creates_one_webhook(
    sandbox: RunningSandbox, subs: Subscriptions, store: StateStore,
) -> None:
    first = subs.subscribe("new_task", {}, BASE)
    secret = store.get_subscription(first.instance_id).secret
    second = subs.subscribe("new_task", {}, BASE)
    assert second.action == "exists" and second.webhook_id == first.webhook_id
    assert len(tenant_webhooks(sandbox)) == 1 and len(create_calls(sandbox)) == 1
    assert store.get_subscription(first.instance_id).secret == secret


def test_a_new_receiver_url_replaces_the_webhook(
    sandbox: RunningSandbox, subs: Subscriptions,
) -> None:
    first = subs.subscribe("new_lead", {}, BASE)
    moved = subs.subscribe("new_lead", {}, OTHER_BASE)
    assert moved.action == "replaced" and moved.removed == (first.webhook_id,)
    [hook] = tenant_webhooks(sandbox).values()
    assert hook["URL"] == OTHER_BASE + hook_path(first.instance_id)


def test_a_lost_state_store_does_not_duplicate_the_webhook(
    sandbox: RunningSandbox, client: LeadSquaredClient, manifest: Manifest, tmp_path,
) -> None:
    with StateStore(tmp_path / "a.sqlite3") as first_store:
        first = Subscriptions(client, first_store, manifest).subscribe("new_lead", {}, BASE)
    with StateStore(tmp_path / "b.sqlite3") as fresh_store:  # the secret is gone
        again = Subscriptions(client, fresh_store, manifest).subscribe("new_lead", {}, BASE)
        assert again.action == "replaced" and again.removed == (first.webhook_id,)
        assert list(tenant_webhooks(sandbox)) == [again.webhook_id]
        assert fresh_store.get_subscription(again.instance_id).webhook_id == again.webhook_id


def test_a_subscription_under_a_former_instance_id_is_moved_and_its_webhook_replaced(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, store: StateStore,
) -> None:
    # A state file written when instance ids were keyed by (host, access key hash).
    legacy = legacy_instance_id("new_lead", {}, api_host=DEFAULT_API_HOST,
                                access_key=DEFAULT_ACCESS_KEY)
    old_url = BASE + hook_path(legacy)
    old_hook = make_foreign_hook(client, old_url, f"{MARKER}:{legacy} new_lead")
    store.save_subscription(Subscription(legacy, old_hook, "old-secret", old_url, "3"))
    moved = subs.subscribe("new_lead", {}, BASE)
    assert moved.instance_id != legacy and store.get_subscription(legacy) is None
    assert moved.action == "replaced" and moved.removed == (old_hook,)
    assert list(tenant_webhooks(sandbox)) == [moved.webhook_id]  # no orphan left behind
    assert store.get_subscription(moved.instance_id).receiver_url == BASE + hook_path(
        moved.instance_id)


def test_a_webhook_disabled_after_failures_is_recreated_by_subscribe(
    sandbox: RunningSandbox, subs: Subscriptions,
) -> None:
    first = subs.subscribe("lead_updated", {}, BASE)
    set_webhook_status(sandbox, first.webhook_id, 2)
    again = subs.subscribe("lead_updated", {}, BASE)
    assert again.action == "replaced" and again.webhook_id != first.webhook_id
    assert [h["StatusCode"] for h in tenant_webhooks(sandbox).values()] == [0]


def test_a_webhook_disabled_by_hand_is_not_overridden(
    sandbox: RunningSandbox, subs: Subscriptions,
) -> None:
    first = subs.subscribe("new_lead", {}, BASE)
    set_webhook_status(sandbox, first.webhook_id, 1)
    with pytest.raises(ConfigurationError, match="disabled by hand"):
        subs.subscribe("new_lead", {}, BASE)
    assert list(tenant_webhooks(sandbox)) == [first.webhook_id]


@pytest.mark.parametrize("url", ["hooks.example.com", "ftp://x.example", f"{BASE}?token=1", ""])
def test_receiver_base_url_must_be_plain_http(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not a receiver base URL"):
        check_base_url(url)


def test_only_instant_triggers_and_valid_configs_subscribe(subs: Subscriptions) -> None:
    with pytest.raises(ConfigurationError, match="unknown trigger 'new_leed'"):
        subs.subscribe("new_leed", {}, BASE)
    with pytest.raises(InputValidationError, match="opportunity_type"):
        subs.subscribe("new_opportunity", {}, BASE)
    with pytest.raises(InputValidationError, match="12077 is not an opportunity type"):
        subs.subscribe("new_opportunity", {"opportunity_type": 12077}, BASE)


# -- opportunity event codes ----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "code", "name"), [
    ("new_opportunity", "29", "Opportunity_Post_Create"),
    ("opportunity_updated", "30", "Opportunity_Post_Update"),
])
def test_opportunity_webhooks_are_verified_by_the_read_back_name(
    sandbox: RunningSandbox, subs: Subscriptions, key: str, code: str, name: str,
) -> None:
    result = subs.subscribe(key, OPPORTUNITY, BASE)
    assert result.event_code == code
    [hook] = tenant_webhooks(sandbox).values()
    assert (hook["EventCode"], hook["OpportunityEvents"]) == (name, ["12000"])
    [body] = [entry["body"] for entry in create_calls(sandbox)]
    assert body["OpportunityEvents"] == ["12000"]
    assert json.loads(body["WebhookProperties"]) == {"OpportunityEvents": ["12000"],
                                                     "IsAsyncEnable": False}


def test_a_candidate_code_that_reads_back_wrong_is_deleted_and_the_next_tried(
    sandbox: RunningSandbox, subs: Subscriptions, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on a tenant following the docs' numbering: 31 is stored as another event here.
    monkeypatch.setattr(_webhooks, "OPPORTUNITY_CREATE_CODES", ("31", "29"))
    result = subs.subscribe("new_opportunity", OPPORTUNITY, BASE)
    assert result.event_code == "29"
    assert [e["body"]["WebhookEvent"] for e in create_calls(sandbox)] == ["31", "29"]
    assert len(calls(sandbox, "Webhook.svc/Delete")) == 1
    [hook] = tenant_webhooks(sandbox).values()
    assert hook["EventCode"] == "Opportunity_Post_Create"


def test_a_code_that_worked_before_is_tried_first(
    sandbox: RunningSandbox, subs: Subscriptions, monkeypatch: pytest.MonkeyPatch,
) -> None:
    subs.subscribe("new_opportunity", OPPORTUNITY, BASE)
    monkeypatch.setattr(_webhooks, "OPPORTUNITY_CREATE_CODES", ("31", "29"))
    subs.subscribe("new_opportunity", {"opportunity_type": 12001}, BASE)
    assert [e["body"]["WebhookEvent"] for e in create_calls(sandbox)] == ["29", "29"]


def test_a_configured_code_that_is_not_the_event_fails_cleanly(
    sandbox: RunningSandbox, subs: Subscriptions,
) -> None:
    config = {**OPPORTUNITY, "webhook_event_code": 31}
    with pytest.raises(ConfigurationError, match=r"no WebhookEvent code is "
                       r"Opportunity_Post_Create.*31: stored as Opportunity_Post_Delete"):
        subs.subscribe("new_opportunity", config, BASE)
    assert tenant_webhooks(sandbox) == {}
    assert subs.store.list_subscriptions() == []


def test_a_configured_code_that_is_right_is_used(subs: Subscriptions) -> None:
    result = subs.subscribe("opportunity_updated", {**OPPORTUNITY, "webhook_event_code": 30},
                            BASE)
    assert result.event_code == "30"


# -- unsubscribe and list -------------------------------------------------------------------------


def test_unsubscribe_deletes_the_webhook_and_forgets_it(
    sandbox: RunningSandbox, subs: Subscriptions, store: StateStore,
) -> None:
    result = subs.subscribe("new_opportunity", OPPORTUNITY, BASE)
    gone = subs.unsubscribe("new_opportunity", OPPORTUNITY)
    assert gone.deleted == (result.webhook_id,) and gone.forgotten
    assert tenant_webhooks(sandbox) == {} and store.get_subscription(result.instance_id) is None
    again = subs.unsubscribe(instance=result.instance_id)
    assert again.deleted == () and not again.forgotten


def test_list_shows_ours_with_status_and_never_a_secret(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, store: StateStore,
) -> None:
    lead = subs.subscribe("new_lead", {}, BASE)
    task = subs.subscribe("task_updated", {}, BASE)
    set_webhook_status(sandbox, task.webhook_id, 2)
    make_foreign_hook(client, "https://crm-tools.example.com/in", "someone else's")
    rows = {row["trigger"]: row for row in subs.listing()}
    assert set(rows) == {"new_lead", "task_updated"}
    assert rows["new_lead"]["status"] == "enabled"
    assert rows["new_lead"]["event"] == "Lead_Post_Create"
    assert rows["task_updated"]["status"] == "disabled after failures"
    secrets = [store.get_subscription(r.instance_id).secret for r in (lead, task)]
    assert not any(secret in json.dumps(rows) for secret in secrets)


# -- reconcile ------------------------------------------------------------------------------------


def test_reconcile_removes_an_orphan_of_ours_only(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions,
) -> None:
    kept = subs.subscribe("new_lead", {}, BASE)
    orphan_instance = "new_task-0123456789abcdef0123"
    orphan = make_foreign_hook(client, BASE + hook_path(orphan_instance),
                               f"{MARKER}:{orphan_instance} new_task")
    foreign = make_foreign_hook(client, BASE + "/elsewhere", "not ours")
    elsewhere = make_foreign_hook(client, OTHER_BASE + hook_path(orphan_instance),
                                  f"{MARKER}:{orphan_instance} new_task")
    report = subs.reconcile()
    assert [entry["webhook_id"] for entry in report.removed] == [orphan]
    assert report.healthy == [kept.instance_id]
    assert [entry["webhook_id"] for entry in report.left] == [elsewhere]
    assert set(tenant_webhooks(sandbox)) == {kept.webhook_id, foreign, elsewhere}
    # Naming the other receiver (or any) removes its orphan too.
    report = subs.reconcile([OTHER_BASE])
    assert [entry["webhook_id"] for entry in report.removed] == [elsewhere]
    assert set(tenant_webhooks(sandbox)) == {kept.webhook_id, foreign}


def test_reconcile_recreates_missing_and_failed_webhooks(
    sandbox: RunningSandbox, client: LeadSquaredClient, subs: Subscriptions, store: StateStore,
) -> None:
    deleted = subs.subscribe("new_lead", {}, BASE)
    failed = subs.subscribe("new_opportunity", OPPORTUNITY, BASE)
    by_hand = subs.subscribe("new_task", {}, BASE)
    client.get("Webhook.svc/Delete", {"webhookId": deleted.webhook_id})
    set_webhook_status(sandbox, failed.webhook_id, 2)
    set_webhook_status(sandbox, by_hand.webhook_id, 1)

    report = subs.reconcile()
    recreated = {entry["instance_id"]: entry["reason"] for entry in report.recreated}
    assert recreated == {deleted.instance_id: "missing in LeadSquared",
                         failed.instance_id: "disabled after failures"}
    assert report.left == [{"instance_id": by_hand.instance_id,
                            "webhook_id": by_hand.webhook_id,
                            "reason": "disabled by hand in LeadSquared"}]
    hooks = tenant_webhooks(sandbox)
    assert len(hooks) == 3 and failed.webhook_id not in hooks
    for result in (deleted, failed):
        row = store.get_subscription(result.instance_id)
        assert row.webhook_id in hooks and hooks[row.webhook_id]["StatusCode"] == 0
        assert row.receiver_url == result.receiver_url
    assert hooks[store.get_subscription(failed.instance_id).webhook_id]["OpportunityEvents"] == [
        "12000"]
    assert subs.reconcile().recreated == []  # now all healthy


def test_reconcile_leaves_rows_whose_config_it_does_not_know(
    sandbox: RunningSandbox, subs: Subscriptions, store: StateStore,
) -> None:
    result = subs.subscribe("new_lead", {}, BASE)
    store.save_subscription(Subscription("new_task-00000000000000000000", result.webhook_id,
                                         "s3cret-00000000000000000000000", BASE + "/x", "7"))
    subs.client.get("Webhook.svc/Delete", {"webhookId": result.webhook_id})
    report = subs.reconcile()
    assert [e["instance_id"] for e in report.recreated] == [result.instance_id]
    assert report.left == []  # the unknown row (another account's, maybe) is not touched
    assert store.get_subscription("new_task-00000000000000000000") is not None


def test_ensure_subscription_is_what_lsq_serve_calls(
    sandbox: RunningSandbox, client: LeadSquaredClient, store: StateStore, manifest: Manifest,
) -> None:
    subs = Subscriptions(client, store, manifest)
    instance = subs.instance("new_lead", {})
    module = manifest.trigger("new_lead").handler_module()
    url = BASE + hook_path(instance)
    first = ensure_subscription(client, store, instance, module, {}, url, manifest=manifest)
    second = ensure_subscription(client, store, instance, module, {}, url, manifest=manifest)
    assert (first.action, second.action) == ("created", "exists")
    assert len(tenant_webhooks(sandbox)) == 1
    assert subs.reconcile().healthy == [instance]  # and reconcile knows its config
