"""The run-history page as a WSGI app (mounted at ``/ui``; every URL is relative to the mount).

| Method and path | What |
|---|---|
| ``GET /`` | runs, newest first, filtered (:mod:`runtime.ui.params`), with a link to older ones |
| ``GET /runs/ID`` | one run: event, steps with input, output and error, retries, Retry forms |
| ``POST /runs/ID/retry`` | retry it (``from_step``, ``confirm``); 303 to the new run |
| ``GET /triggers`` | trigger instances (cursor, inbox counts, subscription), failed inbox items |
| ``GET`` / ``POST /login`` | the token form (only when a token is required) |

Values are shown as the history stores them, so secrets are masked exactly as ``lsq runs
show`` masks them; long values are cut at :data:`MAX_VALUE_CHARS`. Without a retry action
(``lsq ui``) the page is read-only and shows the ``lsq runs retry`` command instead of the
buttons. Every failure is a page with one line and the right status (400 a bad parameter, 403
a refused form, 404, 409 a refused retry, 503 storage unavailable, 500 anything else, logged).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from runtime.errors import ConnectorError, StorageUnavailable
from runtime.store.history import RUN_STATUSES, HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from runtime.ui.params import MAX_QUERY_CHARS, BadParameter, parse_filters
from runtime.ui.security import CSRF_COOKIE, Guard, secure
from runtime.workflows.retry import AMBIGUOUS, RETRYABLE, RetryRefused, failed_step

logger = logging.getLogger(__name__)

RetryAction = Callable[[int, str | None, bool], int]
"""Retries run ``id`` from a step (None: the start), confirmed or not; the new run's id.
Raises :class:`~runtime.workflows.retry.RetryRefused` when it may not start."""

MAX_VALUE_CHARS = 20_000
MAX_FORM_BYTES = 4096
FAILED_ITEMS = 50
MAX_RUN_ID = 2**63 - 1

ROUTES = Map([
    Rule("/", endpoint="runs", methods=["GET"]),
    Rule(f"/runs/<int(min=1, max={MAX_RUN_ID}):run_id>", endpoint="run", methods=["GET"]),
    Rule(f"/runs/<int(min=1, max={MAX_RUN_ID}):run_id>/retry", endpoint="retry",
         methods=["POST"]),
    Rule("/triggers", endpoint="triggers", methods=["GET"]),
    Rule("/login", endpoint="login", methods=["GET", "POST"]),
], strict_slashes=False)


class RunHistoryPage:
    """The page over one store: ``RunHistoryPage(history, state, retry=..., token=...)``."""

    def __init__(
        self,
        history: HistoryStore,
        state: StateStore,
        *,
        retry: RetryAction | None = None,
        token: str | None = None,
        retry_options: str = "",
    ) -> None:
        self.history = history
        self.state = state
        self.inbox = Inbox(state)
        self.retry = retry
        self.retry_options = retry_options  # read-only: what `lsq runs retry` needs besides
        self.guard = Guard(token)
        self.templates = Environment(
            loader=PackageLoader("runtime.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.templates.filters["pretty"] = pretty
        self.templates.filters["duration"] = duration
        self.templates.filters["moment"] = moment

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_FORM_BYTES
        request.max_form_memory_size = MAX_FORM_BYTES
        return secure(self.answer(request))(environ, start_response)

    # -- dispatch ---------------------------------------------------------------------------

    def answer(self, request: Request) -> Response:
        """The response to one request (never raises)."""
        seed, new_seed = self.guard.csrf_seed(request)
        try:
            response = self._route(request, seed)
        except HTTPException as problem:
            code = problem.code or 500
            response = self._page(request, seed, "message.html", code=code,
                                  title=f"{code} {problem.name}",
                                  message=_http_message(problem, request))
        except StorageUnavailable as problem:
            response = self._page(request, seed, "message.html", code=503,
                                  title="storage unavailable", message=str(problem))
        except Exception:
            logger.exception("run-history page: %s %s failed", request.method, request.path)
            response = self._page(request, seed, "message.html", code=500, title="error",
                                  message="the page failed; the log of this process says why")
        if new_seed:
            response.set_cookie(CSRF_COOKIE, seed, path=_cookie_path(request), httponly=True,
                                samesite="Strict")
        return response

    def _route(self, request: Request, seed: str) -> Response:
        if len(request.query_string) > MAX_QUERY_CHARS:
            return self._page(request, seed, "message.html", code=414, title="414",
                              message=f"the query is longer than {MAX_QUERY_CHARS} characters")
        endpoint, values = ROUTES.bind_to_environ(request.environ).match()
        if endpoint == "login":
            return self._login(request, seed)
        if not self.guard.allowed(request):
            if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
                return _redirect(request, "/login")
            return self._page(request, seed, "message.html", code=401, title="401",
                              message="this page needs its token: log in at /login or send "
                              "Authorization: Bearer TOKEN")
        if request.method == "POST" and not self.guard.csrf_ok(request):
            return self._page(request, seed, "message.html", code=403, title="403",
                              message="the form is stale or from another site: reload the "
                              "page and try again")
        handler = getattr(self, f"_{endpoint}")
        return handler(request, seed, **values)

    def _page(self, request: Request, seed: str, template: str, *, code: int = 200,
              **context: Any) -> Response:
        base = request.script_root.rstrip("/")

        def url(path: str, **params: Any) -> str:
            query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
            return f"{base}{path}" + (f"?{query}" if query else "")

        html = self.templates.get_template(template).render(
            url=url, csrf=self.guard.csrf_token(seed), read_only=self.retry is None,
            retry_options=self.retry_options,
            statuses=RUN_STATUSES, **context,
        )
        return Response(html, status=code, content_type="text/html; charset=utf-8")

    # -- pages ------------------------------------------------------------------------------

    def _runs(self, request: Request, seed: str) -> Response:
        try:
            filters = parse_filters(request.args)
        except BadParameter as problem:
            return self._page(request, seed, "message.html", code=400, title="bad parameter",
                              message=str(problem))
        runs = self.history.list_runs(**{**filters.query(), "limit": filters.limit + 1})
        older = runs[filters.limit - 1]["id"] if len(runs) > filters.limit else None
        runs = runs[: filters.limit]
        return self._page(request, seed, "runs.html", title="Runs", runs=runs, filters=filters,
                          workflows=self.history.workflows(), older=older)

    def _run(self, request: Request, seed: str, run_id: int, *, refused: str | None = None,
             confirm: bool = False, code: int = 200) -> Response:
        run = self.history.get_run(run_id)
        if run is None:
            raise NotFound(f"no run with id {run_id}")
        failed = failed_step(run)
        first = run["steps"][0]["step_id"] if run["steps"] else None
        return self._page(
            request, seed, "run.html", code=code, title=f"Run {run_id}", run=run,
            retryable=run["status"] in RETRYABLE, failed=failed if failed != first else None,
            ambiguous=confirm or _may_have_written(run), refused=refused,
        )

    def _retry(self, request: Request, seed: str, run_id: int) -> Response:
        if self.retry is None:
            return self._page(request, seed, "message.html", code=405, title="read-only",
                              message="this page is read-only (lsq ui); retry with "
                              f"`lsq runs retry {run_id}` or on the page of `lsq serve`")
        from_step = request.form.get("from_step", "").strip()[:200] or None
        confirm = request.form.get("confirm") == "yes"
        try:
            new_id = self.retry(run_id, from_step, confirm)
        except RetryRefused as problem:
            return self._run(request, seed, run_id, refused=str(problem), code=409,
                             confirm=problem.needs_confirmation)
        except ConnectorError as problem:
            if isinstance(problem, StorageUnavailable):
                raise
            return self._run(request, seed, run_id, refused=str(problem), code=409)
        return _redirect(request, f"/runs/{new_id}")

    def _triggers(self, request: Request, seed: str) -> Response:
        shown = self.state.show()
        return self._page(
            request, seed, "triggers.html", title="Triggers and inbox",
            instances=shown["instances"], counts=self.inbox.counts(),
            failed_items=self.inbox.newest("failed", limit=FAILED_ITEMS), limit=FAILED_ITEMS,
        )

    def _login(self, request: Request, seed: str) -> Response:
        if self.guard.token is None:
            return _redirect(request, "/")
        if request.method == "GET":
            return self._page(request, seed, "login.html", title="Log in")
        if not self.guard.csrf_ok(request):
            return self._page(request, seed, "login.html", code=403, title="Log in",
                              problem="the form is stale: reload the page and try again")
        response = _redirect(request, "/")
        if not self.guard.login(request.form.get("token", ""), response, _cookie_path(request)):
            return self._page(request, seed, "login.html", code=401, title="Log in",
                              problem="that is not the token")
        return response


# ---------------------------------------------------------------- helpers


def _may_have_written(run: Mapping[str, Any]) -> bool:
    """Whether a retry may repeat a write that may have happened (the confirm box shows)."""
    for step in run["steps"]:
        if step["status"] == "failed" and (step.get("error") or {}).get("category") == AMBIGUOUS:
            return True
        if step["status"] == "running" and run["status"] == "interrupted":
            return True
    return any(other["status"] == "running" for other in run.get("retries", ()))


def _redirect(request: Request, path: str) -> Response:
    response = Response("", status=303)
    response.headers["Location"] = request.script_root.rstrip("/") + path
    return response


def _cookie_path(request: Request) -> str:
    """The mount (``/ui``): its cookies go to ``/ui`` and ``/ui/...``, never elsewhere."""
    return request.script_root.rstrip("/") or "/"


def _http_message(problem: HTTPException, request: Request) -> str:
    if problem.code == 404 and problem.description and problem.description.startswith("no run"):
        return problem.description
    if problem.code == 404:
        return f"nothing here: {request.path[:200]}"
    if problem.code == 405:
        return f"{request.method} is not allowed here"
    if problem.code == 413:
        return f"the form is larger than {MAX_FORM_BYTES} bytes"
    return problem.name


def pretty(value: Any) -> str:
    """A value as indented JSON, cut at :data:`MAX_VALUE_CHARS`."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_VALUE_CHARS:
        return text[:MAX_VALUE_CHARS] + "\n… (cut; `lsq runs show ID --json` prints it all)"
    return text


def duration(ms: int | None) -> str:
    """``850 ms``, ``12.3 s`` or ``-``."""
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def moment(text: str | None) -> str:
    """A stored UTC time as ``2024-05-01 09:30:00`` (or ``-``)."""
    return "-" if not text else text[:19].replace("T", " ")


__all__ = ["RetryAction", "RunHistoryPage"]
