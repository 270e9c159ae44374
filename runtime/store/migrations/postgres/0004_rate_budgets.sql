-- One rate budget per account for every process on every machine (runtime/store/rate_budget.py).
-- A budget of N calls per window is N slots; a slot is busy while its call runs (in_flight, at
-- most until busy_until: a holder that died frees it then) and for one window after the call
-- finished. Times are the server's clock, so machines with skewed clocks share one window.
CREATE TABLE rate_slots (
    account    TEXT NOT NULL,
    budget     TEXT NOT NULL CHECK (budget IN ('calls', 'bulk')),
    slot       INTEGER NOT NULL,
    busy_until TIMESTAMPTZ NOT NULL DEFAULT '1970-01-01 00:00:00+00',
    in_flight  BOOLEAN NOT NULL DEFAULT FALSE,
    holder     TEXT,
    PRIMARY KEY (account, budget, slot)
);
-- After a 429 (or a 403 "exceeded the limit") no call of the account starts before paused_until.
CREATE TABLE rate_pauses (
    account      TEXT PRIMARY KEY,
    paused_until TIMESTAMPTZ NOT NULL
);
