"""Run one workflow for one trigger event, step by step, and record it in the run history.

For each step, in order:

1. ``when``: evaluated over ``{trigger, steps}``; false -> the step is ``skipped``;
2. ``input``: rendered with :mod:`runtime.workflows.templating` (a template error, an undefined
   value or a sandbox violation such as ``__class__`` access is a failed step, category
   ``mapping``);
3. :func:`runtime.plugin.invoke.invoke_action`: input validated against the action's input schema
   (category ``input``), the handler called with the step's client, output validated
   (category ``output``); LeadSquared errors keep their category (``auth``, ``permanent``...);
4. the output becomes ``steps.<id>`` for later steps.

A retry (:mod:`runtime.workflows.retry`) is a run the history already holds: the steps before
the one it starts from are not run; their records are taken over (``reused_from``) and their
recorded outputs are what later steps see.

A failed step with ``on_error: stop`` ends the run as ``failed`` (later steps ``not_run``);
with ``on_error: continue`` the run goes on and ends ``completed_with_errors``. Errors are
recorded as ``error.to_dict()`` (type, category, message...); an unexpected exception in a
handler is recorded with category ``internal`` and never escapes the runner.

What is recorded never holds a secret: the event, every step's input, output and error pass
through the redactors of every client the run used (connection keys in any form), and values
of schema fields marked ``"secret": true`` or ``"writeOnly": true`` are replaced by ``***``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.api.redaction import MASK, Redactor, redact_data
from runtime.clock import now_iso
from runtime.errors import ConnectorError
from runtime.observe.events import BUS, RunFinished, problem_of
from runtime.plugin.effects import effect_of
from runtime.plugin.invoke import invoke_action
from runtime.store.history import HistoryStore
from runtime.workflows.templating import build_context, evaluate_condition, render_mapping

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient
    from runtime.plugin.manifest import Manifest
    from runtime.workflows.workflow import Step, Workflow

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str | None], "LeadSquaredClient"]
"""Builds a client for a connection file path (``None``: the default connection)."""


# ---------------------------------------------------------------- clients


class ClientPool:
    """One client per connection file, opened on first use, closed together.

    ``None`` is the default connection (the factory decides: ``--connection``, ``LSQ_*``
    environment, else the embedded sandbox). The pool's :meth:`redact` masks the secrets of
    every client it opened.
    """

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._clients: dict[str | None, LeadSquaredClient] = {}
        self._lock = threading.Lock()
        # The opened clients' redactors, rebuilt when a client opens or the pool closes: a
        # run masks 11 values (event, each step's input and output), and collecting them
        # under the lock on every call cost about 1 us each (issue 14).
        self._redactors: tuple[Redactor, ...] = ()

    def get(self, path: str | None = None) -> LeadSquaredClient:
        client = self._clients.get(path)  # opened already: no lock (a dict read is atomic)
        if client is not None:
            return client
        with self._lock:
            if path not in self._clients:
                opened = self._factory(path)
                # Its redactor joins before the client is seen (the read above takes no lock):
                # no thread can use a client whose secrets redact() does not mask yet.
                self._redactors = tuple(
                    client.redactor for client in (*self._clients.values(), opened)
                    if getattr(client, "redactor", None) is not None
                )
                self._clients[path] = opened
            return self._clients[path]

    def redact(self, value: Any) -> Any:
        """``value`` with every opened client's secrets masked (``value`` itself, not a copy,
        when it holds none: :func:`runtime.api.redaction.redact_data`)."""
        # self._redactors: a tuple replaced whole, never changed in place
        return redact_data(self._redactors, value)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
            self._redactors = ()
        for client in clients:
            close = getattr(client, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- secrets in schemas


def is_secret_schema(schema: Any) -> bool:
    """A field whose value must never be recorded: ``secret: true`` or ``writeOnly: true``."""
    return isinstance(schema, Mapping) and bool(
        schema.get("secret") is True or schema.get("writeOnly") is True
    )


def declares_secret(schema: Any) -> bool:
    """Whether any field anywhere in ``schema`` is secret (``mask_secret_fields`` has work)."""
    if isinstance(schema, Mapping):
        return is_secret_schema(schema) or any(declares_secret(v) for v in schema.values())
    if isinstance(schema, list):
        return any(declares_secret(item) for item in schema)
    return False


def mask_secret_fields(value: Any, schema: Any) -> Any:
    """A copy of ``value`` with the values of secret schema fields replaced by ``***``.

    Follows ``properties``, ``patternProperties``-free ``additionalProperties``, ``items``
    and the ``allOf`` / ``anyOf`` / ``oneOf`` branches of an inlined (``$ref``-free) schema.
    """
    if not isinstance(schema, Mapping):
        return value
    if is_secret_schema(schema):
        return MASK
    branches = [schema, *(
        sub for keyword in ("allOf", "anyOf", "oneOf") for sub in schema.get(keyword, ())
        if isinstance(sub, Mapping)
    )]
    if len(branches) > 1 and any(is_secret_schema(b) for b in branches[1:]):
        return MASK
    if isinstance(value, Mapping):
        result = dict(value)
        for branch in branches:
            properties = branch.get("properties", {})
            extra = branch.get("additionalProperties")
            for name in list(result):
                sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
                if sub is not None:
                    result[name] = mask_secret_fields(result[name], sub)
        return result
    if isinstance(value, list):
        result_list = list(value)
        for branch in branches:
            items = branch.get("items")
            if isinstance(items, Mapping):
                result_list = [mask_secret_fields(item, items) for item in result_list]
        return result_list
    return value


# ---------------------------------------------------------------- records


@dataclass
class StepRecord:
    """What happened to one step (input/output/error already redacted)."""

    step_id: str
    action: str
    status: str = "not_run"
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int | None = None
    input: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    reused_from: int | None = None
    """A retry's copy of an earlier run's record (that run's id): the step did not run again."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "action": self.action,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "reused_from": self.reused_from,
        }


