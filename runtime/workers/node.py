"""What one worker process serves: the workflows' trigger instances, over the shared store.

A :class:`Node` wraps a :class:`~runtime.engine.service.WorkflowService` that is never started
(no thread, no server of its own): its bindings say which trigger instances this cluster
serves and which workflows each starts, and its per-item path runs an inbox item. The tasks
of :mod:`runtime.workers.tasks` call:

- :meth:`Node.drain`: claim and run the instance's inbox items (``FOR UPDATE SKIP LOCKED``:
  any number of drains of one instance, on any machines, take different items) until none is
  left or ``drain_seconds`` have passed;
- :meth:`Node.poll`: one poll of a polling instance (the engine commits cursor and inbox rows
  in one transaction, or nothing);
- :meth:`Node.sweep`: what is due now: instances with unsettled inbox items, and polls whose
  interval has passed (the lease ``poll-due:<instance>``, taken by each poll for one
  interval, has run out), so a poll runs once per interval for the whole cluster;
- :meth:`Node.subscribe`: each instant instance's webhook, made by the one process that holds
  the lease ``subscribe:<instance>`` (a live subscription in the store is reused).

Exactly once: an item claimed by a worker that dies is handed out again (at once when the
worker was on this host, else when its claim expires), and the run history, keyed by event,
never runs an event twice: a run whose step had started is left ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from runtime.engine.ownership import lease_name
from runtime.engine.receiver import receiver_url
from runtime.engine.service import Binding, WorkflowService
from runtime.errors import ConfigurationError, ConnectorError, StorageUnavailable
from runtime.store.inbox import Inbox, claim_owner, process_is_dead
from runtime.store.leases import Leases
from runtime.store.storage import Storage

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0
LANE_SLACK = timedelta(seconds=5)
CLAIM_TTL = timedelta(seconds=60)
SUBSCRIBE_TTL = timedelta(seconds=120)
PARALLEL_DRAINS = 2
SWEEP_SLACK = 0.5  # half the sweeper's period: a due poll is found by the tick it falls on


@dataclass
class Due:
    """What a sweep found: instances to drain, instances to poll, claims handed back."""

    drain: list[str] = field(default_factory=list)
    poll: list[str] = field(default_factory=list)
    released: int = 0


class Node:
    """The trigger instances a worker serves, and the work it can do for them."""

    def __init__(
        self,
        service: WorkflowService,
        storage: Storage,
        *,
        drain_seconds: float = DRAIN_SECONDS,
        claim_ttl: timedelta = CLAIM_TTL,
        parallel_drains: int = PARALLEL_DRAINS,
    ) -> None:
        self.service = service
        self.storage = storage
        self.inbox = service.inbox = Inbox(storage.state, claim_ttl=claim_ttl)
        self.leases = storage.leases
        self.drain_seconds = drain_seconds
        self.parallel_drains = parallel_drains
        self.owner = claim_owner()

    @property
    def bindings(self) -> dict[str, Binding]:
        return self.service.bindings

    def drain(self, instance: str) -> int:
        """Run the instance's inbox items until none is left (or time is up); how many ran.

        At most ``parallel_drains`` drains of one instance run at once in the whole cluster
        (leases ``draining:<instance>:<lane>``): an account's rate budget is shared anyway,
        and the other accounts keep the free job slots. A drain that finds every lane taken
        ends at once.
        """
        binding = self.bindings.get(instance)
        if binding is None:
            logger.warning("drain %s: no workflow of this worker uses it", instance)
            return 0
        lane = self._take_lane(instance)
        if lane is None:
            return 0
        deadline = time.monotonic() + self.drain_seconds
        done = 0
        try:
            while time.monotonic() < deadline:
                item = self.inbox.claim_next(instance)
                if item is None:
                    break
                try:
                    self.service.process(binding, item)
                except StorageUnavailable:
                    with contextlib.suppress(ConnectorError):
                        self.inbox.release(item)  # not an attempt: the job fails, the next
                    raise                         # sweep defers the instance again
                done += 1
        finally:
            self.leases.release(*lane)
        return done

    def _take_lane(self, instance: str) -> tuple[str, str] | None:
        owner = self.one_off_owner()
        ttl = timedelta(seconds=self.drain_seconds) + LANE_SLACK  # a run may outlast it
        for lane in range(self.parallel_drains):
            name = f"draining:{instance}:{lane}"
            if self.take(name, owner, ttl):
                return name, owner
        return None

    def one_off_owner(self) -> str:
        """``<host>/<pid>#<random>``: this process, for one tenure of a lease."""
        return f"{self.owner}#{uuid.uuid4().hex[:8]}"

    def take(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take the lease ``name`` if it is free, expired, or held by a dead process of this
        host (a SIGKILLed worker's lease need not run out)."""
        if self.leases.acquire(name, owner, ttl) is not None:
            return True
        holder = self.leases.holder(name)
        return (
            holder is not None and process_is_dead(holder.owner.partition("#")[0])
            and self.leases.take_over(name, holder.owner, owner, ttl) is not None
        )

    def poll(self, instance: str) -> bool:
        """One poll of ``instance`` (failures are logged; the next interval polls again).

        Once per interval, counted from when polls start: the poll takes the lease
        ``poll-due:<instance>`` for the interval (less half a sweep tick) or does not poll, so
        however late a job starts, the next poll cannot start sooner. Then under the lease
        ``polling:<instance>`` (owner ``<host>/<pid>#<poll>``, two intervals plus 5 s): a poll
        never overlaps a slow one; a poller that died on this host is taken over at once, on
        another host its lease runs out. False when it did not poll.
        """
        binding = self.bindings.get(instance)
        if binding is None or not binding.polling:
            logger.warning("poll %s: not a polling instance of this worker", instance)
            return False
        interval = timedelta(seconds=max(binding.interval - SWEEP_SLACK, SWEEP_SLACK))
        if self.leases.acquire(f"poll-due:{instance}", self.one_off_owner(), interval) is None:
            return False  # polled in this interval already (a job deferred twice, or late)
        name, owner = f"polling:{instance}", self.one_off_owner()
        ttl = timedelta(seconds=2 * binding.interval + 5)
        if not self.take(name, owner, ttl):
            logger.info("poll %s: another poll of it is still running", instance)
            return False
        try:
            self.service._poll(binding)
        finally:
            self.leases.release(name, owner)
        return True

    def sweep(self) -> Due:
        """Hand back claims of dead processes of this host; list what is due now."""
        due = Due(released=self.inbox.release_orphaned_claims())
        for instance, binding in self.bindings.items():
            counts = self.inbox.counts(instance)
            if counts["pending"] or counts["processing"]:
                due.drain.append(instance)
            if binding.polling and self.leases.holder(f"poll-due:{instance}") is None:
                due.poll.append(instance)
        return due

    def _refuse_if_served(self, instance: str) -> None:
        """A running `lsq serve` holds the instance: subscribing would point its webhook at
        the receivers, away from that service, which would then receive nothing."""
        owner = _served_by(self.leases, instance)
        if owner is not None:
            raise ConfigurationError(
                f"{instance} is served by `lsq serve` ({owner}) on this database; a worker "
                "would move its webhook away from it",
                hint="stop that `lsq serve`: a deployment on several machines runs only "
                "`lsq worker` and `lsq receive`",
            )

    def subscribe(self, public_url: str | None) -> list[str]:
        """Subscribe the instant instances whose lease this process gets; their ids."""
        done = []
        for instance, binding in self.bindings.items():
            if binding.polling:
                continue
            if public_url is None:
                raise_missing_url(instance)
            self._refuse_if_served(instance)
            name = f"subscribe:{instance}"
            if not self.take(name, self.owner, SUBSCRIBE_TTL):
                continue  # another worker subscribes it right now
            try:
                self.service.subscriber(
                    binding, receiver_url(public_url, instance), self.storage.state
                )
                done.append(instance)
            finally:
                self.leases.release(name, self.owner)
        return done


def _served_by(leases: Leases, instance: str) -> str | None:
    """The live `lsq serve` process holding ``instance`` on this database, if any."""
    holder = leases.holder(lease_name(instance))
    if holder is None or process_is_dead(holder.owner.partition("#")[0]):
        return None
    return str(holder.owner.partition("#")[0])


def raise_missing_url(instance: str) -> None:
    raise ConfigurationError(
        f"{instance} is an instant trigger: --public-url must say where the receivers are",
        hint="e.g. --public-url https://hooks.example.com, the load balancer of the receivers",
    )


__all__ = ["Due", "Node"]
