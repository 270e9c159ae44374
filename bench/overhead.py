"""Overhead: find_lead through the runtime vs the identical prepared request.

Runtime: ``runtime.plugin.invoke.invoke_action(manifest, "find_lead", inputs, client)`` (input
validation and defaults, the handler's mapping, LeadSquaredClient with its governor, retry
classification and error checks, output validation).

Baseline (the target's denominator): the PreparedRequest the runtime sent, recorded on a
warm-up call, sent again with ``requests.Session.send`` with the runtime's own send arguments
(timeout, no redirects, proxies and verify), through the SAME session (one adapter, one
kept-alive connection), then ``response.json()``. Also reported: the same bytes with
``http.client`` on one kept-alive connection (no requests at all).

Also reported, interleaved in the same rounds, for the profile: ``client.get`` of the same
operation and query alone, and the handler alone (inputs prepared once, no input or output
check), so the overhead splits into client, handler and checks.

Fresh process (reported, no target): ``lsq invoke action find_lead --json`` as a whole process
vs a fresh ``python`` process that imports requests and sends the same request once.

All variants against the same sandbox process, interleaved in blocks of 10 calls (order
flipped every block). The sandbox and the connection's ``rate_limit`` are both far above the
call rate, so the governor never waits.

    python -m bench.overhead [--calls 2000] [--processes 10]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action, prepare_inputs
from runtime.plugin.manifest import load_manifest
from runtime.sandbox.seed import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

from ._common import (
    UNTHROTTLED,
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
    run_process,
)

INPUTS = {"email": "priya.sharma@example.com"}
BLOCK = 10
TARGET = 1.10

#: A fresh interpreter sending one prepared request with requests (argv[1]: the request).
FRESH_RAW = """
import json, sys
import requests
spec = json.loads(sys.argv[1])
session = requests.Session()
prepared = requests.Request(spec["method"], spec["url"], headers=spec["headers"]).prepare()
response = session.send(prepared, timeout=30, allow_redirects=False)
response.raise_for_status()
print(json.dumps(response.json()))
"""


def _fresh_commands(base_url: str, url: str, scratch: Path) -> dict[str, list[str]]:
    """``lsq invoke action find_lead`` and the fresh raw process, on the same sandbox."""
    conn = scratch / "bench.yaml"
    conn.write_text(
        f'name: bench\naccess_key: "{DEFAULT_ACCESS_KEY}"\nsecret_key: "{DEFAULT_SECRET_KEY}"\n'
        f"api_host: {base_url}\nrate_limit: {UNTHROTTLED}\nbulk_rate_limit: {UNTHROTTLED}\n",
        encoding="utf-8",
    )
    spec = {"method": "GET", "url": url, "headers": {
        "x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY,
        "Accept": "application/json", "User-Agent": "leadsquared-connector/0.1"}}
    return {
        "lsq": [sys.executable, "-c", "import sys; from runtime.cli import main; sys.exit(main())",
                "invoke", "action", "find_lead", "--connection", str(conn),
                "-i", json.dumps(INPUTS), "--json"],
        "python": [sys.executable, "-c", FRESH_RAW, json.dumps(spec)],
    }


def _fresh(sandbox: SandboxProcess, url: str, processes: int) -> dict[str, float]:
    """Median wall seconds of each fresh process, alternated, after one untimed run of each."""
    with tempfile.TemporaryDirectory() as scratch:
        commands = _fresh_commands(sandbox.base_url, url, Path(scratch))
        sandbox.clear_log()
        for command in commands.values():
            run_process(command)
        logged = {RawCall.from_log(e).key() for e in sandbox.request_log()}
        if len(logged) != 1:
            raise RuntimeError(f"the fresh processes sent different requests: {logged}")
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for number in range(processes):
            names = list(commands) if number % 2 == 0 else list(commands)[::-1]
            for name in names:
                samples[name].append(run_process(commands[name]))
    return {name: median(values) for name, values in samples.items()}


def run(calls: int, processes: int, server: str = "waitress") -> Result:
    manifest = load_manifest()
    with SandboxProcess(server=server) as sandbox, quiet_logs():
        session = client_session()
        client = LeadSquaredClient(connection(sandbox.base_url), session=session)
        sandbox.clear_log()
        with recording(session) as recorded:
            expected = invoke_action(manifest, "find_lead", INPUTS, client)  # warms caches too
        (prepared,) = recorded
        floor = HttpClientCall(prepared)
        (entry,) = sandbox.request_log()
        sandbox.clear_log()
        answers = [prepared.send(session), floor.send()]
        replayed = sandbox.request_log()
        wanted = RawCall.from_log(entry).key()
        if ({RawCall.from_log(e).key() for e in replayed} != {wanted}
                or not expected["found"] or answers[0] != answers[1]):
            raise RuntimeError("the baseline requests differ from the runtime's")
        sandbox.clear_log()
        action = manifest.action("find_lead")
        handler, ready = action.handler(), prepare_inputs(action, INPUTS)
        variants: dict[str, Any] = {
            "runtime": lambda: invoke_action(manifest, "find_lead", INPUTS, client),
            "prepared": lambda: prepared.send(session),
            "http.client": floor.send,
            # the layers, for the profile: the client alone, then the handler without the
            # input and output checks
            "client.get": lambda: client.get(entry["operation"], entry["query"]),
            "handler": lambda: handler(client, dict(ready)),
        }
        samples = interleaved(variants, rounds=max(1, calls // BLOCK),
                              per_round=min(BLOCK, calls))
        logged = sandbox.request_log()
        fresh = _fresh(sandbox, prepared.prepared.url or "", processes) if processes else {}
        floor.close()
        client.close()
        session.close()
    sent = {RawCall.from_log(e).key() for e in logged}
    runtime_ms, raw_ms = median(samples["runtime"]), median(samples["prepared"])
    floor_ms = median(samples["http.client"])
    ratio = runtime_ms / raw_ms
    result = Result(
        "overhead", "Overhead: find_lead via the runtime vs the identical prepared request",
        ratio_label="runtime/prepared", ratio=ratio, target=f"<= {TARGET:.2f}",
        met=ratio <= TARGET,
    )
    result.add("request", f"{prepared.prepared.method} {entry['operation']} {entry['query']}")
    result.add("calls each", len(samples["runtime"]))
    result.add("distinct requests seen", f"{len(sent)} (1 = identical requests)")
    result.add("statuses", sorted({e['status'] for e in logged}))
    result.add("rate limits", f"sandbox and connection {UNTHROTTLED} per 5 s (no throttling)")
    result.add("runtime median", ms(runtime_ms))
    result.add("prepared Session.send median", ms(raw_ms))
    result.add("http.client median", ms(floor_ms))
    result.add("overhead per call", ms(runtime_ms - raw_ms))
    result.add("runtime/http.client", f"{runtime_ms / floor_ms:.3f}")
    layers = {name: median(samples[name]) for name in ("client.get", "handler")}
    result.add("layers (median, vs prepared)",
               f"client.get {ms(layers['client.get'])} (+{ms(layers['client.get'] - raw_ms)}), "
               f"+ handler {ms(layers['handler'])} (+{ms(layers['handler'] - raw_ms)}), "
               f"+ input/output checks = runtime (+{ms(runtime_ms - raw_ms)})")
    result.add("prepared/http.client", f"{raw_ms / floor_ms:.3f}")
    result.extra = {"runtime_ms": runtime_ms * 1000, "prepared_ms": raw_ms * 1000,
                    "http_client_ms": floor_ms * 1000,
                    "client_get_ms": layers["client.get"] * 1000,
                    "handler_ms": layers["handler"] * 1000}
    if fresh:
        result.add("fresh processes each", processes)
        result.add("fresh `lsq invoke action find_lead` median", ms(fresh["lsq"]))
        result.add("fresh python + requests, same request", ms(fresh["python"]))
        result.add("fresh lsq/python (reported, no target)",
                   f"{fresh['lsq'] / fresh['python']:.3f}")
        result.extra.update({"fresh_lsq_ms": fresh["lsq"] * 1000,
                             "fresh_python_ms": fresh["python"] * 1000})
    return result


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("overhead", __doc__ or "")
    args_parser.add_argument("--calls", type=int, default=2000, help="calls of each kind")
    args_parser.add_argument("--processes", type=int, default=10,
                             help="fresh processes of each kind (0: skip)")
    args_parser.add_argument("--server", choices=("waitress", "werkzeug"), default="waitress",
                             help="the sandbox's HTTP server (waitress keeps connections alive)")
    args = args_parser.parse_args(argv)
    return finish(run(args.calls, args.processes, args.server), args.json)


if __name__ == "__main__":
    sys.exit(main())
