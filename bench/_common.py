"""Shared pieces of the benchmarks: the sandbox process, connections, timing and reporting.

Every benchmark prints its figures, then its ratio (or its verdict) as the LAST line, in the
form ``RATIO <name> = <value> (target <op> <target>): met|MISSED``. With ``--json PATH`` it
also writes its result as JSON (``bench/run_all.py`` collects those for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from runtime.api.client import _new_session
from runtime.api.connection import Connection
from runtime.api.governor import GOVERNORS
from runtime.sandbox.seed import DEFAULT_ACCESS_KEY, DEFAULT_API_HOST, DEFAULT_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
UNTHROTTLED = 1_000_000  # calls per 5 s: a limit no benchmark reaches (the governor never waits)


# -- the sandbox in its own process ------------------------------------------------------------


class SandboxProcess:
    """``python -m bench._sandbox_server`` on a free loopback port; controls over HTTP."""

    def __init__(self, *, rate_limit: int = UNTHROTTLED, bulk_rate_limit: int = UNTHROTTLED,
                 list_members: int = 0, server: str = "werkzeug", accounts: int = 0,
                 spread: int = 0, trim_logs: int = 0, tenants: int = 1) -> None:
        self.rate_limit = rate_limit
        command = [
            sys.executable, "-m", "bench._sandbox_server",
            "--rate-limit", str(rate_limit), "--bulk-rate-limit", str(bulk_rate_limit),
            "--list-members", str(list_members), "--server", server,
            "--accounts", str(accounts), "--spread", str(spread),
            "--trim-logs", str(trim_logs), "--tenants", str(tenants),
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"the sandbox process exited ({self.process.returncode})")
        self.base_url: str = json.loads(line)["base_url"]
        self.session = requests.Session()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def request_log(self, since: int = 0) -> list[dict[str, Any]]:
        return self.control("GET", f"requests?since={since}")["requests"]

    def log_count(self) -> int:
        return int(self.control("GET", "requests?since=1000000000")["count"])

    def clear_log(self) -> None:
        self.control("POST", "requests/clear")

    def reset(self) -> None:
        self.control("POST", "reset")

    def stop(self) -> None:
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def connection(base_url: str, rate_limit: int = UNTHROTTLED,
               bulk_rate_limit: int = UNTHROTTLED) -> Connection:
    """The sandbox's default account (api-in21) at ``base_url`` with the given plan limits."""
    GOVERNORS.clear()  # a fresh governor with exactly these limits
    return Connection(
        access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY, api_host=DEFAULT_API_HOST,
        base_url=base_url, rate_limit=rate_limit, bulk_rate_limit=bulk_rate_limit,
        name="bench",
    )


def client_session() -> requests.Session:
    """A session configured as the runtime's client configures its own (same adapter, pool,
    User-Agent). The benchmarks hand the SAME session to the runtime's client and to the
    baseline, so both use one connection pool and one kept-alive connection."""
    return _new_session()


@dataclass
class PreparedCall:
    """One request exactly as the runtime sent it: the PreparedRequest and the keyword
    arguments of ``Session.send`` (timeout, redirects, proxies, verify, ...).

    The baseline sends this object again with ``session.send(prepared, **kwargs)`` and
    ``response.json()``: no preparation, no environment look-up, no retry, no checks. That is
    the least work ``requests`` allows for the same bytes on the wire.
    """

    prepared: requests.PreparedRequest
    kwargs: dict[str, Any]

    def send(self, session: requests.Session) -> Any:
        response = session.send(self.prepared, **self.kwargs)
        response.raise_for_status()
        return response.json()


