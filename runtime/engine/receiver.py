"""The webhook receiver: a WSGI application that stores LeadSquared deliveries durably.

Routes (``HOOK_PATH_PREFIX`` + instance id, see :func:`hook_path`)::

    HEAD /hooks/<instance_id>   200, empty: LeadSquared's handshake (no secret, stores nothing)
    POST /hooks/<instance_id>   verify the secret header, read a bounded body, store, answer 200

A POST, in order: (1) the instance must have a subscription and the request must carry its
secret in ``SECRET_HEADER`` (``hmac.compare_digest``), else 401 and nothing is read or stored;
(2) the body is read with bounded memory (at most ``max_body_bytes``; a larger declared or
streamed body -> 413); (3) it is parsed by content type (JSON, form, or text holding JSON; a
JSON array = several events); (4) each event gets a key from the trigger's event-key function
(default: a hash of the canonical event) and the whole delivery is committed to the inbox,
duplicates dropped; (5) only then the answer: 200 ``{"Status":"Success"}``.

A verified delivery that cannot be parsed is kept as a ``failed`` inbox event (for
inspection) and answered 200 ``{"Status":"Error","StatusReason":...}``, as LeadSquared's
receiver contract asks. That includes a body beyond the parsing limits: JSON nested deeper
than ``MAX_BODY_DEPTH`` levels, or a JSON or form body with more than ``MAX_BODY_FIELDS``
fields (object members, array items or form fields, counted over the whole body). Text is
kept faithfully: a JSON ``"\\ud83d"`` (half an emoji) stays that value, and keys made from
it are stored with the surrogate escaped. Responses never contain a traceback; logs never
contain a header value or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.http import parse_options_header

from runtime.errors import StorageUnavailable
from runtime.observe.events import BUS, WebhookAnswered
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, is_instance_id, trigger_key_of
from runtime.text import json_text, storable_text

logger = logging.getLogger(__name__)

HOOK_PATH_PREFIX = "/hooks/"
SECRET_HEADER = "X-LSQ-Connector-Secret"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_BODY_DEPTH = 32
"""Deepest nesting of a JSON body (LeadSquared payloads nest two or three levels)."""
MAX_BODY_FIELDS = 10_000
"""Most fields in one body: object members plus array items (or form fields), all levels."""
_SECRET_ENVIRON = "HTTP_" + SECRET_HEADER.upper().replace("-", "_")
_READ_CHUNK = 64 * 1024
_UNKNOWN_SECRET = secrets.token_urlsafe(32)  # compared against for unknown instances

EventKeyFunction = Callable[[Mapping[str, Any]], str]
StartResponse = Callable[..., Any]


def hook_path(instance: str) -> str:
    """The receiver path for one trigger instance."""
    return f"{HOOK_PATH_PREFIX}{instance}"


def receiver_url(base_url: str, instance: str) -> str:
    """The full URL to register with LeadSquared: ``base_url`` + :func:`hook_path`."""
    return base_url.rstrip("/") + hook_path(instance)


def new_secret() -> str:
    """A fresh random secret for a new subscription (send it as a LeadSquared custom header)."""
    return secrets.token_urlsafe(32)


def secret_matches(expected: str, provided: str | None) -> bool:
    """Whether a delivery's ``SECRET_HEADER`` value is the subscription's secret (constant
    time; a missing or empty value never matches)."""
    if not provided or not expected:
        return False
    return hmac.compare_digest(
        provided.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
    )


def canonical_event_key(event: Mapping[str, Any]) -> str:
    """The default event key: a SHA-256 of the event's canonical JSON."""
    text = json_text(event, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Reply(Exception):
    """Internal: stop handling and answer with this status and LeadSquared-style body."""

    def __init__(self, status: int, reason: str | None = None) -> None:
        super().__init__(reason or "")
        self.status = status
        self.reason = reason


class MalformedBody(ValueError):
    """A verified delivery's body is not a JSON object/array or a form."""


class WebhookReceiver:
    """WSGI application: ``WebhookReceiver(store, event_keys={"new_lead": fn})``."""

    def __init__(
        self,
        store: StateStore,
        *,
        event_keys: Mapping[str, EventKeyFunction] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        inbox: Inbox | None = None,
    ) -> None:
        self.store = store
        self.inbox = inbox or Inbox(store)
        self.event_keys = dict(event_keys or {})
        self.max_body_bytes = max_body_bytes
        #: The last storage fault a delivery met (None once a delivery is stored again).
        self.storage_fault: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            status, reply = self._handle(method, environ)
        except _Reply as stop:
            status, reply = stop.status, _error_body(stop.reason)
        except StorageUnavailable as problem:
            # The delivery was not stored: a non-200 makes LeadSquared retry it.
            logger.warning("webhook delivery not stored: %s", problem)
            self.storage_fault = str(problem)
            status, reply = 503, _error_body("Temporarily unable to store the delivery")
        except Exception:
            logger.exception("webhook receiver failed")
            status, reply = 500, _error_body("Internal error")
        if BUS.listeners:
            BUS.emit(WebhookAnswered(status))
        body = b"" if method == "HEAD" or reply is None else json.dumps(reply).encode("utf-8")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 405:
            headers.append(("Allow", "HEAD, POST"))
        start_response(_STATUS_LINES[status], headers)
        return [body]

    # -- steps --------------------------------------------------------------------------------

    def _handle(self, method: str, environ: dict[str, Any]) -> tuple[int, dict[str, str] | None]:
        # SCRIPT_NAME too: mounted at /hooks by a front (runtime/web), the path arrives split
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        instance = path.removeprefix(HOOK_PATH_PREFIX).rstrip("/")
        if not path.startswith(HOOK_PATH_PREFIX) or not is_instance_id(instance):
            raise _Reply(404, "Not found")
        if method == "HEAD":
            return 200, None
        if method != "POST":
            raise _Reply(405, "Method not allowed")
        self._verify(instance, environ)
        raw = self._read_body(environ)
        if not raw.strip():
            # UNKNOWN in the reference: chosen: a verified POST without a body is a
            # verification ping (like the HEAD handshake): acknowledged, nothing stored.
            return 200, {"Status": "Success"}
        content_type = environ.get("CONTENT_TYPE") or None
        try:
            events = parse_events(raw, content_type)
        except MalformedBody as problem:
            key = "malformed:" + hashlib.sha256(raw).hexdigest()
            self.inbox.record_rejected(
                instance, key, str(problem), content_type=content_type, raw_body=raw
            )
            logger.warning("webhook %s: malformed body kept as failed (%s)", instance, problem)
            return 200, _error_body(str(problem))
        keyed = [(self._event_key(instance, event), event) for event in events]
        new = self.inbox.accept_delivery(instance, keyed, content_type=content_type, raw_body=raw)
        self.storage_fault = None
        logger.info(
            "webhook %s: %d event(s) stored, %d duplicate(s)",
            instance, sum(new), len(new) - sum(new),
        )
        return 200, {"Status": "Success"}

    def _verify(self, instance: str, environ: Mapping[str, Any]) -> None:
        # Fail closed with 401 for an unknown instance, a missing or a wrong secret alike (one
        # answer, one timing: no oracle for which instances exist). LeadSquared disables a
        # webhook after 10 consecutive non-200 answers; that is what we want for a hook whose
        # subscription we deleted or whose secret does not match, and a hook we created always
        # carries the right header. A forged request must not look accepted, and a non-200
        # shows up in LeadSquared's delivery history and failure e-mails.
        subscription = self.store.get_subscription(instance)
        expected = subscription.secret if subscription else _UNKNOWN_SECRET
        provided = environ.get(_SECRET_ENVIRON, "")
        matches = secret_matches(expected, provided)
        if subscription is None or not matches:
            reason = (
                "unknown instance" if subscription is None
                else "missing secret" if not provided
                else "wrong secret"
            )
            logger.warning("webhook %s rejected: %s", instance, reason)
            raise _Reply(401, "Unauthorized")

    def _read_body(self, environ: Mapping[str, Any]) -> bytes:
        """At most ``max_body_bytes``; never reads more than that plus one chunk."""
        stream = environ["wsgi.input"]
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        limit = self.max_body_bytes
        if declared:
            if not declared.isdigit():
                raise _Reply(400, "Invalid Content-Length")
            length = int(declared)
            if length > limit:
                raise _Reply(413, f"Body larger than {limit} bytes")
            body = _read_up_to(stream, length)
            if len(body) < length:
                # A body shorter than announced: a broken transfer; non-200 so it is retried.
                raise _Reply(400, "Body shorter than its Content-Length")
            return body
        if not environ.get("wsgi.input_terminated"):
            # No Content-Length and no chunked framing: HTTP says the request has no body
            # (RFC 9112 6.3), and reading could block or run past it (PEP 3333).
            return b""
        body = _read_up_to(stream, limit + 1)
        if len(body) > limit:
            raise _Reply(413, f"Body larger than {limit} bytes")
        return body

    def _event_key(self, instance: str, event: Mapping[str, Any]) -> str:
        return event_key_of(self.event_keys.get(trigger_key_of(instance)), event, instance)


def event_key_of(
    function: EventKeyFunction | None, event: Mapping[str, Any], where: str = "webhook"
) -> str:
    """The trigger's key for a delivered event, else (no function, or it fails on this
    payload) :func:`canonical_event_key`."""
    if function is not None:
        try:
            key = function(event)
        except (KeyError, TypeError, ValueError) as problem:
            logger.warning(
                "webhook %s: event key function failed (%s); using the body hash",
                where, type(problem).__name__,
            )
        else:
            if key:
                return storable_text(str(key))
    return canonical_event_key(event)


# -- parsing --------------------------------------------------------------------------------


def parse_events(raw: bytes, content_type: str | None) -> list[dict[str, Any]]:
    """A delivery body -> its events (objects). Raises :class:`MalformedBody`."""
    mimetype, options = parse_options_header(content_type or "")
    parser = _PARSERS.get(mimetype.lower())
    if parser is None:
        raise MalformedBody(f"Unsupported Content-Type {mimetype!r}")
    try:
        text = raw.decode(options.get("charset") or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise MalformedBody("Body is not valid text in its charset") from None
    return _as_events(parser(text))


_TOO_DEEP = f"Body JSON is nested too deeply (more than {MAX_BODY_DEPTH} levels)"
_TOO_MANY = f"Body has more than {MAX_BODY_FIELDS} fields"


def _parse_json(text: str) -> Any:
    try:
        document = json.loads(text)
    except ValueError:
        raise MalformedBody("Body is not valid JSON") from None
    except RecursionError:  # deeper than the interpreter's limit: far beyond MAX_BODY_DEPTH
        raise MalformedBody(_TOO_DEEP) from None
    _check_shape(document)
    return document


def _check_shape(document: Any) -> None:
    """Refuse a document nested deeper than MAX_BODY_DEPTH or with more than MAX_BODY_FIELDS."""
    fields = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_BODY_DEPTH:
                raise MalformedBody(_TOO_DEEP)
            fields += len(value)
            if fields > MAX_BODY_FIELDS:
                raise MalformedBody(_TOO_MANY)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def _parse_form(text: str) -> Any:
    # UNKNOWN in the reference: chosen: LeadSquared's form-encoded body is taken as flat
    # fields (a repeated field becomes a list); a body that is itself JSON is parsed as JSON.
    if text.lstrip()[:1] in ("{", "["):
        return _parse_json(text)
    document: dict[str, Any] = {}
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_BODY_FIELDS)
    except ValueError:  # "Max number of fields exceeded"
        raise MalformedBody(_TOO_MANY) from None
    for name, value in fields:
        if name in document:
            previous = document[name]
            document[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            document[name] = value
    if not document:
        raise MalformedBody("Form body has no fields")
    return document


def _as_events(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list) and all(isinstance(item, dict) for item in document):
        return list(document)
    raise MalformedBody("Body must be a JSON object or an array of objects")


def _read_up_to(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(_READ_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _error_body(reason: str | None) -> dict[str, str]:
    return {"Status": "Error", "StatusReason": reason or "Error"}


# "" = no Content-Type header: taken as JSON (LeadSquared always sends one of the three).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "application/json": _parse_json,
    "text/plain": _parse_json,
    "application/x-www-form-urlencoded": _parse_form,
    "": _parse_json,
}

_STATUS_LINES = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
