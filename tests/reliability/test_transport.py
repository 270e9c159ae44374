"""Transport: TLS verification always on, the host allowlist holds, redirects never followed.

A recording adapter sits under the client's session and keeps every ``send`` with its keyword
arguments (``verify``, ``timeout``, ...). Host strings come from a list of known bypass tricks
and from hypothesis; whatever ``parse_api_host`` accepts must, as *requests/urllib3* parse the
final URL, land on an allowlisted LeadSquared host over https, or on loopback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from requests.adapters import BaseAdapter
from urllib3.util import parse_url
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection, load_connection
from runtime.api.hosts import REGIONAL_HOSTS, check_host_name, is_loopback, parse_api_host
from runtime.errors import ConfigurationError, ConnectorError, PermanentApiError

ACCESS = "u$rTRANSPORTaccess0123456789abcdef"
SECRET = "TRANSPORTsecret/+=0123456789abcdef"
WHOAMI = "Authentication.svc/UserByAccessKey.Get"
REAL = "api-in21.leadsquared.com"


class Recorder(BaseAdapter):
    """Answers every request with ``answer(request)``; records (request, send kwargs)."""

    def __init__(self, answer: Callable[[requests.PreparedRequest], tuple[int, Any, dict]]):
        super().__init__()
        self.answer = answer
        self.sent: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.sent.append((request, kwargs))
        status, body, headers = self.answer(request)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode() if body is not None else b""
        response.headers.update(headers)
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def whoami_ok(request: requests.PreparedRequest) -> tuple[int, Any, dict]:
    return 200, {"LSQCommonServiceURLs": {"api": REAL}, "Id": "u1"}, {}


def client_with(adapter: Recorder, **connection: Any) -> LeadSquaredClient:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    settings = {"access_key": ACCESS, "secret_key": SECRET, "api_host": REAL,
                "rate_limit": 10**6, **connection}
    clock = [0.0]
    return LeadSquaredClient(Connection(**settings), session=session,
                             sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
                             clock=lambda: clock[0])


# ---------------------------------------------------------------- TLS verification


def verifies(verify: Any) -> bool:
    """True for requests' "verify": True, or a CA bundle path (still verification)."""
    return verify is True or (isinstance(verify, str) and bool(verify))


TLS_ENV = {
    "REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "", "PYTHONHTTPSVERIFY": "0",
    "LSQ_VERIFY": "0", "LSQ_VERIFY_SSL": "false", "LSQ_INSECURE": "1", "SSL_CERT_FILE": "",
    "HTTPS_PROXY": "", "NO_PROXY": "*",
}


