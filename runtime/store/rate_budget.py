"""One rate budget per account shared by every process of every machine (PostgreSQL only).

:class:`SharedRateBudget` has the interface of the in-process ``RateGovernor``
(``runtime.api.governor.RateBudget``): ``acquire``/``release``/``slot``/``pause``/``limits``.
The budget of ``N`` calls per window is ``N`` rows of ``rate_slots``; taking one is one
statement (``FOR UPDATE SKIP LOCKED``, so concurrent takers get different slots), and so are
giving it back and pausing. A slot stays busy while its call runs and one window (plus a
margin) after it finished; a holder that died frees its slot after ``hold`` seconds. All times
are the database server's clock. A pause (after a 429) is a row of ``rate_pauses``: no slot of
the account is handed out until it is over. A waiting caller sleeps until the first slot frees
(at most ``MAX_NAP`` seconds), then asks again.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from runtime.errors import ConfigurationError
from runtime.store.database import POSTGRESQL, Database

WINDOW_SECONDS = 5.0
SAFETY_MARGIN = 0.05
DEFAULT_HOLD = 120.0  # seconds a running call may keep its slot (the longest request timeout)
MAX_NAP = 0.5
MAX_SLOTS = 1000
"""Most slots of one budget (rows): a larger limit is counted as this many calls per window.
No LeadSquared plan comes near it (Enterprise: 25 per 5 s); it keeps a test's "unlimited"
connection from making a million rows."""

_ENSURE = (
    "INSERT INTO rate_slots (account, budget, slot) "
    "SELECT ?, ?, g FROM generate_series(0, ? - 1) AS g ON CONFLICT DO NOTHING"
)
_TAKE = """
WITH pause AS (
    SELECT paused_until FROM rate_pauses WHERE account = ? AND paused_until > clock_timestamp()
), free AS (
    SELECT slot FROM rate_slots
    WHERE account = ? AND budget = ? AND slot < ? AND busy_until <= clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM pause)
    ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE rate_slots AS s SET busy_until = clock_timestamp() + make_interval(secs => ?),
        in_flight = TRUE, holder = ?
    FROM free WHERE s.account = ? AND s.budget = ? AND s.slot = free.slot
    RETURNING s.slot
)
SELECT (SELECT slot FROM taken),
       EXTRACT(EPOCH FROM GREATEST(
           (SELECT max(paused_until) FROM pause),
           (SELECT min(CASE WHEN in_flight
                            THEN LEAST(busy_until, clock_timestamp() + make_interval(secs => ?))
                            ELSE busy_until END)
            FROM rate_slots WHERE account = ? AND budget = ? AND slot < ?)
       ) - clock_timestamp())
