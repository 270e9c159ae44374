"""Run history: every workflow run and its steps, in SQLite.

Where: ``$LSQ_HISTORY_DB``, else ``history.sqlite3`` next to the trigger state file (by
default ``.lsq/history.sqlite3``). It is a file of its own, not tables in the state file: the
state file holds webhook secrets and is shared with the receiver; history holds only redacted
data, grows with every run and is pruned on its own schedule.

Tables::

    runs   (id, workflow, source, trigger_key, origin, instance_id, event_key, status,
            started_at, finished_at, duration_ms, event, error)
    steps  (run_id, position, step_id, action, status, started_at, finished_at,
            duration_ms, input, output, error)

Exactly-once processing: a run started for an inbox event carries ``(instance_id, event_key)``
and ``(workflow, instance_id, event_key)`` is unique, so :meth:`HistoryStore.start_run` hands
out a run for it at most once. A run left ``running`` by a crash is resumed only when none of
its steps had started (nothing can have reached LeadSquared); otherwise it becomes
``interrupted`` and is never run again (a step may have written already: rerunning could
duplicate it). Manual runs (``lsq run``) have no event key and may repeat.

Commits per run (the runner's): the run row; the first started step marked ``running`` (with
any skipped steps before it), the one durable commit, as it decides exactly-once; then every
step's record with the final status, in one commit. A crash mid-run therefore shows the first
started step as ``running`` (the run becomes ``interrupted``), not the steps after it.

Statuses: run ``running | succeeded | failed | completed_with_errors | interrupted``;
step ``running | succeeded | failed | skipped | not_run``. Values stored are already redacted
by the runner; this module never sees a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runtime.clock import to_iso, utc_now
from runtime.errors import ConfigurationError
from runtime.store.sqlite_file import SQLiteFile
from runtime.store.state import default_state_path

HISTORY_DB_ENV = "LSQ_HISTORY_DB"
HISTORY_FILE = "history.sqlite3"
BUSY_TIMEOUT_SECONDS = 30.0
RUN_STATUSES = ("running", "succeeded", "failed", "completed_with_errors", "interrupted")
STEP_STATUSES = ("running", "succeeded", "failed", "skipped", "not_run")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow    TEXT NOT NULL,
    source      TEXT,
    trigger_key TEXT NOT NULL,
    origin      TEXT NOT NULL,
    instance_id TEXT,
    event_key   TEXT,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    event       TEXT,
    error       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_once ON runs (workflow, instance_id, event_key)
    WHERE event_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, id);
CREATE TABLE IF NOT EXISTS steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    step_id     TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    input       TEXT,
    output      TEXT,
    error       TEXT,
    PRIMARY KEY (run_id, position)
);
"""
_RUN_COLUMNS = (
    "id, workflow, source, trigger_key, origin, instance_id, event_key, status, started_at, "
    "finished_at, duration_ms, event, error"
)
_STEP_COLUMNS = (
    "position, step_id, action, status, started_at, finished_at, duration_ms, input, output, error"
)
_JSON_COLUMNS = frozenset({"event", "error", "input", "output"})


def default_history_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LSQ_HISTORY_DB``, else ``history.sqlite3`` in the state file's folder."""
    env = os.environ if environ is None else environ
    configured = env.get(HISTORY_DB_ENV, "").strip()
    if configured:
        return Path(configured)
    return default_state_path(env).parent / HISTORY_FILE


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


