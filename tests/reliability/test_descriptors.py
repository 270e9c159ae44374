"""Descriptors and memory stay flat under any number of deliveries, accepted or refused, and
under connections that stall, with the receiver's production HTTP stack in a process limited
to 256 descriptors (``RLIMIT_NOFILE``).

20,000 deliveries (the issue's figure; about 17 s here, so CI runs them all;
``LSQ_RELIABILITY_DELIVERIES=N`` changes the count). Half carry a wrong secret (401), half are
stored (200); every one on a new connection (the worst case for descriptors); and a real
`lsq serve` answers a fifth as many requests to all its mounts. Then 300
connections send half a request and stall: the server holds at most its connection limit
(100) and closes them after its channel timeout, and a delivery still gets through.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from runtime.engine.receiver import SECRET_HEADER, hook_path
from runtime.store.state import StateStore, Subscription, instance_id

from .test_crashes import EXAMPLES, free_port

ROOT = Path(__file__).resolve().parents[2]
NOFILE = 256
DELIVERIES = int(os.environ.get("LSQ_RELIABILITY_DELIVERIES") or 20_000)
STALLED = 300
SECRET = "descriptor-hook-secret-0123456789"
INSTANCE = instance_id("new_lead", {}, account="fd-test")


class Front:
    """The subprocess, and what /proc says about it."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.most_fds = 0
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmRSS:")))

    def _sample(self) -> None:
        while self._sampling:
            try:
                self.most_fds = max(self.most_fds, self.fds())
            except OSError:
                return
            time.sleep(0.02)

    def post(self, body: bytes, secret: str) -> int:
        return self.post_to(hook_path(INSTANCE), body, secret)

    def post_to(self, path: str, body: bytes, secret: str) -> int:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("POST", path, body=body, headers={
                SECRET_HEADER: secret, "Content-Type": "application/json",
                "Connection": "close"})
            return conn.getresponse().status
        finally:
            conn.close()

    def get(self, path: str) -> int:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            return conn.getresponse().status
        finally:
            conn.close()

    def settled_fds(self, bound: int) -> int:
        """Descriptors once the last connections are closed (at most 3 s to get to ``bound``)."""
        deadline = time.monotonic() + 3
        while self.fds() > bound and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.fds()

    def close(self) -> None:
        self._sampling = False
        if self.process.stdin is not None:
            self.process.stdin.close()  # serve_front stops
        else:
            self.process.terminate()  # lsq serve stops on SIGTERM
        self.process.wait(20)


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    state = tmp_path / "state.sqlite3"
    with StateStore(state) as store:
        store.save_subscription(Subscription(INSTANCE, "wh-1", SECRET, "http://x/hooks", "1"))
    env = {**os.environ, "LSQ_STATE_DB": str(state)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.serve_front", str(NOFILE)], cwd=ROOT,
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    running = Front(process, process.stdout.readline().strip())
    try:
        yield running
    finally:
        running.close()


def lead(n: int) -> bytes:
    return json.dumps({"ProspectID": f"lead-{n:06d}", "FirstName": f"Load {n}",
                       "EmailAddress": f"load{n}@example.com"}).encode()


def test_descriptors_and_memory_stay_flat_under_deliveries_half_refused(front: Front) -> None:
    def deliver(n: int) -> int:
        return front.post(lead(n), SECRET if n % 2 else "wrong-secret")

    with ThreadPoolExecutor(4) as pool:
        warm = Counter(pool.map(deliver, range(DELIVERIES // 10)))
        fds_warm, rss_warm = front.fds(), front.rss_kb()
        rest = Counter(pool.map(deliver, range(DELIVERIES // 10, DELIVERIES)))
    fds_end, rss_end = front.settled_fds(fds_warm + 2), front.rss_kb()
    answers = warm + rest

    assert answers == {200: DELIVERIES // 2, 401: DELIVERIES // 2}
    assert fds_end <= fds_warm + 2, (fds_warm, fds_end)
    assert front.most_fds < NOFILE // 2, front.most_fds
    assert rss_end - rss_warm < 8 * 1024, (rss_warm, rss_end)  # KiB


def test_stalled_connections_are_bounded_and_closed(front: Front) -> None:
    before = front.fds()
    stalled = []
    for _ in range(STALLED):  # half a request each, then nothing
        sock = socket.create_connection((front.host, front.port), timeout=10)
        sock.sendall(b"POST " + hook_path(INSTANCE).encode() + b" HTTP/1.1\r\nHost: x\r\n")
        stalled.append(sock)
    time.sleep(0.5)
    held = front.fds()
    began = time.monotonic()
    status = front.post(lead(1), SECRET)  # waits at most for the channel timeout to free room
    waited = time.monotonic() - began
    for sock in stalled:
        sock.close()
    deadline = time.monotonic() + 5  # channel timeout 1 s, maintenance every second
    while front.fds() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert status == 200
    assert held - before <= 100 + 2, (before, held)  # the connection limit, not 300
    assert front.most_fds < NOFILE, front.most_fds
    assert waited < 4, waited
    assert front.fds() <= before + 2, (before, front.fds())


def test_lsq_serve_itself_stays_flat_under_requests_to_every_mount(tmp_path: Path) -> None:
    """The whole front of a real `lsq serve` (limited to 256 descriptors): /healthz,
    /metrics, /ui/ and refused deliveries, a fifth as many requests as above."""
    port = free_port()
    env = {**os.environ, "LSQ_STATE_DB": str(tmp_path / "state.sqlite3"),
           "LSQ_HISTORY_DB": str(tmp_path / "history.sqlite3")}
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "serve", str(EXAMPLES / "welcome_email.yaml"),
         "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, preexec_fn=_limit_descriptors,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("serving"):
            break
    serve = Front(process, f"http://127.0.0.1:{port}")
    try:
        with StateStore(tmp_path / "state.sqlite3") as store:
            (subscription,) = store.list_subscriptions()
        hook = hook_path(subscription.instance_id)

        def request(n: int) -> int:
            if n % 4 == 3:
                return serve.post_to(hook, lead(n), "wrong-secret")
            return serve.get(("/healthz", "/metrics", "/ui/")[n % 4])

        count = DELIVERIES // 5
        with ThreadPoolExecutor(4) as pool:  # warm: the pools of connections are all open
            warm = Counter(pool.map(request, range(count // 5)))
            fds_warm, rss_warm = serve.fds(), serve.rss_kb()
            rest = Counter(pool.map(request, range(count // 5, count)))
        fds_end, rss_end = serve.settled_fds(fds_warm + 4), serve.rss_kb()
    finally:
        serve.close()

    assert warm + rest == {200: count * 3 // 4, 401: count // 4}
    assert fds_end <= fds_warm + 4, (fds_warm, fds_end)
    assert serve.most_fds < NOFILE // 2, serve.most_fds
    assert rss_end - rss_warm < 8 * 1024, (rss_warm, rss_end)  # KiB


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
