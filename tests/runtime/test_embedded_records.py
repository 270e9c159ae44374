"""The embedded sandbox keeps its records in the state folder between commands.

In process: two keepers on one folder stand for two commands (each takes the file lock, reads
what the other wrote, writes atomically); the size bound and unusable files. As a new user:
``lsq invoke action upsert_lead`` then ``find_lead`` in separate processes, a repeated upsert,
and ``lsq sandbox reset``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from runtime import embedded
from runtime.embedded import KeptRecords, forget_records
from runtime.errors import ConfigurationError
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SandboxApp
from runtime.sandbox.snapshot import dump, load, seed_fingerprint

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"x-LSQ-AccessKey": DEFAULT_ACCESS_KEY, "x-LSQ-SecretKey": DEFAULT_SECRET_KEY}
ORG = "41872"


def keeper(folder: Path) -> tuple[KeptRecords, Client]:
    """A sandbox keeping its records in ``folder`` (one command's), and a WSGI client for it."""
    kept = KeptRecords(SandboxApp())
    kept.keep_in(folder)
    return kept, Client(kept)


def create_lead(client: Client, email: str) -> tuple[int, Any]:
    body = [{"Attribute": "EmailAddress", "Value": email}]
    answer = client.post("/v2/LeadManagement.svc/Lead.Create", json=body, headers=KEYS)
    return answer.status_code, answer.get_json()


def emails(kept: KeptRecords) -> set[str]:
    return {lead.get("EmailAddress") for lead in kept.app.state.tenants[ORG].leads.values()}


def test_a_record_written_by_one_command_is_read_by_the_next(tmp_path: Path) -> None:
    first, first_client = keeper(tmp_path)
    assert not (tmp_path / "sandbox.json").exists()  # nothing changed yet: no file
    assert create_lead(first_client, "kept@example.com")[0] == 200
    second, second_client = keeper(tmp_path)
    assert "kept@example.com" in emails(second)
    assert create_lead(second_client, "later@example.com")[0] == 200
    assert create_lead(first_client, "third@example.com")[0] == 200  # first reads second's
    assert {"kept@example.com", "later@example.com", "third@example.com"} <= emails(first)


@pytest.mark.parametrize("keepers", [3, 1], ids=["commands", "threads-of-one-command"])
def test_concurrent_commands_lose_no_record(tmp_path: Path, keepers: int) -> None:
    shared = [keeper(tmp_path)[1] for _ in range(keepers)]
    clients = [shared[index % keepers] for index in range(3)]

    def create(index: int, client: Client) -> None:
        for number in range(8):
            assert create_lead(client, f"c{index}-{number}@example.com")[0] == 200

    threads = [threading.Thread(target=create, args=pair) for pair in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    last, _ = keeper(tmp_path)
    created = {email for email in emails(last) if email and email.startswith("c")}
    assert len(created) == 24
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".sandbox-")]


def test_a_call_that_would_pass_the_size_bound_is_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, client = keeper(tmp_path)
    assert create_lead(client, "fits@example.com")[0] == 200
    before = (tmp_path / "sandbox.json").read_text()
    limit = len(before.encode()) + 10
    monkeypatch.setattr(embedded, "MAX_SANDBOX_BYTES", limit)
    status, body = create_lead(client, "too-many@example.com")
    assert status == 500 and body["ExceptionType"] == "MXSandboxStorageException"
    assert body["ExceptionMessage"] == (
        f"the embedded sandbox keeps at most {limit} bytes of records in {tmp_path.resolve()}/"
        "sandbox.json; this call was undone (lsq sandbox reset empties it)")
    assert "too-many@example.com" not in emails(kept)
    assert (tmp_path / "sandbox.json").read_text() == before


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "not JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
                  "(char 1))"),
    ('{"format": 99}', "not a sandbox snapshot of format 1"),
    ('{"format": 1, "seed": "0000", "tenants": {}}',
     "its records grew from another seed (another connector version)"),
])
def test_an_unusable_file_is_one_line_naming_it_and_the_fix(
    tmp_path: Path, content: str, reason: str
) -> None:
    (tmp_path / "sandbox.json").write_text(content)
    with pytest.raises(ConfigurationError) as raised:
        keeper(tmp_path)
    assert str(raised.value) == (f"the embedded sandbox's file {tmp_path.resolve()}/sandbox.json "
                                 f"cannot be used: {reason} (lsq sandbox reset empties it)")


