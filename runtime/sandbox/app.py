"""The sandbox WSGI application: LeadSquared's v2 REST API, answered from memory.

Every API call goes through one pipeline, in LeadSquared's order of checks:
route (404) -> method (405) -> credentials (401) -> regional host (401) -> rate limit
(429 or 403) -> injected fault -> body (400/413) -> service handler -> JSON answer.
Calls under ``/_sandbox/`` are test controls (see :mod:`.controls`), not API calls.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from runtime.sandbox import controls
from runtime.sandbox.errors import LsqError
from runtime.sandbox.faults import FaultInjector, FaultPlan
from runtime.sandbox.ratelimit import RateLimiter
from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Reply, Route, route_key
from runtime.sandbox.seed import default_seed, load_seed
from runtime.sandbox.services import collect_routes
from runtime.sandbox.state import KeyPair, SandboxState
from runtime.sandbox.webhook_delivery import DEFAULT_RETRY_DELAYS, WebhookEmitter

log = logging.getLogger(__name__)

API_PATH = re.compile(r"^/v2/(?P<operation>[A-Za-z]+\.svc/.+)$")
LSQ_DOMAIN = ".leadsquared.com"
MAX_BODY_BYTES = 4 * 1024 * 1024  # UNKNOWN in the reference: IIS's default is about 4 MB
SECRET_QUERY_NAMES = {"accesskey", "secretkey"}

# Bodies for answers whose exact LeadSquared text is undocumented (reference §14): chosen here.
NOT_FOUND_BODY = {
    "Status": "Error",
    "ExceptionType": "MXAPINotFoundException",
    "ExceptionMessage": "API could not be found",
}
UNAUTHORIZED_EXCEPTION = "MXUnAuthorizedAccessException"  # LIKELY name (reference §3.2, S32)
INFRASTRUCTURE_500_BODY = {"Message": "An error has occurred."}  # 500 without an MX type


class SandboxApp:
    """A WSGI callable that serves LeadSquared's API from seeded, in-memory state."""

    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        *,
        rate_limit: int = 25,
        bulk_rate_limit: int = 1,
        rate_limit_status: int = 429,
        faults: FaultPlan | None = None,
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.seed = seed if seed is not None else default_seed()
        self.state = SandboxState()
        load_seed(self.state, self.seed)
        self.routes: dict[str, Route] = collect_routes()
        self.rate_limiter = RateLimiter(rate_limit, bulk_rate_limit, status=rate_limit_status)
        self.faults = FaultInjector(faults)
        # Each app delivers its own webhooks from its own worker thread.
        self.webhook_delivery = WebhookEmitter(self.state, retry_delays=webhook_retry_delays)

    def reset(self, seed: dict[str, Any] | None = None) -> None:
        """Reload ``seed`` (or the current one): records, logs, limits and clock start over."""
        if seed is not None:
            self.seed = seed
        with self.state.lock:
            load_seed(self.state, self.seed)
            self.state.request_log.clear()
            self.state.clock.reset()
        self.rate_limiter.reset()
        self.webhook_delivery.clear()

    def close(self) -> None:
        """Stop background work (the webhook delivery worker)."""
        self.webhook_delivery.close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        if request.path.startswith("/_sandbox/"):
            response = controls.handle(self, request)
            return response(environ, start_response)
        status, body, entry, drop = self._serve_api(request)
        if entry is not None:
            entry["status"] = status
            with self.state.lock:
                self.state.request_log.append(entry)
        if drop:
            _drop_connection(environ)
            start_response("200 OK", [])  # the socket is gone: the server sees a dropped peer
            return []
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _serve_api(self, request: Request) -> tuple[int, Any, dict[str, Any] | None, bool]:
        """Run the pipeline; returns (status, body, request-log entry, drop connection)."""
        match = API_PATH.match(request.path)
        route = self.routes.get(route_key(match["operation"])) if match else None
        entry = _log_entry(request, match["operation"] if match else request.path)
        if route is None:
            return 404, NOT_FOUND_BODY, entry, False
        if request.method != route.method and not (
            request.method == "HEAD" and route.method == "GET"
        ):
            return 405, _error("MXMethodNotAllowedException", "Method not allowed"), entry, False
        try:
            key = self._authenticate(request)
            tenant = self.state.tenants[key.tenant_id]
            entry["tenant"] = tenant.org_id
            host = (request.host or "").split(":")[0].lower()
            if host.endswith(LSQ_DOMAIN) and host != tenant.api_host and not route.any_host:
                # Wrong regional host: LeadSquared answers 401 (reference §1.1).
                raise LsqError(UNAUTHORIZED_EXCEPTION, "Invalid access key or secret key", 401)
            self.rate_limiter.check(tenant.org_id, bulk=route.bulk)
            fault = self.faults.draw()
            if fault in {"500", "503", "429"}:
                return (*_fault_answer(fault, self.rate_limiter.limit), entry, False)
            if fault == "slow":
                time.sleep(self.faults.plan.slow_seconds)
            body = _parse_body(request, route)
            entry["body"] = _log_copy(body, route)
            with self.state.lock:
                api_request = SandboxRequest(
                    self.state, key, tenant, request.method, route.operation,
                    dict(request.args), body, host,
                )
                result = route.handler(api_request)
            if isinstance(result, Reply):
                return result.status, result.body, entry, fault == "drop"
            return 200, result, entry, fault == "drop"
        except LsqError as error:
            return error.status, error.body(), entry, False
        except Exception:  # a sandbox bug: answer like LeadSquared, log the traceback here only
            log.exception("sandbox handler failed for %s", route.operation)
            body = _error("MXUnhandledException", "An unexpected error occurred")
            return 500, body, entry, False

    def _authenticate(self, request: Request) -> KeyPair:
        """The key pair from the headers or the query string; 401 when missing or wrong."""
        query = {k.lower(): v for k, v in request.args.items()}
        access = request.headers.get("x-LSQ-AccessKey") or query.get("accesskey")
        secret = request.headers.get("x-LSQ-SecretKey") or query.get("secretkey")
        key = self.state.authenticate(access, secret)
        if key is None:
            raise LsqError(UNAUTHORIZED_EXCEPTION, "Invalid access key or secret key", 401)
        return key


