"""Fixtures for action tests: invoke an action through the runtime, and read the request log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import requests

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox


@pytest.fixture
def invoke(manifest: Manifest, client: LeadSquaredClient) -> Callable[..., dict[str, Any]]:
    """``invoke(key, inputs)``: the runtime's full path (validate, handler, validate output)."""

    def run(key: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return invoke_action(manifest, key, inputs, client)

    return run


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
