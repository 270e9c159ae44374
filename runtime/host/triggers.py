"""The host API's triggers: one poll, and a webhook delivery verified and parsed.

Every event comes with a key that is the same whenever a poll or a delivery brings the same
record version (the trigger's ``event_key``; opportunity-update webhooks, which carry no
modification time, get one key per delivery): a host that stores events by key sees each
once. A poll hands its new events to the
host's ``deliver`` callback and only then moves the cursor (kept in a SQLite state file), so
a crash or an exception in ``deliver`` loses nothing: the next poll hands on the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.api.client import LeadSquaredClient
from runtime.api.lsq_format import parse_datetime
from runtime.engine.polling import PolledEvent, PollingEngine
from runtime.engine.receiver import (
    DEFAULT_MAX_BODY_BYTES,
    SECRET_HEADER,
    MalformedBody,
    event_key_of,
    parse_events,
    secret_matches,
)
from runtime.engine.trigger_instance import trigger_instance
from runtime.engine.trigger_invoke import shape_events
from runtime.errors import ConfigurationError, InputValidationError
from runtime.host.actions import load_manifest
from runtime.plugin.invoke import prepare_inputs
from runtime.plugin.manifest import Manifest, Operation
from runtime.store.state import StateStore


@dataclass(frozen=True)
class Event:
    """One trigger event: ``data`` fits the trigger's output schema; ``key`` identifies it."""

    key: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PollSummary:
    """What one poll did. A first poll without ``since`` is a ``baseline``: it records what
    exists and delivers nothing. Not ``complete``: the budget ran out; poll again to go on."""

    instance_id: str
    delivered: int
    baseline: bool
    complete: bool


def poll(
    client: LeadSquaredClient,
    key: str,
    config: Mapping[str, Any],
    state: str | Path,
    deliver: Callable[[list[Event]], None],
    *,
    since: str | None = None,
    manifest: Manifest | None = None,
) -> PollSummary:
    """One poll of polling trigger ``key``; ``state`` is the SQLite file of its cursors.

    ``since`` (UTC ``yyyy-MM-dd HH:mm:ss`` or ISO 8601) is a first poll's start time.
    """
    trigger = _trigger(manifest, key, "polling")
    prepared = prepare_inputs(trigger, config)
    module = trigger.handler_module()

    def emit(polled: Sequence[PolledEvent]) -> None:
        events = [
            Event(f"{item.key}#{index}", event)
            for item in polled
            for index, event in enumerate(
                shape_events(trigger, module, client, prepared, [item.payload])
            )
        ]
        if events:
            deliver(events)

    with StateStore(state) as store:
        engine = PollingEngine(store)
        instance = trigger_instance(client, key, prepared)
        if hasattr(module, "fetch_members"):
            if since is not None:
                raise ConfigurationError(f"since does not apply to {key}: a list has no times")
            result = engine.poll_members(instance, module, client, prepared, emit=emit)
        else:
            start_text = since or prepared.get("since")
            start = parse_datetime(start_text) if start_text else None
            result = engine.poll(instance, module, client, prepared, emit=emit, start=start)
    return PollSummary(instance, result.emitted, result.baseline, result.complete)


def verify_delivery(secret: str, headers: Mapping[str, str]) -> bool:
    """Whether a webhook request carries the subscription's ``secret`` in ``SECRET_HEADER``
    (compared in constant time; header names in any case)."""
    wanted = SECRET_HEADER.lower()
    provided = next((value for name, value in headers.items() if name.lower() == wanted), None)
    return secret_matches(secret, provided)


def parse_delivery(
    client: LeadSquaredClient,
    key: str,
    config: Mapping[str, Any],
    body: bytes,
    content_type: str | None,
    *,
    manifest: Manifest | None = None,
) -> list[Event]:
    """A verified delivery's body (JSON, form or text holding JSON; at most 1 MiB) as events of
    instant trigger ``key``; InputValidationError for a body that is none of these."""
    trigger = _trigger(manifest, key, "instant")
    prepared = prepare_inputs(trigger, config)
    if len(body) > DEFAULT_MAX_BODY_BYTES:
        raise InputValidationError(
            f"webhook delivery for {key}: the body is larger than {DEFAULT_MAX_BODY_BYTES} bytes"
        )
    try:
        items = parse_events(body, content_type)
    except MalformedBody as problem:
        raise InputValidationError(f"webhook delivery for {key}: {problem}") from None
    module = trigger.handler_module()
    events = []
    for item in items:
        item_key = event_key_of(getattr(module, "event_key", None), item, key)
        shaped = shape_events(trigger, module, client, prepared, [item])
        events += [Event(f"{item_key}#{index}", event) for index, event in enumerate(shaped)]
    return events


def _trigger(manifest: Manifest | None, key: str, kind: str) -> Operation:
    trigger = (manifest or load_manifest()).trigger(key)
    if trigger.kind != kind:
        raise ConfigurationError(f"{key} is a {trigger.kind} trigger, not a {kind} one")
    return trigger
