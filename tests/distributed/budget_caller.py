"""One process calling the sandbox as fast as its account's shared rate budget allows.

``python -m tests.distributed.budget_caller DATABASE_URL SANDBOX_URL TAG SECONDS THREADS``:
``THREADS`` threads call ``UserByAccessKey.Get?worker=TAG`` until ``SECONDS`` have passed,
through clients whose budget is kept in the database (as ``lsq worker`` makes them). Prints
one JSON line: calls made and rate-limit errors seen.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from runtime.api.client import WHOAMI, LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.governor import GOVERNORS
from runtime.errors import RateLimitedError
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from runtime.store.rate_budget import shared_budgets
from runtime.store.storage import open_database


def main(argv: list[str]) -> int:
    url, sandbox, tag, seconds, threads = argv
    db = open_database(url)
    GOVERNORS.use(shared_budgets(db))
    connection = Connection(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, base_url=sandbox)
    deadline = time.monotonic() + float(seconds)
    counts = {"calls": 0, "limited": 0}
    lock = threading.Lock()

    def call_until_deadline() -> None:
        with LeadSquaredClient(connection) as client:
            while time.monotonic() < deadline:
                try:
                    client.get(WHOAMI, {"worker": tag})
                    key = "calls"
                except RateLimitedError:
                    key = "limited"
                with lock:
                    counts[key] += 1

    workers = [threading.Thread(target=call_until_deadline) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    db.close()
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
