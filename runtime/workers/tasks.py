"""The procrastinate app of a worker process, its two tasks, and the sweeper that defers them.

- ``lsq.drain(instance)``: runs the instance's inbox items. Up to ``parallel_drains`` wait per
  instance at a time (queueing locks ``drain:<instance>:<n>``), so a burst is shared by
  every worker while an idle instance costs nothing;
- ``lsq.poll(instance)``: one poll, then a drain of what it found. Its queueing lock
  ``poll:<instance>`` keeps a late poll from piling up behind a slow one.
- :class:`Sweeper`: a thread of every worker; the one holding the lease ``sweeper`` (any
  worker, taken over within ``SWEEPER_TTL`` when its holder dies) asks the node every second
  what is due and defers the jobs. It runs beside the job slots, so a busy worker never
  delays a poll; and what it defers is safe from any number of sweepers (queueing locks, and
  a poll is due once per interval under a lease).

Successful jobs are deleted (the inbox and the run history are the record); failed ones are
kept for inspection, and the next sweep defers the work again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from runtime.errors import ConnectorError
from runtime.workers.node import Node

logger = logging.getLogger(__name__)

QUEUE = "lsq"
SWEEP_SECONDS = 1.0
SWEEPER_TTL = timedelta(seconds=5)


@dataclass(frozen=True)
class Tasks:
    """The app and its tasks."""

    app: procrastinate.App
    drain: procrastinate.tasks.Task
    poll: procrastinate.tasks.Task


def build_app(url: str, node: Node | None = None) -> Tasks:
    """The app on the database at ``url``; with ``node``, its tasks run that node's work
    (without, the app can only defer jobs)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="lsq.drain", queue=QUEUE)
    def drain(instance: str) -> int:
        return _node(node).drain(instance)

    @app.task(name="lsq.poll", queue=QUEUE, priority=5)
    def poll(instance: str) -> None:
        if _node(node).poll(instance):
            defer(drain, f"drain:{instance}:poll", instance)

    return Tasks(app, drain, poll)


def sweep(tasks: Tasks, node: Node) -> int:
    """One sweep: defer what is due; the number of jobs deferred."""
    due = node.sweep()
    if due.released:
        logger.info("%d event(s) claimed by stopped processes run again", due.released)
    deferred = sum(defer(tasks.poll, f"poll:{instance}", instance) for instance in due.poll)
    for instance in due.drain:
        deferred += sum(defer(tasks.drain, f"drain:{instance}:{n}", instance)
                        for n in range(node.parallel_drains))
    return deferred


class Sweeper(threading.Thread):
    """Sweeps every ``SWEEP_SECONDS`` while this process holds the ``sweeper`` lease."""

    def __init__(self, tasks: Tasks, node: Node) -> None:
        super().__init__(name="lsq-sweeper", daemon=True)
        self.tasks, self.node = tasks, node
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(SWEEP_SECONDS):
            try:
                if self.node.take("sweeper", self.node.owner, SWEEPER_TTL):
                    sweep(self.tasks, self.node)
            except ConnectorError as problem:  # storage down: try again next tick
                logger.warning("sweep failed: %s", problem)
            except Exception:
                logger.exception("sweep failed unexpectedly")

    def stop(self) -> None:
        self.stopping.set()
        self.join(SWEEP_SECONDS * 5)
        with contextlib.suppress(ConnectorError):
            self.node.leases.release("sweeper", self.node.owner)


def defer(task: procrastinate.tasks.Task, lock: str, instance: str) -> bool:
    """Defer ``task(instance)`` unless a job with ``lock`` is already waiting."""
    try:
        task.configure(queueing_lock=lock).defer(instance=instance)
    except AlreadyEnqueued:
        return False
    return True


def _node(node: Node | None) -> Node:
    if node is None:
        raise RuntimeError("this app defers jobs only; `lsq worker` runs them")
    return node


__all__ = ["QUEUE", "Sweeper", "Tasks", "build_app", "defer", "sweep"]
