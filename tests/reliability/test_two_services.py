"""Two `lsq serve` on one state file: one owner per subscription.

Without ``--standby`` the second refuses to start, naming the owner. With it, the second
stands by (its receiver stores deliveries too; only the owner subscribes, polls and runs);
whichever process is SIGKILLed in the middle of a burst, every acknowledged event runs exactly
once and no lead gets two emails. A killed owner's leases are taken over at once (the dead
process is on this host); elsewhere they would expire after ``--lease-ttl``.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.engine.receiver import SECRET_HEADER
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore

from .test_crashes import (
    EXAMPLES,
    ROOT,
    Serve,
    connection_file,
    create_leads,
    free_port,
    runs_by_event,
    wait_for_runs,
)

DELIVERIES = 300
KILL_AFTER = 100
STANDBY = ("--standby", "--lease-ttl", "1")


def test_a_second_service_without_standby_refuses_naming_the_owner(
    tmp_path: Path, service_sandbox: RunningSandbox,
) -> None:
    connection = connection_file(tmp_path, service_sandbox)
    first = Serve(tmp_path, connection, free_port())
    first.start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "runtime", "serve", str(EXAMPLES / "welcome_email.yaml"),
             "--port", str(free_port()), "--connection", str(connection)],
            cwd=ROOT, env=first.env, capture_output=True, text=True, timeout=60,
        )
    finally:
        first.stop()

    assert second.returncode == 1
    (line,) = second.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: another `lsq serve` serves these workflows on this state: "
                           "new_lead-")
    assert f"/{first.process.pid} (lease until" in line and "--standby" in line


@pytest.mark.parametrize("victim", ["owner", "standby"])
def test_two_services_one_killed_mid_burst_lose_and_repeat_nothing(
    tmp_path: Path, service_sandbox: RunningSandbox, victim: str,
) -> None:
    leads = create_leads(service_sandbox, DELIVERIES)
    connection = connection_file(tmp_path, service_sandbox)
    owner = Serve(tmp_path, connection, free_port(), extra=STANDBY)
    public = f"http://127.0.0.1:{owner.port}"  # one public URL (a load balancer's) for both
    standby = Serve(tmp_path, connection, free_port(), public_url=public, extra=STANDBY)
    owner.start()
    standby.start()
    services = {"owner": owner, "standby": standby}
    try:
        with StateStore(tmp_path / "state.sqlite3") as store:
            (subscription,) = store.list_subscriptions()
        acked: set[str] = set()
        lock = threading.Lock()
        killed = threading.Event()

        def post(serve: Serve, lead: dict[str, Any]) -> bool:
            url = f"http://127.0.0.1:{serve.port}/hooks/{subscription.instance_id}"
            try:
                answer = requests.post(url, json=lead, timeout=10,
                                       headers={SECRET_HEADER: subscription.secret})
            except requests.RequestException:
                return False
            return answer.status_code == 200 and answer.json() == {"Status": "Success"}

        def deliver(numbered: tuple[int, dict[str, Any]]) -> None:
            n, lead = numbered
            first, second = (owner, standby) if n % 2 else (standby, owner)
            # a refused connection is retried on the other process (as a load balancer does)
            if not (post(first, lead) or post(second, lead)):
                return
            with lock:
                acked.add(lead["ProspectID"])
                if len(acked) == KILL_AFTER and not killed.is_set():
                    killed.set()
                    services[victim].kill()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(deliver, enumerate(leads)))
        assert killed.is_set()
        assert acked == {lead["ProspectID"] for lead in leads}  # the survivor took them all
        survivor = standby if victim == "owner" else owner
        # LeadSquared re-sends some acknowledged deliveries too
        for lead in leads[:30]:
            assert post(survivor, lead)

        wait_for_runs(tmp_path / "history.sqlite3", DELIVERIES, timeout=60)
        health = requests.get(f"http://127.0.0.1:{survivor.port}/healthz", timeout=5).json()
    finally:
        owner.stop()
        standby.stop()

    runs = runs_by_event(tmp_path / "history.sqlite3")
    assert sorted(runs) == sorted(f"{lead['ProspectID']}#0" for lead in leads)
    assert all(len(statuses) == 1 for statuses in runs.values())
    statuses = collections.Counter(statuses[0] for statuses in runs.values())
    assert statuses["succeeded"] >= DELIVERIES - 1, statuses  # the kill's run in flight may
    assert set(statuses) <= {"succeeded", "interrupted"}, statuses  # be interrupted, not rerun
    emails = collections.Counter(
        email["LeadId"] for email in service_sandbox.app.state.tenants["41872"].outbox
    )
    assert max(emails.values()) == 1
    assert health["status"] == "ok"
    assert health["instances"] == {subscription.instance_id: "serving"}
    with StateStore(tmp_path / "state.sqlite3") as store:
        counts = Inbox(store).counts()
    assert counts == {"pending": 0, "processing": 0, "done": DELIVERIES, "failed": 0}
