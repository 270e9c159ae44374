"""The trigger state store: shared by pollers, the webhook receiver and runners.

What it holds (one table each), in the state database (a SQLite file, or PostgreSQL):

- ``cursors``        polling cursors (JSON) keyed by trigger instance id, with a version for
                     compare-and-set, so two pollers never overwrite each other's progress;
- ``dedupe``         event keys already handed on, unique per instance (the idempotency record);
- ``deliveries`` and ``inbox``  accepted webhook deliveries and the events waiting to run
                     (see :mod:`runtime.store.inbox`, which owns their logic);
- ``subscriptions``  instance id -> LeadSquared webhook id, secret, receiver URL, event code;
- ``webhook_triggers``  instance id -> trigger key, config and account (reconcile re-creates
                     a subscription from it);
- ``snapshot``       list-membership snapshots, one row per (instance, member id);
- ``leases``         named leases (see :mod:`runtime.store.leases`).

Writes that belong together go through :meth:`StateStore.batch`: ONE transaction whose
commit holds every key, inbox row, snapshot row and the compare-and-set cursor of a poll, or
none of them. Every commit is durable (on disk, or on the PostgreSQL server's disk, when the
block ends), so an acknowledged webhook survives a crash. Safe for many threads (connections
come from a bounded pool) and for several processes or machines on one database.

A trigger instance id is derived from the trigger key, its config and the account (org id and
API host, never a key): redeploys, restarts and key rotations keep the same id (and cursor); a
changed config or another account gets a new one.

The database holds webhook secrets: a SQLite file is owner-only (0600; a looser existing one is
made 0600 when opened), and nothing here returns a secret except
:meth:`StateStore.get_subscription` (whose ``repr`` hides it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.clock import Clock, to_iso, utc_now
from runtime.errors import ConfigurationError
from runtime.store import schema
from runtime.store.database import Database, Transaction
from runtime.store.sqlite_backend import SQLiteDatabase

DEFAULT_PATH = Path(".lsq") / "state.sqlite3"
STATE_DB_ENV = "LSQ_STATE_DB"
BUSY_TIMEOUT_SECONDS = 30.0
START_KEY = "start"  # a cursor of exactly {"start": iso} = "first poll starts here" (see reset)
PRUNE_BATCH = 2000  # rows deleted per transaction: a prune holds the write lock ~0.1 s at most
MEMBER_CHUNK = 500  # member ids per IN (...) lookup
SHOWN_FAILED = 20  # failed inbox events `lsq state show` lists (newest first)

_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")  # runtime.clock.to_iso
_INSTANCE_ID = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)-(?P<digest>[0-9a-f]{20})$")
_SUBSCRIPTION_COLUMNS = "instance_id, webhook_id, secret, receiver_url, event_code, created_at"


def access_key_fingerprint(access_key: str) -> str:
    """A short one-way fingerprint of an access key (the key itself is never stored)."""
    return hashlib.sha256(b"lsq-access-key:" + access_key.encode("utf-8")).hexdigest()[:16]


def instance_id(trigger_key: str, config: Mapping[str, Any], *, account: str) -> str:
    """The stable id of one trigger instance: ``<trigger_key>-<20 hex>``.

    ``account`` names the LeadSquared account, ``<org id>@<api host>`` (see
    ``runtime.api.account.AccountIdentity.key``), never a key. Same key + config + account
    -> same id across restarts, redeploys and key rotations; another account -> another id.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", trigger_key):
        raise ConfigurationError(f"not a trigger key: {trigger_key!r}")
    if not account.strip():
        raise ConfigurationError("a trigger instance needs the account it belongs to")
    identity = {"trigger": trigger_key, "config": config, "account": account.strip().lower()}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return f"{trigger_key}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:20]}"


def is_instance_id(value: str) -> bool:
    """Whether ``value`` has the shape :func:`instance_id` produces."""
    return _INSTANCE_ID.match(value) is not None


