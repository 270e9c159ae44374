"""Text that is not valid Unicode: lone UTF-16 surrogates (half an emoji) and invalid UTF-8.

What a person types (arguments, ``-i``/``-c`` JSON, keys) gets one clear line; data that
arrives (webhook payloads, API answers, event files) is stored faithfully, with the surrogate
kept as its JSON escape, and the run succeeds or fails with a classified error. A lead whose
name holds half an emoji used to fail at the run history's insert (``surrogates not allowed``)
and kill the worker; it now runs, is recorded, and prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from runtime.engine.receiver import SECRET_HEADER, WebhookReceiver, hook_path, receiver_url
from runtime.engine.service import WorkflowService
from runtime.errors import ConnectorError, MappingError
from runtime.plugin.manifest import load_manifest
from runtime.sandbox import RunningSandbox
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id
from runtime.text import find_lone_surrogate, json_text, storable_text
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.fakes import write_connection_file
from tests.seed_ids import ARJUN, KAVYA, NEHA, PRIYA, ROHAN

from .helpers import assert_contract, run_cli

HALF = "\ud83d"  # the first half of 😀 (U+1F600) without its second
UNDECODABLE = os.fsdecode(b"\xff")  # an argument byte that is not UTF-8: '\udcff'
ROOT = Path(__file__).parents[2]
WELCOME = ROOT / "examples" / "welcome_email.yaml"
HOOK_SECRET = "text-hook-secret-0123456789"
RENAME = """
name: rename
trigger: {key: new_lead}
steps:
  - id: rename
    action: update_lead
    input:
      lead_id: "{{ trigger.lead_id }}"
      fields: {FirstName: "{{ trigger.FirstName }}"}
"""


def lead_event(first_name: str, lead_id: str = PRIYA) -> dict[str, str]:
    return {"lead_id": lead_id, "ProspectID": lead_id, "FirstName": first_name,
            "EmailAddress": "priya.sharma@example.com",
            "CreatedOn": "2025-03-01 09:00:00.000", "ModifiedOn": "2025-03-01 09:00:00.000"}


@pytest.fixture
def connection(cli_env: Path, sandbox: RunningSandbox) -> str:
    return write_connection_file(cli_env / "acme.yaml", sandbox.base_url)


# ---------------------------------------------------------------- typed input: one clear line


@pytest.mark.parametrize("argv", [
    ["validate", f"flow{UNDECODABLE}.yaml"],
    ["invoke", "action", "find_lead", "-i", f'{{"email": "a{UNDECODABLE}@example.com"}}'],
    ["runs", "list", "--workflow", UNDECODABLE],
    ["state", "show", "--trigger", f"new_lead{UNDECODABLE}"],
    ["--log-level", f"INFO{UNDECODABLE}", "validate"],
], ids=["path", "inline-json", "option-value", "selector", "global-option"])
def test_an_argument_that_is_not_utf8_is_a_usage_error(cli_env: Path, argv: list[str]) -> None:
    result = run_cli(argv)
    assert_contract(result)
    assert result.code == 2
    shown = storable_text(next(arg for arg in argv if UNDECODABLE in arg))
    assert result.err.splitlines() == [f"lsq: argument {shown!r} is not valid UTF-8 text"]


@pytest.mark.parametrize(("argv", "where"), [
    (["invoke", "action", "update_lead", "-i",
      json.dumps({"lead_id": PRIYA, "fields": {"FirstName": HALF}})], "$.fields.FirstName"),
    (["invoke", "trigger", "new_account", "-c", json.dumps({"company_type": "x" + HALF})],
     "$.company_type"),
    (["invoke", "action", "find_lead", "-i", json.dumps({"email" + HALF: 1})], "$ (a key)"),
])
def test_typed_json_with_half_an_emoji_is_refused_before_any_request(
    cli_env: Path, argv: list[str], where: str
) -> None:
    assert "\\ud83d" in argv[-1]  # the JSON text holds the escape, as a person would type it
    result = run_cli(argv)
    assert_contract(result)
    assert result.code == 2
    assert f"holds half of a UTF-16 surrogate pair at {where}" in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("variable", ["LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"])
def test_keys_from_the_environment_must_be_text(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("LSQ_ACCESS_KEY", "u$rAccessKey0123456789")
    monkeypatch.setenv("LSQ_SECRET_KEY", "secretKey0123456789")
    monkeypatch.setenv(variable, f"key{UNDECODABLE}0123456789")
    result = run_cli(["auth", "test"])
    assert_contract(result)
    assert result.code == 1
    assert f"environment: {variable} is not valid text" in result.err


def test_a_connection_file_key_with_half_an_emoji_is_refused(cli_env: Path) -> None:
    path = cli_env / "conn.yaml"
    path.write_text('access_key: "u$rAccess0123456789"\nsecret_key: "s\\ud83d0123456789"\n',
                    encoding="utf-8")
    result = run_cli(["auth", "test", "--connection", str(path)])
    assert_contract(result)
    assert result.code == 1 and "secret_key is not valid text" in result.err


# ---------------------------------------------------------------- data: kept faithfully


def test_a_lead_named_with_half_an_emoji_runs_is_recorded_and_prints(
    cli_env: Path, connection: str, sandbox: RunningSandbox, raw_api: object,
) -> None:
    """The issue's case, end to end: LeadSquared answers a name with a lone surrogate."""
    created = raw_api.post("LeadManagement.svc/Lead.Create", [  # type: ignore[attr-defined]
        {"Attribute": "FirstName", "Value": HALF + " Asha"},
        {"Attribute": "EmailAddress", "Value": "asha.half@example.com"},
    ])
    assert created.status_code == 200, created.text
    ran = run_cli(["run", str(WELCOME), "--json", "--connection", connection])
    assert_contract(ran)
    assert ran.code == 0, ran.out + ran.err
    record = json.loads(ran.out)
    assert record["status"] == "succeeded"
    assert record["event"]["FirstName"] == HALF + " Asha"
    assert record["steps"][0]["input"]["subject"] == f"Welcome, {HALF} Asha!"
    shown = run_cli(["runs", "show", str(record["id"]), "--json"])
    assert_contract(shown)
    assert json.loads(shown.out)["event"]["FirstName"] == HALF + " Asha"  # faithful
    assert "\\ud83d Asha" in shown.out  # as its JSON escape: valid UTF-8 text
    text = run_cli(["runs", "show", str(record["id"])])
    assert text.code == 0 and "\\ud83d Asha" in text.out


