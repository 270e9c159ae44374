"""The client's hand-written fast paths give exactly what the library calls they replace give.

- ``_urlencode(query)`` is ``urlencode(query, doseq=True)``, byte for byte (or the same error);
- ``_decode`` (orjson first where it agrees) gives what ``json.loads`` of the UTF-8 text, with
  invalid bytes replaced, gives: the same value, ``None`` for an empty body, or ``_NOT_JSON``;
- the per-call request is a real ``PreparedRequest`` that never changes its template;
- an operation name, once accepted, skips the regex; invalid names are still refused.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.api import client as client_module
from runtime.api import retry
from runtime.api.client import _NOT_JSON, LeadSquaredClient, _decode, _urlencode
from runtime.errors import ConfigurationError
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.runtime.test_client_templates import BY_EMAIL, UPDATE, make_client

FAST = settings(max_examples=400, deadline=None, derandomize=True)

# Every code point, lone surrogates included (hypothesis leaves them out of text() by default).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
ASCII_TEXT = st.text(st.characters(max_codepoint=127), max_size=30)
QUERY_TEXT = st.one_of(ANY_TEXT, ASCII_TEXT)


def outcome(function: Any, *args: Any) -> tuple[str, Any]:
    """("ok", result) or ("error", (type, message)): an error must be the same error too."""
    try:
        return "ok", function(*args)
    except Exception as error:  # compared, not swallowed
        return "error", (type(error), str(error))


# -- query encoding ---------------------------------------------------------------------------

@FAST
@given(st.dictionaries(QUERY_TEXT, st.one_of(QUERY_TEXT, st.lists(QUERY_TEXT, max_size=3)),
                       max_size=4))
def test_query_encoding_is_urlencodes_for_any_text(query: dict[str, Any]) -> None:
    assert outcome(_urlencode, query) == outcome(urlencode, query, True)


@FAST
@given(st.dictionaries(
    st.one_of(QUERY_TEXT, st.integers(), st.binary(max_size=5)),
    st.one_of(QUERY_TEXT, st.integers(), st.none(), st.binary(max_size=5),
              st.lists(st.one_of(QUERY_TEXT, st.integers()), max_size=3),
              st.tuples(QUERY_TEXT)),
    max_size=4))
def test_query_encoding_of_other_values_is_urlencodes(query: dict[Any, Any]) -> None:
    assert outcome(_urlencode, query) == outcome(urlencode, query, True)


@pytest.mark.parametrize("query", [
    {"emailaddress": "priya.sharma@example.com"},
    {"q": "a b+c&d=e/f?g#h%i~j-k_l.m"},
    {"name": "zoë 😀"},
    {"e": ""},
    {"list": ["a b", "c&d", ""], "empty": []},
    {"ünï code": "x"},
    {"bad": "\ud800"},  # a lone surrogate: the same UnicodeEncodeError
    {"n": 5, "s": "x y"},
])
def test_query_encoding_table(query: dict[str, Any]) -> None:
    assert outcome(_urlencode, query) == outcome(urlencode, query, True)


# -- JSON answers -----------------------------------------------------------------------------

def reference(raw: bytes) -> tuple[Any, str]:
    """The decoding before orjson: json.loads of the replaced UTF-8 text."""
    text = raw.decode("utf-8", errors="replace")
    if not raw.strip():
        return None, ""
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):
        return _NOT_JSON, text


def response(raw: bytes, status: int = 200) -> requests.Response:
    answer = requests.Response()
    answer._content = raw
    answer.status_code = status
    return answer


def same(left: Any, right: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0), NaN equal to NaN, -0.0 not
    0.0 (a stack, not recursion: some cases nest 1,000 levels)."""
    pending = [(left, right)]
    while pending:
        one, other = pending.pop()
        if type(one) is not type(other):
            return False
        if isinstance(one, float):
            if not ((math.isnan(one) and math.isnan(other)) or (
                    one == other and math.copysign(1, one) == math.copysign(1, other))):
                return False
        elif isinstance(one, dict):
            if list(one) != list(other):
                return False
            pending.extend((one[key], other[key]) for key in one)
        elif isinstance(one, list):
            if len(one) != len(other):
                return False
            pending.extend(zip(one, other, strict=True))
        elif one != other:
            return False
    return True


