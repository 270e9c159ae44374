"""Webhook delivery: LeadSquared's side of a webhook, POSTing record events to receivers.

Services announce record events (``state.emit``) while they hold ``state.lock``;
:class:`WebhookEmitter` only queues a delivery per matching enabled webhook there. A background
thread (one per :class:`~.app.SandboxApp`, started on the first delivery) sends them without
any sandbox lock held, retries failures, records each finished delivery in
``tenant.webhook_deliveries`` and disables a webhook (``StatusCode`` 2) after
:data:`DISABLE_AFTER` consecutive failed deliveries (reference §12.4).

Each webhook gets its events in order: its next delivery starts when the previous one is
done (delivered, or failed after its retries); different webhooks do not wait for each other.
UNKNOWN in the reference: LeadSquared's ordering; chosen per-webhook order.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from runtime.sandbox.services.webhooks import matching_webhooks
from runtime.sandbox.state import SandboxState, Tenant

log = logging.getLogger(__name__)

# LIKELY: up to 3 retries after a failed attempt (a code comment, reference §12.4); the
# intervals are UNKNOWN, chosen short (the app and tests may pass their own).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)
DISABLE_AFTER = 10  # consecutive failed deliveries that disable a webhook (CONFIRMED rule)
ENABLED, DISABLED_BY_FAILURES = 0, 2
SEND_TIMEOUT = 5.0


@dataclass(order=True)
class _Delivery:
    """One event on its way to one webhook; ordered by when its next attempt is due."""

    due: float
    seq: int
    tenant: Tenant = field(compare=False)
    webhook_id: str = field(compare=False)
    event: str = field(compare=False)
    event_code: str = field(compare=False)
    url: str = field(compare=False)
    content_type: str = field(compare=False)
    headers: dict[str, str] = field(compare=False, repr=False)  # may hold receiver secrets
    payload: Any = field(compare=False)
    generation: int = field(compare=False)
    attempts: list[dict[str, Any]] = field(compare=False, default_factory=list)


def encode_body(payload: Any, content_type: str) -> bytes:
    """The request body for a content type: JSON, form fields, or the JSON text as plain text.

    UNKNOWN in the reference: how the form encoding renders nulls and nested values; chosen
    "" for null and JSON text for objects and arrays (a non-object payload becomes one
    ``Data`` field).
    """
    if content_type != "application/x-www-form-urlencoded":
        return json.dumps(payload).encode("utf-8")
    items = payload.items() if isinstance(payload, dict) else [("Data", payload)]
    return urlencode([(key, _form_value(value)) for key, value in items]).encode("utf-8")


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _public_url(url: str) -> str:
    """The URL without its query string, which may carry a receiver's secret."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class WebhookEmitter:
    """Queues webhook deliveries on record events and sends them from a worker thread."""

    def __init__(
        self,
        state: SandboxState,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.state = state
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._queue: list[_Delivery] = []  # heap: the head delivery of each busy webhook
        self._waiting: dict[str, deque[_Delivery]] = {}  # the rest, per webhook, in order
        self._cond = threading.Condition()
        self._active = 0
        self._generation = 0
        self._seq = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        state.subscribe(self._on_event)

    # -- producer side (runs under state.lock) ------------------------------------------------

    def _on_event(self, tenant: Tenant, event: str, payload: Any) -> None:
        hooks = matching_webhooks(tenant, event, payload)
        if not hooks:
            return
        snapshot = json.loads(json.dumps(payload, default=str))  # records change later
        with self._cond:
            if self._stopped:
                return
            for hook in hooks:
                delivery = _Delivery(
                    due=time.monotonic(), seq=next(self._seq), tenant=tenant,
                    webhook_id=hook["WebhookId"], event=event, event_code=hook["EventCode"],
                    url=hook["URL"], content_type=hook["ContentType"],
                    headers={h["Key"]: h["Value"] for h in hook["CustomHeaders"]},
                    payload=snapshot, generation=self._generation,
                )
                if delivery.webhook_id in self._waiting:  # busy: wait behind the others
                    self._waiting[delivery.webhook_id].append(delivery)
                else:
                    self._waiting[delivery.webhook_id] = deque()
                    heapq.heappush(self._queue, delivery)
            self._start_worker()
            self._cond.notify_all()

    def _start_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="lsq-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    # -- controls -----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Deliveries queued or being sent."""
        with self._cond:
            behind = sum(len(waiting) for waiting in self._waiting.values())
            return len(self._queue) + self._active + behind

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (retries included) is done; False on timeout.

        Never call this while holding ``state.lock``: the worker needs it to finish.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._active or self._waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def settle(self, timeout: float = 2.0) -> bool:
        """Block until no delivery is being sent or due now (retries due later, and the
        deliveries queued behind them, stay queued); False on timeout. A process about to exit
        calls it so that its events reach the receivers at least once.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active or (self._queue and self._queue[0].due <= time.monotonic()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def clear(self) -> None:
        """Drop pending deliveries; one being sent finishes but is not recorded (reset)."""
        with self._cond:
            self._queue.clear()
            self._waiting.clear()
            self._generation += 1
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (pending deliveries are dropped)."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._waiting.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._session.close()

    # -- worker -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    not self._queue or self._queue[0].due > time.monotonic()
                ):
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                delivery = heapq.heappop(self._queue)
                self._active += 1
            try:
                self._attempt(delivery)
            except Exception:  # a sandbox bug must not kill the worker
                log.exception("webhook delivery failed unexpectedly")
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

    def _attempt(self, delivery: _Delivery) -> None:
        blocked = self._blocked(delivery)
        if blocked is not None:
            self._finish(delivery, "dropped", blocked)
            return
        status, error = self._send(delivery)
        delivery.attempts.append({
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "status": status, "error": error,
        })
        if status == 200:
            self._finish(delivery, "delivered", None)
        elif len(delivery.attempts) > len(self.retry_delays):
            self._finish(delivery, "failed", None)
        else:  # retry later; the webhook's next deliveries keep waiting
            delivery.due = time.monotonic() + self.retry_delays[len(delivery.attempts) - 1]
            with self._cond:
                if delivery.generation == self._generation and not self._stopped:
                    heapq.heappush(self._queue, delivery)
                    self._cond.notify_all()

    def _blocked(self, delivery: _Delivery) -> str | None:
        with self.state.lock:
            hook = delivery.tenant.webhooks.get(delivery.webhook_id)
            if hook is None:
                return "webhook deleted"
            if hook["StatusCode"] != ENABLED:
                return "webhook disabled"
        return None

    def _send(self, delivery: _Delivery) -> tuple[int | None, str | None]:
        """One POST, no lock held: (HTTP status, None) or (None, connection error)."""
        headers = {**delivery.headers, "Content-Type": delivery.content_type}
        try:
            response = self._session.post(
                delivery.url, data=encode_body(delivery.payload, delivery.content_type),
                headers=headers, timeout=self.timeout, allow_redirects=False,
            )
        except requests.RequestException as problem:
            return None, type(problem).__name__
        response.close()
        return response.status_code, None

    def _finish(self, delivery: _Delivery, outcome: str, reason: str | None) -> None:
        """Record the delivery, apply the disable rule, then start the webhook's next one."""
        with self._cond:
            if delivery.generation != self._generation:
                return  # the sandbox was reset meanwhile
        self._record(delivery, outcome, reason)
        with self._cond:
            if delivery.generation != self._generation:
                return
            waiting = self._waiting.get(delivery.webhook_id)
            if waiting:
                following = waiting.popleft()
                following.due = time.monotonic()
                heapq.heappush(self._queue, following)
                self._cond.notify_all()
            else:
                self._waiting.pop(delivery.webhook_id, None)

    def _record(self, delivery: _Delivery, outcome: str, reason: str | None) -> None:
        """The delivery log entry and the webhook's failure count (under state.lock)."""
        with self.state.lock:
            hook = delivery.tenant.webhooks.get(delivery.webhook_id)
            if hook is not None and outcome == "delivered":
                hook["ConsecutiveFailures"] = 0
            elif hook is not None and outcome == "failed":
                hook["ConsecutiveFailures"] += 1
                if hook["ConsecutiveFailures"] >= DISABLE_AFTER:
                    hook["StatusCode"] = DISABLED_BY_FAILURES
            delivery.tenant.webhook_deliveries.append({
                "webhook_id": delivery.webhook_id,
                "event": delivery.event,
                "event_code": delivery.event_code,
                "url": _public_url(delivery.url),
                "content_type": delivery.content_type,
                "header_names": sorted(delivery.headers),
                "payload": delivery.payload,
                "attempts": delivery.attempts,
                "outcome": outcome,
                "reason": reason,
            })
