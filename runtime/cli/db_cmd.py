"""``lsq db status|upgrade|prune``: the storage's schema and retention.

- ``status``: per database (the SQLite state and history files, or the PostgreSQL database of
  ``--database``), the schema version found and the one this lsq needs. Reads only. Exit 1
  when a PostgreSQL database needs ``lsq db upgrade`` (SQLite files upgrade themselves).
- ``upgrade``: applies the pending migrations (all in one transaction per database). Required
  once for a PostgreSQL database, and after an lsq upgrade that brings new migrations; other
  commands refuse a PostgreSQL database at another version. Safe to run at any time, and by
  several processes at once.
- ``prune [--days N] [--max-runs N]``: deletes run history and trigger state older than the
  retention (default 30 days, ``$LSQ_RETENTION_DAYS``; at most 100,000 runs,
  ``$LSQ_RETENTION_MAX_RUNS``), never a running run, a pending event, a cursor or a
  subscription (see :mod:`runtime.store.retention`). Cheap enough for a cron job.

Database URLs are always shown without their password.
"""

from __future__ import annotations

import argparse

from runtime.cli.common import (
    add_group,
    add_json_option,
    database_option,
    open_storage_for,
    print_json,
)


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, "db", "storage schema (status, upgrade) and retention",
                        dest="db_action")

    status = actions.add_parser("status", help="schema version found and needed, per database")
    add_json_option(status)
    status.set_defaults(func=run_status)

    upgrade = actions.add_parser("upgrade", help="apply pending schema migrations")
    add_json_option(upgrade)
    upgrade.set_defaults(func=run_upgrade)

    prune = actions.add_parser("prune", help="delete history and state past the retention")
    prune.add_argument("--days", type=_positive, metavar="N",
                       help="keep N days (default: $LSQ_RETENTION_DAYS, else 30)")
    prune.add_argument("--max-runs", type=_positive, metavar="N",
                       help="keep at most N runs (default: $LSQ_RETENTION_MAX_RUNS, else 100000)")
    add_json_option(prune)
    prune.set_defaults(func=run_prune)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def run_status(args: argparse.Namespace) -> int:
    from runtime.store.storage import schema_status

    url = database_option(args)
    report = schema_status(url)
    behind = url is not None and not all(state.current for _, state in report)
    queue = _queue_present(url) if url is not None else None
    behind = behind or queue is False
    if args.json:
        databases = [{"what": what, **state.to_dict()} for what, state in report]
        if queue is not None:
            databases.append({"what": "job queue", "location": report[0][1].location,
                              "current": queue})
        print_json({"backend": "postgresql" if url else "sqlite", "databases": databases},
                   compact=True)
        return 1 if behind else 0
    for what, state in report:
        if state.current:
            note = "current"
        elif url is not None:
            note = "run `lsq db upgrade`"
        elif state.found == 0:
            note = "created on first use"
        else:
            note = "upgraded on next use"
        print(f"{what}: {state.location}: schema version {state.found} of {state.needed} "
              f"({note})")
    if queue is not None:
        print(f"job queue: {report[0][1].location}: "
              + ("procrastinate schema present" if queue
                 else "no procrastinate schema (run `lsq db upgrade`; `lsq worker` needs it)"))
    return 1 if behind else 0


def _queue_present(url: str) -> bool | None:
    """Whether procrastinate's tables are in the database (None: the [workers] extra is not
    installed, so neither `lsq db upgrade` nor `lsq worker` would use them)."""
    try:
        from runtime.workers.schema import queue_schema_present
    except ImportError:
        return None
    return queue_schema_present(url)


def run_upgrade(args: argparse.Namespace) -> int:
    from runtime.store.storage import upgrade_schema

    url = database_option(args)
    done = upgrade_schema(url)
    if url is not None:
        done += _queue_schema(url, done[0][1])
    if args.json:
        print_json([{"what": what, "location": where, "applied": applied}
                    for what, where, applied in done], compact=True)
        return 0
    for what, where, applied in done:
        print(f"{what}: {where}: " + (f"applied {', '.join(applied)}" if applied
                                       else "already current"))
    return 0


def _queue_schema(url: str, location: str) -> list[tuple[str, str, list[str]]]:
    """procrastinate's tables for ``lsq worker`` (when the [workers] extra is installed)."""
    try:
        from runtime.workers.schema import apply_queue_schema
    except ImportError:
        return []
    return [("job queue", location, ["procrastinate schema"] if apply_queue_schema(url) else [])]


def run_prune(args: argparse.Namespace) -> int:
    from runtime.store.retention import Retention

    retention = Retention.from_env(days=args.days, max_runs=args.max_runs)
    with open_storage_for(args) as storage:
        deleted = storage.prune(retention)
    if args.json:
        print_json({"days": retention.days, "max_runs": retention.max_runs,
                    "deleted": deleted}, compact=True)
        return 0
    print(f"kept {retention.days} days and at most {retention.max_runs} runs; deleted "
          + ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in deleted.items()))
    return 0