@dataclass
class RunRecord:
    """One run: its id in the history (None without a history), status and steps."""

    workflow: str
    trigger_key: str
    origin: str
    event: Any
    run_id: int | None = None
    status: str = "running"
    started_at: str = ""
    finished_at: str | None = None
    duration_ms: int | None = None
    error: dict[str, Any] | None = None
    instance_id: str | None = None
    event_key: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    retry_of: int | None = None
    retry_from: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "workflow": self.workflow,
            "trigger_key": self.trigger_key,
            "origin": self.origin,
            "instance_id": self.instance_id,
            "event_key": self.event_key,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "event": self.event,
            "steps": [step.to_dict() for step in self.steps],
            "retry_of": self.retry_of,
            "retry_from": self.retry_from,
        }


@dataclass(frozen=True)
class Retry:
    """A retry the history already holds (:meth:`HistoryStore.start_retry`; ``run_id`` None
    without a history): the run it retries, the step it starts from (None: the first) and
    the records of the steps before that one, taken over (``reused_from`` set)."""

    run_id: int | None
    retry_of: int
    retry_from: str | None = None
    reused: tuple[StepRecord, ...] = ()


def describe_error(problem: BaseException) -> dict[str, Any]:
    """``error.to_dict()`` for connector errors; ``internal`` for anything else."""
    if isinstance(problem, ConnectorError):
        return problem.to_dict()
    return {"type": type(problem).__name__, "category": "internal", "message": str(problem)}


# ---------------------------------------------------------------- the runner


