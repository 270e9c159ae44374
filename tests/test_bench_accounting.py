"""bench/api_calls accounts per call: each call beyond a job's minimum needs its own reason."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_calls import REASONS, UNEXPLAINED, account

CREATE = "Webhook.svc/Create"
RETRIEVE = "Webhook.svc/Retrieve"
TYPES = "OpportunityManagement.svc/GetOpportunityTypeMetadata"


@pytest.mark.parametrize(("calls", "minimum", "unexplained"), [
    ({CREATE: 1}, CREATE, []),  # at the minimum
    ({RETRIEVE: 1, CREATE: 1}, CREATE, []),  # one extra call, one reason
    ({RETRIEVE: 2, CREATE: 1}, CREATE, []),  # two reasons listed for Retrieve
    ({RETRIEVE: 3, CREATE: 1}, CREATE, [RETRIEVE]),  # the third has no reason of its own
    ({CREATE: 2}, CREATE, [CREATE]),  # the minimum call twice: the second is unexplained
    ({TYPES: 4, CREATE: 1}, CREATE, [TYPES]),
    ({"Some.svc/Other": 1, CREATE: 1}, CREATE, ["Some.svc/Other"]),
    ({"OpportunityManagement.svc/GetOpportunityDetails": 1}, None, []),  # a delivery's call
    ({"Some.svc/Other": 1}, None, ["Some.svc/Other"]),
])
def test_each_extra_call_is_explained_by_its_own_reason(
    calls: dict[str, int], minimum: str | None, unexplained: list[str]
) -> None:
    found = account(Counter(calls), minimum)
    assert len(found) == sum(calls.values()) - (minimum is not None)
    assert [op for op, reason in found if reason == UNEXPLAINED] == unexplained


def test_a_missing_minimum_call_is_reported() -> None:
    (only,) = account(Counter(), CREATE)
    assert only[0] == CREATE and only[1].startswith("MISSING")


def test_every_reason_is_written_out() -> None:
    assert all(reasons and all(len(r) > 20 for r in reasons) for reasons in REASONS.values())
