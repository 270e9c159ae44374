"""LeadSquaredClient: the only code that talks HTTP to LeadSquared (or the local sandbox).

It owns the host, the key headers, JSON/UTF-8 encoding, pacing (:mod:`.governor`), retries
and error translation (:mod:`.retry`), and secret redaction (:mod:`.redaction`). Handlers
call :meth:`LeadSquaredClient.get` / :meth:`LeadSquaredClient.post` with an operation name
such as ``"LeadManagement.svc/Lead.Create"`` and get the parsed JSON back, or an
:class:`~runtime.errors.ApiError` whose message names the operation, never the URL.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson
import requests
from requests.adapters import HTTPAdapter

from runtime.api import retry
from runtime.api.account import (
    IDENTITIES,
    WHOAMI,
    AccountIdentity,
    connection_fingerprint,
    identity_from,
)
from runtime.api.connection import Connection
from runtime.api.governor import GOVERNORS, RateBudget
from runtime.api.hosts import DISCOVERY_HOST
from runtime.api.lsq_format import format_datetime, to_value
from runtime.api.metadata import AccountMetadata
from runtime.api.redaction import Redactor, install
from runtime.api.retry import Outcome, RetryPolicy, Verdict
from runtime.errors import (
    AmbiguousWriteError,
    ApiError,
    AuthError,
    ConfigurationError,
    InputValidationError,
    NotFoundError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
)
from runtime.observe.events import BUS, ApiCall
from runtime.text import json_text

USER_AGENT = "leadsquared-connector/0.1"
CONNECT_TIMEOUT = 10.0
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_TEMPLATES = 256  # prepared requests kept per client (one per method and endpoint)
OPERATION_NAME = re.compile(r"^[A-Za-z]+\.svc/[A-Za-z0-9_.]+(?:/[A-Za-z0-9_.]+)*$")
MAX_OPERATION_NAMES = 1024  # names already checked against OPERATION_NAME, kept per process

ERROR_CLASSES: dict[Outcome, type[ApiError]] = {
    Outcome.PERMANENT: PermanentApiError,
    Outcome.REDIRECT: PermanentApiError,
    Outcome.AUTH: AuthError,
    Outcome.NOT_FOUND: NotFoundError,
    Outcome.RATE_LIMITED: RateLimitedError,
    Outcome.TRANSIENT: TransientApiError,
}
AUTH_HINT = "check access_key and secret_key (My Account > Settings > API and Webhooks)"
AMBIGUOUS = "the record may already exist in LeadSquared; check before retrying"

log = logging.getLogger(__name__)


class LeadSquaredClient:
    """One account's API client: ``get``/``post`` an operation, get JSON or an ApiError."""

    def __init__(
        self,
        connection: Connection,
        *,
        session: requests.Session | None = None,
        governor: RateBudget | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.connection = connection
        self.redactor = Redactor([connection.access_key, connection.secret_key])
        install(log, self.redactor)
        self.retry_policy = retry_policy or RetryPolicy()
        self.governor = governor or GOVERNORS.get(
            connection.root_url or f"discover:{DISCOVERY_HOST}",
            connection.access_key,
            connection.rate_limit,
            connection.bulk_rate_limit,
        )
        self._session = session or _new_session()
        self._owns_session = session is None
        # Requests share their template's headers (see _light_copy) only behind requests' own
        # HTTPAdapter, which never changes them; another adapter (a test's fake, a subclass
        # with its own add_headers) gets a copy per request.
        self._share_headers = all(
            type(adapter) is HTTPAdapter for adapter in self._session.adapters.values()
        )
        self._sleep, self._clock = sleep, clock
        self._rng = rng or random.Random()
        self._api_host = connection.api_host
        self._root = connection.root_url
        self._discover_lock = threading.Lock()
        self._settings: dict[str, dict[str, Any]] = {}
        self._session_headers = dict(self._session.headers)  # kept on every request
        self._templates: dict[tuple[str, str, str | None], requests.PreparedRequest] = {}
        self._timeout = (min(CONNECT_TIMEOUT, connection.timeout), connection.timeout)
        self._fingerprint = connection_fingerprint(
            connection.root_url or f"discover:{DISCOVERY_HOST}",
            connection.access_key, connection.secret_key,
        )
        self.metadata = AccountMetadata(self)

    def __repr__(self) -> str:
        return f"LeadSquaredClient({self.connection!r})"

    @property
    def api_host(self) -> str | None:
        """The regional API host in use (discovered on the first call when not configured)."""
        return self._api_host

    def account(self) -> AccountIdentity:
        """The account and user behind this connection (org id, API host, user).

        Asked with UserByAccessKey.Get once per connection identity (endpoint and key pair)
        in this process: every client of the same connection shares the answer.
        """
        return IDENTITIES.get(self._fingerprint, self._fetch_identity)

    def get(
        self,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        bulk: bool = False,
        creates: bool = False,
    ) -> Any:
        """GET ``operation`` with query ``params``; returns the parsed JSON answer.

        ``creates=True`` for a GET that is not known to be safe to repeat (api_call's writes):
        it is never resent once it may have reached LeadSquared.
        """
        return self._call("GET", operation, params, None, bulk=bulk, creates=creates)

    def post(
        self,
        operation: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        bulk: bool = False,
        creates: bool = False,
    ) -> Any:
        """POST ``body`` as UTF-8 JSON; ``creates=True`` for non-idempotent writes."""
        return self._call("POST", operation, params, body, bulk=bulk, creates=creates)

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> LeadSquaredClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one call, with retries ------------------------------------------------------------

    def _call(
        self,
        method: str,
        operation: str,
        params: Mapping[str, Any] | None,
        body: Any,
        *,
        bulk: bool,
        creates: bool,
        root: str | None = None,
    ) -> Any:
        if type(operation) is not str or operation not in _OPERATION_NAMES:
            _check_operation_name(operation)
        root = root or self._root_url()
        payload = _encode(body, operation) if method == "POST" and body is not None else None
        query = _query(params)
        policy = self.retry_policy
        deadline = self._clock() + policy.max_total_wait
        waited, attempt = 0.0, 0
        while True:
            verdict, value = self._attempt(method, root, operation, query, payload, bulk=bulk)
            if verdict is None:
                return value
            if verdict.outcome is Outcome.AUTH:
                raise self._auth_error(operation, verdict, root)
            if not verdict.outcome.retriable:
                raise self._error(verdict, operation)
            if creates and not verdict.safe_for_creates:
                raise self._error(verdict, operation, cls=AmbiguousWriteError, extra=AMBIGUOUS)
            delay = policy.delay(verdict.outcome, attempt, self._rng)
            if verdict.outcome is Outcome.RATE_LIMITED:
                self.governor.pause(delay)  # every caller of the account, in every process
            if self._clock() + delay > deadline:
                extra = f"gave up after {attempt + 1} attempts and {waited:.0f} s of waiting"
                raise self._error(verdict, operation, extra=extra)
            log.warning(
                "%s: %s; retrying in %.1f s (attempt %d)",
                operation, self.redactor.text(verdict.message), delay, attempt + 2,
            )
            self._sleep(delay)
            waited += delay
            attempt += 1

    def _attempt(
        self,
        method: str,
        root: str,
        operation: str,
        query: dict[str, Any],
        payload: bytes | None,
        *,
        bulk: bool,
    ) -> tuple[Verdict | None, Any]:
        """Send once (holding a governor slot); returns (failure verdict or None, JSON)."""
        settings = self._send_settings(root)
        debug = log.isEnabledFor(logging.DEBUG)  # once: two log.debug calls cost 0.5 us
        with self.governor.slot(bulk=bulk):
            started = time.monotonic()  # the latency, without the governor's wait
            try:
                prepared = self._prepared(method, f"{root}/v2/{operation}", query, payload)
                response = self._session.send(prepared, **settings)
            except requests.RequestException as error:
                if debug:
                    log.debug("%s %s failed: %s", method, operation, type(error).__name__)
                if BUS.listeners:
                    status = "timeout" if isinstance(error, requests.Timeout) else "network"
                    BUS.emit(ApiCall(operation, status, time.monotonic() - started))
                verdict = retry.classify_exception(error, root)
                unknown = Verdict(Outcome.PERMANENT, f"request failed ({type(error).__name__})")
                return verdict or unknown, None
        elapsed = time.monotonic() - started
        if debug:
            log.debug("%s %s -> %s in %.3f s", method, operation, response.status_code, elapsed)
        body, text = _decode(response)
        verdict = retry.classify_response(response.status_code, body, text)
        if BUS.listeners:
            limited = verdict is not None and verdict.outcome is Outcome.RATE_LIMITED
            BUS.emit(ApiCall(operation, str(response.status_code), elapsed, limited))
        if verdict is None and body is _NOT_JSON:
            rule = retry.INVALID_JSON_RULE
            return Verdict(rule.outcome, rule.message, status=response.status_code), None
        return verdict, body

    def _prepared(
        self, method: str, url: str, query: dict[str, Any], payload: bytes | None
    ) -> requests.PreparedRequest:
        """The request to send: this endpoint's prepared template, with its query and body.

        The template is prepared once per method, endpoint and Host with requests' own
        ``Request(...).prepare()`` (header checks, URL parsing, an empty cookie jar, hooks);
        each call takes a copy and sets ``url`` (with the query encoded as requests encodes
        it) and ``body`` with its Content-Length, as requests' "Prepared Requests"
        documentation does. Measured (bench/BENCHMARKS.md): preparing every call with
        ``Session.prepare_request`` costs about 80 us (a ~/.netrc look-up, the URL parsed and
        re-quoted, cookies merged). No ~/.netrc or session cookie is ever applied: LeadSquared
        uses neither HTTP auth nor cookies.

        The copy is :func:`_light_copy`, not ``PreparedRequest.copy()`` (4.2 us: it rebuilds
        the CaseInsensitiveDict of headers through ``MutableMapping.update`` and copies two
        cookie jars); see there why sharing the template's parts is safe.
        """
        host = self._api_host if self.connection.base_url else None
        key = (method, url, host)
        template = self._templates.get(key)
        if template is None:
            headers = {
                **self._session_headers,
                "x-LSQ-AccessKey": self.connection.access_key,
                "x-LSQ-SecretKey": self.connection.secret_key,
                "Accept": "application/json",
            }
            if method == "POST":
                headers["Content-Type"] = JSON_CONTENT_TYPE
            if host:
                headers["Host"] = host  # lets the sandbox emulate the regional host
            template = requests.Request(method, url, headers=headers).prepare()
            if len(self._templates) >= MAX_TEMPLATES:  # api_call may name many operations
                self._templates.clear()
            self._templates[key] = template
        prepared = _light_copy(template)
        if query:
            prepared.url = f"{template.url}?{_urlencode(query)}"
        post = payload is not None or method == "POST"
        if post or not self._share_headers:
            prepared.headers = template.headers.copy()  # its own: Content-Length differs
        if post:
            prepared.body = payload
            prepared.headers["Content-Length"] = str(len(payload or b""))
        return prepared

    def _send_settings(self, root: str) -> dict[str, Any]:
        """``Session.send``'s keyword arguments for ``root``: the timeouts, no redirects, and
        proxies and CA bundle from the environment, read once per host rather than on every
        request (requests re-reads the whole environment per call otherwise). Verification is
        always on: ``verify`` is True or a CA bundle path (REQUESTS_CA_BUNDLE), never False."""
        settings = self._settings.get(root)
        if settings is None:
            settings = self._session.merge_environment_settings(root, {}, False, True, None)
            if settings.get("verify") is not True and not (
                isinstance(settings.get("verify"), str) and settings["verify"]
            ):
                settings["verify"] = True
            settings.update(timeout=self._timeout, allow_redirects=False)
            self._settings[root] = settings
        return settings

    # -- errors ----------------------------------------------------------------------------

    def _error(
        self,
        verdict: Verdict,
        operation: str,
        *,
        cls: type[ApiError] | None = None,
        extra: str | None = None,
    ) -> ApiError:
        message = f"{verdict.message}; {extra}" if extra else verdict.message
        hint = retry.operation_hint(operation, verdict.exception_type) or verdict.hint
        hint = self.redactor.text(hint) if hint else None
        return (cls or ERROR_CLASSES[verdict.outcome])(
            self.redactor.text(message),
            operation=operation,
            status=verdict.status,
            exception_type=verdict.exception_type,
            hint=hint,
        )

    def _auth_error(self, operation: str, verdict: Verdict, root: str) -> AuthError:
        """401: name the account's real host if UserByAccessKey.Get reports another one."""
        message, hint = retry.STATUS_POLICY[401].message, AUTH_HINT
        if operation != WHOAMI:
            actual = self._reported_host(root)
            if actual and actual != self._api_host:
                message = f"wrong API host: this account's host is {actual}; set api_host to it"
                hint = None
        return AuthError(
            self.redactor.text(message),
            operation=operation,
            status=verdict.status,
            exception_type=verdict.exception_type,
            hint=hint,
        )

    def _reported_host(self, root: str) -> str | None:
        """The API host UserByAccessKey.Get names (it answers on any host); None if unknown."""
        verdict, body = self._attempt("GET", root, WHOAMI, {}, None, bulk=False)
        if verdict is not None or not isinstance(body, dict):
            return None
        urls = body.get("LSQCommonServiceURLs")
        host = urls.get("api") if isinstance(urls, dict) else None
        return host.strip().lower() if isinstance(host, str) and host.strip() else None

    # -- host discovery --------------------------------------------------------------------

    def _root_url(self) -> str:
        """Where ``/v2/`` is: configured, or discovered once with UserByAccessKey.Get."""
        if self._root:
            return self._root
        with self._discover_lock:
            if not self._root:
                self._discover()
        assert self._root is not None
        return self._root

    def _discover(self) -> None:
        identity = self.account()
        self._api_host = identity.api_host
        self._root = f"https://{self._api_host}"
        log.info("discovered API host %s", self._api_host)

    def _fetch_identity(self) -> AccountIdentity:
        """UserByAccessKey.Get at the configured endpoint, else at the discovery host."""
        root = self._root or self.connection.root_url or f"https://{DISCOVERY_HOST}"
        answer = self._call("GET", WHOAMI, None, None, bulk=False, creates=False, root=root)
        return identity_from(answer)


_NOT_JSON = object()


def _new_session() -> requests.Session:
    """A pooled session; the client retries itself, so the adapter never does."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def _query(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query values as LeadSquared reads them (strings; ``None`` dropped)."""
    query: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if type(value) is str:  # to_value's answer, without the call and its field name
            query[name] = value  # (measured: 0.4 us -> 0.15 us for one parameter)
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            query[name] = [to_value(item, field=f"params.{name}") for item in value]
        else:
            query[name] = to_value(value, field=f"params.{name}")
    return query


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _encode(body: Any, operation: str) -> bytes:
    """UTF-8 JSON (LeadSquared rejects other encodings of non-ASCII text, reference §1.4).

    A lone surrogate (half an emoji, as LeadSquared itself may answer) goes out as its JSON
    escape ``\\udXXX``: the same value, in valid UTF-8.
    """
    try:
        text = json_text(body, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as problem:
        raise InputValidationError(
            f"{operation}: the request body cannot be sent as JSON",
            [f"body: a {problem} value is not JSON"],
        ) from None
    return text.encode("utf-8")


def _decode(response: requests.Response) -> tuple[Any, str]:
    """(parsed JSON, or None for an empty body, or _NOT_JSON; the text for error messages).

    The answer is parsed by ``json.loads`` of its UTF-8 text (invalid bytes replaced), with
    orjson first where orjson gives the same value (:func:`_orjson_agrees`): measured, 1.7 us
    instead of 5.0 us for a 1 KB lead. What orjson refuses (NaN and Infinity, numbers beyond
    a float, lone surrogate escapes, invalid UTF-8, nesting past 1,024 levels) goes to
    ``json.loads`` as before, so the answer, or _NOT_JSON, is the same either way.

    The text is that of an error answer: "" for a 2xx one, whose text
    ``retry.classify_response`` never reads (a test holds it to that), so a success is not
    decoded twice (in the benchmark's process, 2-4 us of the runtime's 40 us per call).
    """
    raw = response.content or b""
    if not raw.strip():
        return None, ""
    success = 200 <= response.status_code < 300
    if _orjson_agrees(raw):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json.loads decides (and parses what only it accepts)
        else:
            return body, "" if success else raw.decode("utf-8", errors="replace")
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text), "" if success else text
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return _NOT_JSON, "" if success else text


#: bytes.translate table for :func:`_orjson_agrees`: digits to "0", "[" and "{" to "[", every
#: other byte to a space.
_SHAPES = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x5B if byte in b"[{" else 0x20
                for byte in range(256))
