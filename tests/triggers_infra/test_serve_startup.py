"""`lsq serve` start-up cost does not grow with the number of workflow files of one account.

The process as a user starts it (a subprocess running the CLI), 200 workflow files each with
its own connection file pointed at the (loopback) test sandbox: the sandbox's request log
shows at most 2 account look-ups (UserByAccessKey.Get) once it serves (today: 1, its worker
process included). The
in-process variant is tests/triggers_infra/test_accounts.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runtime.sandbox import RunningSandbox
from tests.fakes import write_connection_file

ROOT = Path(__file__).resolve().parents[2]
WHOAMI = "Authentication.svc/UserByAccessKey.Get"
SERVING = "serving; stop with Ctrl-C or SIGTERM\n"
FILES = 200


def workflow_files(folder: Path, base_url: str) -> list[str]:
    paths = []
    for n in range(FILES):
        connection = write_connection_file(folder / f"acme-{n}.yaml", base_url)
        path = folder / f"flow-{n}.yaml"
        path.write_text(
            f"name: flow {n}\nconnection: {Path(connection).name}\n"
            "trigger:\n  key: new_account\n  config: {company_type: Company}\n"
            "poll_interval: 3600\n"
            "steps:\n  - {id: find, action: find_lead, input: {lead_id: "
            "'{{ trigger.OwnerId }}'}}\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def test_lsq_serve_with_200_files_on_one_account_looks_the_account_up_at_most_twice(
    tmp_path: Path, sandbox: RunningSandbox, request_log: Any,
) -> None:
    paths = workflow_files(tmp_path, sandbox.base_url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("LSQ_")}
    env["LSQ_STATE_DB"] = str(tmp_path / "state.sqlite3")
    request_log.clear()
    process = subprocess.Popen(
        [sys.executable, "-c", "from runtime.cli import main; raise SystemExit(main())",
         "serve", *paths, "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines: list[str] = []
        while not lines or lines[-1] != SERVING:
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line, process.stderr.read()  # type: ignore[union-attr]
            lines.append(line)
        polled = [line for line in lines if line.startswith("new_account [")]
        assert len(polled) == 1 and "-> flow 0, flow 1, " in polled[0]  # one instance
        assert request_log.operations().count(WHOAMI) <= 2
        assert request_log.operations().count(WHOAMI) == 1
        # its worker process (where it starts one) takes the parent's identities: no look-up
        time.sleep(3.0)  # its worker process has built its service by now
        assert request_log.operations().count(WHOAMI) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
