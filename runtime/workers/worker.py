"""One ``lsq worker`` process: subscribe what it may, then take jobs until SIGTERM/SIGINT.

On SIGTERM or SIGINT procrastinate stops fetching jobs and waits (at most
``SHUTDOWN_SECONDS``) for the running ones; an item it could not finish is handed out again.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from runtime.engine.service import WorkflowService
from runtime.store.storage import Storage
from runtime.workers.node import PARALLEL_DRAINS, Node
from runtime.workers.schema import require_queue_schema
from runtime.workers.tasks import QUEUE, Sweeper, build_app

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 30.0


def run(
    url: str,
    service: WorkflowService,
    storage: Storage,
    *,
    public_url: str | None,
    concurrency: int,
    lanes: int = PARALLEL_DRAINS,
    say: Callable[[str], None],
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve ``service``'s trigger instances as one worker of the cluster, until stopped
    (``ready()`` after the start-up lines: the progress lines may follow)."""
    node = Node(service, storage, parallel_drains=lanes)
    tasks = build_app(url, node)
    app = tasks.app
    with app.open():
        require_queue_schema(app)
    released = node.inbox.release_orphaned_claims()
    subscribed = node.subscribe(public_url)
    name = f"{socket.gethostname()}/{os.getpid()}"
    say(f"worker {name}: {len(node.bindings)} trigger instance(s), concurrency {concurrency}"
        + (f", subscribed {len(subscribed)}" if subscribed else "")
        + (f", {released} event(s) of stopped processes handed back" if released else ""))
    for binding in node.bindings.values():
        how = f"polling every {binding.interval:g} s" if binding.polling else "instant"
        names = ", ".join(workflow.name for workflow in binding.workflows)
        say(f"{binding.trigger_key} [{binding.instance}]: {how} -> {names}")
    sweeper = Sweeper(tasks, node)
    sweeper.start()
    say("working; stop with Ctrl-C or SIGTERM")
    if ready is not None:
        ready()
    try:
        app.run_worker(
            queues=[QUEUE], concurrency=concurrency, name=name, delete_jobs="successful",
            shutdown_graceful_timeout=SHUTDOWN_SECONDS, install_signal_handlers=True,
            fetch_job_polling_interval=1.0,
        )
    finally:
        sweeper.stop()


__all__ = ["SHUTDOWN_SECONDS", "run"]
