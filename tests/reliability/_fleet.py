"""A fault run: the four example workflows under the service, events caused through the API,
the sandbox injecting faults into the connector's calls; then the figures and the checks.

The sandbox serves two key pairs of one account: the connector's (the default keys; every
call it makes may draw a fault) and a *driver* pair that the run uses to cause events
(create leads and opportunities, update accounts, add leads to the list). The driver's calls
never draw a fault, so every event the driver causes is one the connector must handle.

Times are compressed so a run fits in CI: the connector's client retries with millisecond
backoff (same policy tables, shorter waits), "slow" answers wait ``slow_seconds``, polls run
every 0.2 s and the sandbox retries failed webhook deliveries after 0.05/0.1/0.2 s.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import itertools
import json
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.retry import RetryPolicy
from runtime.engine.receiver import HOOK_PATH_PREFIX
from runtime.engine.service import WorkflowService
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_API_HOST, DEFAULT_SECRET_KEY, SandboxApp
from runtime.sandbox.faults import KINDS, FaultInjector, FaultPlan
from runtime.sandbox.seed import default_seed
from runtime.sandbox.server import bound_url, create_server
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.seed_ids import ADMIN, RAVI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_NAMES = ("welcome_email", "opportunity_follow_up", "sync_accounts", "segment_and_enrich")
DEFAULT_SPEC = "500=0.05,503=0.05,429=0.04,drop=0.03,slow=0.03,slow_seconds=0.2"
TENANT = "41872"
COMPANIES = tuple(f"Fleet Account {n}" for n in range(1, 7))  # Company, each with a Partners mirror
DRIVER_ACCESS_KEY = "u$rdriver0000000000000000000000000"
DRIVER_SECRET_KEY = "driver-secret-0000000000000000000000000"
#: Categories a failed run may carry: the error tree's, never "internal".
ERROR_CATEGORIES = frozenset({
    "configuration", "mapping", "input", "output", "record_not_found", "api", "auth",
    "not_found", "rate_limited", "transient", "ambiguous_write", "permanent",
})
FAST_RETRIES = RetryPolicy(max_total_wait=3.0, base_delay=0.02, max_delay=0.2,
                           rate_limit_wait=0.05)

_exempt = threading.local()


class DriverSparingInjector(FaultInjector):
    """Draws faults for every call except the driver's (flagged per server thread)."""

    def draw(self) -> str | None:
        if getattr(_exempt, "driver", False):
            return None
        return super().draw()


class DriverMarker:
    """WSGI middleware: flags calls made with the driver's access key for the injector."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        _exempt.driver = environ.get("HTTP_X_LSQ_ACCESSKEY") == DRIVER_ACCESS_KEY
        try:
            return self.app(environ, start_response)
        finally:
            _exempt.driver = False


def fleet_seed() -> dict[str, Any]:
    """The default seed plus the driver's key pair (an administrator of the same account)."""
    seed = copy.deepcopy(default_seed())
    seed["tenants"][TENANT]["keys"].append(
        {"access_key": DRIVER_ACCESS_KEY, "secret_key": DRIVER_SECRET_KEY, "user": ADMIN}
    )
    return seed


