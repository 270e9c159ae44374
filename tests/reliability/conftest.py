"""Reliability proofs: hypothesis profiles and an isolated CLI environment.

Profiles: ``ci`` (default; few examples so the whole folder runs in well under a minute) and
``thorough`` (``HYPOTHESIS_PROFILE=thorough`` for a long local soak).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from runtime.sandbox import RunningSandbox, SandboxApp, start_sandbox

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ENV_VARS = ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST", "LSQ_CONNECTOR_ROOT",
            "LSQ_STATE_DB", "LSQ_HISTORY_DB")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch working directory with state/history DBs in it and no LSQ_* variables."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    yield tmp_path


@pytest.fixture
def service_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of the test's own without a tight rate limit (the service proofs)."""
    with start_sandbox(SandboxApp(rate_limit=100_000, bulk_rate_limit=100_000)) as running:
        yield running
