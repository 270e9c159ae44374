"""What the runtime reports as it works, and the process-wide bus that carries it.

The runtime's layers emit small frozen events (an API call answered, a governor wait, a poll,
a finished run, a failure) to :data:`BUS`; listeners (metrics, terminal progress) subscribe
while they need them, as logging handlers do. With no listener, emitting costs one truth test
(``if BUS.listeners:``), so the hot path builds no event at all.

Events carry names, counts, durations and classified errors, never a secret or a record's
field values: a run names its trigger record by its event key (record id and time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP request to LeadSquared answered (or failed on the network).

    ``status`` is the HTTP status (``"200"``) or ``"timeout"`` / ``"network"``; ``limited``
    is True for a rate-limit answer (429, or 403 "exceeded the limit").
    """

    operation: str
    status: str
    seconds: float
    limited: bool = False


@dataclass(frozen=True, slots=True)
class GovernorWait:
    """A call waited ``seconds`` for the account's rate budget (``bulk``: the bulk budget)."""

    seconds: float
    bulk: bool


@dataclass(frozen=True, slots=True)
class Problem:
    """A classified error as reported: category (``auth``, ``transient``...), message, step."""

    category: str
    message: str
    step: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A workflow run ended (``outcome``: succeeded, failed or completed_with_errors).

    ``record`` is the trigger record's event key (``None`` for a manual run or a retry);
    ``retry_of``: the run this one retried.
    """

    workflow: str
    trigger: str
    instance: str | None
    record: str | None
    outcome: str
    seconds: float
    run_id: int | None = None
    error: Problem | None = None
    retry_of: int | None = None


@dataclass(frozen=True, slots=True)
class PollFinished:
    """A poll of a trigger instance committed; ``started`` is its wall-clock start (epoch s).

    ``complete`` is False when the call budget cut the query short (it resumes next poll).
    """

    trigger: str
    instance: str
    events: int
    baseline: bool
    complete: bool
    started: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Failure:
    """Work outside a run failed: a poll (``where="poll"``) or processing an inbox item
    (``where="item"``: its ``events()``, or running it); ``outcome`` says what happens next
    (``retry``, ``failed``: dead-lettered)."""

    where: str
    trigger: str
    instance: str
    problem: Problem
    outcome: str = "retry"


@dataclass(frozen=True, slots=True)
class WebhookAnswered:
    """The receiver answered a request with ``status`` (200 stored or duplicate, 401 refused,
    404 unknown path, 503 storage unavailable...)."""

    status: int


Event = ApiCall | GovernorWait | RunFinished | PollFinished | Failure | WebhookAnswered
Listener = Callable[[Event], None]


class Bus:
    """Listeners of the process's events; emitting never raises into the emitter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Read without the lock on the hot path: a tuple, replaced whole on (un)subscribe.
        self.listeners: tuple[Listener, ...] = ()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; returns the function that removes it."""
        with self._lock:
            self.listeners = (*self.listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self.listeners = tuple(x for x in self.listeners if x is not listener)

        return unsubscribe

    @contextmanager
    def listening(self, listener: Listener) -> Iterator[Listener]:
        """``with BUS.listening(metrics):`` subscribes for the block."""
        unsubscribe = self.subscribe(listener)
        try:
            yield listener
        finally:
            unsubscribe()

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every listener; a listener's error is logged, never raised."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("observer %r failed on %s", listener, type(event).__name__)


BUS = Bus()


def emit(event: Event) -> None:
    """Emit ``event`` on the process bus (callers on hot paths test ``BUS.listeners`` first)."""
    if BUS.listeners:
        BUS.emit(event)


def problem_of(error: object, *, step: str | None = None) -> Problem:
    """The :class:`Problem` of a recorded error dict (``category``, ``message``) or exception."""
    if isinstance(error, dict):
        return Problem(
            str(error.get("category") or "internal"), str(error.get("message") or ""),
            step=step or (str(error["step"]) if error.get("step") else None),
        )
    category = getattr(error, "category", None) or "internal"
    message = str(error) if category != "internal" else f"{type(error).__name__}: {error}"
    return Problem(str(category), message, step=step)


__all__ = [
    "BUS",
    "ApiCall",
    "Bus",
    "Event",
    "Failure",
    "GovernorWait",
    "Listener",
    "PollFinished",
    "Problem",
    "RunFinished",
    "WebhookAnswered",
    "emit",
    "problem_of",
]