def test_an_event_file_with_half_an_emoji_is_run_and_kept(cli_env: Path, connection: str) -> None:
    flow = cli_env / "rename.yaml"
    flow.write_text(RENAME, encoding="utf-8")
    event = cli_env / "event.json"
    event.write_text(json.dumps(lead_event(HALF + "Priya")), encoding="utf-8")  # ASCII escapes
    ran = run_cli(["run", str(flow), "--event", str(event), "--json", "--connection", connection])
    assert_contract(ran)
    assert ran.code == 0, ran.out + ran.err
    record = json.loads(ran.out)
    assert record["steps"][0]["input"]["fields"]["FirstName"] == HALF + "Priya"
    found = run_cli(["invoke", "action", "find_lead", "-i", json.dumps({"lead_id": PRIYA}),
                     "--json", "--connection", connection])
    assert json.loads(found.out)["lead"]["FirstName"] == HALF + "Priya"  # sent as "\ud83d"


def test_printing_to_a_real_utf8_pipe_never_raises(
    cli_env: Path, connection: str,
) -> None:
    """In a subprocess (stdout and stderr are strict UTF-8 pipes): output and DEBUG logs
    holding a lone surrogate print it as its escape."""
    flow = cli_env / "rename.yaml"
    flow.write_text(RENAME, encoding="utf-8")
    event = cli_env / "event.json"
    event.write_text(json.dumps(lead_event(HALF)), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LSQ_STATE_DB":
           str(cli_env / "state.sqlite3"), "LSQ_HISTORY_DB": str(cli_env / "history.sqlite3")}
    shown = b""
    commands = (["run", str(flow), "--event", str(event), "--connection", connection,
                 "--log-level", "DEBUG"], ["runs", "show", "1"], ["runs", "show", "1", "--json"])
    for argv in commands:
        done = subprocess.run([sys.executable, "-m", "runtime", *argv], env=env, cwd=ROOT,
                              capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()[-800:]
        for stream in (done.stdout, done.stderr):
            text = stream.decode("utf-8")  # valid UTF-8
            assert "Traceback" not in text and "Logging error" not in text
        shown += done.stdout
    # the event and the step's input, in text and in --json: each as its JSON escape
    assert shown.count(b'"FirstName": "\\ud83d"') == 4


def test_errors_quoting_half_an_emoji_are_valid_text() -> None:
    problem = MappingError(f"cannot use {HALF}", hint=f"fix {HALF}")
    assert str(problem) == "cannot use \\ud83d (fix \\ud83d)"
    str(problem).encode("utf-8")
    json.dumps(problem.to_dict(), ensure_ascii=False).encode("utf-8")
    assert isinstance(problem, ConnectorError)


@pytest.mark.parametrize("value", [HALF, {"a": [HALF, {"b" + HALF: 1}]}, "plain", ["é", "😀"],
                                   "nul\x00"])
def test_json_text_round_trips_and_is_valid_utf8(value: object) -> None:
    text = json_text(value)
    text.encode("utf-8")
    assert json.loads(text) == value
    assert "\x00" not in text
    assert (find_lone_surrogate(value) is None) == (text == json.dumps(value, ensure_ascii=False))


# ---------------------------------------------------------------- webhooks: stored, then run


INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, StateStore]]:
    with StateStore(tmp_path / "state.sqlite3") as store:
        store.save_subscription(Subscription(
            INSTANCE, "wh-1", HOOK_SECRET, receiver_url("https://h.example.com", INSTANCE), "1"))
        yield WebhookReceiver(store), store


