"""A WSGI application that dispatches requests to mounted applications by path prefix.

``front.mount("/metrics", app)`` hands ``/metrics`` and ``/metrics/...`` to ``app`` with the
prefix moved to ``SCRIPT_NAME`` (WSGI's convention; werkzeug's ``DispatcherMiddleware`` does
the dispatching); any other path gets a JSON 404. Mount before the server starts or at any
time after (a mount is one dict assignment).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from runtime.engine.http_server import WSGIApp
from runtime.errors import ConfigurationError


class Front:
    """``Front()`` then ``mount(prefix, app)``; call it as a WSGI application."""

    def __init__(self) -> None:
        self._dispatcher = DispatcherMiddleware(not_found, {})

    @property
    def mounts(self) -> dict[str, WSGIApp]:
        """prefix -> application (a copy)."""
        return dict(self._dispatcher.mounts)

    def mount(self, prefix: str, app: WSGIApp) -> None:
        """Serve ``prefix`` (``/name``, no trailing slash) and everything under it by ``app``."""
        if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
            raise ConfigurationError(
                f"mount prefix {prefix!r} must start with '/' and not end with one",
                hint="e.g. /metrics",
            )
        if prefix in self._dispatcher.mounts:
            raise ConfigurationError(f"{prefix} is already mounted")
        self._dispatcher.mounts[prefix] = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self._dispatcher(environ, start_response)


def json_reply(
    start_response: Callable[..., Any], status: str, body: Any, method: str = "GET"
) -> list[bytes]:
    """Answer ``body`` as JSON (no body for HEAD), never cached."""
    data = json.dumps(body, sort_keys=True).encode("utf-8")
    start_response(status, [
        ("Content-Type", "application/json"), ("Content-Length", str(len(data))),
        ("Cache-Control", "no-store"),
    ])
    return [b""] if method == "HEAD" else [data]


def not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The answer for a path nothing is mounted at."""
    return json_reply(start_response, "404 Not Found",
                      {"Status": "Error", "StatusReason": "Not found"},
                      environ.get("REQUEST_METHOD", "GET"))


__all__ = ["Front", "json_reply", "not_found"]