_LONG_NUMBER = b"0" * 19  # the shortest integer beyond 64 bits: -9223372036854775809
MAX_ORJSON_DEPTH = 512


def _orjson_agrees(raw: bytes) -> bool:
    """Whether orjson can only give what ``json.loads`` gives for ``raw`` (or refuse it).

    orjson answers two kinds of JSON differently, so those stay with ``json.loads``:

    - integers beyond 64 bits, which orjson makes floats: a run of 19 digits anywhere, even
      in a string, is enough to go the slow way;
    - nesting between ``json.loads``' limit (the interpreter's recursion limit, about 1,000
      levels less the caller's stack) and orjson's 1,024, which ``json.loads`` reads as
      _NOT_JSON. An answer of up to 2 x :data:`MAX_ORJSON_DEPTH` bytes cannot nest deeper;
      a longer one goes the slow way if it holds more arrays and objects than that in all,
      however shallow.

    Measured: 1 us for a 1 KB answer (0.4 us more past 1 KB, for the count); a regex search
    for 19 digits took 9 us.
    """
    shapes = raw.translate(_SHAPES)
    if len(raw) > 2 * MAX_ORJSON_DEPTH and shapes.count(b"[") > MAX_ORJSON_DEPTH:
        return False
    return _LONG_NUMBER not in shapes


