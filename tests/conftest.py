"""Shared fixtures: one sandbox served over real HTTP for the session (reset per test), a
client of its default tenant, the manifest, and raw API calls for contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from runtime.api.account import IDENTITIES
from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.governor import GOVERNORS
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    start_sandbox,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server (and without LSQ_REQUIRE_POSTGRES=1), leave its tests out
    and say so once in the summary instead of one skip line per test."""
    from tests.postgres import needs_postgres, postgres_required, unavailable

    wanted = [item for item in items if needs_postgres(item)]
    if not wanted or postgres_required() or (reason := unavailable()) is None:
        return
    config.hook.pytest_deselected(items=wanted)
    items[:] = [item for item in items if not needs_postgres(item)]
    config.stash[_POSTGRES_LEFT_OUT] = f"{len(wanted)} PostgreSQL tests left out: {reason}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.postgres import finish

    finish()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    message = config.stash.get(_POSTGRES_LEFT_OUT, None)
    if message is not None:
        terminalreporter.write_line(
            f"{message} (set LSQ_REQUIRE_POSTGRES=1 to fail instead)", yellow=True)


_POSTGRES_LEFT_OUT = pytest.StashKey[str]()


@pytest.fixture(autouse=True)
def _sqlite_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their database: a developer's LSQ_DATABASE_URL never redirects them."""
    monkeypatch.delenv("LSQ_DATABASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _state_folder_per_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Each test has its own state folder (the embedded sandbox keeps its records there), so
    no test reads another's records or writes under the checkout; a test may set its own."""
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / ".lsq" / "state.sqlite3"))


@pytest.fixture(autouse=True)
def _fresh_account_identities() -> None:
    """Each test asks UserByAccessKey.Get afresh: the process-wide identity cache is emptied."""
    IDENTITIES.clear()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxApp()) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> Iterator[RunningSandbox]:
    """The session's sandbox, reset to the default seed (records, logs, limits, clock, faults)."""
    sandbox_server.app.reset()
    GOVERNORS.clear()
    sandbox_server.app.faults.configure(type(sandbox_server.app.faults.plan)())
    yield sandbox_server


class RawApi:
    """Plain HTTP calls to the sandbox with the default keys in headers (contract tests)."""

    def __init__(self, running: RunningSandbox) -> None:
        self.base_url = running.base_url
        self.session = requests.Session()
        self.session.headers.update(
            {"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY}
        )

    def get(self, operation: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}/v2/{operation}", params=params, timeout=10)

    def post(self, operation: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/v2/{operation}", json=body, params=params, timeout=10
        )

    def control(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, params=params, timeout=10
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest()


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[LeadSquaredClient]:
    """A client of the default tenant, talking to the test sandbox over HTTP."""
    connection = Connection(
        access_key=DEFAULT_ACCESS_KEY,
        secret_key=DEFAULT_SECRET_KEY,
        api_host=DEFAULT_API_HOST,
        base_url=sandbox.base_url,
    )
    with LeadSquaredClient(connection) as lsq:
        yield lsq


@pytest.fixture
def raw_api(sandbox: RunningSandbox) -> RawApi:
    return RawApi(sandbox)


class RequestLog:
    """The sandbox's request log (API calls only, credentials never included)."""

    def __init__(self, running: RunningSandbox) -> None:
        self.url = f"{running.base_url}/_sandbox/requests"

    def all(self) -> list[dict[str, Any]]:
        return requests.get(self.url, timeout=5).json()["requests"]

    def operations(self) -> list[str]:
        return [entry["operation"] for entry in self.all()]

    def last(self, operation: str | None = None) -> dict[str, Any]:
        """The newest logged call (to ``operation`` if given); fails if there is none."""
        entries = [e for e in self.all() if operation is None or e["operation"] == operation]
        assert entries, f"no request to {operation or 'any operation'} was logged"
        return entries[-1]

    def clear(self) -> None:
        requests.post(f"{self.url}/clear", timeout=5).raise_for_status()


@pytest.fixture
def request_log(sandbox: RunningSandbox) -> RequestLog:
    return RequestLog(sandbox)
