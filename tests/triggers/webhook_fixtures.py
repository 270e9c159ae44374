"""Fixtures for the instant-trigger tests: a client on the test sandbox, a state store, and a
real webhook receiver (WebhookReceiver under werkzeug's server in a thread) the sandbox
delivers to. Import the fixtures into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.api.client import LeadSquaredClient
from runtime.engine.receiver import WebhookReceiver
from runtime.engine.subscriptions import Subscriptions, instant_event_keys
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from tests.serving import serving

TENANT = "41872"
OWNER = "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e02"  # a sales user of the seed
SEED_LEAD = "5b0a1e2c-7d3f-4c8e-a1b2-000000000201"  # Priya Sharma
SEED_TASK = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
SEED_OPPORTUNITY = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"  # type 12000


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[StateStore]:
    with StateStore(db_path) as opened:
        yield opened


@pytest.fixture
def receiver(store: StateStore, manifest: Manifest) -> Iterator[str]:
    """The base URL of a live receiver storing into ``store``."""
    with serving(WebhookReceiver(store, event_keys=instant_event_keys(manifest))) as url:
        yield url


@pytest.fixture
def subs(client: LeadSquaredClient, store: StateStore, manifest: Manifest) -> Subscriptions:
    return Subscriptions(client, store, manifest)


@pytest.fixture
def inbox(store: StateStore) -> Inbox:
    return Inbox(store)


def flush(sandbox: RunningSandbox) -> None:
    """Wait until the sandbox has sent every queued webhook delivery."""
    answer = requests.post(f"{sandbox.base_url}/_sandbox/webhooks/flush", json={"timeout": 10},
                           timeout=15).json()
    assert answer["ok"], answer


def deliveries(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.base_url}/_sandbox/webhook-deliveries",
                        params={"tenant": TENANT}, timeout=5).json()["deliveries"]


def calls(sandbox: RunningSandbox, operation: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's request log (bodies with header values masked)."""
    return [entry for entry in sandbox.app.state.request_log
            if operation is None or entry["operation"] == operation]


def tenant_webhooks(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """The sandbox's webhooks of the default tenant (with their headers: test-side only)."""
    with sandbox.app.state.lock:
        return {key: dict(hook) for key, hook in sandbox.app.state.tenants[TENANT].webhooks.items()}


def set_webhook_status(sandbox: RunningSandbox, webhook_id: str, status: int) -> None:
    with sandbox.app.state.lock:
        sandbox.app.state.tenants[TENANT].webhooks[webhook_id]["StatusCode"] = status
