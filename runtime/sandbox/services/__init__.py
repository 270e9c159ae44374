"""Sandbox service modules, one per LeadSquared area; each owns a ``router``.

A module may also define ``load_seed(tenant, data)`` to read its part of a tenant's seed.
"""

from __future__ import annotations

from types import ModuleType

from runtime.sandbox.routing import Route
from runtime.sandbox.services import (
    account_activities,
    accounts,
    auth,
    email,
    lead_activities,
    lead_metadata,
    leads,
    leads_read,
    leads_write,
    lists,
    opportunities,
    tasks,
    users,
    webhooks,
)

# Seeding runs in this order: lead_metadata must come before leads, leads before lead_activities.
SERVICE_MODULES: tuple[ModuleType, ...] = (
    auth, users, accounts, account_activities, lead_metadata, leads, leads_write,
    leads_read, lead_activities, lists, email, tasks, opportunities,
    webhooks,
)


def collect_routes() -> dict[str, Route]:
    """Every route of every service module, keyed by :func:`~runtime.sandbox.routing.route_key`."""
    routes: dict[str, Route] = {}
    for module in SERVICE_MODULES:
        for key, route in module.router.routes.items():
            if key in routes:
                raise ValueError(f"{route.operation} is served by two modules")
            routes[key] = route
    return routes