@pytest.mark.parametrize(("body", "content_type", "answer", "stored"), [
    (b'{"ProspectID": "p1", "FirstName": "\\ud83d"}', "application/json",
     {"Status": "Success"}, {"ProspectID": "p1", "FirstName": HALF}),
    (b'{"ProspectID": "p\\ud83d", "FirstName": "x"}', "application/json",
     {"Status": "Success"}, {"ProspectID": "p" + HALF, "FirstName": "x"}),
    (b'{"ProspectID": "p\\u0000", "FirstName": "x"}', "application/json",
     {"Status": "Success"}, {"ProspectID": "p\x00", "FirstName": "x"}),  # NUL: PostgreSQL text
    (b"ProspectID=p2&FirstName=%ED%A0%BD", "application/x-www-form-urlencoded",
     {"Status": "Success"}, {"ProspectID": "p2", "FirstName": "\ufffd\ufffd\ufffd"}),
    (b"ProspectID=p3&FirstName=\xff\xfe", "application/x-www-form-urlencoded",
     {"Status": "Error", "StatusReason": "Body is not valid text in its charset"}, None),
    (b'{"ProspectID": "p4", "FirstName": "\xed\xa0\xbd"}', "application/json",
     {"Status": "Error", "StatusReason": "Body is not valid text in its charset"}, None),
], ids=["json-escape", "json-escape-in-the-key", "nul-in-the-key", "form-percent", "form-raw-bytes",
        "json-raw-surrogate-bytes"])
def test_webhook_payloads_are_stored_faithfully_or_kept_as_failed(
    receiver: tuple[WebhookReceiver, StateStore], body: bytes, content_type: str,
    answer: dict, stored: dict | None,
) -> None:
    app, store = receiver
    response = Client(app).post(hook_path(INSTANCE), data=body, content_type=content_type,
                                headers={SECRET_HEADER: HOOK_SECRET})
    assert response.status_code == 200
    assert response.get_json() == answer
    [item] = Inbox(store).items()
    if stored is None:
        assert item.status == "failed" and item.error == answer["StatusReason"]
    else:
        assert item.status == "pending" and item.payload == stored  # the very same text


def test_the_worker_runs_a_half_emoji_event_and_goes_on(
    tmp_path: Path, sandbox: RunningSandbox,
) -> None:
    """Through ``lsq serve``'s service: the poisoned-looking event runs (or fails classified),
    and the events after it run too."""
    connection = write_connection_file(tmp_path / "acme.yaml", sandbox.base_url)
    manifest = load_manifest()
    path = tmp_path / "rename.yaml"
    path.write_text(RENAME + f"connection: {connection}\n", encoding="utf-8")
    workflow = load_workflow(path, ManifestSchemas(manifest))
    urls: list[str] = []

    def subscriber(binding: object, url: str, state: StateStore) -> None:
        instance = url.rsplit("/", 1)[-1]
        state.save_subscription(Subscription(instance, "wh-1", HOOK_SECRET, url, "1"))
        urls.append(url)

    from runtime.api.client import LeadSquaredClient
    from runtime.api.connection import load_connection

    def client_for(path: str | None) -> LeadSquaredClient:
        loaded = load_connection(path or connection, {})
        assert loaded is not None
        return LeadSquaredClient(loaded)

    with StateStore(tmp_path / "state.sqlite3") as store, \
            HistoryStore(tmp_path / "history.sqlite3") as history, \
            ClientPool(client_for) as clients:
        runner = WorkflowRunner(manifest, clients, history)
        service = WorkflowService([workflow], runner, store, port=0, subscriber=subscriber,
                                  idle_wait=0.02)
        names = {PRIYA: HALF, ARJUN: f"{HALF} Arjun", KAVYA: "Kavya", ROHAN: HALF + HALF,
                 NEHA: "Neha 😀"}
        with service:
            for lead, name in names.items():  # the event key is the lead id: one run each
                reply = requests.post(urls[0], json=lead_event(name, lead), timeout=10,
                                      headers={SECRET_HEADER: HOOK_SECRET})
                assert reply.json() == {"Status": "Success"}
            deadline = time.monotonic() + 30
            while len(service.runs) < len(names) and time.monotonic() < deadline:
                time.sleep(0.05)
        assert [run.status for run in service.runs] == ["succeeded"] * len(names)
        recorded = {
            run["event"]["lead_id"]: run["event"]["FirstName"]
            for run in map(history.get_run, (entry["id"] for entry in history.list_runs()))
        }
        assert recorded == names  # faithfully
