-- The trigger state file as lsq wrote it before versioned migrations (PRAGMA user_version 1),
-- plus the webhook trigger configs that lsq hooks kept beside it. Every statement is
-- IF NOT EXISTS: a file made by that code is adopted as version 1 without touching its data.
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
CREATE TABLE IF NOT EXISTS webhook_triggers (
    instance_id TEXT PRIMARY KEY,
    trigger_key TEXT NOT NULL,
    config      TEXT NOT NULL,
    account     TEXT NOT NULL
);
