"""One line per step in `lsq run` and `lsq runs show`, whatever the step's status."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.cli.run_cmd import _step_line

STEP = {"step_id": "welcome", "action": "send_email", "duration_ms": 12}


@pytest.mark.parametrize(("step", "line"), [
    ({"status": "succeeded", "output": {"email_id": "e-1"}},
     "  1. welcome (send_email): succeeded, 12 ms — email_id=e-1"),
    ({"status": "failed", "error": {"category": "permanent", "message": "HTTP 500"}},
     "  1. welcome (send_email): failed, 12 ms — permanent: HTTP 500"),
    ({"status": "skipped"}, "  1. welcome (send_email): skipped (its 'when' is false)"),
    ({"status": "not_run"}, "  1. welcome (send_email): not_run"),
    # an interrupted run's step that was cut off: it has no answer (it printed "-, — null")
    ({"status": "running", "output": None, "duration_ms": None},
     "  1. welcome (send_email): running, no answer recorded"),
], ids=["succeeded", "failed", "skipped", "not-run", "cut-off"])
def test_each_status_reads_as_one_line(step: dict[str, Any], line: str) -> None:
    assert _step_line(1, {**STEP, **step}) == line
