"""The durable event inbox: events accepted from webhooks (or polls) waiting to run.

Life of an event::

    accept -> pending --claim_next--> processing --mark_done--> done
                 ^                        |
                 +-- mark_failed(retry) --+  (or the claim expires: a crash after claim)
                                          +-- mark_failed(retry=False), too many attempts
                                              --> failed

Guarantees:

- ``accept`` records the event key in the dedupe table and the event in the inbox in ONE
  committed transaction: an event is stored at most once per (instance, event key), and once
  ``accept`` returns it is on disk (a receiver may then answer 200). Concurrent deliveries
  share that durable commit (:mod:`runtime.store.group_commit`: one fsync for the group).
- Claims, renewals and settles are committed without waiting for the disk (they survive a
  crash of the process, not of the machine): a lost one only hands an event out again, and
  the run history, durable where it decides, never runs an event twice.
- ``arrivals`` is set when this object stores an event (or frees one a claim held back), so
  a worker waits on :meth:`Inbox.wait_for_work` instead of sleeping a fixed time.
- Events of one record (the event key up to ``@``) are claimed from one object in arrival
  order: while one is claimed, the later ones of that record are skipped.
- A claim lasts ``claim_ttl``. A process that dies after ``claim_next`` and before
  ``mark_done`` leaves the event ``processing`` until the claim expires; the next
  ``claim_next`` (in any process) then hands it out again. ``release_claims()`` does that at
  once, for a runner that knows it is the only one. Each claim counts an attempt; after
  ``max_attempts`` the event is marked ``failed`` instead of being handed out again.
  Concurrent claimers never get the same event: a SQLite write transaction holds the file; on
  PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED``, so each takes the next free one.
- A claim names its owner (host name and process id). ``release_orphaned_claims()`` returns
  at once the claims of processes of this host that no longer exist (a SIGKILLed ``lsq
  serve``), so a restart runs them without waiting for the claim to expire; claims of live
  processes, or of other hosts, are left to expire.
- Running an event is therefore at-least-once; a runner that records its runs keyed by
  ``(instance_id, event_key)`` makes it exactly-once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from runtime.clock import to_iso
from runtime.store.database import Transaction
from runtime.store.group_commit import GroupCommit
from runtime.store.state import StateBatch, StateStore

logger = logging.getLogger(__name__)

DEFAULT_CLAIM_TTL = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 5
CLAIM_WINDOW = 64  # oldest claimable events looked at when some records are being run
STATUSES = ("pending", "processing", "done", "failed")

_COLUMNS = (
    "id, instance_id, event_key, delivery_id, received_at, content_type, payload, status, "
    "attempts, error, claim_token"
)


@dataclass(frozen=True)
class InboxItem:
    """One stored event. ``claim_token`` identifies the claim that ``mark_*`` must present."""

    id: int
    instance_id: str
    event_key: str
    delivery_id: int | None
    received_at: str
    content_type: str | None
    payload: Any
    status: str
    attempts: int
    error: str | None
    claim_token: str | None
    claimed_at: float = field(default=0.0, compare=False, repr=False)  # monotonic, this process

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> InboxItem:
        values = list(row)
        values[6] = json.loads(values[6]) if values[6] is not None else None
        return cls(*values)


class Inbox:
    """Accept, claim and settle events in a :class:`~runtime.store.state.StateStore`."""

    def __init__(
        self,
        store: StateStore,
        *,
        claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.store = store
        self.claim_ttl = claim_ttl
        self.max_attempts = max_attempts
        self.owner = claim_owner()
        self.arrivals = threading.Event()  # set when this object stores or frees an event
        # One claim at a time per object: on PostgreSQL two concurrent claim transactions could
        # each miss the other's uncommitted claim of the same record (SQLite serialises them).
        self._claiming = threading.Lock()
        self._group = GroupCommit(store.db)
        self._blocked = False  # a claim skipped events of a record being run
        self._done: list[InboxItem] = []  # settled as done by the next claim (mark_done later)
        self._done_lock = threading.Lock()

    def wait_for_work(self, timeout: float) -> bool:
        """Wait until an event is stored (or a held-back one freed) through this object, at
        most ``timeout`` seconds (events stored by other processes are seen on the next
        claim); True when woken. Clears the signal: claim after it returns."""
        self.flush()
        woken = self.arrivals.wait(timeout)
        self.arrivals.clear()
        return woken

    # -- accepting ----------------------------------------------------------------------------

    def accept(
        self,
        instance: str,
        event_key: str,
        payload: Any,
        *,
        content_type: str | None = None,
        raw_body: bytes | None = None,
    ) -> bool:
        """Store one event durably; False if ``event_key`` is a duplicate for ``instance``."""
        return self.accept_delivery(
            instance, [(event_key, payload)], content_type=content_type, raw_body=raw_body
        )[0]

    def accept_delivery(
        self,
        instance: str,
        events: Sequence[tuple[str, Any]],
        *,
        content_type: str | None = None,
        raw_body: bytes | None = None,
    ) -> list[bool]:
        """Store one delivery's events (key, payload) in one committed transaction.

        The raw body (already bounded by the receiver) is kept once per delivery, and only
        when at least one of its events is new. Returns, per event, whether it was new.
        """
        def write(tx: Transaction) -> list[bool]:
            batch = StateBatch(tx, self.store.now_iso())
            delivery_id = None
            if raw_body is not None and any(
                not batch.recorded(instance, key) for key, _ in events
            ):
                delivery_id = batch.add_delivery(instance, content_type, raw_body)
            return [
                batch.queue_event(
                    instance, key, payload, delivery_id=delivery_id, content_type=content_type
                )
                for key, payload in events
            ]

        new = self._group.run(write)
        if any(new):
            self.arrivals.set()
        return new

    def record_rejected(
        self,
        instance: str,
        event_key: str,
        error: str,
        *,
        content_type: str | None,
        raw_body: bytes,
    ) -> bool:
        """Keep a verified but unusable delivery as a ``failed`` event (for inspection)."""
        with self.store.batch() as batch:
            if batch.recorded(instance, event_key):
                return False
            delivery_id = batch.add_delivery(instance, content_type, raw_body)
            return batch.queue_event(
                instance, event_key, None, delivery_id=delivery_id,
                content_type=content_type, status="failed", error=error,
            )

    # -- consuming ----------------------------------------------------------------------------

    def claim_next(self, instance: str | None = None) -> InboxItem | None:
        """Claim the oldest pending event (or one whose claim expired); None if there is none.

        Events of one record (the event key up to ``@``: a lead, a task...) run in arrival
        order: while one of them is claimed (by any claimer, its claim not expired), the later
        ones are skipped, so concurrent workers never run two of them at once. The claim is
        committed without waiting for the disk: if it is lost with the machine, the event is
        claimed again and the run history (whose start is durable) keeps it from running twice.
        """
        claimed = self.claim_batch(instance, 1)
        return claimed[0] if claimed else None

    def claim_batch(self, instance: str | None, most: int) -> list[InboxItem]:
        """Claim up to ``most`` of the oldest claimable events, of different records, in one
        transaction (oldest first; as :meth:`claim_next` otherwise). A worker that takes
        several under a backlog makes one claim transaction for them: each waited for the
        file's write lock (a quarter of a worker's time in `lsq serve`, issue 14). The claimer
        runs them in order and hands back with :meth:`release` those it will not run."""
        with self._claiming:
            while True:
                with self.store.db.transaction(durable=False) as tx:
                    settled = self._settle_done(tx)
                    claimed, again = self._claim_in(tx, instance, most)
                self._forget_done(settled)  # committed
                if claimed or not again:
                    return claimed

    def _claim_in(
        self, tx: Transaction, instance: str | None, most: int
    ) -> tuple[list[InboxItem], bool]:
        """(the claimed items, whether to look again: an item was given up on)."""
        now = self.store.clock()
        busy = {
            (row[0], record_of(row[1])) for row in tx.execute(
                "SELECT instance_id, event_key FROM inbox WHERE status = 'processing' "
                "AND claimed_until >= ?", (to_iso(now),),
            )
        }
        # Each busy record can hold back candidates; one look past them usually finds
        # enough, else a wider one (a record with several events queued).
        chosen: list[tuple[Any, ...]] = []
        for window in (len(busy) + most, CLAIM_WINDOW):
            candidates = _claimable(tx, to_iso(now), instance, window)
            chosen, taken = [], set(busy)
            for candidate in candidates:
                record = (candidate[1], record_of(candidate[2]))
                if record not in taken:
                    taken.add(record)
                    chosen.append(candidate)
                    if len(chosen) == most:
                        break
            if len(chosen) == most or len(candidates) < window:
                break
        if not chosen:
            self._blocked = self._blocked or bool(candidates)
            return [], False
        claimed, gave_up = [], False
        started = time.monotonic()
        for found in chosen:
            item = InboxItem.from_row(tx.execute(
                f"SELECT {_COLUMNS} FROM inbox WHERE id = ?", (found[0],)
            ).rows[0])
            if item.attempts >= self.max_attempts:
                # It was claimed max_attempts times and never settled: the process died
                # running it every time. Stop handing it out.
                _settle(tx, item.id, "failed", now, "gave up: the claim expired "
                        f"{item.attempts} times without a result")
                gave_up = True
                continue
            token = f"{self.owner}:{uuid.uuid4().hex}"
            tx.execute(
                "UPDATE inbox SET status = 'processing', attempts = attempts + 1, "
                "claim_token = ?, claimed_until = ?, updated_at = ? WHERE id = ?",
                (token, to_iso(now + self.claim_ttl), to_iso(now), item.id),
            )
            claimed.append(replace(
                item, status="processing", attempts=item.attempts + 1, claim_token=token,
                claimed_at=started,
            ))
        return claimed, gave_up

    def mark_done(self, item: InboxItem, *, later: bool = False) -> bool:
        """Settle a claimed event as done; False if the claim was lost to another claimer.

        ``later``: settled in the transaction of this object's next claim (or by
        :meth:`flush`, which an idle worker calls before it waits): one transaction per event
        instead of two, and the worker does not wait for the file's write lock twice (it
        waited 17% of its time for that lock in `lsq serve`, measured in issue 14). Until
        then the event stays claimed, so later events of its record stay held back; a settle
        lost with the process leaves the claim to expire, and the run history skips the run.
        Returns True (a lost claim is logged when the settle finds it).
        """
        if not later:
            return self._finish(item, "done", None)
        with self._done_lock:
            self._done.append(item)
        return True

    def flush(self) -> None:
        """Commit the settles :meth:`mark_done` deferred (``later``), if any."""
        if not self._done:
            return
        with self._claiming:
            with self.store.db.transaction(durable=False) as tx:
                settled = self._settle_done(tx)
            self._forget_done(settled)

    def _settle_done(self, tx: Transaction) -> list[InboxItem]:
        """Write the deferred settles in ``tx``; they leave the list once it commits."""
        with self._done_lock:
            items = list(self._done)
        now = self.store.now_iso()
        for item in items:
            if not _settle_claimed(tx, item, "done", None, now):
                logger.warning("inbox item %s: claim lost before it was marked done", item.id)
        return items

    def _forget_done(self, settled: list[InboxItem]) -> None:
        if not settled:
            return
        with self._done_lock:
            del self._done[: len(settled)]  # only this object appends, at the end
        if self._blocked:  # a record freed: its next event may be claimed now
            self._blocked = False
            self.arrivals.set()

    def mark_failed(self, item: InboxItem, error: str, *, retry: bool = True) -> str | None:
        """Settle a claimed event after a failure; returns its new status (None: claim lost).

        With ``retry`` it goes back to ``pending`` unless it has used ``max_attempts``.
        """
        status = "pending" if retry and item.attempts < self.max_attempts else "failed"
        return status if self._finish(item, status, error) else None

    def release(self, item: InboxItem) -> bool:
        """Hand a claimed event back to ``pending`` without counting the attempt (its
        processing could not even start or settle, e.g. the database was full); False if the
        claim was lost."""
        with self.store.db.transaction() as tx:
            released = tx.execute(
                "UPDATE inbox SET status = 'pending', claim_token = NULL, claimed_until = NULL, "
                "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = ? "
                "WHERE id = ? AND status = 'processing' AND claim_token = ?",
                (self.store.now_iso(), item.id, item.claim_token),
            ).rowcount == 1
        self.arrivals.set()  # claimable again: wake a worker
        return released

    def keep_claim(self, item: InboxItem) -> bool:
        """Renew the claim once a third of ``claim_ttl`` has passed since it was taken (a run
        that long), else write nothing: most runs take milliseconds. False if it was lost."""
        if time.monotonic() - item.claimed_at < self.claim_ttl.total_seconds() / 3:
            return True
        return self.renew_claim(item)

    def renew_claim(self, item: InboxItem) -> bool:
        """Extend a claim by ``claim_ttl`` (for long runs); False if the claim was lost."""
        with self.store.db.transaction(durable=False) as tx:
            now = self.store.clock()
            return tx.execute(
                "UPDATE inbox SET claimed_until = ?, updated_at = ? "
                "WHERE id = ? AND status = 'processing' AND claim_token = ?",
                (to_iso(now + self.claim_ttl), to_iso(now), item.id, item.claim_token),
            ).rowcount == 1

    def release_claims(self, instance: str | None = None) -> int:
        """Return every ``processing`` event to ``pending`` (only when no runner is alive)."""
        with self.store.db.transaction() as tx:
            return tx.execute(
                "UPDATE inbox SET status = 'pending', claim_token = NULL, claimed_until = NULL, "
                "updated_at = ? WHERE status = 'processing' "
                "AND (CAST(? AS TEXT) IS NULL OR instance_id = ?)",
                (self.store.now_iso(), instance, instance),
            ).rowcount

    def release_orphaned_claims(self, instance: str | None = None) -> int:
        """Return to ``pending`` the claims held by dead processes of this host."""
        with self.store.db.transaction() as tx:
            rows = tx.execute(
                "SELECT id, claim_token FROM inbox WHERE status = 'processing' "
                "AND (CAST(? AS TEXT) IS NULL OR instance_id = ?)",
                (instance, instance),
            ).rows
            orphaned = [item_id for item_id, token in rows if _owner_is_dead(token)]
            for item_id in orphaned:
                tx.execute(
                    "UPDATE inbox SET status = 'pending', claim_token = NULL, "
                    "claimed_until = NULL, updated_at = ? WHERE id = ?",
                    (self.store.now_iso(), item_id),
                )
            return len(orphaned)

    def retry_failed(self, instance: str, *, ids: Sequence[int] | None = None) -> int:
        """Put ``failed`` events (all of the instance's, or ``ids``) back to ``pending``."""
        with self.store.db.transaction() as tx:
            rows = tx.execute(
                "SELECT id FROM inbox WHERE status = 'failed' AND instance_id = ? "
                "AND payload IS NOT NULL AND payload != 'null'",
                (instance,),
            ).rows
            wanted = None if ids is None else set(ids)
            chosen = [r[0] for r in rows if wanted is None or r[0] in wanted]
            for item_id in chosen:
                tx.execute(
                    "UPDATE inbox SET status = 'pending', attempts = 0, error = NULL, "
                    "updated_at = ? WHERE id = ?",
                    (self.store.now_iso(), item_id),
                )
            return len(chosen)

    # -- reading ------------------------------------------------------------------------------

    def get(self, item_id: int) -> InboxItem | None:
        """One event by inbox id."""
        rows = self.store.db.query(f"SELECT {_COLUMNS} FROM inbox WHERE id = ?", (item_id,))
        return InboxItem.from_row(rows[0]) if rows else None

    def items(self, instance: str | None = None, status: str | None = None) -> list[InboxItem]:
        """Events in arrival order, optionally filtered by instance and status."""
        rows = self.store.db.query(
            f"SELECT {_COLUMNS} FROM inbox WHERE (CAST(? AS TEXT) IS NULL OR instance_id = ?) "
            "AND (CAST(? AS TEXT) IS NULL OR status = ?) ORDER BY id",
            (instance, instance, status, status),
        )
        return [InboxItem.from_row(row) for row in rows]

    def newest(self, status: str, *, limit: int) -> list[InboxItem]:
        """The newest ``limit`` events with ``status`` (e.g. ``failed``: dead-lettered), newest
        first (for pages: never the whole inbox)."""
        rows = self.store.db.query(
            f"SELECT {_COLUMNS} FROM inbox WHERE status = ? ORDER BY id DESC LIMIT ?",
            (status, limit),
        )
        return [InboxItem.from_row(row) for row in rows]

    def counts(self, instance: str | None = None) -> dict[str, int]:
        """Number of events per status (every status present, zeros included)."""
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in self.store.db.query(
            "SELECT status, COUNT(*) FROM inbox WHERE (CAST(? AS TEXT) IS NULL "
            "OR instance_id = ?) GROUP BY status",
            (instance, instance),
        ):
            counts[status] = count
        return counts

    def oldest_unsettled(self, instances: Sequence[str] | None = None) -> str | None:
        """When the oldest ``pending`` or ``processing`` event (of ``instances``, else of all)
        was received (stored time text); None when there is none."""
        times = [
            row[0] for instance in (instances if instances is not None else [None])
            for row in self.store.db.query(
                "SELECT MIN(received_at) FROM inbox WHERE status IN ('pending', 'processing') "
                "AND (CAST(? AS TEXT) IS NULL OR instance_id = ?)", (instance, instance),
            ) if row[0] is not None
        ]
        return min(times) if times else None

    def backlog(self) -> list[tuple[str, str, int, str]]:
        """(instance, status, count, oldest ``received_at``) of every instance's pending,
        processing and failed events: the inbox's depth, read through the status index."""
        rows = self.store.db.query(
            "SELECT instance_id, status, COUNT(*), MIN(received_at) FROM inbox "
            "WHERE status IN ('pending', 'processing', 'failed') "
            "GROUP BY instance_id, status ORDER BY instance_id, status"
        )
        return [(str(i), str(s), int(n), str(oldest)) for i, s, n, oldest in rows]

    def raw_body(self, item: InboxItem) -> bytes | None:
        """The raw body of the delivery an event came in (None for polled events)."""
        if item.delivery_id is None:
            return None
        rows = self.store.db.query(
            "SELECT raw_body FROM deliveries WHERE id = ?", (item.delivery_id,)
        )
        return bytes(rows[0][0]) if rows else None

    def _finish(self, item: InboxItem, status: str, error: str | None) -> bool:
        # Not durable (no fsync): a settle lost with the machine leaves the event claimed; it
        # is claimed again and the run history (durable where it decides) skips its runs.
        with self.store.db.transaction(durable=False) as tx:
            settled = _settle_claimed(tx, item, status, error, self.store.now_iso())
        if status == "pending" or self._blocked:  # an event to claim again, or a record freed
            self._blocked = False
            self.arrivals.set()
        return settled


def _settle_claimed(
    tx: Transaction, item: InboxItem, status: str, error: str | None, now: str
) -> bool:
    """Settle ``item`` as ``status`` if its claim still holds; False if it was lost."""
    return tx.execute(
        "UPDATE inbox SET status = ?, error = ?, claim_token = NULL, claimed_until = NULL, "
        "updated_at = ? WHERE id = ? AND status = 'processing' AND claim_token = ?",
        (status, error, now, item.id, item.claim_token),
    ).rowcount == 1


def _claimable(
    tx: Transaction, now: str, instance: str | None, limit: int
) -> list[tuple[Any, ...]]:
    """(id, instance_id, event_key) of the ``limit`` oldest claimable events: pending, or
    processing with an expired claim.

    Two look-ups that each walk ``inbox_by_status`` (status, id) in order and stop at
    ``limit``, merged by id. One query with ``status = 'pending' OR (...)`` made SQLite read
    and sort every pending row on each claim, payloads included: O(backlog) per claim, 13% of
    `lsq serve`'s CPU in a 1,000-event burst (profiled, issue 14). On PostgreSQL the
    candidates are locked (``FOR UPDATE SKIP LOCKED``): a concurrent claimer takes others.
    """
    where = "AND (CAST(? AS TEXT) IS NULL OR instance_id = ?) ORDER BY id LIMIT ?"
    pending = tx.execute(
        f"SELECT id, instance_id, event_key FROM inbox WHERE status = 'pending' {where}"
        + tx.dialect.skip_locked, (instance, instance, limit),
    ).rows
    expired = tx.execute(
        "SELECT id, instance_id, event_key FROM inbox WHERE status = 'processing' "
        f"AND claimed_until < ? {where}" + tx.dialect.skip_locked,
        (now, instance, instance, limit),
    ).rows
    return sorted([*pending, *expired])[:limit]


def record_of(event_key: str) -> str:
    """The record an event key is about: the key up to ``@`` (``<lead id>@<ModifiedOn>`` ->
    the lead id); events of one record run in arrival order."""
    return event_key.partition("@")[0]


def claim_owner() -> str:
    """``<host>/<pid>``: who holds a claim (the token is ``<owner>:<random hex>``)."""
    return f"{socket.gethostname()}/{os.getpid()}"


def _owner_is_dead(token: str | None) -> bool:
    """Whether a claim token names a process of this host that no longer exists."""
    owner, sep, _ = (token or "").rpartition(":")
    return bool(sep) and process_is_dead(owner)


def process_is_dead(owner: str) -> bool:
    """Whether ``<host>/<pid>`` (:func:`claim_owner`) names a process of this host that no
    longer exists (False for another host, or text of another shape)."""
    host, slash, pid_text = owner.rpartition("/")
    if not slash or host != socket.gethostname() or not pid_text.isdigit():
        return False  # an older token, another host: only its expiry releases it
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def _settle(tx: Transaction, item_id: int, status: str, now: datetime, error: str) -> None:
    tx.execute(
        "UPDATE inbox SET status = ?, error = ?, claim_token = NULL, claimed_until = NULL, "
        "updated_at = ? WHERE id = ?",
        (status, error, to_iso(now), item_id),
    )