def _error(exception_type: str, message: str) -> dict[str, str]:
    return LsqError(exception_type, message).body()


def _fault_answer(kind: str, limit: int) -> tuple[int, Any]:
    if kind == "429":
        message = f"API calls exceeded the limit of {limit} in 5 second(s)"
        return 429, _error("MXAPIRateLimitExceededException", message)
    if kind == "503":
        return 503, {"Message": "Service Unavailable"}
    return 500, INFRASTRUCTURE_500_BODY


def _parse_body(request: Request, route: Route) -> Any:
    """The JSON body of a POST; 400 for a wrong content type or malformed JSON."""
    if request.method != "POST":
        return None
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise LsqError("MXRequestTooLargeException", "Request body is too large", 413) from None
    if not raw.strip():
        if route.body_required:
            raise LsqError("MXInvalidInputException", "Request body is empty", 400)
        return None
    if request.mimetype != "application/json":
        kind = request.mimetype or "none"
        message = f"Content type '{kind}' is not supported; use application/json"
        raise LsqError("MXInvalidInputException", message, 400)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as problem:
        message = f"Unexpected character encountered while parsing value: {problem}"
        raise LsqError("MXInvalidInputException", message[:300], 400) from None


def _log_copy(body: Any, route: Route) -> Any:
    """The body as the request log keeps it: a copy, taken before the handler runs, with the
    route's secrets (e.g. webhook header values) masked."""
    logged = copy.deepcopy(body)
    if route.log_masker is not None:
        route.log_masker(logged)
    return logged


def _log_entry(request: Request, operation: str) -> dict[str, Any]:
    """A request-log record with the credentials left out."""
    query = {k: v for k, v in request.args.items() if k.lower() not in SECRET_QUERY_NAMES}
    return {
        "time": time.time(),
        "method": request.method,
        "operation": operation,
        "host": (request.host or "").split(":")[0].lower(),
        "query": query,
        "body": None,
        "tenant": None,
        "auth": "header" if "x-LSQ-AccessKey" in request.headers else "query",
    }


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's socket without an answer (a dropped connection)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