def assert_decodes_as_before(raw: bytes) -> None:
    """The same value as before; the same text for an error answer, none for a success (which
    classify_response never reads: test_success_text_is_never_read)."""
    want = reference(raw)
    for status, text in ((200, ""), (204, ""), (500, want[1]), (429, want[1]), (302, want[1])):
        got = _decode(response(raw, status))
        assert got[1] == text
        if want[0] is _NOT_JSON:
            assert got[0] is _NOT_JSON
        else:
            assert same(got[0], want[0])


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


DECODE_CASES = {
    "lead": json.dumps([{"ProspectID": "p-1", "FirstName": "Zoë", "Score": 62.5}]).encode(),
    "empty": b"",
    "blank": b" \r\n\t",
    "null": b"null",
    "nan": b"NaN",
    "infinities": b"[Infinity, -Infinity]",
    "beyond-a-float": b"[1e400, -1e400, 1.7976931348623159e308]",
    "tiny-float": b"[1e-400, 5e-324, -0.0, 0.1, 0.30000000000000004]",
    "u64-max": b"18446744073709551615",
    "beyond-64-bits": b"18446744073709551616",
    "i64-min": b"-9223372036854775808",
    "below-i64": b"-9223372036854775809",
    "huge-int": b'{"Id": 123456789012345678901234567890}',
    "long-digits-in-a-string": b'["1234567890123456789012", 12]',
    "lone-high-surrogate": b'"\\ud800"',
    "lone-low-surrogate": b'{"a": "x\\udc00y"}',
    "surrogate-pair": b'"\\ud83d\\ude00"',
    "invalid-utf8": b'{"Name": "\xff\xfe"}',
    "encoded-surrogate": b'"\xed\xa0\x80"',
    "overlong-utf8": b'"\xc0\x80"',
    "beyond-unicode": b'"\xf4\x90\x80\x80"',
    "bom": b"\xef\xbb\xbf{}",
    "control-character": b'"a\x01b"',
    "duplicate-keys": b'{"a": 1, "b": 2, "a": 3}',
    "trailing-garbage": b"[1] x",
    "trailing-comma": b"[1,]",
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "nul": b"\x00",
    "depth-500": nested(500),
    "depth-1000": nested(1000),
    "depth-1024": nested(1024),
    "depth-1025": nested(1025),
    "objects-1020": b'{"a":' * 1020 + b"1" + b"}" * 1020,
    "brackets-100k": b"[" * 100_000,
    "closed-100k": nested(100_000),
    "many-shallow": json.dumps([{"Attribute": "A", "Value": str(n)} for n in range(600)]).encode(),
}


@pytest.mark.parametrize("raw", DECODE_CASES.values(), ids=DECODE_CASES.keys())
def test_decoding_table(raw: bytes) -> None:
    assert_decodes_as_before(raw)


def test_decoding_hostile_nesting_is_not_json() -> None:
    for raw in (nested(100_000), b"[" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        assert _decode(response(raw))[0] is _NOT_JSON


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)


@FAST
@given(JSON_VALUES, st.booleans())
def test_decoding_any_json_as_before(value: Any, ensure_ascii: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", errors="surrogatepass")
    assert_decodes_as_before(raw)


@FAST
@given(st.binary(max_size=40) | st.builds(
    lambda parts: b"".join(parts),
    st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"a"', b":", b",", b"1", b"-", b"e",
                              b"9" * 19, b".", b"\\u", b"d800", b'"', b"\xff", b" ", b"null",
                              b"NaN", b"Infinity"]), max_size=30)))
def test_decoding_any_bytes_as_before(raw: bytes) -> None:
    assert_decodes_as_before(raw)


