"""Workers in a child process, so that `lsq serve` uses two cores.

One Python process runs one thread at a time: measured in issue 14, `lsq serve` with its four
worker threads used exactly one core in a 1,000-event burst (receiver, workers and commits
taking turns on the interpreter lock) while the other stood mostly idle. With
``worker_processes`` the service starts that many children (``lsq serve ... --worker-child``,
the same command line: the same workflows, connection, state and history) that only claim and
run inbox items; the parent keeps the receiver, the poller, the leases, the health and the
metrics.

Between a parent and each child, two private pipes carry pickled messages:

- parent -> child: first ``("accounts", identities)``, the account identities the parent
  looked up (:data:`runtime.api.account.IDENTITIES`: org, host, user; never a key), so the
  child starts without an account look-up of its own; then ``("wake",)`` when an event was
  stored (the child's workers wait on their inbox's ``arrivals``, as threads of the parent
  would), ``("held", instances)`` the instances whose lease the parent holds (a child works
  only those), ``("stop",)``;
- child -> parent: the child's observation events (:mod:`runtime.observe.events`: API calls,
  runs, failures) in batches (lists, within 50 ms), re-emitted on the parent's bus so
  ``/metrics`` and the progress lines count them, and ``("fault", text or None)`` when its
  storage fails or works again (health).

Failure is never silent: a child that exits while the service runs makes its watcher thread
end, which the :class:`~runtime.engine.supervision.Supervisor` records as dead (health fails,
``lsq serve`` exits 1 and its supervisor restarts it); a child whose parent disappears
(SIGKILL) sees its pipe close and stops after its current item. A claim a killed child held
is handed out again by the next start (its process is dead) or when it expires; the run
history keeps an event from running twice.

Owns: the child processes, their pipes and their messages. Imports the standard library,
:mod:`runtime.api.account` (identities) and :mod:`runtime.observe.events`; the service drives
it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runtime.observe.events import BUS

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0  # seconds a child may take to finish its current item
EVENT_FLUSH = 0.05  # seconds between the child's event batches at most
EVENT_BATCH = 256  # events that make a batch go at once


class WorkerProcess:
    """The parent's side of one child: start it, tell it things, watch it, stop it."""

    def __init__(self, command: Sequence[str], number: int) -> None:
        """``command`` starts a child; it ends with the option that takes ``READ,WRITE``
        (the pipes' descriptors), e.g. ``lsq serve ... --worker-child``."""
        self.command = list(command)
        self.name = f"lsq-worker-process-{number}"
        self.process: subprocess.Popen[bytes] | None = None
        self.fault: str | None = None  # the child's last storage fault, until it clears
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._lock = threading.Lock()  # one message at a time on the pipe

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, first: tuple[Any, ...] | None = None) -> None:
        """Start the child; ``first`` is the first message it reads (before it builds its
        service: the account identities)."""
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [*self.command, f"{to_read},{from_write}"],
                pass_fds=(to_read, from_write), stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the parent, which stops the child
            )
        finally:
            os.close(to_read)
            os.close(from_write)
        from multiprocessing.connection import Connection  # only where children run

        self._to_child = Connection(to_write, readable=False)
        self._from_child = Connection(from_read, writable=False)
        logger.info("%s started (pid %d)", self.name, self.process.pid)
        if first is not None:
            self.send(*first)

    def send(self, *message: Any) -> None:
        """Send ``message``; a child that is gone is the watcher's to report, not ours."""
        if self._to_child is None:
            return
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._to_child.send(message)

    def watch(self, stopping: threading.Event) -> None:
        """Re-emit the child's events until its pipe closes; then raise if the service was
        not stopping (the supervisor records this thread, and so the child, as dead)."""
        assert self._from_child is not None and self.process is not None
        while True:
            try:
                message = self._from_child.recv()
            except (EOFError, OSError):
                break
            if isinstance(message, tuple):
                if message and message[0] == "fault":
                    self.fault = message[1]
                continue
            for event in message:  # a batch, in the order the child emitted them
                BUS.emit(event)
        code = self.process.wait()
        if not stopping.is_set():
            raise RuntimeError(f"worker process {self.process.pid} exited with code {code}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the child to finish its current item and exit; kill it after ``timeout``."""
        if self.process is None:
            return
        self.send("stop")
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %g s; killed (its claim will be handed out "
                           "again)", self.name, timeout)
            self.process.kill()
            self.process.wait()
        if self._to_child is not None:
            self._to_child.close()


def child_channel(spec: str) -> tuple[Connection, Connection]:
    """The child's ends of its pipes, from ``--worker-child READ,WRITE`` (one pair per
    process: opened once)."""
    from multiprocessing.connection import Connection

    read_fd, write_fd = (int(fd) for fd in spec.split(","))
    return Connection(read_fd, writable=False), Connection(write_fd, readable=False)


class ParentLeases:
    """In a child: the instances the parent holds (``holds`` as the parent's ownership)."""

    def __init__(self) -> None:
        self.held: frozenset[str] = frozenset()

    def holds(self, instance: str) -> bool:
        return instance in self.held


def take_accounts(inbound: Connection) -> None:
    """Read the parent's first message, the account identities it looked up, into this
    process's cache (before the child builds its service)."""
    from runtime.api.account import IDENTITIES

    try:
        message = inbound.recv()
    except (EOFError, OSError):
        return  # the parent is gone: the child stops once it listens
    if isinstance(message, tuple) and message[:1] == ("accounts",):
        for fingerprint, identity in message[1].items():
            IDENTITIES.put(fingerprint, identity)


def serve_as_child(
    channel: tuple[Connection, Connection],
    *,
    start_workers: Callable[[], None],
    stop: Callable[[], None],
    wake: Callable[[], None],
    leases: ParentLeases,
    fault: Callable[[], str | None],
    join: Callable[[], Iterable[str]],
    dead: Callable[[], dict[str, str]],
    stopping: threading.Event,
) -> int:
    """Run a child: start the workers, follow the parent's messages, forward events and
    faults, until told to stop or the parent is gone; returns the exit code (1 when a worker
    thread died, so the parent reports the child dead)."""
    inbound, outbound = channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when its children stop
    signal.signal(signal.SIGTERM, lambda *_: stop())
    send_lock = threading.Lock()

    def send(message: Any) -> None:
        # a parent that is gone: the inbound pipe's EOF stops this child
        with send_lock, contextlib.suppress(OSError, ValueError):
            outbound.send(message)

    batch = EventBatch(send)
    unsubscribe = BUS.subscribe(batch.add)
    threading.Thread(target=batch.run, args=(stopping,), name="lsq-events", daemon=True).start()
    listener = threading.Thread(
        target=_follow, args=(inbound, stop, wake, leases), name="lsq-parent", daemon=True
    )
    listener.start()
    start_workers()
    reported: str | None = None
    try:
        while not stopping.wait(0.25):
            now = fault()
            if now != reported:
                send(("fault", now))
                reported = now
            if dead():
                stop()
                return 1
    finally:
        late = list(join())
        unsubscribe()
        batch.flush()
        outbound.close()
    for name in late:
        logger.warning("%s did not stop in time; its claim will expire", name)
    return 1 if dead() else 0


class EventBatch:
    """The child's events, sent to the parent in batches: every ``EVENT_FLUSH`` seconds, or
    at once past ``EVENT_BATCH`` events (one send per event cost about 4% of a worker
    process's time in a burst, pickling included; measured in issue 14)."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._events: list[Any] = []
        self._lock = threading.Lock()
        self._full = threading.Event()

    def add(self, event: Any) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) >= EVENT_BATCH:
                self._full.set()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._full.wait(EVENT_FLUSH)
            self._full.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        if events:
            self._send(events)


def _follow(
    inbound: Connection, stop: Callable[[], None], wake: Callable[[], None],
    leases: ParentLeases,
) -> None:
    while True:
        try:
            message = inbound.recv()
        except (EOFError, OSError):
            logger.warning("the parent process is gone; stopping after the current item")
            break
        kind = message[0] if isinstance(message, tuple) and message else None
        if kind == "wake":
            wake()
        elif kind == "held":
            leases.held = frozenset(message[1])
            wake()
        elif kind == "stop":
            break
    stop()


__all__ = [
    "STOP_TIMEOUT",
    "ParentLeases",
    "WorkerProcess",
    "child_channel",
    "serve_as_child",
    "take_accounts",
]
