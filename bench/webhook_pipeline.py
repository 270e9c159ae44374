"""Webhook to finished run: `lsq serve` against a minimal durable pipeline, same sandbox.

Three processes besides this one: the sandbox (``bench._sandbox_server`` on waitress, HTTP/1.1
keep-alive as LeadSquared's API, unthrottled), ``lsq
serve examples/welcome_email.yaml`` (New Lead -> send_email; state and history on temp files;
the connection points at the sandbox) and ``bench._minimal_pipeline`` (one fsync'd insert
before the 200, claim, the same SendEmailToLead request, mark done). This process only sends
deliveries (``http.client``, one keep-alive connection per sender thread, the subscription's
secret header) and reads each pipeline's database for finished runs.

1. Throughput: rounds of ``--burst`` deliveries from ``--senders`` concurrent senders to one
   pipeline, measured from the first send to the last run's finish time (read from its
   database: ``runs.finished_at`` / ``events.finished_at``); the pipelines alternate round by
   round (order flipped every round). Figure: median runs/s of each, ratio runtime/minimal.
2. Latency at 5 events/s: one paced sender, a delivery every 200 ms to each pipeline (offset
   100 ms: both see 5 ev/s over the same seconds). Latency = the run's finish time - the moment
   before the POST. p50/p99 of each.
3. RSS over a long run: ``--rss-events`` deliveries to `lsq serve` (bursts of ``--burst``),
   its RSS (/proc/<pid>/status VmRSS, its worker processes' added) after each burst.
   "Flat": the last sample at most 10%
   (and 8 MB) above the sample taken once a fifth of the events had run (caches warm).

Targets: runtime/minimal runs/s >= 0.8; p50 <= 20 ms and p99 <= 100 ms at 5 ev/s; RSS flat.
Exit code 3 when one is missed. The machine may be shared with other work: figures are noisy,
the ratio is fair (same moment, alternated).

    python -m bench.webhook_pipeline [--burst 1000] [--rounds 6] [--paced 300]
    LSQ_BENCH_LONG=1 python -m bench.webhook_pipeline     # RSS over 100,000 events
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runtime.engine.receiver import SECRET_HEADER
from runtime.sandbox.seed import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from runtime.store.state import StateStore

from ._common import (
    ROOT,
    Result,
    SandboxProcess,
    children_of,
    finish,
    median,
    parser,
    percentile,
    raw_headers,
)

WORKFLOW = ROOT / "examples" / "welcome_email.yaml"
RECIPIENT = "priya.sharma@example.com"  # a seeded lead whose owner is an active user
LONG_ENV = "LSQ_BENCH_LONG"
LONG_RSS_EVENTS = 100_000
PACE = 0.2  # seconds between deliveries to one pipeline: 5 events/s
TARGET_RATIO, TARGET_P50, TARGET_P99 = 0.8, 0.020, 0.100
RSS_GROWTH, RSS_SLACK = 0.10, 8 * 1024 * 1024
WAIT_LIMIT = 120.0  # seconds a burst may take to finish before the benchmark gives up
SERVE = [sys.executable, "-m", "runtime"]  # the `lsq` command line


class Pipeline:
    """A pipeline process under test: where to POST, how to count and time finished runs."""

    name = ""

    def __init__(self, process: subprocess.Popen[str], hook_url: str, secret: str | None,
                 db: Path, log: Path) -> None:
        self.process, self.db, self.log = process, db, log
        parts = urlsplit(hook_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.path = parts.path
        self.headers = {"Content-Type": "application/json"}
        if secret:
            self.headers[SECRET_HEADER] = secret
        self.sent = 0

    # -- reading the pipeline's own database ----------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def finished(self) -> int:
        raise NotImplementedError

    def finish_times(self, keys: Sequence[str]) -> dict[str, float]:
        raise NotImplementedError

    def failures(self) -> int:
        raise NotImplementedError

    def rss(self) -> int:
        """The resident set size in bytes of the process and its children (`lsq serve`'s
        worker processes), summed."""
        return sum(_rss(pid) for pid in (self.process.pid, *children_of(self.process.pid)))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RuntimePipeline(Pipeline):
    name = "runtime"

    def finished(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM runs WHERE status != 'running'")[0][0])

    def finish_times(self, keys: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for chunk in _chunks(list(keys), 500):
            rows = self._query(
                "SELECT event_key, finished_at FROM runs WHERE finished_at IS NOT NULL AND "
                f"event_key IN ({','.join('?' * len(chunk))})", [f"{k}#0" for k in chunk])
            found.update((key.removesuffix("#0"), _epoch(at)) for key, at in rows)
        return found

    def failures(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM runs WHERE status != 'succeeded'")[0][0])


class MinimalPipeline(Pipeline):
    name = "minimal"

    def finished(self) -> int:
        return int(self._query(
            "SELECT COUNT(*) FROM events WHERE status IN ('done', 'failed')")[0][0])

    def finish_times(self, keys: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for chunk in _chunks(list(keys), 500):
            found.update(self._query(
                "SELECT key, finished_at FROM events WHERE finished_at IS NOT NULL AND "
                f"key IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def failures(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM events WHERE status != 'done'")[0][0])


# -- starting the processes ---------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSQ_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _ready(process: subprocess.Popen[str], log: Path, marker: str) -> list[str]:
    """The process's first output lines, up to the one starting with ``marker`` (then the rest
    of its output is drained in a thread)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(marker):
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return lines
    process.wait(timeout=10)
    raise RuntimeError(f"{process.args!r} exited {process.returncode}: "
                       f"{log.read_text(errors='replace')[-2000:]}")


