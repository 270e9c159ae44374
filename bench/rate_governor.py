"""Rate governor: 4 concurrent workflow runs of upsert_lead against the sandbox's rate limit.

The sandbox enforces ``--limit`` calls per 5 s (default 25, LeadSquared's Enterprise plan) and
the connection declares the same ``rate_limit``. Four threads each run a one-step workflow
(upsert_lead through ``WorkflowRunner``, one shared governor per account) back to back for
``--seconds``. The sandbox's request log gives the calls it accepted and the 429s it sent.

Achieved share = calls accepted / the most the limit allows in the run (``limit`` per started
5-second window). Target: >= 95% and zero 429s.

    python -m bench.rate_governor [--seconds 60] [--limit 25]
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
import time

from runtime.api.client import LeadSquaredClient
from runtime.plugin.manifest import load_manifest
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow

from ._common import Result, SandboxProcess, connection, finish, parser

WINDOW = 5.0
THREADS = 4
TARGET = 0.95
WORKFLOW = {
    "name": "Benchmark: upsert the new lead",
    "trigger": {"key": "new_lead"},
    "steps": [{
        "id": "upsert", "action": "upsert_lead",
        "input": {"search_by": "EmailAddress", "fields": {
            "EmailAddress": "{{ trigger.EmailAddress }}", "mx_City": "{{ trigger.mx_City }}"}},
    }],
}


def run(seconds: float, limit: int) -> Result:
    manifest = load_manifest()
    workflow = load_workflow(WORKFLOW, ManifestSchemas(manifest))
    failures: list[str] = []
    with SandboxProcess(rate_limit=limit) as sandbox:
        conn = connection(sandbox.base_url, rate_limit=limit, bulk_rate_limit=1)
        counter = itertools.count()
        deadline = time.monotonic() + seconds
        runs = [0] * THREADS

        def worker(index: int) -> None:
            clients = ClientPool(lambda path: LeadSquaredClient(conn))
            runner = WorkflowRunner(manifest, clients)
            try:
                while time.monotonic() < deadline:
                    number = next(counter)
                    event = {"EmailAddress": f"rate{number % 50}@bench.example.com",
                             "mx_City": f"City {number}"}
                    record = runner.run(workflow, event)
                    if record is None or not record.succeeded:
                        failures.append(str(record and record.error))
                        return
                    runs[index] += 1
            finally:
                clients.close()

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        log = sandbox.request_log()
    refused = sum(1 for e in log if e["status"] == 429)
    times = sorted(e["time"] for e in log if e["status"] != 429)
    # Calls the sandbox accepted within ``seconds`` of the first one, against the most the
    # sliding window allows in that time (``limit`` per started window).
    in_run = [t for t in times if t < times[0] + seconds]
    allowed = limit * math.ceil(seconds / WINDOW)
    share = len(in_run) / allowed
    # Steady state: k full budgets of calls took from the first call to the next budget's
    # first call (the governor's real period: one window plus its margin and the latency).
    budgets = (len(times) - 1) // limit
    steady = budgets * limit / (times[budgets * limit] - times[0]) if budgets else 0.0
    result = Result(
        "rate_governor", "Rate governor: 4 threads of upsert_lead workflow runs at the limit",
        ratio_label="achieved/limit", ratio=share,
        target=f">= {TARGET:.2f} and zero 429s", met=share >= TARGET and refused == 0,
    )
    result.add("limit", f"{limit} calls per 5 s (sandbox and connection)")
    result.add("run", f"{seconds:g} s requested, {elapsed:.1f} s until the last run ended")
    result.add("workflow runs", f"{sum(runs)} ({', '.join(map(str, runs))} per thread)")
    result.add("calls accepted", f"{len(in_run)} in the first {seconds:g} s of {allowed} the "
                                 f"limit allows ({len(times)} in all)")
    result.add("steady-state rate", f"{steady:.2f}/s = {steady / (limit / WINDOW):.1%} of "
                                    f"{limit / WINDOW:g}/s")
    result.add("429 answers", refused)
    result.add("failed runs", len(failures))
    result.extra = {"accepted": len(in_run), "steady_per_s": steady, "allowed": allowed,
                    "http_429": refused}
    if failures:
        result.notes.append(f"first failure: {failures[0]}")
        result.met = False
    return result


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("rate_governor", __doc__ or "")
    args_parser.add_argument("--seconds", type=float, default=60.0, help="length of the run")
    args_parser.add_argument("--limit", type=int, default=25, help="calls per 5 s")
    args = args_parser.parse_args(argv)
    return finish(run(args.seconds, args.limit), args.json)


if __name__ == "__main__":
    sys.exit(main())
