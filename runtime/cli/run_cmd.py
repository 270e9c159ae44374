"""``lsq run``, ``lsq runs`` and ``lsq serve``: workflows at run time.

- ``lsq run WORKFLOW [--event FILE] [--json]``: one run. The event is the JSON file given
  (checked against the trigger's event schema), else one real event (see
  :func:`runtime.engine.run_events.latest_event`). Prints the run id, its status and every step
  with status, timing and a short output summary. Exit 0 when the run succeeded, 1 when it
  failed or completed with errors.
- ``lsq runs list [--workflow NAME] [--status S] [--limit N] [--json]`` and
  ``lsq runs show ID [--json]``: the run history (``$LSQ_HISTORY_DB``, else next to the state
  file).
- ``lsq serve WORKFLOW... [--host] [--port] [--public-url URL] [--poll-interval S]``: receive
  webhooks, poll and run until SIGTERM / Ctrl-C (see :mod:`runtime.engine.service`).

Without ``--connection`` (and without ``LSQ_*`` variables, and without a ``connection:`` in the
workflow) runs go to the embedded sandbox, seeded; a note on stderr says so.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runtime.cli.arguments import base_url, port, positive_int, positive_seconds
from runtime.cli.common import (
    EMBEDDED_NOTE,
    add_connection_option,
    add_json_option,
    open_history_store,
    open_storage_for,
    print_json,
    read_json,
)
from runtime.errors import ConfigurationError
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.text import json_text
from runtime.workflows.workflow import ManifestSchemas, Workflow, load_workflow

if TYPE_CHECKING:  # the run-time modules are imported when a command runs (`lsq validate` is light)
    from runtime.workflows.runner import ClientPool, RunRecord

SUMMARY_FIELDS = 3
SUMMARY_VALUE_CHARS = 40


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a workflow once and record the run")
    run.add_argument("workflow", metavar="WORKFLOW", help="workflow file (YAML)")
    run.add_argument(
        "--event", metavar="FILE",
        help="the trigger event as JSON (default: the trigger's most recent real record)",
    )
    add_json_option(run)
    add_connection_option(run)
    run.set_defaults(func=run_workflow)

    runs = commands.add_parser("runs", help="show the run history")
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(runs))
    actions.required = True
    listing = actions.add_parser("list", help="the newest runs first")
    listing.add_argument("--workflow", metavar="NAME", help="only this workflow's runs")
    listing.add_argument("--status", metavar="STATUS", help="only runs with this status")
    listing.add_argument("--limit", type=positive_int, default=20, metavar="N",
                         help="at most N runs")
    add_json_option(listing)
    listing.set_defaults(func=list_runs)
    show = actions.add_parser("show", help="one run with its steps")
    show.add_argument("run_id", type=positive_int, metavar="ID", help="the run id")
    add_json_option(show)
    show.set_defaults(func=show_run)

    serve = commands.add_parser("serve", help="receive, poll and run workflows until stopped")
    serve.add_argument("workflows", nargs="+", metavar="WORKFLOW", help="workflow files (YAML)")
    serve.add_argument("--host", default="127.0.0.1", help="receiver address (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=port, default=8080, help="receiver port (default 8080; 0 = any free port)"
    )
    serve.add_argument(
        "--public-url", metavar="URL", type=base_url,
        help="the receiver's address as LeadSquared reaches it (default http://HOST:PORT)",
    )
    add_poll_interval_option(serve)
    add_connection_option(serve)
    serve.set_defaults(func=serve_workflows)


def add_poll_interval_option(parser: argparse.ArgumentParser) -> None:
    """``--poll-interval SECONDS`` (lsq serve, lsq worker)."""
    parser.add_argument(
        "--poll-interval", type=positive_seconds, default=60.0, metavar="SECONDS",
        help="seconds between polls for workflows without poll_interval (default 60)",
    )


# ---------------------------------------------------------------- shared


def client_pool(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ClientPool:
    """Clients per connection file: a step's or workflow's file, else ``--connection``, else
    ``LSQ_*`` variables, else the embedded sandbox (a note on stderr, once)."""
    import os

    from runtime.api.client import LeadSquaredClient
    from runtime.api.connection import load_connection
    from runtime.workflows.runner import ClientPool

    env = os.environ if environ is None else environ
    noted: list[bool] = []

    def factory(path: str | None) -> LeadSquaredClient:
        connection = load_connection(path or args.connection, env)
        if connection is None:
            from runtime.embedded import embedded_connection

            if not noted:
                print(EMBEDDED_NOTE + " (seeded)", file=sys.stderr)
                noted.append(True)
            connection = embedded_connection()
        return LeadSquaredClient(connection)

    return ClientPool(factory)


def load_workflows(manifest: Manifest, paths: Sequence[str]) -> list[Workflow]:
    """Check and load workflow files (WorkflowError lists every problem)."""
    schemas = ManifestSchemas(manifest)
    return [load_workflow(path, schemas) for path in paths]


def read_event(path: str) -> Any:
    """The ``--event`` file (or ``-``): JSON, capped; kept as recorded (no text rewriting)."""
    return read_json(path, "--event")[0]


# ---------------------------------------------------------------- lsq run


def run_workflow(args: argparse.Namespace) -> int:
    from runtime.engine.run_events import ChosenEvent, check_event, latest_event
    from runtime.workflows.runner import WorkflowRunner

    manifest = load_manifest()
    (workflow,) = load_workflows(manifest, [args.workflow])
    given = read_event(args.event) if args.event else None
    with open_history_store(args) as history, client_pool(args) as clients:
        runner = WorkflowRunner(manifest, clients, history)
        if given is not None:
            event = check_event(manifest, workflow.trigger.key, given, f"--event {args.event}")
            chosen = ChosenEvent(event, "event-file", f"event from {args.event}")
        else:
            chosen = latest_event(manifest, workflow, runner.client_for(workflow))
        record = runner.run(workflow, chosen.event, origin=chosen.origin)
    assert record is not None  # manual runs have no event key: never skipped
    if args.json:
        print_json({**record.to_dict(), "note": chosen.note}, compact=True)
    else:
        print("\n".join(format_run(record, chosen.note)))
    return 0 if record.succeeded else 1


def format_run(record: RunRecord, note: str | None = None) -> list[str]:
    """The text report of a run: headline, trigger line, one line per step."""
    lines = [
        f"run {record.run_id}: {record.status} — {record.workflow} "
        f"({_duration(record.duration_ms)})",
        f"  trigger {record.trigger_key}: {note or record.origin}",
    ]
    lines.extend(_step_line(position, step) for position, step in enumerate(
        (s.to_dict() for s in record.steps), start=1
    ))
    return lines


def _step_line(position: int, step: Mapping[str, Any]) -> str:
    head = f"  {position}. {step['step_id']} ({step['action']}): {step['status']}"
    if step["status"] == "not_run":
        return head
    if step["status"] == "skipped":
        return f"{head} (its 'when' is false)"
    head += f", {_duration(step.get('duration_ms'))}"
    if step["status"] == "failed" and step.get("error"):
        error = step["error"]
        return f"{head} — {error.get('category')}: {error.get('message')}"
    return f"{head} — {summarize(step.get('output'))}"


def summarize(output: Any) -> str:
    """A short one-line summary of a step's output: the first few fields."""
    if not isinstance(output, Mapping):
        return _short(output)
    parts = [f"{name}={_short(value)}" for name, value in list(output.items())[:SUMMARY_FIELDS]]
    more = len(output) - SUMMARY_FIELDS
    return ", ".join(parts) + (f", … (+{more})" if more > 0 else "") if parts else "{}"


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{…}" if value else "{}"
    if isinstance(value, list):
        return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    text = json_text(value) if not isinstance(value, str) else value
    return text if len(text) <= SUMMARY_VALUE_CHARS else text[: SUMMARY_VALUE_CHARS - 1] + "…"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