def trigger_key_of(instance: str) -> str:
    """The trigger key an instance id was derived from."""
    match = _INSTANCE_ID.match(instance)
    if match is None:
        raise ConfigurationError(f"not a trigger instance id: {instance!r}")
    return match["key"]


def default_state_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LSQ_STATE_DB`` if set, else ``.lsq/state.sqlite3`` under the current directory."""
    env = os.environ if environ is None else environ
    configured = env.get(STATE_DB_ENV, "").strip()
    return Path(configured) if configured else Path.cwd() / DEFAULT_PATH


@dataclass(frozen=True)
class CursorRecord:
    """A stored cursor: its JSON value and the version to pass back to ``put_cursor``."""

    value: dict[str, Any]
    version: int
    updated_at: str


@dataclass(frozen=True)
class Subscription:
    """A LeadSquared webhook created for one trigger instance. ``repr`` never shows the secret."""

    instance_id: str
    webhook_id: str
    secret: str = field(repr=False)
    receiver_url: str = ""
    event_code: str = ""
    created_at: str = ""

    def public(self) -> dict[str, str]:
        """Every field except the secret (for ``lsq state show`` and logs)."""
        return {
            "instance_id": self.instance_id,
            "webhook_id": self.webhook_id,
            "receiver_url": self.receiver_url,
            "event_code": self.event_code,
            "created_at": self.created_at,
        }


class StateStore(schema.DatabaseStore):
    """The trigger state database. Thread-safe and multi-process (multi-machine) safe.

    ``StateStore(path)`` opens (and creates) a SQLite file, upgrading its schema;
    ``StateStore(database=db)`` uses a database opened by :mod:`runtime.store.storage`
    (PostgreSQL must be at the current schema version: ``lsq db upgrade``).
    """

    component = schema.STATE

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        database: Database | None = None,
        owns_database: bool = False,
    ) -> None:
        self.clock = clock
        if database is not None:
            self._attach(database, owns=owns_database)
            return
        file = Path(path) if path is not None else default_state_path(environ)
        self._attach(SQLiteDatabase(file, busy_timeout=busy_timeout, what="the state file",
                                    env_hint=STATE_DB_ENV), owns=True)

    def now_iso(self) -> str:
        """The store clock's current time as stored text."""
        return to_iso(self.clock())

    @contextlib.contextmanager
    def batch(self) -> Iterator[StateBatch]:
        """One durable transaction for writes that belong together (see :class:`StateBatch`)."""
        with self.db.transaction() as tx:
            yield StateBatch(tx, self.now_iso())

    # -- cursors ------------------------------------------------------------------------------

    def get_cursor(self, instance: str) -> CursorRecord | None:
        """The instance's cursor; None before its first write, value ``{}`` after a reset."""
        with self.db.read() as tx:
            return _read_cursor(tx, instance)

    def put_cursor(
        self, instance: str, value: Mapping[str, Any], *, expected_version: int | None = None
    ) -> int | None:
        """Store a cursor; returns its new version, or None if ``expected_version`` is stale."""
        with self.batch() as batch:
            return batch.write_cursor(instance, value, expected_version)

    # -- dedupe and snapshots -----------------------------------------------------------------

    def seen(self, instance: str, event_key: str) -> bool:
        """Whether ``event_key`` was already handed on for ``instance``."""
        with self.db.read() as tx:
            return _recorded(tx, instance, event_key)

    def known_members(self, instance: str, member_ids: Iterable[str]) -> set[str]:
        """The ids among ``member_ids`` that the instance's list snapshot holds."""
        with self.db.read() as tx:
            return _known_members(tx, instance, member_ids)

    def recorded_keys(self, instance: str, event_keys: Iterable[str]) -> set[str]:
        """The keys among ``event_keys`` already in the dedupe table (chunked lookups)."""
        keys = list(event_keys)
        found: set[str] = set()
        with self.db.read() as tx:
            for offset in range(0, len(keys), MEMBER_CHUNK):
                chunk = keys[offset : offset + MEMBER_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(row[0] for row in tx.execute(
                    "SELECT event_key FROM dedupe WHERE instance_id = ? "
                    f"AND event_key IN ({marks})", (instance, *chunk),
                ))
        return found

    def latest_versions(self, instance: str, item_ids: Iterable[str]) -> dict[str, str]:
        """For time-keyed events (``<id>@<to_iso time>``): each id's newest recorded time.

        One primary-key range read per id (``<id>@`` up to ``<id>A``; a collation that orders
        more keys into the range only adds rows); a key counts only when it is exactly the id,
        ``@`` and a stored time (so ``a@b@<time>`` is not a version of ``a``).
        """
        latest: dict[str, str] = {}
        with self.db.read() as tx:
            for item_id in dict.fromkeys(item_ids):
                prefix = f"{item_id}@"
                for (key,) in tx.execute(
                    "SELECT event_key FROM dedupe WHERE instance_id = ? AND event_key >= ? "
                    "AND event_key < ?", (instance, prefix, f"{item_id}A"),
                ):
                    moment = key[len(prefix):]
                    if (key.startswith(prefix) and _STORED_TIME.fullmatch(moment)
                            and moment > latest.get(item_id, "")):
                        latest[item_id] = moment
        return latest

    # -- subscriptions ------------------------------------------------------------------------

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert or replace the instance's webhook subscription."""
        created = subscription.created_at or self.now_iso()
        with self.db.transaction() as tx:
            tx.execute(
                f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (instance_id) DO UPDATE SET webhook_id = excluded.webhook_id, "
                "secret = excluded.secret, receiver_url = excluded.receiver_url, "
                "event_code = excluded.event_code, created_at = excluded.created_at",
                (subscription.instance_id, subscription.webhook_id, subscription.secret,
                 subscription.receiver_url, subscription.event_code, created),
            )

    def get_subscription(self, instance: str) -> Subscription | None:
        """The instance's subscription (with its secret), or None."""
        row = self.db.query(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE instance_id = ?",
            (instance,),
        )
        return Subscription(*row[0]) if row else None

    def list_subscriptions(self) -> list[Subscription]:
        """Every stored subscription, by instance id."""
        rows = self.db.query(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY instance_id"
        )
        return [Subscription(*row) for row in rows]

    def delete_subscription(self, instance: str) -> bool:
        """Forget the instance's subscription; True if there was one."""
        with self.db.transaction() as tx:
            deleted = tx.execute("DELETE FROM subscriptions WHERE instance_id = ?", (instance,))
            return deleted.rowcount > 0

    # -- webhook trigger configs (what reconcile re-creates a subscription from) ---------------

    def remember_trigger(
        self, instance: str, trigger_key: str, config: Mapping[str, Any], account: str
    ) -> None:
        """Keep the trigger key, config and account of ``instance``."""
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO webhook_triggers (instance_id, trigger_key, config, account) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET "
                "trigger_key = excluded.trigger_key, config = excluded.config, "
                "account = excluded.account",
                (instance, trigger_key, text, account),
            )

    def forget_trigger(self, instance: str) -> None:
        """Drop what :meth:`remember_trigger` kept for ``instance``."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM webhook_triggers WHERE instance_id = ?", (instance,))

    def trigger_configs(self) -> dict[str, dict[str, Any]]:
        """``{instance: {"trigger_key", "config", "account"}}`` of every remembered trigger."""
        rows = self.db.query(
            "SELECT instance_id, trigger_key, config, account FROM webhook_triggers"
        )
        return {
            instance: {"trigger_key": key, "config": json.loads(text), "account": account}
            for instance, key, text, account in rows
        }

    # -- maintenance --------------------------------------------------------------------------

    def reset(self, instance: str, since: datetime | None = None) -> None:
        """Forget the instance's cursor, dedupe keys and snapshot.

        Without ``since`` the next poll takes a fresh baseline (emits nothing); with ``since``
        it emits everything from that time on, again. Queued inbox events and the webhook
        subscription are kept.
        """
        value = {START_KEY: to_iso(since)} if since is not None else {}
        with self.batch() as batch:
            batch.tx.execute("DELETE FROM dedupe WHERE instance_id = ?", (instance,))
            batch.tx.execute("DELETE FROM snapshot WHERE instance_id = ?", (instance,))
            # Overwritten, not deleted: the version keeps growing, so a poll that read the
            # old cursor cannot commit over the reset (its compare-and-set fails).
            batch.write_cursor(instance, value, None)

    def prune(self, before: datetime, *, batch_size: int = PRUNE_BATCH) -> dict[str, int]:
        """Delete dedupe keys recorded, settled (done or failed) inbox events last changed and
        deliveries received before ``before`` that no kept event needs.

        Never touches a pending or processing event, a cursor, a snapshot, a subscription or
        a lease. Deletes in transactions of ``batch_size`` rows (short write locks). Keep
        ``before`` well beyond the polling overlap and LeadSquared's retry window (days, not
        minutes): a pruned key no longer stops a re-delivery.
        """
        cutoff = to_iso(before)
        return {
            "dedupe_keys": delete_in_batches(
                self.db, "dedupe", "(instance_id, event_key)",
                "SELECT instance_id, event_key FROM dedupe WHERE recorded_at < ?",
                (cutoff,), batch_size,
            ),
            "inbox_events": delete_in_batches(
                self.db, "inbox", "id",
                "SELECT id FROM inbox WHERE status IN ('done', 'failed') AND updated_at < ?",
                (cutoff,), batch_size,
            ),
            "deliveries": delete_in_batches(
                self.db, "deliveries", "id",
                "SELECT id FROM deliveries d WHERE received_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM inbox i WHERE i.delivery_id = d.id)",
                (cutoff,), batch_size,
            ),
        }

    def counts(self) -> dict[str, int]:
        """Rows per table (for ``lsq db status`` and retention checks)."""
        tables = ("cursors", "dedupe", "deliveries", "inbox", "subscriptions", "snapshot",
                  "webhook_triggers", "leases")
        with self.db.read() as tx:
            return {table: int(tx.execute(f"SELECT COUNT(*) FROM {table}").scalar())
                    for table in tables}

    def copy_instance(self, instance: str, target: StateStore) -> None:
        """Copy one instance's cursor, dedupe keys and snapshot into ``target`` (a scratch
        store for a dry run: what a poll reads, without touching this store)."""
        with self.db.read() as tx:
            cursor = tx.execute(
                "SELECT value, version, updated_at FROM cursors WHERE instance_id = ?",
                (instance,),
            ).first()
            keys = tx.execute(
                "SELECT event_key, recorded_at FROM dedupe WHERE instance_id = ?", (instance,)
            ).rows
            members = tx.execute(
                "SELECT member_id, generation FROM snapshot WHERE instance_id = ?", (instance,)
            ).rows
        with target.db.transaction() as tx:
            if cursor is not None:
                tx.execute("INSERT INTO cursors (instance_id, value, version, updated_at) "
                           "VALUES (?, ?, ?, ?)", (instance, *cursor))
            tx.executemany("INSERT INTO dedupe (instance_id, event_key, recorded_at) "
                           "VALUES (?, ?, ?)", [(instance, *key) for key in keys])
            tx.executemany("INSERT INTO snapshot (instance_id, member_id, generation) "
                           "VALUES (?, ?, ?)", [(instance, *member) for member in members])

    def show(self) -> dict[str, Any]:
        """A JSON-able summary per instance for ``lsq state show``. Never includes secrets.

        ``failed_events`` (only when there are some) lists the newest ``SHOWN_FAILED`` failed
        (dead-lettered) inbox events with their error.
        """
        instances: dict[str, dict[str, Any]] = {}

        def entry(instance: str) -> dict[str, Any]:
            return instances.setdefault(
                instance,
                {
                    "instance_id": instance,
                    "cursor": None,
                    "inbox": {},
                    "dedupe_keys": 0,
                    "snapshot_members": 0,
                    "subscription": None,
                },
            )

        with self.db.read() as tx:
            for instance, value, version, updated in tx.execute(
                "SELECT instance_id, value, version, updated_at FROM cursors"
            ):
                entry(instance)["cursor"] = {
                    **_summarize_cursor(json.loads(value)),
                    "version": version,
                    "updated_at": updated,
                }
            for instance, status, count in tx.execute(
                "SELECT instance_id, status, COUNT(*) FROM inbox GROUP BY instance_id, status"
            ):
                entry(instance)["inbox"][status] = count
            for instance, item_id, key, attempts, error, updated in tx.execute(
                "SELECT instance_id, id, event_key, attempts, error, updated_at FROM inbox "
                "WHERE status = 'failed' ORDER BY id DESC LIMIT ?", (SHOWN_FAILED,)
            ):
                entry(instance).setdefault("failed_events", []).append({
                    "id": item_id, "event_key": key, "attempts": attempts, "error": error,
                    "updated_at": updated,
                })
            for instance, count in tx.execute(
                "SELECT instance_id, COUNT(*) FROM dedupe GROUP BY instance_id"
            ):
                entry(instance)["dedupe_keys"] = count
            for instance, count in tx.execute(
                "SELECT instance_id, COUNT(*) FROM snapshot GROUP BY instance_id"
            ):
                entry(instance)["snapshot_members"] = count
        for subscription in self.list_subscriptions():
            entry(subscription.instance_id)["subscription"] = subscription.public()
        return {"path": self.location, "instances": [instances[k] for k in sorted(instances)]}


class StateBatch:
    """Writes inside one :meth:`StateStore.batch` transaction (committed together or not at
    all). ``now`` is the batch's time as stored text."""

    __slots__ = ("now", "tx")

    def __init__(self, tx: Transaction, now: str) -> None:
        self.tx = tx
        self.now = now

    def recorded(self, instance: str, event_key: str) -> bool:
        """Whether ``event_key`` is already in the dedupe table for ``instance``."""
        return _recorded(self.tx, instance, event_key)

    def record_key(self, instance: str, event_key: str) -> bool:
        """Record ``event_key`` as handed on; False if it already was (a duplicate)."""
        return self.tx.execute(
            "INSERT INTO dedupe (instance_id, event_key, recorded_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (instance, event_key, self.now),
        ).rowcount == 1

    def queue_event(
        self,
        instance: str,
        event_key: str,
        payload: Any,
        *,
        delivery_id: int | None = None,
        content_type: str | None = None,
        status: str = "pending",
        error: str | None = None,
    ) -> bool:
        """Dedupe ``event_key`` and queue the event in the inbox; False (nothing stored) when
        the key was already recorded for ``instance``."""
        if not self.record_key(instance, event_key):
            return False
        self.tx.execute(
            "INSERT INTO inbox (instance_id, event_key, delivery_id, received_at, content_type, "
            "payload, status, attempts, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (instance, event_key, delivery_id, self.now, content_type,
             json.dumps(payload, separators=(",", ":")), status, error, self.now),
        )
        return True

    def add_delivery(self, instance: str, content_type: str | None, raw_body: bytes) -> int:
        """Keep a delivery's raw body; returns its id."""
        return int(self.tx.execute(
            "INSERT INTO deliveries (instance_id, received_at, content_type, raw_body) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            (instance, self.now, content_type, raw_body),
        ).scalar())

    def read_cursor(self, instance: str) -> CursorRecord | None:
        """The instance's cursor as this transaction sees it."""
        return _read_cursor(self.tx, instance)

    def write_cursor(
        self, instance: str, value: Mapping[str, Any], expected_version: int | None
    ) -> int | None:
        """Compare-and-set a cursor: the new version, or None on a conflict.

        ``expected_version`` None writes unconditionally; 0 means "must not exist yet";
        otherwise it must equal the stored version. One statement, so two writers on any
        backend cannot both succeed from the same version.
        """
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        if expected_version is None:
            rows = self.tx.execute(
                "INSERT INTO cursors (instance_id, value, version, updated_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (instance_id) DO UPDATE SET "
                "value = excluded.value, version = cursors.version + 1, "
                "updated_at = excluded.updated_at RETURNING version",
                (instance, text, self.now),
            )
        elif expected_version == 0:
            rows = self.tx.execute(
                "INSERT INTO cursors (instance_id, value, version, updated_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (instance_id) DO NOTHING RETURNING version",
                (instance, text, self.now),
            )
        else:
            rows = self.tx.execute(
                "UPDATE cursors SET value = ?, version = version + 1, updated_at = ? "
                "WHERE instance_id = ? AND version = ? RETURNING version",
                (text, self.now, instance, expected_version),
            )
        version = rows.scalar()
        return None if version is None else int(version)

    def known_members(self, instance: str, member_ids: Iterable[str]) -> set[str]:
        """The ids among ``member_ids`` that the snapshot holds (as this transaction sees)."""
        return _known_members(self.tx, instance, member_ids)

    def save_members(self, instance: str, member_ids: Iterable[str], generation: int) -> None:
        """Mark members as seen by scan ``generation`` (inserted or updated)."""
        rows = [(instance, member_id, generation) for member_id in member_ids]
        if not rows:
            return
        self.tx.executemany(
            "INSERT INTO snapshot (instance_id, member_id, generation) VALUES (?, ?, ?) "
            "ON CONFLICT (instance_id, member_id) DO UPDATE SET generation = excluded.generation",
            rows,
        )

    def drop_members(self, instance: str, through_generation: int) -> None:
        """Forget members last seen by scan ``through_generation`` or earlier."""
        self.tx.execute(
            "DELETE FROM snapshot WHERE instance_id = ? AND generation <= ?",
            (instance, through_generation),
        )


