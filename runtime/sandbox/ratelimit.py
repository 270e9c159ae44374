"""Per-account rate limits: a sliding 5-second window, with a separate bulk budget.

LeadSquared limits calls per account (shared by all its keys): 25 per 5 s on Enterprise,
and 1 per 5 s for bulk endpoints on every plan (reference §3.3). The 429 body's message is
documented; its ExceptionType is not (UNKNOWN), so ``MXAPIRateLimitExceededException`` is
our choice. One tenant answered 403 with the same message, which ``status=403`` emulates.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from runtime.sandbox.errors import LsqError

WINDOW_SECONDS = 5.0
RATE_LIMIT_EXCEPTION = "MXAPIRateLimitExceededException"  # UNKNOWN in the reference: chosen here


class RateLimiter:
    """Counts calls per (tenant, budget) in a sliding window and refuses the excess."""

    def __init__(
        self,
        limit: int = 25,
        bulk_limit: int = 1,
        *,
        status: int = 429,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.bulk_limit = bulk_limit
        self.status = status
        self._clock = clock
        self._calls: dict[tuple[str, bool], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, tenant_id: str, *, bulk: bool = False) -> None:
        """Record one call, or raise the LeadSquared rate-limit error if over the limit."""
        limit = self.bulk_limit if bulk else self.limit
        if limit <= 0:
            return
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault((tenant_id, bulk), deque())
            while calls and now - calls[0] >= WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= limit:
                raise LsqError(
                    RATE_LIMIT_EXCEPTION,
                    f"API calls exceeded the limit of {limit} in 5 second(s)",
                    status=self.status,
                )
            calls.append(now)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
