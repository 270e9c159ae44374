"""The trigger state store: one SQLite file shared by pollers, the webhook receiver and runners.

What it holds (one table each):

- ``cursors``        polling cursors (JSON) keyed by trigger instance id, with a version for
                     compare-and-set, so two pollers never overwrite each other's progress;
- ``dedupe``         event keys already handed on, unique per instance (the idempotency record);
- ``deliveries`` and ``inbox``  accepted webhook deliveries and the events waiting to run
                     (see :mod:`runtime.store.inbox`, which owns their logic);
- ``subscriptions``  instance id -> LeadSquared webhook id, secret, receiver URL, event code;
- ``snapshot``       list-membership snapshots, one row per (instance, member id).

Concurrency: WAL journal, a busy timeout, ``synchronous=FULL`` (a commit is on disk before
``transaction()`` returns, so an acknowledged webhook survives a crash), one connection per
thread, and every write inside ``BEGIN IMMEDIATE``. Safe for a receiver thread and a runner
thread in one process, and for several processes on the same file.

A trigger instance id is derived from the trigger key, its config and the connection identity
(API host and a hash of the access key, never the key itself): redeploys and restarts keep the
same id (and cursor); a changed config or account gets a new one.

The file holds webhook secrets: it is created readable by its owner only, and nothing here
returns a secret except :meth:`StateStore.get_subscription` (whose ``repr`` hides it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.clock import Clock, to_iso, utc_now
from runtime.errors import ConfigurationError
from runtime.store.sqlite_file import SQLiteFile

DEFAULT_PATH = Path(".lsq") / "state.sqlite3"
STATE_DB_ENV = "LSQ_STATE_DB"
BUSY_TIMEOUT_SECONDS = 30.0
START_KEY = "start"  # a cursor of exactly {"start": iso} = "first poll starts here" (see reset)

_INSTANCE_ID = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)-(?P<digest>[0-9a-f]{20})$")
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    instance_id TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dedupe (
    instance_id TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, event_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_type TEXT,
    raw_body     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id   TEXT NOT NULL,
    event_key     TEXT NOT NULL,
    delivery_id   INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
    received_at   TEXT NOT NULL,
    content_type  TEXT,
    payload       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    claim_token   TEXT,
    claimed_until TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_status ON inbox (status, id);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox (instance_id, status);
CREATE TABLE IF NOT EXISTS subscriptions (
    instance_id  TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL,
    secret       TEXT NOT NULL,
    receiver_url TEXT NOT NULL,
    event_code   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    instance_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, member_id)
) WITHOUT ROWID;
"""

def access_key_fingerprint(access_key: str) -> str:
    """A short one-way fingerprint of an access key (the key itself is never stored)."""
    return hashlib.sha256(b"lsq-access-key:" + access_key.encode("utf-8")).hexdigest()[:16]


