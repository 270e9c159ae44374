"""`lsq serve`: receive, poll and run workflows until told to stop.

Three pieces share only the state store (a SQLite file, or PostgreSQL), so a production host
may split them (the receiver under any WSGI server, pollers and runners elsewhere):

- the **receiver**: :class:`~runtime.engine.receiver.WebhookReceiver` served in-process by a
  threaded werkzeug server; instant triggers are subscribed through
  :mod:`runtime.engine.subscriptions` to ``<public_url>/hooks/<instance>``;
- the **poller**: every polling trigger is polled through the
  :class:`~runtime.engine.polling.PollingEngine` (inbox mode) every ``poll_interval`` seconds (the
  workflow's, else the service default); the first poll, at start, is a baseline;
- the **workers** (``workers`` threads, woken when a delivery or a poll stores an event):
  each claims inbox items of the served instances (events of one record, e.g. one lead, in
  arrival order, never two at once), turns each into events with the
  trigger module's ``events()``, runs every workflow bound to the instance once per event
  (run history keyed by ``(workflow, instance, "<item key>#<n>")``: a re-claimed item never
  runs twice) and marks the item done. An ``events()`` failure puts the item back (retriable
  errors) or marks it failed; a failed run is recorded, and the item is still done (running
  the steps again could duplicate their writes).

Workflows with the same trigger, config and account share one trigger instance (one
subscription, one cursor, one inbox) and all run for each of its events.

Shutdown (:meth:`WorkflowService.stop`, on SIGTERM/SIGINT from the CLI): the receiver stops
accepting first, then the poller stops (a poll commits atomically or not at all), then the
worker finishes the item it holds and exits; nothing accepted is lost: pending items stay in
the inbox for the next start, and a claim that could not finish is handed out again: at the
next start when its process died on this host (SIGKILL, crash), else when it expires.
Webhook subscriptions are kept (LeadSquared retries deliveries while the service is down);
``lsq hooks`` removes them.
"""

from __future__ import annotations

import logging
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from runtime.engine.polling import PollingEngine
from runtime.engine.receiver import WebhookReceiver, receiver_url
from runtime.engine.run_events import is_polling, trigger_config, trigger_module, workflow_instance
from runtime.engine.subscriptions import check_base_url
from runtime.errors import ConfigurationError, ConnectorError
from runtime.store.inbox import Inbox, InboxItem
from runtime.store.state import StateStore
from runtime.workflows.runner import WorkflowRunner

if TYPE_CHECKING:
    from runtime.workflows.workflow import Workflow

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 60.0
IDLE_WAIT = 0.25  # seconds a worker waits when nothing wakes it (events of other processes)
DEFAULT_WORKERS = 4  # worker threads (measured in bench/webhook_pipeline.py, BENCHMARKS.md)
RECENT_RUNS = 1000  # run records kept in memory (WorkflowService.runs)


@dataclass
class Binding:
    """One trigger instance the service serves, and the workflows it starts."""

    instance: str
    trigger_key: str
    module: types.ModuleType
    config: dict[str, Any]
    client: Any
    workflows: list[Workflow] = field(default_factory=list)
    interval: float = DEFAULT_POLL_INTERVAL
    next_poll: float = 0.0
    manifest: Any = None

    @property
    def polling(self) -> bool:
        return is_polling(self.module)


Subscriber = Callable[[Binding, str, StateStore], Any]
"""Subscribes one instant binding to a receiver URL (creates or reuses the webhook)."""


def default_subscriber(binding: Binding, url: str, store: StateStore) -> Any:
    """Subscribe through :mod:`runtime.engine.subscriptions` (reuses a live subscription)."""
    from runtime.engine import subscriptions

    return subscriptions.ensure_subscription(
        binding.client, store, binding.instance, binding.module, binding.config, url,
        manifest=binding.manifest,
    )


