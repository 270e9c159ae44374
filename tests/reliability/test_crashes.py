"""Crashes: SIGKILL of `lsq serve` in the middle of a burst of webhook deliveries, and a poll
killed between its fetch and its commit. Nothing acknowledged is lost, nothing runs twice."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.engine.polling import PollingEngine
from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.run_events import trigger_config, trigger_module, workflow_instance
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import load_manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    start_sandbox,
)
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.fakes import write_connection_file
from tests.seed_ids import RAVI

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DELIVERIES = 520
KILL_AFTER = 200  # acknowledged deliveries before the SIGKILL
ENV_VARS = ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST", "LSQ_CONNECTOR_ROOT")


@pytest.fixture
def fast_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of its own without a tight rate limit (the burst is the point, not pacing)."""
    with start_sandbox(SandboxApp(rate_limit=100_000, bulk_rate_limit=100_000)) as running:
        yield running


def connection_file(tmp_path: Path, sandbox: RunningSandbox) -> Path:
    return Path(write_connection_file(tmp_path / "connection.yaml", sandbox.base_url,
                                      rate_limit=100_000, bulk_rate_limit=100_000))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Serve:
    """`lsq serve examples/welcome_email.yaml` as a subprocess, state and history in tmp."""

    def __init__(
        self, tmp_path: Path, connection: Path, port: int, workers: int = 1, *,
        public_url: str | None = None, extra: tuple[str, ...] = (),
    ) -> None:
        self.tmp_path, self.connection, self.port = tmp_path, connection, port
        self.public_url, self.extra, self.workers = public_url, extra, workers
        self.env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        self.env.update(LSQ_STATE_DB=str(tmp_path / "state.sqlite3"),
                        LSQ_HISTORY_DB=str(tmp_path / "history.sqlite3"))
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        url = self.public_url or f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from runtime.cli import main; sys.exit(main())",
             "serve", str(EXAMPLES / "welcome_email.yaml"), "--port", str(self.port),
             "--public-url", url, "--connection", str(self.connection),
             "--workers", str(self.workers), *self.extra],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # up once it says so (subscribed, threads running)
            if line.startswith("serving"):
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
        raise AssertionError(f"lsq serve exited with {self.process.wait()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def create_leads(sandbox: RunningSandbox, count: int) -> list[dict[str, Any]]:
    """``count`` leads with an email and an owner, as New Lead webhook payloads (flat)."""
    session = requests.Session()
    session.headers.update({"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY,
                            "x-LSQ-SecretKey": DEFAULT_SECRET_KEY})
    leads = []
    for n in range(count):
        fields = {"FirstName": f"Burst{n}", "LastName": "Lead", "OwnerId": RAVI,
                  "EmailAddress": f"burst{n}@example.com"}
        answer = session.post(
            f"{sandbox.base_url}/v2/LeadManagement.svc/Lead.Create",
            json=[{"Attribute": k, "Value": v} for k, v in fields.items()], timeout=10,
        ).json()
        leads.append({"ProspectID": answer["Message"]["Id"], **fields})
    return leads


def wait_for_runs(history: Path, count: int, *, timeout: float) -> None:
    """Until ``count`` events have runs and none is running (at most ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = runs_by_event(history)
        if len(runs) == count and all(
            s != "running" for statuses in runs.values() for s in statuses
        ):
            return
        time.sleep(0.1)


def runs_by_event(history: Path) -> dict[str, list[str]]:
    with sqlite3.connect(history) as conn:
        rows = conn.execute("SELECT event_key, status FROM runs").fetchall()
    found: dict[str, list[str]] = collections.defaultdict(list)
    for key, status in rows:
        found[key].append(status)
    return found


@pytest.mark.parametrize("workers", [1, 4], ids=["1-worker", "4-workers"])
def test_sigkill_of_lsq_serve_mid_burst_loses_and_repeats_nothing(
    tmp_path: Path, fast_sandbox: RunningSandbox, workers: int
) -> None:
    leads = create_leads(fast_sandbox, DELIVERIES)  # before subscribing: no sandbox webhooks
    serve = Serve(tmp_path, connection_file(tmp_path, fast_sandbox), free_port(), workers)
    serve.start()
    try:
        with StateStore(tmp_path / "state.sqlite3") as store:
            (subscription,) = store.list_subscriptions()
        hook = f"http://127.0.0.1:{serve.port}/hooks/{subscription.instance_id}"
        acked: set[str] = set()
        lock = threading.Lock()
        killed = threading.Event()

        def deliver(lead: dict[str, Any]) -> None:
            try:
                answer = requests.post(hook, json=lead, timeout=10,
                                       headers={SECRET_HEADER: subscription.secret})
            except requests.RequestException:
                return  # not acknowledged: LeadSquared would retry it
            if answer.status_code == 200 and answer.json() == {"Status": "Success"}:
                with lock:
                    acked.add(lead["ProspectID"])
                    if len(acked) == KILL_AFTER and not killed.is_set():
                        killed.set()
                        serve.kill()  # mid-burst: deliveries and runs in flight

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(deliver, leads))
        assert killed.is_set()
        before_restart = set(acked)
        assert KILL_AFTER <= len(before_restart) < DELIVERIES

        serve.start()  # same port, same state and history
        # LeadSquared retries what was not acknowledged; some acknowledged ones come again too
        again = [lead for lead in leads if lead["ProspectID"] not in before_restart]
        again += [lead for lead in leads if lead["ProspectID"] in before_restart][:50]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(deliver, again))
        assert acked == {lead["ProspectID"] for lead in leads}

        wait_for_runs(tmp_path / "history.sqlite3", DELIVERIES, timeout=120)  # returns when done
    finally:
        serve.stop()

    runs = runs_by_event(tmp_path / "history.sqlite3")
    emails = collections.Counter(
        email["LeadId"] for email in fast_sandbox.app.state.tenants["41872"].outbox
    )
    # history: exactly one run per acknowledged event
    assert sorted(runs) == sorted(f"{lead['ProspectID']}#0" for lead in leads)
    assert all(len(statuses) == 1 for statuses in runs.values())
    statuses = collections.Counter(statuses[0] for statuses in runs.values())
    # at most the runs in flight at the kill (one per worker) are interrupted (never rerun:
    # they may have sent)
    assert statuses["succeeded"] >= DELIVERIES - workers, statuses
    assert set(statuses) <= {"succeeded", "interrupted"}, statuses
    # outbox: one email per lead whose run succeeded, never two for any lead
    assert max(emails.values()) == 1
    for lead in leads:
        if runs[f"{lead['ProspectID']}#0"] == ["succeeded"]:
            assert emails[lead["ProspectID"]] == 1, lead["ProspectID"]
    with StateStore(tmp_path / "state.sqlite3") as store:
        counts = Inbox(store).counts()
    assert counts == {"pending": 0, "processing": 0, "done": DELIVERIES, "failed": 0}


# -- a poll killed between its fetch and its commit -------------------------------------------

POLL_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from runtime.api.client import LeadSquaredClient
    from runtime.api.connection import load_connection
    from runtime.plugin.manifest import load_manifest
    from runtime.engine.polling import PollingEngine
    from runtime.engine.run_events import trigger_config, trigger_module, workflow_instance
    from runtime.store.state import StateStore
    from runtime.workflows.workflow import ManifestSchemas, load_workflow

    connection_path, state_path, workflow_path, when = sys.argv[1:5]
    manifest = load_manifest()
    workflow = load_workflow(workflow_path, ManifestSchemas(manifest))
    client = LeadSquaredClient(load_connection(connection_path, {}))
    config = trigger_config(manifest, workflow)
    instance = workflow_instance(workflow, client, config)
    module = trigger_module(manifest, workflow.trigger.key)
    store = StateStore(state_path)
    pending = PollingEngine(store).fetch(instance, module, client, config)
    print(json.dumps([event.key for event in pending.events]), flush=True)
    if when == "after-commit":
        pending.commit()
    os.kill(os.getpid(), signal.SIGKILL)
""")