"""
_GIVE_BACK = (
    "UPDATE rate_slots SET busy_until = clock_timestamp() + make_interval(secs => ?), "
    "in_flight = FALSE, holder = NULL "
    "WHERE account = ? AND budget = ? AND slot = ? AND holder = ?"
)
_PAUSE = (
    "INSERT INTO rate_pauses (account, paused_until) "
    "VALUES (?, clock_timestamp() + make_interval(secs => ?)) ON CONFLICT (account) DO UPDATE "
    "SET paused_until = GREATEST(rate_pauses.paused_until, excluded.paused_until)"
)


@dataclass(frozen=True)
class SharedTicket:
    """The slots a call holds: ``(budget, slot)`` pairs and the holder token."""

    slots: tuple[tuple[str, int], ...]
    holder: str


class SharedRateBudget:
    """``rate_limit`` calls and ``bulk_rate_limit`` bulk calls per window for one account,
    counted in the database for every process."""

    def __init__(
        self,
        db: Database,
        account: str,
        rate_limit: int,
        bulk_rate_limit: int = 1,
        *,
        window: float = WINDOW_SECONDS,
        margin: float = SAFETY_MARGIN,
        hold: float = DEFAULT_HOLD,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if db.dialect.name != POSTGRESQL:
            raise ConfigurationError("a shared rate budget needs the PostgreSQL store")
        self.db = db
        self.account = account
        self._span = window + margin
        self._hold = max(hold, self._span)
        self._sleep = sleep
        self._limits = (0, 0)
        self.waited = 0.0  # seconds this process's callers spent waiting (logs and tests)
        self.set_limits(rate_limit, bulk_rate_limit)

    @property
    def limits(self) -> tuple[int, int]:
        return self._limits

    def set_limits(self, rate_limit: int, bulk_rate_limit: int) -> None:
        """Use ``rate_limit``/``bulk_rate_limit`` slots (rows are made as needed; at most
        ``MAX_SLOTS``)."""
        for name, value in (("rate_limit", rate_limit), ("bulk_rate_limit", bulk_rate_limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
        rate_limit, bulk_rate_limit = min(rate_limit, MAX_SLOTS), min(bulk_rate_limit, MAX_SLOTS)
        with self.db.transaction(durable=False) as tx:
            tx.execute(_ENSURE, (self.account, "calls", rate_limit))
            tx.execute(_ENSURE, (self.account, "bulk", bulk_rate_limit))
        self._limits = (rate_limit, bulk_rate_limit)

    def acquire(self, *, bulk: bool = False) -> SharedTicket:
        """Block until a slot is free in each budget the call counts against; take them.

        A bulk call takes a bulk slot first (the scarce one), then a call slot.
        """
        holder = uuid.uuid4().hex
        budgets = ("bulk", "calls") if bulk else ("calls",)
        taken = tuple((budget, self._take(budget, holder)) for budget in budgets)
        return SharedTicket(taken, holder)

    def release(self, ticket: SharedTicket) -> None:
        """The call finished now: each of its slots frees one window (plus margin) later."""
        with self.db.transaction(durable=False) as tx:
            for budget, slot in ticket.slots:
                tx.execute(_GIVE_BACK, (self._span, self.account, budget, slot, ticket.holder))

    def pause(self, seconds: float) -> None:
        """No call of the account starts, in any process, for ``seconds`` from now."""
        with self.db.transaction(durable=False) as tx:
            tx.execute(_PAUSE, (self.account, max(float(seconds), 0.0)))

    def slot(self, *, bulk: bool = False) -> _Held:
        """``with budget.slot(): send()`` holds the slot(s) around one call."""
        return _Held(self, bulk)

    def _take(self, budget: str, holder: str) -> int:
        limit = self._limits[0] if budget == "calls" else self._limits[1]
        while True:
            with self.db.transaction(durable=False) as tx:
                slot, wait = tx.execute(_TAKE, (
                    self.account, self.account, budget, limit, self._hold, holder,
                    self.account, budget, self._span, self.account, budget, limit,
                )).first() or (None, None)
            if slot is not None:
                return int(slot)
            nap = min(max(float(wait or 0.0), 0.002), MAX_NAP) + random.uniform(0, 0.002)
            self._sleep(nap)
            self.waited += nap


class _Held:
    """The slot(s) of one call: taken on entry, given back on exit (also on an error)."""

    __slots__ = ("_budget", "_bulk", "_ticket")

    def __init__(self, budget: SharedRateBudget, bulk: bool) -> None:
        self._budget, self._bulk = budget, bulk
        self._ticket: SharedTicket | None = None

    def __enter__(self) -> None:
        self._ticket = self._budget.acquire(bulk=self._bulk)

    def __exit__(self, *exc: object) -> None:
        if self._ticket is not None:
            self._budget.release(self._ticket)


def shared_budgets(db: Database) -> Callable[[str, int, int], SharedRateBudget]:
    """A budget factory for ``GOVERNORS.use``: every account's budget kept in ``db``."""

    def make(account: str, rate_limit: int, bulk_rate_limit: int) -> SharedRateBudget:
        return SharedRateBudget(db, account, rate_limit, bulk_rate_limit)

    return make


__all__ = ["SharedRateBudget", "SharedTicket", "shared_budgets"]
