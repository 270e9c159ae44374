"""A `lsq serve` service in-process for the service proofs: the real manifest and runner, a
sandbox of its own without a tight rate limit, state and history in a temporary folder, and
the front `lsq serve` serves (waitress, /hooks and /healthz)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import load_connection
from runtime.engine.service import Binding, ServiceSettings, WorkflowService
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, RunningSandbox
from runtime.store.history import HistoryStore
from runtime.store.state import StateStore, Subscription
from runtime.web.app import service_front
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.workflows.test_service import wait_until

from .test_invalid_text import RENAME

HOOK_SECRET = "service-hook-secret-0123456789"
FAST = ServiceSettings(lease_ttl=timedelta(seconds=0.6))


@dataclass
class Served:
    """One service and what it runs on."""

    service: WorkflowService
    store: StateStore
    history: HistoryStore
    runner: WorkflowRunner

    @property
    def binding(self) -> Binding:
        (binding,) = self.service.bindings.values()
        return binding


@contextmanager
def served(
    tmp_path: Path,
    sandbox: RunningSandbox,
    *,
    settings: ServiceSettings = FAST,
    manifest: Manifest | None = None,
    folder: Path | None = None,
    **state_options: Any,
) -> Iterator[Served]:
    """A service (not started) over state and history in ``folder`` (default ``tmp_path``);
    closed at the end. ``state_options`` go to the :class:`StateStore`."""
    manifest = manifest or load_manifest()
    connection = tmp_path / "connection.yaml"
    if not connection.exists():
        connection.write_text(
            f"access_key: '{DEFAULT_ACCESS_KEY}'\nsecret_key: '{DEFAULT_SECRET_KEY}'\n"
            f"api_host: {sandbox.base_url}\nrate_limit: 100000\nbulk_rate_limit: 100000\n",
            encoding="utf-8",
        )
    path = tmp_path / "rename.yaml"
    path.write_text(RENAME + f"connection: {connection}\n", encoding="utf-8")
    workflow = load_workflow(path, ManifestSchemas(manifest))

    def subscriber(binding: Binding, url: str, state: StateStore) -> None:
        state.save_subscription(Subscription(binding.instance, "wh-1", HOOK_SECRET, url, "1"))

    def client_for(name: str | None) -> LeadSquaredClient:
        loaded = load_connection(name or str(connection), {})
        assert loaded is not None
        return LeadSquaredClient(loaded)

    where = folder or tmp_path
    with StateStore(where / "state.sqlite3", **state_options) as store, \
            HistoryStore(where / "history.sqlite3") as history, \
            ClientPool(client_for) as clients:
        runner = WorkflowRunner(manifest, clients, history)
        service = WorkflowService(
            [workflow], runner, store, port=0, subscriber=subscriber, idle_wait=0.02,
            app_factory=service_front, settings=settings,
        )
        try:
            yield Served(service, store, history, runner)
        finally:
            service.stop()

__all__ = ["FAST", "HOOK_SECRET", "Served", "served", "wait_until"]
