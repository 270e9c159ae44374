"""Prometheus metrics of one service, fed by the event bus, served as ``GET /metrics``.

Each :class:`Metrics` has its own ``CollectorRegistry`` (never prometheus_client's global one),
so two services, or two tests, in one process count apart. It is a bus listener: attach it
with ``BUS.listening(metrics)`` (or :meth:`Metrics.attach`); it counts every event the process
emits while attached. Levels that live in the store (inbox depth, oldest pending age) are read
at scrape time through an injected :data:`BacklogSource`, since this package imports no store.

Labels have few values and never hold a secret or a record value: operation names (an
``api_call`` path segment that is not a name becomes ``{id}``, and after
:data:`MAX_OPERATIONS` distinct names the rest count as ``other``), HTTP statuses, workflow
names, trigger keys and trigger instance ids (a trigger key and a hash).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    PLATFORM_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, make_wsgi_app
from prometheus_client.registry import Collector

from runtime.observe.events import (
    BUS,
    ApiCall,
    Bus,
    Event,
    Failure,
    GovernorWait,
    PollFinished,
    RunFinished,
    WebhookAnswered,
)

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series: scrapes stay small and stable

MAX_OPERATIONS = 200
NAME_SEGMENT = re.compile(r"[A-Za-z]+(?:\.[A-Za-z]+)*")
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
WAIT_BUCKETS = (0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Backlog:
    """One trigger instance's inbox: items pending, failed (dead-lettered), oldest pending age."""

    instance: str
    pending: int
    failed: int
    oldest_pending_age: float | None


BacklogSource = Callable[[], Iterable[Backlog]]
"""Reads the inbox at scrape time (injected by the engine, which owns the store)."""


