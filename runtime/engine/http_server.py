"""The production HTTP server of ``lsq serve``: waitress, configured in one place.

:class:`HttpServer` serves one WSGI application on a background thread with bounded work:

- ``threads`` worker threads run the application (requests beyond them wait in a queue);
- at most ``connection_limit`` connections are open at once (the listener stops accepting
  beyond it; the kernel's ``backlog`` holds the rest);
- a connection idle for ``channel_timeout`` seconds (a slow or half-open client) is closed,
  checked every ``cleanup_interval`` seconds; so is one whose request (headers and body) is
  still not read whole ``request_timeout`` seconds after its first byte, however slowly it
  trickles in (waitress alone would keep such a client: each byte counts as activity);
- request headers are capped at ``max_request_header_size`` and bodies at
  ``max_request_body_size`` (waitress answers 413 before the application sees them).

Descriptors and memory are therefore bounded whatever the number of requests. To run the same
application under another server, see :mod:`runtime.web.wsgi`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from waitress import trigger, wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, TcpWSGIServer, create_server

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class ServerSettings:
    """Waitress adjustments (names as waitress spells them), and ``request_timeout``."""

    threads: int = 8
    connection_limit: int = 100
    channel_timeout: int = 30
    cleanup_interval: int = 10
    backlog: int = 128
    max_request_header_size: int = 64 * 1024
    max_request_body_size: int = 2 * 1024 * 1024
    request_timeout: int = 60

    def adjustments(self) -> dict[str, Any]:
        """The settings waitress takes."""
        values = asdict(self)
        del values["request_timeout"]
        return values


class _DeadlineChannel(HTTPChannel):
    """A channel that remembers since when its current, unfinished request is being read."""

    reading_since: float | None = None

    def received(self, data: bytes) -> bool:
        fresh = self.request is None
        result = super().received(data)
        if self.request is None:
            self.reading_since = None  # nothing partial left
        elif fresh or self.reading_since is None:
            self.reading_since = time.time()
        return bool(result)


class _DeadlineServer(TcpWSGIServer):
    """Also closes channels whose request is read for longer than ``request_timeout``."""

    channel_class = _DeadlineChannel
    request_timeout: float = ServerSettings.request_timeout

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - self.request_timeout
        for channel in self.active_channels.values():
            since = getattr(channel, "reading_since", None)
            if since is not None and since < cutoff:
                channel.will_close = True


class HttpServer:
    """``HttpServer(app, host, port).start()`` serves ``app`` until :meth:`stop`."""

    def __init__(
        self, app: WSGIApp, host: str, port: int, settings: ServerSettings | None = None
    ) -> None:
        chosen = settings or ServerSettings()
        self._server = create_server(
            app, host=host, port=port, ident="lsq", clear_untrusted_proxy_headers=True,
            **chosen.adjustments(),
        )
        # create_server builds the listeners; each gets the request deadline (the same class
        # with one more check in its maintenance and a channel that tracks partial requests)
        for listener in list(_socket_map(self._server).values()):
            if type(listener) is TcpWSGIServer:
                listener.__class__ = _DeadlineServer
                listener.request_timeout = chosen.request_timeout
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        """``http://host:port`` as bound (the real port when 0 was asked)."""
        server = self._server
        if hasattr(server, "effective_port"):
            host, port = server.effective_host, server.effective_port
        else:  # several sockets (a host name with several addresses): the first
            host, port = server.effective_listen[0][:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    @property
    def alive(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    def start(self, name: str = "lsq-http") -> None:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``timeout``), close all."""
        if self._stopping:
            return
        self._stopping = True
        server = self._server
        if self._thread is None:
            server.close()
            return
        # Sockets are closed from the server's own loop thread (closing them from here while
        # it waits in select() races with it): first the listeners, then, once the requests
        # in flight are answered, the rest; an empty socket map ends the loop.
        socket_map = _socket_map(server)
        wake = next(d for d in list(socket_map.values()) if isinstance(d, trigger.trigger))
        listeners = [d for d in list(socket_map.values()) if isinstance(d, BaseWSGIServer)]
        _in_loop(wake, lambda: [wasyncore.dispatcher.close(d) for d in listeners])
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        _in_loop(wake, lambda: wasyncore.close_all(socket_map))
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("the HTTP server did not stop in %g s", timeout)


def _in_loop(wake: trigger.trigger, thunk: Callable[[], object]) -> None:
    """Run ``thunk`` on the server's loop thread; here when its wake-up pipe is already
    closed (the loop ended on its own: nothing can race with it any more). Seen in CI as
    ``OSError: [Errno 9] Bad file descriptor`` from ``pull_trigger`` during a stop."""
    try:
        wake.pull_trigger(thunk)
    except OSError:
        logger.debug("the HTTP server's loop has stopped; closing from this thread")
        thunk()


def _socket_map(server: Any) -> dict[int, Any]:
    """The socket map of a single listener or of several (MultiSocketServer)."""
    return getattr(server, "_map", None) or server.map


__all__ = ["HttpServer", "ServerSettings", "WSGIApp"]
