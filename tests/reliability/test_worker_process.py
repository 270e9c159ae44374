"""`lsq serve --worker-processes 1`: the workers run in a child process. Its runs are counted by
the parent's /metrics; a child that dies stops the service (exit 1, named); a parent that is
SIGKILLed or stopped leaves no child behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench._common import children_of
from runtime.engine.receiver import SECRET_HEADER
from runtime.sandbox import RunningSandbox
from runtime.store.state import StateStore

from .test_crashes import (
    ENV_VARS,
    EXAMPLES,
    ROOT,
    connection_file,
    create_leads,
    free_port,
    wait_for_runs,
)


class ServeWithChild:
    """`lsq serve examples/welcome_email.yaml --worker-processes 1`, stdout/stderr to files."""

    def __init__(self, tmp_path: Path, sandbox: RunningSandbox) -> None:
        self.tmp_path, self.port = tmp_path, free_port()
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        env.update(LSQ_STATE_DB=str(tmp_path / "state.sqlite3"),
                   LSQ_HISTORY_DB=str(tmp_path / "history.sqlite3"))
        self.out, self.err = tmp_path / "out.txt", tmp_path / "err.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from runtime.cli import main; "
                 "sys.exit(main())", "serve", str(EXAMPLES / "welcome_email.yaml"),
                 "--port", str(self.port), "--connection", str(connection_file(tmp_path, sandbox)),
                 "--worker-processes", "1", "--quiet"],
                cwd=ROOT, env=env, stdout=out, stderr=err, text=True,
            )
        wait_for(lambda: "serving;" in self.out.read_text() or self.process.poll() is not None,
                 "lsq serve to start")
        assert self.process.poll() is None, self.err.read_text()
        self.child = wait_for(lambda: children_of(self.process.pid), "the worker process")[0]

    def deliver(self, leads: list[dict[str, object]]) -> None:
        with StateStore(self.tmp_path / "state.sqlite3") as store:
            (subscription,) = store.list_subscriptions()
        hook = f"http://127.0.0.1:{self.port}/hooks/{subscription.instance_id}"
        for lead in leads:
            answer = requests.post(hook, json=lead, timeout=10,
                                   headers={SECRET_HEADER: subscription.secret})
            assert answer.json() == {"Status": "Success"}

    def close(self) -> None:
        for pid in (self.process.pid, self.child):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def serving(tmp_path: Path, service_sandbox: RunningSandbox) -> Iterator[ServeWithChild]:
    serve = ServeWithChild(tmp_path, service_sandbox)
    try:
        yield serve
    finally:
        serve.close()


def test_the_child_runs_the_events_and_the_parent_counts_them(
    serving: ServeWithChild, service_sandbox: RunningSandbox, tmp_path: Path,
) -> None:
    serving.deliver(create_leads(service_sandbox, 3))
    wait_for_runs(tmp_path / "history.sqlite3", 3, timeout=30)
    metrics = wait_for(
        lambda: (text := requests.get(f"http://127.0.0.1:{serving.port}/metrics",
                                      timeout=5).text) and "lsq_runs_total{" in text and text,
        "the runs on /metrics",
    )
    assert 'lsq_runs_total{outcome="succeeded",workflow="Welcome email for every new lead"} 3.0' \
        in metrics
    serving.process.send_signal(signal.SIGTERM)
    assert serving.process.wait(30) == 0
    wait_for(lambda: not alive(serving.child), "the worker process to stop")
    assert "Traceback" not in serving.err.read_text()


def test_a_dead_worker_process_stops_the_service_with_its_name(serving: ServeWithChild) -> None:
    os.kill(serving.child, signal.SIGKILL)
    assert serving.process.wait(30) == 1
    err = serving.err.read_text()
    assert "lsq-worker-process-0 died" in err and "exited with code -9" in err, err


def test_a_killed_parent_leaves_no_worker_process(serving: ServeWithChild) -> None:
    serving.process.send_signal(signal.SIGKILL)
    serving.process.wait(10)
    wait_for(lambda: not alive(serving.child), "the orphaned worker process to stop")


# -- helpers ------------------------------------------------------------------------------------


def wait_for(check: object, what: str, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
