"""Fixtures for command-line tests: a state file path and a connection file for the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.sandbox import RunningSandbox
from tests.fakes import write_connection_file


@pytest.fixture
def state(tmp_path: Path) -> str:
    """A fresh state file path (``--state``)."""
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def connection_file(tmp_path: Path, sandbox: RunningSandbox) -> str:
    """A connection file (``--connection``) for the test sandbox with its default keys."""
    return write_connection_file(tmp_path / "acme.yaml", sandbox.base_url)
