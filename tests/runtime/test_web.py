"""runtime/web: the front's mount points, the health answer, the WSGI factory for other
servers, and the limits of the HTTP server that serves them."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from runtime.engine.health import Health
from runtime.engine.http_server import HttpServer, ServerSettings
from runtime.engine.receiver import SECRET_HEADER, hook_path
from runtime.errors import ConfigurationError
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id
from runtime.web.front import Front
from runtime.web.health import health_app
from runtime.web.wsgi import create_app

SECRET = "web-hook-secret-0123456789"
INSTANCE = instance_id("new_lead", {}, account="web-test")


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers where it was mounted and what it was asked."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/metrics", 200, b"/metrics|"),
    ("/metrics/x/y", 200, b"/metrics|/x/y"),
    ("/ui/", 200, b"/ui|/"),
    ("/metricsx", 404, b'{"Status": "Error", "StatusReason": "Not found"}'),
    ("/", 404, b'{"Status": "Error", "StatusReason": "Not found"}'),
], ids=["prefix", "below", "trailing-slash", "look-alike", "root"])
def test_the_front_dispatches_by_prefix(path: str, status: int, body: bytes) -> None:
    front = Front()
    front.mount("/metrics", echo)
    front.mount("/ui", echo)
    answer = Client(front).get(path)

    assert (answer.status_code, answer.data) == (status, body)


@pytest.mark.parametrize(("prefix", "message"), [
    ("metrics", "mount prefix 'metrics' must start with '/' and not end with one (e.g. /metrics)"),
    ("/metrics/", "mount prefix '/metrics/' must start with '/' and not end with one "
                  "(e.g. /metrics)"),
    ("/a//b", "mount prefix '/a//b' must start with '/' and not end with one (e.g. /metrics)"),
    ("/hooks", "/hooks is already mounted"),
])
def test_a_bad_mount_is_one_line(prefix: str, message: str) -> None:
    front = Front()
    front.mount("/hooks", echo)
    with pytest.raises(ConfigurationError) as caught:
        front.mount(prefix, echo)
    assert str(caught.value) == message


@pytest.mark.parametrize(("method", "health", "status", "body"), [
    ("GET", Health(True, {"status": "ok"}), 200, b'{"status": "ok"}'),
    ("HEAD", Health(True, {"status": "ok"}), 200, b""),
    ("GET", Health(False, {"status": "failing"}), 503, b'{"status": "failing"}'),
    ("POST", Health(True, {"status": "ok"}), 405,
     b'{"problems": ["use GET"], "status": "error"}'),
])
def test_the_health_answer(method: str, health: Health, status: int, body: bytes) -> None:
    answer = Client(health_app(lambda: health)).open("/", method=method)
    assert (answer.status_code, answer.data) == (status, body)
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_check_that_breaks_answers_503() -> None:
    def broken() -> Health:
        raise RuntimeError("boom")

    answer = Client(health_app(broken)).get("/")
    assert answer.status_code == 503
    assert answer.json == {"status": "failing", "problems": ["the check failed: RuntimeError"]}


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "state.sqlite3"
    with StateStore(path) as store:
        store.save_subscription(Subscription(INSTANCE, "wh-1", SECRET, "http://x/hooks", "1"))
    yield path


def test_the_wsgi_factory_serves_hooks_and_health(state: Path) -> None:
    client = Client(create_app({"LSQ_STATE_DB": str(state)}))
    lead = {"ProspectID": "lead-1", "FirstName": "Ada"}
    stored = client.post(hook_path(INSTANCE), json=lead, headers={SECRET_HEADER: SECRET})
    refused = client.post(hook_path(INSTANCE), json=lead, headers={SECRET_HEADER: "nope"})
    health = client.get("/healthz")

    assert stored.json == {"Status": "Success"}
    assert refused.status_code == 401
    assert health.status_code == 200
    assert health.json["storage"] == "ok" and health.json["oldest_pending_age_seconds"] >= 0
    with StateStore(state) as store:
        (item,) = Inbox(store).items()
    assert (item.event_key, item.payload) == ("lead-1", lead)


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan"])
def test_a_bad_max_pending_age_is_one_line(state: Path, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_app({"LSQ_STATE_DB": str(state), "LSQ_MAX_PENDING_AGE": value})
    assert str(caught.value) == (
        f"LSQ_MAX_PENDING_AGE={value!r} is not a positive number of seconds (e.g. 900)")


@pytest.mark.parametrize(("headers", "status"), [
    ({"X-Big": "x" * 70_000, "Content-Length": "2"}, 431),
    ({"Content-Length": str(2 * 1024 * 1024 + 1)}, 413),
], ids=["headers-over-64-KiB", "body-over-2-MiB"])
def test_the_server_refuses_oversized_requests_itself(
    headers: dict[str, str], status: int,
) -> None:
    """Answered from the headers alone, before any body is read or the application runs."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    server = HttpServer(app, "127.0.0.1", 0, ServerSettings())
    server.start()
    try:
        host, port = server.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest("POST", "/hooks/x")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        answered = conn.getresponse().status
        conn.close()
    finally:
        server.stop()
    assert answered == status
    assert seen == []


def test_a_request_trickled_in_is_closed_at_its_deadline() -> None:
    """Each byte is activity (the channel timeout never fires); the request deadline does."""
    server = HttpServer(echo, "127.0.0.1", 0, ServerSettings(
        channel_timeout=30, cleanup_interval=1, request_timeout=2))
    server.start()
    host, port = server.url.removeprefix("http://").split(":")
    began = time.monotonic()
    closed_after = None
    try:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            for byte in b"POST /hooks/x HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                try:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
                except OSError:
                    closed_after = time.monotonic() - began
                    break
            if closed_after is None:
                sock.settimeout(5)
                assert sock.recv(1) == b""
                closed_after = time.monotonic() - began
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # the rest work
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200 OK")
    finally:
        server.stop()
    assert 2 <= closed_after < 6, closed_after
