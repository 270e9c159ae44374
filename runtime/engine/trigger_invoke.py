"""Run one trigger once, for ``lsq invoke trigger``: one poll, or an instant trigger's samples.

Polling triggers: one poll of the trigger instance (runtime.engine.trigger_instance) through
:class:`~runtime.engine.polling.PollingEngine` on the state store. Without ``commit`` it is a
dry run that writes nothing: a time-based poll is fetched and not committed; a list snapshot
(which the engine commits page by page) runs on a throwaway copy of the instance's state. With
``commit`` the poll is committed as ``lsq serve`` commits it: the cursor moves and the new
events are queued in the inbox. Instant triggers: ``sample(client, config, limit)``, recent
real records. Every event goes through the module's ``events()`` and is checked against the
trigger's output schema before it is returned.
"""

from __future__ import annotations

import tempfile
import types
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runtime.api.lsq_format import parse_datetime
from runtime.engine.polling import PolledEvent, PollingEngine
from runtime.engine.trigger_instance import trigger_instance
from runtime.errors import ConfigurationError, OutputValidationError
from runtime.plugin.invoke import prepare_inputs
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from runtime.store.storage import scratch_state

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient
    from runtime.plugin.manifest import Manifest, Operation

DEFAULT_SAMPLE_LIMIT = 3


def invoke_trigger(
    manifest: Manifest,
    key: str,
    config: Mapping[str, Any],
    client: LeadSquaredClient,
    store: StateStore,
    *,
    commit: bool = False,
    since: str | None = None,
    limit: int = DEFAULT_SAMPLE_LIMIT,
) -> dict[str, Any]:
    """Run trigger ``key`` once; a JSON-able report with the events (see the module doc)."""
    trigger = manifest.trigger(key)
    prepared = prepare_inputs(trigger, config)
    module = trigger.handler_module()
    if trigger.kind == "instant":
        return _instant(trigger, module, client, prepared, limit)
    instance = trigger_instance(client, key, prepared, stores=(store,))  # as lsq serve does
    engine = PollingEngine(store)
    if hasattr(module, "fetch_members"):
        if since is not None:
            raise ConfigurationError(
                f"--since does not apply to {key}: a list has no membership times",
                hint="lsq state reset --trigger KEY starts the list over with a new baseline",
            )
        report, polled = _poll_members(engine, instance, module, client, prepared, commit)
    else:
        start_text = since or prepared.get("since")
        start = parse_datetime(start_text) if start_text else None
        report, polled = _poll_time(engine, instance, module, client, prepared, commit, start)
    report["events"] = shape_events(trigger, module, client, prepared, [p.payload for p in polled])
    return {"trigger": key, "kind": "polling", **report}


def _poll_time(
    engine: PollingEngine, instance: str, module: types.ModuleType, client: Any,
    config: Mapping[str, Any], commit: bool, start: datetime | None,
) -> tuple[dict[str, Any], list[PolledEvent]]:
    pending = engine.fetch(instance, module, client, config, start=start)
    polled, conflict = list(pending.events), False
    if commit:
        result = pending.commit()
        handed, conflict = set(result.keys), result.conflict
        polled = [event for event in polled if event.key in handed]
    return _report(instance, commit, pending.baseline, pending.complete, pending.pages,
                   pending.calls, conflict), polled


def _poll_members(
    engine: PollingEngine, instance: str, module: types.ModuleType, client: Any,
    config: Mapping[str, Any], commit: bool,
) -> tuple[dict[str, Any], list[PolledEvent]]:
    if commit:
        result = engine.poll_members(instance, module, client, config)
        handed = set(result.keys)
        polled = [
            PolledEvent(item.event_key, "", None, item.payload)
            for item in Inbox(engine.store).items(instance) if item.event_key in handed
        ]
    else:
        polled = []
        with (
            tempfile.TemporaryDirectory(prefix="lsq-dry-run-") as folder,
            scratch_state(folder, clock=engine.store.clock) as copy,
        ):
            engine.store.copy_instance(instance, copy)
            dry = PollingEngine(copy, members_budget=engine.members_budget)
            result = dry.poll_members(instance, module, client, config, emit=polled.extend)
    return _report(instance, commit, result.baseline, result.complete, result.pages,
                   result.calls, result.conflict), polled


def _report(
    instance: str, commit: bool, baseline: bool, complete: bool, pages: int, calls: int,
    conflict: bool,
) -> dict[str, Any]:
    return {
        "instance_id": instance,
        "committed": commit and not conflict,
        "baseline": baseline,
        "complete": complete,
        "pages": pages,
        "calls": calls,
    }


def _instant(
    trigger: Operation, module: types.ModuleType, client: Any, config: Mapping[str, Any],
    limit: int,
) -> dict[str, Any]:
    sample = getattr(module, "sample", None)
    if not callable(sample):
        raise ConfigurationError(f"trigger {trigger.key} has no sample(client, config, limit)")
    records = list(sample(client, config, limit))
    _check(trigger, records)
    return {"trigger": trigger.key, "kind": "instant", "events": records}


def shape_events(
    trigger: Operation, module: types.ModuleType, client: Any, config: Mapping[str, Any],
    items: Sequence[Any],
) -> list[dict[str, Any]]:
    """Polled or delivered items through the module's ``events()``, each event checked against
    the trigger's output schema (OutputValidationError names every misfit)."""
    events = [event for item in items for event in module.events(client, config, dict(item))]
    _check(trigger, events)
    return events


def _check(trigger: Operation, events: Sequence[Any]) -> None:
    problems = [
        f"events[{index}]{problem[1:]}"
        for index, event in enumerate(events)
        for problem in trigger.output_problems(event)
    ]
    if problems:
        raise OutputValidationError(
            f"{trigger.key} produced events that do not fit "
            f"schemas/{trigger.output_schema_path}",
            problems,
            hint="this is a bug in the trigger module, not in your config",
        )
