"""``lsq ui [--host 127.0.0.1] [--port 8081]``: the run-history page alone, read-only.

It reads the same store as ``lsq serve`` (``--database``, ``LSQ_STATE_DB``, ``LSQ_HISTORY_DB``)
and serves the page under waitress until Ctrl-C. It has no workflow files or connection, so it
offers no Retry (the run page shows the ``lsq runs retry`` command; ``lsq serve`` has the
button). Beyond loopback it needs ``LSQ_UI_TOKEN``; without it, it refuses to start.
"""

from __future__ import annotations

import argparse
import os

from runtime.cli.arguments import port
from runtime.cli.common import open_storage_for
from runtime.errors import ConfigurationError

DEFAULT_PORT = 8081


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ui", help="serve the run-history page (read-only)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from runtime.ui.app import RunHistoryPage
    from runtime.ui.security import TOKEN_ENV
    from runtime.ui.serving import exposure, serve_read_only

    token = exposure(args.host, os.environ.get(TOKEN_ENV))
    with open_storage_for(args) as storage:
        shared = storage.backend == "postgresql"  # the command names the database (no password)
        page = RunHistoryPage(storage.history, storage.state, token=token,
                              retry_options=f" --database {storage.location}" if shared else "")

        def ready(url: str) -> None:
            print(f"run-history page (read-only) at {url}/ for {storage.location}", flush=True)
            print("stop with Ctrl-C", flush=True)

        try:
            serve_read_only(page, args.host, args.port, ready=ready)
        except OSError as problem:
            raise ConfigurationError(
                f"cannot serve on {args.host}:{args.port}: {problem.strerror or problem}",
                hint="choose another --port") from None
        except KeyboardInterrupt:
            pass
    return 0
