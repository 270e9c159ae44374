-- runs_by_status (0003) is never read in a SQLite history: list_runs' optional status filter,
-- `(CAST(? AS TEXT) IS NULL OR status = ?)`, is planned as a scan of runs by id, newest first
-- (EXPLAIN QUERY PLAN: SCAN runs, with or without a status), stopping at the page's LIMIT, and
-- no other query filters runs by status alone. Every run still wrote it: one more WAL page per
-- commit, 15-35 us of a 5-step run's CPU (measured, issue 14). PostgreSQL keeps its index (its
-- plans for the bound values use it).
DROP INDEX IF EXISTS runs_by_status;
