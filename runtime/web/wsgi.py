"""The webhook receiver as a WSGI application, for a host that runs its own server.

::

    gunicorn --workers 2 --threads 4 --timeout 30 'runtime.web.wsgi:create_app()'
    waitress-serve --threads 8 --connection-limit 100 --channel-timeout 30 \\
        --call runtime.web.wsgi:create_app

It answers ``/hooks/<instance>`` (the receiver, with the event keys of every instant trigger
of the connector) and ``/healthz`` (storage, and the age of the oldest unsettled inbox item:
no worker runs in this process, so a growing age means the workers elsewhere do not keep up).
Run the workers with ``lsq serve`` on the same state (its own receiver may stay unused).

Configuration comes from the environment, as for ``lsq``: ``LSQ_DATABASE_URL`` (PostgreSQL),
else ``LSQ_STATE_DB`` (SQLite; ``.lsq/state.sqlite3`` by default), ``LSQ_CONNECTOR_ROOT``, and
``LSQ_MAX_PENDING_AGE`` (seconds, default 900) for ``/healthz``. The application opens the
state store once and keeps it for its life (one bounded connection pool per process).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from runtime.engine.health import DEFAULT_MAX_PENDING_AGE, Health, inbox_health
from runtime.engine.receiver import WebhookReceiver
from runtime.engine.subscriptions import instant_event_keys
from runtime.errors import ConfigurationError
from runtime.plugin.manifest import load_manifest
from runtime.store.inbox import Inbox
from runtime.store.storage import open_state
from runtime.web.app import HEALTH, HOOKS
from runtime.web.front import Front
from runtime.web.health import health_app

MAX_PENDING_AGE_ENV = "LSQ_MAX_PENDING_AGE"


def create_app(environ: Mapping[str, str] | None = None) -> Front:
    """The receiver's front (``/hooks``, ``/healthz``) over the configured state store."""
    env = os.environ if environ is None else environ
    bound = max_pending_age(env)
    manifest = load_manifest(env.get("LSQ_CONNECTOR_ROOT") or None)
    store = open_state(environ=env)
    inbox = Inbox(store)
    receiver = WebhookReceiver(store, event_keys=instant_event_keys(manifest), inbox=inbox)

    def check() -> Health:
        storage, age, problems = inbox_health(inbox, None, bound, receiver.storage_fault)
        return Health(not problems, {
            "status": "ok" if not problems else "failing", "problems": problems,
            "receiver": "up", "storage": storage,
            "oldest_pending_age_seconds": None if age is None else round(age, 3),
            "max_pending_age_seconds": bound,
        })

    front = Front()
    front.mount(HOOKS, receiver)
    front.mount(HEALTH, health_app(check))
    return front


def max_pending_age(environ: Mapping[str, str]) -> float:
    """``$LSQ_MAX_PENDING_AGE`` in seconds (default 900)."""
    text = environ.get(MAX_PENDING_AGE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PENDING_AGE
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(f"{MAX_PENDING_AGE_ENV}={text!r} is not a positive number of "
                                 "seconds", hint="e.g. 900")
    return value


__all__ = ["MAX_PENDING_AGE_ENV", "create_app", "max_pending_age"]
