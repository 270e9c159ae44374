-- Leases: one owner per name (a webhook subscription, a poll schedule), compare-and-set.
-- token grows with every new tenure (a fencing token for the holder's writes).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    token       INTEGER NOT NULL,
    acquired_at TEXT NOT NULL
);
-- Retention: pruning reads old rows through these instead of scanning whole tables.
CREATE INDEX dedupe_by_age ON dedupe (recorded_at);
CREATE INDEX inbox_settled_by_age ON inbox (status, updated_at) WHERE status IN ('done', 'failed');
CREATE INDEX inbox_by_delivery ON inbox (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX deliveries_by_age ON deliveries (received_at);
