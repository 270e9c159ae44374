"""Polls with 3 workers (separate processes): each trigger instance is polled once per
interval (the sandbox's request log), and a worker SIGKILLed in the middle of a poll loses
and repeats no event: every account created during the test starts exactly one run.

14 s of account creation; with ``LSQ_DISTRIBUTED_FULL=1`` (as CI runs it): 40 s.
"""

from __future__ import annotations

import collections
import itertools
import statistics
import threading
import time
from pathlib import Path

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SandboxApp, start_sandbox
from runtime.sandbox.faults import FaultPlan
from runtime.store.storage import open_storage
from tests.distributed.cluster import Cluster, wait_for
from tests.distributed.conftest import full

WORKFLOW = Path(__file__).with_name("poll.yaml")
INTERVAL = 2.0
POLL = "CompanyManagement.svc/Company.Get"


@pytest.fixture
def fast_sandbox():
    with start_sandbox(SandboxApp(rate_limit=100_000, bulk_rate_limit=1000)) as running:
        yield running


def first_pages(app) -> list[float]:
    """Times the polls' first pages arrived (one per poll), in order."""
    with app.state.lock:
        log = list(app.state.request_log)
    return sorted(e["time"] for e in log if e["operation"] == POLL  # logged when answered
                  and (e["body"] or {}).get("Paging", {}).get("PageIndex") == 1)


@pytest.mark.timeout(300)
def test_three_workers_poll_once_per_interval_and_a_killed_poll_loses_nothing(
    pg_url, fast_sandbox, tmp_path
):
    seconds = 40.0 if full() else 14.0
    cluster = Cluster(pg_url, fast_sandbox.base_url, tmp_path, workflows=(WORKFLOW,),
                      rate_limit=100_000)
    storage = open_storage(pg_url)
    app = fast_sandbox.app
    client = LeadSquaredClient(Connection(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
                                          base_url=fast_sandbox.base_url, rate_limit=100_000))
    created: list[str] = []
    try:
        for _ in range(3):
            cluster.worker()
        wait_for(lambda: first_pages(app), 30, "the baseline poll")
        time.sleep(0.5)
        stop = threading.Event()

        def create_accounts() -> None:
            n = 0
            while not stop.is_set():
                body = {"CompanyType": {"CompanyTypeName": "Company"},
                        "CompanyProperties": [{"Attribute": "CompanyName",
                                               "Value": f"Polled {n}"}]}
                answer = client.post("CompanyManagement.svc/Company.Create", body, creates=True)
                created.append(str(answer["Message"]["Id"]))
                n += 1
                stop.wait(0.5)

        creator = threading.Thread(target=create_accounts)
        started = time.monotonic()
        creator.start()
        time.sleep(seconds / 3)
        # Kill the worker in the middle of a poll: the sandbox holds its first page.
        app.faults.configure(FaultPlan.parse("slow=1,slow_seconds=2"))
        holder = wait_for(lambda: _poller(storage), 15, "a poll in flight", every=0.05)
        pid = int(holder.owner.partition("#")[0].rpartition("/")[2])
        (poller,) = [p for p in cluster.processes if p.popen.pid == pid]
        poller.kill()  # SIGKILL, then reaped (as its supervisor would)
        killed_at = time.time()
        app.faults.configure(FaultPlan())
        cluster.worker()  # the restarted one
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        stop.set()
        creator.join()

        def all_ran():
            runs = storage.history.db.query("SELECT event_key FROM runs")  # test-side check
            ran = collections.Counter(key.split("@")[0] for (key,) in runs)
            return ran if set(created) <= set(ran) else None
        ran = wait_for(all_ran, 60, "a run for every created account", every=0.5)
        polls = first_pages(app)
        with app.state.lock:
            emails = collections.Counter(
                e["body"]["Subject"] for e in app.state.request_log
                if e["operation"] == "EmailMarketing.svc/SendEmailToLead")
        gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
        span = polls[-1] - polls[0]
        print(f"\n{len(created)} accounts, {len(polls)} polls in {span:.1f} s (interval "
              f"{INTERVAL:g} s) at +{', +'.join(f'{t - polls[0]:.1f}' for t in polls)} s; "
              f"killed one at +{killed_at - polls[0]:.1f} s")
        assert set(ran) == set(created) and max(ran.values()) == 1
        # A run the kill cut off is left interrupted (its email may be unsent), never repeated.
        succeeded = {key.split("@")[0] for key, status in storage.history.db.query(
            "SELECT event_key, status FROM runs") if status == "succeeded"}
        assert len(succeeded) >= len(created) - 4
        assert {f"Account {a}" for a in succeeded} <= set(emails)
        assert set(emails) <= {f"Account {a}" for a in created} and max(emails.values()) == 1
        # Once per interval: never two polls of the instance within one interval, and no
        # more polls than intervals (3 workers do not poll three times).
        assert min(gaps) >= INTERVAL * 0.5
        assert len(polls) <= span / INTERVAL + 2
        # ... and one in every interval, but while the killed poller's lease runs out.
        steady = [gap for gap in gaps if gap < 2 * INTERVAL + 5]
        assert statistics.median(steady) <= INTERVAL * 1.3
    finally:
        cluster.stop()
        client.close()
        storage.close()


def _poller(storage):
    from runtime.store.leases import Leases

    rows = storage.state.db.query(  # test-side check: which process holds the poll lease
        "SELECT name FROM leases WHERE name LIKE 'polling:%'")
    for (name,) in rows:
        holder = Leases(storage.state).holder(name)
        if holder is not None:
            return holder
    return None
