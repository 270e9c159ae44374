"""The sandbox's in-memory data: tenants (LeadSquared accounts), their key pairs and records.

One :class:`SandboxState` holds every tenant. All requests run under ``state.lock``, so
service code may read and write tenant collections freely inside a handler.
Values of lead, account and opportunity fields are stored as strings (or ``None``), as
LeadSquared stores and returns them (reference §2.2).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.sandbox.clock import SandboxClock

EventListener = Callable[["Tenant", str, Any], None]


@dataclass(frozen=True)
class KeyPair:
    """An access key / secret key pair; it belongs to one user of one tenant."""

    access_key: str
    secret_key: str
    tenant_id: str
    user_id: str


@dataclass
class Tenant:
    """One LeadSquared account (an org) on one regional API host."""

    org_id: str
    org_name: str
    short_code: str
    api_host: str
    app_host: str
    public_org_id: str = ""
    """The ``OrgId`` the API reports (GUID-like, reference §15); ``org_id`` keys the seed."""
    settings: dict[str, Any] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    lead_fields: list[dict[str, Any]] = field(default_factory=list)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    company_types: list[dict[str, Any]] = field(default_factory=list)
    company_fields: list[dict[str, Any]] = field(default_factory=list)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    account_activity_types: dict[int, dict[str, Any]] = field(default_factory=dict)
    account_activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    lead_activity_types: dict[int, dict[str, Any]] = field(default_factory=dict)
    lead_activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    opportunity_types: dict[int, dict[str, Any]] = field(default_factory=dict)
    opportunities: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_types: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_members: dict[str, list[str]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_deliveries: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    email_templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name
    email_categories: list[str] = field(default_factory=list)
    create_counts: Counter[str] = field(default_factory=Counter)
    auto_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_auto_id(self) -> int:
        """The next integer auto id (ProspectAutoId, AutoId, ...)."""
        return next(self.auto_ids)


def new_id() -> str:
    """A fresh GUID, as LeadSquared uses for every record id."""
    return str(uuid.uuid4())


class SandboxState:
    """Every tenant, key pair and log of one sandbox, guarded by one lock."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        self.tenants: dict[str, Tenant] = {}
        self.keys: dict[str, KeyPair] = {}
        self.request_log: list[dict[str, Any]] = []
        self._listeners: list[EventListener] = []

    def add_tenant(self, tenant: Tenant) -> Tenant:
        self.tenants[tenant.org_id] = tenant
        return tenant

    def add_key(self, pair: KeyPair) -> None:
        self.keys[pair.access_key] = pair

    def authenticate(self, access_key: str | None, secret_key: str | None) -> KeyPair | None:
        """The key pair matching both keys, if its user is active; else ``None``."""
        pair = self.keys.get(access_key or "")
        if pair is None or pair.secret_key != secret_key:
            return None
        user = self.tenants[pair.tenant_id].users.get(pair.user_id, {})
        return pair if str(user.get("StatusCode", 0)) == "0" else None

    def subscribe(self, listener: EventListener) -> None:
        """Call ``listener(tenant, event, payload)`` for every record event (webhooks)."""
        self._listeners.append(listener)

    def emit(self, tenant: Tenant, event: str, payload: Any) -> None:
        """Announce a record event such as ``lead_create`` or ``task_update``."""
        for listener in self._listeners:
            listener(tenant, event, payload)
