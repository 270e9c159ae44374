"""Durable state: everything that must survive a restart.

Owns the SQLite file (connections, transactions, file permissions), trigger state (cursors,
dedupe keys, subscriptions, snapshots), the webhook inbox and the run history. It may import
``runtime.errors`` and ``runtime.clock`` only: it stores what it is given and knows nothing of
LeadSquared, manifests or workflows.
"""
