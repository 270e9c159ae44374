"""The procrastinate app of a worker process and its three tasks.

- ``lsq.sweep`` (periodic, every second, first in line; procrastinate defers one job per
  tick for the whole cluster): asks the node what is due and defers the jobs;
- ``lsq.drain(instance)``: runs the instance's inbox items. Up to ``parallel_drains`` wait per
  instance at a time (queueing locks ``drain:<instance>:<n>``), so a burst is shared by
  every worker while an idle instance costs nothing;
- ``lsq.poll(instance)``: one poll, then a drain of what it found. Its queueing lock
  ``poll:<instance>`` keeps a late poll from piling up behind a slow one.

Successful jobs are deleted (the inbox and the run history are the record); failed ones are
kept for inspection, and the next sweep defers the work again.
"""

from __future__ import annotations

import contextlib
import logging

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from runtime.workers.node import Node

logger = logging.getLogger(__name__)

QUEUE = "lsq"
SWEEP_CRON = "* * * * * *"  # every second (the sixth field is seconds)


def build_app(url: str, node: Node | None = None) -> procrastinate.App:
    """The app on the database at ``url``; with ``node``, its tasks run that node's work
    (without, the app can only defer jobs, e.g. from a receiver)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="lsq.drain", queue=QUEUE)
    def drain(instance: str) -> int:
        return _node(node).drain(instance)

    @app.task(name="lsq.poll", queue=QUEUE, priority=5)
    def poll(instance: str) -> None:
        _node(node).poll(instance)
        defer(drain, f"drain:{instance}:poll", instance)

    @app.periodic(cron=SWEEP_CRON, periodic_id="sweep")
    @app.task(name="lsq.sweep", queue=QUEUE, queueing_lock="sweep", priority=10)
    def sweep(timestamp: int) -> None:
        current = _node(node)
        due = current.sweep()
        if due.released:
            logger.info("%d event(s) claimed by stopped processes run again", due.released)
        for instance in due.poll:
            defer(poll, f"poll:{instance}", instance)
        for instance in due.drain:
            for n in range(current.parallel_drains):
                defer(drain, f"drain:{instance}:{n}", instance)

    return app


def defer(task: procrastinate.tasks.Task, lock: str, instance: str) -> None:
    """Defer ``task(instance)`` unless a job with ``lock`` is already waiting."""
    with contextlib.suppress(AlreadyEnqueued):
        task.configure(queueing_lock=lock).defer(instance=instance)


def _node(node: Node | None) -> Node:
    if node is None:
        raise RuntimeError("this app defers jobs only; `lsq worker` runs them")
    return node


__all__ = ["QUEUE", "build_app", "defer"]