def start_runtime(scratch: Path, sandbox_url: str, workers: int) -> RuntimePipeline:
    connection = scratch / "connection.yaml"
    connection.write_text(
        f"access_key: '{DEFAULT_ACCESS_KEY}'\nsecret_key: '{DEFAULT_SECRET_KEY}'\n"
        f"api_host: {sandbox_url}\nrate_limit: 1000000\nbulk_rate_limit: 1000000\n",
        encoding="utf-8",
    )
    env = _env()
    env.update(LSQ_STATE_DB=str(scratch / "state.sqlite3"),
               LSQ_HISTORY_DB=str(scratch / "history.sqlite3"))
    log = scratch / "serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [*SERVE, "serve", str(WORKFLOW), "--port", "0",
             "--connection", str(connection), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
        )
    lines = _ready(process, log, "serving")
    line = next(line for line in lines if line.startswith("receiving webhooks at "))
    base = line.split(" at ", 1)[1].split(" ", 1)[0]
    with StateStore(scratch / "state.sqlite3") as store:
        (subscription,) = store.list_subscriptions()
    return RuntimePipeline(process, f"{base}/hooks/{subscription.instance_id}",
                           subscription.secret, scratch / "history.sqlite3", log)


def start_minimal(scratch: Path, sandbox_url: str, body: dict[str, Any]) -> MinimalPipeline:
    call = scratch / "send_email.json"
    call.write_text(json.dumps({"body": body, "headers": raw_headers("POST")}), encoding="utf-8")
    db, log = scratch / "minimal.sqlite3", scratch / "minimal.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench._minimal_pipeline", "--sandbox", sandbox_url,
             "--db", str(db), "--body", str(call)],
            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=errors, text=True,
        )
    base = json.loads(_ready(process, log, "{")[-1])["base_url"]
    return MinimalPipeline(process, f"{base}/hooks/minimal", None, db, log)


# -- sending --------------------------------------------------------------------------------------


def delivery(key: str) -> bytes:
    return json.dumps({"ProspectID": key, "FirstName": "Bench", "LastName": key,
                       "EmailAddress": RECIPIENT}).encode()


