"""Test controls under ``/_sandbox/``: reset, seed, clock, logs, outbox, faults, settings.

These are not part of LeadSquared's API and need no keys; the sandbox binds to loopback.

- ``POST /_sandbox/reset`` (optional seed object): reload the seed, or the given one.
- ``GET /_sandbox/clock``; ``POST /_sandbox/clock`` ``{"advance": s}`` or
  ``{"set": iso, "freeze": bool}`` or ``{"reset": true}``: read or move the sandbox time.
- ``GET /_sandbox/requests?since=N``: the request log (no secrets) from entry N;
  ``POST /_sandbox/requests/clear`` empties it.
- ``GET /_sandbox/outbox?tenant=ORG``: emails sent with SendEmailToLead.
- ``GET /_sandbox/create-counts?tenant=ORG``: creates per operation and input fingerprint.
- ``POST /_sandbox/faults`` ``{"spec": "500=0.1,drop=0.05,seed=1"}`` ("" turns faults off);
  ``GET /_sandbox/faults``: the plan and the faults drawn so far.
- ``POST /_sandbox/settings`` ``{"tenant": ORG, "lead_delete_enabled": true, ...}``.
- ``GET /_sandbox/webhook-deliveries?tenant=ORG``: deliveries done and the pending count.
- ``POST /_sandbox/webhooks/flush`` ``{"timeout": s}``: wait until no delivery is pending.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from runtime.sandbox.faults import FaultInjector, FaultPlan
from runtime.sandbox.state import SandboxState
from runtime.sandbox.webhook_delivery import WebhookEmitter


class SandboxApp(Protocol):
    """What the controls steer: the app's state, faults and webhook emitter (see app.py)."""

    state: SandboxState
    faults: FaultInjector
    webhook_delivery: WebhookEmitter

    def reset(self, seed: dict[str, Any] | None = None) -> None: ...


Control = Callable[[SandboxApp, Request, Any], Any]
CONTROLS: dict[tuple[str, str], Control] = {}
UNLOCKED: set[Control] = set()  # controls that wait on background work run without state.lock


def control(method: str, path: str, *, locked: bool = True) -> Callable[[Control], Control]:
    def register(func: Control) -> Control:
        CONTROLS[(method, path)] = func
        if not locked:
            UNLOCKED.add(func)
        return func

    return register


def handle(app: SandboxApp, request: Request) -> Response:
    """Dispatch one control call; answers JSON, 404 for unknown paths, 400 for bad input."""
    func = CONTROLS.get((request.method, request.path.rstrip("/")))
    if func is None:
        return _json({"error": f"no control {request.method} {request.path}"}, 404)
    try:
        raw = request.get_data(cache=True)
        body = json.loads(raw) if raw.strip() else None
        if func in UNLOCKED:
            return _json(func(app, request, body), 200)
        with app.state.lock:
            return _json(func(app, request, body), 200)
    except (ValueError, TypeError, KeyError) as problem:
        return _json({"error": str(problem)}, 400)


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def _tenant(app: SandboxApp, request: Request):
    org = request.args.get("tenant")
    if org is None:
        return next(iter(app.state.tenants.values()))
    return app.state.tenants[org]


@control("POST", "/_sandbox/reset")
def reset(app: SandboxApp, request: Request, body: Any) -> Any:
    app.reset(body if isinstance(body, dict) else None)
    return {"ok": True, "tenants": list(app.state.tenants)}


@control("GET", "/_sandbox/clock")
def get_clock(app: SandboxApp, request: Request, body: Any) -> Any:
    return {"now": app.state.clock.now().isoformat()}


@control("POST", "/_sandbox/clock")
def move_clock(app: SandboxApp, request: Request, body: Any) -> Any:
    body = body or {}
    if "set" in body:
        moment = datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00"))
        now = app.state.clock.set(moment, freeze=bool(body.get("freeze")))
    elif "advance" in body:
        now = app.state.clock.advance(float(body["advance"]))
    elif body.get("reset"):
        app.state.clock.reset()
        now = app.state.clock.now()
    else:
        raise ValueError("clock needs 'advance' (seconds), 'set' (ISO time) or 'reset'")
    return {"now": now.isoformat()}


@control("GET", "/_sandbox/requests")
def requests_log(app: SandboxApp, request: Request, body: Any) -> Any:
    since = int(request.args.get("since", 0))
    return {"count": len(app.state.request_log), "requests": app.state.request_log[since:]}


@control("POST", "/_sandbox/requests/clear")
def clear_requests(app: SandboxApp, request: Request, body: Any) -> Any:
    app.state.request_log.clear()
    return {"ok": True}


@control("GET", "/_sandbox/outbox")
def outbox(app: SandboxApp, request: Request, body: Any) -> Any:
    return {"emails": _tenant(app, request).outbox}


@control("GET", "/_sandbox/create-counts")
def create_counts(app: SandboxApp, request: Request, body: Any) -> Any:
    return {"counts": dict(_tenant(app, request).create_counts)}


@control("POST", "/_sandbox/faults")
def set_faults(app: SandboxApp, request: Request, body: Any) -> Any:
    app.faults.configure(FaultPlan.parse((body or {}).get("spec", "")))
    return app.faults.plan.to_dict()


@control("GET", "/_sandbox/faults")
def get_faults(app: SandboxApp, request: Request, body: Any) -> Any:
    return {**app.faults.plan.to_dict(), "drawn": app.faults.counts}


@control("POST", "/_sandbox/settings")
def settings(app: SandboxApp, request: Request, body: Any) -> Any:
    body = dict(body or {})
    tenant = app.state.tenants[str(body.pop("tenant", next(iter(app.state.tenants))))]
    tenant.settings.update(body)
    return {"tenant": tenant.org_id, "settings": tenant.settings}


@control("GET", "/_sandbox/webhook-deliveries")
def webhook_deliveries(app: SandboxApp, request: Request, body: Any) -> Any:
    return {"deliveries": _tenant(app, request).webhook_deliveries,
            "pending": app.webhook_delivery.pending}


@control("POST", "/_sandbox/webhooks/flush", locked=False)
def flush_webhooks(app: SandboxApp, request: Request, body: Any) -> Any:
    done = app.webhook_delivery.flush(float((body or {}).get("timeout", 10)))
    return {"ok": done, "pending": app.webhook_delivery.pending}
