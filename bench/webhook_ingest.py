"""Webhook ingest: deliveries per second stored durably by the receiver vs a bare 200 app.

Both apps are served the same way: a werkzeug threaded server in this process, on loopback.
Receiver: ``runtime.webhooks.WebhookReceiver`` with a StateStore on a temp file and a
subscription for a new_lead instance (secret header checked, body parsed, event keyed and
committed to the inbox before the 200). Bare: a WSGI app that reads the body and answers 200
without storing. One client loop (``requests.Session``) sends the same kind of delivery (a new
lead, a distinct one each time) to both, interleaved in blocks. Figures: deliveries per
second (1 / median latency of one sequential client), p99 latency, ratio receiver/bare of the
median latency.

    python -m bench.webhook_ingest [--deliveries 2000]
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from runtime.engine.receiver import SECRET_HEADER, WebhookReceiver, hook_path
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id

from ._common import Result, finish, interleaved, median, ms, parser, percentile, quiet_logs

BLOCK = 10
SECRET = "bench-webhook-secret-0123456789"


def bare_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reads the body, answers 200 ``{"Status":"Success"}``, stores nothing."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"Status": "Success"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def serve(app: Any) -> tuple[Any, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"


def run(deliveries: int) -> Result:
    import requests

    with tempfile.TemporaryDirectory() as scratch, quiet_logs():
        store = StateStore(Path(scratch) / "state.sqlite3")
        instance = instance_id("new_lead", {}, account="bench@api-in21.leadsquared.com")
        store.save_subscription(Subscription(instance, "hook-1", SECRET, "", "1"))
        receiver = WebhookReceiver(store, event_keys={"new_lead": _lead_key})
        servers = [serve(receiver), serve(bare_app)]
        (stored_server, stored_url), (bare_server, bare_url) = servers
        session = requests.Session()
        numbers = itertools.count()
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}

        def send(base: str) -> None:
            number = next(numbers)
            body = json.dumps({"ProspectID": f"lead-{number}", "FirstName": "Bench",
                               "EmailAddress": f"l{number}@bench.example.com",
                               "ModifiedOn": "2025-01-01 00:00:00"})
            response = session.post(base + hook_path(instance), data=body, headers=headers,
                                     timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"delivery answered {response.status_code}")

        for base in (stored_url, bare_url):
            send(base)  # warm-up: connections, SQLite
        samples = interleaved(
            {"receiver": lambda: send(stored_url), "bare": lambda: send(bare_url)},
            rounds=max(1, deliveries // BLOCK), per_round=min(BLOCK, deliveries),
        )
        stored = Inbox(store).counts(instance)
        for server in (stored_server, bare_server):
            server.shutdown()
            server.server_close()
        session.close()
        store.close()
    stored_med, bare_med = median(samples["receiver"]), median(samples["bare"])
    ratio = stored_med / bare_med
    result = Result(
        "webhook_ingest", "Webhook ingest: receiver (stored durably) vs a bare 200 app",
        ratio_label="receiver/bare latency", ratio=ratio, target="reported (no target)",
        met=True,
    )
    result.add("deliveries each", len(samples["receiver"]))
    result.add("stored in the inbox", stored)
    result.add("receiver", f"{1 / stored_med:.0f} deliveries/s, median {ms(stored_med)}, "
                           f"p99 {ms(percentile(samples['receiver'], 0.99))}")
    result.add("bare app", f"{1 / bare_med:.0f} deliveries/s, median {ms(bare_med)}, "
                           f"p99 {ms(percentile(samples['bare'], 0.99))}")
    result.add("durability", "one inbox commit per delivery before the 200 (SQLite WAL, "
                             "synchronous=FULL: an acknowledged delivery survives power loss)")
    result.extra = {"receiver_ms": stored_med * 1000, "bare_ms": bare_med * 1000}
    return result


def _lead_key(event: Any) -> str:
    return f"{event['ProspectID']}@{event['ModifiedOn']}"


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("webhook_ingest", __doc__ or "")
    args_parser.add_argument("--deliveries", type=int, default=2000, help="deliveries of each")
    args = args_parser.parse_args(argv)
    return finish(run(args.deliveries), args.json)


if __name__ == "__main__":
    sys.exit(main())