class Sender:
    """One keep-alive connection to a pipeline (reopened if the server closes it)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.conn: http.client.HTTPConnection | None = None

    def post(self, key: str) -> None:
        body = delivery(key)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.pipeline.address, timeout=30)
            try:
                self.conn.request("POST", self.pipeline.path, body, self.pipeline.headers)
                answer = self.conn.getresponse()
                answer.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if answer.will_close:
                self.close()
            if answer.status != 200:
                raise RuntimeError(f"{self.pipeline.name}: delivery answered {answer.status}")
            return

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def wait_finished(pipeline: Pipeline, limit: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while pipeline.finished() < pipeline.sent:
        if time.monotonic() > deadline or pipeline.process.poll() is not None:
            raise RuntimeError(
                f"{pipeline.name}: {pipeline.finished()} of {pipeline.sent} runs finished "
                f"after {limit:g} s; log: {pipeline.log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)


def burst(pipeline: Pipeline, keys: list[str], senders: int) -> float:
    """Send ``keys`` with ``senders`` concurrent senders; runs/s from first send to last finish."""
    feed: Iterator[str] = iter(keys)
    lock = threading.Lock()

    def sender() -> None:
        client = Sender(pipeline)
        try:
            while True:
                with lock:
                    key = next(feed, None)
                if key is None:
                    return
                client.post(key)
        finally:
            client.close()

    started = time.time()
    with ThreadPoolExecutor(senders) as pool:
        for future in [pool.submit(sender) for _ in range(senders)]:
            future.result()
    pipeline.sent += len(keys)
    wait_finished(pipeline)
    return len(keys) / (_last_finish(pipeline) - started)


def _last_finish(pipeline: Pipeline) -> float:
    if isinstance(pipeline, RuntimePipeline):
        return _epoch(pipeline._query("SELECT MAX(finished_at) FROM runs")[0][0])
    return float(pipeline._query("SELECT MAX(finished_at) FROM events")[0][0])


def paced(pipelines: Sequence[Pipeline], count: int, prefix: str) -> dict[str, list[float]]:
    """``count`` deliveries to each pipeline at 1/PACE per second, offset by PACE/len; the
    latency of each (finish time - the moment before its POST), seconds."""
    senders = [Sender(p) for p in pipelines]
    sent: list[dict[str, float]] = [{} for _ in pipelines]
    begin = time.monotonic() + 0.05
    offset = PACE / len(pipelines)
    for number in range(count):
        for index, client in enumerate(senders):
            due = begin + number * PACE + index * offset
            time.sleep(max(0.0, due - time.monotonic()))
            key = f"{prefix}-{index}-{number}"
            sent[index][key] = time.time()
            client.post(key)
    latencies: dict[str, list[float]] = {}
    for pipeline, client, times in zip(pipelines, senders, sent, strict=True):
        client.close()
        pipeline.sent += count
        wait_finished(pipeline)
        finished = pipeline.finish_times(list(times))
        latencies[pipeline.name] = [finished[key] - at for key, at in times.items()]
    return latencies


def rss_run(
    pipeline: Pipeline, events: int, burst_size: int, senders: int
) -> list[tuple[int, int]]:
    """(events run, RSS bytes) after each burst of a long run."""
    samples = [(0, pipeline.rss())]
    done = 0
    numbers = itertools.count()
    while done < events:
        size = min(burst_size, events - done)
        burst(pipeline, [f"rss-{next(numbers)}" for _ in range(size)], senders)
        done += size
        samples.append((done, pipeline.rss()))
    return samples


def rss_flat(samples: list[tuple[int, int]]) -> tuple[bool, int, int]:
    """(flat?, RSS once a fifth had run, RSS at the end)."""
    total = samples[-1][0]
    warm = next(rss for done, rss in samples if done >= total / 5)
    last = samples[-1][1]
    return last <= max(warm * (1 + RSS_GROWTH), warm + RSS_SLACK), warm, last


# -- the benchmark ------------------------------------------------------------------------------


def run(burst_size: int, rounds: int, paced_count: int, rss_events: int, senders: int,
        workers: int) -> Result:
    with tempfile.TemporaryDirectory() as folder, \
            SandboxProcess(trim_logs=2000, server="waitress") as sandbox:
        scratch = Path(folder)
        (scratch / "runtime").mkdir()
        (scratch / "minimal").mkdir()
        runtime = start_runtime(scratch / "runtime", sandbox.base_url, workers)
        children = len(children_of(runtime.process.pid))
        pipelines: list[Pipeline] = [runtime]
        try:
            burst(runtime, [f"warm-{n}" for n in range(20)], 4)
            body = next(entry["body"] for entry in reversed(sandbox.request_log())
                        if entry["operation"].endswith("SendEmailToLead"))
            minimal = start_minimal(scratch / "minimal", sandbox.base_url, body)
            pipelines.append(minimal)
            burst(minimal, [f"warm-{n}" for n in range(20)], 4)

            rates: dict[str, list[float]] = {p.name: [] for p in pipelines}
            for number in range(rounds):
                order = pipelines if number % 2 == 0 else pipelines[::-1]
                for pipeline in order:
                    keys = [f"r{number}-{n}" for n in range(burst_size)]
                    rates[pipeline.name].append(burst(pipeline, keys, senders))
            latencies = paced(pipelines, paced_count, "paced")
            samples = rss_run(runtime, rss_events, burst_size, senders)
            failures = {p.name: p.failures() for p in pipelines}
            minimal_rss = minimal.rss()
        finally:
            for pipeline in pipelines:
                pipeline.stop()
    return report(rates, latencies, samples, failures, minimal_rss,
                  burst_size=burst_size, senders=senders, workers=workers, children=children)


def report(rates: dict[str, list[float]], latencies: dict[str, list[float]],
           samples: list[tuple[int, int]], failures: dict[str, int], minimal_rss: int, *,
           burst_size: int, senders: int, workers: int, children: int) -> Result:
    ratio = median(rates["runtime"]) / median(rates["minimal"])
    p50 = percentile(latencies["runtime"], 0.50)
    p99 = percentile(latencies["runtime"], 0.99)
    flat, warm, last = rss_flat(samples)
    met = {
        "throughput": ratio >= TARGET_RATIO,
        "p50": p50 <= TARGET_P50,
        "p99": p99 <= TARGET_P99,
        "rss": flat,
        "no failed run": not any(failures.values()),
    }
    result = Result(
        "webhook_pipeline", "Webhook to finished run: lsq serve vs a minimal durable pipeline",
        ratio_label="runtime/minimal runs/s", ratio=ratio,
        target=f">= {TARGET_RATIO}, p50 <= 20 ms, p99 <= 100 ms, RSS flat", met=all(met.values()),
    )
    result.add("bursts", f"{len(rates['runtime'])} of {burst_size} deliveries each, "
                         f"{senders} concurrent senders, alternated; lsq serve --workers "
                         f"{workers} ({children} worker process(es), its default here), "
                         "the minimal pipeline 1 worker")
    for name, values in rates.items():
        result.add(f"{name} runs/s", f"median {median(values):.0f} "
                                     f"(rounds: {', '.join(f'{v:.0f}' for v in values)})")
    for name, values in latencies.items():
        slow = sum(value > TARGET_P99 for value in values)
        result.add(f"{name} at 5 ev/s", f"p50 {percentile(values, 0.5) * 1000:.1f} ms, "
                                        f"p90 {percentile(values, 0.9) * 1000:.1f} ms, "
                                        f"p99 {percentile(values, 0.99) * 1000:.1f} ms, "
                                        f"{slow} of {len(values)} over 100 ms")
    mib = 1024 * 1024
    result.add("runtime RSS", f"{samples[0][1] / mib:.1f} MB at start, {warm / mib:.1f} MB "
                              f"after a fifth, {last / mib:.1f} MB after {samples[-1][0]:,} "
                              f"events ({'flat' if flat else 'GROWING'}); minimal "
                              f"{minimal_rss / mib:.1f} MB")
    result.add("failed runs", failures)
    missed = [name for name, ok in met.items() if not ok]
    if missed:
        result.notes.append("missed: " + ", ".join(missed))
    result.extra = {"rates": rates, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000,
                    "latencies_ms": {k: [round(v * 1000, 2) for v in values]
                                     for k, values in latencies.items()},
                    "rss": samples, "failures": failures}
    return result


def _rss(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith("VmRSS:")), 0)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("webhook_pipeline", __doc__ or "")
    args_parser.add_argument("--burst", type=int, default=1000, help="deliveries per round")
    args_parser.add_argument("--rounds", type=int, default=6, help="rounds (alternated)")
    args_parser.add_argument("--paced", type=int, default=300,
                             help="deliveries to each pipeline at 5 events/s")
    args_parser.add_argument("--rss-events", type=int, default=None,
                             help=f"events of the RSS run (default 5000; {LONG_RSS_EVENTS:,} "
                                  f"with {LONG_ENV}=1)")
    args_parser.add_argument("--senders", type=int, default=8, help="concurrent senders")
    args_parser.add_argument("--workers", type=int, default=4,
                             help="lsq serve --workers (the minimal pipeline has one worker)")
    args = args_parser.parse_args(argv)
    rss_events = args.rss_events or (LONG_RSS_EVENTS if os.environ.get(LONG_ENV) else 5000)
    result = run(args.burst, args.rounds, args.paced, rss_events, args.senders, args.workers)
    return finish(result, args.json)  # 3 when a target is missed


if __name__ == "__main__":
    sys.exit(main())