def test_forget_records_empties_the_folder_and_a_running_sandbox_starts_over(
    tmp_path: Path,
) -> None:
    kept, client = keeper(tmp_path)
    assert create_lead(client, "gone@example.com")[0] == 200
    assert forget_records(tmp_path) is True
    assert forget_records(tmp_path) is False
    assert client.get("/v2/Authentication.svc/UserByAccessKey.Get", headers=KEYS).status_code == 200
    assert "gone@example.com" not in emails(kept)


def test_a_snapshot_round_trips_every_tenant_field() -> None:
    app = SandboxApp()
    seed = seed_fingerprint(app.seed)
    text = dump(app.state, seed)
    fresh = SandboxApp()
    fresh.state.tenants[ORG].leads.clear()
    load(fresh.state, seed, text)
    assert dump(fresh.state, seed) == text
    assert all(isinstance(key, int) for key in fresh.state.tenants[ORG].opportunity_types)


def lsq(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LSQ_")}
    return subprocess.run(
        [sys.executable, "-m", "runtime", *args], cwd=folder, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )


def test_a_new_user_upserts_then_finds_the_lead(tmp_path: Path) -> None:
    lead = {"fields": {"EmailAddress": "new.user@example.com", "FirstName": "New"}}
    first = lsq(tmp_path, "invoke", "action", "upsert_lead", "-i", json.dumps(lead), "--json")
    assert first.returncode == 0, first.stderr
    assert first.stderr == (
        "note: no connection configured; using the embedded LeadSquared sandbox; its records are "
        "kept in .lsq/sandbox.json (lsq sandbox reset empties it)\n")
    lead["fields"]["FirstName"] = "Renamed"
    again = lsq(tmp_path, "invoke", "action", "upsert_lead", "-i", json.dumps(lead), "--json")
    assert json.loads(again.stdout) == json.loads(first.stdout)  # updated, not a second lead
    found = lsq(tmp_path, "invoke", "action", "find_lead", "-i",
                '{"email": "new.user@example.com"}', "--json")
    answer = json.loads(found.stdout)
    assert (answer["found"], answer["count"], answer["lead"]["FirstName"]) == (True, 1, "Renamed")
    reset = lsq(tmp_path, "sandbox", "reset")
    assert reset.stdout == ("emptied the embedded sandbox's records (.lsq/sandbox.json); the next "
                            "command starts from the seed\n")
    gone = lsq(tmp_path, "invoke", "action", "find_lead", "-i",
               '{"email": "new.user@example.com"}', "--json")
    assert json.loads(gone.stdout)["found"] is False


def test_a_lock_held_too_long_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    kept, client = keeper(tmp_path)
    monkeypatch.setattr(embedded, "LOCK_TIMEOUT_SECONDS", 0.05)
    kept._lock.timeout = 0.05  # type: ignore[union-attr]
    other = FileLock(f"{tmp_path.resolve()}/sandbox.json.lock", thread_local=False)
    with other:
        status, body = create_lead(client, "waits@example.com")
        with pytest.raises(ConfigurationError) as raised:
            forget_records(tmp_path)
    message = (f"the embedded sandbox's file {tmp_path.resolve()}/sandbox.json stayed locked for "
               "0 s by another lsq command (wait for it to finish, or stop it)")
    assert (status, body["ExceptionMessage"]) == (500, message)
    assert str(raised.value) == message


def test_a_lead_created_by_one_command_fires_a_running_serve(tmp_path: Path) -> None:
    """`lsq serve` and `lsq invoke` share the kept records: the invoke's sandbox knows the
    serve's webhook and delivers the new lead to it before the command exits."""
    import signal
    import time

    from runtime.store.history import HistoryStore

    env = {key: value for key, value in os.environ.items() if not key.startswith("LSQ_")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "runtime", "serve", str(ROOT / "examples" / "welcome_email.yaml"),
         "--port", "0"], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert serve.stdout is not None
        while serve.stdout.readline() not in ("serving; stop with Ctrl-C or SIGTERM\n", ""):
            pass
        lead = {"fields": {"EmailAddress": "fires@example.com", "FirstName": "Fires"}}
        created = lsq(tmp_path, "invoke", "action", "create_lead", "-i", json.dumps(lead))
        assert created.returncode == 0, created.stderr
        deadline = time.monotonic() + 20
        runs: list[dict[str, Any]] = []
        while not runs and time.monotonic() < deadline:
            time.sleep(0.1)
            with HistoryStore(tmp_path / ".lsq" / "history.sqlite3") as history:
                runs = history.list_runs(limit=5)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert [(run["workflow"], run["origin"], run["status"]) for run in runs] == [
        ("Welcome email for every new lead", "webhook", "succeeded")]
