"""Durable state: everything that must survive a restart, in SQLite files or PostgreSQL.

Owns the one database interface (:mod:`~runtime.store.database`) and its two backends
(:mod:`~runtime.store.sqlite_backend`, :mod:`~runtime.store.postgres_backend`: pooled
connections, transactions, classified faults, file permissions), the versioned schema
(:mod:`~runtime.store.schema`, ``migrations/``), and the domain modules written once over it:
trigger state (cursors, dedupe keys, subscriptions, snapshots), the webhook inbox, run history,
leases and retention. :mod:`~runtime.store.storage` decides the backend (``--database`` /
``LSQ_DATABASE_URL``); no module outside this package holds SQL or imports a database driver.
It may import the bottom modules only (``runtime.errors``, ``clock``, ``observe``, ``text``,
``inputs``): it stores what it is given and knows nothing of LeadSquared, manifests or
workflows.
"""