class WorkflowRunner:
    """Runs workflows against the connector's actions and records each run."""

    def __init__(
        self,
        manifest: Manifest,
        clients: ClientPool,
        history: HistoryStore | None = None,
        *,
        invoke: Callable[..., dict[str, Any]] = invoke_action,
    ) -> None:
        self.manifest = manifest
        self.clients = clients
        self.history = history
        self._invoke = invoke
        self._secret_schemas: dict[tuple[str, str], Mapping[str, Any] | None] = {}
        self._read_only: dict[str, bool] = {}

    def client_for(self, workflow: Workflow, step: Step | None = None) -> LeadSquaredClient:
        """The client of a step (its own connection, else the workflow's, else the default)."""
        path = (step.connection if step is not None else None) or workflow.connection
        return self.clients.get(path)

    def run(
        self,
        workflow: Workflow,
        event: Mapping[str, Any],
        *,
        origin: str = "event",
        instance_id: str | None = None,
        event_key: str | None = None,
        retry: Retry | None = None,
    ) -> RunRecord | None:
        """Run ``workflow`` for ``event``; None when this event key already has a run.

        ``retry``: this run is that (already recorded) retry; its reused steps are not run,
        and their outputs are what later steps see as ``steps.<id>``.
        """
        self.client_for(workflow)  # opened first: its redactor covers the recorded event
        record = RunRecord(
            workflow=workflow.name,
            trigger_key=workflow.trigger.key,
            origin=origin,
            event=self.clients.redact(dict(event)),
            instance_id=instance_id,
            event_key=event_key,
            started_at=now_iso(),
        )
        reused: tuple[StepRecord, ...] = ()
        deferred = marked = False  # see _start
        if retry is not None:
            record.run_id, record.retry_of, record.retry_from = (
                retry.run_id, retry.retry_of, retry.retry_from)
            reused = retry.reused
        elif self.history is not None:
            started = self._start(workflow, record, event)
            if started is None:
                logger.info("workflow %s: event %s already ran; skipped", workflow.name, event_key)
                return None
            deferred, marked = started
        begun = time.monotonic()
        outputs: dict[str, Any] = {
            step.step_id: step.output for step in reused if step.status == "succeeded"
        }
        failed = any(step.status == "failed" for step in reused)
        stopped = False
        for position, step in enumerate(workflow.steps):
            if position < len(reused):
                record.steps.append(reused[position])
                continue
            if stopped:
                record.steps.append(StepRecord(step.id, step.action))
                continue
            step_record = self._run_step(workflow, step, event, outputs, record, position,
                                         mark=not (marked and position == 0))
            if step_record.status == "failed":
                failed = True
                if step.on_error == "stop":
                    stopped = True
                    record.error = {"step": step.id, **(step_record.error or {})}
        record.status = (
            "failed" if stopped else "completed_with_errors" if failed else "succeeded"
        )
        record.finished_at = now_iso()
        record.duration_ms = _elapsed_ms(begun)
        if deferred:
            assert self.history is not None
            record.run_id = self.history.record_run(
                workflow=workflow.name, trigger_key=workflow.trigger.key, origin=origin,
                event=record.event, source=workflow.source, instance_id=instance_id,
                event_key=event_key, started_at=record.started_at, status=record.status,
                finished_at=record.finished_at, duration_ms=record.duration_ms,
                error=record.error,
                steps=[(position, step.to_dict()) for position, step in enumerate(record.steps)],
            )
            if record.run_id is None:  # it ran (or began) meanwhile: these reads are dropped
                logger.info("workflow %s: event %s already ran; skipped", workflow.name, event_key)
                return None
        elif self.history is not None and record.run_id is not None:
            self.history.finish_run(
                record.run_id, status=record.status, finished_at=record.finished_at,
                duration_ms=record.duration_ms, error=record.error,
                steps=[(position, step.to_dict()) for position, step in enumerate(record.steps)],
            )
        logger.info("workflow %s run %s: %s", workflow.name, record.run_id, record.status)
        if BUS.listeners:
            error = record.error or next(  # completed_with_errors: its first failed step
                ({"step": s.step_id, **s.error} for s in record.steps if s.error), None)
            BUS.emit(RunFinished(
                workflow.name, workflow.trigger.key, instance_id, event_key, record.status,
                record.duration_ms / 1000, record.run_id, problem_of(error) if error else None,
                record.retry_of,
            ))
        return record

    def _start(
        self, workflow: Workflow, record: RunRecord, event: Mapping[str, Any]
    ) -> tuple[bool, bool] | None:
        """Record the run's start in the history: None when its event key already has a run,
        else ``(deferred, marked)``.

        - Every step only reads (``find_``/``list_``): nothing is written now (``deferred``);
          the finished run is recorded whole at its end in one commit
          (:meth:`HistoryStore.record_run`). A crash mid-way leaves no row, and the event's
          redelivery runs the reads again, exactly as a ``running`` row without a started
          step would (see :meth:`_mark_started`). A look-up first keeps a repeated event from
          running at all; a ``running`` row found (a crashed run of the event) takes the
          ordinary path below, which resumes it or marks it ``interrupted``.
        - The first step may write and runs (no ``when``, or one that holds over the event):
          the run row and that step's ``running`` mark are one durable commit (``marked``),
          instead of the run row's commit and then the mark's (every ``lsq serve`` event of a
          workflow that writes first, such as examples/welcome_email.yaml's ``when:
          trigger.EmailAddress``).
        - Otherwise: the run row now (a non-durable commit); the mark comes later.

        Measured (issue 14, CPU-only 5-read run): one commit per read-only run instead of two
        saved ~100 us of 706 us.
        """
        history = self.history
        assert history is not None
        steps = workflow.steps
        if all(self._reads_only(step.action) for step in steps):
            status = None if record.event_key is None else history.run_status(
                workflow.name, record.instance_id, record.event_key)
            if status is None:
                return True, False
            if status != "running":
                return None
        first: list[tuple[int, dict[str, Any]]] = []
        if steps and not self._reads_only(steps[0].action) and _runs_first(steps[0], event):
            first.append((0, StepRecord(steps[0].id, steps[0].action, status="running",
                                        started_at=record.started_at).to_dict()))
        record.run_id = history.start_run(
            workflow=workflow.name, trigger_key=workflow.trigger.key, origin=record.origin,
            event=record.event, source=workflow.source, instance_id=record.instance_id,
            event_key=record.event_key, started_at=record.started_at, steps=first,
            durable=bool(first),
        )
        return None if record.run_id is None else (False, bool(first))

    # -- one step

    def _run_step(
        self,
        workflow: Workflow,
        step: Step,
        event: Mapping[str, Any],
        outputs: dict[str, Any],
        record: RunRecord,
        position: int,
        *,
        mark: bool = True,
    ) -> StepRecord:
        result = StepRecord(step.id, step.action, status="running", started_at=now_iso())
        record.steps.append(result)
        begun = time.monotonic()
        context = build_context(event, outputs)
        try:
            if step.when is not None and not evaluate_condition(
                step.when, context, location=f"{step.id}.when"
            ):
                result.status = "skipped"
                return self._settle(result, begun)
            if mark:  # not when _start marked this (first) step already
                self._mark_started(record, position, step)
            client = self.client_for(workflow, step)
            try:
                inputs = render_mapping(step.input, context, location=f"{step.id}.input")
            except Exception:
                result.input = self._recorded(step.input, step, "input")  # the unrendered input
                raise
            result.input = self._recorded(inputs, step, "input")
            output = self._invoke(self.manifest, step.action, inputs, client)
        except Exception as problem:  # every failure is recorded, none escapes the run
            result.status = "failed"
            result.error = self.clients.redact(describe_error(problem))
            if not isinstance(problem, ConnectorError):
                logger.exception("step %s (%s) raised unexpectedly", step.id, step.action)
            return self._settle(result, begun)
        outputs[step.id] = output
        result.status = "succeeded"
        result.output = self._recorded(output, step, "output")
        return self._settle(result, begun)

    @staticmethod
    def _settle(result: StepRecord, begun: float) -> StepRecord:
        result.finished_at = now_iso()
        result.duration_ms = _elapsed_ms(begun)
        return result

    def _mark_started(self, record: RunRecord, position: int, step: Step) -> None:
        """Record the run's first step that may write as ``running``, durably, before it runs.

        That commit decides exactly-once: from then on a crash leaves the run ``interrupted``
        (never run again: the step may have written to LeadSquared). It holds every step
        before it too (reads already done with their input and output, skipped steps). Later
        steps start without a commit; every step's record is written with the run's final
        status (:meth:`HistoryStore.finish_run`), one commit.

        A read-only step (``find_``/``list_``, :func:`runtime.plugin.effects.effect_of`) starts
        without any commit: a crash before the run's first write leaves a ``running`` run
        with no started step, which the event's redelivery runs again from the start (the
        reads are repeated, nothing was written). Measured (issue 14): the mark before a read
        step was one fsync'd commit per run, 0.21 ms alone and 0.38-3.9 ms under other
        sessions' disk load, where the target leaves 0.55 ms per 5-step run. A run whose steps
        all read makes no fsync and one commit at its end (:meth:`_start`); when the first step
        may write, :meth:`_start` makes this mark with the run row (``mark=False`` here).
        """
        if self.history is None or record.run_id is None or self._reads_only(step.action):
            return
        if any(earlier.status not in ("skipped", "not_run") and earlier.reused_from is None
               and not self._reads_only(earlier.action)
               for earlier in record.steps[:position]):
            return  # an earlier step that may write started: the run is already interrupted
        self.history.save_steps(
            record.run_id,
            [(index, step.to_dict()) for index, step in enumerate(record.steps[: position + 1])],
            durable=True,
        )

    def _reads_only(self, action: str) -> bool:
        """Whether ``action`` changes nothing in LeadSquared (by its verb; looked up once).
        An unknown action counts as one that may write."""
        known = self._read_only.get(action)
        if known is None:
            try:
                known = effect_of(self.manifest.action(action)).read_only
            except ConnectorError:
                known = False
            self._read_only[action] = known
        return known

    def masks_output(self, action: str) -> bool:
        """Whether the history keeps ``action``'s output masked (secret output fields)."""
        return self._secret_schema(action, "output") is not None

    def _recorded(self, value: Any, step: Step, which: str) -> Any:
        """``value`` as history may keep it: secret schema fields masked, secrets redacted."""
        schema = self._secret_schema(step.action, which)
        masked = value if schema is None else mask_secret_fields(value, schema)
        return self.clients.redact(masked)

    def _secret_schema(self, action: str, which: str) -> Mapping[str, Any] | None:
        """The action's schema when it declares a secret field, else None (looked up once)."""
        key = (action, which)
        if key not in self._secret_schemas:
            schema = self._schema(action, which)
            self._secret_schemas[key] = schema if declares_secret(schema) else None
        return self._secret_schemas[key]

    def _schema(self, action: str, which: str) -> Mapping[str, Any] | None:
        try:
            operation = self.manifest.action(action)
            if which == "input":
                return operation.resolved_input_schema()
            return operation.resolved_output_schema()
        except ConnectorError:
            return None


def _runs_first(step: Step, event: Mapping[str, Any]) -> bool:
    """Whether the first step of a run runs: no ``when``, or one that holds over the event
    alone (what it sees then: no step has run). It is evaluated again when the step runs; one
    that fails here counts as not running (the step records its error then)."""
    if step.when is None:
        return True
    try:
        return bool(evaluate_condition(step.when, build_context(event, {}),
                                       location=f"{step.id}.when"))
    except Exception:
        return False


def _elapsed_ms(begun: float) -> int:
    return round((time.monotonic() - begun) * 1000)


__all__ = [
    "ClientFactory",
    "ClientPool",
    "Retry",
    "RunRecord",
    "StepRecord",
    "WorkflowRunner",
    "declares_secret",
    "describe_error",
    "is_secret_schema",
    "mask_secret_fields",
]