@given(env=st.dictionaries(st.sampled_from(sorted(TLS_ENV)), st.sampled_from(["", "0", "false"])))
def test_tls_verification_is_on_whatever_the_environment(env: dict[str, str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name in TLS_ENV:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        adapter = Recorder(whoami_ok)
        client = client_with(adapter)
        client.get(WHOAMI)
        client.post("LeadManagement.svc/Lead.Create", [{"Attribute": "A", "Value": "b"}],
                    creates=True)
    assert len(adapter.sent) == 2
    for request, kwargs in adapter.sent:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE name a CA bundle (a corporate CA):
        # that is still verification; off (False / empty) it never is.
        verify = kwargs["verify"]
        bundles = {env.get("REQUESTS_CA_BUNDLE"), env.get("CURL_CA_BUNDLE")} - {None, ""}
        assert verify is True or (isinstance(verify, str) and verify in bundles), verify
        assert request.url.startswith(f"https://{REAL}/v2/")


def test_a_session_that_disables_verification_is_overridden() -> None:
    adapter = Recorder(whoami_ok)
    session = requests.Session()
    session.verify = False
    session.mount("https://", adapter)
    client = LeadSquaredClient(Connection(ACCESS, SECRET, api_host=REAL, rate_limit=10**6),
                               session=session)
    client.get(WHOAMI)
    assert verifies(adapter.sent[0][1]["verify"])


def test_a_ca_bundle_from_the_environment_still_verifies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    adapter = Recorder(whoami_ok)
    client_with(adapter).get(WHOAMI)
    assert adapter.sent[0][1]["verify"] in (True, str(bundle))


def test_discovery_goes_to_the_default_host_over_https_with_verification() -> None:
    adapter = Recorder(whoami_ok)
    client = client_with(adapter, api_host=None)
    client.get("LeadManagement.svc/Leads.Get")
    urls = [request.url for request, _ in adapter.sent]
    assert urls[0].startswith("https://api.leadsquared.com/v2/" + WHOAMI)
    assert urls[1].startswith(f"https://{REAL}/v2/LeadManagement.svc/Leads.Get")
    assert all(verifies(kwargs["verify"]) for _, kwargs in adapter.sent)


# ---------------------------------------------------------------- the host allowlist

BYPASSES = [
    "https://api-in21.leadsquared.com@evil.io",
    "https://api-in21.leadsquared.com:443@evil.io",
    "https://user:pass@api-in21.leadsquared.com",
    "https://evil.io#@api-in21.leadsquared.com",
    "https://evil.io?@api-in21.leadsquared.com",
    "https://evil.io\\@api-in21.leadsquared.com",
    "https://api-in21.leadsquared.com\\@evil.io",
    "https://api-in21.leadsquared.com\\.evil.io",
    "https://api-in21.leadsquared.com%2f@evil.io",
    "https://api-in21.leadsquared.com%40evil.io",
    "https://api-in21.leadsquared.com:8443",
    "https://api-in21.leadsquared.com:443",
    "https://api-in21.leadsquared.com:0",
    "https://api-in21.leadsquared.com:99999",
    "api-in21.leadsquared.com:443",
    "api-in21.leadsquared.com.evil.io",
    "https://api-in21.leadsquared.com.evil.io",
    "api-in21-leadsquared.com",
    "api-in21.leadsquared.co",
    "api-in21.leadsquared.com.",
    "https://api-in21.leadsquared.com./",
    "xn--api-in21-leadsquared-com.evil.io",
    "xn--pi-in21-8ve.leadsquared.com",
    "\u0430pi-in21.leadsquared.com",  # Cyrillic a
    "api-in21.leadsqu\u0430red.com",  # Cyrillic a
    "api-in21.leadsquared.com\u200b",
    "api-in21.lead\u00adsquared.com",
    "api-in21\uff0eleadsquared\uff0ecom",  # fullwidth dots
    "api-in21%2eleadsquared.com",
    "api%2Din21.leadsquared.com",
    "api-in21.leadsquared.com%00.evil.io",
    "api-in21.leadsquared.com\x00",
    "api-in21.leadsquared.com/evil",
    "api-in21.leadsquared.com evil.io",
    "api-in21.leadsquared.com\tevil.io",
    "api-in21.leadsquared.com\nHost: evil.io",
    "http://api-in21.leadsquared.com",
    "HTTP://API-IN21.LEADSQUARED.COM",
    "ftp://api-in21.leadsquared.com",
    "//api-in21.leadsquared.com",
    "https:api-in21.leadsquared.com",
    "https:/api-in21.leadsquared.com",
    "https:///api-in21.leadsquared.com",
    "https://api-in21.leadsquared.com/v2/../../evil",
    "https://api-in21.leadsquared.com/v3",
    "https://api-in21.leadsquared.com?x=1",
    "https://api-in21.leadsquared.com#x",
    "https://[api-in21.leadsquared.com]",
    "https://13.234.1.1",
    "13.234.1.1",
    "https://[2001:db8::1]",
    "[2001:db8::1]",
    "0x7f000001",
    "https://0x7f000001",
    "2130706433",
    "https://2130706433",
    "http://169.254.169.254",
    "http://10.0.0.1",
    "http://0.0.0.0:8765",
    "http://127.0.0.1.evil.io",
    "http://localhost.evil.io",
    "http://localhost@evil.io",
    "http://127.0.0.1@evil.io",
    "http://evil.io@127.0.0.1",
    "http://127.0.0.1\\@evil.io",
    "http://127.0.0.1:80\\@evil.io",
    "http://localhost/v2/../@evil.io",
    "https://localhost:99999",
    "",
    "   ",
    "\\\\evil.io",
    "https://\\\\evil.io",
]


def final_target(api_host: str | None, base_url: str | None) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) that requests/urllib3 would connect to for a client call."""
    connection = Connection(ACCESS, SECRET, api_host=api_host, base_url=base_url)
    root = connection.root_url or "https://api.leadsquared.com"
    prepared = requests.Request("GET", f"{root}/v2/{WHOAMI}").prepare()
    url = parse_url(prepared.url)
    return url.scheme or "", url.host, url.port


def assert_safe(value: str) -> None:
    """``value`` is refused with ConfigurationError, or it targets an allowed place."""
    try:
        api_host, base_url = parse_api_host(value)
    except ConfigurationError as problem:
        assert "evil" not in (problem.hint or "")
        return
    scheme, host, port = final_target(api_host, base_url)
    if base_url is None:
        assert api_host in REGIONAL_HOSTS
        assert (scheme, host, port) == ("https", api_host, None)
    else:
        assert host is not None and is_loopback(host), (value, host)
        assert scheme in {"http", "https"}


@pytest.mark.parametrize("value", BYPASSES, ids=range(len(BYPASSES)))
def test_crafted_host_values_cannot_leave_the_allowlist(value: str) -> None:
    assert_safe(value)


@pytest.mark.parametrize(
    "value",
    [v for v in BYPASSES if "evil" in v or v.startswith(("http://1", "http://0", "https://1"))],
)
def test_crafted_hosts_naming_another_host_are_refused(value: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_api_host(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("API-IN21.LEADSQUARED.COM", (REAL, None)),
        ("  api-in21.leadsquared.com  ", (REAL, None)),
        ("https://api-in21.leadsquared.com/", (REAL, None)),
        ("https://api-in21.leadsquared.com/v2", (REAL, None)),
        ("http://127.0.0.1:8765", (None, "http://127.0.0.1:8765")),
        ("http://localhost:8765/", (None, "http://localhost:8765")),
    ],
)
def test_the_honest_spellings_are_accepted(value: str, expected: tuple) -> None:
    assert parse_api_host(value) == expected


HOST_PIECES = st.sampled_from(
    [*REGIONAL_HOSTS, "evil.io", "127.0.0.1", "localhost", "[::1]", "leadsquared.com", "10.0.0.1",
     "api-in21.leadsquared.com.evil.io", "xn--80ak6aa92e.com", "0x7f.1", ""]
)
JOINERS = st.sampled_from(["", "@", ":", ".", "\\", "/", "%40", "%2e", "#", "?", " ", "\t", "\n",
                           "\x00", ":443", ":8765", ":@", "[", "]", "\u3002", "\uff0e"])
SCHEMES = st.sampled_from(["", "https://", "http://", "HTTPS://", "//", "https:", "ws://",
                           "https://user:pw@", "http://x@"])
CRAFTED = st.builds(
    lambda scheme, a, j1, b, j2, tail: f"{scheme}{a}{j1}{b}{j2}{tail}",
    SCHEMES, HOST_PIECES, JOINERS, HOST_PIECES, JOINERS, st.sampled_from(["", "/", "/v2", "/x"]),
)


@given(value=st.one_of(CRAFTED, st.text(max_size=60),
                       st.text(alphabet="api-n21.ledsquarcom:/@\\%[]?#0127xhts ", max_size=50)))
def test_generated_host_strings_never_reach_another_host(value: str) -> None:
    assert_safe(value)


@given(name=st.one_of(CRAFTED, st.text(max_size=60)))
def test_check_host_name_only_returns_allowlisted_hosts(name: str) -> None:
    try:
        host = check_host_name(name)
    except ConfigurationError:
        return
    assert host in REGIONAL_HOSTS


@given(value=st.one_of(CRAFTED, st.text(max_size=40)))
def test_base_url_only_accepts_loopback(value: str) -> None:
    try:
        connection = Connection(ACCESS, SECRET, base_url=value)
    except ConfigurationError:
        return
    prepared = requests.Request("GET", f"{connection.root_url}/v2/{WHOAMI}").prepare()
    assert is_loopback(parse_url(prepared.url).host or "")


@given(value=st.one_of(CRAFTED, st.text(max_size=40)))
def test_connection_files_and_environment_hold_the_same_line(value: str) -> None:
    try:
        connection = load_connection(
            None, {"LSQ_ACCESS_KEY": ACCESS, "LSQ_SECRET_KEY": SECRET, "LSQ_API_HOST": value}
        )
    except ConnectorError:
        return
    assert connection is not None
    if connection.base_url is None:
        assert connection.api_host in (None, *REGIONAL_HOSTS)
    else:
        assert is_loopback(parse_url(connection.base_url).host or "")


@pytest.mark.parametrize(
    "reported",
    ["evil.io", "api-in21.leadsquared.com.evil.io", "https://evil.io", "127.0.0.1",
     "api-in21.leadsquared.com@evil.io", "", None, 42, ["api-in21.leadsquared.com"]],
)
def test_a_discovered_host_outside_the_allowlist_is_refused(reported: Any) -> None:
    adapter = Recorder(lambda r: (200, {"LSQCommonServiceURLs": {"api": reported}}, {}))
    client = client_with(adapter, api_host=None)
    with pytest.raises(ConfigurationError):
        client.get("LeadManagement.svc/Leads.Get")
    assert [parse_url(r.url).host for r, _ in adapter.sent] == ["api.leadsquared.com"]


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_the_api_is_refused_not_followed(status: int) -> None:
    adapter = Recorder(lambda r: (status, None, {"Location": "https://evil.io/steal"}))
    client = client_with(adapter)
    with pytest.raises(PermanentApiError) as raised:
        client.post("LeadManagement.svc/Lead.Create", [{"Attribute": "A", "Value": "b"}],
                    creates=True)
    assert len(adapter.sent) == 1
    assert parse_url(adapter.sent[0][0].url).host == REAL
    assert "redirect" in str(raised.value)
    assert "evil" not in str(raised.value)


class _Server:
    """A loopback HTTP server running ``app``; records every request it gets."""

    def __init__(self, app: Callable[[Request], Response]) -> None:
        self.requests: list[dict[str, Any]] = []

        @Request.application
        def wsgi(request: Request) -> Response:
            self.requests.append({"path": request.path, "headers": dict(request.headers)})
            return app(request)

        self.server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def redirect_pair() -> Iterator[tuple[_Server, _Server]]:
    target = _Server(lambda request: Response(json.dumps({"Status": "Success"}),
                                              content_type="application/json"))
    redirector = _Server(lambda request: Response(
        "", status=307, headers={"Location": f"{target.url}/v2/steal"}))
    try:
        yield redirector, target
    finally:
        redirector.stop()
        target.stop()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_real_redirect_over_http_is_never_followed(
    redirect_pair: tuple[_Server, _Server], method: str
) -> None:
    redirector, target = redirect_pair
    client = LeadSquaredClient(
        Connection(ACCESS, SECRET, api_host=REAL, base_url=redirector.url, rate_limit=10**6),
        sleep=lambda _s: None,
    )
    with client, pytest.raises(PermanentApiError):
        if method == "GET":
            client.get(WHOAMI)
        else:
            client.post("LeadManagement.svc/Lead.Create", [], creates=True)
    assert len(redirector.requests) == 1
    assert redirector.requests[0]["headers"]["X-Lsq-Accesskey"] == ACCESS  # the sandbox got it
    assert target.requests == []  # the redirect target never saw a request, let alone a key


def test_a_deeply_nested_api_answer_is_an_api_error_not_a_crash() -> None:
    adapter = Recorder(whoami_ok)
    adapter.answer = lambda r: (200, None, {})
    original = adapter.send

    def send(request, **kwargs):  # type: ignore[no-untyped-def]
        response = original(request, **kwargs)
        response._content = b"[" * 100_000
        return response

    adapter.send = send  # type: ignore[method-assign]
    with pytest.raises(ConnectorError):
        client_with(adapter).get(WHOAMI)