LEAD_ACTIVITY_WORKFLOW = """\
name: Note every product demo on the lead
trigger:
  key: new_lead_activity
  config: {activity_type: Product Demo}
steps:
  - id: note
    action: update_lead
    input:
      lead_id: "{{ trigger.lead_id }}"
      fields: {Notes: "{{ trigger.ActivityNote }}"}
"""


def _accounts(manifest: Any, client: LeadSquaredClient) -> list[str]:
    """Three changes Account Updated fires for (sync_accounts.yaml): new accounts."""
    return [invoke_action(manifest, "create_account", {
        "company_type": "Company", "fields": {"CompanyName": f"Crash Co {n}"}}, client,
    )["account_id"] for n in range(3)]


def _lead_activities(manifest: Any, client: LeadSquaredClient) -> list[str]:
    """Three activities New Lead Activity fires for."""
    return [invoke_action(manifest, "create_lead_activity", {
        "lead_id": "5b0a1e2c-7d3f-4c8e-a1b2-000000000201", "activity_type": "Product Demo",
        "note": f"Crash demo {n}"}, client)["activity_id"] for n in range(3)]


#: Polling workflows whose poll is killed: (name, workflow file text or example, cause).
POLLED = [
    ("account_updated", "sync_accounts.yaml", _accounts),
    ("new_lead_activity", LEAD_ACTIVITY_WORKFLOW, _lead_activities),
]


