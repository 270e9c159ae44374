"""`lsq serve`: receive, poll and run workflows until told to stop.

Three pieces share only the state store (a SQLite file, or PostgreSQL), so a production host
may split them (the receiver under any WSGI server, see ``runtime/web/wsgi.py``; pollers and
runners elsewhere):

- the **receiver**: :class:`~runtime.engine.receiver.WebhookReceiver`, served in-process by
  waitress (:mod:`runtime.engine.http_server`: bounded threads, connections and timeouts)
  inside the application ``app_factory`` builds (``lsq serve``: ``runtime/web``'s front with
  ``/hooks/...``, ``/healthz`` and the ``mounts``, e.g. ``/metrics``; the server then runs even
  when no instant trigger is served); instant triggers are subscribed through
  :mod:`runtime.engine.subscriptions` to ``<public_url>/hooks/<instance>``;
- the **poller**: every polling trigger is polled through the
  :class:`~runtime.engine.polling.PollingEngine` (inbox mode) every ``poll_interval`` seconds (the
  workflow's, else the service default); the first poll, at start, is a baseline;
- the **workers** (``workers`` threads, woken when a delivery or a poll stores an event; events
  of one record, e.g. one lead, in arrival order, never two at once): each claims inbox items
  of the served instances and hands each to
  :func:`~runtime.engine.processing.process_item` (runs every workflow bound to the instance
  once per event, settles the item; a failure is retried, then dead-lettered).

Supervision (:mod:`runtime.engine.supervision`): the worker survives any failure of an item;
on a storage fault (disk full, locked, read-only) it hands its item back and backs off (0.05 s
doubling to 2 s) until storage works again, by itself. A thread that dies anyway makes
:meth:`WorkflowService.wait` raise :class:`ServiceDied` (``lsq serve`` exits 1) and
:meth:`WorkflowService.health` fail. ``health()`` (``GET /healthz``) also fails while storage is
unavailable or the oldest unsettled item is older than ``max_pending_age``.

One owner per instance (:mod:`runtime.engine.ownership`): the service subscribes, polls and
works only the instances whose lease it holds, renewed by a keeper thread; a second service
on the same state refuses to start, or with ``standby`` takes over when the first stops or
dies. Retention (:mod:`runtime.store.retention`) runs every ``prune_interval`` seconds.

Workflows with the same trigger, config and account share one trigger instance (one
subscription, one cursor, one inbox) and all run for each of its events.

Polls, runs and failures are reported on the process event bus (:mod:`runtime.engine.observing`,
:mod:`runtime.observe`); ``mounts`` serves more WSGI apps beside the receiver (``lsq serve``
mounts ``/metrics``), and :attr:`WorkflowService.backlog` reads the inbox depth for them.

Shutdown (:meth:`WorkflowService.stop`, on SIGTERM/SIGINT from the CLI): the receiver stops
accepting first (requests in flight are answered), then the poller stops (a poll commits
atomically or not at all), then the worker finishes the item it holds and exits, then the
leases are released (a standby takes over at once); nothing accepted is lost: pending items
stay in the inbox for the next start, and a claim that could not finish is handed out again:
at the next start when its process died on this host (SIGKILL, crash), else when it expires.
Webhook subscriptions are kept (LeadSquared retries deliveries while the service is down);
``lsq hooks`` removes them.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from runtime.api.account import IDENTITIES
from runtime.engine import observing
from runtime.engine.health import DEFAULT_MAX_PENDING_AGE, Health, service_health
from runtime.engine.http_server import HttpServer, ServerSettings, WSGIApp
from runtime.engine.ownership import DEFAULT_LEASE_TTL, Ownership
from runtime.engine.polling import PollingEngine
from runtime.engine.processing import Outcome, process_item
from runtime.engine.receiver import WebhookReceiver, receiver_url
from runtime.engine.run_events import is_polling, trigger_config, trigger_module, workflow_instance
from runtime.engine.subscriptions import check_base_url
from runtime.engine.supervision import Backoff, ServiceDied, Supervisor
from runtime.engine.worker_process import (
    STOP_TIMEOUT,
    ParentLeases,
    WorkerProcess,
    serve_as_child,
)
from runtime.errors import ConfigurationError, ConnectorError, StorageUnavailable
from runtime.store.inbox import Inbox, InboxItem
from runtime.store.leases import Leases
from runtime.store.retention import Retention, prune
from runtime.store.state import StateStore
from runtime.workflows.runner import RunRecord, WorkflowRunner

if TYPE_CHECKING:
    from runtime.workflows.workflow import Workflow

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 60.0
IDLE_WAIT = 0.25  # seconds a worker waits when nothing wakes it (events of other processes)
CLAIM_BATCH = 4  # items a worker claims at once under a backlog (one transaction)
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


AppFactory = Callable[["WorkflowService"], WSGIApp]
"""Builds the HTTP application the service serves (default: the receiver alone)."""

Subscriber = Callable[[Binding, str, StateStore], Any]
"""Subscribes one instant binding to a receiver URL (creates or reuses the webhook)."""


def default_subscriber(binding: Binding, url: str, store: StateStore) -> Any:
    """Subscribe through :mod:`runtime.engine.subscriptions` (reuses a live subscription)."""
    from runtime.engine import subscriptions

    return subscriptions.ensure_subscription(
        binding.client, store, binding.instance, binding.module, binding.config, url,
        manifest=binding.manifest,
    )


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs: HTTP limits, ownership, health bound, retention schedule.

    ``prune_interval`` None: no pruning inside the service. ``max_pending_age`` in seconds.
    """

    http: ServerSettings = field(default_factory=ServerSettings)
    standby: bool = False
    lease_ttl: timedelta = DEFAULT_LEASE_TTL
    max_pending_age: float = DEFAULT_MAX_PENDING_AGE
    prune_interval: float | None = None
    retention: Retention = field(default_factory=Retention)


