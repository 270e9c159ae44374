"""Moving one trigger instance's rows to a new id, once (a one-time migration step).

Trigger instance ids were derived from (API host, access-key fingerprint); they are now
derived from the account (org id, API host). :func:`rename_instance` moves every row of the
former id to the new one in one transaction, in each table that has an ``instance_id``
column (on PostgreSQL that includes the run history, which shares the database), and only
while the new id has no rows at all: it runs once per instance and never merges two states.
Instant triggers then re-subscribe once (their webhook's address holds the id): the service
replaces the old webhook with one at the new address.
"""

from __future__ import annotations

from runtime.store.database import POSTGRESQL, Database, Transaction

#: The tables with an ``instance_id`` column, per dialect (the catalogue differs).
_TABLES = {
    POSTGRESQL: "SELECT table_name FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND column_name = 'instance_id'",
    "sqlite": "SELECT m.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c "
    "WHERE m.type = 'table' AND c.name = 'instance_id'",
}


def rename_instance(db: Database, old: str, new: str) -> bool:
    """Move ``old``'s rows to ``new`` when ``new`` has none; True when anything moved."""
    if old == new:
        return False
    with db.transaction() as tx:
        tables = _tables_with_instances(tx)
        if any(_has_rows(tx, table, new) for table in tables):
            return False
        moved = 0
        for table in tables:
            moved += tx.execute(
                f'UPDATE "{table}" SET instance_id = ? WHERE instance_id = ?', (new, old)
            ).rowcount
        return moved > 0


def _tables_with_instances(tx: Transaction) -> list[str]:
    return sorted({str(row[0]) for row in tx.execute(_TABLES[tx.dialect.name])})


def _has_rows(tx: Transaction, table: str, instance: str) -> bool:
    query = f'SELECT 1 FROM "{table}" WHERE instance_id = ? LIMIT 1'
    return tx.execute(query, (instance,)).first() is not None
