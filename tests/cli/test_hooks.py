"""``lsq hooks subscribe|unsubscribe|list|reconcile``, ``lsq webhook replay`` and
``lsq invoke trigger`` for the instant triggers, in-process against the session sandbox."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from runtime.cli import main
from runtime.engine.receiver import WebhookReceiver, hook_path
from runtime.engine.subscriptions import MARKER, instant_event_keys
from runtime.plugin.manifest import load_manifest
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from tests.serving import serving

BASE = "https://hooks.example.com"
LEAD = {"ProspectID": "5b0a1e2c-7d3f-4c8e-a1b2-000000000201", "FirstName": "Priya",
        "ModifiedOn": "2025-03-01 09:00:00.000"}
INSTANT = ("new_lead", "lead_updated", "new_task", "task_updated", "new_opportunity",
           "opportunity_updated")


@pytest.fixture
def lsq(state: str, connection_file: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """``lsq(*argv)`` -> (exit code, stdout, stderr), with --state and --connection added."""

    def run(*argv: str, connection: bool = True) -> tuple[int, str, str]:
        extra = ["--state", state] + (["--connection", connection_file] if connection else [])
        code = main([*argv, *extra])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def receiver(state: str) -> Iterator[str]:
    with StateStore(state) as store:
        app = WebhookReceiver(store, event_keys=instant_event_keys(load_manifest()))
        with serving(app) as url:
            yield url


def webhooks(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    with sandbox.app.state.lock:
        return {k: dict(v) for k, v in sandbox.app.state.tenants["41872"].webhooks.items()}


def secrets_of(state: str) -> list[str]:
    with StateStore(state) as store:
        return [row.secret for row in store.list_subscriptions()]


# -- hooks ----------------------------------------------------------------------------------------


def test_subscribe_twice_then_list_then_unsubscribe(
    lsq: Any, sandbox: RunningSandbox, state: str,
) -> None:
    code, out, _ = lsq("hooks", "subscribe", "new_lead", "--receiver-url", BASE)
    assert code == 0 and out.startswith("subscribed: new_lead [new_lead-")
    code, out, _ = lsq("hooks", "subscribe", "new_lead", "--receiver-url", BASE, "--json")
    result = json.loads(out)
    assert code == 0 and result["action"] == "exists"
    assert list(webhooks(sandbox)) == [result["webhook_id"]]

    code, out, _ = lsq("hooks", "list", "--json")
    [row] = json.loads(out)
    assert (row["trigger"], row["status"], row["event"]) == ("new_lead", "enabled",
                                                             "Lead_Post_Create")
    assert row["receiver_url"] == BASE + hook_path(result["instance_id"])
    assert "secret" not in row
    code, out, _ = lsq("hooks", "list")
    header, line = out.splitlines()  # a table, as lsq runs list and lsq fields lead print
    assert code == 0 and header.split() == ["INSTANCE", "STATUS", "WEBHOOK", "EVENT", "RECEIVER"]
    assert line.split()[1:4] == ["enabled", result["webhook_id"], "Lead_Post_Create"]
    [secret] = secrets_of(state)

    code, out, _ = lsq("hooks", "unsubscribe", "new_lead")
    assert code == 0 and f"deleted webhook(s) {result['webhook_id']}; forgotten" in out
    assert webhooks(sandbox) == {} and secrets_of(state) == []
    code, out, _ = lsq("hooks", "list")
    assert out == "no webhooks of ours in this account\n"
    assert secret not in out


def test_subscribe_an_opportunity_trigger_with_its_config(
    lsq: Any, sandbox: RunningSandbox,
) -> None:
    code, out, _ = lsq("hooks", "subscribe", "opportunity_updated", "-c",
                       '{"opportunity_type": 12001}', "--receiver-url", BASE, "--json")
    assert code == 0 and json.loads(out)["event_code"] == "30"
    [hook] = webhooks(sandbox).values()
    assert (hook["EventCode"], hook["OpportunityEvents"]) == ("Opportunity_Post_Update", ["12001"])


def test_subscribe_a_workflow_file(lsq: Any, sandbox: RunningSandbox, tmp_path: Path) -> None:
    flow = tmp_path / "follow_up.yaml"
    flow.write_text(
        "name: follow_up\n"
        "trigger: {key: new_opportunity, config: {opportunity_type: 12000}}\n"
        "steps:\n"
        "  - id: find\n"
        "    action: find_lead\n"
        "    input: {lead_id: \"{{ trigger.lead_id }}\"}\n"
    )
    code, out, err = lsq("hooks", "subscribe", str(flow), "--receiver-url", BASE, "--json")
    assert code == 0, err
    assert json.loads(out)["trigger"] == "new_opportunity"
    assert [h["OpportunityEvents"] for h in webhooks(sandbox).values()] == [["12000"]]


def test_reconcile_removes_an_orphan_from_the_command_line(
    lsq: Any, sandbox: RunningSandbox, raw_api: Any,
) -> None:
    instance = "new_lead-0123456789abcdef0123"
    raw_api.post("Webhook.svc/Create", {
        "Description": f"{MARKER}:{instance} new_lead", "URL": BASE + hook_path(instance),
        "WebhookEvent": "3",
    })
    code, out, _ = lsq("hooks", "reconcile", "--receiver-url", BASE)
    assert code == 0
    assert "removed orphan webhook" in out and instance in out
    assert out.rstrip().endswith("0 healthy, 0 re-created, 1 orphan(s) removed, 0 need attention")
    assert webhooks(sandbox) == {}


@pytest.mark.parametrize(("argv", "message"), [
    (("hooks", "unsubscribe"), "give a trigger key or workflow file, or --instance ID"),
    (("hooks", "subscribe", "new_lead"), "the following arguments are required: --receiver-url"),
    (("hooks", "subscribe", "new_lead", "-c", "[1]", "--receiver-url", BASE),
     "the input must be a JSON object"),
    (("hooks", "subscribe", "new_lead", "--receiver-url", "hooks.example.com"),
     "not a receiver base URL"),
], ids=["unsubscribe-nothing", "no-receiver-url", "config-not-object", "receiver-url-not-a-url"])
def test_usage_errors_exit_2(lsq: Any, argv: tuple[str, ...], message: str) -> None:
    code, _, err = lsq(*argv)
    assert code == 2 and message in err


def test_connector_errors_exit_1(lsq: Any) -> None:
    code, _, err = lsq("hooks", "subscribe", "new_account", "--receiver-url", BASE)
    assert code == 1
    assert err == "error: new_account is a polling trigger; only instant triggers use webhooks\n"


# -- webhook replay -------------------------------------------------------------------------------


def test_replay_posts_a_saved_body_with_the_secret(
    lsq: Any, receiver: str, state: str, tmp_path: Path,
) -> None:
    code, out, _ = lsq("hooks", "subscribe", "new_lead", "--receiver-url", receiver, "--json")
    url = json.loads(out)["receiver_url"]
    body = tmp_path / "delivery.json"
    body.write_text(json.dumps(LEAD))
    for _ in range(2):  # replayed twice: stored once
        code, out, _ = lsq("webhook", "replay", str(body), "--to", url, connection=False)
        assert code == 0 and out == 'HTTP 200 {"Status": "Success"}\n'
    with StateStore(state) as store:
        [item] = Inbox(store).items()
        assert item.payload == LEAD and item.event_key == LEAD["ProspectID"]
        assert item.content_type == "application/json"
    assert not any(secret in out for secret in secrets_of(state))


def test_replay_of_a_form_body_guesses_its_content_type(
    lsq: Any, receiver: str, state: str, tmp_path: Path,
) -> None:
    _, out, _ = lsq("hooks", "subscribe", "new_lead", "--receiver-url", receiver, "--json")
    body = tmp_path / "delivery.txt"
    body.write_text(f"ProspectID={LEAD['ProspectID']}&FirstName=Priya")
    code, out, _ = lsq("webhook", "replay", str(body), "--to", json.loads(out)["receiver_url"],
                       "--json", connection=False)
    assert code == 0 and json.loads(out) == {"status": 200, "body": {"Status": "Success"},
                                             "ok": True}
    with StateStore(state) as store:
        [item] = Inbox(store).items()
        assert item.content_type == "application/x-www-form-urlencoded"
        assert item.payload == {"ProspectID": LEAD["ProspectID"], "FirstName": "Priya"}


def test_replay_needs_a_known_instance_url(lsq: Any, receiver: str, tmp_path: Path) -> None:
    body = tmp_path / "delivery.json"
    body.write_text(json.dumps(LEAD))
    code, _, err = lsq("webhook", "replay", str(body), "--to", receiver + "/somewhere",
                       connection=False)
    assert code == 1 and "is not a receiver URL" in err
    unknown = receiver + hook_path("new_lead-0123456789abcdef0123")
    code, _, err = lsq("webhook", "replay", str(body), "--to", unknown, connection=False)
    assert code == 1 and "no subscription for new_lead-0123456789abcdef0123" in err


def test_replay_never_sends_the_secret_to_another_host(
    lsq: Any, receiver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, out, _ = lsq("hooks", "subscribe", "new_lead", "--receiver-url", receiver, "--json")
    path = urlsplit(json.loads(out)["receiver_url"]).path
    body = tmp_path / "delivery.json"
    body.write_text(json.dumps(LEAD))
    sent: list[Any] = []
    monkeypatch.setattr("requests.post", lambda *a, **k: sent.append((a, k)))
    for elsewhere in (f"https://hooks.evil.example{path}", f"http://203.0.113.9:8080{path}"):
        code, _, err = lsq("webhook", "replay", str(body), "--to", elsewhere, connection=False)
        assert code == 1 and "neither this subscription's receiver nor on this machine" in err
    assert sent == []


# -- invoke trigger -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", INSTANT)
def test_invoke_trigger_with_its_sample_input(lsq: Any, key: str) -> None:
    trigger = load_manifest().trigger(key)
    code, out, err = lsq("invoke", "trigger", key, "-c", json.dumps(dict(trigger.sample_input)),
                         "--json")
    assert code == 0, err
    events = json.loads(out)
    events = events["events"] if isinstance(events, dict) else events
    assert events and all(trigger.output_problems(event) == [] for event in events)


def test_the_secret_never_reaches_output_or_logs(
    lsq: Any, state: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    printed = ""
    for argv in (("hooks", "subscribe", "new_task", "--receiver-url", BASE, "--json"),
                 ("hooks", "subscribe", "new_task", "--receiver-url", BASE),
                 ("hooks", "list", "--json"), ("hooks", "list"), ("hooks", "reconcile")):
        code, out, err = lsq(*argv)
        assert code == 0, err
        printed += out + err
    [secret] = secrets_of(state)
    assert secret not in printed and secret not in caplog.text
