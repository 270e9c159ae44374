"""The stateless webhook receiver over the shared database, as a WSGI app.

::

    LSQ_DATABASE_URL=postgresql://... waitress-serve --call runtime.workers.receiver:create_app
    lsq receive --database postgresql://... --port 8080

Each request commits its delivery to the inbox (one transaction) before answering 200; the
workers' sweeper finds it within a second. Nothing lives in the process: run any number
behind a load balancer, kill any of them at any time (a delivery not yet answered 200 is
retried by LeadSquared; one answered is in the database).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from runtime.engine.receiver import WebhookReceiver
from runtime.engine.subscriptions import instant_event_keys
from runtime.plugin.manifest import load_manifest
from runtime.store.storage import open_state

logger = logging.getLogger(__name__)


def create_app(environ: Mapping[str, str] | None = None, *, url: str | None = None) -> Any:
    """The receiver of every instant trigger of the connector, on ``url`` (else
    ``$LSQ_DATABASE_URL``)."""
    env = os.environ if environ is None else environ
    manifest = load_manifest(env.get("LSQ_CONNECTOR_ROOT") or None)
    store = open_state(url, environ=env)
    return WebhookReceiver(store, event_keys=instant_event_keys(manifest))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("receiver: %s %s", self.requestline, code)


def serve(url: str, host: str, port: int, *, say: Callable[[str], None]) -> None:
    """Serve :func:`create_app` with a threaded server until interrupted."""
    server = make_server(host, port, create_app(url=url), threaded=True,
                         request_handler=_QuietHandler)
    bound_host, bound_port = server.server_address[:2]
    say(f"receiving webhooks at http://{bound_host}:{bound_port}; stop with Ctrl-C or SIGTERM")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = ["create_app", "serve"]
