-- Retention: runs older than the retention period are found by their start time.
CREATE INDEX runs_by_age ON runs (started_at);
