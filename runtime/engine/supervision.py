"""Threads that must not die quietly, and the back-off of a loop that meets a fault.

:class:`Supervisor` starts the service's named daemon threads. A thread that ends while the
service is not stopping (it returned, or raised anything, ``BaseException`` included) is
recorded as dead with its reason and logged at CRITICAL; :meth:`Supervisor.dead` lists them, so
the service's health turns non-200 and :meth:`~runtime.engine.service.WorkflowService.wait`
raises :class:`ServiceDied` (``lsq serve`` exits 1 and a supervisor restarts it): never a
live process that acknowledges events and runs nothing.

:class:`Backoff` is the wait of a loop after a fault (storage unavailable, an unexpected
error): it doubles from ``first`` (0.05 s) up to ``most`` (2 s: the work resumes at most 2 s
after the fault clears) and starts again after a success.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from runtime.errors import ConnectorError

logger = logging.getLogger(__name__)


class ServiceDied(ConnectorError):
    """A thread the service needs has died; the process must exit so it is restarted."""

    category = "service"


class Supervisor:
    """Starts named daemon threads and remembers those that died."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self.threads: dict[str, threading.Thread] = {}
        self._dead: dict[str, str] = {}
        self._lock = threading.Lock()

    def spawn(self, name: str, target: Callable[[], None]) -> None:
        """Run ``target`` on a daemon thread called ``name``."""
        thread = threading.Thread(target=self._guard, args=(name, target), name=name,
                                  daemon=True)
        self.threads[name] = thread
        thread.start()

    def _guard(self, name: str, target: Callable[[], None]) -> None:
        reason = "it returned"
        try:
            target()
        except BaseException as problem:  # recorded and logged once, with its traceback
            reason = f"{type(problem).__name__}: {problem}".rstrip(": ")
            if not self.stopping.is_set():
                logger.critical("thread %s died", name, exc_info=True)
        self._bury(name, reason)

    def _bury(self, name: str, reason: str) -> None:
        if self.stopping.is_set():
            return
        with self._lock:
            self._dead[name] = reason
        logger.critical("thread %s stopped unexpectedly (%s); the service must restart",
                        name, reason)

    def dead(self) -> dict[str, str]:
        """Threads that ended while the service was running: name -> reason."""
        with self._lock:
            return dict(self._dead)

    def alive(self, name: str) -> bool:
        """Whether the thread called ``name`` runs."""
        thread = self.threads.get(name)
        return thread is not None and thread.is_alive()

    def join(self, timeout: float) -> list[str]:
        """Wait for every thread (at most ``timeout`` in all); the names still running."""
        deadline = time.monotonic() + timeout
        for thread in self.threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        late = [name for name, thread in self.threads.items() if thread.is_alive()]
        self.threads.clear()
        return late


class Backoff:
    """Waits that double from ``first`` to ``most`` seconds; :meth:`reset` after a success."""

    def __init__(self, first: float = 0.05, most: float = 2.0) -> None:
        self.first, self.most = first, most
        self.current = 0.0

    def next(self) -> float:
        """The next wait."""
        self.current = min(self.most, self.current * 2 if self.current else self.first)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


__all__ = ["Backoff", "ServiceDied", "Supervisor"]