ERROR_BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({}, optional={
        "Status": st.sampled_from(["Error", "Success", "error"]),
        "ExceptionType": st.sampled_from(["MXInvalidEntityException", "MXDuplicateEntryException",
                                          "Exception", "", "MX"]),
        "ExceptionMessage": st.one_of(ANY_TEXT, st.just("exceeded the limit of calls")),
        "Message": st.one_of(ANY_TEXT, st.just({"Id": "x"})),
    }),
    st.just(_NOT_JSON),
)


@FAST
@given(st.integers(200, 299), ERROR_BODIES,
       st.one_of(ANY_TEXT, st.just("API calls exceeded the limit")))
def test_success_text_is_never_read(status: int, body: Any, text: str) -> None:
    """_decode gives no text for a 2xx answer: classify_response must not need it."""
    assert retry.classify_response(status, body, text) == retry.classify_response(status, body, "")


# -- the per-call request and operation names --------------------------------------------------



def test_requests_are_prepared_requests_that_leave_their_template_alone() -> None:
    client = make_client(FakeLeadSquared())
    root = "https://api-in21.leadsquared.com/v2/"
    first = client._prepared("GET", root + BY_EMAIL, {"emailaddress": "a@x.com"}, None)
    second = client._prepared("GET", root + BY_EMAIL, {"emailaddress": "b@x.com"}, None)
    posted = client._prepared("POST", root + UPDATE, {"leadId": "p"}, b"[1]")
    empty = client._prepared("POST", root + UPDATE, {}, None)
    for prepared in (first, second, posted, empty):
        assert type(prepared) is requests.PreparedRequest
        assert prepared.copy().url == prepared.url  # requests' own operations still work
    assert first.url == root + BY_EMAIL + "?emailaddress=a%40x.com"
    assert second.url == root + BY_EMAIL + "?emailaddress=b%40x.com"
    assert (posted.body, posted.headers["Content-Length"]) == (b"[1]", "3")
    assert (empty.body, empty.headers["Content-Length"]) == (None, "0")
    assert posted.url == root + UPDATE + "?leadId=p"
    for (method, url, _), template in client._templates.items():
        assert template.url == url and template.body is None
        # as requests prepared it: no body, so none for a GET and "0" for a POST
        assert template.headers.get("Content-Length") == (None if method == "GET" else "0")
    assert "Content-Length" not in first.headers


def test_headers_are_shared_only_behind_requests_own_adapter() -> None:
    """Behind requests' HTTPAdapter (the client's own session) a GET shares its template's
    headers; behind any other adapter (here a fake) every request has its own."""
    url = "https://api-in21.leadsquared.com/v2/" + BY_EMAIL
    own = LeadSquaredClient(fake_connection())
    faked = make_client(FakeLeadSquared())
    assert own._share_headers and not faked._share_headers
    for client, shared in ((own, True), (faked, False)):
        prepared = client._prepared("GET", url, {"emailaddress": "a@x.com"}, None)
        (template,) = client._templates.values()
        assert (prepared.headers is template.headers) is shared
        assert dict(prepared.headers) == dict(template.headers)
        posted = client._prepared("POST", url, {}, b"{}")
        assert posted.headers is not client._templates["POST", url, None].headers
    own.close()


def test_operation_names_are_checked_once_and_invalid_ones_always(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "_OPERATION_NAMES", set())
    monkeypatch.setattr(client_module, "MAX_OPERATION_NAMES", 3)
    fake = FakeLeadSquared()
    names = [f"LeadManagement.svc/Op{number}" for number in range(5)]
    for name in names + names:
        fake.add("GET", name, ok([]))
    with fake:
        client = make_client(fake)
        for name in names + names:
            client.get(name)
            assert len(client_module._OPERATION_NAMES) <= 3
            for bad in ("Lead.Create", f"{name}?accessKey=x", "", None, ["x"]):
                with pytest.raises(ConfigurationError, match="not a LeadSquared operation"):
                    client.get(bad)  # type: ignore[arg-type]

    class Named(str):
        pass

    with pytest.raises(ConfigurationError):
        client.get(Named("Lead.Create"))