class Metrics:
    """The service's metrics (see the README's Metrics table for every name)."""

    def __init__(
        self,
        *,
        backlog: BacklogSource | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.backlog = backlog
        self._wall = wall
        self._operations: dict[str, str] = {}
        self._api_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._last_complete: dict[tuple[str, str], float] = {}
        r = self.registry
        self.api_calls = Counter(
            "lsq_api_calls", "API requests by operation and answer status",
            ["operation", "status"], registry=r)
        self.api_duration = Histogram(
            "lsq_api_call_duration_seconds", "API request latency (governor wait excluded)",
            ["operation"], buckets=API_BUCKETS, registry=r)
        self.limit_answers = Counter(
            "lsq_api_limit_answers", "rate-limit answers: 429, or 403 'exceeded the limit'",
            ["operation", "status"], registry=r)
        self.governor_wait = Histogram(
            "lsq_governor_wait_seconds", "time calls waited for the account's rate budget",
            ["budget"], buckets=WAIT_BUCKETS, registry=r)
        self.runs = Counter(
            "lsq_runs", "finished workflow runs by outcome", ["workflow", "outcome"], registry=r)
        self.run_duration = Histogram(
            "lsq_run_duration_seconds", "workflow run duration", ["workflow", "outcome"],
            buckets=RUN_BUCKETS, registry=r)
        self.polls = Counter(
            "lsq_polls", "polls by trigger instance and outcome (ok, partial, failed)",
            ["trigger", "instance", "outcome"], registry=r)
        self.poll_events = Counter(
            "lsq_poll_events", "events polls handed to the inbox", ["trigger", "instance"],
            registry=r)
        self.webhooks = Counter(
            "lsq_webhook_deliveries", "requests the webhook receiver answered, by HTTP status",
            ["status"], registry=r)
        self.failures = Counter(
            "lsq_failures", "failures outside runs: where (poll, item) and error category",
            ["where", "category"], registry=r)
        r.register(_ScrapeTime(self))
        ProcessCollector(registry=r)  # process_*: CPU, resident memory, open descriptors
        r.register(PLATFORM_COLLECTOR)  # python_info
        self._handlers: dict[type, Callable[[Any], None]] = {
            ApiCall: self._api_call,
            GovernorWait: self._governor_wait,
            RunFinished: self._run,
            PollFinished: self._poll,
            Failure: self._failure,
            WebhookAnswered: lambda event: self.webhooks.labels(str(event.status)).inc(),
        }

    # -- listening -----------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def attach(self, bus: Bus = BUS) -> Callable[[], None]:
        """Subscribe to ``bus``; returns the function that detaches."""
        return bus.subscribe(self)

    def _api_call(self, event: ApiCall) -> None:
        key = (event.operation, event.status)
        children = self._api_children.get(key)
        if children is None:  # labels() costs about as much as the rest: look it up once
            operation = self.operation_label(event.operation)
            children = (self.api_calls.labels(operation, event.status),
                        self.api_duration.labels(operation))
            if len(self._api_children) < 4 * MAX_OPERATIONS:
                self._api_children[key] = children
        children[0].inc()
        children[1].observe(event.seconds)
        if event.limited:
            self.limit_answers.labels(self.operation_label(event.operation), event.status).inc()

    def _governor_wait(self, event: GovernorWait) -> None:
        self.governor_wait.labels("bulk" if event.bulk else "calls").observe(event.seconds)

    def _run(self, event: RunFinished) -> None:
        self.runs.labels(event.workflow, event.outcome).inc()
        self.run_duration.labels(event.workflow, event.outcome).observe(event.seconds)

    def _poll(self, event: PollFinished) -> None:
        outcome = "ok" if event.complete else "partial"
        self.polls.labels(event.trigger, event.instance, outcome).inc()
        if event.events:
            self.poll_events.labels(event.trigger, event.instance).inc(event.events)
        if event.complete:
            with self._lock:
                self._last_complete[(event.trigger, event.instance)] = event.started

    def _failure(self, event: Failure) -> None:
        self.failures.labels(event.where, event.problem.category).inc()
        if event.where == "poll":
            self.polls.labels(event.trigger, event.instance, "failed").inc()

    def operation_label(self, operation: str) -> str:
        """``operation`` as a label: id-like path segments as ``{id}``, bounded in number."""
        label = self._operations.get(operation)
        if label is not None:
            return label
        label = "/".join(
            part if NAME_SEGMENT.fullmatch(part) else "{id}" for part in operation.split("/")
        )
        with self._lock:
            known = set(self._operations.values())
            if label not in known and len(known) >= MAX_OPERATIONS:
                label = "other"
            if len(self._operations) < 4 * MAX_OPERATIONS:
                self._operations[operation] = label
        return label

    # -- scraping ------------------------------------------------------------------------

    def poll_lags(self) -> dict[tuple[str, str], float]:
        """Seconds since the start of each instance's last complete poll: every change older
        than that (and than the trigger's overlap window) has been seen."""
        now = self._wall()
        with self._lock:
            return {key: max(0.0, now - started) for key, started in self._last_complete.items()}

    def render(self) -> bytes:
        """The exposition text, as ``GET /metrics`` answers it."""
        return generate_latest(self.registry)

    def wsgi_app(self) -> Callable[..., Iterable[bytes]]:
        """A WSGI app answering the exposition text (mount it at ``/metrics``)."""
        return make_wsgi_app(self.registry)


class _ScrapeTime(Collector):
    """Levels read when scraped: inbox depth and age (from the store), poll lag."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "lsq_poll_lag_seconds", "seconds since the start of the last complete poll",
            labels=["trigger", "instance"])
        for (trigger, instance), seconds in sorted(self.metrics.poll_lags().items()):
            lag.add_metric([trigger, instance], seconds)
        yield lag
        if self.metrics.backlog is None:
            return
        readable = GaugeMetricFamily(
            "lsq_inbox_readable", "1 when the inbox could be read for this scrape, else 0")
        try:
            backlog = list(self.metrics.backlog())
        except Exception as problem:
            log.warning("metrics: the inbox could not be read: %s", type(problem).__name__)
            readable.add_metric([], 0)
            yield readable
            return
        readable.add_metric([], 1)
        yield readable
        families = (
            ("lsq_inbox_pending", "inbox items waiting to run", "pending"),
            ("lsq_inbox_failed", "inbox items that failed for good (dead-lettered)", "failed"),
            ("lsq_inbox_oldest_pending_age_seconds", "age of the oldest pending inbox item",
             "oldest_pending_age"),
        )
        for name, help_text, attribute in families:
            family = GaugeMetricFamily(name, help_text, labels=["instance"])
            for row in sorted(backlog, key=lambda b: b.instance):
                value = getattr(row, attribute)
                if value is not None:
                    family.add_metric([row.instance], value)
            yield family


__all__ = ["CONTENT_TYPE_LATEST", "MAX_OPERATIONS", "Backlog", "BacklogSource", "Metrics"]
