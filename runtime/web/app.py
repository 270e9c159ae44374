"""The front ``lsq serve`` serves: ``/hooks`` (the receiver) and ``/healthz`` (the service's
health), plus whatever else is mounted."""

from __future__ import annotations

from collections.abc import Mapping

from runtime.engine.http_server import WSGIApp
from runtime.engine.receiver import HOOK_PATH_PREFIX
from runtime.engine.service import WorkflowService
from runtime.web.front import Front
from runtime.web.health import health_app

HOOKS = HOOK_PATH_PREFIX.rstrip("/")
HEALTH = "/healthz"


def service_front(service: WorkflowService, mounts: Mapping[str, WSGIApp] | None = None) -> Front:
    """The front of ``service``: the receiver at ``/hooks``, its health at ``/healthz``,
    then the service's ``mounts`` and ``mounts`` (prefix -> WSGI application)."""
    front = Front()
    front.mount(HOOKS, service.receiver)
    front.mount(HEALTH, health_app(service.health))
    for prefix, app in {**service.mounts, **(mounts or {})}.items():
        front.mount(prefix, app)
    return front


__all__ = ["HEALTH", "HOOKS", "service_front"]
