"""Test doubles: a fake LeadSquared transport and a fake clock.

``FakeLeadSquared`` is a requests transport adapter (mounted on a Session) that answers
from responses configured per operation, records every PreparedRequest, fails loudly on a
request nobody configured (listing what is configured), and fails :meth:`verify` (or the
``with`` block) when a configured response was never requested.

    fake = FakeLeadSquared()
    fake.add("POST", "LeadManagement.svc/Lead.Create", reply(500), ok({"Status": "Success"}))
    with fake:
        client = LeadSquaredClient(connection, session=fake.session(), sleep=clock.sleep)
        ...
    assert fake.calls[0].json == [{"Attribute": "EmailAddress", "Value": "a@b.com"}]
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from runtime.api.connection import Connection

ACCESS_KEY = "u$rFAKEaccess0123456789abcdef"
SECRET_KEY = "fakeSecret9876543210fedcba"
API_HOST = "api-in21.leadsquared.com"


def fake_connection(**overrides: Any) -> Connection:
    """A connection to a real-looking host, for use with FakeLeadSquared."""
    settings: dict[str, Any] = {
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "api_host": API_HOST, "name": "fake",
    }
    return Connection(**{**settings, **overrides})


def write_connection_file(path: Path, base_url: str, **changes: Any) -> str:
    """A connection file for the sandbox at ``base_url`` (default keys; ``changes`` override)."""
    from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

    settings = {"access_key": DEFAULT_ACCESS_KEY, "secret_key": DEFAULT_SECRET_KEY,
                "api_host": base_url, **changes}
    path.write_text("".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))
    return str(path)


@dataclass(frozen=True)
class Reply:
    """A canned HTTP answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as-is instead of the JSON of ``body``


def ok(body: Any = None) -> Reply:
    """200 with ``body`` as JSON."""
    return Reply(200, body)


def reply(status: int, body: Any = None, **headers: str) -> Reply:
    """Any status with ``body`` as JSON."""
    return Reply(status, body, dict(headers))


def mx_error(exception_type: str, message: str, status: int = 500) -> Reply:
    """LeadSquared's application error body on ``status`` (500 by default, reference §3.2)."""
    body = {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}
    return Reply(status, body)


Answer = Reply | BaseException | Callable[[requests.PreparedRequest], "Reply | BaseException"]


@dataclass
class Call:
    """One recorded request, decoded for assertions."""

    request: requests.PreparedRequest

    @property
    def method(self) -> str:
        return str(self.request.method)

    @property
    def operation(self) -> str:
        return operation_of(self.request)

    @property
    def url(self) -> str:
        return str(self.request.url)

    @property
    def params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.url).query, keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in query.items()}  # type: ignore[misc]

    @property
    def headers(self) -> CaseInsensitiveDict[str]:
        return self.request.headers

    @property
    def body_bytes(self) -> bytes:
        body = self.request.body
        return body.encode("utf-8") if isinstance(body, str) else (body or b"")

    @property
    def json(self) -> Any:
        return json.loads(self.body_bytes.decode("utf-8")) if self.body_bytes else None


def operation_of(request: requests.PreparedRequest) -> str:
    """``LeadManagement.svc/Lead.Create`` from ``https://host/v2/LeadManagement.svc/Lead.Create?..``."""
    path = urlsplit(str(request.url)).path
    return path.split("/v2/", 1)[1] if "/v2/" in path else path


@dataclass
class _Route:
    method: str
    operation: str
    answers: deque[Answer]
    repeat: bool
    served: int = 0


class FakeLeadSquared(BaseAdapter):
    """A transport that answers configured operations and records what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[tuple[str, str], _Route] = {}
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.failures: list[str] = []

    # -- configuring -----------------------------------------------------------------------

    def add(self, method: str, operation: str, *answers: Answer, repeat: bool = False) -> None:
        """Answers for ``method operation``, served in order, each once.

        With ``repeat=True`` the last answer keeps being served. An answer may be a
        :class:`Reply`, an exception to raise (e.g. ``requests.ReadTimeout()``) or a
        function of the PreparedRequest returning either.
        """
        if not answers:
            raise ValueError("add() needs at least one answer")
        key = (method.upper(), operation)
        route = self._routes.get(key)
        if route is None:
            self._routes[key] = _Route(key[0], operation, deque(answers), repeat)
        else:
            route.answers.extend(answers)
            route.repeat = route.repeat or repeat

    def session(self) -> requests.Session:
        """A Session with this fake mounted for http:// and https://."""
        session = requests.Session()
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    # -- checking --------------------------------------------------------------------------

    def calls_to(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def verify(self) -> None:
        """Fail if a request was unmatched or a configured answer was never requested."""
        problems = list(self.failures)
        for route in self._routes.values():
            if route.repeat and route.served == 0:
                problems.append(f"{route.method} {route.operation} was never requested")
            elif not route.repeat and route.answers:
                problems.append(
                    f"{route.method} {route.operation}: {len(route.answers)} configured "
                    "answer(s) never requested"
                )
        if problems:
            raise AssertionError("FakeLeadSquared: " + "; ".join(problems))

    def __enter__(self) -> FakeLeadSquared:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.verify()

    # -- the transport ---------------------------------------------------------------------

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        with self._lock:
            self.calls.append(Call(request))
            key = (str(request.method), operation_of(request))
            route = self._routes.get(key)
            if route is None or not route.answers:
                problem = self._unmatched(key, route)
                self.failures.append(problem)
                raise AssertionError(problem)
            answer = route.answers[0]
            if not (route.repeat and len(route.answers) == 1):
                route.answers.popleft()
            route.served += 1
        if callable(answer) and not isinstance(answer, BaseException | Reply):
            answer = answer(request)
        if isinstance(answer, BaseException):
            raise answer
        return _response(request, answer)

    def close(self) -> None:
        """Nothing to release."""

    def _unmatched(self, key: tuple[str, str], route: _Route | None) -> str:
        what = "no answer left" if route is not None else "no route matches"
        configured = "; ".join(
            f"{r.method} {r.operation} ({len(r.answers)} left{', repeats' if r.repeat else ''})"
            for r in self._routes.values()
        )
        return f"{what} for {key[0]} {key[1]}. Configured: {configured or 'nothing'}"


def _response(request: requests.PreparedRequest, answer: Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status
    response.reason = "Fake"
    response.url = str(request.url)
    response.request = request
    response.encoding = "utf-8"
    headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
    response.headers = CaseInsensitiveDict(headers)
    if answer.raw is not None:
        response._content = answer.raw
    else:
        response._content = b"" if answer.body is None else json.dumps(answer.body).encode()
    return response


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called; records the sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


def all_text(values: Iterable[Any]) -> str:
    """Everything in ``values`` as one string (for 'no secret appears anywhere' checks)."""
    return "\n".join(str(v) for v in values)
