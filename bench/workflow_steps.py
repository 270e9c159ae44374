"""Workflow step overhead: a 5-step workflow run vs the same 5 raw HTTP requests.

The workflow (trigger new_lead, five read steps chained by templates: find_lead ->
find_opportunity -> find_task -> find_account -> find_list) runs through
``runtime.workflows.runner.WorkflowRunner`` as ``lsq run`` does: templates rendered, inputs
validated, handlers, outputs validated, secrets masked, every step recorded in a run history
(SQLite in a temporary directory). Each run has its own event key, so none is skipped as a
repeat. The baseline sends the five PreparedRequests the workflow sent (recorded on a warm
run, with the runtime's own ``Session.send`` arguments) again with ``session.send`` through the
SAME session, then ``response.json()`` each; the sandbox's request log checks they are the same
five requests. Also reported: the five with ``http.client`` on one kept-alive connection.
Interleaved, one run against five prepared calls; limits high enough not to throttle. The
sandbox runs on waitress (HTTP/1.1 keep-alive) so neither side pays a new TCP connection per
call (``--server werkzeug``: as ``lsq sandbox``, which closes every connection). Also reported,
interleaved in the same rounds: the same run with no run history, and one fsync'd SQLite
commit on the same file system (a run that writes makes one durable commit: the mark that
decides exactly-once; this run of reads makes one commit, not durable, at its end), so a miss
shows how much of it the disk accounts for.

    python -m bench.workflow_steps [--runs 300]
"""

from __future__ import annotations

import itertools
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from runtime.api.client import LeadSquaredClient
from runtime.plugin.manifest import load_manifest
from runtime.store.history import HistoryStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow

from ._common import (
    HttpClientCall,
    RawCall,
    Result,
    SandboxProcess,
    client_session,
    connection,
    finish,
    interleaved,
    median,
    ms,
    parser,
    quiet_logs,
    recording,
)

TARGET = 1.15
WORKFLOW = {
    "name": "Benchmark: five chained reads",
    "trigger": {"key": "new_lead"},
    "steps": [
        {"id": "lead", "action": "find_lead", "input": {"email": "{{ trigger.EmailAddress }}"}},
        {"id": "deal", "action": "find_opportunity", "input": {
            "lead_id": "{{ steps.lead.lead.ProspectID }}", "opportunity_type": "New Business"}},
        {"id": "task", "action": "find_task", "input": {"lead_id": "{{ trigger.lead_id }}"}},
        {"id": "account", "action": "find_account", "input": {
            "company_type": "Company", "account_id": "9c1d7e2a-5b3f-4e8a-9d10-000000000101"}},
        {"id": "list", "action": "find_list", "input": {"name": "Hot Leads"}},
    ],
}


def run(runs: int, server: str = "waitress") -> Result:
    manifest = load_manifest()
    workflow = load_workflow(WORKFLOW, ManifestSchemas(manifest))
    event = dict(manifest.trigger("new_lead").sample_output)
    with (SandboxProcess(server=server) as sandbox, quiet_logs(),
          tempfile.TemporaryDirectory() as scratch,
          HistoryStore(Path(scratch) / "history.sqlite3") as history):
        conn = connection(sandbox.base_url)
        session = client_session()
        clients = ClientPool(lambda path: LeadSquaredClient(conn, session=session))
        runner = WorkflowRunner(manifest, clients, history)
        bare = WorkflowRunner(manifest, clients, None)  # the same run with no history at all
        keys = itertools.count()

        def run_workflow(with_runner: WorkflowRunner = runner) -> None:
            record = with_runner.run(workflow, event, event_key=f"bench-{next(keys)}")
            if record is None or not record.succeeded:
                raise RuntimeError(f"the workflow run failed: {record and record.to_dict()}")

        run_workflow()  # warm-up: metadata caches, the first connection
        sandbox.clear_log()
        with recording(session) as calls:
            run_workflow()
        logged = [RawCall.from_log(entry).key() for entry in sandbox.request_log()]
        floors = [HttpClientCall(call) for call in calls]

        def raw_calls() -> None:
            for call in calls:
                call.send(session)

        def floor_calls() -> None:
            for floor in floors:
                floor.send()

        for replay in (raw_calls, floor_calls):
            sandbox.clear_log()
            replay()
            replayed = [RawCall.from_log(entry).key() for entry in sandbox.request_log()]
            if replayed != logged or len(calls) != 5:
                raise RuntimeError("the baseline requests differ from the workflow's")
        durable = _durable_commit(Path(scratch) / "fsync.sqlite3")
        samples = interleaved(
            {"workflow": run_workflow, "raw": raw_calls, "http.client": floor_calls,
             "no history": lambda: run_workflow(bare), "durable commit": durable},
            rounds=runs,
        )
        statuses = sorted({entry["status"] for entry in sandbox.request_log()})
        for floor in floors:
            floor.close()
        clients.close()
        session.close()
    run_ms, raw_ms = median(samples["workflow"]), median(samples["raw"])
    floor_ms, bare_ms = median(samples["http.client"]), median(samples["no history"])
    commit_ms = median(samples["durable commit"])
    ratio = run_ms / raw_ms
    result = Result(
        "workflow_steps", "Workflow step overhead: a 5-step run vs the same 5 prepared requests",
        ratio_label="workflow/prepared", ratio=ratio, target=f"<= {TARGET:.2f}",
        met=ratio <= TARGET,
    )
    result.add("steps (requests)", ", ".join(f"{key[0]} {key[1]}" for key in logged))
    result.add("runs each", len(samples["workflow"]))
    result.add("statuses", statuses)
    result.add("history", "SQLite run history on a temporary file (as lsq run)")
    result.add("workflow run median", ms(run_ms))
    result.add("5 prepared Session.send median", ms(raw_ms))
    result.add("5 http.client median", ms(floor_ms))
    result.add("overhead per step", ms((run_ms - raw_ms) / 5))
    result.add("workflow/http.client", f"{run_ms / floor_ms:.3f}")
    result.add("the same run without run history", f"{ms(bare_ms)} ({bare_ms / raw_ms:.3f}x)")
    result.add("one fsync'd SQLite commit (floor)", ms(commit_ms))
    result.add("run history per run (with - without)", ms(run_ms - bare_ms))
    result.extra = {"workflow_ms": run_ms * 1000, "prepared_ms": raw_ms * 1000,
                    "http_client_ms": floor_ms * 1000, "no_history_ms": bare_ms * 1000,
                    "durable_commit_ms": commit_ms * 1000}
    return result


def _durable_commit(path: Path) -> Callable[[], None]:
    """One row inserted and committed with ``synchronous=FULL`` in WAL mode, as the run
    history's one durable commit per run that writes (the exactly-once mark) is: the disk's
    floor (the benchmark's run of reads makes no durable commit)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")

    def commit() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (v) VALUES ('x')")
        db.execute("COMMIT")

    return commit


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("workflow_steps", __doc__ or "")
    args_parser.add_argument("--runs", type=int, default=300, help="runs of each kind")
    args_parser.add_argument("--server", choices=("waitress", "werkzeug"), default="waitress",
                             help="the sandbox's HTTP server (waitress keeps connections alive)")
    args = args_parser.parse_args(argv)
    return finish(run(args.runs, args.server), args.json)


if __name__ == "__main__":
    sys.exit(main())
