"""One claimed inbox item, processed: the unit of work every worker shares.

:func:`process_item` turns a claimed item into events with the trigger module's ``events()``,
runs every workflow of the target once per event (run history keyed by ``(workflow, instance,
"<item key>#<n>")``: an item handed out again never runs an event twice) and settles the
item. It never lets a failure escape except :class:`~runtime.errors.StorageUnavailable`:

- a retriable connector error (``events()`` could not read LeadSquared), or anything that is
  not a connector error (the runner, a bug): the item goes back to ``pending`` while it has
  attempts left (``max_attempts``; a run already recorded is never repeated), then it is
  **dead-lettered**: ``failed`` in the inbox with the error (``lsq state show``), and one
  ``failed`` run per workflow recorded with the classified error (``lsq runs list``);
- a connector error that is not retriable (``events()`` met a permanent error): dead-lettered
  at once;
- :class:`StorageUnavailable` (disk full, locked, read-only): nothing could be settled; the
  caller backs off and hands the item back with :meth:`Inbox.release` once storage works.

Callers: the service's worker thread (:mod:`runtime.engine.service`) and any other worker (a
task queue) that claims items by id. The function holds no state of its own.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from runtime.clock import to_iso, utc_now
from runtime.engine import observing
from runtime.errors import ConnectorError, StorageUnavailable
from runtime.store.inbox import Inbox, InboxItem
from runtime.workflows.runner import RunRecord, WorkflowRunner, describe_error

if TYPE_CHECKING:
    from runtime.workflows.workflow import Workflow

logger = logging.getLogger(__name__)

DEAD_LETTER_SUFFIX = "#dead-letter@"
"""Event keys of the failed runs that record a dead-lettered item end with this and a time."""


class Target(Protocol):
    """What an item is processed for: one trigger instance and the workflows it starts."""

    instance: str
    trigger_key: str
    module: types.ModuleType
    config: dict[str, Any]
    client: Any
    workflows: list[Workflow]


@dataclass
class Outcome:
    """How one item ended: ``done``, ``retry`` (pending again), ``dead`` (failed for good)
    or ``lost`` (another worker holds the claim now); the runs it recorded; the error."""

    status: str
    runs: list[RunRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None


def process_item(
    inbox: Inbox, runner: WorkflowRunner, target: Target, item: InboxItem, *,
    settle_later: bool = False,
) -> Outcome:
    """Run ``target``'s workflows for one claimed ``item`` and settle it (see the module);
    ``settle_later``: a success is settled with the worker's next claim
    (:meth:`Inbox.mark_done`)."""
    redact = runner.clients.redact
    runs: list[RunRecord] = []
    try:
        events = target.module.events(target.client, target.config, item.payload)
        origin = "webhook" if item.delivery_id is not None else "poll"
        for index, event in enumerate(events):
            for workflow in target.workflows:
                inbox.keep_claim(item)
                record = runner.run(
                    workflow, event, origin=origin, instance_id=target.instance,
                    event_key=f"{item.event_key}#{index}",
                )
                if record is not None:
                    runs.append(record)
    except StorageUnavailable:
        raise
    except Exception as problem:  # every failure is settled, none escapes the worker
        error = redact(describe_error(problem))
        if not isinstance(problem, ConnectorError):
            logger.exception("inbox item %s raised unexpectedly", item.id)
        retry = getattr(problem, "retriable", True) or not isinstance(problem, ConnectorError)
        outcome = _settle_failure(inbox, runner, target, item, error, runs, retry=retry)
        observing.item_failed(target.trigger_key, target.instance, problem, redact,
                              outcome.status)
        if outcome.status == "dead":
            observing.runs_recorded(r for r in outcome.runs if r.event_key and
                                    DEAD_LETTER_SUFFIX in r.event_key)
        return outcome
    if not inbox.mark_done(item, later=settle_later):
        logger.warning("inbox item %s: claim lost before it was marked done", item.id)
        return Outcome("lost", runs)
    return Outcome("done", runs)


def _settle_failure(
    inbox: Inbox,
    runner: WorkflowRunner,
    target: Target,
    item: InboxItem,
    error: dict[str, Any],
    runs: list[RunRecord],
    *,
    retry: bool,
) -> Outcome:
    message = f"{error.get('category')}: {error.get('type')}: {error.get('message')}"
    status = inbox.mark_failed(item, message, retry=retry)
    if status is None:
        logger.warning("inbox item %s: claim lost after a failure (%s)", item.id, message)
        return Outcome("lost", runs, error)
    if status == "pending":
        logger.warning("inbox item %s failed (attempt %d of %d), will retry: %s",
                       item.id, item.attempts, inbox.max_attempts, message)
        return Outcome("retry", runs, error)
    logger.error("inbox item %s dead-lettered after %d attempt(s): %s",
                 item.id, item.attempts, message)
    dead = {**error, "inbox_item": item.id, "attempts": item.attempts}
    runs.extend(record_dead_letter(runner, target.workflows, target.instance, item, dead))
    return Outcome("dead", runs, dead)


def record_dead_letter(
    runner: WorkflowRunner,
    workflows: Sequence[Workflow],
    instance: str,
    item: InboxItem,
    error: dict[str, Any],
) -> list[RunRecord]:
    """One ``failed`` run per workflow for a dead-lettered item, so ``lsq runs`` shows it."""
    now = to_iso(utc_now())
    origin = "webhook" if item.delivery_id is not None else "poll"
    event = runner.clients.redact(item.payload if isinstance(item.payload, dict) else {
        "payload": item.payload})
    records = []
    for workflow in workflows:
        record = RunRecord(
            workflow=workflow.name, trigger_key=workflow.trigger.key, origin=origin,
            event=event, instance_id=instance, event_key=item.event_key + DEAD_LETTER_SUFFIX + now,
            started_at=now, status="failed", error=error, finished_at=now, duration_ms=0,
        )
        if runner.history is not None:
            record.run_id = runner.history.start_run(
                workflow=workflow.name, trigger_key=workflow.trigger.key, origin=origin,
                event=event, source=workflow.source, instance_id=instance,
                event_key=record.event_key, started_at=now,
            )
            if record.run_id is None:
                continue
            runner.history.finish_run(record.run_id, status="failed", finished_at=now,
                                      duration_ms=0, error=error)
        records.append(record)
    return records


__all__ = ["DEAD_LETTER_SUFFIX", "Outcome", "Target", "process_item", "record_dead_letter"]
