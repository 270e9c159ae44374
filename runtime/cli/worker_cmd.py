"""``lsq worker`` and ``lsq receive``: the roles of a deployment on several machines.

- ``lsq worker WORKFLOW... --database URL [--public-url URL] [--concurrency N] [--lanes N]
  [--poll-interval S]``: runs inbox items, polls and subscriptions of the workflows, taking
  jobs from the shared PostgreSQL database (procrastinate); start any number, anywhere.
  ``--lanes``: how many drains of one trigger instance run at once in the whole cluster.
- ``lsq receive --database URL [--host] [--port] [--threads N] [--connection-limit N]
  [--channel-timeout S] [--request-timeout S]``: the stateless webhook receiver (the WSGI
  app ``runtime.web.wsgi:create_app``: ``/hooks``, ``/healthz``, here under the service's
  waitress server); start any number behind a load balancer whose address is the workers'
  ``--public-url``.

Both need PostgreSQL (``lsq db upgrade`` first) and the ``[workers]`` extra; ``lsq serve``
stays the all-in-one process that needs neither.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from runtime.cli.arguments import base_url, port, positive_int, positive_seconds
from runtime.cli.common import add_connection_option, database_option, open_storage_for
from runtime.cli.run_cmd import add_http_options, add_poll_interval_option, http_settings
from runtime.cli.serve_observe import DEFAULT_SUMMARY_EVERY
from runtime.errors import ConfigurationError

INSTALL_HINT = "pip install 'leadsquared-connector[workers]'"


def register(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker", help="run workflows' jobs from the shared PostgreSQL database (any number)"
    )
    worker.add_argument("workflows", nargs="+", metavar="WORKFLOW", help="workflow files (YAML)")
    worker.add_argument(
        "--public-url", metavar="URL", type=base_url,
        help="where LeadSquared reaches the receivers (needed for instant triggers)",
    )
    worker.add_argument("--concurrency", type=positive_int, default=4, metavar="N",
                        help="jobs this process runs at once (default 4)")
    worker.add_argument(
        "--lanes", type=positive_int, default=2, metavar="N",
        help="drains of one trigger instance at a time in the whole cluster (default 2)",
    )
    add_poll_interval_option(worker)
    worker.add_argument("--quiet", action="store_true",
                        help="no progress lines (warnings and errors still go to stderr)")
    worker.add_argument(
        "--summary-every", type=positive_seconds, default=DEFAULT_SUMMARY_EVERY,
        metavar="SECONDS", help="seconds between summary lines (default 60)",
    )
    add_connection_option(worker)
    worker.set_defaults(func=run_worker)

    receive = commands.add_parser(
        "receive", help="receive webhooks into the shared PostgreSQL database (any number)"
    )
    receive.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    receive.add_argument("--port", type=port, default=8080, help="port (default 8080; 0 = any)")
    add_http_options(receive)
    receive.set_defaults(func=run_receiver)


def _require_database(args: argparse.Namespace, command: str) -> str:
    from runtime.cli import UsageError

    url = database_option(args)
    if url is None:
        raise UsageError(
            f"lsq {command} needs --database postgresql://... (or LSQ_DATABASE_URL); "
            "on one machine, `lsq serve` needs no database"
        )
    try:
        import runtime.workers.tasks  # noqa: F401  (procrastinate)
    except ImportError:
        raise ConfigurationError("the job queue is not installed (procrastinate)",
                                 hint=INSTALL_HINT) from None
    return url


def run_worker(args: argparse.Namespace) -> int:
    from runtime.cli.run_cmd import client_pool, load_workflows
    from runtime.engine.service import WorkflowService
    from runtime.plugin.manifest import load_manifest
    from runtime.workers.worker import run

    url = _require_database(args, "worker")
    manifest = load_manifest()
    workflows = load_workflows(manifest, args.workflows)
    with open_storage_for(args) as storage, client_pool(args) as clients:
        from runtime.workflows.runner import WorkflowRunner

        service = WorkflowService(
            workflows, WorkflowRunner(manifest, clients, storage.history), storage.state,
            public_url=args.public_url, default_poll_interval=args.poll_interval,
        )
        with _progress(args, service) as ready:
            run(url, service, storage, public_url=args.public_url,
                concurrency=args.concurrency, lanes=args.lanes,
                say=lambda line: print(line, flush=True), ready=ready)
    print("stopped", file=sys.stderr, flush=True)
    return 0


@contextlib.contextmanager
def _progress(args: argparse.Namespace, service: object) -> Iterator[Callable[[], None] | None]:
    """``lsq serve``'s progress lines for this worker's runs, polls and failures (none with
    ``--quiet``); yields what starts them once the start-up lines are out."""
    if args.quiet:
        yield None
        return
    from runtime.observe.events import BUS
    from runtime.observe.progress import Progress

    progress = Progress(sys.stdout, json_lines=False, summary_every=args.summary_every,
                        backlog=service.backlog)  # type: ignore[attr-defined]
    progress.hold()  # the first polls' lines come after the start-up lines
    unsubscribe = BUS.subscribe(progress)
    try:
        yield progress.start
    finally:
        progress.stop()
        unsubscribe()


def run_receiver(args: argparse.Namespace) -> int:
    """The receiver front of :mod:`runtime.web.wsgi` under the service's waitress server."""
    import os

    from runtime.engine.http_server import HttpServer
    from runtime.web.wsgi import create_app

    url = _require_database(args, "receive")
    server = HttpServer(create_app({**os.environ, "LSQ_DATABASE_URL": url}), args.host,
                        args.port, http_settings(args))
    with _signalled() as stop:
        server.start("lsq-receiver")
        try:
            print(f"receiving webhooks at {server.url}; stop with Ctrl-C or SIGTERM", flush=True)
            stop.wait()
        finally:
            server.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


@contextlib.contextmanager
def _signalled() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs (the handlers restored after)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
