"""Fixtures for the scale-out tests: a fresh, upgraded PostgreSQL database per test and a
sandbox served over HTTP in this process, reached by the separate processes under test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runtime.sandbox import SandboxApp, start_sandbox
from runtime.sandbox.server import RunningSandbox
from tests.postgres import fresh_database

FULL_ENV = "LSQ_DISTRIBUTED_FULL"


def full() -> bool:
    """The long variants (``LSQ_DISTRIBUTED_FULL=1``): the issue's own sizes and durations."""
    return os.environ.get(FULL_ENV) == "1"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database(upgraded=True) as url:
        yield url


@pytest.fixture
def own_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of this test's own (25 calls per 5 s per account, the default)."""
    with start_sandbox(SandboxApp()) as running:
        yield running
