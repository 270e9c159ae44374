-- The run history file as lsq wrote it before versioned migrations. Every statement is
-- IF NOT EXISTS: a file made by that code is adopted as version 1 without touching its data.
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow    TEXT NOT NULL,
    source      TEXT,
    trigger_key TEXT NOT NULL,
    origin      TEXT NOT NULL,
    instance_id TEXT,
    event_key   TEXT,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    event       TEXT,
    error       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_once ON runs (workflow, instance_id, event_key)
    WHERE event_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, id);
CREATE TABLE IF NOT EXISTS steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    step_id     TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    input       TEXT,
    output      TEXT,
    error       TEXT,
    PRIMARY KEY (run_id, position)
);
