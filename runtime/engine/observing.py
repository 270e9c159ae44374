"""What the service reports to :mod:`runtime.observe`: poll events, failures, inbox backlog.

The service and the item processing call :func:`poll_finished`, :func:`poll_failed`,
:func:`item_failed` and :func:`runs_recorded` where their work ends; the service hands
:func:`backlog_source` to the metrics and the progress lines, which read the inbox at scrape
(or summary) time through it. Error messages pass through the caller's redactor before they
leave the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from runtime.clock import from_iso, utc_now
from runtime.observe.events import BUS, Failure, PollFinished, RunFinished, problem_of
from runtime.observe.metrics import Backlog
from runtime.store.inbox import Inbox

Redact = Callable[[Any], Any]


class PollClock:
    """The start of one poll: wall time (for lag) and monotonic time (for its duration)."""

    def __init__(self) -> None:
        self.wall, self.begun = time.time(), time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.begun


def poll_finished(trigger: str, instance: str, result: Any, clock: PollClock) -> None:
    """Report a committed poll (a :class:`~runtime.engine.polling.PollResult`)."""
    if BUS.listeners:
        BUS.emit(PollFinished(
            trigger, instance, result.emitted, result.baseline, result.complete,
            clock.wall, clock.seconds,
        ))


def poll_failed(trigger: str, instance: str, problem: BaseException, redact: Redact) -> None:
    """Report a poll that raised (it runs again at its next interval)."""
    _failed("poll", trigger, instance, problem, redact, "retry")


def item_failed(
    trigger: str, instance: str, problem: BaseException, redact: Redact, settled: str
) -> None:
    """Report an inbox item whose processing raised (``events()``, the runner, the history);
    ``settled`` is how :func:`~runtime.engine.processing.process_item` settled it: ``retry``
    (pending again), ``dead`` (dead-lettered) or ``lost`` (another worker holds the claim)."""
    outcome = {"retry": "retry", "dead": "failed"}.get(settled, "claim lost")
    _failed("item", trigger, instance, problem, redact, outcome)


def runs_recorded(records: Iterable[Any]) -> None:
    """Report runs recorded without running (a dead-lettered item's failed runs), so the
    metrics and progress lines agree with the run history."""
    if not BUS.listeners:
        return
    for record in records:
        BUS.emit(RunFinished(
            record.workflow, record.trigger_key, record.instance_id, record.event_key,
            record.status, (record.duration_ms or 0) / 1000, record.run_id,
            problem_of(record.error) if record.error else None,
        ))


def _failed(
    where: str, trigger: str, instance: str, problem: BaseException, redact: Redact, outcome: str
) -> None:
    if BUS.listeners:
        found = problem_of(problem)
        found = type(found)(found.category, redact(found.message), found.step)
        BUS.emit(Failure(where, trigger, instance, found, outcome))


def backlog_source(inbox: Inbox, instances: Iterable[str]) -> Callable[[], list[Backlog]]:
    """A function reading the depth of the ``instances``' inboxes (zeros included; every
    instance in the store when ``instances`` is empty)."""
    served = sorted(set(instances))

    def read() -> list[Backlog]:
        now = utc_now()
        rows: dict[str, dict[str, Any]] = {
            i: {"pending": 0, "failed": 0, "oldest": None} for i in served
        }
        for instance, status, count, oldest in inbox.backlog():
            row = rows.get(instance) if served else rows.setdefault(
                instance, {"pending": 0, "failed": 0, "oldest": None})
            if row is None:
                continue  # another service's instance in the same store
            if status == "failed":
                row["failed"] += count
                continue
            row["pending"] += count  # waiting or being run: not settled yet
            if row["oldest"] is None or oldest < row["oldest"]:
                row["oldest"] = oldest
        return [
            Backlog(
                instance, row["pending"], row["failed"],
                0.0 if row["oldest"] is None
                else max(0.0, (now - from_iso(row["oldest"])).total_seconds()),
            )
            for instance, row in rows.items()
        ]

    return read


__all__ = [
    "PollClock",
    "backlog_source",
    "item_failed",
    "poll_failed",
    "poll_finished",
    "runs_recorded",
]