@pytest.mark.parametrize(("trigger", "workflow_file", "cause"), POLLED,
                         ids=[name for name, _, _ in POLLED])
@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
def test_a_poll_killed_around_its_commit_loses_and_repeats_nothing(
    tmp_path: Path, fast_sandbox: RunningSandbox, when: str, trigger: str, workflow_file: str,
    cause: Callable[[Any, LeadSquaredClient], list[str]],
) -> None:
    manifest = load_manifest()
    workflow_path = EXAMPLES / workflow_file
    if not workflow_file.endswith(".yaml"):
        workflow_path = tmp_path / f"{trigger}.yaml"
        workflow_path.write_text(workflow_file, encoding="utf-8")
    workflow = load_workflow(workflow_path, ManifestSchemas(manifest))
    assert workflow.trigger.key == trigger
    connection = Connection(access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                            api_host=DEFAULT_API_HOST, base_url=fast_sandbox.base_url,
                            rate_limit=100_000)
    state_path = tmp_path / "state.sqlite3"
    with LeadSquaredClient(connection) as client, StateStore(state_path) as store:
        config = trigger_config(manifest, workflow)
        instance = workflow_instance(workflow, client, config)
        module = trigger_module(manifest, workflow.trigger.key)
        engine = PollingEngine(store)
        assert engine.poll(instance, module, client, config).baseline
        time.sleep(1.1)  # changes stamped after the baseline (dates have whole seconds)
        changed = cause(manifest, client)

        killed = subprocess.run(
            [sys.executable, "-c", POLL_SCRIPT, str(connection_file(tmp_path, fast_sandbox)),
             str(state_path), str(workflow_path), when],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if k not in ENV_VARS},
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        fetched = json.loads(killed.stdout)
        assert sorted(key.split("@")[0] for key in fetched) == sorted(changed)

        inbox = Inbox(store)
        committed = [item.event_key for item in inbox.items(instance)]
        assert committed == (fetched if when == "after-commit" else [])

        restarted = PollingEngine(store).poll(instance, module, client, config)
        assert list(restarted.keys) == ([] if when == "after-commit" else fetched)
        assert PollingEngine(store).poll(instance, module, client, config).keys == ()
        assert [item.event_key for item in inbox.items(instance)] == fetched  # once each


CLAIM_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from runtime.store.state import StateStore
    from runtime.store.inbox import Inbox

    inbox = Inbox(StateStore(sys.argv[1]))
    assert inbox.claim_next() is not None
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_claims_of_a_killed_process_are_released_at_once_live_ones_are_kept(
    tmp_path: Path,
) -> None:
    with StateStore(tmp_path / "state.sqlite3") as store:
        inbox = Inbox(store)
        inbox.accept("new_lead-0123456789abcdef0123", "lead-1", {"ProspectID": "lead-1"})
        inbox.accept("new_lead-0123456789abcdef0123", "lead-2", {"ProspectID": "lead-2"})
        killed = subprocess.run([sys.executable, "-c", CLAIM_SCRIPT, str(store.path)],
                                cwd=ROOT, timeout=30)
        assert killed.returncode == -signal.SIGKILL
        mine = inbox.claim_next()  # this (live) process holds lead-2
        assert mine is not None and mine.event_key == "lead-2"

        assert inbox.release_orphaned_claims() == 1
        assert [(i.event_key, i.status) for i in inbox.items()] == [
            ("lead-1", "pending"), ("lead-2", "processing")]
        assert inbox.release_orphaned_claims() == 0
