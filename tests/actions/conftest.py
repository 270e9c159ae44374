"""Fixtures for action tests: invoke an action through the runtime (the request log is in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.errors import InputValidationError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest


@pytest.fixture
def invoke(manifest: Manifest, client: LeadSquaredClient) -> Callable[..., dict[str, Any]]:
    """``invoke(key, inputs)``: the runtime's full path (validate, handler, validate output)."""

    def run(key: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return invoke_action(manifest, key, inputs, client)

    return run


#: The type of the ``refused`` fixture.
Refused = Callable[[str, Mapping[str, Any]], InputValidationError]


@pytest.fixture
def refused(
    invoke: Callable[..., dict[str, Any]], request_log: Any
) -> Refused:
    """``refused(key, inputs)``: the InputValidationError the action raises, once it is checked
    that nothing was sent to LeadSquared."""

    def check(key: str, inputs: Mapping[str, Any]) -> InputValidationError:
        with pytest.raises(InputValidationError) as raised:
            invoke(key, inputs)
        assert request_log.all() == []
        return raised.value

    return check