@contextmanager
def recording(session: requests.Session) -> Iterator[list[PreparedCall]]:
    """Record every request sent through ``session`` (prepared request and send arguments)."""
    calls: list[PreparedCall] = []
    original = session.send

    def send(prepared: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        calls.append(PreparedCall(prepared.copy(), dict(kwargs)))
        return original(prepared, **kwargs)

    session.send = send  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del session.send  # back to the class's method


class HttpClientCall:
    """The same request with ``http.client`` on one kept-alive connection, then ``json.loads``:
    no requests, no urllib3 (the floor for a Python client)."""

    def __init__(self, call: PreparedCall) -> None:
        url = urlsplit(call.prepared.url or "")
        self.method = call.prepared.method or "GET"
        self.target = f"{url.path}?{url.query}" if url.query else url.path
        self.body = call.prepared.body
        self.headers = dict(call.prepared.headers)
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)

    def send(self) -> Any:
        self.connection.request(self.method, self.target, body=self.body, headers=self.headers)
        response = self.connection.getresponse()
        raw = response.read()
        if response.status >= 400:
            raise RuntimeError(f"http.client: status {response.status}")
        return json.loads(raw)

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class RawCall:
    """One request as the sandbox logged it (to check two variants sent the same request)."""

    method: str
    operation: str
    query: dict[str, Any]
    body: Any
    host: str = ""

    @classmethod
    def from_log(cls, entry: Mapping[str, Any]) -> RawCall:
        return cls(entry["method"], entry["operation"], dict(entry["query"]), entry["body"],
                   entry.get("host", ""))

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.method, self.operation, json.dumps(self.query, sort_keys=True),
                json.dumps(self.body, sort_keys=True), self.host)


# -- timing --------------------------------------------------------------------------------------


def interleaved(
    variants: Mapping[str, Callable[[], Any]], rounds: int, per_round: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each variant, run in alternating blocks of ``per_round`` calls.

    The order of the variants alternates every round, so a noisy moment on a shared machine
    hits both alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    clock = time.perf_counter
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]
        for name in order:
            call, bucket = variants[name], samples[name]
            for _ in range(per_round):
                started = clock()
                call()
                bucket.append(clock() - started)
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_process(command: Sequence[str], *, cwd: Path = ROOT) -> float:
    """Wall seconds of one whole process (it must exit 0)."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return time.perf_counter() - started


# -- reporting -----------------------------------------------------------------------------------


@dataclass
class Result:
    """A benchmark's figures and its one verdict line (the ratio, or the headline figure)."""

    name: str
    title: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    ratio_label: str = "ratio"
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, label: str, value: Any) -> None:
        self.figures.append((label, str(value)))

    def verdict(self) -> str:
        state = "met" if self.met else "MISSED"
        value = "n/a" if self.ratio is None else f"{self.ratio:.3f}"
        return f"RATIO {self.ratio_label} = {value} (target {self.target}): {state}"

    def print(self) -> None:
        print(f"== {self.title}")
        width = max((len(label) for label, _ in self.figures), default=0)
        for label, value in self.figures:
            print(f"  {label.ljust(width)}  {value}")
        for note in self.notes:
            print(f"  note: {note}")
        print(self.verdict(), flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has (``--json``)."""
    result = argparse.ArgumentParser(prog=f"python -m bench.{prog}", description=description)
    result.add_argument("--json", help="also write the result as JSON to this file")
    return result


MISSED_EXIT = 3  #: the exit code of a benchmark that ran to the end and missed its target


def finish(result: Result, json_path: str | None) -> int:
    """Print the result (verdict last) and write the JSON file if asked.

    Exit code 0 when the target is met (or the benchmark has none), :data:`MISSED_EXIT` (3)
    when it is missed; any other non-zero code means the benchmark itself failed.
    """
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    result.print()
    return MISSED_EXIT if result.met is False else 0


@contextmanager
def quiet_logs() -> Iterator[None]:
    """No log output from the runtime while timing (warnings would cost time and noise)."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def raw_headers(method: str) -> dict[str, str]:
    """The headers the runtime's client sends (keys, Accept, JSON body type, regional Host): the
    minimal pipeline of bench/webhook_pipeline.py sends the same request."""
    headers = {
        "x-LSQ-AccessKey": DEFAULT_ACCESS_KEY,
        "x-LSQ-SecretKey": DEFAULT_SECRET_KEY,
        "Accept": "application/json",
        "Host": DEFAULT_API_HOST,
        "User-Agent": "leadsquared-connector/0.1",
    }
    if method == "POST":
        headers["Content-Type"] = "application/json; charset=utf-8"
    return headers


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
