"""``lsq db status|upgrade|prune`` and the global ``--database`` option: accepted before or after
the subcommand (or from LSQ_DATABASE_URL), PostgreSQL refused until upgraded with one line,
SQLite upgraded by itself, and the URL's password never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.clock import utc_now
from runtime.store.state import StateStore
from runtime.store.storage import open_storage
from tests.postgres import fresh_database

PASSWORD = "Pg-Pa55word-never-shown"
INSTANCE = "new_lead-" + "c" * 20


def lsq(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out, err


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL carries a password (trust auth ignores it)."""
    with fresh_database() as url:
        yield url.replace("://postgres@", f"://postgres:{PASSWORD}@", 1)


def test_postgresql_is_refused_until_lsq_db_upgrade(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = lsq(capsys, "state", "show", "--database", pg_url)
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert "schema version 0; this lsq needs 4: run `lsq db upgrade`" in err
    code, out, _ = lsq(capsys, "--database", pg_url, "db", "status")
    assert code == 1 and "schema version 0 of 4 (run `lsq db upgrade`)" in out
    assert "postgres:***@" in out
    assert "job queue: postgresql://postgres:***@" in out  # `lsq worker` needs it too
    assert out.endswith(": no procrastinate schema (run `lsq db upgrade`; `lsq worker` needs it)\n")
    code, out, _ = lsq(capsys, "db", "upgrade", "--database", pg_url)
    assert code == 0 and ("applied 0001_initial, 0002_leases_and_retention, 0003_run_retries, "
                          "0004_rate_budgets") in out
    assert lsq(capsys, "db", "upgrade", "--database", pg_url)[1].endswith("already current\n")
    code, out, _ = lsq(capsys, "db", "status", "--json", "--database", pg_url)
    assert code == 0 and [(d["what"], d["current"]) for d in json.loads(out)["databases"]] == [
        ("database", True), ("job queue", True)]


def test_database_before_or_after_the_subcommand_or_from_the_environment(
    pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert lsq(capsys, "--database", pg_url, "db", "upgrade")[0] == 0
    with open_storage(pg_url) as storage:
        storage.state.put_cursor(INSTANCE, {"kind": "time"})
    for argv in (["--database", pg_url, "state", "show", "--json"],
                 ["state", "show", "--json", "--database", pg_url]):
        code, out, _ = lsq(capsys, *argv)
        shown = json.loads(out)
        assert code == 0 and [i["instance_id"] for i in shown["instances"]] == [INSTANCE]
        assert shown["path"].startswith("postgresql://postgres:***@")
    monkeypatch.setenv("LSQ_DATABASE_URL", pg_url)
    code, out, _ = lsq(capsys, "runs", "list", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_bad_database_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = lsq(capsys, "state", "show", "--database", f"mysql://u:{PASSWORD}@h/x")
    assert code == 2 and "is not a postgresql:// URL" in err and err.count("\n") == 1
    code, _, err = lsq(capsys, "state", "show", "--state", str(tmp_path / "s.sqlite3"),
                       "--database", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x")
    assert code == 2 and "give one" in err


def test_unreachable_postgresql_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = lsq(capsys, "db", "status", "--database",
                         f"postgresql://lsq:{PASSWORD}@127.0.0.1:1/lsq")
    assert (code, out) == (1, "") and err.count("\n") == 1 and "is unavailable" in err


def test_sqlite_status_upgrade_and_prune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    code, out, _ = lsq(capsys, "db", "status")
    assert code == 0 and out.count("schema version 0 of 2 (created on first use)") == 1
    assert out.count("schema version 0 of 4 (created on first use)") == 1  # the run history
    with open_storage(clock=lambda: utc_now() - timedelta(days=10)) as storage:
        storage.inbox().accept(INSTANCE, "k", {})
        storage.inbox().mark_done(storage.inbox().claim_next())
        for _ in range(3):
            run = storage.history.start_run(workflow="w", trigger_key="t", origin="manual",
                                            event={})
            storage.history.finish_run(run, status="succeeded", finished_at="x", duration_ms=1)
    code, out, _ = lsq(capsys, "db", "status")
    assert code == 0 and out.count("schema version 2 of 2 (current)") == 1
    assert out.count("schema version 4 of 4 (current)") == 1  # the run history
    code, out, _ = lsq(capsys, "db", "prune", "--max-runs", "2", "--json")
    assert (code, json.loads(out)) == (0, {"days": 30, "max_runs": 2, "deleted": {
        "runs": 1, "dedupe_keys": 0, "inbox_events": 0, "deliveries": 0}})
    monkeypatch.setenv("LSQ_RETENTION_DAYS", "5")
    code, out, _ = lsq(capsys, "db", "prune")
    assert code == 0 and out.startswith("kept 5 days and at most 100000 runs; deleted 0 runs, "
                                        "1 dedupe keys, 1 inbox events")
    with StateStore() as store:
        assert store.counts()["inbox"] == 0
    assert lsq(capsys, "db", "prune", "--days", "0")[0] == 2
