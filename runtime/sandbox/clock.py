"""The sandbox's clock: real UTC time plus an offset that tests can move."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """UTC "now" for every timestamp the sandbox writes; tests advance or set it."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current sandbox time, timezone-aware UTC, truncated to whole seconds."""
        with self._lock:
            base = self._frozen or datetime.now(UTC)
            return (base + self._offset).replace(microsecond=0)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, with a negative value)."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime, *, freeze: bool = False) -> datetime:
        """Jump to ``moment`` (UTC); with ``freeze`` the clock stops there until moved."""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        with self._lock:
            if freeze:
                self._frozen, self._offset = moment, timedelta(0)
            else:
                self._frozen = None
                self._offset = moment - datetime.now(UTC)
        return self.now()

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset, self._frozen = timedelta(0), None
