"""Store hot path: one webhook event's storage (accept, claim, mark done) through the store
vs the same statements on one hand-held sqlite3 connection.

Store: ``Inbox`` over a ``StateStore`` file (pooled connections borrowed per transaction,
faults classified, portable SQL): ``accept_delivery`` with its raw body, ``claim_next``,
``mark_done``, three durable commits. Baseline: the strongest fair hand-written equivalent,
the design before the pool: one connection held open, the same SQL text, WAL,
``synchronous=FULL``, ``BEGIN IMMEDIATE``, the same three commits, on a file with the same
schema. Interleaved, one event of each at a time. Figures: median time per operation; the ratio
is store/baseline of one event's three operations. With ``--database URL`` (an upgraded
PostgreSQL database) the store's times there are reported too (no baseline, no target).

    python -m bench.store_ops [--events 1000] [--database postgresql://...]
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from runtime.store.storage import open_state

from ._common import Result, finish, interleaved, median, ms, parser, quiet_logs

TARGET = 1.15
INSTANCE = "new_lead-" + "0" * 20
EVENT = {"ProspectID": "lead", "FirstName": "Bench", "Notes": "x" * 600}
BODY = json.dumps(EVENT).encode()


class RawInbox:
    """The baseline: the inbox's statements on one connection, committed as the store does."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = FULL",
                       "foreign_keys = ON"):
            self.conn.execute(f"PRAGMA {pragma}")

    def accept(self, key: str, now: str) -> None:
        conn, payload = self.conn, json.dumps(EVENT, separators=(",", ":"))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT 1 FROM dedupe WHERE instance_id = ? AND event_key = ?",
                     (INSTANCE, key)).fetchall()
        delivery = conn.execute(
            "INSERT INTO deliveries (instance_id, received_at, content_type, raw_body) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            (INSTANCE, now, "application/json", BODY),
        ).fetchall()[0][0]
        conn.execute("INSERT INTO dedupe (instance_id, event_key, recorded_at) VALUES (?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (INSTANCE, key, now))
        conn.execute(
            "INSERT INTO inbox (instance_id, event_key, delivery_id, received_at, content_type, "
            "payload, status, attempts, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (INSTANCE, key, delivery, now, "application/json", payload, "pending", None, now),
        )
        conn.execute("COMMIT")

    def claim(self, now: str) -> tuple[int, str]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "SELECT id, instance_id, event_key, delivery_id, received_at, content_type, payload, "
            "status, attempts, error, claim_token FROM inbox WHERE (status = 'pending' OR "
            "(status = 'processing' AND claimed_until < ?)) AND (CAST(? AS TEXT) IS NULL OR "
            "instance_id = ?) ORDER BY id LIMIT 1", (now, INSTANCE, INSTANCE),
        ).fetchall()[0]
        json.loads(row[6])
        token = f"bench:{uuid.uuid4().hex}"
        conn.execute("UPDATE inbox SET status = 'processing', attempts = attempts + 1, "
                     "claim_token = ?, claimed_until = ?, updated_at = ? WHERE id = ?",
                     (token, now, now, row[0]))
        conn.execute("COMMIT")
        return row[0], token

    def finish(self, claimed: tuple[int, str], now: str) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE inbox SET status = ?, error = ?, claim_token = NULL, "
                     "claimed_until = NULL, updated_at = ? WHERE id = ? AND status = "
                     "'processing' AND claim_token = ?", ("done", None, now, *claimed))
        conn.execute("COMMIT")


def timed(parts: dict[str, list[float]], name: str, call: Callable[[], object]) -> object:
    started = time.perf_counter()
    value = call()
    parts[name].append(time.perf_counter() - started)
    return value


def store_event(inbox: Inbox, keys: itertools.count, parts: dict[str, list[float]]) -> None:
    key = f"k{next(keys)}"
    timed(parts, "accept", lambda: inbox.accept_delivery(
        INSTANCE, [(key, EVENT)], content_type="application/json", raw_body=BODY))
    item = timed(parts, "claim", lambda: inbox.claim_next(INSTANCE))
    timed(parts, "finish", lambda: inbox.mark_done(item))  # type: ignore[arg-type]


def raw_event(raw: RawInbox, keys: itertools.count, parts: dict[str, list[float]]) -> None:
    key, now = f"k{next(keys)}", "2025-01-01T00:00:00.000000Z"
    timed(parts, "accept", lambda: raw.accept(key, now))
    claimed = timed(parts, "claim", lambda: raw.claim(now))
    timed(parts, "finish", lambda: raw.finish(claimed, now))  # type: ignore[arg-type]


def run(events: int, database: str | None) -> Result:
    operations = ("accept", "claim", "finish")
    store_parts: dict[str, list[float]] = {name: [] for name in operations}
    raw_parts: dict[str, list[float]] = {name: [] for name in operations}
    with tempfile.TemporaryDirectory() as scratch, quiet_logs():
        StateStore(Path(scratch) / "raw.sqlite3").close()  # the same schema, by the store
        raw = RawInbox(Path(scratch) / "raw.sqlite3")
        with StateStore(Path(scratch) / "state.sqlite3") as store:
            inbox = Inbox(store)
            store_keys, raw_keys = itertools.count(), itertools.count()
            store_event(inbox, store_keys, {name: [] for name in operations})  # warm-up
            raw_event(raw, raw_keys, {name: [] for name in operations})
            samples = interleaved({
                "store": lambda: store_event(inbox, store_keys, store_parts),
                "raw": lambda: raw_event(raw, raw_keys, raw_parts),
            }, rounds=events)
        raw.conn.close()
    ratio = median(samples["store"]) / median(samples["raw"])
    result = Result(
        "store_ops", "Store hot path: accept + claim + mark done, store vs one raw connection",
        ratio_label="store/raw sqlite3 per event", ratio=ratio, target=f"<= {TARGET}",
        met=ratio <= TARGET,
    )
    result.add("events each", events)
    for name in operations:
        result.add(f"{name} (SQLite)", f"store {ms(median(store_parts[name]))}, raw "
                                       f"{ms(median(raw_parts[name]))}")
    result.add("commits per event", "3 (one durable commit per operation), both")
    if database:
        result.add("PostgreSQL", _postgres_figures(database, events))
    return result


def _postgres_figures(url: str, events: int) -> str:
    parts: dict[str, list[float]] = {"accept": [], "claim": [], "finish": []}
    with quiet_logs(), open_state(url) as store:
        inbox, keys = Inbox(store), itertools.count()
        for _ in range(events):
            store_event(inbox, keys, parts)
    return ", ".join(f"{name} {ms(median(values))}" for name, values in parts.items())


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("store_ops", __doc__ or "")
    args_parser.add_argument("--events", type=int, default=1000, help="events of each")
    args_parser.add_argument("--database", help="also time the store on this PostgreSQL URL")
    args = args_parser.parse_args(argv)
    return finish(run(args.events, args.database), args.json)


if __name__ == "__main__":
    sys.exit(main())
