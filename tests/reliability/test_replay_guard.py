"""``lsq webhook replay --to URL`` sends the subscription's secret only where its guard says:
the registered receiver's origin or a loopback address, as the HTTP library reads the URL.

The old guard parsed ``--to`` with ``urllib.parse`` while ``requests`` routes with urllib3's
``parse_url``; ``http://evil.com\\@127.0.0.1/hooks/<id>`` was 127.0.0.1 to the guard and
evil.com to urllib3, so the secret went to evil.com. Here every request that would leave is
captured (``Session.send`` is replaced) and its URL parsed with urllib3 again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from runtime.api.hosts import is_loopback
from runtime.engine.receiver import SECRET_HEADER, hook_path
from runtime.store.state import StateStore, Subscription, instance_id

from .helpers import assert_contract, run_cli

INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
PATH = hook_path(INSTANCE)
REGISTERED = f"https://hooks.example.com{PATH}"
SECRET = "replay-secret-0123456789abcdefXYZ"


def origin(url: str) -> tuple[str | None, str | None, int | None]:
    parts = parse_url(url)
    default = {"http": 80, "https": 443}.get(parts.scheme or "")
    return parts.scheme, (parts.host or "").lower(), parts.port or default


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[requests.PreparedRequest]:
    """Requests that would leave this process (answered 200 Success, never sent)."""
    captured: list[requests.PreparedRequest] = []

    def send(self: requests.Session, request: requests.PreparedRequest,
             **kwargs: object) -> requests.Response:
        captured.append(request)
        reply = requests.Response()
        reply.status_code, reply._content = 200, b'{"Status": "Success"}'
        return reply

    monkeypatch.setattr(requests.Session, "send", send)
    return captured


@pytest.fixture
def replay(cli_env: Path) -> Iterator[list[str]]:
    with StateStore(cli_env / "state.sqlite3") as store:
        store.save_subscription(Subscription(INSTANCE, "wh-1", SECRET, REGISTERED, "1"))
    body = cli_env / "delivery.json"
    body.write_text(json.dumps({"ProspectID": "p1"}), encoding="utf-8")
    yield ["webhook", "replay", str(body), "--state", str(cli_env / "state.sqlite3")]


def allowed(request: requests.PreparedRequest) -> bool:
    scheme, host, port = origin(str(request.url))
    return (scheme, host, port) == origin(REGISTERED) or is_loopback(host or "")


REFUSED = [
    f"http://evil.com\\@127.0.0.1{PATH}",  # fooled the old guard: evil.com to urllib3
    f"https://evil.com\\@hooks.example.com{PATH}",  # fooled the old guard: evil.com
    f"http://evil.com@[::1]{PATH}",  # fooled the old guard: userinfo
    f"http://evil.com\t@127.0.0.1{PATH}",  # fooled the old guard: urllib.parse drops the tab
    f"http://evil.com%2f@127.0.0.1{PATH}",  # fooled the old guard
    f"http://127.0.0.1\n{PATH}",
    f" http://evil.com{PATH}",
    f"http://evil.com@127.0.0.1{PATH}",
    f"https://user:password@hooks.example.com{PATH}",
    f"http://evil.com#@127.0.0.1{PATH}",
    f"http://evil.com?@127.0.0.1{PATH}",
    f"http://127.0.0.1:99999{PATH}",
    f"http://127.0.0.1:0{PATH}",
    f"http://127.0.0.1:-1{PATH}",
    f"http://127.0.0.1:80:90{PATH}",
    f"http://[::1{PATH}",
    f"ftp://127.0.0.1{PATH}",
    f"127.0.0.1{PATH}",
    f"http://evil.com{PATH}",
    f"https://hooks.example.com:444{PATH}",
    f"http://hooks.example.com{PATH}",
    f"https://hooks.example.com.evil.com{PATH}",
    f"http://[fe80::1%25eth0]:80{PATH}",
    f"http://0x7f000001{PATH}",
    f"http://127.1{PATH}",
    f"http://\u24dbocalhost{PATH}",
    f"http://127.0.0.1{PATH}#fragment",
    "http://127.0.0.1/hooks/not-an-instance",
    "",
]
SENT = {
    f"https://HOOKS.example.com:443{PATH}": ("https", "hooks.example.com", 443),
    f"https://hooks.example.com{PATH}?retry=1": ("https", "hooks.example.com", 443),
    f"http://127.0.0.1:8080{PATH}": ("http", "127.0.0.1", 8080),
    f"http://[::1]:8080{PATH}": ("http", "[::1]", 8080),
    f"http://localhost{PATH}/": ("http", "localhost", 80),
    f"http://%31%32%37.0.0.1:8080{PATH}": ("http", "127.0.0.1", 8080),  # urllib3 decodes it
}


@pytest.mark.parametrize("url", REFUSED)
def test_crafted_urls_are_refused_and_nothing_is_sent(
    replay: list[str], sent: list[requests.PreparedRequest], url: str
) -> None:
    result = run_cli([*replay, "--to", url])
    assert_contract(result)
    assert result.code in (1, 2), result.out
    assert sent == []
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize(("url", "expected"), list(SENT.items()))
def test_allowed_urls_go_exactly_where_they_were_checked(
    replay: list[str], sent: list[requests.PreparedRequest], url: str,
    expected: tuple[str, str, int],
) -> None:
    result = run_cli([*replay, "--to", url])
    assert_contract(result)
    assert result.code == 0, result.err
    [request] = sent
    assert origin(str(request.url)) == expected
    assert request.headers[SECRET_HEADER] == SECRET


PIECES = st.sampled_from([
    "http://", "https://", "evil.com", "127.0.0.1", "hooks.example.com", "[::1]", "localhost",
    "@", "\\", "#", "?", "/", ":", ":443", ":8080", ":99999", "%2f", "%40", "%5c", "\t", "\n",
    " ", "user:pw@", ".", "..", "[", "]", "%31%32%37", PATH,
])


@settings(max_examples=150)
@given(pieces=st.lists(PIECES, min_size=1, max_size=7))
def test_any_url_sends_the_secret_only_to_an_allowed_origin(
    replay: list[str], sent: list[requests.PreparedRequest], pieces: list[str]
) -> None:
    sent.clear()
    result = run_cli([*replay, "--to", "".join(pieces) + PATH])
    assert_contract(result)
    assert all(allowed(request) for request in sent), [r.url for r in sent]
