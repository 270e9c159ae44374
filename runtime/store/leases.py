"""Named leases in the state database: one owner at a time, compare-and-set, expiring.

A lease names something only one process may do at a time ("the webhook subscription of
instance X", "the poll schedule of instance Y") and is held by an owner string (e.g.
``<host>/<pid>``) until ``expires_at``. Every operation is one statement, so two processes on
any backend can never both hold a lease:

- :meth:`Leases.acquire` takes a free or expired lease, or extends one the owner already
  holds; it returns None when another owner holds it.
- :meth:`Leases.renew` extends a lease its owner still holds (also after it expired, as long
  as nobody took it meanwhile); None when it was lost.
- :meth:`Leases.release` gives it up at once (only its owner can).
- :meth:`Leases.take_over` takes it from a named holder known to be dead (compare-and-set on
  that holder).
- :meth:`Leases.holder` says who holds it now (None: free or expired).

``token`` grows by one with every new tenure (never for an extension): a holder can pass it
along with its writes so that a writer whose lease was taken over meanwhile is recognised
(a fencing token). Rows are never deleted, so tokens never repeat.

Expiry compares the callers' clocks (the store clock): keep ``ttl`` well above the clock skew
between machines and renew well before it runs out (e.g. ttl 30 s, renewed every 10 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from runtime.clock import to_iso
from runtime.errors import ConfigurationError
from runtime.store.state import StateStore

_RELEASED = ""  # expires_at of a released lease: sorts before any time


@dataclass(frozen=True)
class Lease:
    """A held lease: who, until when (stored time text), and its tenure's fencing token."""

    name: str
    owner: str
    expires_at: str
    token: int


class Leases:
    """Acquire, renew, release and inspect leases in a :class:`StateStore`."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def acquire(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take ``name`` for ``owner`` for ``ttl`` (or extend it); None if another holds it."""
        _check(name, owner, ttl)
        now = self.store.clock()
        row = _one(self.store, (
            "INSERT INTO leases (name, owner, expires_at, token, acquired_at) "
            "VALUES (?, ?, ?, 1, ?) ON CONFLICT (name) DO UPDATE SET "
            "token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > ? "
            "THEN leases.token ELSE leases.token + 1 END, "
            "acquired_at = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > ? "
            "THEN leases.acquired_at ELSE excluded.acquired_at END, "
            "owner = excluded.owner, expires_at = excluded.expires_at "
            "WHERE leases.owner = excluded.owner OR leases.expires_at <= ? "
            "RETURNING name, owner, expires_at, token"
        ), (name, owner, to_iso(now + ttl), to_iso(now), to_iso(now), to_iso(now), to_iso(now)))
        return row

    def take_over(self, name: str, previous: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take ``name`` from ``previous`` at once, expired or not (its holder is known to be
        dead); a new tenure. None if ``previous`` no longer holds it."""
        _check(name, owner, ttl)
        now = self.store.clock()
        return _one(self.store, (
            "UPDATE leases SET owner = ?, expires_at = ?, token = token + 1, acquired_at = ? "
            "WHERE name = ? AND owner = ? RETURNING name, owner, expires_at, token"
        ), (owner, to_iso(now + ttl), to_iso(now), name, previous))

    def renew(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Extend ``owner``'s lease by ``ttl`` from now; None if it is no longer theirs."""
        _check(name, owner, ttl)
        now = self.store.clock()
        return _one(self.store, (
            "UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? AND expires_at != ? "
            "RETURNING name, owner, expires_at, token"
        ), (to_iso(now + ttl), name, owner, _RELEASED))

    def release(self, name: str, owner: str) -> bool:
        """Give up ``owner``'s lease at once; False if it was not theirs."""
        with self.store.db.transaction() as tx:
            return tx.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ? "
                "AND expires_at != ?", (_RELEASED, name, owner, _RELEASED),
            ).rowcount == 1

    def holder(self, name: str) -> Lease | None:
        """The current holder of ``name``, or None when it is free or expired."""
        rows = self.store.db.query(
            "SELECT name, owner, expires_at, token FROM leases WHERE name = ? AND expires_at > ?",
            (name, self.store.now_iso()),
        )
        return Lease(rows[0][0], rows[0][1], rows[0][2], int(rows[0][3])) if rows else None


def _one(store: StateStore, sql: str, params: tuple[object, ...]) -> Lease | None:
    with store.db.transaction() as tx:
        row = tx.execute(sql, params).first()
    return Lease(row[0], row[1], row[2], int(row[3])) if row else None


def _check(name: str, owner: str, ttl: timedelta) -> None:
    if not name or not owner:
        raise ConfigurationError("a lease needs a name and an owner")
    if ttl <= timedelta(0):
        raise ConfigurationError(f"a lease's ttl must be positive, not {ttl}")


__all__ = ["Lease", "Leases"]
