"""``lsq ui`` (read-only, waitress) and the page of ``lsq serve``: start, refuse, say where."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from runtime.cli import main
from runtime.store.history import HistoryStore

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-token-long-enough-for-the-page"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {**os.environ, "LSQ_STATE_DB": str(tmp_path / "state.sqlite3"),
               "LSQ_HISTORY_DB": str(tmp_path / "history.sqlite3"), "PYTHONUNBUFFERED": "1"}
    for name in ("LSQ_UI_TOKEN", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST",
                 "LSQ_DATABASE_URL"):
        environ.pop(name, None)
    return environ


def start(argv: list[str], env: dict[str, str], cwd: Path, until: str) -> tuple[
        subprocess.Popen[str], list[str]]:
    """Start ``lsq ARGV`` and read its output up to a line starting with ``until``."""
    process = subprocess.Popen([sys.executable, "-m", "runtime", *argv], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(until):
            return process, lines
    process.kill()
    raise AssertionError("\n".join(lines))


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize(("argv", "token", "message"), [
    (["ui", "--host", "0.0.0.0"], None,
     "error: the run-history page would be open to the network on 0.0.0.0 without a token (set "
     "LSQ_UI_TOKEN (16+ characters), or bind 127.0.0.1)\n"),
    (["ui"], "short", "error: LSQ_UI_TOKEN is too short: use at least 16 characters (e.g. "
                      "`python3 -c 'import secrets; print(secrets.token_urlsafe())'`)\n"),
    (["serve", "x.yaml"], "short", "error: LSQ_UI_TOKEN is too short: use at least 16 "
     "characters (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe())'`)\n"),
])
def test_refusals_are_one_line(argv: list[str], token: str | None, message: str,
                               capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(
        (ROOT / "examples" / "sync_accounts.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    if token is None:
        monkeypatch.delenv("LSQ_UI_TOKEN", raising=False)
    else:
        monkeypatch.setenv("LSQ_UI_TOKEN", token)
    assert main(argv) == 1
    assert capsys.readouterr().err == message


def test_lsq_ui_serves_the_page_read_only(env: dict[str, str], tmp_path: Path,
                                          processes: list[subprocess.Popen[str]]) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        run = history.start_run(workflow="w", trigger_key="new_lead", origin="webhook",
                                event={"a": 1})
        history.finish_run(run, status="failed", finished_at="t", duration_ms=1, steps=[
            (0, {"step_id": "s", "action": "find_lead", "status": "failed",
                 "error": {"category": "transient", "message": "HTTP 503"}})])
    process, lines = start(["ui", "--port", "0"], env, tmp_path, "stop with")
    processes.append(process)
    assert lines[0].startswith("run-history page (read-only) at http://127.0.0.1:")
    url = lines[0].split(" at ", 1)[1].split(" for ", 1)[0]
    assert url.endswith("/")
    listing = requests.get(url, timeout=10)
    assert listing.status_code == 200 and "read-only (lsq ui)" in listing.text
    assert listing.headers["Server"] == "lsq"
    shown = requests.get(f"{url}runs/{run}", timeout=10)
    assert "<form" not in shown.text and f"lsq runs retry {run}" in shown.text
    assert requests.post(f"{url}runs/{run}/retry", timeout=10).status_code == 403  # no CSRF
    process.terminate()  # SIGTERM ends it cleanly
    assert process.wait(10) == 0


def test_lsq_serve_mounts_the_page_or_says_why_not(
    env: dict[str, str], tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    flow = str(ROOT / "examples" / "sync_accounts.yaml")  # polling: no receiver needed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process, lines = start(["serve", flow, "--port", str(port), "--poll-interval", "3600"],
                           env, tmp_path, "serving;")
    processes.append(process)
    assert f"run-history page at http://127.0.0.1:{port}/ui/" in lines
    assert not any(line.startswith("receiving webhooks") for line in lines)
    assert requests.get(f"http://127.0.0.1:{port}/ui/", timeout=10).status_code == 200

    taken = subprocess.run(
        [sys.executable, "-m", "runtime", "serve", flow, "--port", str(port)], cwd=tmp_path,
        env={**env, "LSQ_STATE_DB": str(tmp_path / "other.sqlite3")}, capture_output=True,
        text=True, timeout=60)
    assert taken.returncode == 1
    assert taken.stderr.splitlines()[-1] == (
        f"error: cannot serve on 127.0.0.1:{port}: Address already in use (choose another "
        "--port)")

    process, lines = start(["serve", flow, "--host", "0.0.0.0", "--port", "0"],
                           {**env, "LSQ_STATE_DB": str(tmp_path / "third.sqlite3")}, tmp_path,
                           "run-history page off")
    processes.append(process)
    assert lines[-1] == ("run-history page off: it needs LSQ_UI_TOKEN when bound beyond "
                         "loopback")