class WorkflowService:
    """Serves workflows: receiver + poller + worker (+ keeper, pruner) threads over one state
    store."""

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
        mounts: Mapping[str, WSGIApp] | None = None,
        app_factory: AppFactory | None = None,
        settings: ServiceSettings | None = None,
        workers: int = DEFAULT_WORKERS,
        worker_processes: int = 0,
        worker_command: Sequence[str] | None = None,
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
        self.settings = settings or ServiceSettings()
        self.workers = max(1, workers)
        if worker_processes and not worker_command:
            raise ConfigurationError("worker processes need the command that starts one")
        #: Children running the workers (:mod:`runtime.engine.worker_process`); none: the
        #: ``workers`` threads run in this process.
        self.children = [WorkerProcess(worker_command or (), n) for n in range(worker_processes)]
        #: More WSGI apps served beside the receiver, by path prefix (``{"/metrics": app}``):
        #: with any, or an ``app_factory``, the HTTP server runs even when no instant trigger
        #: is served.
        self.mounts = dict(mounts or {})
        self._app_factory = app_factory
        self.bindings = self._bind(workflows)
        self.ownership = Ownership(Leases(store), self.bindings, ttl=self.settings.lease_ttl)
        self._stop = threading.Event()
        self.supervisor = Supervisor(self._stop)
        self._server: HttpServer | None = None
        self._worker_fault: str | None = None  # the worker's last storage fault, until it clears
        self.receiver = WebhookReceiver(
            store, event_keys={b.trigger_key: b.module.event_key for b in self.bindings.values()},
            inbox=self.inbox,
        )
        # this process's newest run records (for callers and tests); bounded: memory does not
        # grow with the number of runs
        self._recent: collections.deque[RunRecord] = collections.deque(maxlen=RECENT_RUNS)
        #: reads the inbox depth of the served instances (for /metrics and the summary lines)
        self.backlog = observing.backlog_source(self.inbox, self.bindings)

    @property
    def runs(self) -> list[RunRecord]:
        """This process's newest runs (at most ``RECENT_RUNS``), oldest first."""
        return list(self._recent)

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
        return self._server is not None and any(not b.polling for b in self.bindings.values())

    @property
    def serving_http(self) -> bool:
        """Whether the HTTP server was started (receiver, mounts, ``/healthz``)."""
        return self._server is not None

    @property
    def storage_fault(self) -> str | None:
        """The storage fault the worker or the receiver met last, until it clears."""
        children = next((child.fault for child in self.children if child.fault), None)
        return self._worker_fault or children or self.receiver.storage_fault

    @property
    def max_pending_age(self) -> float:
        """Seconds the oldest unsettled item may wait before health fails."""
        return self.settings.max_pending_age

    @property
    def receiver_alive(self) -> bool:
        """Whether the HTTP server serves (False before start, after stop, or if it died)."""
        return self._server is not None and self._server.alive

    @property
    def url(self) -> str:
        """The receiver's own base URL (``http://host:port``), once started."""
        if self._server is None:
            raise ConfigurationError("the service is not started")
        return self._server.url

    @property
    def standing_by(self) -> list[str]:
        """The served instances whose lease another process holds (this one waits)."""
        return [instance for instance in self.bindings if not self.ownership.holds(instance)]

    def start(self) -> None:
        """Take the leases, bind the receiver, subscribe, take the first polls, start the
        threads. Raises ConfigurationError when another service holds a lease (not standby);
        a start that fails stops what it started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.ownership.acquire()
        if self.standing_by and not self.settings.standby:
            refusal = self.ownership.refusal()
            self.ownership.release()
            raise refusal
        instant = any(not b.polling for b in self.bindings.values())
        if instant or self.mounts or self._app_factory is not None:
            app = (self._app_factory or _default_app)(self)
            self._server = HttpServer(app, self.host, self.port, self.settings.http)
            self._server.start("lsq-receiver")
        for instance in self.ownership.held:
            self._take_over(self.bindings[instance])
        for instance in self.standing_by:
            logger.warning("%s: another process serves it; standing by", instance)
        self.supervisor.spawn("lsq-poller", self._poll_loop)
        accounts = ("accounts", IDENTITIES.known())  # the child starts without look-ups
        for child in self.children:
            child.start(accounts)
            self.supervisor.spawn(child.name, lambda child=child: child.watch(self._stop))
        if self.children:
            self.supervisor.spawn("lsq-waker", self._wake_loop)
        else:
            self._start_workers()
        self.supervisor.spawn("lsq-keeper", self._keep_loop)
        if self.settings.prune_interval:
            self.supervisor.spawn("lsq-pruner", self._prune_loop)

    def _start_workers(self) -> None:
        for number in range(self.workers):
            self.supervisor.spawn(f"lsq-worker-{number}", self._work_loop)

    def _wake_loop(self) -> None:
        """Tell the worker processes when an event was stored, and which instances this
        process holds (when that changes): what the worker threads read in-process."""
        told: frozenset[str] | None = None
        while not self._stop.is_set():
            woken = self.inbox.wait_for_work(self.idle_wait)
            held = frozenset(self.ownership.held)
            for child in self.children:
                if held != told:
                    child.send("held", held)  # wakes it too
                elif woken:
                    child.send("wake")
            told = held

    def serve_as_worker_process(self, channel: tuple[Any, Any]) -> int:
        """Run as a parent's worker process (``--worker-child``): only the worker threads,
        for the instances the parent holds; returns the exit code."""
        leases = ParentLeases()
        self.ownership = leases  # type: ignore[assignment]  # holds() as the parent says

        def stop() -> None:
            self._stop.set()
            self.inbox.arrivals.set()

        return serve_as_child(
            channel, start_workers=self._start_workers, stop=stop, wake=self.inbox.arrivals.set,
            leases=leases, fault=lambda: self._worker_fault,
            join=self._join_workers, dead=self.supervisor.dead,
            stopping=self._stop,
        )

    def _join_workers(self) -> list[str]:
        late = self.supervisor.join(STOP_TIMEOUT)
        self._flush_settles()
        return late

    def _flush_settles(self) -> None:
        """Commit the workers' deferred settles (else their claims expire: nothing is lost,
        the run history skips the runs)."""
        try:
            self.inbox.flush()
        except ConnectorError as problem:
            logger.warning("settles not written (their claims expire): %s", problem)

    def _take_over(self, binding: Binding) -> None:
        """Start serving an instance whose lease this service now holds."""
        if not binding.polling:
            base = self.public_url or self.url
            self.subscriber(binding, receiver_url(base, binding.instance), self.store)
            logger.info("subscribed %s at %s", binding.instance, base)
        else:
            self._poll(binding)
        released = self.inbox.release_orphaned_claims(binding.instance)
        if released:
            logger.info("%s: %d event(s) claimed by a stopped process run again",
                        binding.instance, released)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, stop polling, let the worker finish its item, give the leases up."""
        self._stop.set()
        self.inbox.arrivals.set()  # wake the idle workers
        if self._server is not None:
            self._server.stop()
        for child in self.children:  # each finishes its current item
            child.stop(timeout)
        for name in self.supervisor.join(timeout):
            logger.warning("%s did not stop in time; its claim will expire", name)
        self._flush_settles()
        try:
            self.ownership.release()
        except ConnectorError as problem:
            logger.warning("leases not released (they expire by themselves): %s", problem)

    def wait(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler or another thread).

        Raises :class:`ServiceDied` when a thread of the service died meanwhile.
        """
        while not self._stop.wait(0.5):
            dead = self.supervisor.dead()
            if self._server is not None and not self._server.alive and not self._stop.is_set():
                dead["lsq-receiver"] = "the HTTP server stopped"
            if dead:
                raise ServiceDied(
                    "; ".join(f"{name} died ({reason})" for name, reason in sorted(dead.items())),
                    hint="the process exits so that its supervisor restarts it",
                )

    def request_stop(self) -> None:
        """Ask :meth:`wait` to return (safe in a signal handler)."""
        self._stop.set()

    def health(self) -> Health:
        """Liveness of every part, storage, and the age of the oldest unsettled item."""
        return service_health(self)

    def __enter__(self) -> WorkflowService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- polling ----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            due = [b for b in self._polled() if b.next_poll <= now]
            for binding in due:
                if self._stop.is_set():
                    return
                self._poll(binding)
            upcoming = [b.next_poll for b in self._polled()]
            self._stop.wait(max(0.05, min(upcoming) - time.monotonic()) if upcoming else 1.0)

    def _polled(self) -> list[Binding]:
        return [b for b in self.bindings.values() if b.polling and self.ownership.holds(b.instance)]

    def _poll(self, binding: Binding) -> None:
        binding.next_poll = time.monotonic() + binding.interval
        clock = observing.PollClock()
        try:
            if hasattr(binding.module, "fetch_page"):
                result = self.engine.poll(
                    binding.instance, binding.module, binding.client, binding.config
                )
            else:
                result = self.engine.poll_members(
                    binding.instance, binding.module, binding.client, binding.config
                )
        except Exception as problem:
            if isinstance(problem, ConnectorError):
                logger.warning("poll %s failed: %s", binding.instance, problem)
            else:
                logger.exception("poll %s failed unexpectedly", binding.instance)
            observing.poll_failed(
                binding.trigger_key, binding.instance, problem, self.runner.clients.redact
            )
            return
        if result.emitted:
            self.inbox.arrivals.set()  # wake a worker
        logger.info(
            "poll %s: %d new event(s)%s", binding.instance, result.emitted,
            " (baseline)" if result.baseline else "",
        )
        observing.poll_finished(binding.trigger_key, binding.instance, result, clock)

    # -- running ----------------------------------------------------------------------------

    def _work_loop(self) -> None:
        backoff = Backoff()
        unsettled: list[InboxItem] = []  # claimed, not run yet: handed back on a fault or stop
        while not self._stop.is_set():
            try:
                while unsettled:
                    self.inbox.release(unsettled[0])
                    unsettled.pop(0)
                worked = False
                for binding in list(self.bindings.values()):
                    if self._stop.is_set():
                        break
                    if not self.ownership.holds(binding.instance):
                        continue
                    unsettled = self.inbox.claim_batch(binding.instance, CLAIM_BATCH)
                    while unsettled and not self._stop.is_set():
                        worked = True
                        self.process(binding, unsettled[0], settle_later=True)
                        unsettled.pop(0)
            except StorageUnavailable as problem:
                if self._worker_fault is None:
                    logger.warning("worker: storage unavailable, backing off: %s", problem)
                self._worker_fault = str(problem)
                self._stop.wait(backoff.next())
                continue
            except Exception:
                logger.exception("worker: unexpected failure, backing off")
                if unsettled:
                    unsettled.pop(0)  # its claim expires and counts as an attempt
                self._stop.wait(backoff.next())
                continue
            if self._worker_fault is not None:
                logger.warning("worker: storage works again; resuming")
                self._worker_fault = None
            backoff.reset()
            if not worked:
                self.inbox.wait_for_work(self.idle_wait)  # woken by a delivery or a poll
        self._hand_back(unsettled)

    def _hand_back(self, items: list[InboxItem]) -> None:
        """Release the claims of items this worker took and will not run (stopping)."""
        for item in items:
            try:
                self.inbox.release(item)
            except ConnectorError as problem:
                logger.warning("inbox item %s not handed back (its claim expires): %s",
                               item.id, problem)
                return

    def process(self, binding: Binding, item: InboxItem, *, settle_later: bool = False) -> Outcome:
        """Run the workflows of ``binding`` for one claimed inbox item, then settle it
        (:func:`~runtime.engine.processing.process_item`; the workers settle a success with
        their next claim)."""
        outcome = process_item(self.inbox, self.runner, binding, item, settle_later=settle_later)
        self._recent.extend(outcome.runs)
        return outcome

    # -- ownership and retention ------------------------------------------------------------

    def _keep_loop(self) -> None:
        while not self._stop.wait(self.settings.lease_ttl.total_seconds() / 3):
            try:
                for instance in self.ownership.renew():
                    logger.error("%s: lease lost; another process serves it now", instance)
                for instance in self.ownership.acquire():
                    logger.warning("%s: taking over (the previous owner stopped)", instance)
                    self._take_over_or_give_up(instance)
            except ConnectorError as problem:
                logger.warning("leases: %s", problem)
            except Exception:
                logger.exception("leases: unexpected failure")

    def _take_over_or_give_up(self, instance: str) -> None:
        """Take over ``instance``; if that fails (its subscription, a storage fault), give its
        lease back so that the next round (here or in another process) tries again."""
        try:
            self._take_over(self.bindings[instance])
        except Exception as problem:
            logger.error("%s: taking over failed, lease given back: %s", instance,
                         self.runner.clients.redact(str(problem)))
            self.ownership.release([instance])

    def _prune_loop(self) -> None:
        interval = self.settings.prune_interval or 0
        while not self._stop.wait(interval):
            if not self.ownership.held:
                continue  # the process serving the workflows prunes
            try:
                deleted = prune(self.store, self.runner.history, self.settings.retention)
            except ConnectorError as problem:
                logger.warning("retention: prune failed: %s", problem)
                continue
            except Exception:
                logger.exception("retention: prune failed unexpectedly")
                continue
            logger.info("retention: pruned %s", deleted or "nothing")


def _default_app(service: WorkflowService) -> WSGIApp:
    """The receiver, with the service's mounts beside it (``lsq serve`` uses
    ``runtime.web``'s front instead, which adds ``/healthz``)."""
    if not service.mounts:
        return service.receiver
    return DispatcherMiddleware(service.receiver, service.mounts)


__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "Binding",
    "ServiceDied",
    "ServiceSettings",
    "WorkflowService",
    "default_subscriber",
]
