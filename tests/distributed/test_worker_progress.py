"""``lsq worker`` prints ``lsq serve``'s progress lines for the runs it finishes (one line per
run, a periodic summary; ``--quiet``: none, as for ``lsq serve``)."""

from __future__ import annotations

import json
import re

import requests

from runtime.engine.receiver import SECRET_HEADER, receiver_url
from runtime.store.storage import open_storage
from tests.distributed.cluster import Cluster, wait_for

RUN_LINE = re.compile(r"Z run \d+ succeeded: Burst <- new_lead progress-1#0 in \d+ ms$")


def test_a_worker_reports_its_runs(pg_url, own_sandbox, tmp_path):
    cluster = Cluster(pg_url, own_sandbox.base_url, tmp_path)
    storage = open_storage(pg_url)
    try:
        receiver = cluster.receiver()
        worker = cluster.worker("--summary-every", "0.5", public_url=receiver.url)
        (subscription,) = wait_for(storage.state.list_subscriptions, 30, "the subscription")
        answer = requests.post(
            receiver_url(receiver.url, subscription.instance_id),
            data=json.dumps({"ProspectID": "progress-1", "FirstName": "Progress"}),
            headers={SECRET_HEADER: subscription.secret, "Content-Type": "application/json"},
            timeout=10)
        assert answer.status_code == 200
        wait_for(lambda: storage.history.list_runs(status="succeeded"), 60, "the run")
        wait_for(lambda: any(RUN_LINE.search(line) for line in worker.lines), 10,
                 f"the run's line in {worker.output()}")
        wait_for(lambda: any("summary (last 0.5 s): 1 run (1 succeeded)" in line
                             for line in worker.lines), 10, "a summary with the run")
    finally:
        cluster.stop()
        storage.close()
