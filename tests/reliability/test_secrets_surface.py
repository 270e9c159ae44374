"""Secrets never surface: the whole CLI, with known keys and a known webhook secret, at DEBUG.

A sandbox is seeded with a tenant whose keys are distinctive values; a connection file holds
them (and another holds a wrong secret key, for the failure paths). Every command runs in
text and ``--json`` form with ``--log-level DEBUG`` and a log file handler. Then every place
the connector writes is searched for each secret in raw, URL-encoded and JSON-escaped form:
stdout, stderr, log records, the log file, the run history DB, the state DB and every page of
the run-history page.

The state DB legitimately stores each subscription's webhook secret (the receiver verifies
deliveries with it): the ``subscriptions.secret`` column is the one allowed place, and it is
checked to be the only one. API keys are never stored anywhere.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import yaml

from runtime.engine.receiver import WebhookReceiver
from runtime.sandbox import SandboxApp, start_sandbox
from runtime.sandbox.seed import default_seed
from runtime.store.state import StateStore
from tests.seed_ids import PRIYA
from tests.serving import serving

from .helpers import assert_contract, run_cli

ACCESS = 'u$rTOPSECRETACCESS+/"0123456789abcdef'
SECRET = "TOPSECRETSECRET\\key/+=0123456789abcd"
WRONG = "TOPSECRETWRONG&key=+/0123456789"
TENANT = "41872"


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def leaks(text: str, secrets: list[str]) -> list[str]:
    return sorted({form for secret in secrets for form in forms(secret) if form in text})


@pytest.fixture(scope="module")
def secret_sandbox() -> Iterator[str]:
    seed = default_seed()
    seed["tenants"][TENANT]["keys"][0].update(access_key=ACCESS, secret_key=SECRET)
    running = start_sandbox(SandboxApp(seed))
    try:
        yield running.base_url
    finally:
        running.stop()


@pytest.fixture
def world(cli_env: Path, secret_sandbox: str) -> Iterator[dict[str, Path]]:
    """Connection files, a live receiver on the state DB, a DEBUG log file."""
    good, bad = cli_env / "good.yaml", cli_env / "bad.yaml"
    for path, secret in ((good, SECRET), (bad, WRONG)):
        path.write_text(yaml.safe_dump({"access_key": ACCESS, "secret_key": secret,
                                        "api_host": secret_sandbox}), encoding="utf-8")
    log_file = cli_env / "debug.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    store = StateStore(cli_env / "state.sqlite3")
    try:
        with serving(WebhookReceiver(store)) as url:
            yield {"dir": cli_env, "good": good, "bad": bad, "log": log_file,
                   "receiver": Path(url)}
    finally:
        store.close()
        root.removeHandler(handler)
        handler.close()


def test_no_secret_anywhere_the_cli_writes(
    world: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = world["dir"]
    good, bad = str(world["good"]), str(world["bad"])
    receiver = str(world["receiver"]).replace("http:/", "http://", 1)
    event = base / "event.json"
    event.write_text(json.dumps({
        "lead_id": PRIYA, "ProspectID": PRIYA, "FirstName": "Priya",
        "EmailAddress": "priya.sharma@example.com", "CreatedOn": "2025-03-01 09:00:00.000",
        "ModifiedOn": "2025-03-01 09:00:00.000"}), encoding="utf-8")
    workflow = base / "flow.yaml"
    workflow.write_text(yaml.safe_dump({
        "name": "secret flow", "trigger": {"key": "new_lead"},
        "steps": [{"id": "find", "action": "find_lead",
                   "input": {"lead_id": "{{ trigger.lead_id }}"}},
                  {"id": "note", "action": "update_lead", "on_error": "continue",
                   "input": {"lead_id": "{{ trigger.lead_id }}", "fields": {"mx_Nope": "x"}}}],
    }), encoding="utf-8")
    (base / "create.json").write_text(json.dumps(
        {"fields": {"FirstName": "Zed", "EmailAddress": "zed@example.com"}}), encoding="utf-8")
    secrets = [ACCESS, SECRET, WRONG]

    commands: list[list[str]] = [
        ["validate"], ["validate", str(workflow)],
        ["auth", "test", "--connection", good], ["auth", "test", "--connection", bad],
        ["fields", "lead", "--connection", good], ["fields", "lead", "--connection", bad],
        ["invoke", "action", "find_lead", "-i", json.dumps({"lead_id": PRIYA}),
         "--connection", good],
        ["invoke", "action", "create_lead", "-i", "@" + str(base / "create.json"),
         "--connection", good],
        ["invoke", "action", "create_lead", "-i", "@" + str(base / "create.json"),
         "--connection", good],  # duplicate: an MX error
        ["invoke", "action", "find_lead", "-i", json.dumps({"lead_id": PRIYA}),
         "--connection", bad],
        ["invoke", "action", "update_lead", "-i",
         json.dumps({"lead_id": PRIYA, "fields": {"mx_Unknown": SECRET}}), "--connection", good],
        ["invoke", "action", "api_call", "-i", json.dumps(
            {"path": "Authentication.svc/UserByAccessKey.Get"}), "--connection", good],
        ["invoke", "action", "api_call", "-i", json.dumps(
            {"path": "LeadManagement.svc/Leads.GetById", "query": {"accessKey": SECRET}}),
         "--connection", good],  # refused: keys travel in headers
        ["invoke", "action", "api_call", "-i", json.dumps(
            {"path": "LeadManagement.svc/Nothing.Here", "method": "POST", "body": {"k": SECRET}}),
         "--connection", good],  # 404
        ["invoke", "action", "api_call", "-i", json.dumps(
            {"path": "UserManagement.svc/Users.Get"}), "--connection", bad],
        ["invoke", "trigger", "new_lead", "--connection", good],
        ["invoke", "trigger", "new_account", "--connection", good],
        ["invoke", "trigger", "new_lead", "--connection", bad],
        ["hooks", "subscribe", "new_lead", "--receiver-url", receiver, "--connection", good],
        ["hooks", "list", "--connection", good], ["hooks", "list", "--connection", bad],
        ["hooks", "reconcile", "--receiver-url", receiver, "--connection", good],
        ["state", "show"],
        ["run", str(workflow), "--event", str(event), "--connection", good],
        ["run", str(workflow), "--event", str(event), "--connection", bad],
        ["runs", "list"], ["runs", "show", "1"], ["runs", "show", "2"],
        ["docs", "--out", str(base / "docs")],
    ]
    outputs: list[str] = []
    for argv in commands:
        for variant in ([], ["--json"]):
            if variant and argv[0] in {"docs"}:
                continue
            result = run_cli(["--log-level", "DEBUG", *argv, *variant])
            assert_contract(result)
            outputs += [result.out, result.err]
    # The subscription secret is known now: replay, show and reset must not echo it either.
    with StateStore(base / "state.sqlite3") as store:
        subscriptions = store.list_subscriptions()
        assert subscriptions, "hooks subscribe stored nothing"
        hook_secrets = [store.get_subscription(s.instance_id).secret for s in subscriptions]
        instance = subscriptions[0].instance_id
    secrets += hook_secrets
    outputs += page_texts(base)  # the run-history page, while the subscription exists
    delivery = base / "delivery.json"
    delivery.write_text(json.dumps({"ProspectID": PRIYA, "FirstName": "Priya"}), encoding="utf-8")
    for argv in (
        ["webhook", "replay", str(delivery), "--to", f"{receiver}/hooks/{instance}"],
        ["state", "show"], ["state", "show", "--instance", instance],
        ["hooks", "list", "--connection", good],
        ["state", "reset", "--instance", instance],
        ["hooks", "unsubscribe", "new_lead", "--connection", good],
    ):
        for variant in ([], ["--json"]):
            result = run_cli(["--log-level", "DEBUG", *argv, *variant])
            assert_contract(result)
            outputs += [result.out, result.err]

    found = {}
    for label, text in (
        ("stdout/stderr", "\n".join(outputs)),
        ("log records", "\n".join(
            f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)),
        ("log file", world["log"].read_text(encoding="utf-8")),
        ("history DB", dump_db(base / "history.sqlite3")),
        ("state DB (outside subscriptions.secret)",
         dump_db(base / "state.sqlite3", skip=("subscriptions", "secret"))),
        ("state DB keys", dump_db(base / "state.sqlite3")),
    ):
        checked = [ACCESS, SECRET, WRONG] if label == "state DB keys" else secrets
        if leaked := leaks(text, checked):
            found[label] = len(leaked)
    assert not found, f"secret forms leaked: {found}"
    assert "DEBUG" in world["log"].read_text(encoding="utf-8"), "DEBUG logging was not on"
    assert (base / "history.sqlite3").stat().st_size > 0


def page_texts(base: Path) -> list[str]:
    """Every page of the run-history page over these stores: runs, each run, triggers."""
    from werkzeug.test import Client

    from runtime.store.history import HistoryStore
    from runtime.ui.app import RunHistoryPage

    with HistoryStore(base / "history.sqlite3") as history, \
            StateStore(base / "state.sqlite3") as state:
        client = Client(RunHistoryPage(history, state, retry=lambda *_: 1))
        runs = history.list_runs(limit=50)
        assert runs, "no runs to show"
        paths = ["/", "/triggers", *(f"/runs/{run['id']}" for run in runs)]
        return [client.get(path).text for path in paths]


def dump_db(path: Path, skip: tuple[str, str] | None = None) -> str:
    """Every value of every table (as text), leaving out one ``(table, column)`` if asked."""
    if not path.exists():
        return ""
    parts = []
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')  # table names come from the DB
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if skip == (table, column):
                        continue
                    parts.append(value.decode("utf-8", "replace") if isinstance(value, bytes)
                                 else str(value))
    return "\n".join(parts)