def instance_id(
    trigger_key: str, config: Mapping[str, Any], *, api_host: str | None, access_key: str
) -> str:
    """The stable id of one trigger instance: ``<trigger_key>-<20 hex>``.

    Pass the resolved regional host (``api-in21.leadsquared.com``); scheme, case and a
    trailing slash are ignored. Same key + config + account -> same id across restarts.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", trigger_key):
        raise ConfigurationError(f"not a trigger key: {trigger_key!r}")
    host = (api_host or "").strip().lower().removeprefix("https://").removeprefix("http://")
    identity = {
        "trigger": trigger_key,
        "config": config,
        "host": host.rstrip("/"),
        "access_key": access_key_fingerprint(access_key),
    }
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


class StateStore:
    """The SQLite state file. Thread-safe (one connection per thread) and multi-process safe."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.path = Path(path) if path is not None else default_state_path(environ)
        self.clock = clock
        self._file = SQLiteFile(
            self.path, busy_timeout=busy_timeout, what="the state file", env_hint=STATE_DB_ENV
        )
        with self.transaction() as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    # -- connections and transactions -------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` for writes)."""
        return self._file.connection()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (durable on return), ``ROLLBACK`` on any error."""
        return self._file.transaction()

    def now_iso(self) -> str:
        """The store clock's current time as stored text."""
        return to_iso(self.clock())

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        self._file.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cursors ------------------------------------------------------------------------------

    def get_cursor(self, instance: str) -> CursorRecord | None:
        """The instance's cursor; None before its first write, value ``{}`` after a reset."""
        return read_cursor(self.connection(), instance)

    def put_cursor(
        self, instance: str, value: Mapping[str, Any], *, expected_version: int | None = None
    ) -> int | None:
        """Store a cursor; returns its new version, or None if ``expected_version`` is stale."""
        with self.transaction() as conn:
            return write_cursor(conn, instance, value, self.now_iso(), expected_version)

    # -- dedupe -------------------------------------------------------------------------------

    def seen(self, instance: str, event_key: str) -> bool:
        """Whether ``event_key`` was already handed on for ``instance``."""
        row = self.connection().execute(
            "SELECT 1 FROM dedupe WHERE instance_id = ? AND event_key = ?", (instance, event_key)
        ).fetchone()
        return row is not None

    # -- subscriptions ------------------------------------------------------------------------

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert or replace the instance's webhook subscription."""
        created = subscription.created_at or self.now_iso()
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?, ?)",
                (
                    subscription.instance_id,
                    subscription.webhook_id,
                    subscription.secret,
                    subscription.receiver_url,
                    subscription.event_code,
                    created,
                ),
            )

    def get_subscription(self, instance: str) -> Subscription | None:
        """The instance's subscription (with its secret), or None."""
        row = self.connection().execute(
            "SELECT instance_id, webhook_id, secret, receiver_url, event_code, created_at "
            "FROM subscriptions WHERE instance_id = ?",
            (instance,),
        ).fetchone()
        return Subscription(*row) if row else None

    def list_subscriptions(self) -> list[Subscription]:
        """Every stored subscription, by instance id."""
        rows = self.connection().execute(
            "SELECT instance_id, webhook_id, secret, receiver_url, event_code, created_at "
            "FROM subscriptions ORDER BY instance_id"
        ).fetchall()
        return [Subscription(*row) for row in rows]

    def delete_subscription(self, instance: str) -> bool:
        """Forget the instance's subscription; True if there was one."""
        with self.transaction() as conn:
            deleted = conn.execute("DELETE FROM subscriptions WHERE instance_id = ?", (instance,))
            return deleted.rowcount > 0

    # -- maintenance --------------------------------------------------------------------------

    def reset(self, instance: str, since: datetime | None = None) -> None:
        """Forget the instance's cursor, dedupe keys and snapshot.

        Without ``since`` the next poll takes a fresh baseline (emits nothing); with ``since``
        it emits everything from that time on, again. Queued inbox events and the webhook
        subscription are kept.
        """
        value = {START_KEY: to_iso(since)} if since is not None else {}
        with self.transaction() as conn:
            for table in ("dedupe", "snapshot"):
                conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance,))
            # Overwritten, not deleted: the version keeps growing, so a poll that read the
            # old cursor cannot commit over the reset (its compare-and-set fails).
            write_cursor(conn, instance, value, self.now_iso(), None)

    def prune(self, before: datetime) -> dict[str, int]:
        """Delete dedupe keys recorded, and done inbox events finished, before ``before``.

        Keep ``before`` well beyond the polling overlap and LeadSquared's retry window
        (days, not minutes): a pruned key no longer stops a re-delivery.
        """
        cutoff = to_iso(before)
        with self.transaction() as conn:
            keys = conn.execute("DELETE FROM dedupe WHERE recorded_at < ?", (cutoff,)).rowcount
            done = conn.execute(
                "DELETE FROM inbox WHERE status = 'done' AND updated_at < ?", (cutoff,)
            ).rowcount
            conn.execute(
                "DELETE FROM deliveries WHERE id NOT IN "
                "(SELECT delivery_id FROM inbox WHERE delivery_id IS NOT NULL)"
            )
        return {"dedupe_keys": keys, "inbox_events": done}

    def show(self) -> dict[str, Any]:
        """A JSON-able summary per instance for ``lsq state show``. Never includes secrets."""
        conn = self.connection()
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

        for instance, value, version, updated in conn.execute(
            "SELECT instance_id, value, version, updated_at FROM cursors"
        ):
            entry(instance)["cursor"] = {
                **_summarize_cursor(json.loads(value)),
                "version": version,
                "updated_at": updated,
            }
        for instance, status, count in conn.execute(
            "SELECT instance_id, status, COUNT(*) FROM inbox GROUP BY instance_id, status"
        ):
            entry(instance)["inbox"][status] = count
        for instance, count in conn.execute(
            "SELECT instance_id, COUNT(*) FROM dedupe GROUP BY instance_id"
        ):
            entry(instance)["dedupe_keys"] = count
        for instance, count in conn.execute(
            "SELECT instance_id, COUNT(*) FROM snapshot GROUP BY instance_id"
        ):
            entry(instance)["snapshot_members"] = count
        for subscription in self.list_subscriptions():
            entry(subscription.instance_id)["subscription"] = subscription.public()
        return {"path": str(self.path), "instances": [instances[k] for k in sorted(instances)]}


def _summarize_cursor(value: Mapping[str, Any]) -> dict[str, Any]:
    """A cursor without its potentially long id lists."""
    summary = {k: v for k, v in value.items() if not isinstance(v, list)}
    summary.update({f"{k}_count": len(v) for k, v in value.items() if isinstance(v, list)})
    return summary


# -- helpers for code that is already inside a transaction (polling engine, inbox) -----------


def read_cursor(conn: sqlite3.Connection, instance: str) -> CursorRecord | None:
    """Read a cursor on ``conn`` (inside or outside a transaction)."""
    row = conn.execute(
        "SELECT value, version, updated_at FROM cursors WHERE instance_id = ?", (instance,)
    ).fetchone()
    return CursorRecord(json.loads(row[0]), row[1], row[2]) if row else None


def write_cursor(
    conn: sqlite3.Connection,
    instance: str,
    value: Mapping[str, Any],
    now_iso: str,
    expected_version: int | None,
) -> int | None:
    """Compare-and-set a cursor inside the caller's transaction.

    ``expected_version`` None writes unconditionally; 0 means "must not exist yet"; otherwise
    it must equal the stored version. Returns the new version, or None on a conflict.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    current = conn.execute(
        "SELECT version FROM cursors WHERE instance_id = ?", (instance,)
    ).fetchone()
    current_version = current[0] if current else 0
    if expected_version is not None and expected_version != current_version:
        return None
    new_version = current_version + 1
    conn.execute(
        "INSERT INTO cursors (instance_id, value, version, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (instance_id) DO UPDATE SET value = excluded.value, "
        "version = excluded.version, updated_at = excluded.updated_at",
        (instance, text, new_version, now_iso),
    )
    return new_version


def record_event_key(conn: sqlite3.Connection, instance: str, event_key: str, now_iso: str) -> bool:
    """Record ``event_key`` as handed on; False if it already was (a duplicate)."""
    inserted = conn.execute(
        "INSERT OR IGNORE INTO dedupe (instance_id, event_key, recorded_at) VALUES (?, ?, ?)",
        (instance, event_key, now_iso),
    )
    return inserted.rowcount == 1
