"""`lsq serve` as a process against a sandbox: a lead created in LeadSquared becomes a run that
the progress lines report (text, JSON lines, or nothing with --quiet) and /metrics counts; no
key on stdout, stderr or the scrape."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    start_sandbox,
)
from tests.reliability.test_crashes import ENV_VARS, connection_file, create_leads, free_port

ROOT = Path(__file__).resolve().parents[2]
WELCOME = "Welcome email for every new lead"


@pytest.fixture
def own_sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxApp()) as running:
        yield running


class Serving:
    """`lsq serve examples/welcome_email.yaml` with extra options; stdout lines in a queue."""

    def __init__(self, tmp_path: Path, sandbox: RunningSandbox, *options: str) -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        env.update(LSQ_STATE_DB=str(tmp_path / "state.sqlite3"),
                   LSQ_HISTORY_DB=str(tmp_path / "history.sqlite3"))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from runtime.cli import main; sys.exit(main())",
             "serve", str(ROOT / "examples" / "welcome_email.yaml"), "--port", str(port),
             "--connection", str(connection_file(tmp_path, sandbox)), *options],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.metrics_url = f"http://127.0.0.1:{port}/metrics"
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, wanted: str, timeout: float = 20.0) -> list[str]:
        """Lines up to the first one containing ``wanted``."""
        deadline = time.monotonic() + timeout
        while not self.seen or wanted not in self.seen[-1]:
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no line with {wanted!r} in {self.seen}") from None
        return self.seen

    def runs(self) -> float:
        text = requests.get(self.metrics_url, timeout=5).text
        return sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples if sample.name == "lsq_runs_total")

    def stop(self) -> tuple[str, str]:
        """SIGTERM; (the rest of stdout, stderr) once it exited 0."""
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, err
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        self.seen.extend(rest)
        return "\n".join(self.seen), err


@pytest.mark.parametrize("mode", ["text", "json", "quiet"])
def test_serve_reports_a_run_and_counts_it(
    mode: str, tmp_path: Path, own_sandbox: RunningSandbox
) -> None:
    options = {"text": [], "json": ["--json"], "quiet": ["--quiet"]}[mode]
    serving = Serving(tmp_path, own_sandbox, *options, "--summary-every", "0.5")
    try:
        banner = serving.until('"type": "serving"' if mode == "json" else "serving;")
        create_leads(own_sandbox, 1)
        deadline = time.monotonic() + 20
        while serving.runs() < 1:
            assert time.monotonic() < deadline, "no run counted"
            time.sleep(0.05)
        if mode != "quiet":
            serving.until('"type": "run"' if mode == "json" else " run 1 succeeded")
            serving.until("summary")  # the first summary after the run line counts it
        scrape = requests.get(serving.metrics_url, timeout=5).text
    finally:
        out, err = serving.stop() if serving.process.poll() is None else ("", "")

    for secret in (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY):
        assert secret not in out and secret not in err and secret not in scrape
    assert f'lsq_runs_total{{outcome="succeeded",workflow="{WELCOME}"}} 1.0' in scrape
    lines = out.splitlines()
    if mode == "json":
        parsed = [json.loads(line) for line in lines]  # every line is one JSON object
        assert parsed[0]["type"] == "serving" and parsed[0]["metrics"] == serving.metrics_url
        (run,) = [line for line in parsed if line["type"] == "run"]
        assert run["workflow"] == WELCOME and run["outcome"] == "succeeded"
        assert run["record"].endswith("#0") and run["error"] is None
        summaries = [line for line in parsed if line["type"] == "summary"]
        assert sum(s["runs"]["succeeded"] for s in summaries) == 1
    elif mode == "text":
        assert f"metrics at {serving.metrics_url}" in banner
        (run,) = [line for line in lines if re.search(r"Z run \d+ ", line)]
        assert f"succeeded: {WELCOME} <- new_lead " in run
        assert any("summary (last 0.5 s): 1 run (1 succeeded)" in line for line in lines)
    else:
        assert lines == banner and lines[-1].startswith("serving;")