class _QuietHandler(WSGIRequestHandler):
    """No access log lines (they would carry instance ids, never secrets, but are noise)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("receiver: %s %s", self.requestline, code)


class WorkflowService:
    """Serves workflows: receiver + poller + worker threads over one state store."""

    def __init__(
        self,
        workflows: Sequence[Workflow],
        runner: WorkflowRunner,
        store: StateStore,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        default_poll_interval: float = DEFAULT_POLL_INTERVAL,
        subscriber: Subscriber = default_subscriber,
        idle_wait: float = IDLE_WAIT,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        names = [workflow.name for workflow in workflows]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(
                f"two workflows are named {', '.join(repr(n) for n in duplicates)}",
                hint="run history tells workflows apart by name; rename one",
            )
        if not workflows:
            raise ConfigurationError("no workflow to serve")
        self.runner = runner
        self.store = store
        self.inbox = Inbox(store)
        self.engine = PollingEngine(store)
        self.host, self.port = host, port
        self.public_url = check_base_url(public_url) if public_url else None
        self.default_poll_interval = default_poll_interval
        self.subscriber = subscriber
        self.idle_wait = idle_wait
        self.workers = max(1, workers)
        self.bindings = self._bind(workflows)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: BaseWSGIServer | None = None
        self.receiver = WebhookReceiver(
            store, event_keys={b.trigger_key: b.module.event_key for b in self.bindings.values()},
            inbox=self.inbox,
        )
        self.runs: list[Any] = []  # this process's run records, newest last (for callers/tests)

    def _bind(self, workflows: Sequence[Workflow]) -> dict[str, Binding]:
        bindings: dict[str, Binding] = {}
        manifest = self.runner.manifest
        for workflow in workflows:
            client = self.runner.client_for(workflow)
            config = trigger_config(manifest, workflow)
            instance = workflow_instance(workflow, client, config, stores=self._stores())
            binding = bindings.get(instance)
            if binding is None:
                binding = bindings[instance] = Binding(
                    instance=instance,
                    trigger_key=workflow.trigger.key,
                    module=trigger_module(manifest, workflow.trigger.key),
                    config=config,
                    client=client,
                    interval=float(workflow.poll_interval or self.default_poll_interval),
                    manifest=manifest,
                )
            elif workflow.poll_interval:
                binding.interval = min(binding.interval, float(workflow.poll_interval))
            binding.workflows.append(workflow)
        return bindings

    def _stores(self) -> tuple[Any, ...]:
        """The stores holding rows keyed by instance: state, and the run history when kept."""
        history = getattr(self.runner, "history", None)
        return (self.store,) if history is None else (self.store, history)

    # -- life cycle -------------------------------------------------------------------------

    @property
    def receiving(self) -> bool:
        """Whether the webhook receiver is up (only when an instant trigger is served)."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The receiver's own base URL (``http://host:port``), once started."""
        if self._server is None:
            raise ConfigurationError("the service is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Bind the receiver, subscribe, take the first polls, start the threads."""
        instant = [b for b in self.bindings.values() if not b.polling]
        if instant:
            self._server = make_server(
                self.host, self.port, self.receiver, threaded=True, request_handler=_QuietHandler
            )
            self._spawn("lsq-receiver", self._server.serve_forever)
            base = self.public_url or self.url
            for binding in instant:
                self.subscriber(binding, receiver_url(base, binding.instance), self.store)
                logger.info("subscribed %s at %s", binding.instance, base)
        for binding in self.bindings.values():
            if binding.polling:
                self._poll(binding)
            released = self.inbox.release_orphaned_claims(binding.instance)
            if released:
                logger.info("%s: %d event(s) claimed by a stopped process run again",
                            binding.instance, released)
        self._spawn("lsq-poller", self._poll_loop)
        for number in range(self.workers):
            self._spawn(f"lsq-worker-{number}", self._work_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, stop polling, let the worker finish its item; then return."""
        self._stop.set()
        self.inbox.arrivals.set()  # wake the idle workers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("%s did not stop in time; its claim will expire", thread.name)
        self._threads.clear()

    def wait(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler or another thread)."""
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        """Ask :meth:`wait` to return (safe in a signal handler)."""
        self._stop.set()

    def __enter__(self) -> WorkflowService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- polling ----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            due = [b for b in self.bindings.values() if b.polling and b.next_poll <= now]
            for binding in due:
                if self._stop.is_set():
                    return
                self._poll(binding)
            upcoming = [b.next_poll for b in self.bindings.values() if b.polling]
            self._stop.wait(max(0.05, min(upcoming) - time.monotonic()) if upcoming else 1.0)

    def _poll(self, binding: Binding) -> None:
        binding.next_poll = time.monotonic() + binding.interval
        try:
            if hasattr(binding.module, "fetch_page"):
                result = self.engine.poll(
                    binding.instance, binding.module, binding.client, binding.config
                )
            else:
                result = self.engine.poll_members(
                    binding.instance, binding.module, binding.client, binding.config
                )
        except ConnectorError as problem:
            logger.warning("poll %s failed: %s", binding.instance, problem)
            return
        except Exception:
            logger.exception("poll %s failed unexpectedly", binding.instance)
            return
        if result.emitted:
            self.inbox.arrivals.set()  # wake a worker
        logger.info(
            "poll %s: %d new event(s)%s", binding.instance, result.emitted,
            " (baseline)" if result.baseline else "",
        )

    # -- running ----------------------------------------------------------------------------

    def _work_loop(self) -> None:
        while not self._stop.is_set():
            worked = False
            for binding in self.bindings.values():
                if self._stop.is_set():
                    return
                item = self.inbox.claim_next(binding.instance)
                if item is not None:
                    worked = True
                    self.process(binding, item)
            if not worked:
                self.inbox.wait_for_work(self.idle_wait)  # woken by a delivery or a poll

    def process(self, binding: Binding, item: InboxItem) -> None:
        """Run the workflows of ``binding`` for one claimed inbox item, then settle it."""
        redact = self.runner.clients.redact
        try:
            events = binding.module.events(binding.client, binding.config, item.payload)
        except ConnectorError as problem:
            status = self.inbox.mark_failed(
                item, redact(str(problem)), retry=problem.retriable
            )
            logger.warning("inbox item %s: events() failed (%s): %s",
                           item.id, status, redact(str(problem)))
            return
        except Exception as problem:
            self.inbox.mark_failed(item, redact(f"{type(problem).__name__}: {problem}"),
                                   retry=False)
            logger.exception("inbox item %s: events() raised unexpectedly", item.id)
            return
        origin = "webhook" if item.delivery_id is not None else "poll"
        for index, event in enumerate(events):
            for workflow in binding.workflows:
                self.inbox.keep_claim(item)
                record = self.runner.run(
                    workflow, event, origin=origin, instance_id=binding.instance,
                    event_key=f"{item.event_key}#{index}",
                )
                if record is not None:
                    self.runs.append(record)
                    del self.runs[:-RECENT_RUNS]
        if not self.inbox.mark_done(item):
            logger.warning("inbox item %s: claim lost before it was marked done", item.id)


__all__ = ["DEFAULT_POLL_INTERVAL", "Binding", "WorkflowService", "default_subscriber"]
