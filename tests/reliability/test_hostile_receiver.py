"""Hostile webhook deliveries: any body, content type, header or size gets a documented answer.

Through the WSGI interface (werkzeug.test.Client) and over real HTTP: never a 500, never a
traceback in the answer; a 50 MB declared body is refused without being read or allocated.
"""

from __future__ import annotations

import http.client
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from runtime.engine.receiver import SECRET_HEADER, WebhookReceiver, hook_path, receiver_url
from runtime.store.state import StateStore, Subscription, instance_id
from tests.serving import serving

INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
SECRET = "RECEIVERsecret-0123456789abcdefXYZ"
STATUSES = {200, 400, 401, 404, 405, 413, 503}
FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateStore]:
    path = tmp_path_factory.mktemp("receiver") / "state.sqlite3"
    with StateStore(path) as opened:
        opened.save_subscription(Subscription(
            INSTANCE, webhook_id="wh-1", secret=SECRET,
            receiver_url=receiver_url("https://hooks.example.com", INSTANCE), event_code="1"))
        yield opened


@pytest.fixture(scope="module")
def receiver(store: StateStore) -> WebhookReceiver:
    return WebhookReceiver(store, max_body_bytes=64 * 1024)


def assert_answer(status: int, body: bytes, method: str = "POST") -> None:
    assert status in STATUSES, (status, body[:200])
    if method == "HEAD":
        assert body == b""
        return
    answer = json.loads(body)
    assert answer["Status"] in {"Success", "Error"}
    text = body.decode()
    assert "Traceback" not in text and SECRET not in text and "sqlite" not in text.lower()


CONTENT_TYPES = st.one_of(
    st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                     "application/json; charset=utf-16", "application/json; charset=bogus",
                     "application/json; charset=", "multipart/form-data; boundary=x",
                     "text/html", "", ";;;", "application/json; charset=utf-8; x=\"",
                     "APPLICATION/JSON", "application/json\x00"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=12).map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
                     b"1e999999", b'{"a": NaN}', b"a=1&a=2&a=3", b"%zz=%", b"\xef\xbb\xbf{}",
                     b"[]", b"[{}, 1]", b"{}" * 10, b" " * 1000]),
)
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@given(body=BODIES, content_type=CONTENT_TYPES,
       secret=st.sampled_from([SECRET, "", "wrong", SECRET + " ", SECRET.upper()]) | HEADER_VALUES,
       path=st.sampled_from([hook_path(INSTANCE), hook_path(INSTANCE) + "/", "/hooks/",
                             "/hooks/../hooks/" + INSTANCE, "/", "/hooks/x" * 50,
                             hook_path(INSTANCE).upper(), "/hooks/%00"]),
       method=st.sampled_from(["POST", "POST", "POST", "HEAD", "GET", "PUT", "DELETE"]))
def test_any_delivery_gets_a_documented_answer(
    receiver: WebhookReceiver, body: bytes, content_type: str, secret: str, path: str,
    method: str,
) -> None:
    client = Client(receiver)
    headers = {SECRET_HEADER: secret}
    response = client.open(path, method=method, data=body, headers=headers,
                           content_type=content_type or None)
    assert_answer(response.status_code, response.get_data(), method)
    if secret != SECRET or path not in (hook_path(INSTANCE), hook_path(INSTANCE) + "/"):
        assert response.status_code != 200 or method == "HEAD"


@given(length=st.sampled_from(["-1", "1e3", "abc", " 12 ", "99999999999999999999", "0x10",
                               "+5", "", "5, 5", "١٢"]))
def test_odd_content_lengths(receiver: WebhookReceiver, length: str) -> None:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": hook_path(INSTANCE),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(b"{}"),
        "HTTP_" + SECRET_HEADER.upper().replace("-", "_"): SECRET,
    }
    answers: list[str] = []
    body = b"".join(receiver(environ, lambda status, headers: answers.append(status)))
    assert_answer(int(answers[0].split()[0]), body)


class _Endless(io.RawIOBase):
    """A request body stream that would yield ``size`` bytes, counting what was read."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"x" * n


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_body_is_refused_with_bounded_memory(
    receiver: WebhookReceiver, declared: bool
) -> None:
    stream = _Endless(FIFTY_MB)
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": hook_path(INSTANCE),
        "CONTENT_TYPE": "application/json", "wsgi.input": stream,
        "HTTP_" + SECRET_HEADER.upper().replace("-", "_"): SECRET,
    }
    if declared:
        environ["CONTENT_LENGTH"] = str(FIFTY_MB)
    else:
        environ["wsgi.input_terminated"] = True
    answers: list[str] = []
    tracemalloc.start()
    try:
        body = b"".join(receiver(environ, lambda status, headers: answers.append(status)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answers[0].startswith("413")
    assert_answer(413, body)
    assert peak < 2 * 1024 * 1024, peak  # far below the 50 MB offered
    assert stream.read_bytes <= 64 * 1024 + 64 * 1024  # the limit plus one chunk at most


def test_an_unauthenticated_50_mb_body_is_not_read(receiver: WebhookReceiver) -> None:
    stream = _Endless(FIFTY_MB)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": hook_path(INSTANCE),
               "CONTENT_LENGTH": str(FIFTY_MB), "wsgi.input": stream}
    answers: list[str] = []
    b"".join(receiver(environ, lambda status, headers: answers.append(status)))
    assert answers[0].startswith("401")
    assert stream.read_bytes == 0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with StateStore(tmp_path / "state.sqlite3") as store:
        store.save_subscription(Subscription(
            INSTANCE, webhook_id="wh-1", secret=SECRET,
            receiver_url=receiver_url("https://hooks.example.com", INSTANCE), event_code="1"))
        with serving(WebhookReceiver(store, max_body_bytes=64 * 1024)) as url:
            yield url.removeprefix("http://")


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Content-Length": str(FIFTY_MB)}, b"{}", 413),
        ({"Content-Length": "abc"}, b"{}", 400),
        ({"Transfer-Encoding": "chunked"}, b"", 200),
        ({"Content-Type": "application/json"}, b'{"ProspectID": "p1"}', 200),
        ({"Content-Type": "application/json"}, b"not json", 200),  # kept as failed, Status Error
    ],
)
def test_over_real_http(served: str, headers: dict, body: bytes, expected: int) -> None:
    connection = http.client.HTTPConnection(served, timeout=10)
    connection.putrequest("POST", hook_path(INSTANCE))
    connection.putheader(SECRET_HEADER, SECRET)
    for name, value in headers.items():
        connection.putheader(name, value)
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()
    if "Transfer-Encoding" in headers:
        connection.send(b"0\r\n\r\n")
    elif not headers.get("Content-Length", "").isdigit() or int(headers["Content-Length"]) < 10**6:
        connection.send(body)
    response = connection.getresponse()
    assert response.status == expected
    assert_answer(response.status, response.read())
    connection.close()


def test_deeply_nested_json_is_malformed_not_a_crash(receiver: WebhookReceiver) -> None:
    response = Client(receiver).post(hook_path(INSTANCE), data=b"[" * 30_000,
                                     headers={SECRET_HEADER: SECRET},
                                     content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == {
        "Status": "Error", "StatusReason": "Body JSON is nested too deeply (more than 32 levels)"
    }
