"""Pacing calls under the account's rate limit, so callers wait instead of drawing 429s.

LeadSquared counts calls per account in a sliding 5-second window, with a separate budget for
bulk endpoints (reference §3.3). A :class:`RateGovernor` keeps the same count on our side.
A call holds its slot from the moment it starts; when it finishes the slot is stamped with
the finish time and expires one window (plus a small margin) later. Since LeadSquared saw
the call somewhere between start and finish, the next call never lands inside its window,
whatever the network latency.

Every client of the same account in this process shares one governor (:data:`GOVERNORS`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.errors import ConfigurationError
from runtime.observe.events import BUS, GovernorWait

WINDOW_SECONDS = 5.0
SAFETY_MARGIN = 0.05  # seconds added to the window: clocks and timestamps are never exact
_IDLE_POLL = 0.01  # with an injected sleep, how often to look again while all slots are busy


@dataclass
class _Window:
    """One budget: calls in flight plus finish times of recent calls."""

    limit: int
    in_flight: int = 0
    finished: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float, span: float) -> float | None:
        """0 if a slot is free; seconds until one expires; None if only a finish frees one."""
        while self.finished and self.finished[0] <= now - span:
            self.finished.popleft()
        if self.in_flight + len(self.finished) < self.limit:
            return 0.0
        if self.finished:
            return self.finished[0] + span - now
        return None


@dataclass(frozen=True)
class Ticket:
    """A held slot (in one or two windows); hand it back with :meth:`RateGovernor.release`."""

    windows: tuple[_Window, ...]


class RateGovernor:
    """``rate_limit`` calls and ``bulk_rate_limit`` bulk calls per window, thread-safe."""

    def __init__(
        self,
        rate_limit: int,
        bulk_rate_limit: int = 1,
        *,
        window: float = WINDOW_SECONDS,
        margin: float = SAFETY_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        for name, value in (("rate_limit", rate_limit), ("bulk_rate_limit", bulk_rate_limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
        self._calls = _Window(rate_limit)
        self._bulk = _Window(bulk_rate_limit)
        self._tickets = {False: Ticket((self._calls,)), True: Ticket((self._calls, self._bulk))}
        self._waiting = 0  # callers inside _pause: release() notifies only when one waits
        self._span = window + margin
        self._clock = clock
        self._sleep = sleep  # None: wait on the condition (wakes early when a call finishes)
        self._cond = threading.Condition()
        self.waited = 0.0  # total seconds callers spent waiting (for logs and tests)

    @property
    def limits(self) -> tuple[int, int]:
        return self._calls.limit, self._bulk.limit

    def set_limits(self, rate_limit: int, bulk_rate_limit: int) -> None:
        """Change the budgets (e.g. another connection of the account declares a lower plan)."""
        with self._cond:
            self._calls.limit, self._bulk.limit = rate_limit, bulk_rate_limit
            self._cond.notify_all()

    def acquire(self, *, bulk: bool = False) -> Ticket:
        """Block until a slot is free, take it and return its ticket.

        UNKNOWN in the reference whether bulk calls also count against the normal limit; a bulk
        call takes a slot in both budgets (the cautious choice).
        """
        ticket = self._tickets[bool(bulk)]  # immutable: one per kind, shared by every call
        waited = 0.0
        with self._cond:
            while True:
                now = self._clock()
                pause: float | None = 0.0  # the longest wait; None: only a finish frees one
                for w in ticket.windows:
                    wait = w.wait_time(now, self._span)
                    if wait is None:
                        pause = None
                    elif pause is not None and wait > pause:
                        pause = wait
                if pause == 0.0:
                    for w in ticket.windows:
                        w.in_flight += 1
                    break
                waited += self._pause(pause)
        if waited and BUS.listeners:
            BUS.emit(GovernorWait(waited, bulk))
        return ticket

    def release(self, ticket: Ticket) -> None:
        """Mark the call finished now; its slot expires one window (plus margin) later."""
        with self._cond:
            now = self._clock()
            for w in ticket.windows:
                w.in_flight -= 1
                w.finished.append(now)
            if self._waiting:
                self._cond.notify_all()

    def slot(self, *, bulk: bool = False) -> _Slot:
        """``with governor.slot(): send()`` holds one slot around a call."""
        return _Slot(self, bulk)

    def _pause(self, seconds: float | None) -> float:
        """Wait (the lock is held): on the condition, or with the injected sleep; returns the
        seconds waited."""
        started = self._clock()
        self._waiting += 1
        try:
            if self._sleep is None:
                self._cond.wait(seconds)
            else:
                self._cond.release()
                try:
                    self._sleep(_IDLE_POLL if seconds is None else max(seconds, 0.0))
                finally:
                    self._cond.acquire()
        finally:
            self._waiting -= 1
        waited = max(self._clock() - started, 0.0)
        self.waited += waited
        return waited


class _Slot:
    """The context manager of :meth:`RateGovernor.slot` (a class: a generator-based one costs
    about a microsecond more per call)."""

    __slots__ = ("_bulk", "_governor", "_ticket")

    def __init__(self, governor: RateGovernor, bulk: bool) -> None:
        self._governor, self._bulk = governor, bulk

    def __enter__(self) -> None:
        self._ticket = self._governor.acquire(bulk=self._bulk)

    def __exit__(self, *exc: object) -> None:
        self._governor.release(self._ticket)


class GovernorRegistry:
    """One governor per account (API host + access key) for the whole process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._governors: dict[tuple[str, str], RateGovernor] = {}

    def get(
        self, target: str, access_key: str, rate_limit: int, bulk_rate_limit: int
    ) -> RateGovernor:
        """The account's governor; if connections disagree on the limits, the lower ones win."""
        key = (target.lower(), hashlib.sha256(access_key.encode("utf-8")).hexdigest())
        with self._lock:
            governor = self._governors.get(key)
            if governor is None:
                governor = self._governors[key] = RateGovernor(rate_limit, bulk_rate_limit)
            else:
                calls, bulk = governor.limits
                if rate_limit < calls or bulk_rate_limit < bulk:
                    governor.set_limits(min(calls, rate_limit), min(bulk, bulk_rate_limit))
            return governor

    def clear(self) -> None:
        """Forget every governor (tests reset this with the sandbox)."""
        with self._lock:
            self._governors.clear()


GOVERNORS = GovernorRegistry()
