"""``GET /healthz``: 200 with the report while healthy, 503 with it otherwise.

The report is :class:`runtime.engine.health.Health`'s (each part and its state; never a
secret). Only GET and HEAD are answered (405 otherwise); a check that itself fails answers 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from runtime.engine.health import Health
from runtime.engine.http_server import WSGIApp
from runtime.web.front import json_reply

logger = logging.getLogger(__name__)


def health_app(check: Callable[[], Health]) -> WSGIApp:
    """A WSGI application answering ``check()``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("GET", "HEAD"):
            return json_reply(start_response, "405 Method Not Allowed",
                              {"status": "error", "problems": ["use GET"]}, method)
        try:
            health = check()
        except Exception as problem:  # the check must answer, whatever breaks
            logger.exception("health check failed")
            health = Health(False, {"status": "failing",
                                    "problems": [f"the check failed: {type(problem).__name__}"]})
        status = "200 OK" if health.ok else "503 Service Unavailable"
        return json_reply(start_response, status, health.report, method)

    return app


__all__ = ["health_app"]
