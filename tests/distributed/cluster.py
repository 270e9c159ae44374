"""Separate processes of a deployment on several machines, on this one: receivers (``lsq
receive``) and workers (``lsq worker``) on one PostgreSQL database, talking to a sandbox served
by the test process. Each process is started with its own environment and read until its
first line says it is up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime.workers.schema import apply_queue_schema
from tests.fakes import write_connection_file

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = Path(__file__).with_name("burst.yaml")
UP = re.compile(r"receiving webhooks at (http://\S+?);|^working;")


@dataclass
class Process:
    """One started role, its output kept (for failures)."""

    role: str
    popen: subprocess.Popen[str]
    url: str | None = None
    lines: list[str] = field(default_factory=list)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return "\n".join(self.lines[-40:])


class Cluster:
    """Receivers and workers on ``database_url``; the connection file points at ``sandbox``."""

    def __init__(self, database_url: str, sandbox_url: str, folder: Path, *,
                 workflows: tuple[Path, ...] = (WORKFLOW,), rate_limit: int = 25,
                 extra_env: dict[str, str] | None = None) -> None:
        apply_queue_schema(database_url)
        self.database_url = database_url
        self.connection = Path(write_connection_file(folder / "connection.yaml", sandbox_url,
                                                     rate_limit=rate_limit))
        self.workflows = workflows
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "LSQ_DATABASE_URL": database_url,
                    **(extra_env or {})}
        self.env.pop("LSQ_RATE_HEADROOM", None)
        self.processes: list[Process] = []

    def receiver(self) -> Process:
        return self._start("receiver", ["receive", "--port", "0"])

    def worker(self, *options: str, public_url: str | None = None) -> Process:
        args = ["worker", *map(str, self.workflows), "--connection", str(self.connection),
                *options]
        if public_url:
            args += ["--public-url", public_url]
        return self._start("worker", args)

    def _start(self, role: str, args: list[str]) -> Process:
        popen = subprocess.Popen(
            [sys.executable, "-m", "runtime", *args], cwd=REPO, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        process = Process(role, popen)
        self.processes.append(process)
        up = threading.Event()

        def read() -> None:
            assert popen.stdout is not None
            for line in popen.stdout:
                process.lines.append(line.rstrip())
                found = UP.search(line)
                if found:
                    process.url = found.group(1)
                    up.set()
            up.set()

        threading.Thread(target=read, daemon=True).start()
        if not up.wait(60) or popen.poll() is not None:
            raise AssertionError(f"{role} did not start:\n{process.output()}")
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def wait_for(check, timeout: float, what: str, every: float = 0.2):
    """Poll ``check()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
