"""Run history: every workflow run and its steps.

Where: ``$LSQ_HISTORY_DB``, else ``history.sqlite3`` next to the trigger state file (by
default ``.lsq/history.sqlite3``), or the PostgreSQL database of ``--database``. A SQLite
history is a file of its own, not tables in the state file: the state file holds webhook
secrets and is shared with the receiver; history holds only redacted data, grows with every
run and is pruned on its own schedule (:meth:`HistoryStore.prune`, never a ``running`` run).

Tables::

    runs   (id, workflow, source, trigger_key, origin, instance_id, event_key, status,
            started_at, finished_at, duration_ms, event, error, retry_of, retry_from)
    steps  (run_id, position, step_id, action, status, started_at, finished_at,
            duration_ms, input, output, error, reused_from)

Retries (:meth:`HistoryStore.start_retry`): a new run with ``retry_of`` (the run it retries)
and ``retry_from`` (the step it starts from; NULL: from the start), no event key (it never
counts as the event's exactly-once run). The steps before ``retry_from`` are copies of the
retried run's records with ``reused_from`` set: they did not run again.

Exactly-once processing: a run started for an inbox event carries ``(instance_id, event_key)``
and ``(workflow, instance_id, event_key)`` is unique, so :meth:`HistoryStore.start_run` hands
out a run for it at most once. A run left ``running`` by a crash is resumed only when none of
its steps had started (nothing can have reached LeadSquared); otherwise it becomes
``interrupted`` and is never run again (a step may have written already: rerunning could
duplicate it). Manual runs (``lsq run``) have no event key and may repeat.

Commits per run (the runner's, :meth:`WorkflowRunner._start
<runtime.workflows.runner.WorkflowRunner._start>`):

- a run whose steps only read (``find_``/``list_``): ONE commit, not durable, at its end: the
  finished run with every step (:meth:`HistoryStore.record_run`). It has no row while it runs
  (a look-up first skips an event that already ran); killed mid-way it leaves none, and its
  event runs it again: nothing was written. The insert is ``ON CONFLICT DO NOTHING`` on the
  event key, so a run of the same event that committed meanwhile wins and this one is
  dropped (``run`` returns None).
- any other run: the run row; the first step that may write marked ``running``, with the
  steps before it, the one durable commit, as it decides exactly-once (when that is the first
  step, without a ``when``, the run row and the mark are that one commit); then every step's
  record with the final status, in one commit. Killed before its first step that may write,
  it has no started step and its event runs it again.

Concurrent runs' writes share transactions (:mod:`runtime.store.group_commit`; durable when
one of them asks). The other commits survive a crash of the process, not necessarily of the
machine (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off`` for them); the
durable one also flushes those before it. A crash mid-run therefore shows the first step that
may write as ``running`` (the run becomes ``interrupted``), not the steps after it. Run ids
follow the order of the first commits: a read-only run gets its id when it ends.

Statuses: run ``running | succeeded | failed | completed_with_errors | interrupted``;
step ``running | succeeded | failed | skipped | not_run``. Values stored are already redacted
by the runner; this module never sees a secret.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime.clock import to_iso, utc_now
from runtime.errors import ConfigurationError
from runtime.store import schema
from runtime.store.database import Database, Transaction
from runtime.store.group_commit import GroupCommit
from runtime.store.sqlite_backend import SQLiteDatabase
from runtime.store.state import PRUNE_BATCH, default_state_path, delete_in_batches
from runtime.text import json_record

HISTORY_DB_ENV = "LSQ_HISTORY_DB"
HISTORY_FILE = "history.sqlite3"
BUSY_TIMEOUT_SECONDS = 30.0
RUN_STATUSES = ("running", "succeeded", "failed", "completed_with_errors", "interrupted")
STEP_STATUSES = ("running", "succeeded", "failed", "skipped", "not_run")

_RUN_COLUMNS = (
    "id, workflow, source, trigger_key, origin, instance_id, event_key, status, started_at, "
    "finished_at, duration_ms, event, error, retry_of, retry_from"
)
_STEP_COLUMNS = (
    "position, step_id, action, status, started_at, finished_at, duration_ms, input, output, "
    "error, reused_from"
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
    # json_record: a lone surrogate (half an emoji in a lead's name) is kept as its JSON escape
    return None if value is None else json_record(value)


class HistoryStore(schema.DatabaseStore):
    """The run history. Thread-safe (pooled connections), multi-process safe.

    ``HistoryStore(path)`` opens (and creates) a SQLite file, upgrading its schema;
    ``HistoryStore(database=db)`` uses a database opened by :mod:`runtime.store.storage`.
    """

    component = schema.HISTORY

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        database: Database | None = None,
        owns_database: bool = False,
    ) -> None:
        if database is not None:
            self._attach(database, owns=owns_database)
            return
        file = Path(path) if path is not None else default_history_path(environ)
        # NORMAL: a commit survives a crash of this process; only the commits that decide
        # exactly-once (see _durable) wait for the disk (FULL), which also flushes the earlier
        # ones: the WAL is one file, written in order.
        self._attach(SQLiteDatabase(file, busy_timeout=BUSY_TIMEOUT_SECONDS, synchronous="NORMAL",
                                    what="the run history", env_hint=HISTORY_DB_ENV), owns=True)

    @functools.cached_property
    def _writes(self) -> GroupCommit:
        """The runs' writes of concurrent workers share commits: with 4 workers, each run's
        durable commit held the file's write lock through its fsync while the other workers'
        commits queued behind it (8 ms a finish_run under load, profiled; issue 14)."""
        return GroupCommit(self.db)

    def _durable(self, run_id: int, position: int, status: str) -> bool:
        """Whether this step save decides exactly-once: the run's first step that starts.

        From that commit on, a crash leaves the run ``interrupted`` (never run again), so it
        must survive a power loss; later saves only refine what the history shows, and a lost
        one still leaves the run interrupted, never repeated.
        """
        if status != "running":
            return False
        earlier = self.db.query(
            "SELECT 1 FROM steps WHERE run_id = ? AND position < ? "
            "AND status NOT IN ('not_run', 'skipped') AND reused_from IS NULL LIMIT 1",
            (run_id, position),
        )
        return not earlier

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
        steps: Sequence[tuple[int, Mapping[str, Any]]] = (),
        durable: bool = False,
    ) -> int | None:
        """Record a new ``running`` run and return its id.

        With an ``event_key``: None when this (workflow, instance, event) already has a run
        (finished, or interrupted after a step started); a crashed run whose steps never
        started is handed out again (same id, its old steps cleared).

        ``steps`` (rows ``(position, step)``) are written in the same commit, ``durable`` or
        not: the runner marks a run's first step that may write ``running`` this way when it
        is the first step (one durable commit instead of two commits; see the module doc).
        """
        now = started_at or to_iso(utc_now())

        def write(tx: Transaction) -> int | None:
            run_id, _ = self._insert_run(tx, workflow, trigger_key, origin, event, source,
                                         instance_id, event_key, now)
            if run_id is not None:
                _write_steps(tx, run_id, steps)
            return run_id

        return self._writes.run(write, durable=durable)

    def record_run(
        self,
        *,
        workflow: str,
        trigger_key: str,
        origin: str,
        event: Any,
        started_at: str,
        status: str,
        finished_at: str,
        duration_ms: int,
        error: Mapping[str, Any] | None = None,
        steps: Sequence[tuple[int, Mapping[str, Any]]] = (),
        source: str | None = None,
        instance_id: str | None = None,
        event_key: str | None = None,
    ) -> int | None:
        """Record a run that already finished, with its steps, in one (non-durable) commit;
        its id, or None when the event key already has a run (as :meth:`start_run`: a
        crashed ``running`` run of it whose steps never started is taken over, one with a
        started step becomes ``interrupted``).

        For runs that only read (no step may write to LeadSquared): they need no ``running``
        row while they run, since a crash mid-way wrote nothing and the event's redelivery
        runs them again. Measured (issue 14): start_run + finish_run, two commits, cost
        210 us of a 5-step run's 706 us of CPU.
        """
        if status not in RUN_STATUSES:
            raise ConfigurationError(f"not a run status: {status!r}")

        def write(tx: Transaction) -> int | None:
            run_id, inserted = self._insert_run(
                tx, workflow, trigger_key, origin, event, source, instance_id, event_key,
                started_at, status=status, finished_at=finished_at, duration_ms=duration_ms,
                error=error,
            )
            if run_id is None:
                return None
            _write_steps(tx, run_id, steps)
            if not inserted:  # a crashed run of this event taken over: settle it
                _settle(tx, run_id, status, finished_at, duration_ms, error)
            return run_id

        return self._writes.run(write, durable=False)

    def _insert_run(
        self, tx: Transaction, workflow: str, trigger_key: str, origin: str, event: Any,
        source: str | None, instance_id: str | None, event_key: str | None, now: str,
        *, status: str = "running", finished_at: str | None = None,
        duration_ms: int | None = None, error: Mapping[str, Any] | None = None,
    ) -> tuple[int | None, bool]:
        """The id of the new run row (with ``status`` and the rest), or of the crashed run
        of this event taken over (:meth:`_resume`), or None; and whether it is a new row."""
        # With an instance the unique index (workflow, instance_id, event_key) turns a
        # repeat into DO NOTHING below and the look-up after it finds the run: no SELECT
        # first (one statement less per run of lsq serve). Without one, NULLs never
        # conflict, so the look-up comes first.
        if event_key is not None and instance_id is None:
            row = _find_run(tx, workflow, instance_id, event_key)
            if row is not None:
                return self._resume(tx, row[0], row[1], now), False
        run_id = tx.execute(
            "INSERT INTO runs (workflow, source, trigger_key, origin, instance_id, event_key, "
            "status, started_at, finished_at, duration_ms, event, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (workflow, instance_id, event_key) WHERE event_key IS NOT NULL "
            "DO NOTHING RETURNING id",
            (workflow, source, trigger_key, origin, instance_id, event_key, status, now,
             finished_at, duration_ms, _dumps(event), _dumps(error)),
        ).scalar()
        if run_id is None:  # another process inserted it since the look-up
            row = _find_run(tx, workflow, instance_id, event_key)
            return (None if row is None else self._resume(tx, row[0], row[1], now)), False
        return int(run_id), True

    def start_retry(
        self,
        retried: int,
        *,
        started_at: str | None = None,
        retry_from: str | None = None,
        after_unfinished: bool = False,
    ) -> RetryStart:
        """Record a ``running`` retry of run ``retried`` (its workflow, trigger, instance and
        event), unless a retry of it already succeeded or is still ``running`` (it may be
        writing now, or its process stopped mid-step; ``after_unfinished`` accepts that).

        Retries of one run are serialized: the check and the insert are one transaction that
        first locks the retried run's row, so two Retry clicks never both start.
        """
        now = started_at or to_iso(utc_now())
        with self.db.transaction(durable=False) as tx:
            # A no-op update takes the row's lock on PostgreSQL (a SQLite write transaction
            # already holds the whole file).
            if tx.execute("UPDATE runs SET retry_of = retry_of WHERE id = ?",
                          (retried,)).rowcount != 1:
                return RetryStart(None)
            for other, status in tx.execute(
                "SELECT id, status FROM runs WHERE retry_of = ? "
                "AND status IN ('running', 'succeeded') ORDER BY status DESC, id", (retried,),
            ).rows:
                if status == "succeeded" or not after_unfinished:
                    return RetryStart(None, blocked_by=int(other), blocked_status=status)
            run_id = tx.execute(
                "INSERT INTO runs (workflow, source, trigger_key, origin, instance_id, status, "
                "started_at, event, retry_of, retry_from) SELECT workflow, source, trigger_key, "
                "'retry', instance_id, 'running', ?, event, id, ? FROM runs WHERE id = ? "
                "RETURNING id",
                (now, retry_from, retried),
            ).scalar()
            return RetryStart(int(run_id))

    @staticmethod
    def _resume(tx: Transaction, run_id: int, status: str, now: str) -> int | None:
        if status != "running":
            return None
        started = tx.execute(
            "SELECT step_id FROM steps WHERE run_id = ? AND status NOT IN ('not_run', 'skipped') "
            "ORDER BY position LIMIT 1", (run_id,),
        ).first()
        if started is not None:
            error = {
                "type": "Interrupted",
                "category": "interrupted",
                "message": f"the run stopped while step '{started[0]}' was running; it is not "
                "run again because that step may already have written to LeadSquared",
            }
            tx.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?",
                (now, _dumps(error), run_id),
            )
            return None
        tx.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
        tx.execute("UPDATE runs SET started_at = ? WHERE id = ?", (now, run_id))
        return int(run_id)

    def save_step(self, run_id: int, position: int, step: Mapping[str, Any]) -> None:
        """Insert or replace one step row (``step`` holds the columns, JSON values as data).

        The save of a run's first started step is durable (see :meth:`_durable`).
        """
        durable = self._durable(run_id, position, step["status"])
        with self.db.transaction(durable=durable) as tx:
            _write_steps(tx, run_id, [(position, step)])

    def save_steps(
        self, run_id: int, steps: Sequence[tuple[int, Mapping[str, Any]]], *, durable: bool
    ) -> None:
        """Insert or replace several step rows ``(position, step)`` in one transaction.

        The runner marks a run's first step that may write (with the steps before it) this
        way, ``durable=True``: from that commit on a crash leaves the run ``interrupted``.
        """
        self._writes.run(lambda tx: _write_steps(tx, run_id, steps), durable=durable)

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

        def write(tx: Transaction) -> None:
            _write_steps(tx, run_id, steps)
            _settle(tx, run_id, status, finished_at, duration_ms, error)

        self._writes.run(write, durable=False)

    # -- reading ------------------------------------------------------------------------------

    def run_status(self, workflow: str, instance_id: str | None, event_key: str) -> str | None:
        """The status of the run of (workflow, instance, event key), or None (no run)."""
        with self.db.read() as tx:
            row = _find_run(tx, workflow, instance_id, event_key)
        return None if row is None else str(row[1])

    def has_run(self, workflow: str, instance_id: str | None, event_key: str) -> bool:
        """Whether (workflow, instance, event key) already has a run."""
        with self.db.read() as tx:
            return _find_run(tx, workflow, instance_id, event_key) is not None

    def list_runs(
        self,
        *,
        limit: int = 20,
        workflow: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """The newest runs first (without steps; ``steps`` counts them by status, a retry's
        reused steps as ``reused``).

        ``since`` / ``until``: stored UTC times (:func:`runtime.clock.to_iso`), start time
        ``>= since`` and ``< until``; ``before``: only runs with a smaller id (the next page).
        """
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE (CAST(? AS TEXT) IS NULL OR workflow = ?) "
                "AND (CAST(? AS TEXT) IS NULL OR status = ?) "
                "AND (CAST(? AS TEXT) IS NULL OR started_at >= ?) "
                "AND (CAST(? AS TEXT) IS NULL OR started_at < ?) "
                "AND (CAST(? AS BIGINT) IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
                (workflow, workflow, status, status, since, since, until, until, before, before,
                 limit),
            ).rows
            runs = [self._row(_RUN_COLUMNS, row) for row in rows]
            for run in runs:
                run.pop("event")
                run["steps"] = dict(tx.execute(
                    "SELECT CASE WHEN reused_from IS NULL THEN status ELSE 'reused' END, "
                    "COUNT(*) FROM steps WHERE run_id = ? GROUP BY 1", (run["id"],),
                ).rows)
        return runs

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        """One run with its event and its steps in order, or None."""
        with self.db.read() as tx:
            row = tx.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).first()
            if row is None:
                return None
            steps = tx.execute(
                f"SELECT {_STEP_COLUMNS} FROM steps WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).rows
            retries = tx.execute(
                "SELECT id, status, retry_from, started_at FROM runs WHERE retry_of = ? "
                "ORDER BY id", (run_id,),
            ).rows
        run = self._row(_RUN_COLUMNS, row)
        run["steps"] = [self._row(_STEP_COLUMNS, step) for step in steps]
        run["retries"] = [
            {"id": other, "status": status, "retry_from": step, "started_at": started}
            for other, status, step, started in retries
        ]
        return run

    def workflows(self, limit: int = 200) -> list[str]:
        """The names of the workflows with runs, sorted (at most ``limit``)."""
        rows = self.db.query("SELECT DISTINCT workflow FROM runs ORDER BY workflow LIMIT ?",
                             (limit,))
        return [row[0] for row in rows]

    def count(self) -> int:
        """How many runs the history holds."""
        return int(self.db.query("SELECT COUNT(*) FROM runs")[0][0])

    # -- retention ----------------------------------------------------------------------------

    def prune(
        self, before: datetime, *, keep: int | None = None, batch_size: int = PRUNE_BATCH
    ) -> dict[str, int]:
        """Delete finished runs (with their steps) started before ``before``, and beyond the
        newest ``keep`` runs; a ``running`` run is never deleted. Deletes in transactions of
        ``batch_size`` runs (short write locks); returns ``{"runs": deleted}``."""
        deleted = delete_in_batches(
            self.db, "runs", "id",
            "SELECT id FROM runs WHERE started_at < ? AND status != 'running'",
            (to_iso(before),), batch_size,
        )
        if keep is not None:
            boundary = self.db.query(
                "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?", (max(keep, 0),)
            )
            if boundary:
                deleted += delete_in_batches(
                    self.db, "runs", "id",
                    "SELECT id FROM runs WHERE id <= ? AND status != 'running'",
                    (boundary[0][0],), batch_size,
                )
        return {"runs": deleted}

    @staticmethod
    def _row(columns: str, row: tuple[Any, ...]) -> dict[str, Any]:
        names = [name.strip() for name in columns.split(",")]
        return {
            name: json.loads(value) if name in _JSON_COLUMNS and value is not None else value
            for name, value in zip(names, row, strict=True)
        }


@dataclass(frozen=True)
class RetryStart:
    """What :meth:`HistoryStore.start_retry` did: the new run's id, or why none was started
    (no such run: all None; else the retry that blocks it and that one's status)."""

    run_id: int | None
    blocked_by: int | None = None
    blocked_status: str | None = None


def _find_run(
    tx: Transaction, workflow: str, instance_id: str | None, event_key: str
) -> tuple[Any, ...] | None:
    """(id, status) of the run of (workflow, instance, event key), or None."""
    if instance_id is None:
        return tx.execute(
            "SELECT id, status FROM runs WHERE workflow = ? AND instance_id IS NULL "
            "AND event_key = ?", (workflow, event_key),
        ).first()
    return tx.execute(
        "SELECT id, status FROM runs WHERE workflow = ? AND instance_id = ? AND event_key = ?",
        (workflow, instance_id, event_key),
    ).first()


def _settle(
    tx: Transaction, run_id: int, status: str, finished_at: str, duration_ms: int,
    error: Mapping[str, Any] | None,
) -> None:
    tx.execute(
        "UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ? WHERE id = ?",
        (status, finished_at, duration_ms, _dumps(error), run_id),
    )


_STEP_UPDATES = ", ".join(
    f"{name.strip()} = excluded.{name.strip()}" for name in _STEP_COLUMNS.split(",")[1:]
)


def _write_steps(
    tx: Transaction, run_id: int, steps: Sequence[tuple[int, Mapping[str, Any]]]
) -> None:
    if not steps:
        return
    tx.executemany(
        f"INSERT INTO steps (run_id, {_STEP_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        f"ON CONFLICT (run_id, position) DO UPDATE SET {_STEP_UPDATES}",
        [
            (
                run_id, position, step["step_id"], step["action"], step["status"],
                step.get("started_at"), step.get("finished_at"), step.get("duration_ms"),
                _dumps(step.get("input")), _dumps(step.get("output")), _dumps(step.get("error")),
                step.get("reused_from"),
            )
            for position, step in steps
        ],
    )


__all__ = [
    "HISTORY_DB_ENV",
    "RUN_STATUSES",
    "STEP_STATUSES",
    "HistoryStore",
    "RetryStart",
    "default_history_path",
]
