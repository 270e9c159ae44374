"""Where a run's event comes from: trigger modules, their instances, and `lsq run`'s event.

A trigger module (``triggers/<key>.py``) follows the contract in design.md: ``events(client,
config, item)`` turns one inbox item into events, ``event_key(item)``; polling modules add a
polling source (``fetch_page`` or ``fetch_members``), instant modules ``webhook`` and
``sample(client, config, limit)``.

``lsq run`` without ``--event`` picks ONE real event (:func:`latest_event`):

- instant trigger: its most recent real record, ``sample(client, config, 1)``;
- polling trigger: one real poll through :class:`~runtime.polling.PollingEngine`, in a
  throwaway state store (so it never moves the cursor ``lsq serve`` keeps), starting
  :data:`POLL_LOOKBACK` ago for a time-based source; the newest polled item goes through
  ``events()``. When the poll yields nothing (no change in the window, or a list's first scan,
  which is always a baseline), the module's ``sample(client, config, 1)`` is used, so the
  user still sees a real run on a real record. Neither -> ConfigurationError asking for
  ``--event``.
"""

from __future__ import annotations

import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, InputValidationError
from .polling import PolledEvent, PollingEngine
from .state import StateStore, instance_id, utc_now

if TYPE_CHECKING:
    from .manifest import Manifest
    from .workflow import Workflow

POLL_LOOKBACK = timedelta(days=30)
"""How far back `lsq run`'s one poll of a time-based trigger looks for the newest change."""


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


def trigger_instance(workflow: Workflow, client: Any) -> str:
    """The state-store instance id of a workflow's trigger on ``client``'s account."""
    connection = client.connection
    host = getattr(client, "api_host", None) or connection.api_host
    return instance_id(
        workflow.trigger.key, dict(workflow.trigger.config),
        api_host=host, access_key=connection.access_key,
    )


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
    config = dict(workflow.trigger.config)
    if is_polling(module):
        polled = _poll_newest(key, module, client, config)
        if polled is not None:
            return polled
    sample = getattr(module, "sample", None)
    if callable(sample):
        records = sample(client, config, 1)
        if records:
            what = "a poll found no recent change; " if is_polling(module) else ""
            return ChosenEvent(dict(records[0]), "sample", f"{what}using the most recent record")
    raise ConfigurationError(
        f"trigger '{key}' found no record to run on",
        hint="pass an event with --event FILE (JSON, the trigger's event shape)",
    )


def _poll_newest(
    key: str, module: types.ModuleType, client: Any, config: Mapping[str, Any]
) -> ChosenEvent | None:
    """One poll in a throwaway store; the newest item's first event, or None."""
    items: list[PolledEvent] = []
    instance = f"{key}-{'0' * 20}"  # the store is thrown away: any id will do
    with tempfile.TemporaryDirectory(prefix="lsq-run-") as folder:
        store = StateStore(Path(folder) / "state.sqlite3")
        try:
            engine = PollingEngine(store)
            if hasattr(module, "fetch_page"):
                start = utc_now() - POLL_LOOKBACK
                items = list(engine.fetch(instance, module, client, config, start=start).events)
            else:
                engine.poll_members(instance, module, client, config, emit=items.extend)
        finally:
            store.close()
    for polled in reversed(items):  # newest first
        events = module.events(client, config, dict(polled.payload))
        if events:
            note = f"the newest change found by one poll ({polled.key})"
            return ChosenEvent(dict(events[0]), "poll", note)
    return None


__all__ = [
    "POLL_LOOKBACK",
    "ChosenEvent",
    "check_event",
    "is_polling",
    "latest_event",
    "trigger_instance",
    "trigger_module",
]
