"""Fixtures for runtime unit tests: a fake LeadSquared transport and a client's metadata on it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.api.governor import RateGovernor
from runtime.api.metadata import AccountMetadata
from tests.fakes import FakeClock, FakeLeadSquared, fake_connection


@pytest.fixture
def fake() -> Iterator[FakeLeadSquared]:
    """Routed fake answers; a test fails if a queued answer was never requested."""
    fake = FakeLeadSquared()
    yield fake
    fake.verify()


@pytest.fixture
def metadata(fake: FakeLeadSquared) -> AccountMetadata:
    """The metadata cache of a client on ``fake`` that never sleeps for real."""
    clock = FakeClock()
    client = LeadSquaredClient(
        fake_connection(), session=fake.session(), sleep=clock.sleep, clock=clock,
        governor=RateGovernor(100, 10, clock=clock, sleep=clock.sleep), rng=random.Random(1),
    )
    return client.metadata