def _summarize_cursor(value: Mapping[str, Any]) -> dict[str, Any]:
    """A cursor without its potentially long id lists (their lengths instead) and with a
    time cursor's window of counts as the records it counts (``window_records``)."""
    summary = {k: v for k, v in value.items() if not isinstance(v, list) and k != "window"}
    summary.update({f"{k}_count": len(v) for k, v in value.items() if isinstance(v, list)})
    if isinstance(value.get("window"), Mapping):
        summary["window_records"] = sum(int(n) for n in value["window"].values())
    return summary


# -- helpers shared by the store and its batches ----------------------------------------------


def _read_cursor(tx: Transaction, instance: str) -> CursorRecord | None:
    row = tx.execute(
        "SELECT value, version, updated_at FROM cursors WHERE instance_id = ?", (instance,)
    ).first()
    return CursorRecord(json.loads(row[0]), int(row[1]), row[2]) if row else None


def _recorded(tx: Transaction, instance: str, event_key: str) -> bool:
    return tx.execute(
        "SELECT 1 FROM dedupe WHERE instance_id = ? AND event_key = ?", (instance, event_key)
    ).first() is not None


def _known_members(tx: Transaction, instance: str, member_ids: Iterable[str]) -> set[str]:
    ids = list(member_ids)
    found: set[str] = set()
    for offset in range(0, len(ids), MEMBER_CHUNK):
        chunk = ids[offset : offset + MEMBER_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0] for row in tx.execute(
                f"SELECT member_id FROM snapshot WHERE instance_id = ? AND member_id IN ({marks})",
                (instance, *chunk),
            )
        )
    return found


def delete_in_batches(
    db: Database, table: str, key: str, select: str, params: Sequence[Any], batch_size: int
) -> int:
    """Delete the rows of ``table`` whose ``key`` the ``select`` returns, ``batch_size`` per
    transaction; returns how many were deleted."""
    deleted = 0
    while True:
        with db.transaction() as tx:
            count = tx.execute(
                f"DELETE FROM {table} WHERE {key} IN ({select} LIMIT ?)", (*params, batch_size)
            ).rowcount
        deleted += count
        if count < batch_size:
            return deleted
