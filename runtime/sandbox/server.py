"""Serving the sandbox over real HTTP: in a background thread (tests, the embedded default)
or in the foreground (``lsq sandbox``)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from runtime.sandbox.app import SandboxApp

log = logging.getLogger("runtime.sandbox.access")


class QuietRequestHandler(WSGIRequestHandler):
    """Logs each request at DEBUG by path only: query strings may carry keys."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)

    def log_error(self, format: str, *args: object) -> None:
        log.debug("sandbox connection: " + format, *args)


@dataclass
class RunningSandbox:
    """A sandbox served on a loopback port from a background thread."""

    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: where the API (``/v2/...``) and controls are served."""
        return bound_url(self.server)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.app.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_server(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """Bind (but do not start) a threaded server for ``app``; port 0 picks a free port.

    Raises ``OSError`` when the address cannot be bound. ``server.server_address`` holds the
    real bound port, so callers can print it before serving.
    """
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


def bound_url(server: BaseWSGIServer) -> str:
    """``http://HOST:PORT`` of a bound server (the real port, also when 0 was asked)."""
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def start_sandbox(
    app: SandboxApp | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Serve ``app`` (a default-seeded one if omitted) on ``host:port`` (0 = any free port)."""
    app = app or SandboxApp()
    server = create_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="lsq-sandbox", daemon=True)
    thread.start()
    return RunningSandbox(app, server, thread)


def serve_forever(server: BaseWSGIServer) -> None:
    """Serve a server from :func:`create_server` in the foreground until interrupted."""
    try:
        server.serve_forever()
    finally:
        server.server_close()
