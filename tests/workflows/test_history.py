"""Run history: paths, one run per (workflow, instance, event key), crash recovery, reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime.errors import ConfigurationError
from runtime.store.history import HistoryStore, default_history_path

INSTANCE = "new_lead-" + "a" * 20


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        yield store


def start(history: HistoryStore, key: str | None = "k1", workflow: str = "w") -> int | None:
    return history.start_run(
        workflow=workflow, trigger_key="new_lead", origin="inbox", event={"ProspectID": "p"},
        instance_id=INSTANCE, event_key=key,
    )


def test_default_path_sits_next_to_the_state_file(tmp_path: Path) -> None:
    assert default_history_path({"LSQ_HISTORY_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert default_history_path({"LSQ_STATE_DB": str(tmp_path / "s" / "state.db")}) == (
        tmp_path / "s" / "history.sqlite3"
    )
    assert default_history_path({}) == Path.cwd() / ".lsq" / "history.sqlite3"


def test_file_is_private_and_unwritable_path_is_a_configuration_error(tmp_path: Path) -> None:
    HistoryStore(tmp_path / "h.sqlite3").close()
    assert stat.S_IMODE(os.stat(tmp_path / "h.sqlite3").st_mode) == 0o600
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="LSQ_HISTORY_DB"):
        HistoryStore(blocker / "h.sqlite3")


def test_an_event_key_gets_one_run_per_workflow(history: HistoryStore) -> None:
    first = start(history)
    history.finish_run(first, status="succeeded", finished_at="t", duration_ms=3)

    assert start(history) is None
    assert start(history, workflow="other") not in (None, first)
    assert history.has_run("w", INSTANCE, "k1")
    assert not history.has_run("w", INSTANCE, "k2")


def test_manual_runs_repeat(history: HistoryStore) -> None:
    assert start(history, key=None) != start(history, key=None)


def test_crashed_run_without_started_steps_is_resumed(history: HistoryStore) -> None:
    first = start(history)
    history.save_step(first, 0, {"step_id": "a", "action": "x", "status": "not_run"})

    assert start(history) == first
    assert history.get_run(first)["steps"] == []


def test_crashed_run_with_a_started_step_is_interrupted_not_rerun(history: HistoryStore) -> None:
    first = start(history)
    history.save_step(first, 0, {"step_id": "mail", "action": "send_email", "status": "running"})

    assert start(history) is None
    run = history.get_run(first)
    assert run["status"] == "interrupted"
    assert run["error"]["category"] == "interrupted"
    assert "'mail'" in run["error"]["message"]


def test_list_and_show(history: HistoryStore) -> None:
    one = start(history, key="a")
    history.save_step(one, 0, {"step_id": "s", "action": "send_email", "status": "succeeded",
                               "input": {"x": 1}, "output": {"y": [2]}, "duration_ms": 5})
    history.finish_run(one, status="succeeded", finished_at="t", duration_ms=9)
    two = start(history, key="b")
    history.finish_run(two, status="failed", finished_at="t", duration_ms=1,
                       error={"category": "mapping"})

    assert [r["id"] for r in history.list_runs()] == [two, one]
    assert [r["id"] for r in history.list_runs(status="succeeded")] == [one]
    assert history.list_runs(limit=1)[0]["steps"] == {}
    shown = history.get_run(one)
    assert shown["event"] == {"ProspectID": "p"}
    assert shown["steps"][0]["output"] == {"y": [2]}
    assert history.get_run(999) is None
    with pytest.raises(ConfigurationError):
        history.finish_run(one, status="great", finished_at="t", duration_ms=1)
