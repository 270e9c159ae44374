"""Group commit: concurrent writers share one transaction (one fsync for all).

A durable SQLite commit costs an fsync (milliseconds), and the file's write lock serialises
them: with 8 receiver threads each committing its own delivery, most of a receiver's time
went to waiting for that lock (74% in the profile of issue 14). :class:`GroupCommit` makes the
first writer to arrive the *leader*: it takes every write queued meanwhile, runs them all in
ONE transaction and wakes their threads; writes that arrive during that commit form the next
group, led by the first of them. Each caller still returns only once its own write is
committed, and a group is durable (on disk when it ends) when any of its writes asks for it:
durability per write is unchanged or stronger.

A group whose transaction fails is retried write by write (each in its own transaction), so
one bad write fails alone and a storage fault reaches every caller as its own exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from runtime.store.database import Database, Transaction

T = TypeVar("T")
MAX_GROUP = 64  # writes per transaction at most (a bounded lock hold)


class _Write(Generic[T]):
    __slots__ = ("done", "durable", "error", "function", "lead", "result")

    def __init__(self, function: Callable[[Transaction], T], durable: bool) -> None:
        self.function = function
        self.durable = durable
        # Only a write that waits for another thread's commit needs an Event (made under the
        # queue's lock): a lone writer leads its own group, and an Event costs ~1.5 us.
        self.done: threading.Event | None = None
        self.lead = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """``GroupCommit(db).run(lambda tx: ...)``: the function runs in a transaction, possibly
    shared with other threads' functions; returns its result once committed. ``durable=False``
    writes (see :meth:`Database.transaction`) make a group durable only with a durable one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._queue: list[_Write[Any]] = []
        self._leading = False

    def run(self, function: Callable[[Transaction], T], *, durable: bool = True) -> T:
        write: _Write[T] = _Write(function, durable)
        with self._lock:
            self._queue.append(write)
            if self._leading:
                lead = False
                write.done = threading.Event()
            else:
                self._leading = lead = True
        if not lead:
            assert write.done is not None
            write.done.wait()
        if write.lead:  # handed the lead by the previous leader: our write is not done yet
            lead = True
        if lead:
            self._lead()
        if write.error is not None:
            raise write.error
        return write.result

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        self._commit(group)
        with self._lock:
            if self._queue:
                successor = self._queue[0]  # queued while we led: it has an Event
                successor.lead = True
                assert successor.done is not None
                successor.done.set()  # it wakes up as the next leader
            else:
                self._leading = False
        for write in group:
            write.lead = False
            if write.done is not None:  # our own write has none: nobody waits for it
                write.done.set()

    def _commit(self, group: list[_Write[Any]]) -> None:
        try:
            durable = any(write.durable for write in group)
            with self.db.transaction(durable=durable) as tx:
                results = [write.function(tx) for write in group]
        except BaseException as problem:
            if len(group) == 1:
                group[0].error = problem
                return
            for write in group:  # one at a time: a bad write fails alone
                self._commit([write])
            return
        for write, result in zip(group, results, strict=True):
            write.result = result


__all__ = ["MAX_GROUP", "GroupCommit"]