class HistoryStore:
    """The run history file. Thread-safe (one connection per thread), multi-process safe."""

    def __init__(
        self, path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        self.path = Path(path) if path is not None else default_history_path(environ)
        # NORMAL: a commit survives a crash of this process; only the commits that decide
        # exactly-once (see _durable) wait for the disk (FULL), which also flushes the earlier
        # ones: the WAL is one file, written in order.
        self._file = SQLiteFile(
            self.path, busy_timeout=BUSY_TIMEOUT_SECONDS, synchronous="NORMAL",
            what="the run history", env_hint=HISTORY_DB_ENV,
        )
        with self._transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        self._file.close()

    def _connection(self) -> sqlite3.Connection:
        return self._file.connection()

    def _transaction(
        self, *, durable: bool = False
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction; ``durable`` commits wait until the disk has them."""
        return self._file.transaction(durable=durable)

    def _durable(self, run_id: int, position: int, status: str) -> bool:
        """Whether this step save decides exactly-once: the run's first step that starts.

        From that commit on, a crash leaves the run ``interrupted`` (never run again), so it
        must survive a power loss; later saves only refine what the history shows, and a lost
        one still leaves the run interrupted, never repeated.
        """
        if status != "running":
            return False
        earlier = self._connection().execute(
            "SELECT 1 FROM steps WHERE run_id = ? AND position < ? "
            "AND status NOT IN ('not_run', 'skipped') LIMIT 1", (run_id, position),
        ).fetchone()
        return earlier is None

    # -- writing ------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        workflow: str,
        trigger_key: str,
        origin: str,
        event: Any,
        source: str | None = None,
        instance_id: str | None = None,
        event_key: str | None = None,
        started_at: str | None = None,
    ) -> int | None:
        """Record a new ``running`` run and return its id.

        With an ``event_key``: None when this (workflow, instance, event) already has a run
        (finished, or interrupted after a step started); a crashed run whose steps never
        started is handed out again (same id, its old steps cleared).
        """
        now = started_at or to_iso(utc_now())
        with self._transaction() as conn:
            if event_key is not None:
                row = conn.execute(
                    "SELECT id, status FROM runs WHERE workflow = ? AND instance_id IS ? "
                    "AND event_key = ?",
                    (workflow, instance_id, event_key),
                ).fetchone()
                if row is not None:
                    return self._resume(conn, row[0], row[1], now)
            cursor = conn.execute(
                "INSERT INTO runs (workflow, source, trigger_key, origin, instance_id, event_key, "
                "status, started_at, event) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (workflow, source, trigger_key, origin, instance_id, event_key, now,
                 _dumps(event)),
            )
            return int(cursor.lastrowid or 0)

    @staticmethod
    def _resume(conn: sqlite3.Connection, run_id: int, status: str, now: str) -> int | None:
        if status != "running":
            return None
        started = conn.execute(
            "SELECT step_id FROM steps WHERE run_id = ? AND status NOT IN ('not_run', 'skipped') "
            "ORDER BY position LIMIT 1", (run_id,),
        ).fetchone()
        if started is not None:
            error = {
                "type": "Interrupted",
                "category": "interrupted",
                "message": f"the run stopped while step '{started[0]}' was running; it is not "
                "run again because that step may already have written to LeadSquared",
            }
            conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?",
                (now, _dumps(error), run_id),
            )
            return None
        conn.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
        conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (now, run_id))
        return run_id

    def save_step(self, run_id: int, position: int, step: Mapping[str, Any]) -> None:
        """Insert or replace one step row (``step`` holds the columns, JSON values as data).

        The save of a run's first started step is durable (see :meth:`_durable`).
        """
        durable = self._durable(run_id, position, step["status"])
        with self._transaction(durable=durable) as conn:
            _write_steps(conn, run_id, [(position, step)])

    def save_steps(
        self, run_id: int, steps: Sequence[tuple[int, Mapping[str, Any]]], *, durable: bool
    ) -> None:
        """Insert or replace several step rows ``(position, step)`` in one transaction.

        The runner marks a run's first started step (with the skipped steps before it) this
        way, ``durable=True``: from that commit on a crash leaves the run ``interrupted``.
        """
        with self._transaction(durable=durable) as conn:
            _write_steps(conn, run_id, steps)

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: str,
        duration_ms: int,
        error: Mapping[str, Any] | None = None,
        steps: Sequence[tuple[int, Mapping[str, Any]]] = (),
    ) -> None:
        """Settle a run with its final status, writing its ``steps`` rows in the same commit."""
        if status not in RUN_STATUSES:
            raise ConfigurationError(f"not a run status: {status!r}")
        with self._transaction() as conn:
            _write_steps(conn, run_id, steps)
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ? "
                "WHERE id = ?",
                (status, finished_at, duration_ms, _dumps(error), run_id),
            )

    # -- reading ------------------------------------------------------------------------------

    def has_run(self, workflow: str, instance_id: str | None, event_key: str) -> bool:
        """Whether (workflow, instance, event key) already has a run."""
        row = self._connection().execute(
            "SELECT 1 FROM runs WHERE workflow = ? AND instance_id IS ? AND event_key = ?",
            (workflow, instance_id, event_key),
        ).fetchone()
        return row is not None

    def list_runs(
        self, *, limit: int = 20, workflow: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest runs first (without steps; ``steps`` counts them by status)."""
        rows = self._connection().execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE (? IS NULL OR workflow = ?) "
            "AND (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
            (workflow, workflow, status, status, limit),
        ).fetchall()
        runs = [self._row(_RUN_COLUMNS, row) for row in rows]
        for run in runs:
            run.pop("event")
            run["steps"] = dict(self._connection().execute(
                "SELECT status, COUNT(*) FROM steps WHERE run_id = ? GROUP BY status",
                (run["id"],),
            ).fetchall())
        return runs

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run with its event and its steps in order, or None."""
        conn = self._connection()
        row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        run = self._row(_RUN_COLUMNS, row)
        run["steps"] = [
            self._row(_STEP_COLUMNS, step)
            for step in conn.execute(
                f"SELECT {_STEP_COLUMNS} FROM steps WHERE run_id = ? ORDER BY position",
                (run_id,),
            )
        ]
        return run

    @staticmethod
    def _row(columns: str, row: tuple[Any, ...]) -> dict[str, Any]:
        names = [name.strip() for name in columns.split(",")]
        return {
            name: json.loads(value) if name in _JSON_COLUMNS and value is not None else value
            for name, value in zip(names, row, strict=True)
        }


def _write_steps(
    conn: sqlite3.Connection, run_id: int, steps: Sequence[tuple[int, Mapping[str, Any]]]
) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO steps (run_id, {_STEP_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id, position, step["step_id"], step["action"], step["status"],
                step.get("started_at"), step.get("finished_at"), step.get("duration_ms"),
                _dumps(step.get("input")), _dumps(step.get("output")), _dumps(step.get("error")),
            )
            for position, step in steps
        ],
    )


__all__ = [
    "HISTORY_DB_ENV",
    "RUN_STATUSES",
    "STEP_STATUSES",
    "HistoryStore",
    "default_history_path",
]
