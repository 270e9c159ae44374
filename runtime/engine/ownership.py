"""One owner per trigger instance: the leases a service holds while it serves an instance.

Every served instance has a lease named ``serve:<instance>`` in the state database
(:mod:`runtime.store.leases`). Only its holder subscribes the instance's webhook, polls it and
runs its inbox; receivers of every process may store deliveries (the inbox's dedupe makes
that safe). A second ``lsq serve`` on the same state therefore either refuses to start
(naming the holder) or, with ``--standby``, waits: it renews nothing and tries to take each
lease every ``ttl / 3``; when the holder stops (its leases released) or dies (its leases
expire after ``ttl``; at once when it was a process of this host) the standby takes over:
subscribes, releases the dead process's claims and runs the pending items. Nothing
acknowledged is lost (it is in the inbox) and nothing runs twice (run history is keyed by
event).

Leases are renewed every ``ttl / 3`` by the service's keeper thread; a lease that could not
be renewed (taken over after a long pause) stops the service working that instance.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from runtime.errors import ConfigurationError
from runtime.store.inbox import claim_owner, process_is_dead
from runtime.store.leases import Lease, Leases

LEASE_PREFIX = "serve:"
DEFAULT_LEASE_TTL = timedelta(seconds=30)


def lease_name(instance: str) -> str:
    """The lease that makes a process the one serving ``instance``."""
    return LEASE_PREFIX + instance


class Ownership:
    """The serve leases of one service: which instances it holds, taking and renewing them."""

    def __init__(
        self, leases: Leases, instances: Iterable[str], *, ttl: timedelta = DEFAULT_LEASE_TTL
    ) -> None:
        self.leases = leases
        self.instances = list(instances)
        self.ttl = ttl
        # host/pid (what an operator reads) plus a tenure id: two services in one process are
        # two owners
        self.owner = f"{claim_owner()}#{uuid.uuid4().hex[:8]}"
        self.held: dict[str, Lease] = {}

    def holds(self, instance: str) -> bool:
        return instance in self.held

    def acquire(self) -> list[str]:
        """Take every free lease not yet held; the instances newly held."""
        taken = []
        for instance in self.instances:
            if instance in self.held:
                continue
            name = lease_name(instance)
            lease = self.leases.acquire(name, self.owner, self.ttl)
            if lease is None:
                holder = self.leases.holder(name)
                if holder is not None and process_is_dead(holder.owner.partition("#")[0]):
                    lease = self.leases.take_over(name, holder.owner, self.owner, self.ttl)
            if lease is not None:
                self.held[instance] = lease
                taken.append(instance)
        return taken

    def renew(self) -> list[str]:
        """Extend every held lease; the instances whose lease was lost (no longer held)."""
        lost = []
        for instance in list(self.held):
            lease = self.leases.renew(lease_name(instance), self.owner, self.ttl)
            if lease is None or lease.token != self.held[instance].token:
                del self.held[instance]
                lost.append(instance)
            else:
                self.held[instance] = lease
        return lost

    def release(self, instances: Iterable[str] | None = None) -> None:
        """Give held leases up at once (every one by default; a standby takes over without
        waiting)."""
        for instance in list(self.held if instances is None else instances):
            if self.held.pop(instance, None) is not None:
                self.leases.release(lease_name(instance), self.owner)

    def refusal(self) -> ConfigurationError:
        """The error of a service that will not wait for the instances others hold."""
        others = []
        for instance in self.instances:
            if instance in self.held:
                continue
            holder = self.leases.holder(lease_name(instance))
            who = holder.owner.partition("#")[0] if holder else "another process"
            until = f" (lease until {holder.expires_at})" if holder else ""
            others.append(f"{instance} is served by {who}{until}")
        return ConfigurationError(
            "another `lsq serve` serves these workflows on this state: " + "; ".join(others),
            hint="stop it first, or start this one with --standby to take over when it stops",
        )


__all__ = ["DEFAULT_LEASE_TTL", "LEASE_PREFIX", "Ownership", "lease_name"]
