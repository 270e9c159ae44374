"""Workflow step overhead: a 5-step workflow run vs the same 5 raw HTTP requests.

The workflow (trigger new_lead, five read steps chained by templates: find_lead ->
find_opportunity -> find_task -> find_account -> find_list) runs through
``runtime.workflows.runner.WorkflowRunner`` as ``lsq run`` does: templates rendered, inputs
validated, handlers, outputs validated, secrets masked, every step recorded in a run history
(SQLite in a temporary directory). Each run has its own event key, so none is skipped as a
repeat. The raw baseline replays the five requests the workflow sent (captured from the
sandbox's request log, so method, operation, query and body are identical) with
``requests.Session`` and the same headers. Interleaved, one run against five raw calls; limits
high enough not to throttle.

    python -m bench.workflow_steps [--runs 300]
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

from runtime.api.client import LeadSquaredClient
from runtime.plugin.manifest import load_manifest
from runtime.store.history import HistoryStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow

from ._common import (
    RawCall,
    Result,
    SandboxProcess,
    connection,
    finish,
    interleaved,
    median,
    ms,
    parser,
    quiet_logs,
    raw_session,
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


def run(runs: int) -> Result:
    manifest = load_manifest()
    workflow = load_workflow(WORKFLOW, ManifestSchemas(manifest))
    event = dict(manifest.trigger("new_lead").sample_output)
    with (SandboxProcess() as sandbox, quiet_logs(),
          tempfile.TemporaryDirectory() as scratch,
          HistoryStore(Path(scratch) / "history.sqlite3") as history):
        conn = connection(sandbox.base_url)
        clients = ClientPool(lambda path: LeadSquaredClient(conn))
        runner = WorkflowRunner(manifest, clients, history)
        keys = itertools.count()

        def run_workflow() -> None:
            record = runner.run(workflow, event, event_key=f"bench-{next(keys)}")
            if record is None or not record.succeeded:
                raise RuntimeError(f"the workflow run failed: {record and record.to_dict()}")

        run_workflow()  # warm-up: metadata caches, the first connection
        sandbox.clear_log()
        run_workflow()
        calls = [RawCall.from_log(entry) for entry in sandbox.request_log()]
        session = raw_session()

        def raw_calls() -> None:
            for call in calls:
                call.send(session, sandbox.base_url)

        sandbox.clear_log()
        raw_calls()
        replayed = [RawCall.from_log(entry) for entry in sandbox.request_log()]
        if [c.key() for c in replayed] != [c.key() for c in calls] or len(calls) != 5:
            raise RuntimeError("the raw requests differ from the workflow's")
        samples = interleaved({"workflow": run_workflow, "raw": raw_calls}, rounds=runs)
        statuses = sorted({entry["status"] for entry in sandbox.request_log()})
        session.close()
        clients.close()
    run_ms, raw_ms = median(samples["workflow"]), median(samples["raw"])
    ratio = run_ms / raw_ms
    result = Result(
        "workflow_steps", "Workflow step overhead: a 5-step run vs the same 5 raw requests",
        ratio_label="workflow/raw", ratio=ratio, target=f"<= {TARGET:.2f}", met=ratio <= TARGET,
    )
    result.add("steps (requests)", ", ".join(f"{c.method} {c.operation}" for c in calls))
    result.add("runs each", len(samples["workflow"]))
    result.add("statuses", statuses)
    result.add("history", "SQLite run history on a temporary file (as lsq run)")
    result.add("workflow run median", ms(run_ms))
    result.add("5 raw calls median", ms(raw_ms))
    result.add("overhead per step", ms((run_ms - raw_ms) / 5))
    result.extra = {"workflow_ms": run_ms * 1000, "raw_ms": raw_ms * 1000}
    return result


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("workflow_steps", __doc__ or "")
    args_parser.add_argument("--runs", type=int, default=300, help="runs of each kind")
    args = args_parser.parse_args(argv)
    return finish(run(args.runs), args.json)


if __name__ == "__main__":
    sys.exit(main())