_OPERATION_NAMES: set[str] = set()  # every name OPERATION_NAME matched (set: 30 ns, regex 0.3 us)


def _check_operation_name(operation: Any) -> None:
    """ConfigurationError unless ``operation`` is a LeadSquared operation name; a valid name
    is remembered, so the next call of it skips the regex."""
    if not isinstance(operation, str) or not OPERATION_NAME.match(operation):
        raise ConfigurationError(
            f"'{operation}' is not a LeadSquared operation name (e.g. "
            "LeadManagement.svc/Lead.Create)"
        )
    if type(operation) is str:
        if len(_OPERATION_NAMES) >= MAX_OPERATION_NAMES:  # api_call may name many operations
            _OPERATION_NAMES.clear()
        _OPERATION_NAMES.add(operation)


def _light_copy(template: requests.PreparedRequest) -> requests.PreparedRequest:
    """A PreparedRequest with the template's attributes, sharing its headers, empty cookie
    jar and hooks (0.3 us; ``PreparedRequest.copy()`` takes 4.2 us).

    Sharing is safe because nothing on the way out changes them: ``Session.send`` only
    reads ``request.hooks`` and reads the headers (``extract_cookies_to_jar`` wraps the
    request in a ``MockRequest`` that keeps its own new headers); ``HTTPAdapter.send``
    reads them (its ``add_headers`` does nothing; headers are shared only behind it);
    urllib3's ``urlopen`` copies them before adding proxy headers or dropping headers on a
    redirect, and ``HTTPConnection.request`` only reads them; a redirect is never followed
    here, and ``resolve_redirects`` works on ``req.copy()`` anyway. The caller replaces
    ``url``, and ``headers`` itself before setting a Content-Length or when the session has
    another adapter than requests' own (``LeadSquaredClient._share_headers``).
    """
    prepared = _new_prepared(requests.PreparedRequest)
    prepared.__dict__ = template.__dict__.copy()
    return prepared


