"""The embedded default: a local sandbox started in this process when no account is set up.

This is the only connector module that imports :mod:`runtime.sandbox` (the CLI's
``lsq sandbox`` command is the other place). The sandbox starts once per process, on a
loopback port, with its default seed, and serves until the process exits.
"""

from __future__ import annotations

import atexit
import threading

from runtime.api.connection import Connection
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    start_sandbox,
)

_lock = threading.Lock()
_running: list[RunningSandbox] = []  # at most one: the process's embedded sandbox


def embedded_sandbox() -> RunningSandbox:
    """The process's sandbox (started on first use); its ``app`` exposes the controls."""
    with _lock:
        if not _running:
            running = start_sandbox()
            atexit.register(running.stop)
            _running.append(running)
        return _running[0]


def embedded_connection() -> Connection:
    """A connection to the embedded sandbox with its default keys, as the api-in21 account."""
    running = embedded_sandbox()
    return Connection(
        access_key=DEFAULT_ACCESS_KEY,
        secret_key=DEFAULT_SECRET_KEY,
        api_host=DEFAULT_API_HOST,
        base_url=running.base_url,
        name="sandbox",
    )
