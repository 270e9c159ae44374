"""A minimal durable webhook pipeline, the baseline of ``bench.webhook_pipeline``.

    python -m bench._minimal_pipeline --sandbox URL --db FILE --body FILE [--port 0]

The least a pipeline with the runtime's durability must do per event, and nothing else:

- receiver (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive, TCP_NODELAY): read the body,
  parse the JSON, ONE insert into a SQLite table (WAL, ``synchronous=FULL``: on disk before the
  answer), answer 200 ``{"Status":"Success"}``; a duplicate key is answered 200, not stored;
- one worker thread, woken by the receiver (a condition variable, no polling): claim the oldest
  pending row (one commit), send the same ``SendEmailToLead`` request the runtime sends (the
  body captured from the runtime's own call, ``Recipient`` set to the event's email) with a
  ``requests.Session`` to the same sandbox, mark the row done with its finish time (one
  commit). Those two commits are ``synchronous=NORMAL`` (they survive a crash of the process).

No templates, validation, redaction, run history or retries: this is the floor, not a product.
Prints one JSON line ``{"base_url": ...}`` once it serves, then serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
    "payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', finished_at REAL)"
)
OK = b'{"Status": "Success"}'


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


class Pipeline:
    """The table, the wake-up and the worker."""

    def __init__(self, db: str, sandbox: str, body: dict[str, Any],
                 headers: dict[str, str]) -> None:
        self.db = db
        self.url = sandbox.rstrip("/") + "/v2/EmailMarketing.svc/SendEmailToLead"
        self.body, self.headers = body, headers
        self.local = threading.local()
        self.wake = threading.Condition()
        self.pending = 0
        connect(db, "FULL").execute(SCHEMA)

    def accept(self, event: dict[str, Any]) -> None:
        """One durable insert (the receiver thread's own connection), then wake the worker."""
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = connect(self.db, "FULL")
        new = conn.execute(
            "INSERT INTO events (key, payload) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (str(event["ProspectID"]), json.dumps(event)),
        ).rowcount
        if new:
            with self.wake:
                self.pending += 1
                self.wake.notify()

    def work(self) -> None:
        conn = connect(self.db, "NORMAL")
        session = requests.Session()
        while True:
            with self.wake:
                while not self.pending:
                    self.wake.wait()
                self.pending -= 1
            row = conn.execute(
                "UPDATE events SET status = 'processing' WHERE id = (SELECT id FROM events "
                "WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING id, payload"
            ).fetchone()
            if row is None:
                continue
            event = json.loads(row[1])
            data = json.dumps({**self.body, "Recipient": event["EmailAddress"]},
                              ensure_ascii=False, separators=(",", ":")).encode()
            answer = session.post(self.url, data=data, headers=self.headers, timeout=30)
            status = "done" if answer.status_code == 200 else "failed"
            conn.execute("UPDATE events SET status = ?, finished_at = ? WHERE id = ?",
                         (status, time.time(), row[0]))


def handler_for(pipeline: Pipeline) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes: without TCP_NODELAY, Nagle holds the
        # second until the client's delayed ACK (~40 ms per request on loopback, measured).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            pipeline.accept(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(OK)))
            self.end_headers()
            self.wfile.write(OK)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._minimal_pipeline")
    parser.add_argument("--sandbox", required=True, help="the sandbox's base URL")
    parser.add_argument("--db", required=True, help="the SQLite file")
    parser.add_argument("--body", required=True,
                        help="JSON file: {'body': SendEmailToLead body, 'headers': {...}}")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    call = json.loads(Path(args.body).read_text(encoding="utf-8"))
    pipeline = Pipeline(args.db, args.sandbox, call["body"], call["headers"])
    threading.Thread(target=pipeline.work, name="minimal-worker", daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(pipeline))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(json.dumps({"base_url": f"http://{host}:{port}"}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