_new_prepared = object.__new__

#: quote_plus of one ASCII character, for each that quote_plus escapes (space is "+").
_ESCAPES = {chr(code): "+" if code == 0x20 else f"%{code:02X}" for code in range(128)
            if not (chr(code).isalnum() or chr(code) in "_.-~")}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-~]")


def _escape(match: re.Match[str]) -> str:
    return _ESCAPES[match[0]]


def _plus(text: str) -> str:
    """``quote_plus(text)``: an ASCII text by a regex of the characters it escapes (0.7 us
    for an e-mail address; ``quote_plus`` 2 us), any other text by ``quote_plus`` itself."""
    return _UNSAFE.sub(_escape, text) if text.isascii() else quote_plus(text)


_NAMES: dict[str, str] = {}  # _plus of query parameter names (the handlers' own few names)
MAX_NAMES = 256


def _urlencode(query: dict[str, Any]) -> str:
    """``urlencode(query, doseq=True)``, the same text (a property test compares them) in a
    third of the time: names and values that are strings, or lists of strings, as
    :func:`_query` makes them, go through :func:`_plus`; any other query through
    ``urlencode`` itself."""
    parts = []
    for name, value in query.items():
        if type(name) is not str:
            return urlencode(query, doseq=True)
        key = _NAMES.get(name)
        if key is None:
            if len(_NAMES) >= MAX_NAMES:  # api_call may name many parameters
                _NAMES.clear()
            key = _NAMES[name] = _plus(name)
        if type(value) is str:
            parts.append(f"{key}={_plus(value)}")
        elif type(value) is list and all(type(item) is str for item in value):
            parts.extend(f"{key}={_plus(item)}" for item in value)
        else:
            return urlencode(query, doseq=True)
    return "&".join(parts)
