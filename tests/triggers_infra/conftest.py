"""Fixtures shared by the trigger-infrastructure tests: a fake clock and a state store on it
(a module overrides ``db_path`` or ``store`` where it needs another)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.store.state import StateStore

from .helpers import T0, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[StateStore]:
    with StateStore(db_path, clock=clock) as opened:
        yield opened
