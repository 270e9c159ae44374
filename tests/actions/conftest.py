"""Fixtures for action tests: invoke an action through the runtime, a client whose retries
never sleep, and the bad-input check (the request log is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.errors import InputValidationError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_API_HOST, DEFAULT_SECRET_KEY, RunningSandbox

#: The type of the ``invoke`` fixture.
Invoke = Callable[[str, Mapping[str, Any]], dict[str, Any]]
#: The type of the ``refused`` fixture.
Refused = Callable[[str, Mapping[str, Any]], InputValidationError]


@pytest.fixture
def invoke(manifest: Manifest, client: LeadSquaredClient) -> Invoke:
    """``invoke(key, inputs)``: the runtime's full path (validate, handler, validate output)."""

    def run(key: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return invoke_action(manifest, key, inputs, client)

    return run


@pytest.fixture
def refused(invoke: Invoke, request_log: Any) -> Refused:
    """``refused(key, inputs)``: the InputValidationError the action raises, once it is checked
    that nothing was sent to LeadSquared."""

    def check(key: str, inputs: Mapping[str, Any]) -> InputValidationError:
        with pytest.raises(InputValidationError) as raised:
            invoke(key, inputs)
        assert request_log.all() == []
        return raised.value

    return check


@pytest.fixture
def quick_client(sandbox: RunningSandbox) -> Iterator[LeadSquaredClient]:
    """A client whose retries never sleep (a fault test must not wait)."""
    connection = Connection(access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                            api_host=DEFAULT_API_HOST, base_url=sandbox.base_url)
    with LeadSquaredClient(connection, sleep=lambda seconds: None) as lsq:
        yield lsq