# ---------------------------------------------------------------- lsq runs


def list_runs(args: argparse.Namespace) -> int:
    with open_history_store(args) as history:
        runs = history.list_runs(limit=args.limit, workflow=args.workflow, status=args.status)
    if args.json:
        print_json(runs, compact=True)
        return 0
    if not runs:
        print("no runs")
        return 0
    for run in runs:
        steps = ", ".join(f"{count} {status}" for status, count in sorted(run["steps"].items()))
        print(
            f"{run['id']:>5}  {run['started_at']}  {run['status']:<21}  {run['workflow']}  "
            f"({run['trigger_key']}, {run['origin']}; {steps or 'no steps'})"
        )
    return 0


def show_run(args: argparse.Namespace) -> int:
    with open_history_store(args) as history:
        run = history.get_run(args.run_id)
    if run is None:
        raise ConfigurationError(f"no run with id {args.run_id}", hint="see `lsq runs list`")
    if args.json:
        print_json(run, compact=True)
        return 0
    print(f"run {run['id']}: {run['status']} — {run['workflow']} ({_duration(run['duration_ms'])})")
    print(f"  source: {run['source']}")
    print(f"  trigger {run['trigger_key']}: {run['origin']}"
          + (f", event key {run['event_key']}" if run["event_key"] else ""))
    print(f"  started {run['started_at']}, finished {run['finished_at'] or '-'}")
    if run["error"]:
        print(f"  error: {run['error'].get('category')}: {run['error'].get('message')}")
    print("  event: " + json_text(run["event"]))
    for position, step in enumerate(run["steps"], start=1):
        print(_step_line(position, step))
        for name in ("input", "output"):
            if step.get(name) is not None:
                print(f"       {name}: " + json_text(step[name]))
    return 0


# ---------------------------------------------------------------- lsq serve


def serve_workflows(args: argparse.Namespace) -> int:
    from runtime.engine.service import WorkflowService
    from runtime.workflows.runner import WorkflowRunner

    manifest = load_manifest()
    workflows = load_workflows(manifest, args.workflows)
    with open_storage_for(args) as storage, client_pool(args) as clients:
        service = WorkflowService(
            workflows, WorkflowRunner(manifest, clients, storage.history), storage.state,
            host=args.host, port=args.port, public_url=args.public_url,
            default_poll_interval=args.poll_interval,
        )
        previous = {
            sig: signal.signal(sig, lambda *_: service.request_stop())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            service.start()
            for line in describe_service(service):
                print(line, flush=True)
            service.wait()
            print("stopping: finishing the current run", file=sys.stderr, flush=True)
        finally:
            service.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def describe_service(service: Any) -> list[str]:
    """What `lsq serve` prints once it is up."""
    lines = []
    if service.receiving:
        lines.append(f"receiving webhooks at {service.url} (public URL: "
                     f"{service.public_url or service.url})")
    for binding in service.bindings.values():
        names = ", ".join(workflow.name for workflow in binding.workflows)
        how = (f"polling every {binding.interval:g} s" if binding.polling
               else "subscribed (instant)")
        lines.append(f"{binding.trigger_key} [{binding.instance}]: {how} -> {names}")
    lines.append("serving; stop with Ctrl-C or SIGTERM")
    return lines
