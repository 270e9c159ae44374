"""Moving one trigger instance's rows to a new id, once (an isolated migration step).

Trigger instance ids were derived from (API host, access-key fingerprint); they are now
derived from the account (org id, API host). :func:`rename_instance` moves every row of the
former id to the new one in one transaction, in each table that has an ``instance_id``
column, and only while the new id has no rows at all: it runs once per instance and never
merges two states. Instant triggers then re-subscribe once (their webhook's address holds the
id): the service replaces the old webhook with one at the new address.

This module only knows SQLite's catalogue; a storage backend rewrite re-homes it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Protocol


class Transactional(Protocol):
    """A store that hands out write transactions (StateStore, HistoryStore)."""

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


def rename_instance(store: Transactional, old: str, new: str) -> bool:
    """Move ``old``'s rows to ``new`` when ``new`` has none; True when anything moved."""
    if old == new:
        return False
    with store.transaction() as conn:
        tables = _tables_with_instances(conn)
        if any(_has_rows(conn, table, new) for table in tables):
            return False
        moved = 0
        for table in tables:
            moved += conn.execute(
                f'UPDATE "{table}" SET instance_id = ? WHERE instance_id = ?', (new, old)
            ).rowcount
        return moved > 0


def _tables_with_instances(conn: sqlite3.Connection) -> list[str]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )]
    return [name for name in names
            if any(column[1] == "instance_id"
                   for column in conn.execute(f'PRAGMA table_info("{name}")'))]


def _has_rows(conn: sqlite3.Connection, table: str, instance: str) -> bool:
    query = f'SELECT 1 FROM "{table}" WHERE instance_id = ? LIMIT 1'
    return conn.execute(query, (instance,)).fetchone() is not None
