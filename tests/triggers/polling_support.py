"""Fixtures for the polling-trigger tests: a sandbox without rate limits, its clock under test
control, a client, and a state store/engine whose "now" is the sandbox's clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.engine.polling import Budget, PollingEngine
from runtime.plugin.manifest import Manifest, load_manifest
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

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)  # in the past: ToDate (this host's now) > it
NO_LIMIT = 100_000


class Sandbox:
    """The test sandbox: API calls through ``client``, clock and log through controls."""

    def __init__(self, running: RunningSandbox, client: LeadSquaredClient) -> None:
        self.running, self.client = running, client
        self.controls = f"{running.base_url}/_sandbox"

    def now(self) -> datetime:
        return self.running.app.state.clock.now()

    def set_clock(self, moment: datetime) -> None:
        self._clock({"set": moment.isoformat(), "freeze": True})

    def advance(self, seconds: float) -> None:
        self._clock({"advance": seconds})

    def _clock(self, body: dict[str, Any]) -> None:
        requests.post(f"{self.controls}/clock", json=body, timeout=5).raise_for_status()

    def operations(self) -> list[str]:
        log = requests.get(f"{self.controls}/requests", timeout=5).json()["requests"]
        return [entry["operation"] for entry in log]

    def clear_log(self) -> None:
        requests.post(f"{self.controls}/requests/clear", timeout=5).raise_for_status()

    # -- writes through the API ----------------------------------------------------------------

    def create_account(self, name: str, company_type: str = "Company") -> str:
        body = {"CompanyType": {"CompanyTypeName": company_type},
                "CompanyProperties": [{"Attribute": "CompanyName", "Value": name}]}
        answer = self.client.post("CompanyManagement.svc/Company.Create", body, creates=True)
        return str(answer["Message"]["Id"])

    def update_account(self, account_id: str, **fields: str) -> None:
        body = {"CompanyProperties": [{"Attribute": k, "Value": v} for k, v in fields.items()]}
        self.client.post("CompanyManagement.svc/Company.Update", body,
                         params={"companyId": account_id})

    def log_activity(self, account_id: str, note: str) -> str:
        body = {"RelatedCompanyId": account_id, "ActivityEvent": 10001, "ActivityNote": note}
        answer = self.client.post("CompanyActivity.svc/Create", body, creates=True)
        return str(answer["Message"]["Id"])

    def log_lead_activity(self, lead_id: str, note: str, activity_event: int = 201) -> str:
        body = {"RelatedProspectId": lead_id, "ActivityEvent": activity_event,
                "ActivityNote": note}
        answer = self.client.post("ProspectActivity.svc/Create", body, creates=True)
        return str(answer["Message"]["Id"])

    def add_to_list(self, list_id: str, lead_id: str) -> None:
        self.client.post("LeadManagement.svc/AddLeadToStaticList", None,
                         params={"listId": list_id, "leadId": lead_id})

    def remove_from_list(self, list_id: str, lead_id: str) -> None:
        self.client.get("LeadSegmentation.svc/RemoveLeadFromStaticList",
                        {"ListId": list_id, "LeadID": lead_id})


@pytest.fixture(scope="session")
def unlimited_sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxApp(rate_limit=NO_LIMIT, bulk_rate_limit=NO_LIMIT)) as running:
        yield running


@pytest.fixture
def lsq(unlimited_sandbox: RunningSandbox) -> Iterator[Sandbox]:
    """The sandbox reset to the default seed, its clock frozen at :data:`T0`."""
    unlimited_sandbox.app.reset()
    connection = Connection(
        access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY, api_host=DEFAULT_API_HOST,
        base_url=unlimited_sandbox.base_url, rate_limit=NO_LIMIT, bulk_rate_limit=NO_LIMIT,
    )
    with LeadSquaredClient(connection) as client:
        sandbox = Sandbox(unlimited_sandbox, client)
        sandbox.set_clock(T0)
        yield sandbox


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def state_store(lsq: Sandbox, state_path: Path) -> Iterator[StateStore]:
    with StateStore(state_path, clock=lsq.now) as opened:
        yield opened


@pytest.fixture
def make_engine(lsq: Sandbox, state_store: StateStore) -> Callable[..., PollingEngine]:
    """``make_engine(max_pages=.., max_calls=.., overlap=..)``: an engine on the sandbox clock."""

    def make(max_pages: int = 20, max_calls: int = 40, **options: Any) -> PollingEngine:
        return PollingEngine(state_store, clock=lsq.now, budget=Budget(max_pages, max_calls),
                             members_budget=Budget(max_pages, max_calls), **options)

    return make


@pytest.fixture(scope="session")
def trigger_manifest() -> Manifest:
    return load_manifest()


def inbox_payloads(store: StateStore, instance: str) -> list[dict[str, Any]]:
    return [item.payload for item in Inbox(store).items(instance)]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