@dataclass
class Figures:
    """What one fault run did and found."""

    runs: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    failed_by_category: collections.Counter[str] = field(default_factory=collections.Counter)
    runs_by_workflow: collections.Counter[str] = field(default_factory=collections.Counter)
    unclassified: list[dict[str, Any]] = field(default_factory=list)
    duplicate_creates: dict[str, int] = field(default_factory=dict)
    creates: int = 0
    emails: int = 0
    duplicate_emails: dict[str, int] = field(default_factory=dict)
    deliveries_acknowledged: int = 0
    lost_events: list[str] = field(default_factory=list)
    inbox: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    wall_seconds: float = 0.0

    def table(self) -> str:
        """The figures as a Markdown table."""
        rows = [
            ("workflow runs", self.runs),
            ("  by workflow", ", ".join(f"{k}: {v}" for k, v in sorted(
                self.runs_by_workflow.items())) or "-"),
            ("succeeded", self.statuses.get("succeeded", 0)),
            ("failed (classified)", self.statuses.get("failed", 0)),
            ("  failed by category", ", ".join(
                f"{k}: {v}" for k, v in sorted(self.failed_by_category.items())) or "-"),
            ("other end states", ", ".join(
                f"{k}: {v}" for k, v in sorted(self.statuses.items())
                if k not in ("succeeded", "failed")) or "none"),
            ("unclassified failures", len(self.unclassified)),
            ("records created (LeadSquared creates)", self.creates),
            ("duplicate records (fingerprint counted twice)", len(self.duplicate_creates)),
            ("emails sent", self.emails),
            ("duplicate emails (one event, two emails)", len(self.duplicate_emails)),
            ("webhook deliveries acknowledged (200)", self.deliveries_acknowledged),
            ("accepted events lost", len(self.lost_events)),
            ("inbox at the end", ", ".join(f"{k}: {v}" for k, v in self.inbox.items())),
            ("API calls to the sandbox", self.api_calls),
            ("faults injected", sum(self.faults.values())),
            ("  by kind", ", ".join(f"{k}: {self.faults.get(k, 0)}" for k in KINDS)),
            ("wall time", f"{self.wall_seconds:.1f} s"),
        ]
        lines = ["| figure | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)

    def problems(self) -> list[str]:
        """Every broken guarantee, in words (empty: all held)."""
        found = []
        unfinished = {k: v for k, v in self.statuses.items() if k not in ("succeeded", "failed")}
        if unfinished:
            found.append(f"runs neither succeeded nor failed: {unfinished}")
        if self.unclassified:
            found.append(f"failed runs without a classified error: {self.unclassified[:3]}")
        if self.duplicate_creates:
            found.append(f"records created twice: {self.duplicate_creates}")
        if self.duplicate_emails:
            found.append(f"emails sent twice for one lead: {self.duplicate_emails}")
        if self.lost_events:
            found.append(f"accepted events without a finished run: {self.lost_events[:5]}")
        return found


class Fleet:
    """The sandbox, the service running the four examples, and the driver causing events."""

    def __init__(self, workdir: Path, spec: str = DEFAULT_SPEC, seed: int = 7) -> None:
        self.spec = f"{spec},seed={seed}"
        self.app = SandboxApp(
            fleet_seed(), rate_limit=100_000, bulk_rate_limit=100_000,
            webhook_retry_delays=(0.05, 0.1, 0.2),
        )
        self.app.faults = DriverSparingInjector()
        self.server = create_server(DriverMarker(self.app))  # type: ignore[arg-type]
        self._server_thread = threading.Thread(
            target=self.server.serve_forever, name="fleet-sandbox", daemon=True
        )
        self._server_thread.start()
        self.url = bound_url(self.server)
        self.manifest: Manifest = load_manifest()
        self.client = self._client(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, FAST_RETRIES)
        self.driver = self._client(DRIVER_ACCESS_KEY, DRIVER_SECRET_KEY, RetryPolicy())
        self.store = StateStore(workdir / "state.sqlite3")
        self.history = HistoryStore(workdir / "history.sqlite3")
        self.service: WorkflowService | None = None
        self._serial = itertools.count(1)
        self._changed: dict[str, float] = {}

    def _client(self, access: str, secret: str, policy: RetryPolicy) -> LeadSquaredClient:
        connection = Connection(
            access_key=access, secret_key=secret, api_host=DEFAULT_API_HOST, base_url=self.url,
            rate_limit=100_000, bulk_rate_limit=100_000, timeout=5.0,
        )
        return LeadSquaredClient(connection, retry_policy=policy)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Mirrors for the account sync, then the service (faults off), then faults on."""
        for name in COMPANIES:
            for company_type in ("Company", "Partners"):
                self.act("create_account", {"company_type": company_type,
                                            "fields": {"CompanyName": name}})
            self._changed[name] = time.monotonic()
        schemas = ManifestSchemas(self.manifest)
        workflows = []
        for name in EXAMPLE_NAMES:
            workflow = load_workflow(EXAMPLES / f"{name}.yaml", schemas)
            if workflow.poll_interval:
                workflow = dataclasses.replace(workflow, poll_interval=0.2)
            workflows.append(workflow)
        runner = WorkflowRunner(self.manifest, ClientPool(lambda path: self.client), self.history)
        self.service = WorkflowService(workflows, runner, self.store, port=0, idle_wait=0.02)
        self.service.start()  # subscribes and takes the baselines without faults
        self.app.faults.configure(FaultPlan.parse(self.spec))

    def close(self) -> None:
        if self.service is not None:
            self.service.stop()
        self.app.faults.configure(FaultPlan())
        self.server.shutdown()
        self.server.server_close()
        self.app.close()
        self.client.close()
        self.driver.close()
        self.store.close()
        self.history.close()

    def __enter__(self) -> Fleet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- causing events -----------------------------------------------------------------------

    def act(self, action: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """One connector action with the driver's keys (never faulted)."""
        return invoke_action(self.manifest, action, dict(inputs), self.driver)

    def cause(self, kind: str) -> int:
        """Cause one kind of event through the API; returns the runs it should start."""
        n = next(self._serial)
        if kind == "lead":
            self.act("create_lead", {"fields": {
                "FirstName": f"Fleet{n}", "LastName": "Lead", "OwnerId": RAVI,
                "EmailAddress": f"fleet.lead{n}@example.com", "Company": f"Company {n}",
            }})
            return 1
        if kind == "opportunity":
            lead = self.act("create_lead", {"fields": {"FirstName": f"Opp{n}",
                                                       "LastName": "Lead"}})["lead_id"]
            self.act("create_opportunity", {
                "lead_id": lead, "opportunity_type": "New Business", "owner": RAVI,
                "fields": {"mx_Custom_1": f"Deal {n}"},
            })
            return 2  # the lead's welcome run (skipped: no email) and the follow-up
        if kind == "account":
            # ModifiedOn has whole seconds: a change of an account in the same second as its
            # previous one is the same event key. Accounts take turns, a second apart.
            name = COMPANIES[n % len(COMPANIES)]
            time.sleep(max(0.0, self._changed.get(name, 0.0) + 1.05 - time.monotonic()))
            self._changed[name] = time.monotonic()
            account = self.act("find_account", {"company_type": "Company", "name": name})
            before = self._polled("account_updated")
            self.act("update_account", {"account_id": account["account"]["CompanyId"], "fields": {
                "Phone": f"+91-22{n:08d}", "City": f"City {n}"}})
            # A poll reads the account as it is now: two changes between polls are one event.
            # So the next change waits until a poll has taken this one.
            deadline = time.monotonic() + 30
            while self._polled("account_updated") == before and time.monotonic() < deadline:
                time.sleep(0.02)
            return 1
        if kind == "list":
            email = f"fleet.member{n}@example.com"
            self.act("create_lead", {"fields": {"FirstName": f"Member{n}", "EmailAddress": email,
                                                "mx_City": f" city {n} "}})
            self.act("add_lead_to_list", {"list_name": "Newsletter", "lead_email": email})
            return 2  # its welcome email and its enrichment
        raise ValueError(kind)

    def _polled(self, trigger_key: str) -> int:
        """Events the polls of ``trigger_key`` have put in the inbox so far."""
        assert self.service is not None
        inbox = Inbox(self.store)
        return sum(
            len(inbox.items(instance)) for instance, binding in self.service.bindings.items()
            if binding.trigger_key == trigger_key
        )

    def drive(self, target_runs: int) -> int:
        """Cause events (leads, opportunities, account changes, list adds) for ``target_runs``."""
        kinds = itertools.cycle(("lead", "opportunity", "account", "list", "lead"))
        expected = 0
        while expected < target_runs:
            expected += self.cause(next(kinds))
        return expected

    def settle(self, expected_runs: int, timeout: float) -> None:
        """Wait until the sandbox delivered everything and the inbox and runs are finished."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = (
                self.app.webhook_delivery.pending
                or any(Inbox(self.store).counts()[s] for s in ("pending", "processing"))
                or self._count_runs("status = 'running'")
                or self._count_runs("1") < expected_runs
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 1.0:  # a few more polls found nothing new
                return
            time.sleep(0.05)

    def _count_runs(self, where: str) -> int:
        with sqlite3.connect(self.history.path) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM runs WHERE {where}").fetchone()[0])

    # -- figures ------------------------------------------------------------------------------

    def figures(self, wall_seconds: float) -> Figures:
        figures = Figures(wall_seconds=wall_seconds, faults=dict(self.app.faults.counts))
        self.app.faults.configure(FaultPlan())
        with sqlite3.connect(self.history.path) as conn:
            rows = conn.execute(
                "SELECT workflow, instance_id, event_key, status, error FROM runs"
            ).fetchall()
        runs_by_key: dict[tuple[str, str, str], list[str]] = collections.defaultdict(list)
        for workflow, instance, key, status, error in rows:
            figures.runs += 1
            figures.statuses[status] += 1
            figures.runs_by_workflow[workflow] += 1
            runs_by_key[(workflow, instance, key)].append(status)
            if status == "failed":
                category = _category(error)
                figures.failed_by_category[category or "(none)"] += 1
                if category not in ERROR_CATEGORIES:
                    figures.unclassified.append({"workflow": workflow, "error": error})
        tenant = self.app.state.tenants[TENANT]
        with self.app.state.lock:
            counts = dict(tenant.create_counts)
            outbox = list(tenant.outbox)
            deliveries = list(tenant.webhook_deliveries)
            figures.api_calls = len(self.app.state.request_log)
        figures.creates = sum(counts.values())
        figures.duplicate_creates = {k: v for k, v in counts.items() if v > 1}
        figures.emails = len(outbox)
        per_lead = collections.Counter(email.get("LeadId") for email in outbox)
        figures.duplicate_emails = {str(k): v for k, v in per_lead.items() if v > 1}
        figures.inbox = Inbox(self.store).counts()
        figures.lost_events = self._lost(deliveries, runs_by_key)
        figures.deliveries_acknowledged = sum(
            1 for d in deliveries if any(a["status"] == 200 for a in d["attempts"])
        )
        return figures

    def _lost(
        self,
        deliveries: list[dict[str, Any]],
        runs_by_key: Mapping[tuple[str, str, str], list[str]],
    ) -> list[str]:
        """Acknowledged deliveries (and polled events) whose event has no finished run."""
        assert self.service is not None
        inbox = Inbox(self.store)
        items = {(i.instance_id, i.event_key): i for i in inbox.items()}
        lost = []
        for delivery in deliveries:
            if not any(attempt["status"] == 200 for attempt in delivery["attempts"]):
                continue
            instance = delivery["url"].rsplit(HOOK_PATH_PREFIX, 1)[-1]
            binding = self.service.bindings[instance]
            key = binding.module.event_key(delivery["payload"])
            item = items.get((instance, key))
            if item is None or item.status != "done":
                lost.append(f"{instance}/{key}: inbox {item.status if item else 'missing'}")
        for (instance, key), item in items.items():
            if item.status != "done":
                lost.append(f"{instance}/{key}: inbox {item.status}")
                continue
            # The fleet causes only events that start runs (opportunities of the configured
            # type), so every done item has exactly one finished run per bound workflow.
            for workflow in self.service.bindings[instance].workflows:
                statuses = runs_by_key.get((workflow.name, instance, f"{key}#0"), [])
                if len(statuses) != 1 or statuses[0] in ("running", "interrupted"):
                    lost.append(f"{workflow.name}/{key}: runs {statuses}")
        return sorted(set(lost))


def _category(error: Any) -> str | None:
    if isinstance(error, str):
        error = json.loads(error)
    return error.get("category") if isinstance(error, dict) else None


def fault_run(runs: int, *, spec: str = DEFAULT_SPEC, seed: int = 7,
              workdir: Path | None = None, settle_timeout: float = 120.0) -> Figures:
    """Cause events for ``runs`` workflow runs under faults, wait, and measure."""
    with tempfile.TemporaryDirectory(prefix="lsq-fault-run-") as scratch:
        folder = workdir or Path(scratch)
        began = time.monotonic()
        with Fleet(folder, spec, seed) as fleet:
            expected = fleet.drive(runs)
            fleet.settle(expected, settle_timeout)
            return fleet.figures(time.monotonic() - began)


__all__ = ["DEFAULT_SPEC", "Figures", "Fleet", "fault_run"]
