"""The receiver's production HTTP stack in a process of its own, under a descriptor limit.

``python -m tests.reliability.serve_front NOFILE`` sets ``RLIMIT_NOFILE`` to ``NOFILE``, builds
:func:`runtime.web.wsgi.create_app` (state from ``$LSQ_STATE_DB``) and serves it with ``lsq
serve``'s :class:`~runtime.engine.http_server.HttpServer` (1 s channel timeout, checked every
second); prints its URL, then serves until stdin closes.
"""

from __future__ import annotations

import resource
import sys

from runtime.engine.http_server import HttpServer, ServerSettings
from runtime.web.wsgi import create_app


def main(nofile: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    server = HttpServer(create_app(), "127.0.0.1", 0,
                        ServerSettings(channel_timeout=1, cleanup_interval=1))
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
