"""Faults: the four example workflows keep their guarantees while the sandbox fails 20% of the
connector's API calls (500 without an MX type, 503, 429, dropped connections, slow answers).

Events are caused for real through the API (leads, opportunities, account changes, list
adds); the service receives them (webhooks) or polls them. The long version of this run is
``python -m tests.reliability.fault_run --runs 300`` (prints the figures table).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.reliability._fleet import ERROR_CATEGORIES, Fleet

CI_RUNS = 60


def test_sixty_runs_under_faults_keep_every_guarantee(tmp_path: Path) -> None:
    began = time.monotonic()
    with Fleet(tmp_path) as fleet:
        expected = fleet.drive(CI_RUNS)
        fleet.settle(expected, timeout=60)
        figures = fleet.figures(time.monotonic() - began)
    print("\n" + figures.table())

    assert figures.runs >= CI_RUNS
    # every run ended: succeeded, or failed with an error category from the error tree
    assert set(figures.statuses) <= {"succeeded", "failed"}, figures.statuses
    assert figures.unclassified == []
    assert set(figures.failed_by_category) <= ERROR_CATEGORIES - {"internal"}
    # no duplicate records from retries, no email sent twice for one lead
    assert figures.creates > 0 and figures.duplicate_creates == {}
    assert figures.emails > 0 and figures.duplicate_emails == {}
    # every acknowledged delivery (and polled event) ends as a finished run
    assert figures.deliveries_acknowledged > 0
    assert figures.lost_events == []
    assert figures.inbox["pending"] == figures.inbox["processing"] == figures.inbox["failed"] == 0
    # the faults really happened, every kind of them
    assert all(figures.faults[kind] > 0 for kind in ("500", "503", "429", "drop", "slow"))
    assert figures.problems() == []
