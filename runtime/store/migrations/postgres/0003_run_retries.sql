-- Retries: a run made by `lsq runs retry` (or the page's Retry button) names the run it
-- retries and the step it started from (NULL: from the start); a step whose record was taken
-- over from an earlier run (the steps before that one) names the run it came from.
ALTER TABLE runs ADD COLUMN retry_of BIGINT;
ALTER TABLE runs ADD COLUMN retry_from TEXT;
ALTER TABLE steps ADD COLUMN reused_from BIGINT;
CREATE INDEX runs_by_retry ON runs (retry_of) WHERE retry_of IS NOT NULL;
-- The page's status filter reads runs by status, newest first.
CREATE INDEX runs_by_status ON runs (status, id);
