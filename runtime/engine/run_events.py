"""Where a run's event comes from: trigger modules, their instances, and `lsq run`'s event.

A trigger module (``triggers/<key>.py``) follows the contract in design.md: ``events(client,
config, item)`` turns one inbox item into events, ``event_key(item)``; polling modules add a
polling source (``fetch_page`` or ``fetch_members``), instant modules ``webhook`` and
``sample(client, config, limit)``.

``lsq run`` without ``--event`` picks ONE real event (:func:`latest_event`):

- instant trigger: its most recent real record, ``sample(client, config, 1)``;
- polling trigger: one real poll through :class:`~runtime.engine.polling.PollingEngine`, in a
  throwaway state store (so it never moves the cursor ``lsq serve`` keeps), with a start time
  so that it is not a baseline: :data:`POLL_LOOKBACK` ago, else (no change in that window)
  :data:`ALL_TIME`; the newest polled item goes through ``events()``. A list trigger (snapshot
  diff: a first scan is always a baseline) reads its first page of members instead. When
  that finds nothing and the module has ``sample(client, config, 1)``, the sample is used.
  Nothing at all -> ConfigurationError asking for ``--event``.
"""

from __future__ import annotations

import tempfile
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runtime.clock import utc_now
from runtime.engine.polling import PollingEngine
from runtime.engine.trigger_instance import trigger_instance
from runtime.errors import ConfigurationError, InputValidationError
from runtime.plugin.invoke import prepare_inputs
from runtime.store.storage import scratch_state

if TYPE_CHECKING:
    from runtime.plugin.manifest import Manifest
    from runtime.workflows.workflow import Workflow

POLL_LOOKBACK = timedelta(days=30)
"""How far back `lsq run`'s poll of a time-based trigger first looks for the newest change."""
ALL_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""Where it looks next when the last :data:`POLL_LOOKBACK` had no change."""


@dataclass(frozen=True)
class ChosenEvent:
    """An event for one run and where it came from (``event-file``, ``sample``, ``poll``)."""

    event: dict[str, Any]
    origin: str
    note: str


def trigger_module(manifest: Manifest, key: str) -> types.ModuleType:
    """The trigger's module (ConfigurationError for an unknown key)."""
    return manifest.trigger(key).handler_module()


def is_polling(module: types.ModuleType) -> bool:
    """Whether a trigger module is a polling source."""
    return hasattr(module, "fetch_page") or hasattr(module, "fetch_members")


def trigger_config(manifest: Manifest, workflow: Workflow) -> dict[str, Any]:
    """The workflow's trigger config, validated, with the config schema's defaults filled in."""
    return prepare_inputs(manifest.trigger(workflow.trigger.key), dict(workflow.trigger.config))


def workflow_instance(
    workflow: Workflow, client: Any, config: Mapping[str, Any], *, stores: Iterable[Any] = ()
) -> str:
    """The state-store instance id of a workflow's trigger (``config`` as prepared) on
    ``client``'s account: the same id ``lsq hooks`` and ``lsq state`` use (state of its
    former id in ``stores`` is moved to it, see runtime.engine.trigger_instance)."""
    return trigger_instance(client, workflow.trigger.key, config, stores=stores)


def check_event(manifest: Manifest, key: str, event: Any, where: str) -> dict[str, Any]:
    """``event`` if it fits the trigger's output (one event) schema, else InputValidationError."""
    problems = manifest.trigger(key).output_problems(event)
    if problems:
        raise InputValidationError(
            f"{where} is not a '{key}' event", problems,
            hint=f"an event has the shape of schemas/triggers/{key}.output.json",
        )
    return dict(event)


def latest_event(manifest: Manifest, workflow: Workflow, client: Any) -> ChosenEvent:
    """One real event for ``lsq run`` without ``--event`` (see the module doc)."""
    key = workflow.trigger.key
    module = trigger_module(manifest, key)
    config = trigger_config(manifest, workflow)
    if is_polling(module):
        polled = _poll_newest(key, module, client, config)
        if polled is not None:
            note = polled.note + _identity(manifest, key, polled.event)
            return ChosenEvent(polled.event, polled.origin, note)
    sample = getattr(module, "sample", None)
    if callable(sample):
        records = sample(client, config, 1)
        if records:
            what = "a poll found no recent change; " if is_polling(module) else ""
            event = dict(records[0])
            note = f"{what}the most recent record{_identity(manifest, key, event)}"
            return ChosenEvent(event, "sample", note)
    raise ConfigurationError(
        f"trigger '{key}' found no record to run on",
        hint="pass an event with --event FILE (JSON, the trigger's event shape)",
    )


def _poll_newest(
    key: str, module: types.ModuleType, client: Any, config: Mapping[str, Any]
) -> ChosenEvent | None:
    """One poll in a throwaway store; the newest item's first event, or None.

    Time-based: changes of the last :data:`POLL_LOOKBACK`, else of all time (the engine's page
    budget bounds it). Membership: a first scan is a baseline, so the first page of members is
    read directly (a list has no "newest": its first member is taken).
    """
    if not hasattr(module, "fetch_page"):
        members = list(module.fetch_members(client, config, 1).items)
        return _first_event(module, client, config, members[:1], "a member of the list")
    for start in (utc_now() - POLL_LOOKBACK, ALL_TIME):
        with (
            tempfile.TemporaryDirectory(prefix="lsq-run-") as folder,
            scratch_state(folder) as store,
        ):
            pending = PollingEngine(store).fetch(
                f"{key}-{'0' * 20}", module, client, config, start=start
            )  # the store is thrown away: the cursor of `lsq serve` never moves
        items = [dict(polled.payload) for polled in reversed(pending.events)]  # newest first
        chosen = _first_event(module, client, config, items, "the newest change found by a poll")
        if chosen is not None:
            return chosen
    return None


def _identity(manifest: Manifest, key: str, event: Mapping[str, Any]) -> str:
    """`` (lead_id 5b0a...)``: the event's dedupe-key fields, to tell which record ran."""
    parts = [f"{name} {event[name]}" for name in manifest.trigger(key).dedupe_key
             if event.get(name) not in (None, "")]
    return f" ({', '.join(parts)})" if parts else ""


def _first_event(
    module: types.ModuleType, client: Any, config: Mapping[str, Any],
    items: list[Mapping[str, Any]], note: str,
) -> ChosenEvent | None:
    for item in items:
        events = module.events(client, config, dict(item))
        if events:
            return ChosenEvent(dict(events[0]), "poll", note)
    return None


__all__ = [
    "POLL_LOOKBACK",
    "ChosenEvent",
    "check_event",
    "is_polling",
    "latest_event",
    "trigger_config",
    "trigger_module",
    "workflow_instance",
]
