"""``lsq run``, ``lsq runs`` and ``lsq serve``: workflows at run time.

- ``lsq run WORKFLOW [--event FILE] [--json]``: one run. The event is the JSON file given
  (checked against the trigger's event schema), else one real event (see
  :func:`runtime.engine.run_events.latest_event`). Prints the run id, its status and every step
  with status, timing and a short output summary. Exit 0 when the run succeeded, 1 when it
  failed or completed with errors.
- ``lsq runs list [--workflow NAME] [--status S] [--limit N] [--json]`` and
  ``lsq runs show ID [--json]``: the run history (``$LSQ_HISTORY_DB``, else next to the state
  file).
- ``lsq runs retry ID [--from-step STEP] [--confirm-ambiguous] [--workflow FILE] [--json]``: a
  new run of a failed or interrupted run with its recorded event, from the start or from STEP
  with the recorded outputs of the steps before it (see :mod:`runtime.workflows.retry`). The
  workflow file is the one the run recorded, else ``--workflow``. Exit codes as ``lsq run``.
- ``lsq serve WORKFLOW... [--host] [--port] [--public-url URL] [--poll-interval S]
  [--standby] [--max-pending-age S] [--prune-interval S] [--threads N] [--quiet | --json]
  [--summary-every S] [--no-ui] ...``: receive webhooks (waitress; ``/hooks/...``, ``/healthz`` and
  ``/metrics``, see :mod:`runtime.web`), poll and run until SIGTERM / Ctrl-C (see
  :mod:`runtime.engine.service`) with progress lines (see :mod:`runtime.cli.serve_observe`);
  exits 1 when a part of it dies. The run-history page is at ``/ui/`` (:mod:`runtime.ui`;
  beyond loopback only with ``LSQ_UI_TOKEN``, else it is off and a line says so).

Without ``--connection`` (and without ``LSQ_*`` variables, and without a ``connection:`` in the
workflow) runs go to the embedded sandbox; a note on stderr says so (the same as every command's).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.cli import serve_observe
from runtime.cli.arguments import (
    base_url,
    non_negative_int,
    port,
    positive_int,
    positive_seconds,
)
from runtime.cli.common import (
    add_connection_option,
    add_group,
    add_json_option,
    embedded_connection_noted,
    open_history_store,
    open_storage_for,
    print_json,
    print_table,
    read_json,
)
from runtime.errors import ConfigurationError
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.text import json_text
from runtime.workflows.workflow import ManifestSchemas, Workflow, load_workflow

if TYPE_CHECKING:  # the run-time modules are imported when a command runs (`lsq validate` is light)
    from runtime.api.connection import Connection
    from runtime.engine.service import ServiceSettings
    from runtime.workflows.runner import ClientPool, RunRecord

CHILD_FLAG = "--worker-child"  # `lsq serve`'s hidden option: run as a worker process

#: runtime.store.history.RUN_STATUSES, literal so that parsing the command line stays light
#: (tests/cli/test_output_modes.py checks that the two agree).
RUN_STATUSES = ("running", "succeeded", "failed", "completed_with_errors", "interrupted")

RUN_COLUMNS = ("ID", "STARTED", "STATUS", "WORKFLOW", "TRIGGER", "ORIGIN", "STEPS")
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

    actions = add_group(commands, "runs", "show the run history", dest="runs_command")
    listing = actions.add_parser("list", help="the newest runs first")
    listing.add_argument("--workflow", metavar="NAME", help="only this workflow's runs")
    listing.add_argument("--status", metavar="STATUS", choices=RUN_STATUSES,
                         help=f"only runs with this status ({', '.join(RUN_STATUSES)})")
    listing.add_argument("--limit", type=positive_int, default=20, metavar="N",
                         help="at most N runs")
    add_json_option(listing)
    listing.set_defaults(func=list_runs)
    show = actions.add_parser("show", help="one run with its steps")
    show.add_argument("run_id", type=positive_int, metavar="ID", help="the run id")
    add_json_option(show)
    show.set_defaults(func=show_run)
    retry = actions.add_parser(
        "retry", help="run a failed or interrupted run again (from the start or from a step)")
    retry.add_argument("run_id", type=positive_int, metavar="ID", help="the run to retry")
    retry.add_argument(
        "--from-step", metavar="STEP",
        help="start at this step; the steps before it keep their recorded outputs "
        "(default: the first step)")
    retry.add_argument(
        "--confirm-ambiguous", action="store_true",
        help="retry even a step that may already have written to LeadSquared (an ambiguous "
        "write, or a step cut off by an interruption)")
    retry.add_argument("--workflow", metavar="FILE",
                       help="the workflow file (default: the one the run recorded)")
    add_json_option(retry)
    add_connection_option(retry)
    retry.set_defaults(func=retry_run)

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
    add_serve_options(serve)
    serve_observe.register_options(serve)
    serve.add_argument("--no-ui", action="store_true",
                       help="do not serve the run-history page at /ui/")
    serve.add_argument(
        "--workers", type=positive_int, default=4, metavar="N",
        help="worker threads running workflows (default 4; events of one record stay in order)",
    )
    serve.add_argument(
        "--worker-processes", type=non_negative_int, default=None, metavar="N",
        help="run the worker threads in N child processes, so receiving and running use two "
        "cores (default: 1 on a machine with several cores, 0 with one core or the embedded "
        "sandbox)",
    )
    serve.add_argument(CHILD_FLAG, dest="worker_child", metavar="FDS", help=argparse.SUPPRESS)
    add_connection_option(serve)
    serve.set_defaults(func=serve_workflows)


def add_poll_interval_option(parser: argparse.ArgumentParser) -> None:
    """``--poll-interval SECONDS`` (lsq serve, lsq worker)."""
    parser.add_argument(
        "--poll-interval", type=positive_seconds, default=60.0, metavar="SECONDS",
        help="seconds between polls for workflows without poll_interval (default 60)",
    )


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """Supervision, ownership, retention and HTTP limits of ``lsq serve``."""
    serve.add_argument(
        "--standby", action="store_true",
        help="when another `lsq serve` serves these workflows on this state, wait and take "
        "over when it stops or dies (default: refuse to start)",
    )
    serve.add_argument(
        "--lease-ttl", type=positive_seconds, default=30.0, metavar="SECONDS",
        help="how long a stopped service's ownership lasts before a standby takes over "
        "(default 30; renewed every third of it)",
    )
    serve.add_argument(
        "--max-pending-age", type=positive_seconds, default=900.0, metavar="SECONDS",
        help="GET /healthz fails when the oldest pending event is older (default 900)",
    )
    serve.add_argument(
        "--prune-interval", type=positive_seconds, default=3600.0, metavar="SECONDS",
        help="seconds between retention prunes (default 3600; keeps LSQ_RETENTION_DAYS and "
        "LSQ_RETENTION_MAX_RUNS; never a pending event or a cursor)",
    )
    add_http_options(serve)


def add_http_options(parser: argparse.ArgumentParser) -> None:
    """The HTTP server's bounds (``lsq serve``, ``lsq receive``): threads, connections and
    timeouts, read back by :func:`http_settings`."""
    parser.add_argument("--threads", type=positive_int, default=8, metavar="N",
                        help="HTTP worker threads (default 8)")
    parser.add_argument("--connection-limit", type=positive_int, default=100, metavar="N",
                        help="most HTTP connections open at once (default 100)")
    parser.add_argument(
        "--channel-timeout", type=positive_int, default=30, metavar="SECONDS",
        help="close an HTTP connection idle or stalled this long (default 30)",
    )
    parser.add_argument(
        "--request-timeout", type=positive_int, default=60, metavar="SECONDS",
        help="close an HTTP connection whose request is still not read whole this long after "
        "its first byte (default 60)",
    )


def http_settings(args: argparse.Namespace) -> Any:
    """The :class:`runtime.engine.http_server.ServerSettings` of :func:`add_http_options`."""
    from runtime.engine.http_server import ServerSettings

    return ServerSettings(threads=args.threads, connection_limit=args.connection_limit,
                          channel_timeout=args.channel_timeout,
                          request_timeout=args.request_timeout)


def service_settings(args: argparse.Namespace) -> ServiceSettings:
    """The service settings the options give."""
    from datetime import timedelta

    from runtime.engine.service import ServiceSettings
    from runtime.store.retention import Retention

    return ServiceSettings(
        http=http_settings(args),
        standby=args.standby,
        lease_ttl=timedelta(seconds=args.lease_ttl),
        max_pending_age=args.max_pending_age,
        prune_interval=args.prune_interval,
        retention=Retention.from_env(),
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
    noted: list[Connection] = []

    def factory(path: str | None) -> LeadSquaredClient:
        connection = load_connection(path or args.connection, env)
        if connection is None:
            if not noted:
                noted.append(embedded_connection_noted())
            connection = noted[0]
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


# ---------------------------------------------------------------- lsq runs retry


def retry_run(args: argparse.Namespace) -> int:
    from runtime.workflows.retry import retry_run as retry
    from runtime.workflows.runner import WorkflowRunner

    manifest = load_manifest()
    with open_history_store(args) as history:
        run = history.get_run(args.run_id)
        if run is None:
            raise ConfigurationError(f"no run with id {args.run_id}", hint="see `lsq runs list`")
        path = args.workflow or run["source"]
        if not path or not Path(path).exists():  # the loader words every other problem
            raise ConfigurationError(
                f"run {args.run_id}'s workflow file {path or '(none recorded)'} is not found",
                hint="give it with --workflow FILE")
        (workflow,) = load_workflows(manifest, [path])
        with client_pool(args) as clients:
            record = retry(WorkflowRunner(manifest, clients, history), workflow, args.run_id,
                           from_step=args.from_step, confirm_ambiguous=args.confirm_ambiguous)
    note = retry_note(args.run_id, args.from_step)
    if args.json:
        print_json({**record.to_dict(), "note": note}, compact=True)
    else:
        print("\n".join(format_run(record, note)))
    return 0 if record.succeeded else 1


def retry_note(run_id: int, from_step: str | None) -> str:
    """How a retry run is described: ``retry of run 5 from step 'update'``."""
    return f"retry of run {run_id}" + (f" from step '{from_step}'" if from_step else "")


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
    if step.get("reused_from"):
        return f"{head} (reused from run {step['reused_from']})"
    if step["status"] == "skipped":
        return f"{head} (its 'when' is false)"
    if step["status"] == "running":  # still, or cut off by an interruption (the run says which)
        return f"{head}, no answer recorded"
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
    rows = [
        [str(run["id"]), run["started_at"], run["status"], run["workflow"], run["trigger_key"],
         run["origin"],
         ", ".join(f"{count} {status}" for status, count in sorted(run["steps"].items()))
         or "no steps"]
        for run in runs
    ]
    print_table(RUN_COLUMNS, rows)
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
    if run["retry_of"]:
        print(f"  {retry_note(run['retry_of'], run['retry_from'])}")
    for other in run["retries"]:
        print(f"  retried as run {other['id']}: {other['status']}")
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
    from runtime.web.app import service_front
    from runtime.workflows.runner import WorkflowRunner

    manifest = load_manifest()
    workflows = load_workflows(manifest, args.workflows)
    settings = service_settings(args)
    if args.worker_child:
        return serve_as_worker_child(args, manifest, workflows, settings)
    token = None if args.no_ui else ui_token()
    metrics, metric_mounts = serve_observe.new_metrics()
    with open_storage_for(args) as storage, client_pool(args) as clients:
        runner = WorkflowRunner(manifest, clients, storage.history)
        for workflow in workflows:  # opened now: worker_processes() sees the embedded sandbox
            for step in (None, *workflow.steps):
                runner.client_for(workflow, step)
        page_mounts, page_note = run_history_page(args, token, storage, runner, workflows)
        service = WorkflowService(
            workflows, runner, storage.state,
            host=args.host, port=args.port, public_url=args.public_url,
            default_poll_interval=args.poll_interval, app_factory=service_front,
            settings=settings, workers=args.workers, mounts={**metric_mounts, **page_mounts},
            worker_processes=worker_processes(args), worker_command=worker_command(args),
        )
        previous = {
            sig: signal.signal(sig, lambda *_: service.request_stop())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        with serve_observe.observing(args, service, metrics) as progress:
            try:
                try:
                    service.start()
                except OSError as problem:  # the address is taken, or not this machine's
                    raise ConfigurationError(
                        f"cannot serve on {args.host}:{args.port}: {problem.strerror or problem}",
                        hint="choose another --port") from None
                for line in serve_observe.banner(args, service, describe_service(service)):
                    print(line, flush=True)
                if page_note:
                    print(page_note, file=sys.stderr, flush=True)
                if progress is not None:
                    progress.start()
                service.wait()
                print("stopping: finishing the current run", file=sys.stderr, flush=True)
            finally:
                service.stop()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def worker_processes(args: argparse.Namespace) -> int:
    """``--worker-processes``, else 1 where a second core exists and the connection is a real
    account's: measured (bench/webhook_pipeline.py), one process running receiver and workers
    used one core of two. The embedded sandbox lives in this process: its runs stay here."""
    import os

    from runtime.embedded import sandbox_running

    if args.worker_processes is not None:
        return int(args.worker_processes)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if (cores or 1) > 1 and not sandbox_running() else 0


def worker_command(args: argparse.Namespace) -> list[str]:
    """The command line of a worker process: this one (``args.argv``, as ``main`` parsed it),
    then ``--worker-child`` (the service adds the pipes' descriptors)."""
    return [sys.executable, "-m", "runtime", *args.argv, CHILD_FLAG]


def serve_as_worker_child(
    args: argparse.Namespace, manifest: Manifest, workflows: Sequence[Workflow], settings: Any
) -> int:
    """``lsq serve ... --worker-child FDS``: a parent ``lsq serve``'s worker process."""
    from runtime.engine.service import WorkflowService
    from runtime.engine.worker_process import child_channel, take_accounts
    from runtime.workflows.runner import WorkflowRunner

    channel = child_channel(args.worker_child)
    take_accounts(channel[0])  # the parent's account look-ups: none again here
    with open_storage_for(args) as storage, client_pool(args) as clients:
        runner = WorkflowRunner(manifest, clients, storage.history)
        service = WorkflowService(workflows, runner, storage.state, settings=settings,
                                  default_poll_interval=args.poll_interval, workers=args.workers)
        return service.serve_as_worker_process(channel)


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
    for instance in service.standing_by:
        lines.append(f"{instance}: served by another process; standing by to take over")
    if service.serving_http:
        lines.append(f"health: {service.url}/healthz")
    if "/ui" in getattr(service, "mounts", {}):
        lines.append(f"run-history page at {service.url}/ui/")
    lines.append("serving; stop with Ctrl-C or SIGTERM")
    return lines


def run_history_page(
    args: argparse.Namespace, token: str | None, storage: Any, runner: Any,
    workflows: Sequence[Workflow],
) -> tuple[dict[str, Any], str | None]:
    """The mounts for ``lsq serve`` (``/ui``: the page with Retry), or a line saying why the
    page is off (``--no-ui``; beyond loopback without a token)."""
    if args.no_ui:
        return {}, None
    from runtime.api.hosts import is_loopback
    from runtime.ui.app import RunHistoryPage
    from runtime.ui.serving import retry_action

    if token is None and not is_loopback(args.host):
        return {}, "run-history page off: it needs LSQ_UI_TOKEN when bound beyond loopback"
    page = RunHistoryPage(storage.history, storage.state, token=token,
                          retry=retry_action(runner, workflows))
    return {"/ui": page}, None


def ui_token() -> str | None:
    """``LSQ_UI_TOKEN`` checked (None: not set); a token too short to be safe is refused."""
    import os

    from runtime.ui.security import TOKEN_ENV, check_token

    try:
        return check_token(os.environ.get(TOKEN_ENV))
    except ValueError as problem:
        raise ConfigurationError(str(problem)) from None
