"""The service's health: what ``GET /healthz`` answers.

Healthy (``ok``) while the process can do its job: the receiver serves (when an instant
trigger is served), no thread of the service died, storage answers and neither the worker nor
the receiver met a storage fault since their last success, and the oldest unsettled (pending
or processing) inbox item of the served instances is younger than ``max_pending_age``
seconds. A standby service (its instances served by another process) is healthy: it takes
over when that one stops.

The report names each part and its state; it never holds a secret or a payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.clock import from_iso, utc_now
from runtime.engine.ownership import Ownership
from runtime.engine.supervision import Supervisor
from runtime.errors import ConnectorError
from runtime.store.inbox import Inbox

DEFAULT_MAX_PENDING_AGE = 900.0


@dataclass(frozen=True)
class Health:
    """``ok`` and the report (a JSON object)."""

    ok: bool
    report: dict[str, Any] = field(default_factory=dict)


class Checked(Protocol):
    """What the check reads of a service (:class:`~runtime.engine.service.WorkflowService`)."""

    supervisor: Supervisor
    inbox: Inbox
    ownership: Ownership
    bindings: Mapping[str, Any]

    @property
    def storage_fault(self) -> str | None: ...

    @property
    def max_pending_age(self) -> float: ...

    @property
    def receiving(self) -> bool: ...

    @property
    def receiver_alive(self) -> bool: ...


def service_health(service: Checked) -> Health:
    """Check every part of ``service`` (one small query for the oldest item)."""
    problems: list[str] = []
    threads = {name: "alive" for name in service.supervisor.threads}
    for name, reason in service.supervisor.dead().items():
        threads[name] = f"dead: {reason}"
        problems.append(f"{name} died")
    receiver = "off"
    if service.receiving:
        receiver = "up" if service.receiver_alive else "down"
        if receiver == "down":
            problems.append("the receiver is down")
    storage, age, trouble = inbox_health(
        service.inbox, list(service.bindings), service.max_pending_age, service.storage_fault
    )
    problems += trouble
    report = {
        "status": "ok" if not problems else "failing",
        "problems": problems,
        "receiver": receiver,
        "threads": threads,
        "storage": storage,
        "instances": {
            instance: "serving" if service.ownership.holds(instance) else "standby"
            for instance in service.bindings
        },
        "oldest_pending_age_seconds": None if age is None else round(age, 3),
        "max_pending_age_seconds": service.max_pending_age,
    }
    return Health(not problems, report)


def inbox_health(
    inbox: Inbox,
    instances: list[str] | None,
    max_pending_age: float,
    storage_fault: str | None = None,
) -> tuple[str, float | None, list[str]]:
    """Storage state, the age in seconds of the oldest unsettled item (of ``instances``, else
    of all), and the problems among them."""
    storage, age, problems = "ok", None, []
    try:
        oldest = inbox.oldest_unsettled(instances)
        if oldest is not None:
            age = max(0.0, (utc_now() - from_iso(oldest)).total_seconds())
    except ConnectorError as problem:
        storage = f"unavailable: {problem}"
    if storage_fault is not None and storage == "ok":
        storage = f"unavailable: {storage_fault}"
    if storage != "ok":
        problems.append("storage is unavailable")
    if age is not None and age > max_pending_age:
        problems.append(
            f"the oldest pending item is {age:.0f} s old (bound {max_pending_age:g} s)"
        )
    return storage, age, problems


__all__ = ["DEFAULT_MAX_PENDING_AGE", "Health", "inbox_health", "service_health"]
