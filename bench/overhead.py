"""Overhead: find_lead through the runtime vs the identical raw HTTP request.

Runtime: ``runtime.plugin.invoke.invoke_action(manifest, "find_lead", inputs, client)`` (input
validation and defaults, the handler's mapping, LeadSquaredClient with its governor, retry
classification and error checks, output validation). Raw: ``requests.Session.request`` with the
same method, operation, query and headers, then ``response.json()``. Both against the same
sandbox process, interleaved in blocks of 10 calls. The sandbox and the connection's
``rate_limit`` are both set far above the call rate, so the governor never waits.

    python -m bench.overhead [--calls 2000]
"""

from __future__ import annotations

import sys

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import load_manifest

from ._common import (
    UNTHROTTLED,
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

INPUTS = {"email": "priya.sharma@example.com"}
BLOCK = 10
TARGET = 1.10


def run(calls: int) -> Result:
    manifest = load_manifest()
    with SandboxProcess() as sandbox, quiet_logs():
        client = LeadSquaredClient(connection(sandbox.base_url))
        session = raw_session()
        sandbox.clear_log()
        expected = invoke_action(manifest, "find_lead", INPUTS, client)  # warms caches too
        (entry,) = sandbox.request_log()
        raw = RawCall.from_log(entry)
        sandbox.clear_log()
        raw.send(session, sandbox.base_url)
        (replayed,) = sandbox.request_log()
        if RawCall.from_log(replayed).key() != raw.key() or not expected["found"]:
            raise RuntimeError("the raw request differs from the runtime's")
        sandbox.clear_log()
        samples = interleaved(
            {
                "runtime": lambda: invoke_action(manifest, "find_lead", INPUTS, client),
                "raw": lambda: raw.send(session, sandbox.base_url),
            },
            rounds=max(1, calls // BLOCK),
            per_round=min(BLOCK, calls),
        )
        logged = sandbox.request_log()
        client.close()
        session.close()
    sent = {RawCall.from_log(e).key() for e in logged}
    runtime_ms, raw_ms = median(samples["runtime"]), median(samples["raw"])
    ratio = runtime_ms / raw_ms
    result = Result(
        "overhead", "Overhead: find_lead via the runtime vs the same raw request",
        ratio_label="runtime/raw", ratio=ratio, target=f"<= {TARGET:.2f}", met=ratio <= TARGET,
    )
    result.add("request", f"{raw.method} {raw.operation} {raw.query}")
    result.add("calls each", len(samples["runtime"]))
    result.add("distinct requests seen", f"{len(sent)} (1 = identical requests)")
    result.add("statuses", sorted({e['status'] for e in logged}))
    result.add("rate limits", f"sandbox and connection {UNTHROTTLED} per 5 s (no throttling)")
    result.add("runtime median", ms(runtime_ms))
    result.add("raw median", ms(raw_ms))
    result.add("overhead per call", ms(runtime_ms - raw_ms))
    result.extra = {"runtime_ms": runtime_ms * 1000, "raw_ms": raw_ms * 1000}
    return result


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("overhead", __doc__ or "")
    args_parser.add_argument("--calls", type=int, default=2000, help="calls of each kind")
    args = args_parser.parse_args(argv)
    return finish(run(args.calls), args.json)


if __name__ == "__main__":
    sys.exit(main())
